"""Publisher: per-case DRG costs, for the high/low-ratio (outlier) counts.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE drg_cases (
            drg_settlement_id text PRIMARY KEY,
            fixmedins_code    text NOT NULL,
            period            text NOT NULL,
            drg_code          text NOT NULL,
            total_cost        numeric(18, 2) NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX drg_cases_institution ON drg_cases (fixmedins_code, period)")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS drg_cases")
