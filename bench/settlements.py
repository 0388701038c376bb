"""End-to-end settlement benchmark: POS HTTP -> ingest -> Kafka -> validator -> back.

All five services run as processes (as `make run` starts them) on this machine's broker and
database; an open-loop client offers settlements of three coded lines each at fixed rates
and measures what a pharmacy would feel: the HTTP answer's latency and how often it is a
decision (200) rather than "still deciding" (202). In the same run it measures the floor:
a raw Kafka request/reply round trip on the same broker, with no HTTP and no database.

Run: `uv run python -m bench.settlements` (`--rates 100,300,1000 --seconds 10`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from yibao.embedded import create_topics, free_port
from yibao.embedded.platform import Platform
from yibao.topology import SERVICES

from bench.common import (
    Servers,
    cpu_readings,
    open_servers,
    paced,
    percentile,
    render_table,
    run,
)
from bench.http_load import LoadClient

LINES_PER_SALE = 3
PHARMACIES = 20


@dataclass
class Options:
    rates: list[int]
    seconds: float
    floor_rate: int
    warmup_s: float


@dataclass
class RateResult:
    rate: int
    offered: int
    latencies_s: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0
    ids: list[str] = field(default_factory=list)

    def ms(self, q: float) -> str:
        return f"{percentile(sorted(self.latencies_s), q) * 1000:.1f}"


async def kafka_round_trip_floor(
    bootstrap: str, idempotent: bool, rate: int, seconds: float
) -> list[float]:
    """Request -> replier -> reply over two topics, consumers at fetch_max_wait_ms=10."""
    tag = uuid.uuid4().hex[:8]
    requests, replies = f"bench.floor.req.{tag}", f"bench.floor.rep.{tag}"
    await create_topics(bootstrap, [requests, replies])
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=idempotent, linger_ms=1
    )
    server_in = AIOKafkaConsumer(
        requests,
        bootstrap_servers=bootstrap,
        group_id=f"floor-s-{tag}",
        auto_offset_reset="earliest",
        fetch_max_wait_ms=10,
    )
    client_in = AIOKafkaConsumer(
        replies,
        bootstrap_servers=bootstrap,
        group_id=f"floor-c-{tag}",
        auto_offset_reset="earliest",
        fetch_max_wait_ms=10,
    )
    await asyncio.gather(producer.start(), server_in.start(), client_in.start())
    sent: dict[bytes, float] = {}
    latencies: list[float] = []

    async def replier() -> None:
        async for message in server_in:
            await producer.send(replies, message.value, key=message.key)

    async def receiver() -> None:
        async for message in client_in:
            started = sent.pop(message.value or b"", None)
            if started is not None:
                latencies.append(time.perf_counter() - started)

    tasks = [asyncio.create_task(replier()), asyncio.create_task(receiver())]
    try:
        await asyncio.sleep(1.0)  # both groups joined before the clock starts

        async def offer(n: int) -> None:
            for _ in range(n):
                token = uuid.uuid4().bytes
                sent[token] = time.perf_counter()
                await producer.send(requests, token, key=token[:4])

        await paced(rate, seconds, offer)
        deadline = time.monotonic() + 10
        while sent and time.monotonic() < deadline:  # noqa: ASYNC110 (bounded drain)
            await asyncio.sleep(0.01)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(producer.stop(), server_in.stop(), client_in.stop())
    return sorted(latencies)


class Pos:
    """The pharmacies' POS systems: keys, stocked codes, and a shared HTTP client."""

    def __init__(self, platform: Platform, http: httpx.AsyncClient) -> None:
        self.platform = platform
        self.http = http
        self.admin = {"Authorization": f"Bearer {platform.admin_token}"}
        self.keys: dict[str, dict[str, str]] = {}
        self.med = "XJ01CAA" + uuid.uuid4().hex[:16].upper()
        self.prefix = "8" + str(uuid.uuid4().int)[:6]
        self.serial = 0
        self.shelf: dict[str, list[str]] = {}

    def url(self, service: str, path: str) -> str:
        return self.platform.services[service].url + path

    async def set_up(self, codes_per_pharmacy: int) -> None:
        for n in range(PHARMACIES):
            code = f"P{n:03d}{uuid.uuid4().hex[:8].upper()}"
            r = await self.http.post(
                self.url("settlement-ingest", "/v1/admin/institutions"),
                headers=self.admin,
                json={
                    "fixmedins_code": code,
                    "name": f"药房{n}",
                    "kind": "pharmacy",
                    "level": "retail",
                    "admdvs": "150302",
                },
            )
            r.raise_for_status()
            self.keys[code] = {"Authorization": f"Bearer {r.json()['api_key']}"}
        r = await self.http.post(
            self.url("tracecode-validator", "/v1/admin/catalogue/products"),
            headers=self.admin,
            json=[
                {
                    "med_list_codg": self.med,
                    "name": "阿莫西林胶囊 (bench)",
                    "gtins": [],
                    "trace_prefixes": [{"prefix": self.prefix, "pack_level": "box"}],
                    "units_per_pack": 24,
                    "split_allowed": False,
                    "rx_flag": True,
                }
            ],
        )
        r.raise_for_status()
        for code, headers in self.keys.items():
            codes = [self._next_code() for _ in range(codes_per_pharmacy)]
            for start in range(0, len(codes), 5000):
                r = await self.http.post(
                    self.url("settlement-ingest", "/v1/inventory/movements"),
                    headers=headers,
                    json={
                        "fixmedins_code": code,
                        "movement_type": "purchase_in",
                        "med_list_codg": self.med,
                        "drugtracinfo": [
                            {"drug_trac_codg": c} for c in codes[start : start + 5000]
                        ],
                    },
                )
                r.raise_for_status()
            self.shelf[code] = codes
        await self._wait_stocked(len(self.keys) * codes_per_pharmacy)

    def _next_code(self) -> str:
        self.serial += 1
        return f"{self.prefix}{self.serial:09d}0000"

    async def _wait_stocked(self, total: int) -> None:
        conn = await asyncpg.connect(self.platform.service_dsns["tracecode-validator"])
        try:
            for _ in range(1200):
                if (
                    await conn.fetchval("SELECT count(*) FROM codes WHERE state = 'in_stock'")
                    >= total
                ):
                    return
                await asyncio.sleep(0.1)
        finally:
            await conn.close()
        raise TimeoutError("stock movements were not applied")

    def sale(self, n: int) -> tuple[dict[str, str], dict[str, Any]]:
        code = list(self.keys)[n % PHARMACIES]
        codes = [self.shelf[code].pop() for _ in range(LINES_PER_SALE)]
        headers = {**self.keys[code], "Idempotency-Key": str(uuid.uuid4())}
        return headers, {
            "fixmedins_code": code,
            "certno": f"150302{1950 + n % 50}0101{n % 1000:03d}1",
            "setl_time": "2026-11-23T10:00:00+08:00",
            "lines": [
                {
                    "med_list_codg": self.med,
                    "trdn_flag": 0,
                    "sel_retn_cnt": 1,
                    "finl_trns_pric": 12.5,
                    "drugtracinfo": [{"drug_trac_codg": c}],
                }
                for c in codes
            ],
        }


