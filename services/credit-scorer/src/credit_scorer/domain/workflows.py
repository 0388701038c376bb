"""Objection (异议) and repair (信用修复) workflows: who may ask, when, and who must sign.

Each check returns a `Refusal` (a stable code and a sentence for the subject) or None, so
the service can answer a refused request without raising and the reason is always stated.
Deadlines are counted in working days on the bureau's calendar, and every window comes from
the policy version in force on the day the request was made — a repair applied for on
2026-04-01 follows the new national rule even if the violation is older.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from credit_scorer.domain.dates import WorkingCalendar, add_months
from credit_scorer.domain.indicators import IndicatorTree, Kind
from credit_scorer.domain.ledger import Deduction, RowState
from credit_scorer.domain.policy import Grade, Policy, policy_for


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request is refused: `code` is stable for clients, `message` is for people."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class ObjectionDecision:
    """A reviewer's decision on an objection; a decision must state its grounds."""

    deduction_id: str
    accepted: bool
    reviewed_by: str
    reason: str
    decided_on: date


@dataclass(frozen=True, slots=True)
class RepairDecision:
    """A repair decision; an approval needs a second approver (four-eyes)."""

    deduction_id: str
    approved: bool
    reviewed_by: str
    approved_by: str | None
    decided_on: date


@dataclass(frozen=True, slots=True)
class GradeOverride:
    """A manual change of a computed grade; always four-eyes and always with a reason."""

    subject_id: str
    from_grade: Grade | None
    to_grade: Grade
    reason: str
    requested_by: str
    approved_by: str | None


def objection_window_closes(
    notified_on: date, policies: Sequence[Policy], calendar: WorkingCalendar
) -> date:
    """The last day a subject may object to a deduction it was notified of."""
    policy = policy_for(notified_on, policies)
    return calendar.add_working_days(notified_on, policy.objection_filing_working_days)


def objection_review_due(
    filed_on: date, policies: Sequence[Policy], calendar: WorkingCalendar
) -> date:
    """The day by which a reviewer must decide an objection."""
    policy = policy_for(filed_on, policies)
    return calendar.add_working_days(filed_on, policy.objection_review_working_days)


def check_objection(
    row: Deduction,
    tree: IndicatorTree,
    *,
    notified_on: date,
    filed_on: date,
    policies: Sequence[Policy],
    calendar: WorkingCalendar,
) -> Refusal | None:
    """Only an active, appealable deduction, contested within the filing window."""
    if row.state is not RowState.ACTIVE:
        return Refusal("not_active", f"deduction {row.deduction_id} is {row.state}")
    if not tree.rule(row.indicator_code).appealable:
        return Refusal(
            "not_appealable",
            f"indicator {row.indicator_code} cannot be contested here; use administrative review",
        )
    closes = objection_window_closes(notified_on, policies, calendar)
    if filed_on > closes:
        return Refusal("objection_window_closed", f"objections closed on {closes}")
    return None


def check_objection_decision(decision: ObjectionDecision) -> Refusal | None:
    """A decision without grounds cannot be communicated or reviewed later."""
    if not decision.reason.strip():
        return Refusal("reason_required", "an objection decision must state its grounds")
    return None


def repair_waiting_ends(
    rows: Sequence[Deduction], *, rectified_on: date, applied_on: date, policy: Policy
) -> date:
    """The first day a repair may be applied for: the waiting period after rectification
    and after the latest violation on file (voided rows were never violations)."""
    violations = [
        r.effective_from
        for r in rows
        if r.state is not RowState.VOIDED and r.effective_from <= applied_on
    ]
    start = max([rectified_on, *violations])
    return add_months(start, policy.repair_waiting_months)


def check_repair_application(
    rows: Sequence[Deduction],
    tree: IndicatorTree,
    deduction_id: str,
    *,
    rectified_on: date,
    applied_on: date,
    policies: Sequence[Policy],
) -> Refusal | None:
    """An active deduction, rectified, after the waiting period of the policy then in force."""
    target = next((r for r in rows if r.deduction_id == deduction_id), None)
    if target is None:
        return Refusal("unknown_deduction", f"no deduction {deduction_id} in this file")
    if tree.rule(target.indicator_code).kind is not Kind.DEDUCTION:
        return Refusal("not_a_deduction", f"{deduction_id} is a bonus, not a deduction")
    if target.state is not RowState.ACTIVE:
        return Refusal("not_active", f"deduction {deduction_id} is {target.state}")
    if rectified_on > applied_on:
        return Refusal("not_rectified", "rectification must be complete before applying")
    deductions = [r for r in rows if tree.rule(r.indicator_code).kind is Kind.DEDUCTION]
    policy = policy_for(applied_on, policies)
    opens = repair_waiting_ends(
        deductions, rectified_on=rectified_on, applied_on=applied_on, policy=policy
    )
    if applied_on < opens:
        return Refusal(
            "waiting_period",
            f"policy {policy.version} requires {policy.repair_waiting_months} months without a"
            f" new violation: apply on or after {opens}",
        )
    return None


def repair_review_due(
    applied_on: date, policies: Sequence[Policy], calendar: WorkingCalendar
) -> date:
    """The day by which the reviewer must decide a repair application."""
    policy = policy_for(applied_on, policies)
    return calendar.add_working_days(applied_on, policy.repair_review_working_days)


def check_second_approver(first: str, second: str | None) -> Refusal | None:
    """Four-eyes: a second, different person must approve (ids compared case-insensitively)."""
    if second is None or not second.strip():
        return Refusal("second_approver_required", "a second approver is required")
    if second.strip().casefold() == first.strip().casefold():
        return Refusal("same_approver", "the second approver must be a different person")
    return None


def check_repair_decision(decision: RepairDecision) -> Refusal | None:
    """Approving a repair lifts a sanction, so it needs four eyes; refusing it does not."""
    if not decision.approved:
        return None
    return check_second_approver(decision.reviewed_by, decision.approved_by)


def check_override_request(override: GradeOverride) -> Refusal | None:
    """What a request for a manual grade needs before anyone approves it: a reason and an
    actual change."""
    if not override.reason.strip():
        return Refusal("reason_required", "a grade override must state its reason")
    if override.to_grade == override.from_grade:
        return Refusal("no_change", f"the grade is already {override.to_grade}")
    return None


def check_grade_override(override: GradeOverride) -> Refusal | None:
    """A manual grade needs a reason, an actual change and a second approver."""
    return check_override_request(override) or check_second_approver(
        override.requested_by, override.approved_by
    )
