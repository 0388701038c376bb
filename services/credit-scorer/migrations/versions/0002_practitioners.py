"""Practitioners' 12-point system: every points entry, and the status they add up to.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE practitioner_points (
            entry_id          bigserial PRIMARY KEY,
            certno            text        NOT NULL,
            points            integer     NOT NULL CHECK (points BETWEEN 1 AND 12),
            decided_at        date        NOT NULL,
            reason            text        NOT NULL,
            suspension_months integer CHECK (suspension_months BETWEEN 1 AND 6),
            institution       text,
            recorded_by       text        NOT NULL,
            recorded_at       timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX practitioner_points_certno ON practitioner_points (certno)")
    op.execute(
        """
        CREATE TABLE practitioner_status (
            certno          text PRIMARY KEY,
            subject_type    text        NOT NULL,
            year_points     integer     NOT NULL,
            status          text        NOT NULL,
            suspended_until date,
            banned_until    date,
            updated_at      timestamptz NOT NULL DEFAULT now()
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS practitioner_status")
    op.execute("DROP TABLE IF EXISTS practitioner_points")
