"""Bus throughput and latency (outbox -> relay -> Kafka -> consumer handler) against raw aiokafka.

The question is how much of the broker's raw throughput the bus keeps (goal: at least half)
once every event is a committed outbox row, a relayed record with CloudEvents headers, and a
handler effect committed together with its dedupe row. Raw and bus run in one process, on one
broker, with the producer and consumer settings the services get from `ServiceSettings`, so
the ratio isolates the library's own cost. Those settings come from the environment as they
do in a service (`OUTBOX_BATCH_SIZE=2000 CONSUMER_BATCH_SIZE=1000 …`), which is how a change
to a knob is tried before it is made the default.

    uv run python -m bench.bus --events 100000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import struct
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from yibao.bus.consumer import AnyHandler, Batched, ConsumerConfig, ConsumerLoop
from yibao.bus.producer import create_producer
from yibao.db import UnitOfWork, UnitOfWorkFactory, create_pool
from yibao.embedded import create_topics, ensure_database
from yibao.events import Envelope, NoticeDelivered, topics
from yibao.events.topics import dlq_topic
from yibao.outbox import OutboxRelay
from yibao.schema import PLATFORM_TABLES
from yibao.settings import ServiceSettings

from bench.common import (
    CpuClock,
    Phase,
    Servers,
    drop_database,
    open_servers,
    paced,
    render_table,
    run,
    wait_for_count,
)

TOPIC = topics.NOTICE_DELIVERED
WARMUP = 200
"""Events sent before any clock starts: group joins, connections and first fetches are paid."""
GOAL = 0.5
RAW_DRAIN = "produce->consume, drain"
BUS_DRAIN = "outbox->handler, drain"
_STAMP = struct.Struct("!d")


@dataclass(frozen=True, slots=True)
class Options:
    events: int
    payload_bytes: int
    rate: float
    seconds: float
    write_batch: int
    partitions: int
    effect: bool
    idempotence: bool
    per_event: bool

    @property
    def steady_events(self) -> int:
        return round(self.rate * self.seconds)


@dataclass(slots=True)
class Results:
    phases: list[Phase] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    ok: bool = True


# --- raw aiokafka: the floor ----------------------------------------------------------------


class RawReader:
    """Drains the raw topic in the background, timing each record against its send stamp."""

    def __init__(self, consumer: AIOKafkaConsumer, max_records: int) -> None:
        self._consumer = consumer
        self._max_records = max_records
        self.received = 0
        self.last_at = 0.0
        self.latencies_s: list[float] = []

    def reset(self) -> None:
        self.received = 0
        self.latencies_s = []

    async def run(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=200, max_records=self._max_records)
            now = time.perf_counter()
            for records in batches.values():
                self.latencies_s.extend(now - _STAMP.unpack_from(r.value)[0] for r in records)
                self.received += len(records)
                self.last_at = now


async def raw_phases(servers: Servers, settings: ServiceSettings, opts: Options) -> list[Phase]:
    """Produce and consume plain records of the bus's payload size: drain, then steady."""
    topic = f"bench.raw.{uuid.uuid4().hex[:10]}"
    await create_topics(servers.bootstrap, [topic], partitions=opts.partitions)
    producer = create_producer(settings)
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=servers.bootstrap,
        group_id=f"bench-raw-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
        max_poll_records=settings.consumer_batch_size,
    )
    await producer.start()
    await consumer.start()
    reader = RawReader(consumer, settings.consumer_batch_size)
    reading = asyncio.create_task(reader.run())
    padding = b"x" * max(0, opts.payload_bytes - _STAMP.size)
    sent = 0
    acks: list[asyncio.Future[object]] = []

    async def send(count: int) -> None:
        nonlocal sent
        for _ in range(count):
            value = _STAMP.pack(time.perf_counter()) + padding
            acks.append(await producer.send(topic, value=value, key=f"r{sent:08d}".encode()))
            sent += 1

    try:
        await send(WARMUP)
        await wait_for_count(lambda: reader.received, WARMUP, what="raw warm-up")
        reader.reset()

        _progress(f"raw: drain of {opts.events:,} records")
        acks.clear()
        clock = CpuClock()
        await send(opts.events)
        await asyncio.gather(*acks)
        produced = Phase("raw", "produce (acked)", opts.events, time.perf_counter() - clock.wall)
        await wait_for_count(lambda: reader.received, opts.events, what="raw drain")
        drain = Phase(
            "raw",
            RAW_DRAIN,
            reader.received,
            reader.last_at - clock.wall,
            clock.cpu_since(),
            reader.latencies_s,
        )
        reader.reset()

        _progress(f"raw: steady {opts.rate:,.0f}/s for {opts.seconds:g}s")
        acks.clear()
        clock = CpuClock()
        started = await paced(opts.rate, opts.seconds, send)
        await asyncio.gather(*acks)
        await wait_for_count(lambda: reader.received, opts.steady_events, what="raw steady")
        steady = Phase(
            "raw",
            f"produce->consume, steady, offered {opts.rate:,.0f}/s",
            reader.received,
            reader.last_at - started,
            clock.cpu_since(),
            reader.latencies_s,
        )
    finally:
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reading
        await consumer.stop()
        await producer.stop()
        if servers.external_broker:
            await _delete_topics(servers.bootstrap, [topic])
    return [produced, drain, steady]


