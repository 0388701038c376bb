"""`/readyz` follows its dependencies: 503 while the database or broker is gone, 200 after."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from credit_scorer.app import create_app
from credit_scorer.settings import CreditSettings
from yibao.embedded import EmbeddedKafka, EmbeddedPostgres, create_topics, ensure_database
from yibao.events.topics import all_topics_with_dlq
from yibao.migrations import upgrade
from yibao.topology import SERVICES, repo_root

from tests.integration.app_server import serve_app

pytestmark = pytest.mark.integration


async def _ready_status(client: httpx.AsyncClient, want: int, timeout_s: float = 30.0) -> int:
    """Poll (bounded) until /readyz answers `want`; return the last status seen."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    status = 0
    while asyncio.get_running_loop().time() < deadline:
        status = (await client.get("/readyz")).status_code
        if status == want:
            break
        await asyncio.sleep(0.2)
    return status


async def test_readyz_tracks_database_and_broker(tmp_path: Path) -> None:
    postgres = EmbeddedPostgres(tmp_path / "pg", fast=True)
    admin_dsn = await asyncio.to_thread(postgres.start)
    kafka = EmbeddedKafka(tmp_path / "kafka")
    bootstrap = await asyncio.to_thread(kafka.start)
    try:
        spec = next(s for s in SERVICES if s.name == "credit-scorer")
        dsn = await ensure_database(admin_dsn, spec.database)
        await asyncio.to_thread(upgrade, spec.directory(repo_root()), dsn)
        await create_topics(bootstrap, all_topics_with_dlq())
        settings = CreditSettings(
            database_url=dsn,
            kafka_bootstrap_servers=bootstrap,
            kafka_idempotent_producer=kafka.supports_idempotence,
        )
        async with (
            serve_app(create_app(settings)) as url,
            httpx.AsyncClient(base_url=url, timeout=5) as client,
        ):
            assert await _ready_status(client, 200) == 200

            await asyncio.to_thread(postgres.stop)
            response = await client.get("/readyz")
            assert response.status_code == 503
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.json()["checks"]["database"].startswith("failed")
            assert (await client.get("/healthz")).status_code == 200

            await asyncio.to_thread(postgres.start)
            assert await _ready_status(client, 200) == 200

            await asyncio.to_thread(kafka.pause)
            try:
                assert await _ready_status(client, 503) == 503
            finally:
                await asyncio.to_thread(kafka.resume)
            assert await _ready_status(client, 200) == 200
    finally:
        await asyncio.to_thread(kafka.stop)
        await asyncio.to_thread(postgres.stop)
