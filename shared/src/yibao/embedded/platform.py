"""The whole platform on one machine: database, broker, migrations, topics, five services.

Used by `make run` (through `python -m yibao.embedded`) and by the end-to-end test
fixtures, so what a newcomer runs is what the tests run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from yibao.embedded.kafka import EmbeddedKafka, create_topics
from yibao.embedded.postgres import EmbeddedPostgres, ensure_database
from yibao.events.topics import all_topics_with_dlq
from yibao.migrations import upgrade
from yibao.topology import SERVICES, ServiceSpec, repo_root

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 90.0
STOP_GRACE_S = 25.0


@dataclass
class RunningService:
    """A service process and where to reach it."""

    spec: ServiceSpec
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Platform:
    """Starts and stops everything; `database_url` / `kafka_bootstrap` reuse external ones."""

    run_dir: Path
    ports: dict[str, int] = field(default_factory=dict)
    database_url: str | None = None
    kafka_bootstrap: str | None = None
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    pii_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    extra_env: dict[str, str] = field(default_factory=dict)
    topic_suffix: str = ""
    database_suffix: str = ""
    postgres: EmbeddedPostgres | None = None
    kafka: EmbeddedKafka | None = None
    services: dict[str, RunningService] = field(default_factory=dict)
    service_dsns: dict[str, str] = field(default_factory=dict)

    async def start_infrastructure(self) -> None:
        """Database and broker (embedded unless given), then databases, migrations, topics."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.database_url is None:
            self.postgres = EmbeddedPostgres(self.run_dir / "postgres", fast=False)
            self.database_url = await asyncio.to_thread(self.postgres.start)
        if self.kafka_bootstrap is None:
            self.kafka = EmbeddedKafka(self.run_dir / "kafka")
            self.kafka_bootstrap = await asyncio.to_thread(self.kafka.start)
        for spec in SERVICES:
            dsn = await ensure_database(self.database_url, spec.database + self.database_suffix)
            self.service_dsns[spec.name] = dsn
            await asyncio.to_thread(upgrade, spec.directory(repo_root()), dsn)
        topics = [t + self.topic_suffix for t in all_topics_with_dlq()]
        await create_topics(self.kafka_bootstrap, topics)

    def service_env(self, spec: ServiceSpec) -> dict[str, str]:
        """The environment one service process gets."""
        assert self.kafka_bootstrap is not None
        prefix = spec.env_prefix
        idempotent = self.kafka is None or self.kafka.supports_idempotence
        return {
            **os.environ,
            f"{prefix}PORT": str(self.port_of(spec)),
            f"{prefix}DATABASE_URL": self.service_dsns[spec.name],
            f"{prefix}KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            f"{prefix}KAFKA_IDEMPOTENT_PRODUCER": "true" if idempotent else "false",
            **({f"{prefix}KAFKA_FETCH_MAX_WAIT_MS": "10"} if self.on_tansu else {}),
            f"{prefix}KAFKA_TOPIC_SUFFIX": self.topic_suffix,
            "YIBAO_ADMIN_TOKEN": self.admin_token,
            "YIBAO_JWT_SECRET": self.jwt_secret,
            "YIBAO_PII_KEY": self.pii_key,
            "YIBAO_EMBEDDED": "1",
            "YIBAO_WEBHOOK_ALLOW_PRIVATE": "1",
            **self.extra_env,
        }

    @property
    def on_tansu(self) -> bool:
        """The fallback broker sleeps through every fetch wait, so consumers must keep it short."""
        return self.kafka is not None and self.kafka.flavour == "tansu"

    def port_of(self, spec: ServiceSpec) -> int:
        """The configured port: explicit, then `<PREFIX>PORT`, then the contract default."""
        if spec.name in self.ports:
            return self.ports[spec.name]
        return int(os.environ.get(f"{spec.env_prefix}PORT", spec.port))

    def start_service(self, spec: ServiceSpec) -> RunningService:
        """Launch one service as its own process (its own process group, for clean stops)."""
        port = self.port_of(spec)
        if not _port_free(port):
            raise RuntimeError(
                f"port {port} for {spec.name} is taken (a leftover run?); stop it or set "
                f"{spec.env_prefix}PORT"
            )
        log_path = self.run_dir / f"{spec.name}.log"
        with log_path.open("ab") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-m", spec.package],
                env=self.service_env(spec),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        running = RunningService(spec, port, process, log_path)
        self.services[spec.name] = running
        return running

    async def start_services(self) -> None:
        """Launch all five and wait until each answers `/readyz` with 200."""
        for spec in SERVICES:
            self.start_service(spec)
        await asyncio.gather(*(self.wait_ready(s) for s in self.services.values()))

    async def wait_ready(self, service: RunningService, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Poll readiness (bounded); a crashed process fails at once with its log tail."""
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if service.process.poll() is not None:
                    raise RuntimeError(f"{service.spec.name} exited:\n{_tail(service.log_path)}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(service.url + "/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.2)
        raise TimeoutError(
            f"{service.spec.name} not ready in {timeout_s}s:\n{_tail(service.log_path)}"
        )

    def stop_service(self, name: str, sig: signal.Signals = signal.SIGTERM) -> None:
        """Stop one service (SIGTERM drains in-flight work; SIGKILL simulates a crash)."""
        service = self.services.pop(name, None)
        if service is None or service.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(service.process.pid, sig)
        try:
            service.process.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            os.killpg(service.process.pid, signal.SIGKILL)
            service.process.wait()

    def stop(self) -> None:
        """Services first (they drain), then the broker, then the database."""
        for name in list(self.services):
            self.stop_service(name)
        if self.kafka is not None:
            self.kafka.stop()
        if self.postgres is not None:
            self.postgres.stop()


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