# --- the bus --------------------------------------------------------------------------------


class Tracker:
    """Commit and handle times per notice id, plus the once-only tally across all phases.

    Notice ids carry a one-letter phase tag, so a stray redelivery from an earlier phase is
    counted as a duplicate instead of being mistaken for progress.
    """

    def __init__(self) -> None:
        self.tag = ""
        self.committed: dict[str, float] = {}
        self.handled: dict[str, float] = {}
        self.handled_ever: set[str] = set()
        self.duplicates = 0

    def begin(self, tag: str) -> None:
        self.tag = tag
        self.committed = {}
        self.handled = {}

    def mark_handled(self, notice_ids: list[str], at: float) -> None:
        for notice_id in notice_ids:
            if notice_id in self.handled_ever:
                self.duplicates += 1
                continue
            self.handled_ever.add(notice_id)
            if notice_id.startswith(self.tag):
                self.handled[notice_id] = at

    def latencies_s(self) -> list[float]:
        return [self.handled[n] - at for n, at in self.committed.items() if n in self.handled]


class StampingUnitOfWork(UnitOfWork):
    """Times handled events when their transaction commits, not when the handler returns.

    The consumer runs a whole batch's handlers in one transaction, so an effect is real only
    at its commit; stamping there measures what a reader of the database would see.
    """

    def __init__(self, pool: asyncpg.Pool, *, source: str, tracker: Tracker) -> None:
        super().__init__(pool, source=source)
        self._tracker = tracker
        self.handled: list[str] = []

    async def commit(self) -> None:
        await super().commit()
        self._tracker.mark_handled(self.handled, time.perf_counter())


class TimedRelay(OutboxRelay):
    """Notes when its last batch was acknowledged, to tell relay time from consumer time."""

    last_published_at = 0.0

    async def publish_batch(self, conn: asyncpg.Connection) -> int:
        published = await super().publish_batch(conn)
        if published:
            self.last_published_at = time.perf_counter()
        return published


def make_handler(*, effect: bool, per_event: bool) -> AnyHandler:
    """The handler under test: one row per event, the cheapest honest side effect.

    Batched (the default) writes a fetched batch's rows in one `INSERT … unnest`, as a
    projection should; `--per-event` pays one round trip per event instead.
    """

    async def handle_batch(envelopes: list[Envelope], uow: UnitOfWork) -> None:
        assert isinstance(uow, StampingUnitOfWork)
        notices = [e.data for e in envelopes]
        ids = [n.notice_id for n in notices if isinstance(n, NoticeDelivered)]
        if effect:
            await uow.conn.execute(
                "INSERT INTO effects (event_id, notice_id) "
                "SELECT * FROM unnest($1::text[], $2::text[])",
                [e.id for e in envelopes],
                ids,
            )
        uow.handled.extend(ids)

    async def handle(envelope: Envelope, uow: UnitOfWork) -> None:
        event = envelope.data
        assert isinstance(event, NoticeDelivered)
        assert isinstance(uow, StampingUnitOfWork)
        if effect:
            await uow.conn.execute(
                "INSERT INTO effects (event_id, notice_id) VALUES ($1, $2)",
                envelope.id,
                event.notice_id,
            )
        uow.handled.append(event.notice_id)

    return handle if per_event else Batched(handle_batch)


