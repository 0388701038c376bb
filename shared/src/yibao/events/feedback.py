"""Feedback-ledger events: what the publisher tells credit about institutions' answers."""

from __future__ import annotations

from datetime import date, datetime

from yibao.events.envelope import Payload


class FeedbackOverdue(Payload):
    """A feedback item passed its due date unanswered or unrectified (it escalates).

    Credit consumes it as an overdue-rectification deduction, so `item_id` is the stable
    source of that deduction: the same item escalated twice is one deduction.
    """

    item_id: str
    notice_id: str
    fixmedins_code: str
    period: str
    status: str
    due_date: date
    overdue_days: int
    escalated_at: datetime
