"""Quarterly analysis (季公布) and the annual report (年通报) as pure functions.

Quarterly: each institution's fund use against its previous quarter (growth) and against
its peers of the same level (a z-score), with R/Y/G warnings whose thresholds and
hysteresis come from configuration. Hysteresis keeps a warning from flickering: once red,
an institution stays red until growth falls below `red − hysteresis` (and the same for
yellow), so a value hovering at the threshold does not toggle every quarter.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

Light = Literal["green", "yellow", "red"]


@dataclass(frozen=True, slots=True)
class Thresholds:
    """One indicator's warning bands (policy parameters)."""

    yellow: float
    red: float
    hysteresis: float = 0.0


def warn(value: float | None, previous: Light | None, t: Thresholds) -> Light:
    """The light for `value`, given last quarter's light (hysteresis on the way down)."""
    if value is None:
        return "green"
    red_at = t.red - t.hysteresis if previous == "red" else t.red
    if value >= red_at:
        return "red"
    yellow_at = t.yellow - t.hysteresis if previous in ("yellow", "red") else t.yellow
    return "yellow" if value >= yellow_at else "green"


def growth(current: Decimal, baseline: Decimal) -> float | None:
    """Relative growth over the baseline; None without a baseline to compare with."""
    if baseline <= 0:
        return None
    return float((current - baseline) / baseline)


@dataclass(frozen=True, slots=True)
class QuarterRow:
    """One institution's quarter: fund spent (settlements + DRG fund paid) and activity."""

    fixmedins_code: str
    level: str
    fund: Decimal
    baseline_fund: Decimal
    drg_cases: int
    alerts: int


def quarter_of(period: str) -> tuple[int, int]:
    """`2026-Q3` -> (2026, 3)."""
    year, q = period.split("-Q")
    return int(year), int(q)


def months_of(year: int, quarter: int) -> list[str]:
    """The three `YYYY-MM` periods of a quarter."""
    return [f"{year}-{m:02d}" for m in range(3 * quarter - 2, 3 * quarter + 1)]


def previous_quarter(year: int, quarter: int) -> tuple[int, int]:
    return (year - 1, 4) if quarter == 1 else (year, quarter - 1)


def _mean_sd(values: Sequence[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def build_quarterly(
    rows: Sequence[QuarterRow],
    previous: Mapping[str, Light],
    thresholds: Mapping[str, Thresholds],
    *,
    peer_z: float,
) -> dict[str, Any]:
    """The analysis: per-level peer statistics and each institution's lights."""
    by_level: dict[str, list[QuarterRow]] = defaultdict(list)
    for row in rows:
        by_level[row.level].append(row)
    peers = {
        level: _mean_sd([float(r.fund) for r in members]) for level, members in by_level.items()
    }
    out = []
    for row in sorted(rows, key=lambda r: r.fixmedins_code):
        mean, sd = peers[row.level]
        z = None if sd == 0 else round((float(row.fund) - mean) / sd, 4)
        rise = growth(row.fund, row.baseline_fund)
        light = warn(rise, previous.get(row.fixmedins_code), thresholds["fund_growth"])
        out.append(
            {
                "fixmedins_code": row.fixmedins_code,
                "level": row.level,
                "fund": str(row.fund),
                "baseline_fund": str(row.baseline_fund),
                "fund_growth": None if rise is None else round(rise, 4),
                "peer_z": z,
                "abnormal": z is not None and abs(z) > peer_z,
                "drg_cases": row.drg_cases,
                "alerts": row.alerts,
                "warning": light,
            }
        )
    return {
        "peers": {
            level: {
                "institutions": len(by_level[level]),
                "mean_fund": round(m, 2),
                "sd_fund": round(s, 2),
            }
            for level, (m, s) in sorted(peers.items())
        },
        "institutions": out,
        "thresholds": {k: vars_of(v) for k, v in sorted(thresholds.items())},
        "peer_z": peer_z,
    }


def vars_of(t: Thresholds) -> dict[str, float]:
    return {"yellow": t.yellow, "red": t.red, "hysteresis": t.hysteresis}


def annual_checks(fund: Mapping[str, Any]) -> list[str]:
    """What looks inconsistent in bureau-loaded fund figures (shown, not refused)."""
    problems = []
    income, spent, balance = (Decimal(str(fund[k])) for k in ("income", "expenditure", "balance"))
    opening = fund.get("opening_balance")
    if opening is not None and Decimal(str(opening)) + income - spent != balance:
        expected = Decimal(str(opening)) + income - spent
        problems.append(f"opening + income − expenditure = {expected}, not the balance {balance}")
    return problems
