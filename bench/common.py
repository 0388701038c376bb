"""What every benchmark needs: servers, the services' event loop, pacing, percentiles, a table.

`DATABASE_URL` (an admin DSN) and `KAFKA_BOOTSTRAP_SERVERS` point a benchmark at existing
servers, as they do for the test suite; otherwise embedded ones start in a temporary
directory. The embedded PostgreSQL keeps fsync on: the outbox's cost *is* its durable commit,
and a benchmark without it would flatter the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import uvloop
from yibao.embedded import EmbeddedKafka, EmbeddedPostgres
from yibao.embedded.kafka import kafka_version


@dataclass(frozen=True, slots=True)
class Servers:
    """Where the benchmark's database server and broker are, and what they are."""

    admin_dsn: str
    bootstrap: str
    broker: str
    postgres: str
    idempotent: bool
    external_broker: bool
    pids: dict[str, int] = field(default_factory=dict)
    """The embedded broker's and database's processes, for CPU accounting (none if external)."""


@contextlib.asynccontextmanager
async def open_servers(root: Path, *, idempotence: bool = True) -> AsyncIterator[Servers]:
    """Use the servers named in the environment, else start embedded ones under `root`.

    An external broker's flavour cannot be told from the protocol, so idempotence stays on
    there unless the caller turns it off (Tansu rejects idempotent producers).
    """
    admin_dsn = os.environ.get("DATABASE_URL")
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    postgres = None if admin_dsn else EmbeddedPostgres(root / "postgres", fast=False)
    kafka = None if bootstrap else EmbeddedKafka(root / "kafka")
    try:
        if postgres is not None:
            admin_dsn = await asyncio.to_thread(postgres.start)
        if kafka is not None:
            bootstrap = await asyncio.to_thread(kafka.start)
        assert admin_dsn is not None
        assert bootstrap is not None
        if kafka is None:
            broker = f"external ({bootstrap})"
        elif kafka.flavour == "kafka":
            broker = f"kafka {kafka_version()} (embedded, KRaft)"
        else:
            broker = "tansu (embedded fallback: figures say nothing about Kafka)"
        yield Servers(
            admin_dsn=admin_dsn,
            bootstrap=bootstrap,
            broker=broker,
            postgres="external" if postgres is None else "embedded, fsync on",
            idempotent=idempotence and (kafka is None or kafka.supports_idempotence),
            external_broker=kafka is None,
            pids={
                name: pid
                for name, pid in (
                    ("broker", kafka.pid if kafka else None),
                    ("postgres", postgres.pid if postgres else None),
                )
                if pid is not None
            },
        )
    finally:
        if kafka is not None:
            await asyncio.to_thread(kafka.stop)
        if postgres is not None:
            await asyncio.to_thread(postgres.stop)


async def drop_database(admin_dsn: str, name: str) -> None:
    """Remove a benchmark database even if a crashed run left connections to it."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def run(main: Coroutine[Any, Any, int]) -> int:
    """Run on uvloop, as the services do (`yibao.serve`), so client overhead is comparable."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


async def paced(rate: float, seconds: float, offer: Callable[[int], Awaitable[None]]) -> float:
    """Offer `rate` items/s for `seconds`; return the start time.

    A late tick offers everything that fell due meanwhile, so the offered rate holds even
    when the event loop is busy; the cost is burstiness, which is what real arrivals have.
    """
    total = round(rate * seconds)
    started = time.perf_counter()
    offered = 0
    while offered < total:
        due = min(total, math.floor((time.perf_counter() - started) * rate) + 1)
        if due > offered:
            await offer(due - offered)
            offered = due
        await asyncio.sleep(0.001)
    return started


async def wait_for_count(
    count: Callable[[], int], target: int, *, what: str, stall_s: float = 30.0
) -> None:
    """Wait until `count()` reaches `target`; give up only when progress stops.

    A fixed deadline would have to be tuned per machine and event count; a stall is what a
    lost event actually looks like.
    """
    last, last_change = count(), time.monotonic()
    while (current := count()) < target:
        if current != last:
            last, last_change = current, time.monotonic()
        elif time.monotonic() - last_change > stall_s:
            raise TimeoutError(f"{what}: stuck at {current:,} of {target:,} for {stall_s:.0f}s")
        await asyncio.sleep(0.005)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation: every figure is a latency that happened)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass(slots=True)
class Phase:
    """One measured stretch: how many items, how long, their latencies, the client's CPU."""

    path: str
    mode: str
    count: int
    seconds: float
    cpu_seconds: float | None = None
    latencies_s: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else math.nan

    def latency_ms(self, q: float) -> float:
        return percentile(sorted(self.latencies_s), q) * 1000


class CpuClock:
    """Wall and process CPU time since creation; CPU/wall near 1.0 means a saturated core."""

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def cpu_since(self) -> float:
        return time.process_time() - self.cpu


_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # after "pid (comm) "


def cpu_seconds(pid: int, *, with_children: bool) -> float:
    """User + system CPU of a process (all its threads), and of its direct children if asked.

    Children cover PostgreSQL's backends under the postmaster; a child that exited since the
    last reading takes its CPU with it, so connections must be long-lived (pooled).
    """
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields and (int(entry.name) == pid or (with_children and int(fields[1]) == pid)):
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICKS_PER_S


def cpu_readings(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far of each named process (PostgreSQL: with its backends)."""
    return {name: cpu_seconds(pid, with_children=name == "postgres") for name, pid in pids.items()}


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-align the first two columns (labels), right-align the figures."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])
