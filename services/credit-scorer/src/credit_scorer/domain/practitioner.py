"""The national 12-point system for practitioners (医保发〔2024〕23号).

Doctors, pharmacists and other practitioners are scored per person, not per institution:
points follow a penalty or agreement sanction against the institution where they work and
add up per natural year across every institution, so a person cannot escape a suspension
by moving. The bureau decides the suspension length (1–6 months); everything else is fixed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import IntEnum, StrEnum

from credit_scorer.domain.dates import add_months, add_years

YEAR_CAP = 12
SUSPENSION_THRESHOLD = 9
TERMINATION_POINTS = 12
POINTS_PER_BAND = 3
MAX_SUSPENSION_MONTHS = 6
BAN_YEARS_ACCUMULATED = 1
BAN_YEARS_AT_ONCE = 3


class Band(IntEnum):
    """Severity bands: minor 1–3, general 4–6, serious 7–9, fraud 10–12 points."""

    MINOR = 1
    GENERAL = 2
    SERIOUS = 3
    FRAUD = 4


class Responsibility(StrEnum):
    """Responsibility for the violation, picking the low, middle or high point of a band."""

    GENERAL = "general"  # 一般责任
    IMPORTANT = "important"  # 重要责任
    PRIMARY = "primary"  # 主要责任


_OFFSET = {Responsibility.GENERAL: 1, Responsibility.IMPORTANT: 2, Responsibility.PRIMARY: 3}


class Status(StrEnum):
    """Payment qualification: whether what the person prescribes or dispenses is settled."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"


def points_for(
    band: Band,
    responsibility: Responsibility,
    *,
    cooperated: bool = False,
    intent_or_refusal: bool = False,
) -> int:
    """Points for one violation: cooperation moves one band down, intent or refusal one up."""
    shifted = band + (1 if intent_or_refusal else 0) - (1 if cooperated else 0)
    final = min(max(shifted, Band.MINOR), Band.FRAUD)
    return (final - 1) * POINTS_PER_BAND + _OFFSET[responsibility]


@dataclass(frozen=True, slots=True)
class PointsEntry:
    """Points recorded for one violation, dated on the decision against the institution."""

    certno: str
    points: int
    decided_at: date
    reason: str
    suspension_months: int | None = None
    institution: str | None = None

    def __post_init__(self) -> None:
        """Points are 1..12 and a suspension, when decided, is 1..6 months."""
        if not 1 <= self.points <= YEAR_CAP:
            raise ValueError(f"points must be 1..{YEAR_CAP}, got {self.points}")
        months = self.suspension_months
        if months is not None and not 1 <= months <= MAX_SUSPENSION_MONTHS:
            raise ValueError(f"suspension_months must be 1..{MAX_SUSPENSION_MONTHS}, got {months}")


@dataclass(frozen=True, slots=True)
class PractitionerStatus:
    """The answer of `POST /v1/admin/practitioners/{certno}/points`."""

    certno: str
    year_points: int
    status: Status
    suspended_until: date | None
    banned_until: date | None


def status_on(certno: str, history: Sequence[PointsEntry], on: date) -> PractitionerStatus:
    """The person's status on `on`, folding every entry decided on or before it in date order.

    A suspension runs from the decision date up to (not including) `suspended_until`; it is
    triggered only by the entry that brings the year's total to 9 or more. Termination is
    final until the person re-registers, which the ban forbids before `banned_until`.
    """
    if any(e.certno != certno for e in history):
        raise ValueError(f"history mixes other persons with {certno}")
    year, total = 0, 0
    suspended_until: date | None = None
    banned_until: date | None = None
    for entry in sorted((e for e in history if e.decided_at <= on), key=lambda e: e.decided_at):
        if entry.decided_at.year != year:
            year, total = entry.decided_at.year, 0
        before, total = total, min(YEAR_CAP, total + entry.points)
        if before < TERMINATION_POINTS <= total:
            at_once = entry.points == TERMINATION_POINTS
            years = BAN_YEARS_AT_ONCE if at_once else BAN_YEARS_ACCUMULATED
            ban_end = add_years(entry.decided_at, years)
            banned_until = ban_end if banned_until is None else max(banned_until, ban_end)
        elif before < SUSPENSION_THRESHOLD <= total and banned_until is None:
            if entry.suspension_months is None:
                raise ValueError(
                    f"{entry.decided_at}: {total} points this year need suspension_months (1..6)"
                )
            suspended_until = add_months(entry.decided_at, entry.suspension_months)
    if banned_until is not None:
        status, suspended_until = Status.TERMINATED, None
    elif suspended_until is not None and on < suspended_until:
        status = Status.SUSPENDED
    else:
        status, suspended_until = Status.ACTIVE, None
    year_points = total if year == on.year else 0
    return PractitionerStatus(certno, year_points, status, suspended_until, banned_until)


def record_points(history: Sequence[PointsEntry], entry: PointsEntry) -> PractitionerStatus:
    """The status right after recording `entry`, on the latest decision date on file."""
    entries = (*history, entry)
    return status_on(entry.certno, entries, max(e.decided_at for e in entries))
