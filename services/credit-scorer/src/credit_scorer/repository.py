"""Credit's SQL. Never commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
from yibao.db import DbConnection, Pool


async def record_event(
    conn: DbConnection,
    *,
    event_id: str,
    subject_id: str,
    kind: str,
    occurred_at: datetime,
    detail: dict[str, Any],
) -> None:
    """Append one event to the subject's file."""
    await conn.execute(
        "INSERT INTO credit_events (event_id, subject_id, kind, occurred_at, detail) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        event_id,
        subject_id,
        kind,
        occurred_at,
        detail,
    )


async def subject_events(pool: Pool, subject_id: str, limit: int) -> list[asyncpg.Record]:
    """The subject's file, newest first."""
    return list(
        await pool.fetch(
            "SELECT event_id, kind, occurred_at, detail FROM credit_events "
            "WHERE subject_id = $1 ORDER BY occurred_at DESC LIMIT $2",
            subject_id,
            limit,
        )
    )