class Notices:
    """Events of exactly the requested JSON size, so raw and bus move the same bytes."""

    def __init__(self, payload_bytes: int) -> None:
        self._delivered_at = datetime.now(UTC)
        self._period = ""
        natural = len(self.make("x", 0).model_dump_json())
        self._period = "p" * max(0, payload_bytes - natural)
        self.size = max(payload_bytes, natural)

    def make(self, tag: str, n: int) -> NoticeDelivered:
        return NoticeDelivered(
            notice_id=f"{tag}{n:08d}",
            fixmedins_code="H15030200001",
            kind="monthly",
            period=self._period,
            attempts=1,
            status_code=200,
            delivered_at=self._delivered_at,
        )


class BusRig:
    """Pools, producer, relay and consumer, wired as `yibao.service.Runtime` wires them.

    The writer has a pool of its own: it stands for the upstream service, whose request
    handlers must not queue behind the consumer for connections (nor the reverse).
    """

    def __init__(
        self,
        settings: ServiceSettings,
        opts: Options,
        *,
        suffix: str,
        writer_pool: asyncpg.Pool,
        consumer_pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
    ) -> None:
        self.settings = settings
        self.opts = opts
        self.suffix = suffix
        self.producer = producer
        self.tracker = Tracker()
        self.uow = UnitOfWorkFactory(writer_pool, source="/yibao/bench")
        self.relay: TimedRelay | None = None
        self.relay_task: asyncio.Task[None] | None = None
        self.consumer = ConsumerLoop(
            ConsumerConfig(
                group=f"bench-{uuid.uuid4().hex[:8]}",
                bootstrap_servers=settings.kafka_bootstrap_servers,
                fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
                batch_size=settings.consumer_batch_size,
                max_retries=settings.consumer_max_retries,
                topic_suffix=suffix,
            ),
            handlers={TOPIC: make_handler(effect=opts.effect, per_event=opts.per_event)},
            uow_factory=lambda: StampingUnitOfWork(
                consumer_pool, source="/yibao/bench-consumer", tracker=self.tracker
            ),
            producer=producer,
        )
        self.consumer_task = asyncio.create_task(self.consumer.run())

    def start_relay(self) -> TimedRelay:
        self.relay = TimedRelay(
            dsn=self.settings.database_url,
            producer=self.producer,
            name=f"bench{self.suffix}",
            wake=self.uow.outbox_written,
            batch_size=self.settings.outbox_batch_size,
            poll_interval_s=self.settings.outbox_poll_interval_s,
            topic_suffix=self.suffix,
        )
        self.relay_task = asyncio.create_task(self.relay.run())
        return self.relay

    async def stop_relay(self) -> None:
        if self.relay is not None and self.relay_task is not None:
            self.relay.stop()
            await asyncio.wait_for(self.relay_task, 20)
        self.relay = self.relay_task = None

    async def stop(self) -> None:
        self.consumer.stop()
        await self.stop_relay()
        await asyncio.wait_for(self.consumer_task, 20)

    async def write(self, notices: list[NoticeDelivered]) -> None:
        """Commit `notices` as one unit of work and note when the commit returned."""
        async with self.uow() as uow:
            for notice in notices:
                uow.emit(notice)
            await uow.commit()
            committed_at = time.perf_counter()
        for notice in notices:
            self.tracker.committed[notice.notice_id] = committed_at


