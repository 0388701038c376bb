"""How events from other services become findings: which event type, and which source key.

The source key (`alert:<alert_id>`, `feedback:<item_id>`, `drg-quality:<code>:<month>`) is
the deduction's identity: a redelivered or re-emitted event maps to the same key and the
ledger's unique source turns it into a no-op; a subject can also object to a finding by
this key before credit has seen it (the objection waits for its deduction).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from yibao.calendar import bureau_date, bureau_period
from yibao.events import DrgSettled, FeedbackOverdue, TracecodeAlerted


@dataclass(frozen=True, slots=True)
class Finding:
    """One fact that may deduct from (or add to) a subject's score."""

    subject_id: str
    event_type: str
    source_ref: str
    decided_on: date
    evidence: dict[str, object]
    indicator_code: str | None = None


def alert_finding(event: TracecodeAlerted) -> Finding | None:
    """A confirmed alert deducts under the indicator of its rule; a suspicion does not."""
    if not event.confirmed:
        return None
    return Finding(
        subject_id=event.fixmedins_code,
        event_type=f"tracecode_alert:{event.rule}",
        source_ref=f"alert:{event.alert_id}",
        decided_on=bureau_date(event.occurred_at),
        evidence={"alert_id": event.alert_id, "rule": event.rule, **event.evidence},
    )


UNANSWERED = "open"
"""A feedback item still `open` at its due date was never answered (010302); an item
overdue in any later status (answered, rectification, re-check) was not rectified (010301)."""


def feedback_finding(event: FeedbackOverdue) -> Finding:
    """An overdue feedback item: one deduction per item, however often it escalates."""
    event_type = (
        "notice_feedback_overdue" if event.status == UNANSWERED else "overdue_rectification"
    )
    return Finding(
        subject_id=event.fixmedins_code,
        event_type=event_type,
        source_ref=f"feedback:{event.item_id}",
        decided_on=bureau_date(event.escalated_at),
        evidence={
            "item_id": event.item_id,
            "notice_id": event.notice_id,
            "period": event.period,
            "status": event.status,
            "due_date": event.due_date.isoformat(),
            "overdue_days": event.overdue_days,
        },
    )


def drg_quality_issue(event: DrgSettled) -> str | None:
    """What is wrong with a case's data, if anything a front page must not get wrong."""
    if event.excluded:
        return None
    if not event.grouped:
        return "ungrouped"  # 未入组: usually a principal diagnosis or procedure coding error
    if event.drg_code is None:
        return "grouped_without_code"
    if event.weight is None or event.weight <= 0:
        return "missing_weight"
    if event.los_days < 0:
        return "negative_length_of_stay"
    if event.fund_paid > event.total_cost or event.total_cost < Decimal(0):
        return "fund_paid_exceeds_cost"
    if event.discharge_date > bureau_date(event.settled_at):
        return "discharged_after_settlement"
    return None


def drg_finding(event: DrgSettled, issue: str) -> Finding:
    """One data-quality finding per institution and month: the first faulty case opens it,
    later ones join the subject's file without deducting again (the indicator is capped
    per cycle, and a hundred faulty cases are one quality problem, not a hundred)."""
    period = bureau_period(event.settled_at)
    return Finding(
        subject_id=event.fixmedins_code,
        event_type="drg_data_quality",
        source_ref=f"drg-quality:{event.fixmedins_code}:{period}",
        decided_on=bureau_date(event.settled_at),
        evidence={
            "period": period,
            "first_case": event.drg_settlement_id,
            "issue": issue,
            "drg_code": event.drg_code,
        },
    )
