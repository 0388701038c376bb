"""Validator tables: catalogue, code registry + history, decisions, projections.

Revision ID: 0001
Revises:
"""

from alembic import op

from yibao.schema import DROP_PLATFORM_TABLES, PLATFORM_TABLES

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLES = (
    """
    CREATE TABLE products (
        med_list_codg   text PRIMARY KEY,
        name            text        NOT NULL,
        units_per_pack  integer     NOT NULL CHECK (units_per_pack >= 1),
        split_allowed   boolean     NOT NULL,
        rx_flag         boolean     NOT NULL,
        gtins           text[]      NOT NULL DEFAULT '{}',
        drug_std_codes  text[]      NOT NULL DEFAULT '{}',
        trace_prefixes  jsonb       NOT NULL DEFAULT '[]',
        updated_at      timestamptz NOT NULL DEFAULT now()
    )
    """,
    # A row, not a sequence: nextval is visible before the load commits, which let a
    # decision cache the old products under the new version.
    "CREATE TABLE catalogue_version (version bigint NOT NULL)",
    "INSERT INTO catalogue_version VALUES (0)",
    """
    CREATE TABLE no_code_exemptions (
        fixmedins_code text NOT NULL,
        med_list_codg  text NOT NULL,
        reason         text,
        created_at     timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (fixmedins_code, med_list_codg)
    )
    """,
    """
    CREATE TABLE codes (
        key             text PRIMARY KEY,
        med_list_codg   text        NOT NULL,
        units_per_pack  integer     NOT NULL,
        remaining_units integer     NOT NULL,
        state           text        NOT NULL,
        institution     text,
        opened          boolean     NOT NULL DEFAULT false,
        expiry          date,
        lot             text,
        last_sale       jsonb,
        last_event      text,
        updated_at      timestamptz NOT NULL DEFAULT now(),
        CHECK (remaining_units BETWEEN 0 AND units_per_pack)
    )
    """,
    """
    CREATE TABLE code_history (
        id              bigserial PRIMARY KEY,
        key             text        NOT NULL,
        at              timestamptz NOT NULL DEFAULT now(),
        event           text        NOT NULL,
        institution     text,
        reference       text,
        state           text        NOT NULL,
        remaining_units integer     NOT NULL
    )
    """,
    "CREATE INDEX code_history_key ON code_history (key, id)",
    """
    CREATE TABLE decisions (
        settlement_id  text PRIMARY KEY,
        fixmedins_code text        NOT NULL,
        psn_key        text        NOT NULL,
        status         text        NOT NULL,
        hits           jsonb       NOT NULL,
        dispensed      jsonb       NOT NULL,
        returned       jsonb       NOT NULL DEFAULT '[]',
        held_from      jsonb,
        amount         numeric(14, 2) NOT NULL DEFAULT 0,
        setl_time      timestamptz NOT NULL,
        decided_at     timestamptz NOT NULL,
        decided_by     text        NOT NULL,
        review_reason  text
    )
    """,
    "CREATE INDEX decisions_pending ON decisions (decided_at) WHERE status = 'pending_review'",
    """
    CREATE TABLE purchases (
        psn_key       text    NOT NULL,
        med_list_codg text    NOT NULL,
        start_date    date    NOT NULL,
        days_supply   integer NOT NULL,
        settlement_id text    NOT NULL,
        PRIMARY KEY (psn_key, med_list_codg, settlement_id)
    )
    """,
    """
    CREATE TABLE person_eligibility (
        psn_key    text PRIMARY KEY,
        status     text        NOT NULL,
        updated_at timestamptz NOT NULL
    )
    """,
    """
    CREATE TABLE subject_credit (
        subject_id      text PRIMARY KEY,
        subject_type    text        NOT NULL,
        grade           text,
        blacklisted     boolean     NOT NULL DEFAULT false,
        practitioner_status text,
        suspended_until date,
        updated_at      timestamptz NOT NULL
    )
    """,
)


def upgrade() -> None:
    for ddl in (*PLATFORM_TABLES, *TABLES):
        op.execute(ddl)


def downgrade() -> None:
    for table in (
        "subject_credit",
        "person_eligibility",
        "purchases",
        "decisions",
        "code_history",
        "codes",
        "no_code_exemptions",
        "products",
    ):
        op.execute(f"DROP TABLE IF EXISTS {table}")
    op.execute("DROP TABLE IF EXISTS catalogue_version")
    for ddl in DROP_PLATFORM_TABLES:
        op.execute(ddl)
