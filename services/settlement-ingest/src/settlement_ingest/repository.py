"""Ingest's SQL: settlements, returns, stock movements, DRG cases, institutions. Never commits."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg
from yibao.db import DbConnection, Pool

DECIDED_CHANNEL = "settlement_decided"


async def insert_settlement(
    conn: DbConnection,
    *,
    settlement_id: str,
    fixmedins_code: str,
    idempotency_key: str | None,
    request_hash: str,
    psn_key: str,
    certno_cipher: str | None,
    psn_name_cipher: str | None,
    setl_time: datetime,
    lines: list[dict[str, Any]],
    amount: Any,
) -> asyncpg.Record | None:
    """Insert a new settlement; None when this institution already used the idempotency key."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """
        INSERT INTO settlements (settlement_id, fixmedins_code, idempotency_key, request_hash,
            psn_key, certno_cipher, psn_name_cipher, setl_time, lines, amount, status)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'deciding')
        ON CONFLICT (fixmedins_code, idempotency_key) DO NOTHING
        RETURNING settlement_id
        """,
        settlement_id,
        fixmedins_code,
        idempotency_key,
        request_hash,
        psn_key,
        certno_cipher,
        psn_name_cipher,
        setl_time,
        lines,
        amount,
    )
    return row


async def settlement_by_key(
    conn: DbConnection | Pool, fixmedins_code: str, idempotency_key: str
) -> asyncpg.Record | None:
    """The settlement an earlier request with this key created."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT settlement_id, request_hash, status, hits, decided_at, fixmedins_code "
        "FROM settlements WHERE fixmedins_code = $1 AND idempotency_key = $2",
        fixmedins_code,
        idempotency_key,
    )
    return row


async def settlement(conn: DbConnection | Pool, settlement_id: str) -> asyncpg.Record | None:
    """A settlement with its decision and lines."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT settlement_id, fixmedins_code, status, hits, decided_at, setl_time, lines, "
        "psn_key, created_at FROM settlements WHERE settlement_id = $1",
        settlement_id,
    )
    return row


async def record_decision(
    conn: DbConnection,
    *,
    settlement_id: str,
    status: str,
    hits: list[dict[str, Any]],
    decided_at: datetime,
) -> bool:
    """Store a decision and notify the replica whose HTTP request is waiting for it.

    A first decision replaces `deciding`; a reviewer's later decision replaces
    `pending_review`; a final decision is never overwritten.
    """
    updated = await conn.fetchval(
        """
        UPDATE settlements SET status = $2, hits = $3, decided_at = $4
        WHERE settlement_id = $1 AND status IN ('deciding', 'pending_review')
        RETURNING true
        """,
        settlement_id,
        status,
        hits,
        decided_at,
    )
    if updated:
        await conn.execute("SELECT pg_notify($1, $2)", DECIDED_CHANNEL, settlement_id)
    return bool(updated)


async def returned_units(conn: DbConnection, settlement_id: str) -> dict[int, Decimal]:
    """Units already returned per original line (accepted returns only)."""
    rows = await conn.fetch(
        "SELECT (l->>'line')::int AS line, sum((l->>'sel_retn_cnt')::numeric) AS units "
        "FROM settlement_returns r, jsonb_array_elements(r.lines) l "
        "WHERE r.settlement_id = $1 AND r.status = 'accepted' GROUP BY 1",
        settlement_id,
    )
    return {r["line"]: r["units"] for r in rows}


async def insert_return(
    conn: DbConnection,
    *,
    return_id: str,
    settlement_id: str,
    fixmedins_code: str,
    idempotency_key: str,
    request_hash: str,
    lines: list[dict[str, Any]],
    status: str,
    hits: list[dict[str, Any]],
) -> bool:
    """Store a return; False when the idempotency key was used before for this settlement."""
    inserted = await conn.fetchval(
        """
        INSERT INTO settlement_returns (return_id, settlement_id, fixmedins_code,
            idempotency_key, request_hash, lines, status, hits)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (settlement_id, idempotency_key) DO NOTHING
        RETURNING true
        """,
        return_id,
        settlement_id,
        fixmedins_code,
        idempotency_key,
        request_hash,
        lines,
        status,
        hits,
    )
    return bool(inserted)


async def return_by_key(
    conn: DbConnection, settlement_id: str, idempotency_key: str
) -> asyncpg.Record | None:
    """The return an earlier request with this key created."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT return_id, request_hash, status, hits FROM settlement_returns "
        "WHERE settlement_id = $1 AND idempotency_key = $2",
        settlement_id,
        idempotency_key,
    )
    return row


async def insert_submission(
    conn: DbConnection,
    *,
    table: str,
    submission_id: str,
    fixmedins_code: str,
    idempotency_key: str | None,
    request_hash: str,
    body: dict[str, Any],
) -> asyncpg.Record | None:
    """Store a stock movement or DRG case; returns the earlier row when the key was used.

    Both are fire-and-forget submissions under the same idempotency rule, so they share this
    code; `table` is one of two fixed names, never user input.
    """
    if table not in ("inventory_movements", "drg_settlements"):
        raise ValueError(table)
    inserted = await conn.fetchval(
        f"INSERT INTO {table} (id, fixmedins_code, idempotency_key, request_hash, body) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (fixmedins_code, idempotency_key) DO NOTHING "
        "RETURNING true",
        submission_id,
        fixmedins_code,
        idempotency_key,
        request_hash,
        body,
    )
    if inserted:
        return None
    earlier: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT id, request_hash FROM {table} WHERE fixmedins_code = $1 AND idempotency_key = $2",
        fixmedins_code,
        idempotency_key,
    )
    return earlier
