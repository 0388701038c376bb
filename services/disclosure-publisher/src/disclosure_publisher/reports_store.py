"""SQL of quarterly and annual reports. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
from yibao.db import DbConnection

_COLUMNS = (
    "report_id, kind, period, version, state, body, changelog, created_by, created_at, "
    "published_by, published_at"
)


async def quarter_rows(
    conn: DbConnection, months: Sequence[str], baseline_months: Sequence[str]
) -> list[asyncpg.Record]:
    """Fund spent per institution in the quarter and its baseline, with level and activity.

    Fund spent = approved settlements (with or without warnings) + DRG fund paid.
    """
    return list(
        await conn.fetch(
            """
            WITH codes AS (
                SELECT fixmedins_code FROM recipients
                UNION SELECT fixmedins_code FROM institution_credentials WHERE active),
            spend AS (
                SELECT fixmedins_code, period, amount AS fund FROM settlement_month_stats
                WHERE status IN ('approved', 'approved_with_warnings')
                UNION ALL
                SELECT fixmedins_code, period, fund_paid FROM drg_group_stats)
            SELECT c.fixmedins_code, coalesce(i.level, 'unknown') AS level,
                coalesce((SELECT sum(fund) FROM spend s WHERE s.fixmedins_code = c.fixmedins_code
                          AND s.period = ANY($1)), 0) AS fund,
                coalesce((SELECT sum(fund) FROM spend s WHERE s.fixmedins_code = c.fixmedins_code
                          AND s.period = ANY($2)), 0) AS baseline_fund,
                coalesce((SELECT sum(all_cases) FROM drg_case_counts d
                          WHERE d.fixmedins_code = c.fixmedins_code AND d.period = ANY($1)), 0)
                    AS drg_cases,
                (SELECT count(*) FROM alerts a WHERE a.fixmedins_code = c.fixmedins_code
                 AND a.period = ANY($1)) AS alerts
            FROM codes c LEFT JOIN institution_credentials i USING (fixmedins_code)
            ORDER BY c.fixmedins_code
            """,
            list(months),
            list(baseline_months),
        )
    )


async def latest_published(conn: DbConnection, kind: str, period: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM reports WHERE kind = $1 AND period = $2 AND state = 'published' "
        "ORDER BY version DESC LIMIT 1",
        kind,
        period,
    )
    return row


async def insert_draft(
    conn: DbConnection,
    *,
    report_id: str,
    kind: str,
    period: str,
    body: dict[str, Any],
    changelog: str | None,
    created_by: str,
) -> asyncpg.Record:
    """A new draft, numbered after every existing version of the same report."""
    row: asyncpg.Record | None = await conn.fetchrow(
        f"""
        INSERT INTO reports (report_id, kind, period, version, state, body, changelog, created_by)
        SELECT $1, $2, $3, coalesce(max(version), 0) + 1, 'draft', $4, $5, $6
        FROM reports WHERE kind = $2 AND period = $3
        RETURNING {_COLUMNS}
        """,
        report_id,
        kind,
        period,
        body,
        changelog,
        created_by,
    )
    assert row is not None
    return row


async def lock_period(conn: DbConnection, kind: str, period: str) -> None:
    """Serialise version numbering of one report."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext('yibao-report:' || $1))", f"{kind}:{period}"
    )


async def get_report(
    conn: DbConnection, report_id: str, *, lock: bool = False
) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM reports WHERE report_id = $1" + (" FOR UPDATE" if lock else ""),
        report_id,
    )
    return row


async def publish(conn: DbConnection, report_id: str, by: str) -> asyncpg.Record:
    row: asyncpg.Record | None = await conn.fetchrow(
        f"UPDATE reports SET state = 'published', published_by = $2, published_at = now() "
        f"WHERE report_id = $1 AND state = 'draft' RETURNING {_COLUMNS}",
        report_id,
        by,
    )
    assert row is not None, "the caller holds the draft's row lock"
    return row


async def institutions(conn: DbConnection) -> list[asyncpg.Record]:
    """Everyone a published report goes to (the same set a monthly run notifies)."""
    return list(
        await conn.fetch(
            "SELECT fixmedins_code FROM recipients "
            "UNION SELECT fixmedins_code FROM institution_credentials WHERE active "
            "ORDER BY 1"
        )
    )
