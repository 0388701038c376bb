"""credit-scorer: credit files, scores and grades for institutions and practitioners."""

from __future__ import annotations

from fastapi import FastAPI
from yibao.service import create_service_app

from credit_scorer.api import practitioners, subjects
from credit_scorer.handlers import HANDLERS
from credit_scorer.settings import CreditSettings


def create_app(settings: CreditSettings | None = None) -> FastAPI:
    """Build the app."""
    return create_service_app(
        settings or CreditSettings(),
        title="Yibao credit-scorer",
        description="Incremental credit scores and grades A–D for institutions and practitioners.",
        routers=[subjects.router, practitioners.router],
        handlers=HANDLERS,
    )
