"""Publisher: a recipient's contacts, encrypted at rest (names and phones are personal data).

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE recipients ADD COLUMN contacts_cipher text")


def downgrade() -> None:
    op.execute("ALTER TABLE recipients DROP COLUMN IF EXISTS contacts_cipher")