async def bus_phases(servers: Servers, settings: ServiceSettings, opts: Options) -> Results:
    """Warm up, drain a prepared backlog, then carry a steady stream; check once-only."""
    database = f"bench_{uuid.uuid4().hex[:12]}"
    suffix = f".bench{uuid.uuid4().hex[:10]}"
    bus_topics = [TOPIC + suffix, dlq_topic(TOPIC) + suffix]
    async with contextlib.AsyncExitStack() as stack:
        dsn = await ensure_database(servers.admin_dsn, database)
        stack.push_async_callback(drop_database, servers.admin_dsn, database)
        settings = settings.model_copy(update={"database_url": dsn})
        conn = await asyncpg.connect(dsn)
        try:
            for ddl in PLATFORM_TABLES:
                await conn.execute(ddl)
            # No unique key: an event applied twice must show up as two rows.
            await conn.execute("CREATE TABLE effects (event_id text NOT NULL, notice_id text)")
        finally:
            await conn.close()
        await create_topics(servers.bootstrap, bus_topics, partitions=opts.partitions)
        if servers.external_broker:
            stack.push_async_callback(_delete_topics, servers.bootstrap, bus_topics)
        writer_pool = await create_pool(
            dsn, min_size=settings.db_pool_min, max_size=settings.db_pool_max
        )
        stack.push_async_callback(writer_pool.close)
        consumer_pool = await create_pool(
            dsn, min_size=settings.db_pool_min, max_size=settings.db_pool_max
        )
        stack.push_async_callback(consumer_pool.close)
        producer = create_producer(settings)
        await producer.start()
        stack.push_async_callback(producer.stop)
        rig = BusRig(
            settings,
            opts,
            suffix=suffix,
            writer_pool=writer_pool,
            consumer_pool=consumer_pool,
            producer=producer,
        )
        try:
            results = await _drive(rig, opts)
        finally:
            await rig.stop()
        await _check_once(rig, results, consumer_pool)
    return results


async def _drive(rig: BusRig, opts: Options) -> Results:
    notices = Notices(opts.payload_bytes)
    tracker = rig.tracker
    results = Results()

    tracker.begin("w")
    rig.start_relay()
    await rig.write([notices.make("w", n) for n in range(WARMUP)])
    await wait_for_count(lambda: len(tracker.handled), WARMUP, what="bus warm-up")
    # The backlog is written with the relay stopped, so the drain starts from a full outbox.
    await rig.stop_relay()

    tracker.begin("d")
    _progress(f"bus: writing {opts.events:,} events to the outbox, {opts.write_batch:,} per tx")
    clock = CpuClock()
    for start in range(0, opts.events, opts.write_batch):
        end = min(opts.events, start + opts.write_batch)
        await rig.write([notices.make("d", n) for n in range(start, end)])
    results.phases.append(
        Phase(
            "bus",
            f"outbox write, {opts.write_batch:,}/tx",
            opts.events,
            time.perf_counter() - clock.wall,
            clock.cpu_since(),
        )
    )

    _progress("bus: drain (relay + consumer)")
    clock = CpuClock()
    relay = rig.start_relay()
    await wait_for_count(lambda: len(tracker.handled), opts.events, what="bus drain")
    cpu = clock.cpu_since()
    results.phases.append(
        Phase("bus", "relay publish (acked)", opts.events, relay.last_published_at - clock.wall)
    )
    results.phases.append(
        Phase(
            "bus",
            BUS_DRAIN,
            len(tracker.handled),
            max(tracker.handled.values()) - clock.wall,
            cpu,
            tracker.latencies_s(),
        )
    )

    tracker.begin("s")
    _progress(f"bus: steady {opts.rate:,.0f}/s for {opts.seconds:g}s, one event per tx")
    writes: set[asyncio.Task[None]] = set()
    offered = 0

    async def offer(count: int) -> None:
        # One event per transaction, as a request handler commits; the pool bounds how many
        # are in flight, and commits that lag show up as a lower achieved write rate.
        nonlocal offered
        for n in range(offered, offered + count):
            task = asyncio.create_task(rig.write([notices.make("s", n)]))
            writes.add(task)
            task.add_done_callback(writes.discard)
        offered += count

    clock = CpuClock()
    started = await paced(opts.rate, opts.seconds, offer)
    await asyncio.gather(*writes)
    results.phases.append(
        Phase(
            "bus",
            f"outbox write, 1/tx, offered {opts.rate:,.0f}/s",
            opts.steady_events,
            max(tracker.committed.values()) - started,
        )
    )
    await wait_for_count(lambda: len(tracker.handled), opts.steady_events, what="bus steady")
    results.phases.append(
        Phase(
            "bus",
            f"outbox->handler, steady, offered {opts.rate:,.0f}/s",
            len(tracker.handled),
            max(tracker.handled.values()) - started,
            clock.cpu_since(),
            tracker.latencies_s(),
        )
    )
    return results


