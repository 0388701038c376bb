"""SQL of notice runs, notices and the inbox (sequence numbers, read receipts). Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
from yibao.db import DbConnection

# --- runs --------------------------------------------------------------------------------


async def create_run(
    conn: DbConnection, *, run_id: str, kind: str, period: str, version: int, by: str
) -> None:
    await conn.execute(
        "INSERT INTO notice_runs (run_id, kind, period, version, state, requested_by) "
        "VALUES ($1, $2, $3, $4, 'queued', $5)",
        run_id,
        kind,
        period,
        version,
        by,
    )


async def schedule_run(conn: DbConnection, *, run_id: str, period: str) -> bool:
    """Queue the scheduled monthly run unless one exists for the period (any replica, once)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('yibao-notices:schedule'))")
    exists = await conn.fetchval(
        "SELECT true FROM notice_runs WHERE kind = 'monthly' AND period = $1 LIMIT 1", period
    )
    if exists:
        return False
    await create_run(conn, run_id=run_id, kind="monthly", period=period, version=1, by="schedule")
    return True


async def claim_run(conn: DbConnection, *, lease_s: float) -> asyncpg.Record | None:
    """Take a queued run, or one whose worker's lease lapsed (it died mid-run)."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """
        WITH next AS (
            SELECT run_id FROM notice_runs
            WHERE state = 'queued' OR (state = 'running' AND lease_until < now())
            ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
        UPDATE notice_runs r SET state = 'running',
            lease_until = now() + make_interval(secs => $1)
        FROM next WHERE r.run_id = next.run_id
        RETURNING r.run_id, r.kind, r.period, r.version
        """,
        lease_s,
    )
    return row


async def extend_run(conn: DbConnection, run_id: str, *, lease_s: float, built: int) -> None:
    await conn.execute(
        "UPDATE notice_runs SET lease_until = now() + make_interval(secs => $2), "
        "notices = notices + $3 WHERE run_id = $1",
        run_id,
        lease_s,
        built,
    )


async def finish_run(conn: DbConnection, run_id: str) -> None:
    await conn.execute(
        "UPDATE notice_runs SET state = 'done', finished_at = now(), lease_until = NULL "
        "WHERE run_id = $1",
        run_id,
    )


async def get_run(conn: DbConnection, run_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT run_id, kind, period, version, state, notices, created_at, finished_at "
        "FROM notice_runs WHERE run_id = $1",
        run_id,
    )
    return row


async def lock_run_scope(conn: DbConnection, kind: str, period: str, version: int) -> None:
    """Serialise builders of one (kind, period, version) so sequences never skip a number."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext('yibao-notices:' || $1))",
        f"{kind}:{period}:{version}",
    )


# --- inputs of a monthly run -------------------------------------------------------------


async def recipients_page(conn: DbConnection, *, after: str, limit: int) -> list[asyncpg.Record]:
    """The next institutions to notify: registered recipients and active institutions."""
    return list(
        await conn.fetch(
            """
            WITH codes AS (
                SELECT fixmedins_code FROM recipients
                UNION SELECT fixmedins_code FROM institution_credentials WHERE active)
            SELECT c.fixmedins_code, i.name, i.level, i.kind, i.admdvs
            FROM codes c LEFT JOIN institution_credentials i USING (fixmedins_code)
            WHERE c.fixmedins_code > $1 ORDER BY c.fixmedins_code LIMIT $2
            """,
            after,
            limit,
        )
    )


async def region_drg(conn: DbConnection, period: str) -> list[asyncpg.Record]:
    """Every institution's group sums of the period, with its level (for the adjustment)."""
    return list(
        await conn.fetch(
            "SELECT g.*, i.level FROM drg_group_stats g "
            "LEFT JOIN institution_credentials i USING (fixmedins_code) WHERE g.period = $1",
            period,
        )
    )


async def chunk_inputs(
    conn: DbConnection, codes: Sequence[str], period: str, period_end: datetime
) -> dict[str, list[asyncpg.Record]]:
    """The projection rows of many institutions for one period, in one round trip each."""
    codes = list(codes)
    queries = {
        "settlements": "SELECT fixmedins_code, status, settlements, amount "
        "FROM settlement_month_stats WHERE fixmedins_code = ANY($1) AND period = $2",
        "drg_groups": "SELECT * FROM drg_group_stats WHERE fixmedins_code = ANY($1) "
        "AND period = $2",
        "drg_counts": "SELECT * FROM drg_case_counts WHERE fixmedins_code = ANY($1) "
        "AND period = $2",
        "alerts": "SELECT * FROM alerts WHERE fixmedins_code = ANY($1) AND period = $2",
        "drg_cases": "SELECT fixmedins_code, drg_code, total_cost FROM drg_cases "
        "WHERE fixmedins_code = ANY($1) AND period = $2",
        "feedback": "SELECT item_id, fixmedins_code, status, due_date, line_ref, period "
        "FROM feedback_items WHERE fixmedins_code = ANY($1) AND status <> 'closed' "
        "AND period < $2",
    }
    out = {name: list(await conn.fetch(sql, codes, period)) for name, sql in queries.items()}
    out["uninsured"] = list(
        await conn.fetch(
            "SELECT i.fixmedins_code, e.person_id, e.reason, e.target_groups, e.changed_at "
            "FROM institution_credentials i JOIN enrollment_status e "
            "ON e.status = 'uninsured' AND e.hukou_admdvs LIKE i.admdvs || '%' "
            "WHERE i.fixmedins_code = ANY($1) AND i.kind = 'grassroots' "
            "ORDER BY e.person_id",
            codes,
        )
    )
    out["credit"] = list(
        await conn.fetch(
            "SELECT DISTINCT ON (subject_id) subject_id AS fixmedins_code, grade, score, lists, "
            "tier, changed_at FROM credit_grades WHERE subject_id = ANY($1) AND changed_at < $2 "
            "ORDER BY subject_id, changed_at DESC",
            codes,
            period_end,
        )
    )
    return out


