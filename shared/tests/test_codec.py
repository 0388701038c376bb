"""Decoding Kafka records: a valid record becomes an envelope, anything else is poison.

The consumer sends a `PoisonMessage` straight to the DLQ with its `reason` in a header, so the
reason must name the actual fault: an operator triages the DLQ by it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from yibao.bus.codec import PoisonMessage, decode
from yibao.events import Envelope, topics
from yibao.events.settlement import SettlementLine, SettlementRequested

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
EVENT_ID = "0193a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b"
Headers = list[tuple[str, bytes]]


def _sale() -> SettlementRequested:
    return SettlementRequested(
        settlement_id="S-1",
        fixmedins_code="P15030200007",
        psn_key="a" * 32,
        setl_time=T0,
        lines=[
            SettlementLine(
                med_list_codg="XA01ABA014A001010101445",
                sel_retn_cnt=Decimal("2"),
                trace_codes=["81234567890123456789"],
            )
        ],
        requested_at=T0,
    )


def _envelope() -> Envelope:
    return Envelope(
        type=topics.SETTLEMENT_REQUESTED,
        source="settlement-ingest",
        subject="S-1",
        data=_sale(),
        id=EVENT_ID,
        time=T0,
        correlation_id="req-1",
        causation_id="evt-0",
    )


def _record() -> tuple[bytes, Headers]:
    envelope = _envelope()
    return envelope.data.model_dump_json().encode(), envelope.headers()


def _replace(headers: Headers, name: str, value: bytes | None) -> Headers:
    """Headers with `name` set to `value` (or removed when None)."""
    kept = [(k, v) for k, v in headers if k != name]
    return kept if value is None else [*kept, (name, value)]


def _poison(topic: str, value: bytes | None, headers: Any) -> PoisonMessage:
    with pytest.raises(PoisonMessage) as caught:
        decode(topic, value, headers)
    return caught.value


def _sale_json(**changes: Any) -> bytes:
    body = json.loads(_sale().model_dump_json())
    body.update(changes)
    return json.dumps(body).encode()


# --- the happy path -----------------------------------------------------------------------


def test_a_valid_record_decodes_to_its_topic_model() -> None:
    """The registry picks the model by topic, so handlers receive typed payloads."""
    value, headers = _record()
    envelope = decode(topics.SETTLEMENT_REQUESTED, value, headers)
    assert isinstance(envelope.data, SettlementRequested)
    assert envelope.data == _sale()


def test_decoding_what_the_outbox_sends_gives_back_the_same_envelope() -> None:
    """Every attribute survives the trip through Kafka: id, source, subject, time, ids."""
    value, headers = _record()
    assert decode(topics.SETTLEMENT_REQUESTED, value, headers) == _envelope()


def test_headers_may_arrive_as_a_tuple() -> None:
    """aiokafka hands records' headers over as a tuple of pairs, not a list."""
    value, headers = _record()
    envelope = decode(topics.SETTLEMENT_REQUESTED, value, tuple(headers))
    assert envelope.id == EVENT_ID


def test_unknown_payload_fields_are_ignored() -> None:
    """Additive evolution: a newer producer's extra field must not poison an older consumer."""
    _, headers = _record()
    envelope = decode(topics.SETTLEMENT_REQUESTED, _sale_json(added_in_v1_7="new"), headers)
    assert envelope.data == _sale()


def test_a_missing_ce_time_falls_back_to_now() -> None:
    """`ce_time` is optional in practice; the event still decodes with an aware time."""
    value, headers = _record()
    before = datetime.now(UTC)
    envelope = decode(topics.SETTLEMENT_REQUESTED, value, _replace(headers, "ce_time", None))
    assert before <= envelope.time <= datetime.now(UTC)


def test_absent_correlation_headers_decode_as_none() -> None:
    """A producer that sets neither id yields None, not an empty string."""
    value, headers = _record()
    headers = _replace(_replace(headers, "ce_correlationid", None), "ce_causationid", None)
    envelope = decode(topics.SETTLEMENT_REQUESTED, value, headers)
    assert (envelope.correlation_id, envelope.causation_id) == (None, None)


# --- poison ---------------------------------------------------------------------------------


def test_an_unregistered_topic_is_poison() -> None:
    """A record on a topic without a model can never be validated."""
    value, headers = _record()
    poison = _poison("settlement.requested.v9", value, headers)
    assert poison.reason == "unknown_topic"
    assert "settlement.requested.v9" in poison.detail


@pytest.mark.parametrize("ce_id", [None, b""], ids=["absent", "empty"])
def test_a_record_without_ce_id_is_poison(ce_id: bytes | None) -> None:
    """Without an id the consumer cannot dedupe, so it must not handle the event."""
    value, headers = _record()
    poison = _poison(topics.SETTLEMENT_REQUESTED, value, _replace(headers, "ce_id", ce_id))
    assert poison.reason == "missing_header"
    assert "ce_id" in poison.detail


