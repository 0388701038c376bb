"""Point-to-point delivery outcomes, for audit."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from yibao.events.envelope import Payload

NoticeKind = Literal["monthly", "quarterly", "annual", "alert"]


class NoticeDelivered(Payload):
    """A notice reached its recipient's endpoint (a 2xx answer)."""

    notice_id: str
    fixmedins_code: str
    kind: NoticeKind
    period: str
    attempts: int
    status_code: int
    delivered_at: datetime


class NoticeFailed(Payload):
    """A notice's delivery gave up (410, disabled endpoint or retries exhausted)."""

    notice_id: str
    fixmedins_code: str
    kind: NoticeKind
    period: str
    attempts: int
    status_code: int | None = None
    reason: str
    failed_at: datetime
