"""The outbox relay: publishes committed outbox rows to Kafka, then deletes them.

One relay per service database is active at a time (a PostgreSQL advisory lock elects it);
the others wait as hot standbys. It publishes in id order, which is commit order for events
of one entity as long as they come from serialised transactions (every handler here); two
concurrent transactions emitting for the same key may commit out of id order. A row is
deleted only after Kafka acknowledged it, so a crash between the two publishes it again:
at-least-once, absorbed by the consumers' dedupe.

The relay wakes on three signals: an in-process event set by a local commit (the fast path
of the real-time flow), a `NOTIFY` from commits on other replicas, and a slow poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import zlib
from collections import Counter
from datetime import UTC, datetime

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import MessageSizeTooLargeError

from yibao.bus.batches import BatchPublisher
from yibao.db import OUTBOX_CHANNEL
from yibao.events.envelope import ce_headers
from yibao.metrics import (
    OUTBOX_BACKLOG,
    OUTBOX_DEAD,
    OUTBOX_OLDEST_AGE,
    OUTBOX_PUBLISH_DURATION,
    OUTBOX_PUBLISHED,
)

log = logging.getLogger(__name__)

_SELECT = (
    "SELECT id, event_id, topic, key, source, time, correlation_id, causation_id, payload "
    "FROM outbox ORDER BY id LIMIT $1"
)


class OutboxRelay:
    """Moves outbox rows to Kafka for one service database."""

    def __init__(
        self,
        *,
        dsn: str,
        producer: AIOKafkaProducer,
        name: str,
        wake: asyncio.Event,
        batch_size: int = 1000,
        poll_interval_s: float = 0.5,
        topic_suffix: str = "",
    ) -> None:
        self._dsn = dsn
        self._producer = producer
        self._lock_key = zlib.crc32(f"yibao-outbox:{name}".encode())
        self._wake = wake
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._topic_suffix = topic_suffix
        self._stopping = asyncio.Event()
        self.is_leader = False

    def stop(self) -> None:
        """Finish the batch in hand, then exit."""
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Elect, drain, wait for work; reconnect after any database or broker failure."""
        while not self._stopping.is_set():
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self._dsn)
                if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", self._lock_key):
                    await self._pause(2.0)
                    continue
                self.is_leader = True
                await conn.add_listener(OUTBOX_CHANNEL, self._on_notify)
                await self._drain_forever(conn)
            except Exception as exc:
                if not self._stopping.is_set():
                    log.warning("outbox relay restarting", extra={"error": repr(exc)})
                    await self._pause(1.0)
            finally:
                self.is_leader = False
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()

    async def _drain_forever(self, conn: asyncpg.Connection) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            published = await self.publish_batch(conn)
            if published < self._batch_size:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_interval_s)

    async def publish_batch(self, conn: asyncpg.Connection) -> int:
        """Publish up to one batch in id order; returns how many rows went out."""
        rows = await conn.fetch(_SELECT, self._batch_size)
        OUTBOX_BACKLOG.set(len(rows))
        if not rows:
            OUTBOX_OLDEST_AGE.set(0)
            return 0
        OUTBOX_OLDEST_AGE.set((datetime.now(UTC) - rows[0]["time"]).total_seconds())
        started = time.perf_counter()
        batches = BatchPublisher(self._producer)
        refused: list[tuple[asyncpg.Record, Exception]] = []
        for row in rows:
            try:
                await batches.add(
                    row["topic"] + self._topic_suffix,
                    key=row["key"].encode(),
                    value=bytes(row["payload"]),
                    headers=_headers(row),
                )
            except MessageSizeTooLargeError as exc:
                refused.append((row, exc))
        await batches.flush()
        if refused:
            await self._set_aside(conn, refused)
        await self._delete(conn, [r["id"] for r in rows])
        OUTBOX_PUBLISH_DURATION.observe(time.perf_counter() - started)
        for topic, count in Counter(row["topic"] for row in rows).items():
            OUTBOX_PUBLISHED.labels(topic).inc(count)
        return len(rows)

    async def _set_aside(
        self, conn: asyncpg.Connection, refused: list[tuple[asyncpg.Record, Exception]]
    ) -> None:
        """Move rows Kafka will never take out of the way: one must not block all after it."""
        await conn.execute(
            "INSERT INTO outbox_dead (id, event_id, topic, key, payload, error) "
            "SELECT id, event_id, topic, key, payload, e FROM outbox "
            "JOIN unnest($1::bigint[], $2::text[]) AS r(rid, e) ON id = rid "
            "ON CONFLICT DO NOTHING",
            [row["id"] for row, _ in refused],
            [repr(exc)[:1000] for _, exc in refused],
        )
        for row, exc in refused:
            OUTBOX_DEAD.labels(row["topic"]).inc()
            log.error(
                "outbox event set aside", extra={"event_id": row["event_id"], "error": repr(exc)}
            )

    async def _delete(self, conn: asyncpg.Connection, ids: list[int]) -> None:
        """Forget rows Kafka acknowledged (a crash before this is the duplicate window)."""
        await conn.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", ids)

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)


def _headers(row: asyncpg.Record) -> list[tuple[str, bytes]]:
    return ce_headers(
        event_id=row["event_id"],
        source=row["source"],
        topic=row["topic"],
        time=row["time"],
        subject=row["key"],
        correlation_id=row["correlation_id"],
        causation_id=row["causation_id"],
    )