async def _check_once(rig: BusRig, results: Results, pool: asyncpg.Pool) -> None:
    """Every event emitted must have been handled exactly once, and the outbox left empty."""
    emitted = WARMUP + rig.opts.events + rig.opts.steady_events
    handled = len(rig.tracker.handled_ever)
    left = await pool.fetchval("SELECT count(*) FROM outbox")
    ok = handled == emitted and rig.tracker.duplicates == 0 and left == 0
    results.checks.append(
        f"handler commits: {handled:,} of {emitted:,} events, "
        f"{rig.tracker.duplicates} duplicates; outbox rows left: {left}"
    )
    if rig.opts.effect:
        counts = await pool.fetchrow("SELECT count(*), count(DISTINCT notice_id) FROM effects")
        assert counts is not None
        rows, distinct = counts
        ok = ok and rows == distinct == emitted
        results.checks.append(f"effects table: {rows:,} rows, {distinct:,} distinct notices")
    results.ok = ok
    results.checks.append("exactly once: " + ("OK" if ok else "FAILED (the figures are void)"))


async def _delete_topics(bootstrap: str, names: list[str]) -> None:
    """Leave a shared cluster as it was; an embedded broker is thrown away instead."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics(names)
    finally:
        await admin.close()


# --- report ---------------------------------------------------------------------------------


def _progress(message: str) -> None:
    print(f"… {message}", file=sys.stderr, flush=True)


def _ms(phase: Phase, q: float) -> str:
    return f"{phase.latency_ms(q):,.1f}" if phase.latencies_s else "-"


def report(servers: Servers, settings: ServiceSettings, opts: Options, phases: list[Phase]) -> str:
    """The figures, their context, and the ratio the goal is stated in."""
    by_mode = {p.mode: p for p in phases}
    raw, bus = by_mode[RAW_DRAIN], by_mode[BUS_DRAIN]
    ratio = bus.rate / raw.rate
    writer = by_mode[f"outbox write, 1/tx, offered {opts.rate:,.0f}/s"]
    rows = [
        [
            p.path,
            p.mode,
            f"{p.count:,}",
            f"{p.seconds:.2f}",
            f"{p.rate:,.0f}",
            _ms(p, 50),
            _ms(p, 99),
            "-" if p.cpu_seconds is None else f"{p.cpu_seconds / p.seconds:.0%}",
        ]
        for p in phases
    ]
    headers = ["path", "measured", "events", "seconds", "events/s", "p50 ms", "p99 ms", "CPU"]
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    lines = [
        "",
        "Yibao bus benchmark: outbox -> relay -> Kafka -> consumer handler, vs raw aiokafka",
        f"command   uv run python -m bench.bus {shlex.join(sys.argv[1:])}".rstrip(),
        f"broker    {servers.broker}; idempotent producer "
        + ("on" if servers.idempotent else "off"),
        f"postgres  {servers.postgres}",
        f"machine   {os.cpu_count()} cores; load average {load} at the end",
        f"events    {opts.events:,} drained + {opts.steady_events:,} steady; "
        f"{opts.payload_bytes} B JSON payload; {opts.partitions} partitions; handler "
        + (
            ("INSERTs one row per event" if opts.per_event else "INSERTs a batch's rows at once")
            if opts.effect
            else "writes nothing (--no-effect)"
        ),
        f"knobs     relay batch {settings.outbox_batch_size}, consumer batch "
        f"{settings.consumer_batch_size}, fetch_max_wait {settings.kafka_fetch_max_wait_ms} "
        f"ms, linger {settings.kafka_linger_ms} ms, acks=all, 256 KB batches, pool "
        f"{settings.db_pool_min}-{settings.db_pool_max}",
        "",
        render_table(headers, rows),
        "",
        f"bus/raw drain throughput: {bus.rate:,.0f} / {raw.rate:,.0f} = {ratio:.2f} "
        f"(goal >= {GOAL:.2f}: {'met' if ratio >= GOAL else 'MISSED'})",
    ]
    if writer.rate < 0.9 * opts.rate:
        lines.append(
            f"note: the writer reached only {writer.rate:,.0f} of {opts.rate:,.0f} commits/s, "
            "so the bus's steady latencies are at that rate"
        )
    lines += [
        "",
        "drain: throughput from first send (raw) or relay start (bus) to last receipt; its",
        "  latencies are time spent queued behind the backlog, not a service level.",
        "steady: latency from send (raw) or outbox commit (bus) to receipt (raw: getmany",
        "  returned) or to the commit of the handler's transaction (bus, which batches",
        "  handlers per partition fetch). CPU: this process's CPU time / wall time.",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bus",
        description="Bus (outbox -> Kafka -> handler) throughput and latency vs raw aiokafka.",
        epilog="DATABASE_URL (admin DSN) and KAFKA_BOOTSTRAP_SERVERS select existing servers; "
        "OUTBOX_BATCH_SIZE, CONSUMER_BATCH_SIZE, KAFKA_LINGER_MS, … tune the bus as in a "
        "service.",
    )
    parser.add_argument("--events", type=int, default=100_000, help="events in the drain")
    parser.add_argument(
        "--payload-bytes", type=int, default=256, help="JSON payload size of every event"
    )
    parser.add_argument("--rate", type=float, default=2000.0, help="steady offered events/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="steady duration")
    parser.add_argument(
        "--write-batch", type=int, default=1000, help="events per outbox transaction (drain)"
    )
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument(
        "--no-effect",
        action="store_true",
        help="handler skips its INSERT, to separate the bus's cost from the effect's",
    )
    parser.add_argument(
        "--per-event",
        action="store_true",
        help="one INSERT per event instead of one per fetched batch (yibao.bus.consumer.Batched)",
    )
    parser.add_argument(
        "--no-idempotence",
        action="store_true",
        help="for an external Tansu broker (an embedded one is detected)",
    )
    args = parser.parse_args(argv)
    smallest = Notices(0).size
    if args.payload_bytes < smallest:
        parser.error(f"--payload-bytes must be at least {smallest} (the event's own size)")
    if args.events < 1 or args.write_batch < 1 or args.rate * args.seconds < 1:
        parser.error("--events, --write-batch and --rate x --seconds must be at least 1")
    return Options(
        events=args.events,
        payload_bytes=args.payload_bytes,
        rate=args.rate,
        seconds=args.seconds,
        write_batch=args.write_batch,
        partitions=args.partitions,
        effect=not args.no_effect,
        idempotence=not args.no_idempotence,
        per_event=args.per_event,
    )


async def main(opts: Options) -> int:
    with tempfile.TemporaryDirectory(prefix="yibao-bench-") as tmp:
        _progress("starting servers")
        async with open_servers(Path(tmp), idempotence=opts.idempotence) as servers:
            settings = ServiceSettings(
                kafka_bootstrap_servers=servers.bootstrap,
                kafka_idempotent_producer=servers.idempotent,
                kafka_client_id="bench-bus",
            )
            phases = await raw_phases(servers, settings, opts)
            results = await bus_phases(servers, settings, opts)
    print(report(servers, settings, opts, [*phases, *results.phases]))
    print("\n".join(["", *results.checks]))
    return 0 if results.ok else 1


if __name__ == "__main__":
    sys.exit(run(main(parse_args())))
