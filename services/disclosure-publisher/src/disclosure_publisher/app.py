"""disclosure-publisher: "亮家底" notices, point-to-point delivery, feedback."""

from __future__ import annotations

import asyncio
import math

import httpx
from fastapi import FastAPI
from yibao.pii import FieldCipher
from yibao.service import Runtime, create_service_app

from disclosure_publisher.api import feedback, inbox, notices, recipients, reports, stats
from disclosure_publisher.delivery import DeliveryWorker
from disclosure_publisher.feedback import OverdueSweeper
from disclosure_publisher.handlers import HANDLERS
from disclosure_publisher.notices import RunBuilder
from disclosure_publisher.settings import PublisherSettings

CONNECTIONS_PER_CLIENT = 10
"""Small pools: see `DeliveryWorker` on why concurrency comes from several clients."""


def create_app(settings: PublisherSettings | None = None) -> FastAPI:
    """Build the app; the lifespan also runs the run builder, delivery worker and sweeper."""
    config = settings or PublisherSettings()
    cipher = FieldCipher(config.platform.pii_key.get_secret_value())
    tasks: list[asyncio.Task[None]] = []
    shards = max(1, math.ceil(config.delivery_concurrency / CONNECTIONS_PER_CLIENT))
    http = [
        httpx.AsyncClient(
            timeout=config.delivery_timeout_s,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=CONNECTIONS_PER_CLIENT),
        )
        for _ in range(shards)
    ]

    async def on_start(runtime: Runtime) -> None:
        worker = DeliveryWorker(
            uow_factory=runtime.uow,
            http=http,
            cipher=cipher,
            retry=config.retry_policy(),
            breaker=config.breaker_policy(),
            allow_private=config.platform.webhook_allow_private,
            batch_size=config.delivery_batch_size,
            concurrency=config.delivery_concurrency,
            cycles=config.delivery_cycles,
            lease_s=config.delivery_lease_s,
            poll_interval_s=config.delivery_poll_interval_s,
        )
        builder = RunBuilder(
            uow_factory=runtime.uow, settings=config, on_delivery_queued=worker.wake.set
        )
        sweeper = OverdueSweeper(
            uow_factory=runtime.uow, interval_s=config.overdue_sweep_interval_s
        )
        app.state.cipher = cipher
        app.state.delivery = worker
        app.state.builder = builder
        app.state.workers = [builder, sweeper, *([worker] if config.delivery_enabled else [])]
        for part in app.state.workers:
            tasks.append(asyncio.create_task(part.run(), name=type(part).__name__))

    async def on_stop(_runtime: Runtime) -> None:
        for part in app.state.workers:
            part.stop()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(client.aclose() for client in http))

    app = create_service_app(
        config,
        title="Yibao disclosure-publisher",
        description="亮家底: monthly notices per institution, point-to-point delivery "
        "(Standard Webhooks), the pull inbox and the feedback ledger.",
        routers=[
            stats.router,
            recipients.router,
            notices.router,
            inbox.router,
            feedback.router,
            reports.router,
        ],
        handlers=HANDLERS,
        on_start=on_start,
        on_stop=on_stop,
    )
    return app
