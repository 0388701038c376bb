"""The scheduled monthly run's period."""

from __future__ import annotations

from datetime import date

from disclosure_publisher.domain.schedule import scheduled_period


def test_the_previous_month_from_the_run_day_on() -> None:
    assert scheduled_period(date(2026, 11, 4), 5) is None
    assert scheduled_period(date(2026, 11, 5), 5) == "2026-10"
    assert scheduled_period(date(2026, 11, 30), 5) == "2026-10"


def test_january_issues_december_of_the_year_before() -> None:
    assert scheduled_period(date(2027, 1, 9), 5) == "2026-12"
