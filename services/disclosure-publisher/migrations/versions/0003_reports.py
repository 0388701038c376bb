"""Publisher: quarterly and annual reports (draft -> published by a second approver).

A published version is immutable, enforced by the database itself: a trigger refuses any
UPDATE or DELETE of a published row, so not even a buggy code path can rewrite history;
a correction is a new version with its changelog.

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
        CREATE TABLE reports (
            report_id    text PRIMARY KEY,
            kind         text NOT NULL,
            period       text NOT NULL,
            version      integer NOT NULL,
            state        text NOT NULL,
            body         jsonb NOT NULL,
            changelog    text,
            created_by   text NOT NULL,
            created_at   timestamptz NOT NULL DEFAULT now(),
            published_by text,
            published_at timestamptz,
            UNIQUE (kind, period, version)
        )
        """
    )
    op.execute(
        """
        CREATE FUNCTION reports_keep_published() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'report % is published and immutable', OLD.report_id
                USING ERRCODE = 'integrity_constraint_violation';
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER reports_immutable BEFORE UPDATE OR DELETE ON reports
        FOR EACH ROW WHEN (OLD.state = 'published') EXECUTE FUNCTION reports_keep_published()
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS reports")
    op.execute("DROP FUNCTION IF EXISTS reports_keep_published()")
