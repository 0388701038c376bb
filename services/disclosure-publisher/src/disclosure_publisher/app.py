"""disclosure-publisher: "亮家底" notices, point-to-point delivery, feedback."""

from __future__ import annotations

from fastapi import FastAPI
from yibao.service import create_service_app

from disclosure_publisher.api import stats
from disclosure_publisher.handlers import HANDLERS
from disclosure_publisher.settings import PublisherSettings


def create_app(settings: PublisherSettings | None = None) -> FastAPI:
    """Build the app."""
    return create_service_app(
        settings or PublisherSettings(),
        title="Yibao disclosure-publisher",
        description="亮家底: monthly/quarterly/annual notices per institution, point-to-point "
        "delivery and the feedback ledger.",
        routers=[stats.router],
        handlers=HANDLERS,
    )