def test_no_headers_at_all_is_poison() -> None:
    """A record produced by a plain client (kcat without -H) has no headers at all."""
    value, _ = _record()
    assert _poison(topics.SETTLEMENT_REQUESTED, value, None).reason == "missing_header"


@pytest.mark.parametrize(
    "ce_type",
    [b"cn.yibao.settlement.decided.v1", b"settlement.requested.v2", None],
    ids=["other-topic", "other-version", "absent"],
)
def test_a_type_that_does_not_belong_on_the_topic_is_poison(ce_type: bytes | None) -> None:
    """Validating a decision against the request model would give nonsense, not an error."""
    value, headers = _record()
    poison = _poison(topics.SETTLEMENT_REQUESTED, value, _replace(headers, "ce_type", ce_type))
    assert poison.reason == "wrong_type"
    assert topics.SETTLEMENT_REQUESTED in poison.detail


def test_a_record_without_value_is_poison() -> None:
    """A tombstone (null value) carries no event; it is not a crash either."""
    _, headers = _record()
    poison = _poison(topics.SETTLEMENT_REQUESTED, None, headers)
    assert poison.reason == "empty_value"


def test_malformed_json_is_an_invalid_payload() -> None:
    """Bytes that are not JSON are poison; retrying could never fix them."""
    _, headers = _record()
    poison = _poison(topics.SETTLEMENT_REQUESTED, b'{"settlement_id": "S-1",', headers)
    assert poison.reason == "invalid_payload"
    assert "json" in poison.detail.lower()


def test_a_missing_required_field_is_named_in_the_detail() -> None:
    """The DLQ detail names the field, so the producer's bug is found without replaying."""
    body = json.loads(_sale().model_dump_json())
    del body["psn_key"]
    _, headers = _record()
    poison = _poison(topics.SETTLEMENT_REQUESTED, json.dumps(body).encode(), headers)
    assert poison.reason == "invalid_payload"
    assert "psn_key" in poison.detail


def test_a_nested_schema_violation_names_its_path() -> None:
    """A bad line names the line and field (`lines.0.sel_retn_cnt`), not just the model."""
    _, headers = _record()
    value = _sale_json(lines=[{"med_list_codg": "X", "sel_retn_cnt": "two"}])
    poison = _poison(topics.SETTLEMENT_REQUESTED, value, headers)
    assert poison.reason == "invalid_payload"
    assert "lines.0.sel_retn_cnt" in poison.detail


def test_a_literal_outside_its_choices_is_an_invalid_payload() -> None:
    """`trdn_flag` is 0 or 1; any other value is a contract violation, not a new meaning."""
    _, headers = _record()
    value = _sale_json(lines=[{"med_list_codg": "X", "sel_retn_cnt": "1", "trdn_flag": 2}])
    poison = _poison(topics.SETTLEMENT_REQUESTED, value, headers)
    assert poison.reason == "invalid_payload"
    assert "trdn_flag" in poison.detail


def test_the_detail_stays_bounded_for_huge_payloads() -> None:
    """The detail goes into a Kafka header; a thousand bad lines must not blow its size."""
    _, headers = _record()
    lines = [{"med_list_codg": "X" * 200, "sel_retn_cnt": "bad"} for _ in range(1000)]
    poison = _poison(topics.SETTLEMENT_REQUESTED, _sale_json(lines=lines), headers)
    assert poison.reason == "invalid_payload"
    assert len(poison.detail) <= 900


def test_a_ce_time_that_is_not_iso_8601_is_an_invalid_header() -> None:
    """A garbled time header is poison with its own reason, not a crash in the consumer."""
    value, headers = _record()
    poison = _poison(
        topics.SETTLEMENT_REQUESTED, value, _replace(headers, "ce_time", b"yesterday noon")
    )
    assert poison.reason == "invalid_header"
    assert "ce_time" in poison.detail


def test_a_ce_time_without_offset_is_an_invalid_header() -> None:
    """CloudEvents `time` is RFC 3339, which requires an offset; a naive time is ambiguous."""
    value, headers = _record()
    poison = _poison(
        topics.SETTLEMENT_REQUESTED, value, _replace(headers, "ce_time", b"2026-11-23T10:00:00")
    )
    assert poison.reason == "invalid_header"


def test_poison_message_text_carries_reason_and_detail() -> None:
    """`str(poison)` is what logs show; it must say both why and where."""
    poison = PoisonMessage("wrong_type", "ce_type 'x' does not belong on 'y'")
    assert str(poison) == "wrong_type: ce_type 'x' does not belong on 'y'"
