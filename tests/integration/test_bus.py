"""The bus against real Kafka and PostgreSQL: once-only effects through crashes and poison."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.partitioner import DefaultPartitioner
from prometheus_client import REGISTRY
from yibao.bus.consumer import Batched
from yibao.bus.offsets import OffsetCommitter
from yibao.bus.producer import MAX_REQUEST_BYTES
from yibao.db import UnitOfWork
from yibao.events import NoticeDelivered
from yibao.events.envelope import Envelope
from yibao.events.topics import dlq_topic
from yibao.outbox import OutboxRelay

from tests.conftest import Infra
from tests.integration.bus_harness import POISON_CODE, TOPIC, Bus, notice
from tests.kafka_topics import read_topic

pytestmark = pytest.mark.integration


@pytest.fixture
async def bus(infra: Infra, platform_db: str, topic_suffix: str) -> AsyncIterator[Bus]:
    harness = await Bus(
        platform_db, infra.bootstrap, topic_suffix, infra.idempotent_producer
    ).start()
    yield harness
    await harness.stop()


def _assert_once(rows: Sequence[asyncpg.Record], expected: int) -> None:
    notice_ids = [r["notice_id"] for r in rows]
    assert len(notice_ids) == expected, f"expected {expected} effects, got {len(notice_ids)}"
    assert len(set(notice_ids)) == expected, "an event was applied twice"


async def test_outbox_events_reach_the_handler_once(bus: Bus) -> None:
    bus.start_relay()
    bus.start_consumer()
    await bus.emit([notice(i) for i in range(300)])
    _assert_once(await bus.wait_for_effects(300), 300)
    assert bus.pool is not None
    assert await bus.pool.fetchval("SELECT count(*) FROM outbox") == 0


class CrashAfterPublish(OutboxRelay):
    """Publishes a batch, then dies before deleting it: the classic duplicate window."""

    crashed = False

    async def _delete(self, conn: asyncpg.Connection, ids: list[int]) -> None:
        if not CrashAfterPublish.crashed:
            CrashAfterPublish.crashed = True
            raise ConnectionResetError("relay killed between publish and delete")
        await super()._delete(conn, ids)


async def test_relay_killed_mid_batch_still_delivers_once(bus: Bus) -> None:
    await bus.emit([notice(i) for i in range(250)])
    bus.start_consumer()
    bus.start_relay(CrashAfterPublish)  # first batch is published, not deleted, then republished
    rows = await bus.wait_for_effects(250)
    assert CrashAfterPublish.crashed
    _assert_once(rows, 250)


async def test_relay_task_killed_repeatedly_loses_nothing(bus: Bus) -> None:
    bus.start_consumer()
    emitting = asyncio.create_task(bus.emit([notice(i) for i in range(600)], per_tx=20))
    for _ in range(5):
        bus.start_relay()
        await asyncio.sleep(0.15)
        await bus.kill_relay()
    await emitting
    bus.start_relay()
    _assert_once(await bus.wait_for_effects(600), 600)


async def test_consumer_killed_after_db_commit_redelivers_harmlessly(
    bus: Bus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Handled and committed to the database, but the offsets never reached Kafka."""

    async def lost(self: OffsetCommitter) -> None:
        return None

    await bus.emit([notice(i) for i in range(200)])
    bus.start_relay()
    with monkeypatch.context() as patch:
        patch.setattr(OffsetCommitter, "flush", lost)
        bus.start_consumer()
        first = await bus.wait_for_effects(200)
        await bus.kill_consumer()
    _assert_once(first, 200)
    duplicates_before = _duplicates()
    bus.start_consumer()  # same group: re-reads everything from the start, dedupes it all
    for _ in range(100):
        if _duplicates() - duplicates_before >= 200:
            break
        await asyncio.sleep(0.1)
    assert _duplicates() - duplicates_before >= 200, "the records were not redelivered"
    _assert_once(await bus.effects(), 200)
    assert bus.pool is not None
    seen = await bus.pool.fetchval("SELECT count(*) FROM processed_events")
    assert seen == 200


def _duplicates() -> float:
    value = REGISTRY.get_sample_value(
        "yibao_events_consumed_total", {"topic": TOPIC, "outcome": "duplicate"}
    )
    return value or 0.0


async def test_redelivered_event_is_a_no_op(bus: Bus) -> None:
    bus.start_consumer()
    envelope = Envelope(type=TOPIC, source="/test", subject="n-1", data=notice(1))
    assert bus.producer is not None
    for _ in range(3):  # a producer retry, a relay replay and a manual replay, say
        await bus.producer.send_and_wait(
            TOPIC + bus.suffix,
            envelope.data.model_dump_json().encode(),
            key=b"n-1",
            headers=envelope.headers(),
        )
    await bus.emit([notice(2)])
    bus.start_relay()
    rows = await bus.wait_for_effects(2)
    await asyncio.sleep(0.5)
    _assert_once(await bus.effects(), 2)
    assert len(rows) == 2


