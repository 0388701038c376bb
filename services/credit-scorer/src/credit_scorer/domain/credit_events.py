"""The events that move an institution's credit, as the incremental state consumes them.

The service translates bus messages and API calls (alerts, inspection results, objections,
repair decisions, the daily clock) into these; keeping them plain values lets the same
sequence be replayed from a subject's file to rebuild its state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from credit_scorer.domain.ledger import Deduction


@dataclass(frozen=True, slots=True)
class DeductionAdded:
    """A new deduction row (from an alert, inspection, penalty, complaint, …)."""

    row: Deduction


@dataclass(frozen=True, slots=True)
class BonusAwarded:
    """A new bonus row (a signed commitment, a voluntary refund, …)."""

    row: Deduction


@dataclass(frozen=True, slots=True)
class ObjectionFiled:
    """The subject contests a deduction; it stops counting while under review."""

    deduction_id: str
    filed_on: date


@dataclass(frozen=True, slots=True)
class ObjectionDecided:
    """A reviewer accepted (void the row) or rejected (count it again) an objection."""

    deduction_id: str
    accepted: bool
    decided_on: date


@dataclass(frozen=True, slots=True)
class RepairApproved:
    """A repair was approved; the row stops counting from the next cycle."""

    deduction_id: str
    approved_on: date


@dataclass(frozen=True, slots=True)
class DayPassed:
    """The clock moved to `today`: rows start, expire, lists lapse, cycles roll over."""

    today: date


RowEvent = ObjectionFiled | ObjectionDecided | RepairApproved
CreditEvent = DeductionAdded | BonusAwarded | RowEvent | DayPassed
