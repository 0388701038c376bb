"""Objections (异议): row transitions, the filing window in working days, reviewer decisions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from credit_scorer.domain.dates import WorkingCalendar
from credit_scorer.domain.indicators import IndicatorTree
from credit_scorer.domain.ledger import (
    Deduction,
    RowState,
    TransitionError,
    approve_repair,
    counts,
    decide_objection,
    object_to,
)
from credit_scorer.domain.policy import Policy
from credit_scorer.domain.scoring import score
from credit_scorer.domain.workflows import (
    ObjectionDecision,
    Refusal,
    check_objection,
    check_objection_decision,
    objection_review_due,
    objection_window_closes,
)

RowFactory = Callable[..., Deduction]
NOTIFIED = date(2026, 9, 21)  # a Monday before the National Day holiday
NATIONAL_DAY = WorkingCalendar(
    holidays=frozenset(date(2026, 10, d) for d in range(1, 8)),
    makeup_workdays=frozenset({date(2026, 9, 27), date(2026, 10, 10)}),
)


def test_objection_suspends_then_rejection_restores(
    tree: IndicatorTree, policy: Policy, make_row: RowFactory
) -> None:
    row = make_row("d1", "010101", NOTIFIED)

    def points_on_file(r: Deduction) -> object:
        result = score([r], tree, policy, NOTIFIED, agreement_from=date(2020, 1, 1))
        return result.standing.score

    assert points_on_file(row) == 90
    objected = object_to(row, appealable=True)
    assert objected.state is RowState.OBJECTED
    assert points_on_file(objected) == 100
    restored = decide_objection(objected, accepted=False)
    assert restored == row
    assert points_on_file(restored) == 90
    voided = decide_objection(objected, accepted=True)
    assert voided.state is RowState.VOIDED
    assert points_on_file(voided) == 100


def test_transitions_keep_everything_but_the_state(make_row: RowFactory) -> None:
    row = make_row("d1", "010101", NOTIFIED)
    objected = object_to(row, appealable=True)
    assert (objected.deduction_id, objected.points, objected.evidence) == (
        row.deduction_id,
        row.points,
        row.evidence,
    )
    assert row.state is RowState.ACTIVE  # the original row is untouched


@pytest.mark.parametrize("state", ["objected", "voided"])
def test_only_an_active_row_can_be_contested(state: str, make_row: RowFactory) -> None:
    row = object_to(make_row("d1", "010101", NOTIFIED), appealable=True)
    if state == "voided":
        row = decide_objection(row, accepted=True)
    with pytest.raises(TransitionError, match=f"it is {state}, not active"):
        object_to(row, appealable=True)


def test_decisions_need_a_pending_objection(make_row: RowFactory) -> None:
    with pytest.raises(TransitionError, match="cannot decide an objection"):
        decide_objection(make_row("d1", "010101", NOTIFIED), accepted=True)


def test_a_non_appealable_row_cannot_be_contested(make_row: RowFactory) -> None:
    with pytest.raises(TransitionError, match="not appealable"):
        object_to(make_row("f", "010403", NOTIFIED), appealable=False)


def test_the_filing_window_counts_working_days(policies: tuple[Policy, ...]) -> None:
    # 15 working days: 22-25 Sep, 27 Sep (make-up Sunday), 28-30 Sep, 8-9 Oct, 10 Oct
    # (make-up Saturday), 12-15 Oct.
    assert objection_window_closes(NOTIFIED, policies, NATIONAL_DAY) == date(2026, 10, 15)
    assert objection_window_closes(NOTIFIED, policies, WorkingCalendar()) == date(2026, 10, 12)


def test_review_due_date(policies: tuple[Policy, ...]) -> None:
    assert objection_review_due(date(2026, 3, 2), policies, WorkingCalendar()) == date(2026, 3, 23)


def test_check_objection(
    tree: IndicatorTree, policies: tuple[Policy, ...], make_row: RowFactory
) -> None:
    row = make_row("d1", "010101", NOTIFIED)

    def check(r: Deduction, filed_on: date) -> Refusal | None:
        return check_objection(
            r,
            tree,
            notified_on=NOTIFIED,
            filed_on=filed_on,
            policies=policies,
            calendar=NATIONAL_DAY,
        )

    assert check(row, date(2026, 10, 15)) is None
    late = check(row, date(2026, 10, 16))
    assert late is not None
    assert late.code == "objection_window_closed"
    assert "2026-10-15" in late.message
    fraud = check(make_row("f", "010403", NOTIFIED), NOTIFIED)
    assert fraud is not None
    assert fraud.code == "not_appealable"
    pending = check(object_to(row, appealable=True), NOTIFIED)
    assert pending is not None
    assert pending.code == "not_active"


def test_a_decision_states_its_grounds() -> None:
    silent = ObjectionDecision(
        "d1", accepted=False, reviewed_by="r1", reason=" ", decided_on=NOTIFIED
    )
    refusal = check_objection_decision(silent)
    assert refusal is not None
    assert refusal.code == "reason_required"
    reasoned = ObjectionDecision("d1", False, "r1", "证据确凿", NOTIFIED)
    assert check_objection_decision(reasoned) is None


def test_a_repaired_row_cannot_be_contested_and_counts_until_year_end(
    make_row: RowFactory,
) -> None:
    repaired = approve_repair(make_row("d1", "010101", NOTIFIED), approved_on=date(2026, 11, 2))
    assert counts(repaired, date(2026, 12, 31))
    assert not counts(repaired, date(2027, 1, 1))
    with pytest.raises(TransitionError):
        object_to(repaired, appealable=True)
