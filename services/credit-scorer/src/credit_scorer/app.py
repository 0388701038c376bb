"""credit-scorer: credit files, scores and grades for institutions and practitioners."""

from __future__ import annotations

from fastapi import FastAPI
from yibao.service import Runtime, create_service_app

from credit_scorer.api import credit, practitioners, subjects
from credit_scorer.handlers import build_handlers
from credit_scorer.settings import CreditSettings
from credit_scorer.standing import CreditBook


def create_app(settings: CreditSettings | None = None) -> FastAPI:
    """Build the app."""
    book = CreditBook.default()

    async def on_start(_runtime: Runtime) -> None:
        app.state.credit_book = book

    app = create_service_app(
        settings or CreditSettings(),
        title="Yibao credit-scorer",
        description="Incremental credit scores and grades A–D for institutions and practitioners.",
        routers=[subjects.router, practitioners.router, credit.router],
        handlers=build_handlers(book),
        on_start=on_start,
    )
    return app
