"""settlement-ingest: the HTTP API POS and HIS systems call."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from yibao.pii import FieldCipher
from yibao.service import Runtime, create_service_app

from settlement_ingest.api import admin, settlements
from settlement_ingest.commands import IngestContext
from settlement_ingest.handlers import HANDLERS
from settlement_ingest.settings import IngestSettings
from settlement_ingest.waiter import DecisionWaiter


def create_app(settings: IngestSettings | None = None) -> FastAPI:
    """Build the app; the lifespan adds the decision listener to the shared runtime."""
    settings = settings or IngestSettings()
    waiter = DecisionWaiter(settings.database_url)
    tasks: list[asyncio.Task[None]] = []

    async def on_start(runtime: Runtime) -> None:
        tasks.append(asyncio.create_task(waiter.run(), name="decision-listener"))
        app.state.ingest = IngestContext(
            settings=settings,
            uow=runtime.uow,
            waiter=waiter,
            cipher=FieldCipher(settings.platform.pii_key.get_secret_value()),
        )
        await asyncio.wait_for(waiter.listening.wait(), 30)

    async def on_stop(_runtime: Runtime) -> None:
        waiter.stop()
        await asyncio.gather(*tasks, return_exceptions=True)

    app = create_service_app(
        settings,
        title="Yibao settlement-ingest",
        description="Settlements, returns, stock movements and DRG cases from POS/HIS systems "
        "(national 医保 field names). No code, no settlement.",
        routers=[settlements.router, admin.router],
        handlers=HANDLERS,
        on_start=on_start,
        on_stop=on_stop,
    )
    return app
