"""DRG metrics of DOMAIN.md §3.2 (CHS-DRG 2.0), as pure functions over per-group aggregates.

Every metric needs only, per institution and group: cases, total cost, total length of stay,
deaths and fund paid — so the projection keeps those sums (one row per institution, period
and group) rather than every case, and the region's figures are the sums over institutions.

Conventions, stated because the definitions leave them open:
- RW_g is the region's mean cost in g over the region's mean cost of all grouped cases.
- Standardised mortality of a group is its region mortality rate; the low-risk groups are
  those below the mean − 1 population SD of the rates of groups with at least one case.
- Point-value settlement: case points = base points × the institution's adjustment; the
  point value = the period's DRG budget / the region's total points; the surplus or deficit
  of a group is what the points pay minus the fund actually paid for its cases.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

ROUND = 4


@dataclass(frozen=True, slots=True)
class GroupStats:
    """One institution's (or the region's) sums for one DRG group in one period."""

    drg_code: str
    cases: int
    total_cost: Decimal
    total_los: int
    deaths: int
    fund_paid: Decimal

    @property
    def mean_cost(self) -> float:
        return float(self.total_cost) / self.cases

    @property
    def mean_los(self) -> float:
        return self.total_los / self.cases


@dataclass(frozen=True, slots=True)
class CaseCounts:
    """All cases, grouped ones and excluded ones (for the grouping rate)."""

    all_cases: int
    grouped: int
    excluded: int


@dataclass(frozen=True, slots=True)
class Region:
    """The pooling area's per-group sums for the period, and what is derived from them."""

    groups: Mapping[str, GroupStats]
    weights: Mapping[str, float]
    low_risk_groups: frozenset[str]
    total_points: float

    def point_value(self, budget: Decimal | None) -> float | None:
        """Yuan per point: the budget (default: the fund paid in the region) over all points."""
        if self.total_points == 0:
            return None
        pot = (
            float(budget)
            if budget is not None
            else sum(float(g.fund_paid) for g in self.groups.values())
        )
        return pot / self.total_points


def merge(groups: Iterable[GroupStats]) -> dict[str, GroupStats]:
    """Sum per-institution rows into region rows by group."""
    out: dict[str, GroupStats] = {}
    for g in groups:
        have = out.get(g.drg_code)
        out[g.drg_code] = (
            g
            if have is None
            else GroupStats(
                g.drg_code,
                have.cases + g.cases,
                have.total_cost + g.total_cost,
                have.total_los + g.total_los,
                have.deaths + g.deaths,
                have.fund_paid + g.fund_paid,
            )
        )
    return out


def relative_weights(region: Mapping[str, GroupStats]) -> dict[str, float]:
    """RW_g = mean cost of g / mean cost of all cases."""
    cases = sum(g.cases for g in region.values())
    if cases == 0:
        return {}
    mean_all = sum(float(g.total_cost) for g in region.values()) / cases
    if mean_all == 0:
        return {code: 0.0 for code in region}
    return {code: g.mean_cost / mean_all for code, g in region.items() if g.cases}


def low_risk_groups(region: Mapping[str, GroupStats]) -> frozenset[str]:
    """Groups whose mortality rate is below the mean − 1 SD of all groups' rates."""
    rates = {code: g.deaths / g.cases for code, g in region.items() if g.cases}
    if len(rates) < 2:
        return frozenset()
    mean = sum(rates.values()) / len(rates)
    sd = math.sqrt(sum((r - mean) ** 2 for r in rates.values()) / len(rates))
    return frozenset(code for code, r in rates.items() if r < mean - sd)


def build_region(rows: Iterable[tuple[GroupStats, float]]) -> Region:
    """Region figures from every institution's rows, each with its institution's adjustment."""
    listed = list(rows)
    region = merge(g for g, _ in listed)
    weights = relative_weights(region)
    points = sum(weights.get(g.drg_code, 0.0) * 100 * adj * g.cases for g, adj in listed)
    return Region(region, weights, low_risk_groups(region), points)


