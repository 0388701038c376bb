"""Monthly 亮家底 run for a large province, pushed to a real local HTTP receiver.

The publisher runs as its own process (as `make run` starts it) on this machine's broker and
database. The benchmark registers N recipients (each its own `whsec_` secret) through the
admin API, seeds the DRG projection with a few groups per institution (SQL, so the notices
carry real metrics without timing the consumer), starts the monthly run, and counts what a
receiver written from the Standard Webhooks spec accepts: every request's signature is
verified, and 10 % of the endpoints answer 503 for the first `--fail-seconds` after the run
starts. "The first minutes" of the brief are scaled to seconds here, and the publisher's
backoff with them (base 1 s, cap 8 s instead of minutes to hours), so the run ends in
about a minute; the shape — a tenth of the province unreachable while the rest is pushed,
then a catch-up — is the same.

Run: `uv run python -m bench.disclosure` (`--institutions 12000 --fail-seconds 20
--replicas 1`). Exit code 1 if any notice is not accepted once, or any is accepted twice.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import os
import sys
import tempfile
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvicorn
from yibao.embedded import create_topics, ensure_database, free_port
from yibao.embedded.platform import Platform
from yibao.events.topics import all_topics_with_dlq
from yibao.migrations import upgrade
from yibao.topology import SERVICES, repo_root

from bench.common import Servers, drop_database, open_servers, render_table, run

PUBLISHER = next(s for s in SERVICES if s.name == "disclosure-publisher")
PERIOD = "2026-10"
GROUPS = ("ES23", "FR21", "GB25", "IC19", "RU14")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class Options:
    institutions: int
    fail_fraction: float
    fail_seconds: float
    replicas: int


@dataclass
class Receiver:
    """A bare ASGI receiver: verifies per the spec, fails a tenth of endpoints for a while."""

    secrets: dict[str, bytes]
    failing: set[str]
    fail_seconds: float
    started: float | None = None
    requests: int = 0
    refused_503: int = 0
    bad_signatures: int = 0
    accepted: Counter[str] = field(default_factory=Counter)
    last_accept: float = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        path = scope["path"]
        self.requests += 1
        status = 200
        if not self._verified(self.secrets.get(path), headers, body):
            self.bad_signatures += 1
            status = 400
        elif (
            path in self.failing
            and self.started is not None
            and time.monotonic() - self.started < self.fail_seconds
        ):
            self.refused_503 += 1
            status = 503
        else:
            self.accepted[headers["webhook-id"]] += 1
            self.last_accept = time.monotonic()
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    @staticmethod
    def _verified(key: bytes | None, headers: dict[str, str], body: bytes) -> bool:
        if key is None:
            return False
        signed = f"{headers.get('webhook-id')}.{headers.get('webhook-timestamp')}.".encode() + body
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        return any(
            hmac.compare_digest(part.removeprefix("v1,"), expected)
            for part in headers.get("webhook-signature", "").split(" ")
        )


async def _serve(app: Receiver) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        backlog=4096,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 30
    while not server.started:
        if task.done() or time.monotonic() > deadline:
            raise RuntimeError("the receiver did not start")
        await asyncio.sleep(0.05)
    return server, task, f"http://127.0.0.1:{port}"


async def _register(
    http: httpx.AsyncClient, url: str, admin: str, codes: list[str], receiver: Receiver, base: str
) -> float:
    started = time.perf_counter()
    queue = list(codes)

    async def worker() -> None:
        while queue:
            code = queue.pop()
            key = os.urandom(32)
            receiver.secrets[f"/hook/{code}"] = key
            response = await http.post(
                f"{url}/v1/admin/recipients",
                headers={"Authorization": f"Bearer {admin}"},
                json={
                    "fixmedins_code": code,
                    "webhook_url": f"{base}/hook/{code}",
                    "secret": "whsec_" + base64.b64encode(key).decode(),
                },
            )
            response.raise_for_status()

    await asyncio.gather(*(worker() for _ in range(16)))
    return time.perf_counter() - started


async def _seed_drg(dsn: str, codes: list[str]) -> None:
    """A few DRG groups per institution, so notices carry real metrics (not timed)."""
    rows = []
    for n, code in enumerate(codes):
        for g, group in enumerate(GROUPS[: 2 + n % 4]):
            cases = 1 + (n * 7 + g) % 9
            rows.append(
                (
                    code,
                    PERIOD,
                    group,
                    cases,
                    8000 * (g + 1) * cases,
                    6 * cases,
                    int(n % 50 == 0),
                    5600 * (g + 1) * cases,
                )
            )
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table(
            "drg_group_stats",
            records=rows,
            columns=[
                "fixmedins_code",
                "period",
                "drg_code",
                "cases",
                "total_cost",
                "total_los",
                "deaths",
                "fund_paid",
            ],
        )
    finally:
        await conn.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc), to say where the time goes."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _wait(check: Callable[[], Awaitable[bool]], *, what: str, stall_s: float = 120) -> None:
    deadline = time.monotonic() + stall_s
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.1)


async def main(opts: Options) -> int:
    with tempfile.TemporaryDirectory(prefix="yibao-bench-") as tmp:
        async with open_servers(Path(tmp)) as servers:
            return await _bench(servers, Path(tmp), opts)


async def _bench(servers: Servers, root: Path, opts: Options) -> int:
    print(
        f"broker: {servers.broker}; postgres: {servers.postgres}; cores: {os.cpu_count()}; "
        f"load: {os.getloadavg()[0]:.2f}"
    )
    suffix = uuid.uuid4().hex[:6]
    db_name = f"{PUBLISHER.database}_bench{suffix}"
    dsn = await ensure_database(servers.admin_dsn, db_name)
    await asyncio.to_thread(upgrade, PUBLISHER.directory(repo_root()), dsn)
    topic_suffix = f".bench{suffix}"
    await create_topics(servers.bootstrap, [t + topic_suffix for t in all_topics_with_dlq()])
    platform = Platform(
        run_dir=root / "platform",
        ports={PUBLISHER.name: free_port()},
        database_url=servers.admin_dsn,
        kafka_bootstrap=servers.bootstrap,
        topic_suffix=topic_suffix,
        extra_env={
            "PUBLISHER_DELIVERY_BACKOFF_BASE_S": "1",
            "PUBLISHER_DELIVERY_BACKOFF_MAX_S": "8",
            "PUBLISHER_BREAKER_OPEN_S": "5",
            "PUBLISHER_KAFKA_IDEMPOTENT_PRODUCER": "true" if servers.idempotent else "false",
            "PUBLISHER_LOG_LEVEL": "WARNING",
        },
    )
    platform.service_dsns[PUBLISHER.name] = dsn
    platform.run_dir.mkdir(parents=True)
    codes = [f"H{n:011d}" for n in range(opts.institutions)]
    failing = {
        f"/hook/{c}" for c in codes if zlib.crc32(c.encode()) % 1000 < opts.fail_fraction * 1000
    }
    receiver = Receiver(secrets={}, failing=failing, fail_seconds=opts.fail_seconds)
    server, serving, base = await _serve(receiver)
    replicas: list[Platform] = []
    try:
        service = platform.start_service(PUBLISHER)
        await platform.wait_ready(service)
        for _ in range(opts.replicas - 1):
            # Another process on the same database (same PII key, so it can decrypt secrets).
            replica = Platform(
                run_dir=root / f"replica{len(replicas)}",
                ports={PUBLISHER.name: free_port()},
                database_url=servers.admin_dsn,
                kafka_bootstrap=servers.bootstrap,
                topic_suffix=topic_suffix,
                admin_token=platform.admin_token,
                pii_key=platform.pii_key,
                jwt_secret=platform.jwt_secret,
                extra_env=platform.extra_env,
                service_dsns={PUBLISHER.name: dsn},
            )
            replica.run_dir.mkdir(parents=True)
            await replica.wait_ready(replica.start_service(PUBLISHER))
            replicas.append(replica)
        limits = httpx.Limits(max_connections=32)
        async with httpx.AsyncClient(timeout=30, limits=limits) as http:
            reg_s = await _register(http, service.url, platform.admin_token, codes, receiver, base)
            await _seed_drg(dsn, codes)
            admin = {"Authorization": f"Bearer {platform.admin_token}"}
            cpu_before = cpu_seconds(service.process.pid), time.process_time()
            receiver.started = started = time.monotonic()
            response = await http.post(
                f"{service.url}/v1/admin/notices/monthly", headers=admin, json={"period": PERIOD}
            )
            run_id = response.json()["run_id"]
            built_at: list[float] = []

            async def built() -> bool:
                state = (
                    await http.get(f"{service.url}/v1/admin/notices/runs/{run_id}", headers=admin)
                ).json()
                if state["state"] == "done" and not built_at:
                    built_at.append(time.monotonic())
                return bool(built_at)

            await _wait(built, what="run not built")
            healthy = opts.institutions - len(failing)

            async def healthy_done() -> bool:
                return len(receiver.accepted) >= healthy

            await _wait(healthy_done, what="healthy endpoints not all delivered")
            healthy_at = time.monotonic()

            async def all_done() -> bool:
                return len(receiver.accepted) >= opts.institutions

            await _wait(all_done, what="not every notice delivered")
            done_at = receiver.last_accept
            cpu_publisher = cpu_seconds(service.process.pid) - cpu_before[0]
            cpu_bench = time.process_time() - cpu_before[1]
            await asyncio.sleep(3)  # let any late duplicate show itself before counting
        conn = await asyncpg.connect(dsn)
        try:
            states = {
                r["state"]: r["n"]
                for r in await conn.fetch(
                    "SELECT state, count(*) AS n FROM deliveries GROUP BY state"
                )
            }
            attempts = await conn.fetchval("SELECT count(*) FROM delivery_attempts")
            workers = await conn.fetchval("SELECT count(DISTINCT worker) FROM delivery_attempts")
        finally:
            await conn.close()
    finally:
        for replica in replicas:
            await asyncio.to_thread(replica.stop)
        await asyncio.to_thread(platform.stop)
        server.should_exit = True
        await serving
        await drop_database(servers.admin_dsn, db_name)

    twice = sum(1 for n in receiver.accepted.values() if n > 1)
    total_s = done_at - started
    rows = [
        [
            "register recipients (admin API)",
            f"{opts.institutions:,}",
            f"{reg_s:.1f}",
            f"{opts.institutions / reg_s:,.0f}",
        ],
        [
            "build notices (run posted -> done)",
            f"{opts.institutions:,}",
            f"{built_at[0] - started:.1f}",
            f"{opts.institutions / (built_at[0] - started):,.0f}",
        ],
        [
            "deliver the healthy 90 %",
            f"{healthy:,}",
            f"{healthy_at - started:.1f}",
            f"{healthy / (healthy_at - started):,.0f}",
        ],
        [
            "deliver all (run posted -> last accept)",
            f"{opts.institutions:,}",
            f"{total_s:.1f}",
            f"{opts.institutions / total_s:,.0f}",
        ],
    ]
    print()
    print(render_table(["stage", "notices", "seconds", "per second"], rows))
    print(
        f"\nreplicas {opts.replicas} (workers seen: {workers}); {len(failing):,} endpoints "
        f"({len(failing) / opts.institutions:.1%}) answered 503 for the first "
        f"{opts.fail_seconds:.0f} s: {receiver.refused_503:,} refusals; requests "
        f"{receiver.requests:,}, attempts logged {attempts:,}, bad signatures "
        f"{receiver.bad_signatures}; deliveries by state {dict(states)}"
    )
    print(
        f"CPU from the run's start to the last accept: publisher {cpu_publisher:.1f} s "
        f"({cpu_publisher / opts.institutions * 1000:.1f} ms per notice), receiver + driver "
        f"{cpu_bench:.1f} s, over {total_s:.1f} s of wall time on {os.cpu_count()} cores"
    )
    ok = len(receiver.accepted) == opts.institutions and twice == 0 and receiver.bad_signatures == 0
    print(
        f"accepted once per id: {len(receiver.accepted):,}/{opts.institutions:,}; "
        f"accepted twice: {twice} -> {'OK' if ok else 'FAILED'}"
    )
    return 0 if ok else 1


def parse_args() -> Options:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--institutions", type=int, default=12_000)
    parser.add_argument("--fail-fraction", type=float, default=0.10)
    parser.add_argument("--fail-seconds", type=float, default=20.0)
    parser.add_argument("--replicas", type=int, default=1)
    args = parser.parse_args()
    return Options(args.institutions, args.fail_fraction, args.fail_seconds, args.replicas)


if __name__ == "__main__":
    sys.exit(run(main(parse_args())))
