"""Enrollment status, reason and target groups of a person from all its sources' facts.

Sources disagree all the time (an old lapse beside a newer contribution, a death record
beside a stale insurance row), so precedence is a fixed, ordered set of rules, each tested:

1. A death ends enrollment from its date: a deceased person is `uninsured` with reason
   `deceased`, whatever any insurance record says (later rows are stale data, not proof of
   life).
2. Coverage comes from the most recent coverage fact (`insured_*` or `lapsed`), by its
   date; a newer insured record outranks an older lapse and a newer lapse an older insured
   record. On the same date the insurance platform outranks other sources, and then local
   outranks province outranks another province outranks a lapse.
3. An uninsured living person's reason is the newest of `enlisted` / `in_custody` /
   `emigrated` dated after their last coverage (an older one was overtaken by the
   coverage); else `personal` if their last coverage fact is a lapse (they stopped paying:
   unwilling or unable); else none (never insured, reason unknown until visited).
4. Target groups are computed for everyone alive: `lapsed_this_year`, `low_income`,
   `students_children` (a student record, or under 18), `farmers_herders` (the address is a
   village or gacha: 村 / 嘎查), `migrant_workers` (household registration outside this
   city, and known to social security here).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

Status = Literal["insured_local", "insured_province", "insured_other_province", "uninsured"]
Reason = Literal["enlisted", "in_custody", "emigrated", "deceased", "personal"]

COVERAGE = ("insured_local", "insured_province", "insured_other_province", "lapsed")
REASONS: tuple[Reason, ...] = ("enlisted", "in_custody", "emigrated")
SOURCE_STATUSES = frozenset(
    {*COVERAGE, "deceased", *REASONS, "low_income", "student"},
)
TARGET_GROUPS = (
    "lapsed_this_year",
    "low_income",
    "students_children",
    "farmers_herders",
    "migrant_workers",
)
_SOURCE_RANK = {"insurance": 0, "social_security": 1}
_RURAL_MARKS = ("村", "嘎查")


@dataclass(frozen=True, slots=True)
class Fact:
    """One record's status claim: what, from which source, as of when."""

    source: str
    status: str
    on: date | None


@dataclass(frozen=True, slots=True)
class Standing:
    """The resolved enrollment of a person."""

    status: Status
    reason: Reason | None = None
    deceased_on: date | None = None
    deceased: bool = False
    target_groups: tuple[str, ...] = field(default_factory=tuple)


def _coverage_key(fact: Fact) -> tuple[date, int, int]:
    """Newest first wins; on a tie, the insurance platform, then local > … > lapse."""
    return (
        fact.on or date.min,
        -_SOURCE_RANK.get(fact.source, 2),
        -COVERAGE.index(fact.status),
    )


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def resolve(
    facts: Iterable[Fact],
    *,
    as_of: date,
    birth_date: date | None = None,
    hukou_admdvs: str | None = None,
    address: str | None = None,
    local_prefix: str = "",
) -> Standing:
    """Apply the precedence rules of this module to one person's facts."""
    facts = [f for f in facts if not f.status or f.status in SOURCE_STATUSES]
    deaths = [f for f in facts if f.status == "deceased"]
    if deaths:
        known = [f.on for f in deaths if f.on is not None]
        return Standing("uninsured", "deceased", min(known) if known else None, True)

    coverage = [f for f in facts if f.status in COVERAGE]
    latest = max(coverage, key=_coverage_key) if coverage else None
    status: Status = "uninsured"
    reason: Reason | None = None
    if latest is not None and latest.status != "lapsed":
        status = latest.status  # type: ignore[assignment]  # narrowed by COVERAGE
    else:
        since = latest.on if latest is not None and latest.on is not None else date.min
        excuses = [f for f in facts if f.status in REASONS and (f.on or date.max) >= since]
        if excuses:
            newest = max(excuses, key=lambda f: f.on or date.min)
            reason = newest.status  # type: ignore[assignment]  # narrowed by REASONS
        elif latest is not None:
            reason = "personal"

    groups: list[str] = []
    if (
        latest is not None
        and latest.status == "lapsed"
        and latest.on
        and latest.on.year == as_of.year
    ):
        groups.append("lapsed_this_year")
    if any(f.status == "low_income" for f in facts):
        groups.append("low_income")
    if any(f.status == "student" for f in facts) or (
        birth_date is not None and _age(birth_date, as_of) < 18
    ):
        groups.append("students_children")
    if address and any(mark in address for mark in _RURAL_MARKS):
        groups.append("farmers_herders")
    if (
        local_prefix
        and hukou_admdvs
        and not hukou_admdvs.startswith(local_prefix)
        and any(f.source == "social_security" for f in facts)
    ):
        groups.append("migrant_workers")
    return Standing(status, reason, target_groups=tuple(groups))


AWAY = ("enlisted", "in_custody", "emigrated")


def enrollment_rate(
    *, persons: int, insured: int, deceased: int, away: int
) -> tuple[int, float | None]:
    """(should enroll, rate): the living, minus those away for a reason, are the base.

    Soldiers have their own coverage, prisoners are covered by the prison, emigrants are not
    residents: counting them would make a target of 95 % unreachable for the wrong reason.
    """
    should = persons - deceased - away
    return should, (round(insured / should, 4) if should > 0 else None)