async def existing_notices(
    conn: DbConnection, codes: Sequence[str], kind: str, period: str, version: int
) -> set[str]:
    rows = await conn.fetch(
        "SELECT fixmedins_code FROM notices WHERE fixmedins_code = ANY($1) AND kind = $2 "
        "AND period = $3 AND version = $4",
        list(codes),
        kind,
        period,
        version,
    )
    return {r["fixmedins_code"] for r in rows}


async def next_seqs(conn: DbConnection, codes: Sequence[str]) -> dict[str, int]:
    """Allocate the next inbox sequence number of each institution (no gaps: same tx)."""
    rows = await conn.fetch(
        """
        INSERT INTO inbox_sequences (fixmedins_code, last_seq) SELECT unnest($1::text[]), 1
        ON CONFLICT (fixmedins_code) DO UPDATE SET last_seq = inbox_sequences.last_seq + 1
        RETURNING fixmedins_code, last_seq
        """,
        list(codes),
    )
    return {r["fixmedins_code"]: r["last_seq"] for r in rows}


async def insert_notices(conn: DbConnection, rows: list[dict[str, Any]]) -> None:
    """Store notices, and a pending delivery for each one whose institution has an endpoint."""
    await conn.execute(
        """
        INSERT INTO notices (notice_id, fixmedins_code, kind, period, version, seq, run_id,
                             body, inputs)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[],
                             $6::bigint[], $7::text[], $8::jsonb[], $9::jsonb[])
        """,
        [r["notice_id"] for r in rows],
        [r["fixmedins_code"] for r in rows],
        [r["kind"] for r in rows],
        [r["period"] for r in rows],
        [r["version"] for r in rows],
        [r["seq"] for r in rows],
        [r["run_id"] for r in rows],
        [r["body"] for r in rows],
        [r["inputs"] for r in rows],
    )
    await conn.execute(
        """
        INSERT INTO deliveries (notice_id, fixmedins_code, state)
        SELECT n.notice_id, n.fixmedins_code, 'pending'
        FROM unnest($1::text[]) AS x(id) JOIN notices n ON n.notice_id = x.id
        JOIN recipients r ON r.fixmedins_code = n.fixmedins_code
        """,
        [r["notice_id"] for r in rows],
    )


# --- inbox -------------------------------------------------------------------------------

_NOTICE_COLUMNS = (
    "n.notice_id, n.fixmedins_code, n.kind, n.period, n.version, n.seq, n.body, n.created_at, "
    "n.read_at, d.state AS delivery_state, d.attempts AS delivery_attempts, d.delivered_at"
)


async def inbox_page(
    conn: DbConnection, fixmedins_code: str, *, after_seq: int, limit: int
) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            f"SELECT {_NOTICE_COLUMNS} FROM notices n "
            "LEFT JOIN deliveries d USING (notice_id) "
            "WHERE n.fixmedins_code = $1 AND n.seq > $2 ORDER BY n.seq LIMIT $3",
            fixmedins_code,
            after_seq,
            limit,
        )
    )


async def get_notice(conn: DbConnection, notice_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {_NOTICE_COLUMNS}, n.inputs FROM notices n "
        "LEFT JOIN deliveries d USING (notice_id) WHERE n.notice_id = $1",
        notice_id,
    )
    return row


async def mark_read(conn: DbConnection, notice_id: str) -> datetime | None:
    """The first read receipt wins; later ones return it unchanged."""
    value: datetime | None = await conn.fetchval(
        "UPDATE notices SET read_at = coalesce(read_at, now()) WHERE notice_id = $1 "
        "RETURNING read_at",
        notice_id,
    )
    return value


async def trend(conn: DbConnection, fixmedins_code: str, *, limit: int = 12) -> list[Any]:
    """An institution's monthly settlement totals, oldest first (for the notice's chart)."""
    rows = await conn.fetch(
        "SELECT period, sum(settlements) AS settlements, sum(amount) AS amount "
        "FROM settlement_month_stats WHERE fixmedins_code = $1 GROUP BY period "
        "ORDER BY period DESC LIMIT $2",
        fixmedins_code,
        limit,
    )
    return list(reversed(rows))
