"""The inspection plan: who is due for a routine inspection in a period, by supervision tier.

The tier sets the frequency (policy `inspection_months`: A exempt, B yearly, C half-yearly,
D quarterly and a flying-inspection target); a subject is due when its interval since the
last recorded inspection ends on or before the period's last day, or it was never inspected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from credit_scorer.domain.dates import add_months

UNGRADED = "ungraded"
FLYING_TIER = "key"
_PERIOD = re.compile(r"^(\d{4})(?:-(?:(\d{2})|Q([1-4])))?$")


@dataclass(frozen=True, slots=True)
class PlanSubject:
    """What the plan needs to know about one subject."""

    subject_id: str
    subject_type: str
    grade: str | None
    tier: str | None
    last_inspected_on: date | None


@dataclass(frozen=True, slots=True)
class PlanEntry:
    """A subject due in the period; `due_on` may precede the period (already overdue)."""

    subject_id: str
    subject_type: str
    grade: str | None
    last_inspected_on: date | None
    due_on: date
    flying_inspection: bool


def parse_period(text: str) -> tuple[date, date]:
    """`2027`, `2027-Q1` or `2027-03` as (first day, last day); ValueError otherwise."""
    found = _PERIOD.match(text)
    if found is None:
        raise ValueError(f"{text!r} is not a year (2027), a quarter (2027-Q1) or a month (2027-03)")
    year, month, quarter = int(found[1]), found[2], found[3]
    if month is not None:
        if not 1 <= int(month) <= 12:
            raise ValueError(f"{text!r}: month {month} does not exist")
        start, months = date(year, int(month), 1), 1
    elif quarter is not None:
        start, months = date(year, 3 * int(quarter) - 2, 1), 3
    else:
        start, months = date(year, 1, 1), 12
    return start, add_months(start, months) - timedelta(days=1)


def plan(
    subjects: Iterable[PlanSubject],
    *,
    start: date,
    end: date,
    inspection_months: Mapping[str, int],
) -> dict[str, list[PlanEntry]]:
    """The due subjects per tier (every tier present, possibly empty), soonest due first."""
    due: dict[str, list[PlanEntry]] = {group: [] for group in inspection_months}
    for subject in subjects:
        group = subject.tier or UNGRADED
        interval = inspection_months[group]
        if interval == 0:
            continue
        last = subject.last_inspected_on
        due_on = start if last is None else add_months(last, interval)
        if due_on <= end:
            due[group].append(
                PlanEntry(
                    subject_id=subject.subject_id,
                    subject_type=subject.subject_type,
                    grade=subject.grade,
                    last_inspected_on=last,
                    due_on=due_on,
                    flying_inspection=group == FLYING_TIER,
                )
            )
    for entries in due.values():
        entries.sort(key=lambda e: (e.due_on, e.subject_id))
    return due
