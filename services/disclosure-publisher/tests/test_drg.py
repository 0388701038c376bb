"""DRG metrics against cases computed by hand (DOMAIN.md §3.2)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from disclosure_publisher.domain.drg import (
    CaseCounts,
    GroupStats,
    OutlierRatios,
    build_region,
    grouping_rate,
    institution_metrics,
    low_risk_groups,
    merge,
    relative_weights,
)


def g(code: str, cases: int, cost: int, los: int, deaths: int, fund: int) -> GroupStats:
    return GroupStats(code, cases, Decimal(cost), los, deaths, Decimal(fund))


A = [g("G1", 2, 2000, 10, 0, 1600), g("G2", 1, 3000, 8, 1, 2500)]
B = [g("G1", 2, 6000, 14, 0, 5000), g("G3", 1, 1000, 2, 0, 800)]
REGION = build_region([(row, 1.0) for row in A + B])


def test_relative_weight_is_group_mean_over_all_mean() -> None:
    # all: 6 cases, 12000 -> 2000; G1 8000/4 = 2000; G2 3000; G3 1000
    assert relative_weights(merge(A + B)) == {"G1": 1.0, "G2": 1.5, "G3": 0.5}


def test_institution_figures_by_hand() -> None:
    m = institution_metrics(A, CaseCounts(all_cases=5, grouped=3, excluded=1), REGION)
    assert m.cases == 5
    assert m.grouping_rate == 0.75  # 3 / (5 - 1)
    assert m.group_count == 2
    assert m.total_weight == 3.5  # 1.0·2 + 1.5·1
    assert m.cmi == pytest.approx(1.1667)  # 3.5 / 3
    # k_G1 = 1000/2000 = .5, k_G2 = 3000/3000 = 1 -> (.5·2 + 1)/3
    assert m.cost_index == pytest.approx(0.6667)
    # los: G1 5 vs 6, G2 8 vs 8 -> (5/6·2 + 1)/3
    assert m.time_index == pytest.approx(0.8889)


def test_point_value_settlement_surplus_and_deficit_per_group() -> None:
    # budget = region fund paid 9900; points (1·4 + 1.5·1 + .5·1)·100 = 600 -> 16.5 per point
    m = institution_metrics(A, CaseCounts(3, 3, 0), REGION)
    assert m.point_value == 16.5
    g1, g2 = m.groups
    assert (g1.points, g1.payment, g1.surplus) == (200.0, 3300.0, 1700.0)
    assert (g2.points, g2.payment, g2.surplus) == (150.0, 2475.0, -25.0)


def test_an_explicit_budget_and_adjustment_change_the_point_value_and_points() -> None:
    m = institution_metrics(A, CaseCounts(3, 3, 0), REGION, budget=Decimal(6000), adjustment=0.9)
    assert m.point_value == 10.0  # 6000 / 600
    assert m.groups[0].points == 180.0  # 1.0 · 100 · 0.9 · 2
    assert m.groups[0].surplus == 200.0  # 1800 - 1600


def test_low_risk_groups_are_below_mean_minus_one_sd() -> None:
    # rates .05, .3, .3, .4: mean .2625, sd .1293 -> threshold .1332: only G1
    rows = [
        g("G1", 20, 20000, 60, 1, 0),
        g("G2", 10, 10000, 30, 3, 0),
        g("G3", 10, 10000, 30, 3, 0),
        g("G4", 10, 10000, 30, 4, 0),
    ]
    assert low_risk_groups(merge(rows)) == {"G1"}
    region = build_region([(r, 1.0) for r in rows])
    own = [g("G1", 10, 10000, 30, 1, 0), g("G4", 5, 5000, 15, 2, 0)]
    m = institution_metrics(own, CaseCounts(15, 15, 0), region)
    assert m.low_risk_mortality == 0.1  # 1 death in its 10 low-risk cases


def test_no_low_risk_groups_when_rates_do_not_spread() -> None:
    assert low_risk_groups(merge(A + B)) == frozenset()
    assert institution_metrics(A, CaseCounts(3, 3, 0), REGION).low_risk_mortality is None


def test_empty_inputs_give_no_ratios_rather_than_errors() -> None:
    empty = build_region([])
    m = institution_metrics([], CaseCounts(0, 0, 0), empty)
    assert (m.cmi, m.cost_index, m.point_value, m.grouping_rate) == (None, None, None, None)
    assert grouping_rate(CaseCounts(2, 0, 2)) is None


def test_high_and_low_ratio_cases_against_the_region_group_mean() -> None:
    # G1 region mean 2000: high > 2 × 2000 = 4000, low < 0.4 × 2000 = 800
    costs = {
        "G1": [Decimal(700), Decimal(800), Decimal(4000), Decimal(4001)],
        "G2": [Decimal(3000)],
    }
    m = institution_metrics(A, CaseCounts(3, 3, 0), REGION, case_costs=costs)
    g1, g2 = m.groups
    assert (g1.high_cases, g1.low_cases) == (1, 1)  # the thresholds themselves are not outliers
    assert (g2.high_cases, g2.low_cases) == (0, 0)
    strict = institution_metrics(
        A, CaseCounts(3, 3, 0), REGION, case_costs=costs, ratios=OutlierRatios(high=1.5, low=0.5)
    )
    assert (strict.groups[0].high_cases, strict.groups[0].low_cases) == (2, 2)
