"""The disclosure-publisher served in-process over the session's PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import asyncpg
import httpx
import orjson
from aiokafka import AIOKafkaConsumer
from disclosure_publisher.app import create_app
from disclosure_publisher.settings import PublisherSettings
from pydantic import SecretStr
from yibao.auth import generate_api_key, hash_api_key
from yibao.events import InstitutionRegistered
from yibao.institutions import upsert_institution
from yibao.settings import PlatformSettings

from tests.conftest import Infra
from tests.integration.app_server import serve_app

ADMIN = "test-admin-token"
JWT_SECRET = "test-jwt-secret-for-publisher-tests-0123456789"
FAST = {
    "delivery_backoff_base_s": 0.05,
    "delivery_backoff_max_s": 0.3,
    "delivery_poll_interval_s": 0.05,
    "delivery_lease_s": 30.0,
    "breaker_failures_to_open": 1000,
    "overdue_sweep_interval_s": 0.2,
    "monthly_schedule_day": None,
}


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def settings_for(infra: Infra, dsn: str, suffix: str, **overrides: Any) -> PublisherSettings:
    return PublisherSettings(
        database_url=dsn,
        kafka_bootstrap_servers=infra.bootstrap,
        kafka_topic_suffix=suffix,
        kafka_idempotent_producer=infra.idempotent_producer,
        kafka_fetch_max_wait_ms=10,
        kafka_fetch_min_bytes=1,
        platform=PlatformSettings(
            admin_token=SecretStr(ADMIN),
            jwt_secret=SecretStr(JWT_SECRET),
            webhook_allow_private=True,
        ),
        **{**FAST, **overrides},
    )


@dataclass
class Publisher:
    """A running publisher: its URL, an HTTP client, and a connection to its database."""

    url: str
    http: httpx.AsyncClient
    db: asyncpg.Connection
    settings: PublisherSettings
    admin: ClassVar[dict[str, str]] = {"Authorization": f"Bearer {ADMIN}"}

    async def institution(
        self,
        code: str | None = None,
        level: str = "secondary",
        *,
        kind: str = "hospital",
        admdvs: str = "150302",
    ) -> tuple[str, dict[str, str]]:
        """Register an institution in the publisher's projection (as the event would)."""
        code = code or kind[0].upper() + uuid.uuid4().hex[:11].upper()
        key = generate_api_key()
        await upsert_institution(
            self.db,
            InstitutionRegistered(
                fixmedins_code=code,
                name=f"机构 {code}",
                kind=kind,  # type: ignore[arg-type]
                level=level,  # type: ignore[arg-type]
                admdvs=admdvs,
                api_key_hash=hash_api_key(key),
                registered_at=datetime.now(UTC),
            ),
        )
        return code, {"Authorization": f"Bearer {key}"}

    async def recipient(self, code: str, url: str, secret: str) -> httpx.Response:
        return await self.http.post(
            "/v1/admin/recipients",
            headers=self.admin,
            json={"fixmedins_code": code, "webhook_url": url, "secret": secret},
        )

    async def monthly(self, period: str, version: int = 1) -> str:
        """Start a run and wait (bounded) until it is built."""
        response = await self.http.post(
            "/v1/admin/notices/monthly",
            headers=self.admin,
            json={"period": period, "version": version},
        )
        assert response.status_code == 202, response.text
        run_id: str = response.json()["run_id"]

        async def built() -> bool:
            status = await self.http.get(f"/v1/admin/notices/runs/{run_id}", headers=self.admin)
            return bool(status.json()["state"] == "done")

        await eventually(built)
        return run_id

    async def events(self, topic: str, count: int, timeout_s: float = 30.0) -> list[dict[str, Any]]:
        """The first `count` events the publisher emitted on `topic` (through outbox + Kafka)."""
        consumer = AIOKafkaConsumer(
            topic + self.settings.kafka_topic_suffix,
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        found: list[dict[str, Any]] = []
        try:
            deadline = asyncio.get_running_loop().time() + timeout_s
            while len(found) < count and asyncio.get_running_loop().time() < deadline:
                batches = await consumer.getmany(timeout_ms=200)
                found.extend(orjson.loads(r.value) for rs in batches.values() for r in rs)
        finally:
            await consumer.stop()
        return found

    async def deliveries(self) -> dict[str, str]:
        rows = await self.db.fetch("SELECT notice_id, state FROM deliveries")
        return {r["notice_id"]: r["state"] for r in rows}


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 30.0) -> None:
    """Bounded polling: the condition must hold before the deadline."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


@asynccontextmanager
async def running_publisher(settings: PublisherSettings) -> AsyncIterator[Publisher]:
    async with (
        serve_app(create_app(settings)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        db = await asyncpg.connect(settings.database_url)
        try:
            yield Publisher(url, http, db, settings)
        finally:
            await db.close()
