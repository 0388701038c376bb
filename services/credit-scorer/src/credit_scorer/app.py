"""credit-scorer: credit files, scores and grades for institutions and practitioners."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from yibao.service import Runtime, create_service_app

from credit_scorer.api import casework, configuration, credit, lists, practitioners, subjects
from credit_scorer.handlers import build_handlers
from credit_scorer.settings import CreditSettings
from credit_scorer.standing import CreditBook
from credit_scorer.sweeper import ClockSweep


def create_app(settings: CreditSettings | None = None) -> FastAPI:
    """Build the app."""
    settings = settings or CreditSettings()
    book = CreditBook.default()
    sweeps: list[tuple[ClockSweep, asyncio.Task[None]]] = []

    async def on_start(runtime: Runtime) -> None:
        app.state.credit_book = book
        sweep = ClockSweep(
            runtime.uow,
            book,
            interval_s=settings.sweep_interval_s,
            batch_size=settings.sweep_batch_size,
        )
        sweeps.append((sweep, asyncio.create_task(sweep.run(), name="credit-clock-sweep")))

    async def on_stop(_runtime: Runtime) -> None:
        for sweep, task in sweeps:
            sweep.stop()
            await task

    app = create_service_app(
        settings,
        title="Yibao credit-scorer",
        description="Incremental credit scores and grades A–D for institutions and practitioners.",
        routers=[
            subjects.router,
            practitioners.router,
            credit.router,
            casework.router,
            lists.router,
            configuration.router,
        ],
        handlers=build_handlers(book),
        on_start=on_start,
        on_stop=on_stop,
    )
    return app
