"""Session fixtures: one real PostgreSQL and one real Kafka broker for the whole run.

`DATABASE_URL` (an admin DSN) and `KAFKA_BOOTSTRAP_SERVERS` point the suite at existing
servers; otherwise the embedded ones start once here. Tests isolate themselves with
uuid-named databases, topic suffixes and consumer groups, and clean up after themselves.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from yibao.embedded import EmbeddedKafka, EmbeddedPostgres, create_topics, ensure_database
from yibao.events.topics import all_topics_with_dlq
from yibao.migrations import upgrade
from yibao.schema import PLATFORM_TABLES


@dataclass
class Infra:
    """Where the suite's database server and broker are."""

    admin_dsn: str
    bootstrap: str
    kafka: EmbeddedKafka | None
    postgres: EmbeddedPostgres | None

    @property
    def idempotent_producer(self) -> bool:
        return self.kafka is None or self.kafka.supports_idempotence


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infra]:
    """Start (or reuse) PostgreSQL and Kafka once per test session."""
    root: Path = tmp_path_factory.mktemp("infra")
    postgres = kafka = None
    admin_dsn = os.environ.get("DATABASE_URL")
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not admin_dsn:
        postgres = EmbeddedPostgres(root / "postgres", fast=True)
        admin_dsn = postgres.start()
    if not bootstrap:
        kafka = EmbeddedKafka(root / "kafka")
        bootstrap = kafka.start()
    try:
        yield Infra(admin_dsn, bootstrap, kafka, postgres)
    finally:
        if kafka is not None:
            kafka.stop()
        if postgres is not None:
            postgres.stop()


async def drop_database(admin_dsn: str, name: str) -> None:
    """Remove a test database, disconnecting whoever still holds it."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def platform_db(infra: Infra) -> AsyncIterator[str]:
    """A fresh database holding only the platform tables (outbox, processed events, …)."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    dsn = await ensure_database(infra.admin_dsn, name)
    conn = await asyncpg.connect(dsn)
    try:
        for ddl in PLATFORM_TABLES:
            await conn.execute(ddl)
    finally:
        await conn.close()
    yield dsn
    await drop_database(infra.admin_dsn, name)


async def service_database(infra: Infra, service_dir: Path) -> tuple[str, str]:
    """A fresh database with one service's migrations applied: (name, dsn)."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    dsn = await ensure_database(infra.admin_dsn, name)
    await asyncio.to_thread(upgrade, service_dir, dsn)
    return name, dsn


@pytest.fixture
async def topic_suffix(infra: Infra) -> str:
    """A unique suffix with every platform topic (and DLQ) created under it."""
    suffix = f".t{uuid.uuid4().hex[:10]}"
    await create_topics(infra.bootstrap, [t + suffix for t in all_topics_with_dlq()])
    return suffix