async def offered_load(pos: Pos, load: LoadClient, rate: int, seconds: float) -> RateResult:
    """Open loop: requests start on schedule whether or not earlier ones have answered."""
    result = RateResult(rate, round(rate * seconds))
    inflight: list[asyncio.Task[None]] = []
    counter = 0

    async def one(n: int) -> None:
        headers, body = pos.sale(n)
        started = time.perf_counter()
        try:
            r = await load.request("POST", "/v1/settlements", headers, body)
            status = r.status_code
            if status in (200, 202):
                result.ids.append(r.json()["settlement_id"])
        except OSError:
            status = 0
        result.latencies_s.append(time.perf_counter() - started)
        result.statuses[status] = result.statuses.get(status, 0) + 1

    async def offer(k: int) -> None:
        nonlocal counter
        for _ in range(k):
            inflight.append(asyncio.create_task(one(counter)))
            counter += 1

    started = await paced(rate, seconds, offer)
    await asyncio.gather(*inflight)
    result.seconds = time.perf_counter() - started
    return result


async def stage_breakdown(platform: Platform, ids: list[str]) -> dict[str, float]:
    """Median time from the ingest commit to the validator's decision, from both databases."""
    ingest = await asyncpg.connect(platform.service_dsns["settlement-ingest"])
    validator = await asyncpg.connect(platform.service_dsns["tracecode-validator"])
    try:
        created = {
            r["settlement_id"]: r["created_at"]
            for r in await ingest.fetch(
                "SELECT settlement_id, created_at FROM settlements "
                "WHERE settlement_id = ANY($1::text[])",
                ids,
            )
        }
        decided = {
            r["settlement_id"]: r["decided_at"]
            for r in await validator.fetch(
                "SELECT settlement_id, decided_at FROM decisions "
                "WHERE settlement_id = ANY($1::text[])",
                ids,
            )
        }
    finally:
        await ingest.close()
        await validator.close()
    spans = sorted(
        (decided[i] - created[i]).total_seconds() for i in ids if i in created and i in decided
    )
    return {
        "ingest_commit_to_decision_p50_ms": percentile(spans, 50) * 1000,
        "ingest_commit_to_decision_p99_ms": percentile(spans, 99) * 1000,
        "decided": float(len(spans)),
    }


