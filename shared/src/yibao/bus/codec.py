"""Turning Kafka records into validated envelopes, or a precise reason why not."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from yibao.events import REGISTRY, Envelope
from yibao.events.envelope import event_type_from_ce, header_map


class PoisonMessage(Exception):
    """A record that can never be handled as it is: it goes to the DLQ at once."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def decode(topic: str, value: bytes | None, headers: Any) -> Envelope:
    """Validate a record against its topic's model; raise `PoisonMessage` with the reason."""
    attrs = header_map(list(headers or ()))
    spec = REGISTRY.get(topic)
    if spec is None:
        raise PoisonMessage("unknown_topic", f"no event model is registered for {topic!r}")
    event_id = attrs.get("ce_id")
    if not event_id:
        raise PoisonMessage("missing_header", "the ce_id header is missing")
    ce_type = event_type_from_ce(attrs.get("ce_type", ""))
    if ce_type != spec.topic:
        raise PoisonMessage("wrong_type", f"ce_type {ce_type!r} does not belong on {topic!r}")
    if value is None:
        raise PoisonMessage("empty_value", "the record has no value")
    try:
        payload = spec.model.model_validate_json(value)
    except ValidationError as exc:
        raise PoisonMessage("invalid_payload", _summarise(exc)) from exc
    try:
        time = datetime.fromisoformat(attrs["ce_time"]) if "ce_time" in attrs else None
    except ValueError as exc:
        raise PoisonMessage("invalid_header", f"ce_time is not RFC 3339: {exc}") from exc
    if time is not None and time.utcoffset() is None:
        raise PoisonMessage("invalid_header", "ce_time has no UTC offset (RFC 3339 needs one)")
    return Envelope(
        id=event_id,
        type=spec.topic,
        source=attrs.get("ce_source", ""),
        subject=attrs.get("ce_subject", ""),
        data=payload,
        time=time or datetime.now(UTC),
        correlation_id=attrs.get("ce_correlationid"),
        causation_id=attrs.get("ce_causationid"),
    )


def _summarise(exc: ValidationError) -> str:
    parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]]
    return "; ".join(parts)[:900]
