"""Record linkage of the person file (一人一档) on synthetic data with known truth.

Drives the service's own code in-process (streamed CSV staging, the chunked job worker, the
single-record path, all on PostgreSQL): no HTTP, so the figures are the matcher's and the
database's. Quality is pairwise precision / recall / F1 over record pairs and the share of
true persons resolved exactly (all their records, nothing else, in one person). A month of
new records then arrives one by one (single-record latency with everyone on file), and the
person-id churn among records already on file is counted.

    uv run python -m bench.enrollment --records 100000
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import random
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from enrollment_matcher.domain.linker import Thresholds
from enrollment_matcher.domain.records import COLUMNS, Record, parse_row
from enrollment_matcher.jobs import JobWorker, start_upload
from enrollment_matcher.person_file import FileConfig, PersonFile
from enrollment_matcher.synthetic import Population
from enrollment_matcher.vault import Vault
from yibao.db import UnitOfWorkFactory, create_pool
from yibao.embedded import ensure_database
from yibao.migrations import upgrade

from bench.common import CpuClock, drop_database, open_servers, percentile, render_table, run

SERVICE_DIR = Path(__file__).parents[1] / "services" / "enrollment-matcher"
RECORDS_PER_PERSON = 3.6  # what the generator averages
TODAY = date(2026, 11, 30)


@dataclass(frozen=True, slots=True)
class Options:
    records: int
    month_share: float
    newcomers_share: float
    chunk: int
    seed: int


def parse_args() -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000, help="bulk load size (records)")
    parser.add_argument("--month-share", type=float, default=0.01, help="persons with a new record")
    parser.add_argument("--newcomers-share", type=float, default=0.002, help="new persons")
    parser.add_argument("--chunk", type=int, default=2000, help="rows per linking transaction")
    parser.add_argument("--seed", type=int, default=2026)
    a = parser.parse_args()
    return Options(a.records, a.month_share, a.newcomers_share, a.chunk, a.seed)


async def csv_bytes(rows: Iterable[dict[str, str]], size: int = 1 << 16) -> AsyncIterator[bytes]:
    """The upload as a client would stream it."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
        if out.tell() >= size:
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode()


