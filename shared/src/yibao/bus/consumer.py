"""The idempotent consumer loop: validate -> handle in one transaction -> commit -> offset.

Fast path: a fetched batch per partition is handled in ONE transaction, its event ids
recorded with one `INSERT … unnest`. If anything in it fails the batch is rolled back and
replayed one message per transaction, so a single poison message is isolated, retried a
bounded number of times and dead-lettered, while its neighbours still commit. Offsets are
committed only after the database commit; a crash in between means redelivery, which the
processed-events table turns into a no-op. (Offsets go out from a background task:
see `yibao.bus.offsets`.)

Infrastructure failures (database or broker unreachable) are not the message's fault: they
are retried without limit and never dead-lettered, so an outage delays work but loses none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from yibao.bus.codec import PoisonMessage, decode
from yibao.bus.offsets import OffsetCommitter
from yibao.db import UnitOfWork
from yibao.events import Envelope
from yibao.events.topics import dlq_topic
from yibao.logging import correlation_id
from yibao.metrics import (
    CONSUMED_TOPICS,
    CONSUMER_LAG,
    DLQ_MESSAGES,
    EVENT_HANDLE_DURATION,
    EVENT_RETRIES,
    EVENTS_CONSUMED,
)
from yibao.outages import DEPENDENCY_ERRORS

Handler = Callable[[Envelope, UnitOfWork], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Batched:
    """A handler that takes every new event of a fetched batch at once.

    For projections whose effect is one statement for N events (`INSERT … unnest`): a
    per-event handler pays a database round trip per event, which measured as most of the
    bus's cost. It gets a list of one when a failed batch is replayed message by message.
    Events it emits carry no causation id (there is no single cause).
    """

    handle: Callable[[list[Envelope], UnitOfWork], Awaitable[None]]


AnyHandler = Handler | Batched
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ConsumerConfig:
    """The knobs of one consumer loop."""

    group: str
    bootstrap_servers: str
    fetch_max_wait_ms: int = 10
    fetch_min_bytes: int = 1
    batch_size: int = 500
    max_retries: int = 3
    retry_backoff_s: float = 0.05
    max_transient_backoff_s: float = 5.0
    topic_suffix: str = ""
    """Appended to every topic name (isolated test runs, shared clusters)."""
    commit_interval_s: float = 0.1
    """At most this often an offset commit goes out (each is a write on the broker)."""


@dataclass(slots=True)
class _Item:
    record: ConsumerRecord[bytes, bytes]
    envelope: Envelope


class ConsumerLoop:
    """Consumes the handlers' topics for one consumer group until `stop()`."""

    def __init__(
        self,
        config: ConsumerConfig,
        *,
        handlers: Mapping[str, AnyHandler],
        uow_factory: Callable[[], UnitOfWork],
        producer: AIOKafkaProducer,
        on_dead_letter: Mapping[str, Handler] | None = None,
    ) -> None:
        self.config = config
        self.handlers = dict(handlers)
        for topic in self.handlers:
            CONSUMED_TOPICS.labels(topic).set(1)
        self._on_dead_letter = dict(on_dead_letter or {})
        self._uow_factory = uow_factory
        self._producer = producer
        self._stopping = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None
        self.started = asyncio.Event()

    def stop(self) -> None:
        """Ask the loop to finish the batch in hand and leave the group."""
        self._stopping.set()

    @property
    def connected(self) -> bool:
        """Whether the loop currently holds a started consumer (for /readyz)."""
        return self._consumer is not None

    async def run(self) -> None:
        """Consume until stopped; reconnects after broker outages and unexpected errors."""
        while not self._stopping.is_set():
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.config.bootstrap_servers,
                group_id=self.config.group,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                fetch_max_wait_ms=self.config.fetch_max_wait_ms,
                fetch_min_bytes=self.config.fetch_min_bytes,
                max_poll_records=self.config.batch_size,
            )
            committer = OffsetCommitter(consumer, interval_s=self.config.commit_interval_s)
            committing: asyncio.Task[None] | None = None
            try:
                await consumer.start()
                consumer.subscribe(
                    topics=[topic + self.config.topic_suffix for topic in self.handlers],
                    listener=committer,
                )
                committing = asyncio.create_task(committer.run())
                self._consumer = consumer
                self.started.set()
                await self._consume(consumer, committer)
            except Exception as exc:
                if self._stopping.is_set():
                    break
                log.warning("consumer restarting", extra={"error": repr(exc)})
                await self._sleep(1.0)
            finally:
                self._consumer = None
                if committing is not None:
                    committing.cancel()
                with contextlib.suppress(Exception):
                    await committer.flush()
                with contextlib.suppress(Exception):
                    await consumer.stop()

    async def _consume(self, consumer: AIOKafkaConsumer, committer: OffsetCommitter) -> None:
        while not self._stopping.is_set():
            batches = await consumer.getmany(timeout_ms=200, max_records=self.config.batch_size)
            # Partitions are independent (order matters only within one), so their batches
            # run side by side, each in its own transaction, overlapping database waits.
            async with asyncio.TaskGroup() as group:  # one failing cancels its siblings
                for tp, records in batches.items():
                    if records:
                        group.create_task(self._process_and_mark(tp, records, committer))
            await self._record_lag(consumer)

    async def _process_and_mark(
        self,
        tp: TopicPartition,
        records: Sequence[ConsumerRecord[bytes, bytes]],
        committer: OffsetCommitter,
    ) -> None:
        await self._process_partition(tp, records)
        committer.mark(tp, records[-1].offset + 1)

    def _base_topic(self, topic: str) -> str:
        suffix = self.config.topic_suffix
        return topic[: -len(suffix)] if suffix and topic.endswith(suffix) else topic

    async def _process_partition(
        self, tp: TopicPartition, records: Sequence[ConsumerRecord[bytes, bytes]]
    ) -> None:
        started = time.perf_counter()
        topic = self._base_topic(tp.topic)
        items: list[_Item] = []
        for record in records:
            try:
                items.append(_Item(record, decode(topic, record.value, record.headers)))
            except PoisonMessage as poison:
                await self._dead_letter(record, poison.reason, poison.detail)
        if items:
            try:
                await self._handle_batch(topic, items)
            except Exception as exc:
                log.info("batch failed, replaying one by one", extra={"error": repr(exc)})
                for item in items:
                    await self._handle_one(topic, item)
        EVENT_HANDLE_DURATION.labels(topic).observe(time.perf_counter() - started)

    async def _handle_batch(self, topic: str, items: list[_Item]) -> None:
        handler = self.handlers[topic]
        async with self._uow_factory() as uow:
            fresh = await uow.mark_processed_many(self.config.group, [i.envelope.id for i in items])
            new: list[Envelope] = []
            for item in items:
                if item.envelope.id in fresh:
                    fresh.discard(item.envelope.id)  # the same id twice in one batch runs once
                    new.append(item.envelope)
            await self._run(handler, new, uow)
            await uow.commit()
        handled = len(new)
        EVENTS_CONSUMED.labels(topic, "handled").inc(handled)
        EVENTS_CONSUMED.labels(topic, "duplicate").inc(len(items) - handled)

    async def _handle_one(self, topic: str, item: _Item) -> None:
        handler = self.handlers[topic]
        attempt = 0
        transient_backoff = self.config.retry_backoff_s
        while True:
            try:
                async with self._uow_factory() as uow:
                    if not await uow.mark_processed(self.config.group, item.envelope.id):
                        EVENTS_CONSUMED.labels(topic, "duplicate").inc()
                        return
                    await self._run(handler, [item.envelope], uow)
                    await uow.commit()
                EVENTS_CONSUMED.labels(topic, "handled").inc()
                return
            except DEPENDENCY_ERRORS as exc:
                if self._stopping.is_set():
                    raise
                log.warning("transient failure, retrying", extra={"error": repr(exc)})
                await self._sleep(transient_backoff)
                transient_backoff = min(transient_backoff * 2, self.config.max_transient_backoff_s)
            except Exception as exc:
                if self._stopping.is_set():
                    raise  # not the message's fault: leave it for redelivery after restart
                attempt += 1
                EVENT_RETRIES.labels(topic).inc()
                if attempt > self.config.max_retries:
                    log.exception(
                        "handler failed, dead-lettering", extra={"event_id": item.envelope.id}
                    )
                    await self._dead_letter(item.record, "handler_failed", repr(exc)[:900])
                    await self._after_dead_letter(topic, item.envelope)
                    return
                await self._sleep(self.config.retry_backoff_s * 2**attempt)

    async def _run(self, handler: AnyHandler, envelopes: list[Envelope], uow: UnitOfWork) -> None:
        if isinstance(handler, Batched):
            if envelopes:
                uow.causation_id = None
                await handler.handle(envelopes, uow)
            return
        for envelope in envelopes:
            await self._invoke(handler, envelope, uow)

    async def _invoke(self, handler: Handler, envelope: Envelope, uow: UnitOfWork) -> None:
        uow.causation_id = envelope.id
        token = correlation_id.set(envelope.correlation_id or envelope.id)
        try:
            await handler(envelope, uow)
        finally:
            correlation_id.reset(token)

    async def _after_dead_letter(self, topic: str, envelope: Envelope) -> None:
        """Give the service a say on a valid event it could not handle.

        The DLQ keeps the message, but someone may be waiting on its outcome (a POS on its
        settlement): the hook records a fallback outcome in a transaction of its own. It is
        idempotent by contract, since a crash here means the record comes back.
        """
        hook = self._on_dead_letter.get(topic)
        if hook is None:
            return
        try:
            async with self._uow_factory() as uow:
                await self._invoke(hook, envelope, uow)
                await uow.commit()
        except Exception:
            log.exception("dead-letter hook failed", extra={"event_id": envelope.id})

    async def _dead_letter(
        self, record: ConsumerRecord[bytes, bytes], reason: str, detail: str
    ) -> None:
        headers: list[tuple[str, bytes]] = [
            *list(record.headers or ()),
            ("yibao_dlq_reason", reason.encode()),
            ("yibao_dlq_error", detail.encode()[:1000]),
            ("yibao_dlq_topic", record.topic.encode()),
            ("yibao_dlq_partition", str(record.partition).encode()),
            ("yibao_dlq_offset", str(record.offset).encode()),
            ("yibao_dlq_consumer", self.config.group.encode()),
            ("yibao_dlq_time", datetime.now(UTC).isoformat().encode()),
        ]
        while True:
            try:
                await self._producer.send_and_wait(
                    dlq_topic(self._base_topic(record.topic)) + self.config.topic_suffix,
                    value=record.value,
                    key=record.key,
                    headers=headers,
                )
                break
            except KafkaError as exc:
                # Committing the offset without the DLQ copy would lose the message.
                if self._stopping.is_set():
                    raise
                log.warning("DLQ publish failed, retrying", extra={"error": repr(exc)})
                await self._sleep(1.0)
        DLQ_MESSAGES.labels(record.topic, reason).inc()
        EVENTS_CONSUMED.labels(record.topic, "dead_lettered").inc()
        log.error(
            "message dead-lettered",
            extra={"topic": record.topic, "offset": record.offset, "reason": reason},
        )

    async def _record_lag(self, consumer: AIOKafkaConsumer) -> None:
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is not None:
                position = await consumer.position(tp)
                CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(max(0, highwater - position))

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
