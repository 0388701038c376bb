"""Running a service process with uvicorn, tuned as measured (uvloop, httptools, no access log)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import uvicorn
from fastapi import FastAPI

from yibao.logging import configure_logging
from yibao.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)


def serve(create_app: Callable[[S], FastAPI], settings: S) -> None:
    """Serve until SIGTERM/SIGINT; uvicorn then runs the lifespan shutdown (graceful drain)."""
    configure_logging(settings.service_name, settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=20,
    )
