"""An in-process bus (pool, producer, outbox relay, consumer loop) over the real servers.

The handler appends to `effects` with no unique key, so an event applied twice shows up as
two rows: the dedupe is what the tests observe, not what they assume.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
from aiokafka import AIOKafkaProducer
from yibao.bus.consumer import AnyHandler, ConsumerConfig, ConsumerLoop, Handler
from yibao.db import UnitOfWork, UnitOfWorkFactory, create_pool
from yibao.events import Envelope, NoticeDelivered, topics
from yibao.outbox import OutboxRelay

TOPIC = topics.NOTICE_DELIVERED
POISON_CODE = "POISON"


def notice(n: int, code: str = "H15030200001") -> NoticeDelivered:
    """A small event for the bus tests."""
    return NoticeDelivered(
        notice_id=f"n-{n}",
        fixmedins_code=code,
        kind="monthly",
        period="2026-10",
        attempts=1,
        status_code=200,
        delivered_at=datetime.now(UTC),
    )


async def record_effect(envelope: Envelope, uow: UnitOfWork) -> None:
    """The test handler: fails for the poison code, otherwise appends one row."""
    event = envelope.data
    assert isinstance(event, NoticeDelivered)
    if event.fixmedins_code == POISON_CODE:
        raise ValueError("this notice can never be handled")
    await uow.conn.execute(
        "INSERT INTO effects (event_id, notice_id) VALUES ($1, $2)", envelope.id, event.notice_id
    )


@dataclass
class Bus:
    """The moving parts of one service's bus, started and stopped by the tests."""

    dsn: str
    bootstrap: str
    suffix: str
    idempotent: bool
    group: str = field(default_factory=lambda: f"g-{uuid.uuid4().hex[:8]}")
    pool: asyncpg.Pool | None = None
    producer: AIOKafkaProducer | None = None
    uow: UnitOfWorkFactory | None = None
    relay_task: asyncio.Task[None] | None = None
    consumer_task: asyncio.Task[None] | None = None
    relay: OutboxRelay | None = None
    consumer: ConsumerLoop | None = None

    async def start(self) -> Bus:
        self.pool = await create_pool(self.dsn)
        await self.pool.execute(
            "CREATE TABLE IF NOT EXISTS effects (event_id text NOT NULL, notice_id text NOT NULL)"
        )
        self.producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=self.idempotent
        )
        await self.producer.start()
        self.uow = UnitOfWorkFactory(self.pool, source="/yibao/test")
        return self

    def start_relay(self, relay_cls: type[OutboxRelay] = OutboxRelay) -> OutboxRelay:
        assert self.producer is not None
        assert self.uow is not None
        self.relay = relay_cls(
            dsn=self.dsn,
            producer=self.producer,
            name=f"test-{self.group}",
            wake=self.uow.outbox_written,
            batch_size=100,
            topic_suffix=self.suffix,
        )
        self.relay_task = asyncio.create_task(self.relay.run())
        return self.relay

    def start_consumer(
        self,
        loop_cls: type[ConsumerLoop] = ConsumerLoop,
        handler: AnyHandler = record_effect,
        on_dead_letter: Handler | None = None,
    ) -> ConsumerLoop:
        assert self.producer is not None
        assert self.uow is not None
        self.consumer = loop_cls(
            ConsumerConfig(
                group=self.group,
                bootstrap_servers=self.bootstrap,
                batch_size=50,
                max_retries=2,
                retry_backoff_s=0.01,
                topic_suffix=self.suffix,
            ),
            handlers={TOPIC: handler},
            on_dead_letter={TOPIC: on_dead_letter} if on_dead_letter else None,
            uow_factory=self.uow,
            producer=self.producer,
        )
        self.consumer_task = asyncio.create_task(self.consumer.run())
        return self.consumer

    async def kill_relay(self) -> None:
        """Cancel the relay task wherever it is: the in-process analogue of SIGKILL."""
        if self.relay_task is not None:
            self.relay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.relay_task
            self.relay_task = None

    async def kill_consumer(self) -> None:
        """Cancel the consumer wherever it is (offsets of unfinished work stay uncommitted)."""
        if self.consumer_task is not None:
            self.consumer_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.consumer_task
            self.consumer_task = None

    async def emit(self, events: list[NoticeDelivered], per_tx: int = 50) -> None:
        """Write events to the outbox, `per_tx` per transaction."""
        assert self.uow is not None
        for start in range(0, len(events), per_tx):
            async with self.uow() as uow:
                for event in events[start : start + per_tx]:
                    uow.emit(event)
                await uow.commit()

    async def effects(self) -> list[asyncpg.Record]:
        assert self.pool is not None
        return list(await self.pool.fetch("SELECT event_id, notice_id FROM effects"))

    async def wait_for_effects(self, count: int, timeout_s: float = 30.0) -> list[asyncpg.Record]:
        """Poll (bounded) until `count` rows exist; return whatever is there at the end."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        rows = await self.effects()
        while len(rows) < count and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.1)
            rows = await self.effects()
        return rows

    async def stop(self) -> None:
        if self.consumer is not None:
            self.consumer.stop()
        if self.relay is not None:
            self.relay.stop()
        for task in (self.consumer_task, self.relay_task):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(task, 10)
        if self.producer is not None:
            await self.producer.stop()
        if self.pool is not None:
            await self.pool.close()
