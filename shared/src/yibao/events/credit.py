"""Credit events: grades, lists, tiers and practitioner qualification."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field

from yibao.events.envelope import Payload

SubjectType = Literal["hospital", "pharmacy", "doctor", "pharmacist", "nurse", "other"]
Grade = Literal["A", "B", "C", "D"]


class CreditGradeChanged(Payload):
    """A subject's grade, list membership, tier or qualification actually changed."""

    subject_id: str
    subject_type: SubjectType
    score: Decimal | None = None
    grade: Grade | None = None
    previous_grade: Grade | None = None
    lists: list[Literal["red", "black", "key_supervision"]] = Field(default_factory=list)
    tier: str | None = None
    practitioner_status: Literal["active", "suspended", "terminated"] | None = None
    suspended_until: date | None = None
    changed_at: datetime
