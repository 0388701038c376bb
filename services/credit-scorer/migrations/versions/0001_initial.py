"""Credit: the raw credit-event ledger per subject (+ platform tables).

Revision ID: 0001
Revises:
"""

from alembic import op

from yibao.schema import DROP_PLATFORM_TABLES, PLATFORM_TABLES

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    for ddl in PLATFORM_TABLES:
        op.execute(ddl)
    op.execute(
        """
        CREATE TABLE credit_events (
            event_id     text PRIMARY KEY,
            subject_id   text        NOT NULL,
            kind         text        NOT NULL,
            occurred_at  timestamptz NOT NULL,
            detail       jsonb       NOT NULL,
            recorded_at  timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX credit_events_subject ON credit_events (subject_id, occurred_at)")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS credit_events")
    for ddl in DROP_PLATFORM_TABLES:
        op.execute(ddl)
