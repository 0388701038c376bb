"""Enrollment: platform tables (the person file arrives with the enrollment issue).

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


def downgrade() -> None:
    for ddl in DROP_PLATFORM_TABLES:
        op.execute(ddl)
