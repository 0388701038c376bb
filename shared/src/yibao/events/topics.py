"""Topic names (`<domain>.<event>.v<major>`) and the dead-letter naming rule."""

from __future__ import annotations

INSTITUTION_REGISTERED = "institution.registered.v1"
SETTLEMENT_REQUESTED = "settlement.requested.v1"
SETTLEMENT_DECIDED = "settlement.decided.v1"
SETTLEMENT_REFUNDED = "settlement.refunded.v1"
INVENTORY_MOVED = "inventory.moved.v1"
DRG_SETTLED = "drg.settled.v1"
TRACECODE_ALERTED = "tracecode.alerted.v1"
CREDIT_GRADE_CHANGED = "credit.grade-changed.v1"
POPULATION_RECORD_RECEIVED = "population.record-received.v1"
ENROLLMENT_STATUS_CHANGED = "enrollment.status-changed.v1"
NOTICE_DELIVERED = "notice.delivered.v1"
NOTICE_FAILED = "notice.failed.v1"
FEEDBACK_OVERDUE = "feedback.overdue.v1"

ALL_TOPICS: tuple[str, ...] = (
    INSTITUTION_REGISTERED,
    SETTLEMENT_REQUESTED,
    SETTLEMENT_DECIDED,
    SETTLEMENT_REFUNDED,
    INVENTORY_MOVED,
    DRG_SETTLED,
    TRACECODE_ALERTED,
    CREDIT_GRADE_CHANGED,
    POPULATION_RECORD_RECEIVED,
    ENROLLMENT_STATUS_CHANGED,
    NOTICE_DELIVERED,
    NOTICE_FAILED,
    FEEDBACK_OVERDUE,
)


def dlq_topic(topic: str) -> str:
    """Each consumed topic has exactly one dead-letter topic beside it."""
    return f"{topic}.dlq"


def all_topics_with_dlq() -> list[str]:
    """Every topic the platform creates at start-up, dead-letter topics included."""
    return [t for topic in ALL_TOPICS for t in (topic, dlq_topic(topic))]
