"""Publisher's SQL. Never commits."""

from __future__ import annotations

from decimal import Decimal

import asyncpg
from yibao.db import DbConnection, Pool


async def count_settlement(
    conn: DbConnection, *, fixmedins_code: str, period: str, status: str, amount: Decimal
) -> None:
    """Add one decided settlement to its institution's month."""
    await conn.execute(
        """
        INSERT INTO settlement_month_stats (fixmedins_code, period, status, settlements, amount)
        VALUES ($1, $2, $3, 1, $4)
        ON CONFLICT (fixmedins_code, period, status) DO UPDATE SET
            settlements = settlement_month_stats.settlements + 1,
            amount = settlement_month_stats.amount + EXCLUDED.amount
        """,
        fixmedins_code,
        period,
        status,
        amount,
    )


async def month_stats(pool: Pool, fixmedins_code: str, period: str) -> list[asyncpg.Record]:
    """Counts by decision status for one institution and month."""
    return list(
        await pool.fetch(
            "SELECT status, settlements, amount FROM settlement_month_stats "
            "WHERE fixmedins_code = $1 AND period = $2 ORDER BY status",
            fixmedins_code,
            period,
        )
    )
