"""Publisher's SQL for the projections of other services' events, and the access audit.

Never commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import asyncpg
from yibao.db import DbConnection, Pool
from yibao.events import (
    CreditGradeChanged,
    DrgSettled,
    EnrollmentStatusChanged,
    TracecodeAlerted,
)


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


async def month_counts(pool: Pool, fixmedins_code: str, period: str) -> tuple[int, int]:
    """DRG cases and alerts of one institution's month."""
    row = await pool.fetchrow(
        "SELECT (SELECT coalesce(sum(all_cases), 0) FROM drg_case_counts "
        "WHERE fixmedins_code = $1 AND period = $2) AS drg_cases, "
        "(SELECT count(*) FROM alerts WHERE fixmedins_code = $1 AND period = $2) AS alerts",
        fixmedins_code,
        period,
    )
    assert row is not None
    return int(row["drg_cases"]), int(row["alerts"])


async def add_drg_case(conn: DbConnection, event: DrgSettled, period: str) -> None:
    """Count one DRG case: always in the case counts; in its group when grouped and kept."""
    in_group = event.grouped and not event.excluded and event.drg_code is not None
    await conn.execute(
        """
        INSERT INTO drg_case_counts (fixmedins_code, period, all_cases, grouped, excluded)
        VALUES ($1, $2, 1, $3, $4)
        ON CONFLICT (fixmedins_code, period) DO UPDATE SET
            all_cases = drg_case_counts.all_cases + 1,
            grouped = drg_case_counts.grouped + EXCLUDED.grouped,
            excluded = drg_case_counts.excluded + EXCLUDED.excluded
        """,
        event.fixmedins_code,
        period,
        int(event.grouped and event.drg_code is not None and not event.excluded),
        int(event.excluded),
    )
    if not in_group:
        return
    await conn.execute(
        "INSERT INTO drg_cases (drg_settlement_id, fixmedins_code, period, drg_code, total_cost) "
        "VALUES ($1, $2, $3, $4, $5)",
        event.drg_settlement_id,
        event.fixmedins_code,
        period,
        event.drg_code,
        event.total_cost,
    )
    await conn.execute(
        """
        INSERT INTO drg_group_stats
            (fixmedins_code, period, drg_code, cases, total_cost, total_los, deaths, fund_paid)
        VALUES ($1, $2, $3, 1, $4, $5, $6, $7)
        ON CONFLICT (fixmedins_code, period, drg_code) DO UPDATE SET
            cases = drg_group_stats.cases + 1,
            total_cost = drg_group_stats.total_cost + EXCLUDED.total_cost,
            total_los = drg_group_stats.total_los + EXCLUDED.total_los,
            deaths = drg_group_stats.deaths + EXCLUDED.deaths,
            fund_paid = drg_group_stats.fund_paid + EXCLUDED.fund_paid
        """,
        event.fixmedins_code,
        period,
        event.drg_code,
        event.total_cost,
        event.los_days,
        int(event.discharge_status == "died"),
        event.fund_paid,
    )


async def add_alert(conn: DbConnection, event: TracecodeAlerted, period: str) -> None:
    """Keep a suspected violation for its institution's month (a repeat keeps the first)."""
    await conn.execute(
        """
        INSERT INTO alerts (alert_id, fixmedins_code, period, rule, severity, settlement_id,
                            drug_trac_codg, confirmed, evidence, occurred_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        ON CONFLICT (alert_id) DO UPDATE SET confirmed = alerts.confirmed OR EXCLUDED.confirmed
        """,
        event.alert_id,
        event.fixmedins_code,
        period,
        event.rule,
        event.severity,
        event.settlement_id,
        event.drug_trac_codg,
        event.confirmed,
        event.evidence,
        event.occurred_at,
    )


async def add_credit(conn: DbConnection, event: CreditGradeChanged) -> None:
    """Keep the grade history: a notice shows the grade in force at the end of its period."""
    await conn.execute(
        """
        INSERT INTO credit_grades (subject_id, changed_at, grade, score, lists, tier)
        VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING
        """,
        event.subject_id,
        event.changed_at,
        event.grade,
        event.score,
        list(event.lists),
        event.tier,
    )


async def set_enrollment(conn: DbConnection, event: EnrollmentStatusChanged) -> None:
    """A person's latest enrollment status (an older event never overwrites a newer one)."""
    await conn.execute(
        """
        INSERT INTO enrollment_status
            (person_id, status, reason, hukou_admdvs, target_groups, changed_at)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (person_id) DO UPDATE SET status = EXCLUDED.status,
            reason = EXCLUDED.reason, hukou_admdvs = EXCLUDED.hukou_admdvs,
            target_groups = EXCLUDED.target_groups, changed_at = EXCLUDED.changed_at
        WHERE enrollment_status.changed_at <= EXCLUDED.changed_at
        """,
        event.person_id,
        event.status,
        event.reason,
        event.hukou_admdvs,
        list(event.target_groups),
        event.changed_at,
    )


async def log_access(
    conn: DbConnection,
    *,
    subject: str,
    roles: Sequence[str],
    action: str,
    fixmedins_code: str | None,
    resource: str,
) -> None:
    """Bureau reads of an institution's notices or feedback leave a trace (who, what, when)."""
    await conn.execute(
        "INSERT INTO bureau_access_log (subject, roles, action, fixmedins_code, resource) "
        "VALUES ($1, $2, $3, $4, $5)",
        subject,
        list(roles),
        action,
        fixmedins_code,
        resource,
    )
