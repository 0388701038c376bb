"""Month arithmetic clamps to month ends; working days skip weekends and holidays."""

from __future__ import annotations

from datetime import date

import pytest
from credit_scorer.domain.dates import WorkingCalendar, add_months, add_years, next_cycle_start


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 3, 2), 3, date(2026, 6, 2)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 8, 31), 1, date(2026, 9, 30)),
        (date(2026, 11, 15), 3, date(2027, 2, 15)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2026, 5, 5), 0, date(2026, 5, 5)),
    ],
)
def test_add_months(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def test_add_years_and_cycles() -> None:
    assert add_years(date(2028, 2, 29), 1) == date(2029, 2, 28)
    assert add_years(date(2026, 3, 1), 3) == date(2029, 3, 1)
    assert next_cycle_start(date(2026, 12, 31)) == date(2027, 1, 1)


def test_working_days_skip_weekends() -> None:
    calendar = WorkingCalendar()
    friday = date(2026, 3, 6)
    assert calendar.add_working_days(friday, 1) == date(2026, 3, 9)
    assert calendar.add_working_days(friday, 0) == friday
    assert calendar.add_working_days(date(2026, 3, 2), 15) == date(2026, 3, 23)


def test_working_days_skip_holidays_and_honour_makeup_days() -> None:
    # National Day 2026: 1-7 October off, Saturday 10 October a make-up working day.
    holidays = frozenset(date(2026, 10, d) for d in range(1, 8))
    calendar = WorkingCalendar(holidays=holidays, makeup_workdays=frozenset({date(2026, 10, 10)}))
    assert not calendar.is_working_day(date(2026, 10, 1))
    assert calendar.is_working_day(date(2026, 10, 10))
    assert calendar.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert calendar.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)


def test_negative_working_days_are_refused() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        WorkingCalendar().add_working_days(date(2026, 1, 5), -1)
