"""The composition root shared by the five services: runtime wiring and the app factory.

A service supplies its settings, routers and event handlers; this module builds the pool,
producer, outbox relay and consumer loop, mounts health/metrics/problem handling, and starts
and stops them in the FastAPI lifespan so in-flight work finishes on SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TypeVar

import asyncpg
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, FastAPI

from yibao.auth import Authenticator
from yibao.bus.consumer import AnyHandler, ConsumerConfig, ConsumerLoop, Handler
from yibao.bus.producer import create_producer
from yibao.db import UnitOfWorkFactory, create_pool
from yibao.events import topics
from yibao.institutions import handle_institution_registered, key_lookup
from yibao.observability import RequestContextMiddleware, health_router
from yibao.outbox import OutboxRelay
from yibao.problems import PROBLEM_RESPONSES, install_problem_handlers
from yibao.settings import ServiceSettings

log = logging.getLogger(__name__)

Hook = Callable[["Runtime"], Awaitable[None]]
T = TypeVar("T")
STARTUP_RETRY_S = 1.0


@dataclass
class Runtime:
    """Everything a running service holds: pool, producer, relay, consumer and their tasks."""

    settings: ServiceSettings
    pool: asyncpg.Pool
    producer: AIOKafkaProducer
    uow: UnitOfWorkFactory
    relay: OutboxRelay
    consumer: ConsumerLoop | None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    async def start(
        cls,
        settings: ServiceSettings,
        *,
        handlers: Mapping[str, AnyHandler],
        on_dead_letter: Mapping[str, Handler] | None = None,
    ) -> Runtime:
        """Connect (retrying while dependencies come up), then run relay and consumer."""
        pool = await _retry(
            "database",
            lambda: create_pool(
                settings.database_url, min_size=settings.db_pool_min, max_size=settings.db_pool_max
            ),
        )
        producer = create_producer(settings)
        await _retry("kafka", producer.start)
        uow = UnitOfWorkFactory(pool, source=f"/yibao/{settings.service_name}")
        relay = OutboxRelay(
            dsn=settings.database_url,
            producer=producer,
            name=settings.service_name,
            wake=uow.outbox_written,
            batch_size=settings.outbox_batch_size,
            poll_interval_s=settings.outbox_poll_interval_s,
            topic_suffix=settings.kafka_topic_suffix,
        )
        consumer = None
        if handlers:
            consumer = ConsumerLoop(
                ConsumerConfig(
                    group=settings.consumer_group,
                    bootstrap_servers=settings.kafka_bootstrap_servers,
                    fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
                    fetch_min_bytes=settings.kafka_fetch_min_bytes,
                    batch_size=settings.consumer_batch_size,
                    max_retries=settings.consumer_max_retries,
                    topic_suffix=settings.kafka_topic_suffix,
                    commit_interval_s=settings.consumer_commit_interval_s,
                ),
                handlers=handlers,
                on_dead_letter=on_dead_letter,
                uow_factory=uow,
                producer=producer,
            )
        runtime = cls(settings, pool, producer, uow, relay, consumer)
        runtime.tasks.append(asyncio.create_task(relay.run(), name="outbox-relay"))
        if consumer is not None:
            runtime.tasks.append(asyncio.create_task(consumer.run(), name="consumer"))
        return runtime

    async def stop(self) -> None:
        """Let the consumer finish its batch and the relay its publish, then close."""
        if self.consumer is not None:
            self.consumer.stop()
        self.relay.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.gather(*self.tasks, return_exceptions=True), 20)
        await self.producer.stop()
        await self.pool.close()

    async def check_database(self) -> None:
        """Readiness: one round trip on a pooled connection."""
        await self.pool.fetchval("SELECT 1")

    async def check_broker(self) -> None:
        """Readiness: the broker answers a metadata request."""
        ok = await self.producer.client.fetch_all_metadata()
        if ok is None:
            raise ConnectionError("no metadata from the broker")


async def _retry(what: str, attempt: Callable[[], Awaitable[T]]) -> T:
    while True:
        try:
            return await attempt()
        except Exception as exc:  # dependencies may fail in any way while they boot
            log.warning("waiting for %s", what, extra={"error": repr(exc)})
            await asyncio.sleep(STARTUP_RETRY_S)


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    handlers: Mapping[str, AnyHandler],
    on_dead_letter: Mapping[str, Handler] | None = None,
    on_start: Hook | None = None,
    on_stop: Hook | None = None,
    body_limits: Mapping[str, int] | None = None,
) -> FastAPI:
    """Build a service's FastAPI app; its lifespan owns the runtime.

    `body_limits` raises the body-size limit for exact paths whose routes stream their body.
    """
    all_handlers: dict[str, AnyHandler] = {
        topics.INSTITUTION_REGISTERED: handle_institution_registered,
        **handlers,
    }

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await Runtime.start(
            settings, handlers=all_handlers, on_dead_letter=on_dead_letter
        )
        app.state.runtime = runtime
        admin = settings.platform.admin_token
        app.state.authenticator = Authenticator(
            lookup=key_lookup(runtime.pool),
            admin_token=admin.get_secret_value() if admin else None,
            jwt_secret=settings.platform.jwt_secret.get_secret_value(),
        )
        if on_start is not None:
            await on_start(runtime)
        log.info("service started", extra={"port": settings.port})
        try:
            yield
        finally:
            if on_stop is not None:
                await on_stop(runtime)
            await runtime.stop()
            log.info("service stopped")

    app = FastAPI(
        title=title,
        description=description,
        version="1.0.0",
        lifespan=lifespan,
        responses=PROBLEM_RESPONSES,
    )
    app.state.settings = settings
    install_problem_handlers(app)
    app.add_middleware(
        RequestContextMiddleware, max_body_bytes=settings.max_body_bytes, body_limits=body_limits
    )

    async def database() -> None:
        await app.state.runtime.check_database()

    async def broker() -> None:
        await app.state.runtime.check_broker()

    app.include_router(health_router({"database": database, "kafka": broker}))
    for router in routers:
        app.include_router(router)
    return app
