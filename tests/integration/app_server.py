"""Serving a service's FastAPI app in-process with uvicorn, for integration tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI
from yibao.embedded import free_port


@asynccontextmanager
async def serve_app(app: FastAPI, *, startup_timeout_s: float = 60.0) -> AsyncIterator[str]:
    """Run `app` (lifespan included) on a free port; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = asyncio.get_running_loop().time() + startup_timeout_s
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server exited during start-up")
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("server did not start")
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)