def quality(truth: dict[str, int], links: dict[str, str]) -> dict[str, float]:
    """Pairwise precision / recall / F1 and exact persons, over the records linked."""
    predicted: dict[str, list[str]] = defaultdict(list)
    actual: dict[int, list[str]] = defaultdict(list)
    for rid, pid in links.items():
        predicted[pid].append(rid)
        actual[truth[rid]].append(rid)
    found = sum(len(g) * (len(g) - 1) // 2 for g in predicted.values())
    true_pairs = sum(len(g) * (len(g) - 1) // 2 for g in actual.values())
    right = 0
    for group in predicted.values():
        right += sum(n * (n - 1) // 2 for n in Counter(truth[r] for r in group).values())
    precision = right / found if found else 1.0
    recall = right / true_pairs if true_pairs else 1.0
    exact = sum(
        1
        for group in actual.values()
        if len({links[r] for r in group}) == 1 and len(predicted[links[group[0]]]) == len(group)
    )
    return {
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "exact": exact / len(actual),
        "persons_true": len(actual),
        "persons_found": len(predicted),
    }


async def links_of(uow: UnitOfWorkFactory) -> dict[str, str]:
    async with uow() as u:
        rows = await u.conn.fetch("SELECT record_id, person_id FROM population_records")
    return {r["record_id"]: r["person_id"] for r in rows}


async def main(opts: Options) -> int:
    rng = random.Random(opts.seed)
    population = Population(round(opts.records / RECORDS_PER_PERSON), seed=opts.seed)
    started = time.perf_counter()
    rows = list(population.records())
    generated_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="yibao-bench-enrollment-") as tmp:
        async with open_servers(Path(tmp)) as servers:
            name = f"bench_enrollment_{uuid.uuid4().hex[:8]}"
            dsn = await ensure_database(servers.admin_dsn, name)
            await asyncio.to_thread(upgrade, SERVICE_DIR, dsn)
            pool = await create_pool(dsn, min_size=2, max_size=4)
            try:
                return await _run(opts, rng, population, rows, generated_s, pool, servers.postgres)
            finally:
                await pool.close()
                await drop_database(servers.admin_dsn, name)


async def _run(
    opts: Options,
    rng: random.Random,
    population: Population,
    rows: list[dict[str, str]],
    generated_s: float,
    pool: object,
    postgres: str,
) -> int:
    import asyncpg

    assert isinstance(pool, asyncpg.Pool)
    vault = Vault("bench-pii-key")
    file = PersonFile(
        vault, FileConfig(Thresholds(), "1503"), clock=lambda: datetime(2026, 11, 30, tzinfo=UTC)
    )
    uow = UnitOfWorkFactory(pool, source="/bench")
    worker = JobWorker(uow, file, vault, today=lambda: TODAY, chunk_size=opts.chunk)

    clock = CpuClock()
    await start_upload(uow, vault, csv_bytes(rows))
    staged_s = time.perf_counter() - clock.wall
    while await worker.step():
        pass
    bulk_s = time.perf_counter() - clock.wall
    bulk_cpu = clock.cpu_since()
    before = await links_of(uow)
    q = quality(population.truth, before)
    async with uow() as u:
        events_bulk = await u.conn.fetchval("SELECT count(*) FROM outbox")
        persons_on_file = await u.conn.fetchval("SELECT count(*) FROM persons")
        reviews = await u.conn.fetchval("SELECT count(*) FROM review_queue")

    existing = rng.sample(population.people, round(len(population.people) * opts.month_share))
    newcomers = population.grow(round(len(population.people) * opts.newcomers_share))
    month = [
        *population.records(existing, month=1, update=True),
        *population.records(newcomers, month=1),
    ]
    rng.shuffle(month)
    latencies: list[float] = []
    rejected = 0
    for row in month:
        record = parse_row(row, today=TODAY)
        if not isinstance(record, Record):
            rejected += 1
            continue
        t0 = time.perf_counter()
        async with uow() as u:
            await file.ingest(u, [record])
            await u.conn.fetchval("SELECT 1")
            await u.commit()
        latencies.append(time.perf_counter() - t0)
    after = await links_of(uow)
    q_after = quality(population.truth, after)
    async with uow() as u:
        events_total = await u.conn.fetchval("SELECT count(*) FROM outbox")
    moved = [rid for rid, pid in before.items() if after.get(rid) != pid]
    old_ids_changed = {before[rid] for rid in moved}
    # A move is a correction when the record now sits in a person whose records are all of
    # one true person (a bridging record joined what had been split).
    groups: dict[str, set[int]] = defaultdict(set)
    for rid, pid in after.items():
        groups[pid].add(population.truth[rid])
    corrections = sum(1 for rid in moved if len(groups[after[rid]]) == 1)
    latencies.sort()

    def pct(x: float) -> str:
        return f"{x * 100:.2f} %"

    print(
        f"enrollment matcher on {len(rows):,} records of {q['persons_true']:,} persons "
        f"(postgres {postgres}; generated in {generated_s:.1f} s)"
    )
    print(
        render_table(
            ["phase", "what", "figure"],
            [
                ["bulk", "records/s (stage + link)", f"{len(rows) / bulk_s:,.0f}"],
                ["bulk", "total seconds", f"{bulk_s:.1f} (staging {staged_s:.1f})"],
                ["bulk", "client CPU / wall", f"{bulk_cpu / bulk_s:.2f}"],
                ["quality", "pairwise precision", pct(q["precision"])],
                ["quality", "pairwise recall", pct(q["recall"])],
                ["quality", "pairwise F1", f"{q['f1']:.4f}"],
                ["quality", "persons resolved exactly", pct(q["exact"])],
                [
                    "quality",
                    "persons found / true",
                    f"{q['persons_found']:,} / {q['persons_true']:,}",
                ],
                ["quality", "review queue items", f"{reviews:,}"],
                ["quality", "status events from the load", f"{events_bulk:,}"],
                [
                    "single",
                    f"records (month, {persons_on_file:,} persons on file)",
                    f"{len(latencies):,}",
                ],
                ["single", "p50 ms", f"{percentile(latencies, 50) * 1000:.2f}"],
                ["single", "p99 ms", f"{percentile(latencies, 99) * 1000:.2f}"],
                ["single", "status events from the month", f"{events_total - events_bulk:,}"],
                ["churn", "records whose person id changed", f"{len(moved):,} of {len(before):,}"],
                ["churn", "person ids changed", f"{len(old_ids_changed):,}"],
                ["churn", "moved records now in a one-person file", f"{corrections:,}"],
                ["quality", "F1 after the month", f"{q_after['f1']:.4f}"],
                ["quality", "exact after the month", pct(q_after["exact"])],
            ],
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(run(main(parse_args())))
