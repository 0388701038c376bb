"""Quarterly warnings with hysteresis, peer comparison, annual checks."""

from __future__ import annotations

from decimal import Decimal

import pytest
from disclosure_publisher.domain.reports import (
    Light,
    QuarterRow,
    Thresholds,
    annual_checks,
    build_quarterly,
    growth,
    months_of,
    previous_quarter,
    quarter_of,
    warn,
)

BANDS = Thresholds(yellow=0.10, red=0.20, hysteresis=0.02)


@pytest.mark.parametrize(
    ("value", "previous", "light"),
    [
        (0.05, None, "green"),
        (0.10, None, "yellow"),
        (0.20, None, "red"),
        (0.19, "red", "red"),  # within the hysteresis: stays red
        (0.17, "red", "yellow"),  # below red − h: down to yellow
        (0.09, "yellow", "yellow"),
        (0.09, "red", "yellow"),
        (0.079, "yellow", "green"),
        (0.19, None, "yellow"),  # entering needs the full threshold
        (None, "red", "green"),
    ],
)
def test_lights_with_hysteresis(value: float | None, previous: Light | None, light: Light) -> None:
    assert warn(value, previous, BANDS) == light


def test_growth_needs_a_baseline() -> None:
    assert growth(Decimal(125), Decimal(100)) == 0.25
    assert growth(Decimal(5), Decimal(0)) is None


def test_quarters() -> None:
    assert quarter_of("2026-Q3") == (2026, 3)
    assert months_of(2026, 3) == ["2026-07", "2026-08", "2026-09"]
    assert previous_quarter(2026, 1) == (2025, 4)


def row(code: str, level: str, fund: int, base: int) -> QuarterRow:
    return QuarterRow(code, level, Decimal(fund), Decimal(base), 0, 0)


def test_peers_by_level_and_abnormal_institutions() -> None:
    rows = [row(f"H{i}", "secondary", 100, 100) for i in range(9)] + [
        row("H9", "secondary", 1000, 100),
        row("P1", "retail", 476, 400),
    ]
    analysis = build_quarterly(rows, {"P1": "red"}, {"fund_growth": BANDS}, peer_z=2.0)
    by_code = {i["fixmedins_code"]: i for i in analysis["institutions"]}
    assert analysis["peers"]["secondary"]["institutions"] == 10
    assert analysis["peers"]["secondary"]["mean_fund"] == 190.0
    assert by_code["H9"]["abnormal"] is True  # z = 810 / 270 = 3
    assert by_code["H9"]["peer_z"] == 3.0
    assert by_code["H0"]["abnormal"] is False
    assert by_code["H9"]["warning"] == "red"  # growth 9.0
    assert by_code["P1"]["warning"] == "red"  # growth .19: below red, but last quarter was red
    assert by_code["P1"]["peer_z"] is None  # alone at its level
    assert by_code["H0"]["warning"] == "green"


def test_annual_checks_flag_a_balance_that_does_not_add_up() -> None:
    fine = {"income": "100", "expenditure": "80", "balance": "70", "opening_balance": "50"}
    assert annual_checks(fine) == []
    off = {**fine, "balance": "71"}
    assert annual_checks(off) == ["opening + income − expenditure = 70, not the balance 71"]
    assert annual_checks({"income": 1, "expenditure": 2, "balance": 3}) == []
