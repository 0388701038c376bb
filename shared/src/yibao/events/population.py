"""Population and enrollment events (一人一档)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from yibao.events.envelope import Payload

Source = Literal[
    "insurance",
    "social_security",
    "health",
    "civil_affairs",
    "public_security",
    "education",
    "military",
    "justice",
]
EnrollmentStatus = Literal[
    "insured_local", "insured_province", "insured_other_province", "uninsured"
]
NonEnrollmentReason = Literal["enlisted", "in_custody", "emigrated", "deceased", "personal"]


class PopulationRecordReceived(Payload):
    """One source department's record of a person, as received (identity fields encrypted)."""

    record_id: str
    source: Source
    certno_cipher: str | None = None
    psn_name_cipher: str | None = None
    gender: Literal["1", "2", "9"] | None = None
    birth_date: date | None = None
    hukou_admdvs: str | None = None
    record_date: date | None = None
    status: str | None = None
    status_date: date | None = None
    received_at: datetime


class EnrollmentStatusChanged(Payload):
    """A person's enrollment status or reason really changed (never on a no-op)."""

    person_id: str
    psn_keys: list[str] = Field(default_factory=list)
    status: EnrollmentStatus
    previous_status: EnrollmentStatus | None = None
    reason: NonEnrollmentReason | None = None
    deceased: bool = False
    hukou_admdvs: str | None = None
    target_groups: list[str] = Field(default_factory=list)
    changed_at: datetime
