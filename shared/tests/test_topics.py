"""Topic names and the registry that binds each topic to its payload model and key.

The platform creates topics from `ALL_TOPICS` and consumers validate through `REGISTRY`; if
the two drift apart, a topic exists that nobody can decode, or an event has nowhere to go.
"""

from __future__ import annotations

import re
import typing
from datetime import UTC, datetime

import pytest
from yibao.events import REGISTRY, EventSpec, Payload, spec_for, topics
from yibao.events.settlement import SettlementDecided
from yibao.events.topics import ALL_TOPICS, all_topics_with_dlq, dlq_topic

TOPIC_NAME = re.compile(r"^[a-z]+(\.[a-z-]+)+\.v\d+$")
SPECS = sorted(REGISTRY.values(), key=lambda s: s.topic)


def _id(spec: EventSpec) -> str:
    return spec.topic


@pytest.mark.parametrize("topic", ALL_TOPICS)
def test_topic_names_follow_domain_event_major(topic: str) -> None:
    """`<domain>.<event>.v<major>`: the major version is in the name so v2 can run beside v1."""
    assert TOPIC_NAME.fullmatch(topic)


@pytest.mark.parametrize(
    "bad",
    ["Settlement.requested.v1", "settlement.requested", "settlement_requested.v1", "x.v1"],
)
def test_the_naming_rule_itself_rejects_bad_names(bad: str) -> None:
    """The pattern above really constrains something (a pattern matching all is no check)."""
    assert not TOPIC_NAME.fullmatch(bad)


def test_the_dead_letter_topic_sits_beside_its_topic() -> None:
    """An operator finds the DLQ of `x` at `x.dlq`, with no lookup table."""
    assert dlq_topic(topics.SETTLEMENT_REQUESTED) == "settlement.requested.v1.dlq"


def test_all_topics_with_dlq_lists_each_topic_and_its_dlq_once() -> None:
    """Start-up creates exactly these: every topic, every DLQ, no duplicates."""
    created = all_topics_with_dlq()
    assert len(created) == len(set(created)) == 2 * len(ALL_TOPICS)
    assert set(created) == set(ALL_TOPICS) | {dlq_topic(t) for t in ALL_TOPICS}


def test_no_dlq_name_collides_with_a_topic() -> None:
    """A DLQ name that is also a topic name would mix poison with live events."""
    assert not {dlq_topic(t) for t in ALL_TOPICS} & set(ALL_TOPICS)


def test_all_topics_and_the_registry_agree() -> None:
    """Every created topic can be decoded, and every registered topic is created."""
    assert set(ALL_TOPICS) == set(REGISTRY)
    assert len(ALL_TOPICS) == len(set(ALL_TOPICS))


@pytest.mark.parametrize("spec", SPECS, ids=_id)
def test_the_registry_is_keyed_by_each_specs_own_topic(spec: EventSpec) -> None:
    """A spec filed under another topic would validate events against the wrong model."""
    assert REGISTRY[spec.topic] is spec


def test_each_model_belongs_to_exactly_one_topic() -> None:
    """`spec_for` maps a payload back to its topic; a shared model would make that ambiguous."""
    models = [spec.model for spec in SPECS]
    assert len(models) == len(set(models))


@pytest.mark.parametrize("spec", SPECS, ids=_id)
def test_payload_models_are_frozen_payloads(spec: EventSpec) -> None:
    """Events are facts: immutable, and tolerant of fields added later (extra=ignore)."""
    assert issubclass(spec.model, Payload)
    assert spec.model.model_config.get("frozen") is True
    assert spec.model.model_config.get("extra") == "ignore"


@pytest.mark.parametrize("spec", SPECS, ids=_id)
def test_the_key_field_is_a_required_string_of_the_model(spec: EventSpec) -> None:
    """The partition key must exist and never be None, or one entity's events lose order."""
    field = spec.model.model_fields.get(spec.key_field)
    assert field is not None, f"{spec.model.__name__} has no field {spec.key_field!r}"
    assert field.is_required()
    assert field.annotation is str


@pytest.mark.parametrize("spec", SPECS, ids=_id)
def test_models_name_the_time_the_fact_happened(spec: EventSpec) -> None:
    """Each event states when the fact happened (`…_at`), independent of when it was sent."""
    hints = typing.get_type_hints(spec.model)
    times = [
        name
        for name, info in spec.model.model_fields.items()
        if name.endswith("_at") and info.is_required() and hints[name] is datetime
    ]
    assert times, f"{spec.model.__name__} has no required *_at datetime"


def test_spec_for_and_key_of_route_a_payload() -> None:
    """The outbox finds topic and key from the payload alone."""
    decided = SettlementDecided(
        settlement_id="S-9",
        fixmedins_code="P15030200007",
        psn_key="a" * 32,
        status="approved",
        decided_at=datetime(2026, 11, 23, tzinfo=UTC),
    )
    spec = spec_for(decided)
    assert spec.topic == topics.SETTLEMENT_DECIDED
    assert spec.key_of(decided) == "S-9"


def test_spec_for_refuses_an_unregistered_model() -> None:
    """Publishing a model nobody registered is a programming error, caught at once."""

    class Stray(Payload):
        x: int

    with pytest.raises(KeyError):
        spec_for(Stray(x=1))
