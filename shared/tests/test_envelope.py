"""The envelope: UUIDv7 event ids and the CloudEvents 1.0 Kafka binary-mode headers.

Consumers dedupe on `ce_id`, route on `ce_type` and trace on the correlation headers without
parsing the body, so these attributes are part of the event contract as much as the payload.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import yibao.events.envelope as envelope_module
from yibao.events import REGISTRY, Envelope, topics
from yibao.events.envelope import ce_headers, event_type_from_ce, header_map, new_event_id
from yibao.events.institution import InstitutionRegistered

T0 = datetime(2026, 11, 23, 2, 0, 0, 123000, tzinfo=UTC)


def _uuid7_millis(event_id: str) -> int:
    """The unix-epoch milliseconds a UUIDv7 carries in its top 48 bits."""
    return uuid.UUID(event_id).int >> 80


def _freeze_clock(monkeypatch: pytest.MonkeyPatch, at: datetime) -> None:
    """Pin the envelope module's clock (only there: the event loop keeps the real one)."""
    monkeypatch.setattr(envelope_module, "datetime", SimpleNamespace(now=lambda tz: at))


def _envelope(*, correlation_id: str | None = None, causation_id: str | None = None) -> Envelope:
    payload = InstitutionRegistered(
        fixmedins_code="H15030200001",
        name="包头市第一医院",
        kind="hospital",
        level="tertiary",
        admdvs="150302",
        api_key_hash="0" * 64,
        registered_at=T0,
    )
    return Envelope(
        type=topics.INSTITUTION_REGISTERED,
        source="settlement-ingest",
        subject="H15030200001",
        data=payload,
        id="0193a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b",
        time=T0,
        correlation_id=correlation_id,
        causation_id=causation_id,
    )


# --- new_event_id -------------------------------------------------------------------------


def test_event_id_is_a_rfc_4122_uuid_version_7() -> None:
    """Consumers and the outbox treat ids as UUIDv7; a wrong version/variant breaks sorting."""
    parsed = uuid.UUID(new_event_id())
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122


def test_event_id_is_canonical_lowercase_text() -> None:
    """The id is stored and compared as text, so it must be the canonical 36-char form."""
    event_id = new_event_id()
    assert event_id == str(uuid.UUID(event_id))


def test_event_id_embeds_the_current_unix_milliseconds() -> None:
    """The leading 48 bits are the creation time, which is what makes ids time-ordered."""
    before = int(datetime.now(UTC).timestamp() * 1000)
    millis = _uuid7_millis(new_event_id())
    after = int(datetime.now(UTC).timestamp() * 1000)
    assert before <= millis <= after


def test_event_ids_sort_by_creation_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ids minted in later milliseconds sort later, as text and as integers (outbox order)."""
    minted: list[str] = []
    for step in range(50):
        _freeze_clock(monkeypatch, T0 + timedelta(milliseconds=step))
        minted.append(new_event_id())
    assert sorted(minted) == minted
    assert sorted(minted, key=lambda i: uuid.UUID(i).int) == minted
    assert [_uuid7_millis(i) for i in minted] == [
        int(T0.timestamp() * 1000) + step for step in range(50)
    ]


def test_event_ids_within_one_millisecond_are_still_unique(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The random tail keeps ids unique when a batch is minted inside one millisecond."""
    _freeze_clock(monkeypatch, T0)
    minted = {new_event_id() for _ in range(2000)}
    assert len(minted) == 2000
    assert {_uuid7_millis(i) for i in minted} == {int(T0.timestamp() * 1000)}


# --- headers --------------------------------------------------------------------------------


def test_headers_carry_the_cloudevents_binary_mode_attributes() -> None:
    """Every attribute a consumer routes or dedupes on is present, with the spec's names."""
    headers = dict(_envelope().headers())
    assert headers == {
        "ce_specversion": b"1.0",
        "ce_id": b"0193a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b",
        "ce_source": b"settlement-ingest",
        "ce_type": b"cn.yibao.institution.registered.v1",
        "ce_time": T0.isoformat().encode(),
        "ce_subject": b"H15030200001",
        "content-type": b"application/json",
    }


def test_header_values_are_bytes_and_names_unique() -> None:
    """aiokafka sends `list[tuple[str, bytes]]`; a duplicated name would be ambiguous."""
    headers = _envelope(correlation_id="c-1", causation_id="e-0").headers()
    assert all(isinstance(k, str) and isinstance(v, bytes) for k, v in headers)
    assert len({k for k, _ in headers}) == len(headers)


def test_ce_time_is_iso_8601_with_offset_and_round_trips() -> None:
    """`ce_time` must be RFC 3339 (an offset included) and decode to the same instant."""
    raw = dict(_envelope().headers())["ce_time"].decode()
    parsed = datetime.fromisoformat(raw)
    assert parsed.utcoffset() is not None
    assert parsed == T0


@pytest.mark.parametrize("topic", sorted(REGISTRY))
def test_ce_type_is_the_reverse_dns_prefixed_topic(topic: str) -> None:
    """`ce_type` is `cn.yibao.<topic>` and strips back to the topic a consumer validates on."""
    headers = header_map(
        ce_headers(
            event_id="e",
            source="s",
            topic=topic,
            time=T0,
            subject="k",
            correlation_id=None,
            causation_id=None,
        )
    )
    assert headers["ce_type"] == f"cn.yibao.{topic}"
    assert event_type_from_ce(headers["ce_type"]) == topic


def test_correlation_and_causation_are_absent_when_unset() -> None:
    """An unset id is left out rather than sent empty, so consumers see None, not ''."""
    names = {k for k, _ in _envelope().headers()}
    assert "ce_correlationid" not in names
    assert "ce_causationid" not in names


def test_correlation_and_causation_travel_when_set() -> None:
    """They let an operator follow one sale across services and see which event caused which."""
    headers = dict(_envelope(correlation_id="req-42", causation_id="evt-41").headers())
    assert headers["ce_correlationid"] == b"req-42"
    assert headers["ce_causationid"] == b"evt-41"


def test_envelope_headers_equal_ce_headers_of_its_attributes() -> None:
    """The outbox relay builds headers from stored columns with `ce_headers`; both must agree."""
    envelope = _envelope(correlation_id="req-42", causation_id="evt-41")
    assert envelope.headers() == ce_headers(
        event_id=envelope.id,
        source=envelope.source,
        topic=envelope.type,
        time=envelope.time,
        subject=envelope.subject,
        correlation_id=envelope.correlation_id,
        causation_id=envelope.causation_id,
    )


def test_header_map_keeps_undecodable_bytes_visible() -> None:
    """A corrupt header must show up (as U+FFFD) in the DLQ, not vanish or crash decoding."""
    assert header_map([("ce_id", b"ab\xffcd")]) == {"ce_id": "ab\ufffdcd"}


def test_new_envelopes_get_a_fresh_uuid7_id_and_an_aware_time() -> None:
    """Defaults give every event its own id and a UTC time, so nothing needs to be passed."""
    first, second = (
        Envelope(type="t", source="s", subject="k", data=_envelope().data) for _ in range(2)
    )
    assert first.id != second.id
    assert uuid.UUID(first.id).version == 7
    assert first.time.utcoffset() == timedelta(0)
