"""The event envelope: CloudEvents 1.0 attributes carried as Kafka headers (binary mode).

The payload travels as plain JSON in the record value so any consumer can read it, while the
routing attributes sit in headers so a consumer (or an operator with kcat) can route, trace and
dedupe without parsing the body.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
TYPE_PREFIX = "cn.yibao."


class Payload(BaseModel):
    """Base of every event payload: immutable, and additive-only within a major version."""

    model_config = ConfigDict(frozen=True, extra="ignore")


def new_event_id() -> str:
    """Return a UUIDv7: time-ordered, so outbox rows, logs and ids sort by creation."""
    ms = int(datetime.now(UTC).timestamp() * 1000)
    rand = uuid.uuid4().int & ((1 << 74) - 1)
    value = (
        (ms << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) | (rand & ((1 << 62) - 1))
    )
    return str(uuid.UUID(int=value))


@dataclass(frozen=True, slots=True)
class Envelope:
    """One event as it travels: attributes + the validated payload."""

    type: str
    source: str
    subject: str
    data: Payload
    id: str = field(default_factory=new_event_id)
    time: datetime = field(default_factory=lambda: datetime.now(UTC))
    correlation_id: str | None = None
    causation_id: str | None = None

    def headers(self) -> list[tuple[str, bytes]]:
        """Render the CloudEvents Kafka binding headers (`ce_` prefix)."""
        return ce_headers(
            event_id=self.id,
            source=self.source,
            topic=self.type,
            time=self.time,
            subject=self.subject,
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
        )


def ce_headers(
    *,
    event_id: str,
    source: str,
    topic: str,
    time: datetime,
    subject: str,
    correlation_id: str | None,
    causation_id: str | None,
) -> list[tuple[str, bytes]]:
    """CloudEvents 1.0 Kafka binary-mode headers, plus correlation and causation ids."""
    pairs: list[tuple[str, str]] = [
        ("ce_specversion", SPEC_VERSION),
        ("ce_id", event_id),
        ("ce_source", source),
        ("ce_type", TYPE_PREFIX + topic),
        ("ce_time", time.isoformat()),
        ("ce_subject", subject),
        ("content-type", CONTENT_TYPE),
    ]
    if correlation_id:
        pairs.append(("ce_correlationid", correlation_id))
    if causation_id:
        pairs.append(("ce_causationid", causation_id))
    return [(k, v.encode()) for k, v in pairs]


def header_map(headers: list[tuple[str, bytes]] | tuple[tuple[str, bytes], ...]) -> dict[str, str]:
    """Decode Kafka headers into a str map; a bad byte sequence is kept visible, not dropped."""
    return {k: v.decode("utf-8", errors="replace") for k, v in headers}


def event_type_from_ce(ce_type: str) -> str:
    """Strip the reverse-DNS prefix: `cn.yibao.settlement.requested.v1` -> the topic-style type."""
    return ce_type.removeprefix(TYPE_PREFIX)