async def _dlq_records(bus: Bus, count: int) -> list[ConsumerRecord[bytes, bytes]]:
    consumer = AIOKafkaConsumer(
        dlq_topic(TOPIC) + bus.suffix,
        bootstrap_servers=bus.bootstrap,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=10,
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        deadline = asyncio.get_running_loop().time() + 20
        while len(records) < count and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for msgs in batch.values():
                records.extend(msgs)
    finally:
        await consumer.stop()
    return records


async def test_poison_messages_go_to_the_dlq_and_the_consumer_keeps_going(bus: Bus) -> None:
    assert bus.producer is not None
    topic = TOPIC + bus.suffix
    good = Envelope(type=TOPIC, source="/test", subject="x", data=notice(1))
    await bus.producer.send_and_wait(topic, b"{not json", headers=good.headers())
    await bus.producer.send_and_wait(topic, good.data.model_dump_json().encode())  # no headers
    await bus.emit([notice(2), notice(3, code=POISON_CODE), notice(4)])
    bus.start_relay()

    async def fallback(envelope: Envelope, uow: UnitOfWork) -> None:
        """What a service does for a valid event it could not handle (its own transaction)."""
        await uow.conn.execute(
            "INSERT INTO effects (event_id, notice_id) VALUES ($1, 'fallback')", envelope.id
        )

    bus.start_consumer(on_dead_letter=fallback)
    rows = [r for r in await bus.wait_for_effects(3) if r["notice_id"] != "fallback"]
    dead = await _dlq_records(bus, 3)
    reasons = sorted(dict(r.headers)["yibao_dlq_reason"].decode() for r in dead)
    assert reasons == ["handler_failed", "invalid_payload", "missing_header"]
    errors = [dict(r.headers)["yibao_dlq_error"].decode() for r in dead]
    assert any("never be handled" in e for e in errors)
    _assert_once(rows, 2)
    assert sorted(r["notice_id"] for r in rows) == ["n-2", "n-4"]
    fallbacks = [r for r in await bus.effects() if r["notice_id"] == "fallback"]
    assert len(fallbacks) == 1, "the hook runs once, for the handler failure only"


async def test_a_batched_handler_sees_each_event_once(bus: Bus) -> None:
    calls: list[int] = []

    async def record_batch(envelopes: list[Envelope], uow: UnitOfWork) -> None:
        calls.append(len(envelopes))
        await uow.conn.execute(
            "INSERT INTO effects (event_id, notice_id) "
            "SELECT * FROM unnest($1::text[], $2::text[])",
            [e.id for e in envelopes],
            [e.data.notice_id for e in envelopes if isinstance(e.data, NoticeDelivered)],
        )

    await bus.emit([notice(i) for i in range(300)])
    bus.start_consumer(handler=Batched(record_batch))
    bus.start_relay()
    _assert_once(await bus.wait_for_effects(300), 300)
    assert sum(calls) == 300
    assert len(calls) < 300, "events arrive in batches, not one call each"


async def test_an_event_kafka_would_refuse_is_set_aside_and_the_rest_flow(bus: Bus) -> None:
    """One oversized row must not block the outbox behind it, nor be lost."""
    huge = notice(2, code="H" * (MAX_REQUEST_BYTES + 1))
    await bus.emit([notice(1), huge, notice(3)], per_tx=3)
    bus.start_relay()
    bus.start_consumer()
    rows = await bus.wait_for_effects(2)
    assert sorted(r["notice_id"] for r in rows) == ["n-1", "n-3"]
    assert bus.pool is not None
    assert await bus.pool.fetchval("SELECT count(*) FROM outbox") == 0
    dead = await bus.pool.fetch("SELECT topic, error FROM outbox_dead")
    assert [(r["topic"], "MessageSizeTooLarge" in r["error"]) for r in dead] == [(TOPIC, True)]


async def test_the_relay_keeps_each_key_on_its_partition_in_order(bus: Bus) -> None:
    """Batched publishing follows the producers' murmur2 rule, one key's events in order."""
    events = [
        notice(0).model_copy(update={"notice_id": f"n-{i % 7}", "attempts": i}) for i in range(210)
    ]
    await bus.emit(events, per_tx=30)
    bus.start_relay()
    records = await _wait_for_records(bus, len(events))
    partitions = sorted({r.partition for r in records} | {0, 1, 2})
    by_key: dict[bytes, list[int]] = {}
    for record in records:
        assert record.key is not None
        assert record.partition == DefaultPartitioner()(record.key, partitions, partitions)
        by_key.setdefault(record.key, []).append(json.loads(record.value)["attempts"])
    assert len(by_key) == 7
    assert all(seq == sorted(seq) for seq in by_key.values())


async def _wait_for_records(bus: Bus, count: int) -> list[ConsumerRecord[bytes, bytes]]:
    deadline = asyncio.get_running_loop().time() + 20
    records = await read_topic(bus.bootstrap, TOPIC + bus.suffix)
    while len(records) < count and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.2)
        records = await read_topic(bus.bootstrap, TOPIC + bus.suffix)
    return records