async def main(opts: Options) -> int:
    with tempfile.TemporaryDirectory(prefix="yibao-bench-") as tmp:
        async with open_servers(Path(tmp)) as servers:
            return await _bench(servers, Path(tmp), opts)


async def _bench(servers: Servers, root: Path, opts: Options) -> int:
    print(f"broker: {servers.broker}; postgres: {servers.postgres}; cores: {os.cpu_count()}")
    floor = await kafka_round_trip_floor(servers.bootstrap, servers.idempotent, opts.floor_rate, 5)
    suffix = uuid.uuid4().hex[:6]
    platform = Platform(
        run_dir=root / "platform",
        ports={s.name: free_port() for s in SERVICES},
        database_url=servers.admin_dsn,
        kafka_bootstrap=servers.bootstrap,
        topic_suffix=f".bench{suffix}",
        database_suffix=f"_bench{suffix}",
    )
    await platform.start_infrastructure()
    await platform.start_services()
    rows: list[list[str]] = []
    cpu_rows: list[list[str]] = []
    try:
        limits = httpx.Limits(max_connections=2000, max_keepalive_connections=500)
        async with httpx.AsyncClient(timeout=30, limits=limits) as http:
            pos = Pos(platform, http)
            need = sum(round(r * opts.seconds) for r in opts.rates) + round(50 * opts.warmup_s) + 50
            await pos.set_up(need * LINES_PER_SALE // PHARMACIES + LINES_PER_SALE)
            # Warm-up: connections, caches, and the broker JVM's JIT (its CPU per request
            # falls by a third once warm on this machine).
            load = LoadClient(platform.services["settlement-ingest"].url)
            await offered_load(pos, load, 50, opts.warmup_s)
            pids = {
                **{name: service.process.pid for name, service in platform.services.items()},
                **servers.pids,
                "load client": os.getpid(),
            }
            for rate in opts.rates:
                before = cpu_readings(pids)
                result = await offered_load(pos, load, rate, opts.seconds)
                used = {k: v - before[k] for k, v in cpu_readings(pids).items()}
                answered = max(1, len(result.latencies_s))
                cpu_rows.append(
                    [
                        f"{rate}/s",
                        *(f"{used[name] / answered * 1000:.2f}" for name in pids),
                        f"{sum(used.values()) / answered * 1000:.2f}",
                        f"{sum(used.values()) / result.seconds / (os.cpu_count() or 1):.0%}",
                    ]
                )
                stages = await stage_breakdown(platform, result.ids)
                ok = result.statuses.get(200, 0)
                rows.append(
                    [
                        f"{rate}/s",
                        f"{result.offered}",
                        f"{len(result.latencies_s) / result.seconds:.0f}/s",
                        result.ms(50),
                        result.ms(95),
                        result.ms(99),
                        f"{ok / max(1, result.offered):.1%}",
                        f"{result.statuses.get(202, 0)}",
                        f"{sum(v for k, v in result.statuses.items() if k not in (200, 202))}",
                        f"{stages['ingest_commit_to_decision_p50_ms']:.1f}",
                    ]
                )
            await load.close()
    finally:
        await asyncio.to_thread(platform.stop)
    print(
        f"\nfloor: raw Kafka request/reply at {opts.floor_rate}/s on the same broker: "
        f"p50 {percentile(floor, 50) * 1000:.1f} ms, p99 {percentile(floor, 99) * 1000:.1f} ms "
        f"({len(floor)} round trips)\n"
    )
    print(
        render_table(
            [
                "offered",
                "sent",
                "answered",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "200 decided",
                "202",
                "errors",
                "commit->decision p50 ms",
            ],
            rows,
        )
    )
    print(
        f"\n{LINES_PER_SALE} coded lines per settlement; open loop; client, broker, database "
        "and five services share this machine."
    )
    print("\nCPU ms per answered settlement, by process (from /proc, over each rate's run):\n")
    print(render_table(["offered", *pids, "total", "machine"], cpu_rows))
    return 0


def parse_args() -> Options:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", default="100,300,1000")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--floor-rate", type=int, default=100)
    parser.add_argument("--warmup", type=float, default=10.0)
    args = parser.parse_args()
    return Options(
        [int(r) for r in args.rates.split(",")], args.seconds, args.floor_rate, args.warmup
    )


if __name__ == "__main__":
    raise SystemExit(run(main(parse_args())))
