"""Institution credit: subjects, the deduction ledger, and the standing last published.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE credit_subjects (
            subject_id     text PRIMARY KEY,
            subject_type   text        NOT NULL,
            agreement_from date        NOT NULL,
            updated_at     timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        """
        CREATE TABLE deductions (
            deduction_id    text PRIMARY KEY,
            subject_id      text           NOT NULL,
            indicator_code  text           NOT NULL,
            tree_version    text           NOT NULL,
            source_event_id text           NOT NULL UNIQUE,
            event_type      text           NOT NULL,
            evidence        jsonb          NOT NULL,
            points          numeric(8, 2)  NOT NULL,
            effective_from  date           NOT NULL,
            expires_at      date           NOT NULL,
            state           text           NOT NULL,
            repaired_from   date,
            created_at      timestamptz    NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX deductions_subject ON deductions (subject_id)")
    op.execute(
        """
        CREATE TABLE credit_standing (
            subject_id text PRIMARY KEY,
            score      numeric(6, 2),
            grade      text,
            tier       text,
            lists      text[]      NOT NULL DEFAULT '{}',
            updated_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )


def downgrade() -> None:
    for table in ("credit_standing", "deductions", "credit_subjects"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
