"""Publisher: enrollment projection, for the uninsured lists sent to grassroots units.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE enrollment_status (
            person_id     text PRIMARY KEY,
            status        text NOT NULL,
            reason        text,
            hukou_admdvs  text,
            target_groups text[] NOT NULL,
            changed_at    timestamptz NOT NULL
        )
        """
    )
    op.execute(
        "CREATE INDEX enrollment_status_uninsured ON enrollment_status "
        "(hukou_admdvs text_pattern_ops) WHERE status = 'uninsured'"
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS enrollment_status")
