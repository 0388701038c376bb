"""Credit repair (信用修复) and the four-eyes rule for repairs and grade overrides."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from credit_scorer.domain.dates import WorkingCalendar
from credit_scorer.domain.indicators import IndicatorTree
from credit_scorer.domain.ledger import (
    Deduction,
    TransitionError,
    approve_repair,
    decide_objection,
    object_to,
)
from credit_scorer.domain.policy import Policy
from credit_scorer.domain.workflows import (
    GradeOverride,
    Refusal,
    RepairDecision,
    check_grade_override,
    check_repair_application,
    check_repair_decision,
    check_second_approver,
    repair_review_due,
)

RowFactory = Callable[..., Deduction]
VIOLATION = date(2025, 12, 1)


def _apply(
    rows: list[Deduction],
    tree: IndicatorTree,
    policies: tuple[Policy, ...],
    applied_on: date,
    *,
    target: str = "d1",
    rectified_on: date = VIOLATION,
) -> Refusal | None:
    return check_repair_application(
        rows, tree, target, rectified_on=rectified_on, applied_on=applied_on, policies=policies
    )


def test_repair_waits_six_months_under_the_2025_rule(
    tree: IndicatorTree, policies: tuple[Policy, ...], make_row: RowFactory
) -> None:
    rows = [make_row("d1", "010101", VIOLATION)]
    early = _apply(rows, tree, policies, date(2026, 3, 31))
    assert early is not None
    assert early.code == "waiting_period"
    assert "policy 2025.1 requires 6 months" in early.message
    assert "2026-06-01" in early.message


def test_the_2026_rule_shortens_the_wait(
    tree: IndicatorTree, policies: tuple[Policy, ...], make_row: RowFactory
) -> None:
    rows = [make_row("d1", "010101", VIOLATION)]
    assert _apply(rows, tree, policies, date(2026, 4, 1)) is None  # 3 months: from 2026-03-01


def test_a_new_violation_restarts_the_wait(
    tree: IndicatorTree, policies: tuple[Policy, ...], make_row: RowFactory
) -> None:
    rows = [make_row("d1", "010101", VIOLATION), make_row("d2", "040101", date(2026, 3, 15))]
    refused = _apply(rows, tree, policies, date(2026, 5, 1))
    assert refused is not None
    assert "2026-06-15" in refused.message
    assert _apply(rows, tree, policies, date(2026, 6, 15)) is None


def test_a_voided_row_or_a_bonus_is_no_violation(
    tree: IndicatorTree, policies: tuple[Policy, ...], make_row: RowFactory
) -> None:
    voided = decide_objection(
        object_to(make_row("d2", "040101", date(2026, 3, 15)), appealable=True), accepted=True
    )
    bonus = make_row("b", "060101", date(2026, 3, 20))
    rows = [make_row("d1", "010101", VIOLATION), voided, bonus]
    assert _apply(rows, tree, policies, date(2026, 4, 1)) is None


def test_the_wait_runs_from_rectification_if_later(
    tree: IndicatorTree, policies: tuple[Policy, ...], make_row: RowFactory
) -> None:
    rows = [make_row("d1", "010101", VIOLATION)]
    refused = _apply(rows, tree, policies, date(2026, 4, 1), rectified_on=date(2026, 2, 1))
    assert refused is not None
    assert "2026-05-01" in refused.message
    unrectified = _apply(rows, tree, policies, date(2026, 4, 1), rectified_on=date(2026, 4, 2))
    assert unrectified is not None
    assert unrectified.code == "not_rectified"


def test_only_an_active_deduction_can_be_repaired(
    tree: IndicatorTree, policies: tuple[Policy, ...], make_row: RowFactory
) -> None:
    objected = object_to(make_row("d1", "010101", VIOLATION), appealable=True)
    day = date(2026, 7, 1)
    assert _apply([objected], tree, policies, day) == Refusal(
        "not_active", "deduction d1 is objected"
    )
    missing = _apply([], tree, policies, day)
    assert missing is not None
    assert missing.code == "unknown_deduction"
    bonus = _apply([make_row("b", "060101", VIOLATION)], tree, policies, day, target="b")
    assert bonus is not None
    assert bonus.code == "not_a_deduction"
    with pytest.raises(TransitionError):
        approve_repair(objected, approved_on=day)


def test_repair_review_deadline_follows_the_policy_version(policies: tuple[Policy, ...]) -> None:
    calendar = WorkingCalendar()
    assert repair_review_due(date(2026, 3, 2), policies, calendar) == date(2026, 3, 23)  # 15
    assert repair_review_due(date(2026, 4, 1), policies, calendar) == date(2026, 4, 15)  # 10


@pytest.mark.parametrize(
    ("first", "second", "code"),
    [
        ("alice", None, "second_approver_required"),
        ("alice", "  ", "second_approver_required"),
        ("alice", "alice", "same_approver"),
        ("alice", " ALICE ", "same_approver"),
        ("alice", "bob", None),
    ],
)
def test_four_eyes(first: str, second: str | None, code: str | None) -> None:
    refusal = check_second_approver(first, second)
    assert (refusal.code if refusal else None) == code


def test_repair_approval_needs_four_eyes_but_refusal_does_not() -> None:
    day = date(2026, 7, 1)
    alone = RepairDecision(
        "d1", approved=True, reviewed_by="alice", approved_by=None, decided_on=day
    )
    assert check_repair_decision(alone) == Refusal(
        "second_approver_required", "a second approver is required"
    )
    assert check_repair_decision(RepairDecision("d1", True, "alice", "bob", day)) is None
    assert check_repair_decision(RepairDecision("d1", False, "alice", None, day)) is None


def test_grade_override_rules() -> None:
    ok = GradeOverride("H1", "C", "B", "复核后更正", requested_by="alice", approved_by="bob")
    assert check_grade_override(ok) is None
    same = GradeOverride("H1", "C", "B", "复核后更正", requested_by="alice", approved_by="Alice")
    assert check_grade_override(same) == Refusal(
        "same_approver", "the second approver must be a different person"
    )
    no_reason = GradeOverride("H1", "C", "B", "", requested_by="alice", approved_by="bob")
    assert (r := check_grade_override(no_reason)) is not None
    assert r.code == "reason_required"
    no_change = GradeOverride("H1", "B", "B", "x", requested_by="alice", approved_by="bob")
    assert (r := check_grade_override(no_change)) is not None
    assert r.code == "no_change"
    ungraded = GradeOverride("H1", None, "B", "x", requested_by="alice", approved_by="bob")
    assert check_grade_override(ungraded) is None
