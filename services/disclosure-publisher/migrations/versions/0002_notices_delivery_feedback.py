"""Publisher: projections, notices + inbox sequence, recipients, delivery state, feedback.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = (
    # --- projections (from events) ---------------------------------------------------------
    """
    CREATE TABLE drg_group_stats (
        fixmedins_code text NOT NULL,
        period         text NOT NULL,
        drg_code       text NOT NULL,
        cases          bigint NOT NULL DEFAULT 0,
        total_cost     numeric(18, 2) NOT NULL DEFAULT 0,
        total_los      bigint NOT NULL DEFAULT 0,
        deaths         bigint NOT NULL DEFAULT 0,
        fund_paid      numeric(18, 2) NOT NULL DEFAULT 0,
        PRIMARY KEY (fixmedins_code, period, drg_code)
    )
    """,
    "CREATE INDEX drg_group_stats_period ON drg_group_stats (period)",
    """
    CREATE TABLE drg_case_counts (
        fixmedins_code text NOT NULL,
        period         text NOT NULL,
        all_cases      bigint NOT NULL DEFAULT 0,
        grouped        bigint NOT NULL DEFAULT 0,
        excluded       bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (fixmedins_code, period)
    )
    """,
    """
    CREATE TABLE alerts (
        alert_id       text PRIMARY KEY,
        fixmedins_code text NOT NULL,
        period         text NOT NULL,
        rule           text NOT NULL,
        severity       text NOT NULL,
        settlement_id  text,
        drug_trac_codg text,
        confirmed      boolean NOT NULL,
        evidence       jsonb NOT NULL,
        occurred_at    timestamptz NOT NULL
    )
    """,
    "CREATE INDEX alerts_institution_period ON alerts (fixmedins_code, period)",
    """
    CREATE TABLE credit_grades (
        subject_id  text NOT NULL,
        changed_at  timestamptz NOT NULL,
        grade       text,
        score       numeric(8, 2),
        lists       text[] NOT NULL,
        tier        text,
        PRIMARY KEY (subject_id, changed_at)
    )
    """,
    # --- recipients and their secrets -------------------------------------------------------
    """
    CREATE TABLE recipients (
        fixmedins_code       text PRIMARY KEY,
        webhook_url          text NOT NULL,
        enabled              boolean NOT NULL DEFAULT true,
        disabled_reason      text,
        consecutive_failures integer NOT NULL DEFAULT 0,
        failing_since        timestamptz,
        circuit_open_until   timestamptz,
        created_at           timestamptz NOT NULL DEFAULT now(),
        updated_at           timestamptz NOT NULL DEFAULT now()
    )
    """,
    """
    CREATE TABLE recipient_secrets (
        secret_id      text PRIMARY KEY,
        fixmedins_code text NOT NULL REFERENCES recipients (fixmedins_code),
        secret_cipher  text NOT NULL,
        created_at     timestamptz NOT NULL DEFAULT now(),
        expires_at     timestamptz
    )
    """,
    "CREATE INDEX recipient_secrets_code ON recipient_secrets (fixmedins_code)",
    # --- runs, notices, inbox sequence ------------------------------------------------------
    """
    CREATE TABLE notice_runs (
        run_id       text PRIMARY KEY,
        kind         text NOT NULL,
        period       text NOT NULL,
        version      integer NOT NULL,
        state        text NOT NULL,
        requested_by text NOT NULL,
        lease_until  timestamptz,
        notices      integer NOT NULL DEFAULT 0,
        created_at   timestamptz NOT NULL DEFAULT now(),
        finished_at  timestamptz
    )
    """,
    """
    CREATE TABLE inbox_sequences (
        fixmedins_code text PRIMARY KEY,
        last_seq       bigint NOT NULL
    )
    """,
    """
    CREATE TABLE notices (
        notice_id      text PRIMARY KEY,
        fixmedins_code text NOT NULL,
        kind           text NOT NULL,
        period         text NOT NULL,
        version        integer NOT NULL,
        seq            bigint NOT NULL,
        run_id         text,
        body           jsonb NOT NULL,
        inputs         jsonb NOT NULL,
        created_at     timestamptz NOT NULL DEFAULT now(),
        read_at        timestamptz,
        UNIQUE (fixmedins_code, kind, period, version),
        UNIQUE (fixmedins_code, seq)
    )
    """,
    # --- delivery ---------------------------------------------------------------------------
    """
    CREATE TABLE deliveries (
        notice_id        text PRIMARY KEY REFERENCES notices (notice_id),
        fixmedins_code   text NOT NULL,
        state            text NOT NULL,
        attempts         integer NOT NULL DEFAULT 0,
        next_attempt_at  timestamptz NOT NULL DEFAULT now(),
        first_attempt_at timestamptz,
        last_status      integer,
        last_error       text,
        delivered_at     timestamptz,
        updated_at       timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending'",
    "CREATE INDEX deliveries_code ON deliveries (fixmedins_code, state)",
    """
    CREATE TABLE delivery_attempts (
        id          bigserial PRIMARY KEY,
        notice_id   text NOT NULL,
        attempt     integer NOT NULL,
        worker      text NOT NULL,
        started_at  timestamptz NOT NULL,
        duration_ms integer NOT NULL,
        status_code integer,
        error       text,
        outcome     text NOT NULL
    )
    """,
    "CREATE INDEX delivery_attempts_notice ON delivery_attempts (notice_id, attempt)",
    # --- feedback ledger and bureau access audit --------------------------------------------
    """
    CREATE TABLE feedback_items (
        item_id        text PRIMARY KEY,
        notice_id      text NOT NULL REFERENCES notices (notice_id),
        fixmedins_code text NOT NULL,
        period         text NOT NULL,
        line_ref       text,
        classification text NOT NULL,
        owner          text NOT NULL,
        status         text NOT NULL,
        due_date       date NOT NULL,
        escalated_at   timestamptz,
        history        jsonb NOT NULL,
        created_at     timestamptz NOT NULL DEFAULT now(),
        updated_at     timestamptz NOT NULL DEFAULT now(),
        UNIQUE (notice_id, line_ref)
    )
    """,
    "CREATE INDEX feedback_items_code ON feedback_items (fixmedins_code, status)",
    """
    CREATE INDEX feedback_items_due ON feedback_items (due_date)
        WHERE escalated_at IS NULL AND status IN ('open', 'rectification')
    """,
    """
    CREATE TABLE bureau_access_log (
        id             bigserial PRIMARY KEY,
        subject        text NOT NULL,
        roles          text[] NOT NULL,
        action         text NOT NULL,
        fixmedins_code text,
        resource       text NOT NULL,
        at             timestamptz NOT NULL DEFAULT now()
    )
    """,
)

DROPS = (
    "bureau_access_log",
    "feedback_items",
    "delivery_attempts",
    "deliveries",
    "notices",
    "inbox_sequences",
    "notice_runs",
    "recipient_secrets",
    "recipients",
    "credit_grades",
    "alerts",
    "drg_case_counts",
    "drg_group_stats",
)


def upgrade() -> None:
    for ddl in TABLES:
        op.execute(ddl)


def downgrade() -> None:
    for table in DROPS:
        op.execute(f"DROP TABLE IF EXISTS {table}")
