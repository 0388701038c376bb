"""Calendar arithmetic the credit rules are written in: months, years, cycles, working days.

Sanctions and waiting periods are stated in months ("suspended 3 months", "6 months without
a new violation") and review deadlines in working days, so both need exact, shared rules:
month arithmetic clamps to the end of a shorter month (31 Jan + 1 month = 28/29 Feb) and a
working day skips weekends and public holidays but honours the make-up working weekends
(调休) the State Council announces each year.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta

from credit_scorer.domain import config as cfg


def add_months(day: date, months: int) -> date:
    """The same day-of-month `months` later, clamped to the last day of a shorter month."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def add_years(day: date, years: int) -> date:
    """`years` later; 29 February becomes 28 February in a common year."""
    return add_months(day, 12 * years)


def cycle_start(year: int) -> date:
    """The first day of a credit cycle: cycles are natural years."""
    return date(year, 1, 1)


def next_cycle_start(day: date) -> date:
    """The first day of the cycle after the one `day` falls in."""
    return cycle_start(day.year + 1)


@dataclass(frozen=True, slots=True)
class WorkingCalendar:
    """Which days count as working days for review deadlines.

    `holidays` are weekday public holidays; `makeup_workdays` are weekend days declared
    working days. Both come from configuration because the schedule is published yearly.
    """

    holidays: frozenset[date] = field(default_factory=frozenset)
    makeup_workdays: frozenset[date] = field(default_factory=frozenset)

    def is_working_day(self, day: date) -> bool:
        """A weekday that is not a holiday, or a declared make-up working day."""
        if day in self.makeup_workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: date, days: int) -> date:
        """The `days`-th working day after `start` (`start` itself never counts)."""
        if days < 0:
            raise ValueError(f"working days must be >= 0, got {days}")
        day = start
        remaining = days
        while remaining:
            day += timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day


def _days(raw: cfg.Obj, key: str, where: str) -> frozenset[date]:
    values = cfg.texts(raw, key, where) if key in raw else ()
    try:
        return frozenset(date.fromisoformat(v) for v in values)
    except ValueError as exc:
        raise cfg.ConfigError(f"{where}.{key}: {exc}") from exc


def load_calendar(raw: str | bytes) -> WorkingCalendar:
    """The `calendar` block of a configuration document (weekends only when absent)."""
    block = cfg.parse_document(raw).get("calendar")
    if block is None:
        return WorkingCalendar()
    where = "calendar"
    calendar_block = cfg.obj(block, where)
    holidays = _days(calendar_block, "holidays", where)
    makeup = _days(calendar_block, "makeup_workdays", where)
    if holidays & makeup:
        raise cfg.ConfigError(f"{where}: {sorted(holidays & makeup)} are both holiday and workday")
    return WorkingCalendar(holidays=holidays, makeup_workdays=makeup)
