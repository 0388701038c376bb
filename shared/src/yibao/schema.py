"""Tables every service has: outbox, processed events, institution credentials.

Each service's first migration applies `PLATFORM_TABLES` so the library's SQL and the
tables it touches are defined in one place.
"""

from __future__ import annotations

PLATFORM_TABLES: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS outbox (
        id             bigserial PRIMARY KEY,
        event_id       text        NOT NULL UNIQUE,
        topic          text        NOT NULL,
        key            text        NOT NULL,
        source         text        NOT NULL,
        time           timestamptz NOT NULL,
        correlation_id text,
        causation_id   text,
        payload        bytea       NOT NULL,
        created_at     timestamptz NOT NULL DEFAULT now()
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS outbox_dead (
        id             bigint PRIMARY KEY,
        event_id       text        NOT NULL,
        topic          text        NOT NULL,
        key            text        NOT NULL,
        payload        bytea       NOT NULL,
        error          text        NOT NULL,
        failed_at      timestamptz NOT NULL DEFAULT now()
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS processed_events (
        consumer     text        NOT NULL,
        event_id     text        NOT NULL,
        processed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer, event_id)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS institution_credentials (
        fixmedins_code text PRIMARY KEY,
        name           text        NOT NULL,
        kind           text        NOT NULL,
        level          text        NOT NULL,
        admdvs         text        NOT NULL,
        api_key_hash   text        NOT NULL UNIQUE,
        active         boolean     NOT NULL DEFAULT true,
        updated_at     timestamptz NOT NULL DEFAULT now()
    )
    """,
)

DROP_PLATFORM_TABLES: tuple[str, ...] = (
    "DROP TABLE IF EXISTS institution_credentials",
    "DROP TABLE IF EXISTS processed_events",
    "DROP TABLE IF EXISTS outbox_dead",
    "DROP TABLE IF EXISTS outbox",
)
