"""Event contracts: one payload model per topic, and the registry that binds them.

A topic carries exactly one event type, so the topic name is also the event type and the
registry is the single place a consumer looks up how to validate what it received.
"""

from __future__ import annotations

from dataclasses import dataclass

from yibao.events import topics
from yibao.events.credit import CreditGradeChanged
from yibao.events.drg import DrgSettled
from yibao.events.envelope import Envelope, Payload
from yibao.events.feedback import FeedbackOverdue
from yibao.events.institution import InstitutionRegistered
from yibao.events.inventory import InventoryMoved
from yibao.events.notice import NoticeDelivered, NoticeFailed
from yibao.events.population import EnrollmentStatusChanged, PopulationRecordReceived
from yibao.events.settlement import SettlementDecided, SettlementRefunded, SettlementRequested
from yibao.events.tracecode import TracecodeAlerted


@dataclass(frozen=True, slots=True)
class EventSpec:
    """How one topic's events are validated and keyed."""

    topic: str
    model: type[Payload]
    key_field: str

    def key_of(self, payload: Payload) -> str:
        """The entity whose order matters, so all its events land on one partition."""
        return str(getattr(payload, self.key_field))


REGISTRY: dict[str, EventSpec] = {
    spec.topic: spec
    for spec in (
        EventSpec(topics.INSTITUTION_REGISTERED, InstitutionRegistered, "fixmedins_code"),
        EventSpec(topics.SETTLEMENT_REQUESTED, SettlementRequested, "settlement_id"),
        EventSpec(topics.SETTLEMENT_DECIDED, SettlementDecided, "settlement_id"),
        EventSpec(topics.SETTLEMENT_REFUNDED, SettlementRefunded, "settlement_id"),
        EventSpec(topics.INVENTORY_MOVED, InventoryMoved, "fixmedins_code"),
        EventSpec(topics.DRG_SETTLED, DrgSettled, "fixmedins_code"),
        EventSpec(topics.TRACECODE_ALERTED, TracecodeAlerted, "fixmedins_code"),
        EventSpec(topics.CREDIT_GRADE_CHANGED, CreditGradeChanged, "subject_id"),
        EventSpec(topics.POPULATION_RECORD_RECEIVED, PopulationRecordReceived, "record_id"),
        EventSpec(topics.ENROLLMENT_STATUS_CHANGED, EnrollmentStatusChanged, "person_id"),
        EventSpec(topics.NOTICE_DELIVERED, NoticeDelivered, "notice_id"),
        EventSpec(topics.NOTICE_FAILED, NoticeFailed, "notice_id"),
        EventSpec(topics.FEEDBACK_OVERDUE, FeedbackOverdue, "fixmedins_code"),
    )
}

_BY_MODEL: dict[type[Payload], EventSpec] = {spec.model: spec for spec in REGISTRY.values()}


def spec_for(payload: Payload) -> EventSpec:
    """Find the topic a payload belongs to; an unregistered model is a programming error."""
    return _BY_MODEL[type(payload)]


__all__ = [
    "REGISTRY",
    "CreditGradeChanged",
    "DrgSettled",
    "EnrollmentStatusChanged",
    "Envelope",
    "EventSpec",
    "FeedbackOverdue",
    "InstitutionRegistered",
    "InventoryMoved",
    "NoticeDelivered",
    "NoticeFailed",
    "Payload",
    "PopulationRecordReceived",
    "SettlementDecided",
    "SettlementRefunded",
    "SettlementRequested",
    "TracecodeAlerted",
    "spec_for",
    "topics",
]
