"""The deduction ledger: immutable rows and the only transitions a row may make.

A subject's credit file must be replayable and auditable, so a row is never edited: each
transition returns a new row and the service appends it as the row's next version. Bonus
rows (a signed commitment) live in the same ledger; the indicator's kind gives the sign.
Whether a row counts on a day is decided here once, for the full fold and the incremental
state alike, so the two can never disagree about a single row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from credit_scorer.domain.dates import next_cycle_start
from credit_scorer.domain.indicators import IndicatorTree


class RowState(StrEnum):
    """active counts; objected waits for review; voided never counted; repaired stops later."""

    ACTIVE = "active"
    OBJECTED = "objected"
    VOIDED = "voided"
    REPAIRED = "repaired"


class TransitionError(ValueError):
    """The requested transition is not allowed from the row's current state."""


@dataclass(frozen=True, slots=True)
class Deduction:
    """One ledger row: what was deducted (or awarded), why, and for how long."""

    deduction_id: str
    subject_id: str
    indicator_code: str
    tree_version: str
    source_event_id: str
    event_type: str
    evidence: Mapping[str, object] = field(hash=False)
    points: Decimal
    effective_from: date
    expires_at: date
    state: RowState = RowState.ACTIVE
    repaired_from: date | None = None

    def __post_init__(self) -> None:
        """Reject rows that could never be scored consistently."""
        if self.points <= 0:
            raise ValueError(f"{self.deduction_id}: points must be positive, got {self.points}")
        if self.expires_at <= self.effective_from:
            raise ValueError(f"{self.deduction_id}: expires_at must be after effective_from")
        if (self.state is RowState.REPAIRED) != (self.repaired_from is not None):
            raise ValueError(f"{self.deduction_id}: repaired_from is set exactly when repaired")


def new_row(
    tree: IndicatorTree,
    *,
    deduction_id: str,
    subject_id: str,
    indicator_code: str,
    source_event_id: str,
    event_type: str,
    evidence: Mapping[str, object],
    effective_from: date,
) -> Deduction:
    """A fresh active row with the leaf's points and validity under `tree`."""
    rule = tree.rule(indicator_code)
    if event_type not in rule.event_types:
        raise ValueError(f"indicator {indicator_code} does not react to {event_type!r}")
    return Deduction(
        deduction_id=deduction_id,
        subject_id=subject_id,
        indicator_code=indicator_code,
        tree_version=tree.version,
        source_event_id=source_event_id,
        event_type=event_type,
        evidence=dict(evidence),
        points=rule.points_per_event,
        effective_from=effective_from,
        expires_at=effective_from + timedelta(days=rule.validity_days),
    )


def _require(row: Deduction, expected: RowState, action: str) -> None:
    if row.state is not expected:
        raise TransitionError(
            f"cannot {action} deduction {row.deduction_id}: it is {row.state}, not {expected}"
        )


def object_to(row: Deduction, *, appealable: bool) -> Deduction:
    """An objection suspends an active row until a reviewer decides."""
    _require(row, RowState.ACTIVE, "object to")
    if not appealable:
        raise TransitionError(f"deduction {row.deduction_id}: its indicator is not appealable")
    return replace(row, state=RowState.OBJECTED)


def decide_objection(row: Deduction, *, accepted: bool) -> Deduction:
    """Accepted: the deduction is void. Rejected: it counts again as before."""
    _require(row, RowState.OBJECTED, "decide an objection on")
    return replace(row, state=RowState.VOIDED if accepted else RowState.ACTIVE)


def approve_repair(row: Deduction, *, approved_on: date) -> Deduction:
    """A repaired row stops counting from the next cycle, not on the approval day."""
    _require(row, RowState.ACTIVE, "repair")
    return replace(row, state=RowState.REPAIRED, repaired_from=next_cycle_start(approved_on))


def in_force(row: Deduction, as_of: date) -> bool:
    """Whether the row's state lets it count on `as_of` (validity dates aside)."""
    if row.state is RowState.ACTIVE:
        return True
    return (
        row.state is RowState.REPAIRED
        and row.repaired_from is not None
        and as_of < row.repaired_from
    )


def counts(row: Deduction, as_of: date) -> bool:
    """In force and inside its validity window [effective_from, expires_at)."""
    return row.effective_from <= as_of < row.expires_at and in_force(row, as_of)
