"""Ingest tables: settlements, returns, stock movements, DRG cases (+ platform tables).

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
        CREATE TABLE settlements (
            settlement_id   text PRIMARY KEY,
            fixmedins_code  text        NOT NULL,
            idempotency_key text,
            request_hash    text        NOT NULL,
            psn_key         text        NOT NULL,
            certno_cipher   text,
            psn_name_cipher text,
            setl_time       timestamptz NOT NULL,
            lines           jsonb       NOT NULL,
            amount          numeric(14, 2) NOT NULL DEFAULT 0,
            status          text        NOT NULL,
            hits            jsonb,
            decided_at      timestamptz,
            created_at      timestamptz NOT NULL DEFAULT now(),
            UNIQUE (fixmedins_code, idempotency_key)
        )
        """
    )
    op.execute("CREATE INDEX settlements_deciding ON settlements (created_at) WHERE status = 'deciding'")
    op.execute(
        """
        CREATE TABLE settlement_returns (
            return_id       text PRIMARY KEY,
            settlement_id   text        NOT NULL REFERENCES settlements,
            fixmedins_code  text        NOT NULL,
            idempotency_key text,
            request_hash    text        NOT NULL,
            lines           jsonb       NOT NULL,
            status          text        NOT NULL,
            hits            jsonb       NOT NULL DEFAULT '[]',
            created_at      timestamptz NOT NULL DEFAULT now(),
            UNIQUE (settlement_id, idempotency_key)
        )
        """
    )
    for table in ("inventory_movements", "drg_settlements"):
        op.execute(
            f"""
            CREATE TABLE {table} (
                id              text PRIMARY KEY,
                fixmedins_code  text        NOT NULL,
                idempotency_key text,
                request_hash    text        NOT NULL,
                body            jsonb       NOT NULL,
                created_at      timestamptz NOT NULL DEFAULT now(),
                UNIQUE (fixmedins_code, idempotency_key)
            )
            """
        )


def downgrade() -> None:
    for table in ("drg_settlements", "inventory_movements", "settlement_returns", "settlements"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
    for ddl in DROP_PLATFORM_TABLES:
        op.execute(ddl)
