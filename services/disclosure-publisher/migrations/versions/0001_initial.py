"""Publisher: per-institution, per-month settlement projection (+ platform tables).

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
        CREATE TABLE settlement_month_stats (
            fixmedins_code text    NOT NULL,
            period         text    NOT NULL,
            status         text    NOT NULL,
            settlements    bigint  NOT NULL DEFAULT 0,
            amount         numeric(16, 2) NOT NULL DEFAULT 0,
            PRIMARY KEY (fixmedins_code, period, status)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS settlement_month_stats")
    for ddl in DROP_PLATFORM_TABLES:
        op.execute(ddl)
