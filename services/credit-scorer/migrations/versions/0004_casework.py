"""Credit casework: the subject registry's origin, grade history, objections, repairs,
manual grade overrides, and what the lists and the clock sweep need on the standing.

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
        ALTER TABLE credit_subjects
            ADD COLUMN name text,
            ADD COLUMN source text NOT NULL DEFAULT 'registration',
            ADD COLUMN last_inspected_on date
        """
    )
    op.execute("ALTER TABLE deductions ADD COLUMN notified_on date")
    op.execute("UPDATE deductions SET notified_on = created_at::date")
    op.execute("ALTER TABLE deductions ALTER COLUMN notified_on SET NOT NULL")
    op.execute(
        """
        ALTER TABLE credit_standing
            ADD COLUMN black_until date,
            ADD COLUMN next_change_on date,
            ADD COLUMN override_id text
        """
    )
    op.execute(
        "CREATE INDEX credit_standing_next_change ON credit_standing (next_change_on) "
        "WHERE next_change_on IS NOT NULL"
    )
    op.execute("CREATE INDEX credit_standing_lists ON credit_standing USING gin (lists)")
    op.execute(
        """
        CREATE TABLE grade_marks (
            seq        bigserial PRIMARY KEY,
            subject_id text NOT NULL,
            marked_on  date NOT NULL,
            grade      text
        )
        """
    )
    op.execute("CREATE INDEX grade_marks_subject ON grade_marks (subject_id, seq)")
    op.execute(
        """
        CREATE TABLE deduction_transitions (
            transition_id bigserial PRIMARY KEY,
            deduction_id  text        NOT NULL,
            from_state    text        NOT NULL,
            to_state      text        NOT NULL,
            cause         text        NOT NULL,
            actor         text        NOT NULL,
            at            timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX deduction_transitions_row ON deduction_transitions (deduction_id)")
    op.execute(
        """
        CREATE TABLE objections (
            objection_id    text PRIMARY KEY,
            subject_id      text        NOT NULL,
            deduction_id    text,
            source_ref      text,
            grounds         text        NOT NULL,
            filed_by        text        NOT NULL,
            filed_on        date        NOT NULL,
            review_due      date,
            state           text        NOT NULL,
            decided_by      text,
            decided_on      date,
            decision_reason text,
            created_at      timestamptz NOT NULL DEFAULT now(),
            CHECK (deduction_id IS NOT NULL OR source_ref IS NOT NULL)
        )
        """
    )
    op.execute("CREATE INDEX objections_subject ON objections (subject_id, created_at)")
    op.execute(
        "CREATE UNIQUE INDEX objections_one_open_per_row ON objections (deduction_id) "
        "WHERE state = 'pending'"
    )
    op.execute(
        "CREATE UNIQUE INDEX objections_one_parked_per_source ON objections "
        "(subject_id, source_ref) WHERE state = 'awaiting_deduction'"
    )
    op.execute(
        """
        CREATE TABLE repairs (
            repair_id     text PRIMARY KEY,
            subject_id    text        NOT NULL,
            deduction_id  text        NOT NULL,
            rectified_on  date        NOT NULL,
            statement     text        NOT NULL,
            applied_by    text        NOT NULL,
            applied_on    date        NOT NULL,
            review_due    date        NOT NULL,
            state         text        NOT NULL,
            reviewed_by   text,
            reviewed_on   date,
            review_reason text,
            approved_by   text,
            approved_on   date,
            repaired_from date,
            created_at    timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX repairs_subject ON repairs (subject_id, created_at)")
    op.execute(
        "CREATE UNIQUE INDEX repairs_one_open_per_row ON repairs (deduction_id) "
        "WHERE state IN ('pending', 'reviewed')"
    )
    op.execute(
        """
        CREATE TABLE grade_overrides (
            override_id  text PRIMARY KEY,
            subject_id   text        NOT NULL,
            from_grade   text,
            to_grade     text        NOT NULL,
            reason       text        NOT NULL,
            requested_by text        NOT NULL,
            requested_on date        NOT NULL,
            state        text        NOT NULL,
            approved_by  text,
            approved_on  date,
            valid_until  date,
            created_at   timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        "CREATE UNIQUE INDEX grade_overrides_one_pending ON grade_overrides (subject_id) "
        "WHERE state = 'pending'"
    )
    op.execute("CREATE INDEX grade_overrides_subject ON grade_overrides (subject_id, state)")


def downgrade() -> None:
    for table in ("grade_overrides", "repairs", "objections", "deduction_transitions"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
    op.execute("DROP TABLE IF EXISTS grade_marks")
    op.execute(
        "ALTER TABLE credit_standing DROP COLUMN override_id, DROP COLUMN next_change_on, "
        "DROP COLUMN black_until"
    )
    op.execute("ALTER TABLE deductions DROP COLUMN notified_on")
    op.execute(
        "ALTER TABLE credit_subjects DROP COLUMN last_inspected_on, DROP COLUMN source, "
        "DROP COLUMN name"
    )