@dataclass(frozen=True, slots=True)
class OutlierRatios:
    """High/low-ratio case thresholds (高倍率/低倍率), as multiples of the group's region mean."""

    high: float = 2.0
    low: float = 0.4


def count_outliers(
    costs: Sequence[Decimal], group_mean: float, ratios: OutlierRatios
) -> tuple[int, int]:
    """(high, low): cases costing more than `high` × the mean, or less than `low` × it."""
    high = sum(1 for c in costs if float(c) > ratios.high * group_mean)
    low = sum(1 for c in costs if float(c) < ratios.low * group_mean)
    return high, low


@dataclass(frozen=True, slots=True)
class GroupLine:
    """One group's line in an institution's notice."""

    drg_code: str
    cases: int
    weight: float
    cost_ratio: float
    time_ratio: float
    points: float
    payment: float | None
    fund_paid: float
    surplus: float | None
    high_cases: int = 0
    low_cases: int = 0


@dataclass(frozen=True, slots=True)
class DrgMetrics:
    """An institution's DRG figures for one period."""

    cases: int
    grouping_rate: float | None
    group_count: int
    total_weight: float
    cmi: float | None
    cost_index: float | None
    time_index: float | None
    low_risk_mortality: float | None
    point_value: float | None
    groups: tuple[GroupLine, ...]


def grouping_rate(counts: CaseCounts) -> float | None:
    """入组率 = grouped / (all − excluded)."""
    eligible = counts.all_cases - counts.excluded
    return None if eligible <= 0 else counts.grouped / eligible


def _ratio(num: float, den: float) -> float | None:
    return None if den == 0 else round(num / den, ROUND)


def institution_metrics(
    own: Iterable[GroupStats],
    counts: CaseCounts,
    region: Region,
    *,
    adjustment: float = 1.0,
    budget: Decimal | None = None,
    case_costs: Mapping[str, Sequence[Decimal]] | None = None,
    ratios: OutlierRatios | None = None,
) -> DrgMetrics:
    """Cases, grouping rate, group count, total weight, CMI, indices, low-risk mortality, P&L."""
    rows = sorted((g for g in own if g.cases), key=lambda g: g.drg_code)
    n = sum(g.cases for g in rows)
    value = region.point_value(budget)
    lines = []
    total_weight = cost_sum = time_sum = 0.0
    for g in rows:
        rw = region.weights.get(g.drg_code, 0.0)
        reg = region.groups[g.drg_code]
        k_cost = g.mean_cost / reg.mean_cost if reg.mean_cost else 0.0
        k_time = g.mean_los / reg.mean_los if reg.mean_los else 0.0
        points = rw * 100 * adjustment * g.cases
        payment = None if value is None else points * value
        high_cases, low_cases = count_outliers(
            (case_costs or {}).get(g.drg_code, ()), reg.mean_cost, ratios or OutlierRatios()
        )
        total_weight += rw * g.cases
        cost_sum += k_cost * g.cases
        time_sum += k_time * g.cases
        lines.append(
            GroupLine(
                drg_code=g.drg_code,
                cases=g.cases,
                weight=round(rw, ROUND),
                cost_ratio=round(k_cost, ROUND),
                time_ratio=round(k_time, ROUND),
                points=round(points, 2),
                payment=None if payment is None else round(payment, 2),
                fund_paid=float(g.fund_paid),
                surplus=None if payment is None else round(payment - float(g.fund_paid), 2),
                high_cases=high_cases,
                low_cases=low_cases,
            )
        )
    low_risk = [g for g in rows if g.drg_code in region.low_risk_groups]
    low_risk_cases = sum(g.cases for g in low_risk)
    return DrgMetrics(
        cases=counts.all_cases,
        grouping_rate=None if (r := grouping_rate(counts)) is None else round(r, ROUND),
        group_count=len(rows),
        total_weight=round(total_weight, ROUND),
        cmi=_ratio(total_weight, n),
        cost_index=_ratio(cost_sum, n),
        time_index=_ratio(time_sum, n),
        low_risk_mortality=_ratio(sum(g.deaths for g in low_risk), low_risk_cases),
        point_value=None if value is None else round(value, ROUND),
        groups=tuple(lines),
    )
