"""Enrollment: records, blocking keys, persons and their history, review queue, jobs.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = (
    """
    CREATE TABLE population_records (
        record_id     text PRIMARY KEY,
        source        text        NOT NULL,
        person_id     text        NOT NULL,
        content_hash  text        NOT NULL,
        pii           text        NOT NULL,
        id_key        text,
        id_state      text        NOT NULL,
        id_consistent boolean     NOT NULL,
        gender        text,
        birth_date    date,
        hukou_admdvs  text,
        record_date   date,
        status        text,
        status_date   date,
        evidence      jsonb       NOT NULL,
        received_at   timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE INDEX population_records_person ON population_records (person_id)",
    """
    CREATE TABLE match_keys (
        key       text NOT NULL,
        record_id text NOT NULL,
        PRIMARY KEY (key, record_id)
    )
    """,
    """
    CREATE TABLE persons (
        person_id     text PRIMARY KEY,
        status        text        NOT NULL,
        reason        text,
        deceased      boolean     NOT NULL DEFAULT false,
        deceased_on   date,
        target_groups text[]      NOT NULL DEFAULT '{}',
        psn_keys      text[]      NOT NULL DEFAULT '{}',
        apart         text[]      NOT NULL DEFAULT '{}',
        hukou_admdvs  text,
        display       text,
        records       integer     NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now(),
        updated_at    timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE INDEX persons_hukou ON persons (hukou_admdvs text_pattern_ops)",
    """
    CREATE TABLE person_history (
        id        bigserial PRIMARY KEY,
        person_id text        NOT NULL,
        at        timestamptz NOT NULL DEFAULT now(),
        kind      text        NOT NULL,
        detail    jsonb       NOT NULL
    )
    """,
    "CREATE INDEX person_history_person ON person_history (person_id, id)",
    """
    CREATE TABLE review_queue (
        review_id   bigserial PRIMARY KEY,
        record_id   text        NOT NULL,
        person_id   text        NOT NULL,
        probability float8      NOT NULL,
        linked      boolean     NOT NULL,
        evidence    jsonb       NOT NULL,
        state       text        NOT NULL DEFAULT 'open',
        decided_by  text,
        created_at  timestamptz NOT NULL DEFAULT now(),
        decided_at  timestamptz
    )
    """,
    "CREATE INDEX review_queue_open ON review_queue (review_id) WHERE state = 'open'",
    """
    CREATE TABLE match_weights (
        version    bigserial PRIMARY KEY,
        weights    jsonb       NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    """
    CREATE TABLE population_jobs (
        job_id      text PRIMARY KEY,
        state       text        NOT NULL,
        rows        integer     NOT NULL DEFAULT 0,
        rejected    integer     NOT NULL DEFAULT 0,
        processed   integer     NOT NULL DEFAULT 0,
        uploaded    boolean     NOT NULL DEFAULT false,
        error       text,
        created_at  timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz
    )
    """,
    """
    CREATE TABLE job_rows (
        job_id  text    NOT NULL,
        line_no integer NOT NULL,
        row     text    NOT NULL,
        PRIMARY KEY (job_id, line_no)
    )
    """,
    """
    CREATE TABLE job_errors (
        job_id    text    NOT NULL,
        line_no   integer NOT NULL,
        record_id text,
        errors    jsonb   NOT NULL,
        PRIMARY KEY (job_id, line_no)
    )
    """,
    """
    CREATE TABLE pii_access_log (
        id        bigserial PRIMARY KEY,
        at        timestamptz NOT NULL DEFAULT now(),
        principal text        NOT NULL,
        person_id text        NOT NULL,
        purpose   text        NOT NULL
    )
    """,
)
DROPS = (
    "pii_access_log",
    "job_errors",
    "job_rows",
    "population_jobs",
    "match_weights",
    "review_queue",
    "person_history",
    "persons",
    "match_keys",
    "population_records",
)


def upgrade() -> None:
    for ddl in TABLES:
        op.execute(ddl)


def downgrade() -> None:
    for table in DROPS:
        op.execute(f"DROP TABLE IF EXISTS {table}")
