"""SQL of the feedback ledger. Never commits."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg
from yibao.db import DbConnection

_COLUMNS = (
    "item_id, notice_id, fixmedins_code, period, line_ref, classification, owner, status, "
    "due_date, escalated_at, history, created_at, updated_at"
)


async def open_items(
    conn: DbConnection, items: list[dict[str, Any]], *, owner: str, at: datetime
) -> None:
    """Open one item per notice line that needs an answer (idempotent per notice and line)."""
    if not items:
        return
    await conn.execute(
        """
        INSERT INTO feedback_items (item_id, notice_id, fixmedins_code, period, line_ref,
                                    classification, owner, status, due_date, history)
        SELECT i, n, c, p, l, k, $8, 'open', d,
               jsonb_build_array(jsonb_build_object('at', $9::timestamptz, 'actor', 'system',
                                                    'action', 'open', 'status', 'open'))
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                    $7::date[]) AS x(i, n, c, p, l, k, d)
        ON CONFLICT (notice_id, line_ref) DO NOTHING
        """,
        [i["item_id"] for i in items],
        [i["notice_id"] for i in items],
        [i["fixmedins_code"] for i in items],
        [i["period"] for i in items],
        [i["line_ref"] for i in items],
        [i["classification"] for i in items],
        [i["due_date"] for i in items],
        owner,
        at,
    )


async def insert_item(conn: DbConnection, item: dict[str, Any]) -> asyncpg.Record | None:
    """An institution's own answer to a notice or a line it chose (starts `answered`).

    None when an item for that line appeared meanwhile (a concurrent answer).
    """
    row: asyncpg.Record | None = await conn.fetchrow(
        f"""
        INSERT INTO feedback_items (item_id, notice_id, fixmedins_code, period, line_ref,
            classification, owner, status, due_date, history)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        ON CONFLICT (notice_id, line_ref) DO NOTHING RETURNING {_COLUMNS}
        """,
        item["item_id"],
        item["notice_id"],
        item["fixmedins_code"],
        item["period"],
        item["line_ref"],
        item["classification"],
        item["owner"],
        item["status"],
        item["due_date"],
        item["history"],
    )
    return row


async def get_item(
    conn: DbConnection, item_id: str, *, lock: bool = False
) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM feedback_items WHERE item_id = $1"
        + (" FOR UPDATE" if lock else ""),
        item_id,
    )
    return row


async def item_for_line(conn: DbConnection, notice_id: str, line_ref: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM feedback_items WHERE notice_id = $1 AND line_ref = $2 FOR UPDATE",
        notice_id,
        line_ref,
    )
    return row


async def update_item(
    conn: DbConnection,
    item_id: str,
    *,
    status: str,
    due_date: date,
    owner: str,
    classification: str,
    history_entry: dict[str, Any],
    reset_escalation: bool,
) -> asyncpg.Record:
    row: asyncpg.Record | None = await conn.fetchrow(
        f"""
        UPDATE feedback_items SET status = $2, due_date = $3, owner = $4, classification = $5,
            history = history || jsonb_build_array($6::jsonb), updated_at = now(),
            escalated_at = CASE WHEN $7 THEN NULL ELSE escalated_at END
        WHERE item_id = $1 RETURNING {_COLUMNS}
        """,
        item_id,
        status,
        due_date,
        owner,
        classification,
        history_entry,
        reset_escalation,
    )
    assert row is not None, "the caller holds the item's row lock"
    return row


async def list_items(
    conn: DbConnection, *, fixmedins_code: str | None, status: str | None, limit: int = 1000
) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            f"SELECT {_COLUMNS} FROM feedback_items "
            "WHERE ($1::text IS NULL OR fixmedins_code = $1) AND ($2::text IS NULL OR status = $2) "
            "ORDER BY created_at, item_id LIMIT $3",
            fixmedins_code,
            status,
            limit,
        )
    )


async def claim_overdue(conn: DbConnection, *, today: date, limit: int) -> list[asyncpg.Record]:
    """Items waiting on the institution past their due date, not yet escalated (locked)."""
    return list(
        await conn.fetch(
            """
            WITH due AS (
                SELECT item_id FROM feedback_items
                WHERE escalated_at IS NULL AND status IN ('open', 'rectification')
                  AND due_date < $1
                ORDER BY due_date LIMIT $2 FOR UPDATE SKIP LOCKED)
            UPDATE feedback_items f SET escalated_at = now(),
                history = history || jsonb_build_array(jsonb_build_object(
                    'at', now(), 'actor', 'system', 'action', 'escalate', 'status', f.status))
            FROM due WHERE f.item_id = due.item_id
            RETURNING f.item_id, f.notice_id, f.fixmedins_code, f.period, f.status, f.due_date,
                      f.escalated_at
            """,
            today,
            limit,
        )
    )
