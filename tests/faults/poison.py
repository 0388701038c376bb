"""Poison on every consumed topic, and where it must end up: the topic's DLQ, with a reason.

Which service consumes which topic is read from each running service's `/metrics`
(`yibao_consumer_topic_info`), so a handler added later is covered without editing a list
here.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass

import httpx
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families
from yibao.embedded.platform import Platform
from yibao.events.envelope import TYPE_PREFIX
from yibao.events.topics import dlq_topic

from tests.faults.reconcile import POISON_HEADER
from tests.kafka_topics import header, read_topic


@dataclass(frozen=True)
class Poison:
    """One bad record: what it is, where it went, and who must dead-letter it."""

    poison_id: str
    topic: str
    what: str
    consumers: frozenset[str]


async def consumed_topics(platform: Platform, http: httpx.AsyncClient) -> dict[str, set[str]]:
    """topic -> the services (consumer groups) that consume it, from their metrics."""
    consumers: dict[str, set[str]] = defaultdict(set)
    for name, service in platform.services.items():
        text = (await http.get(service.url + "/metrics")).text
        for family in text_string_to_metric_families(text):
            if family.name == "yibao_consumer_topic_info":
                for sample in family.samples:
                    if sample.value == 1:
                        consumers[sample.labels["topic"]].add(name)
    return consumers


def _bad_records(topic: str) -> list[tuple[str, bytes, list[tuple[str, bytes]]]]:
    """Three shapes of poison: not JSON, no CloudEvents id, JSON that is not the event."""
    attrs = [("ce_id", str(uuid.uuid4()).encode()), ("ce_type", (TYPE_PREFIX + topic).encode())]
    return [
        ("not_json", b"\xff\xfe not json", list(attrs)),
        ("no_ce_id", b"{}", [("ce_type", (TYPE_PREFIX + topic).encode())]),
        ("wrong_fields", b'{"unexpected": true}', list(attrs)),
    ]


async def inject(bootstrap: str, consumers: dict[str, set[str]], suffix: str) -> list[Poison]:
    """Produce the poison records on every consumed topic."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    poisons = []
    try:
        for topic, services in sorted(consumers.items()):
            for what, value, headers in _bad_records(topic):
                poison = Poison(str(uuid.uuid4()), topic, what, frozenset(services))
                await producer.send_and_wait(
                    topic + suffix,
                    value,
                    key=b"poison",
                    headers=[*headers, (POISON_HEADER, poison.poison_id.encode())],
                )
                poisons.append(poison)
    finally:
        await producer.stop()
    return poisons


async def missing_from_dlqs(bootstrap: str, poisons: list[Poison], suffix: str) -> list[str]:
    """Each poison must be in its topic's DLQ once per consuming service, with a reason."""
    seen: dict[tuple[str, str], str] = {}
    for topic in sorted({p.topic for p in poisons}):
        for record in await read_topic(bootstrap, dlq_topic(topic) + suffix):
            poison_id = header(record, POISON_HEADER)
            consumer = header(record, "yibao_dlq_consumer")
            if poison_id and consumer:
                seen[(poison_id, consumer)] = header(record, "yibao_dlq_reason") or ""
    return [
        f"{p.topic} {p.what} not dead-lettered by {service}"
        if (p.poison_id, service) not in seen
        else f"{p.topic} {p.what} dead-lettered by {service} without a reason"
        for p in poisons
        for service in sorted(p.consumers)
        if not seen.get((p.poison_id, service))
    ]
