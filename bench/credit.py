"""Incremental credit scoring against PostgreSQL, then a full recompute that must agree.

Confirmed alerts (`tracecode.alerted.v1`) over many institutions go through credit's real
batched handler, batch by batch as the consumer loop hands them over (processed-events
record, file entries, ledger rows, parked objections, the re-fold of each subject touched,
standings and grade-changed events, one commit per batch), with as many batches in flight
as the topic has partitions. Kafka is left out: its cost is `bench.bus`'s subject, this
one measures what credit adds per event. Then every subject is re-folded from its whole
ledger (the event path reads only the rows still live) and compared with the standing the
incremental path stored: any difference fails the run.

    uv run python -m bench.credit --events 1000000 --subjects 50000

Figures: events/s over the whole run; per-event latency = the time from its batch being
taken to its commit (what an event waits in credit); the same for batches of one event, on
a sample, as the latency of an event arriving alone; the full recompute's wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shlex
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
from credit_scorer.handlers import build_handlers
from credit_scorer.standing import CreditBook, evaluate_subjects, refresh, today
from yibao.bus.consumer import Batched
from yibao.db import UnitOfWorkFactory, create_pool
from yibao.embedded import EmbeddedPostgres, ensure_database
from yibao.events import Envelope, TracecodeAlerted, topics
from yibao.migrations import upgrade
from yibao.topology import SERVICES, repo_root

from bench.common import Phase, drop_database, percentile, render_table, run

CREDIT = next(s for s in SERVICES if s.name == "credit-scorer")
RULES = (
    "duplicate_sale",
    "product_mismatch",
    "split_overrun",
    "missing_trace_code",
    "not_in_stock",
    "person_not_eligible",
    "malformed_trace_code",
)
GROUP = "credit-scorer"
RECOMPUTE_CHUNK = 2000


@contextlib.asynccontextmanager
async def open_postgres(root: Path) -> AsyncIterator[tuple[str, str]]:
    """`DATABASE_URL` (an admin DSN) if set, else an embedded server with fsync on."""
    admin = os.environ.get("DATABASE_URL")
    if admin:
        yield admin, "external"
        return
    postgres = EmbeddedPostgres(root / "postgres", fast=False)
    try:
        yield await asyncio.to_thread(postgres.start), "embedded, fsync on"
    finally:
        await asyncio.to_thread(postgres.stop)


def subject_codes(count: int) -> list[str]:
    return [f"{'H' if i % 3 else 'P'}{i:011d}" for i in range(count)]


def alerts(codes: Sequence[str], count: int, seed: int) -> Iterator[Envelope]:
    """Confirmed alerts, uniformly over subjects and over the last 400 days (so some rows
    have already expired and the fold's validity windows matter)."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    for n in range(count):
        code = codes[rng.randrange(len(codes))]
        event = TracecodeAlerted(
            alert_id=f"bench-{seed}-{n}",
            fixmedins_code=code,
            rule=RULES[rng.randrange(len(RULES))],
            severity="high",
            confirmed=True,
            evidence={"drug_trac_codg": f"8123456{n:013d}"},
            occurred_at=now - timedelta(days=rng.randrange(400), seconds=rng.randrange(86400)),
        )
        yield Envelope(
            type=topics.TRACECODE_ALERTED, source="/yibao/bench", subject=code, data=event
        )


async def register(uow: UnitOfWorkFactory, book: CreditBook, codes: Sequence[str]) -> None:
    """Every subject under agreement since 2020 (so all are graded), with the standing its
    `institution.registered.v1` would have given it."""
    for start in range(0, len(codes), RECOMPUTE_CHUNK):
        chunk = list(codes[start : start + RECOMPUTE_CHUNK])
        async with uow() as unit:
            await unit.conn.execute(
                "INSERT INTO credit_subjects (subject_id, subject_type, agreement_from, source) "
                "SELECT c, CASE WHEN left(c, 1) = 'H' THEN 'hospital' ELSE 'pharmacy' END, "
                "'2020-01-01', 'registration' FROM unnest($1::text[]) AS t(c)",
                chunk,
            )
            await refresh(unit, book, chunk, today())
            await unit.commit()


async def ingest(
    uow: UnitOfWorkFactory,
    book: CreditBook,
    streams: Sequence[Iterator[Envelope]],
    *,
    batch_size: int,
    path: str,
) -> Phase:
    """Feed each stream (one partition's events, keyed by subject as Kafka would) to the
    handler in batches, the partitions side by side as the consumer loop runs them."""
    handler = build_handlers(book)[topics.TRACECODE_ALERTED]
    assert isinstance(handler, Batched)
    phase = Phase(path=path, mode=f"batch {batch_size}", count=0, seconds=0.0)

    async def partition(stream: Iterator[Envelope]) -> None:
        while batch := [e for _, e in zip(range(batch_size), stream, strict=False)]:
            started = time.perf_counter()
            async with uow() as unit:
                fresh = await unit.mark_processed_many(GROUP, [e.id for e in batch])
                await handler.handle([e for e in batch if e.id in fresh], unit)
                await unit.commit()
            took = time.perf_counter() - started
            phase.latencies_s.extend([took] * len(batch))
            phase.count += len(batch)

    started = time.perf_counter()
    await asyncio.gather(*(partition(stream) for stream in streams))
    phase.seconds = time.perf_counter() - started
    return phase


def partitioned(
    codes: Sequence[str], count: int, partitions: int, seed: int
) -> list[Iterator[Envelope]]:
    """`count` alerts split over `partitions`, each partition owning its own subjects."""
    return [
        alerts(codes[p::partitions], count // partitions + (p < count % partitions), seed + p)
        for p in range(partitions)
    ]


async def recompute(
    pool: asyncpg.Pool, book: CreditBook, codes: Sequence[str], on: date
) -> tuple[float, int, list[str]]:
    """Re-fold every subject from its ledger; (seconds, ledger rows, disagreeing subjects)."""
    started = time.perf_counter()
    mismatches: list[str] = []
    async with pool.acquire() as conn:
        for start in range(0, len(codes), RECOMPUTE_CHUNK):
            chunk = list(codes[start : start + RECOMPUTE_CHUNK])
            folded = await evaluate_subjects(conn, book, chunk, on, whole_ledger=True)
            stored = {
                r["subject_id"]: (r["score"], r["grade"], r["tier"], sorted(r["lists"]))
                for r in await conn.fetch(
                    "SELECT subject_id, score, grade, tier, lists FROM credit_standing "
                    "WHERE subject_id = ANY($1::text[])",
                    chunk,
                )
            }
            for code, result in folded.items():
                standing = result.standing
                expected = (
                    standing.score,
                    standing.grade,
                    standing.tier.value if standing.tier else None,
                    sorted(x.value for x in standing.lists),
                )
                if stored.get(code) != expected:
                    mismatches.append(code)
    seconds = time.perf_counter() - started
    rows: int = await pool.fetchval("SELECT count(*) FROM deductions")
    return seconds, rows, mismatches


async def main(args: argparse.Namespace) -> int:
    book = CreditBook.default()
    codes = subject_codes(args.subjects)
    with tempfile.TemporaryDirectory() as tmp:
        async with open_postgres(Path(tmp)) as (admin_dsn, postgres):
            name = f"bench_credit_{uuid.uuid4().hex[:8]}"
            dsn = await ensure_database(admin_dsn, name)
            try:
                await asyncio.to_thread(upgrade, CREDIT.directory(repo_root()), dsn)
                pool = await create_pool(dsn, min_size=2, max_size=args.partitions + 2)
                try:
                    uow = UnitOfWorkFactory(pool, source="/yibao/credit-scorer")
                    await register(uow, book, codes)
                    on = today()
                    bulk = await ingest(
                        uow,
                        book,
                        partitioned(codes, args.events, args.partitions, seed=1),
                        batch_size=args.batch_size,
                        path="incremental, batched",
                    )
                    single = await ingest(
                        uow,
                        book,
                        [alerts(codes, args.single_events, seed=100)],
                        batch_size=1,
                        path="incremental, one at a time",
                    )
                    seconds, rows, mismatches = await recompute(pool, book, codes, on)
                    events = await pool.fetchval(
                        "SELECT count(*) FROM outbox WHERE topic = $1", topics.CREDIT_GRADE_CHANGED
                    )
                finally:
                    await pool.close()
            finally:
                await drop_database(admin_dsn, name)
    table = render_table(
        ["path", "mode", "events", "events/s", "p50 ms", "p99 ms", "max ms"],
        [
            [
                p.path,
                p.mode,
                f"{p.count:,}",
                f"{p.rate:,.0f}",
                f"{p.latency_ms(50):.1f}",
                f"{p.latency_ms(99):.1f}",
                f"{percentile(sorted(p.latencies_s), 100) * 1000:.1f}",
            ]
            for p in (bulk, single)
        ],
    )
    print(f"$ {shlex.join(['python', '-m', 'bench.credit', *sys.argv[1:]])}")
    print(f"postgres: {postgres}; {args.subjects:,} subjects, {args.partitions} partitions")
    print(table)
    print(
        f"full recompute: {len(codes):,} subjects, {rows:,} ledger rows in {seconds:.1f} s "
        f"({len(codes) / seconds:,.0f} subjects/s); credit.grade-changed staged: {events:,}"
    )
    if mismatches:
        print(f"DISAGREEMENT: {len(mismatches)} subjects differ, e.g. {mismatches[:5]}")
        return 1
    print("incremental and full recompute agree on every subject")
    return 0


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--subjects", type=int, default=50_000)
    parser.add_argument("--batch-size", type=int, default=500, help="as CONSUMER_BATCH_SIZE")
    parser.add_argument("--partitions", type=int, default=3, help="batches in flight")
    parser.add_argument("--single-events", type=int, default=2000)
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(run(main(parse())))
