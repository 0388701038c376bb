"""Health, readiness and metrics endpoints plus the HTTP middleware every service mounts."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from yibao.logging import correlation_id
from yibao.metrics import HTTP_DURATION, HTTP_REQUESTS, READINESS
from yibao.problems import (
    ProblemError,
    problem_response,
    route_template,
    unexpected_error_response,
)

ReadinessCheck = Callable[[], Awaitable[None]]
CHECK_TIMEOUT_S = 2.0


def health_router(checks: Mapping[str, ReadinessCheck]) -> APIRouter:
    """`/healthz` says the process runs; `/readyz` says its database and broker answer."""
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                await asyncio.wait_for(check(), CHECK_TIMEOUT_S)
                results[name] = "ok"
                READINESS.labels(name).set(1)
            except Exception as exc:  # any failure means "not ready", whatever its type
                results[name] = f"failed: {type(exc).__name__}"
                READINESS.labels(name).set(0)
        if all(v == "ok" for v in results.values()):
            return JSONResponse({"status": "ready", "checks": results})
        failed = ", ".join(f"{k} {v}" for k, v in results.items() if v != "ok")
        problem = ProblemError(
            503,
            "not_ready",
            "Service not ready",
            f"A dependency did not answer: {failed}",
            headers={"Retry-After": "5"},
            extra={"checks": results},
        )
        return problem_response(problem)

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


class RequestContextMiddleware:
    """Correlation ids, request metrics and the body-size guard in one cheap ASGI layer.

    Written as raw ASGI rather than `BaseHTTPMiddleware` because that wrapper costs a
    noticeable share of a ~3k req/s budget.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        body_limits: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        # Bulk uploads (a population CSV of millions of rows) are streamed by their route,
        # never held in memory, so they get their own, larger limit by exact path.
        self.body_limits = dict(body_limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        cid = headers.get(b"x-correlation-id", b"").decode("latin-1")[:64] or str(uuid.uuid4())
        token = correlation_id.set(cid)
        if "\x00" in scope.get("path", ""):
            # PostgreSQL cannot even compare text with NUL in it; no id or code contains one.
            problem = ProblemError(
                400, "invalid_path", "Invalid path", "The path contains a NUL character."
            )
            await problem_response(problem)(scope, receive, send)
            correlation_id.reset(token)
            return
        limit = self.body_limits.get(scope.get("path", ""), self.max_body_bytes)
        declared = headers.get(b"content-length", b"")
        too_large = declared.isdigit() and int(declared) > limit
        status, started, seen = 500, False, 0
        start = time.perf_counter()

        async def limited_receive() -> Message:
            nonlocal seen, too_large
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    too_large = True
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal status, started
            if too_large and not started and message["type"].startswith("http.response"):
                return  # the app's answer to a body it could not read is replaced below
            if message["type"] == "http.response.start":
                started, status = True, message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-correlation-id", cid.encode()),
                ]
            await send(message)

        try:
            if not too_large:
                try:
                    await self.app(scope, limited_receive, tracking_send)
                except _BodyTooLarge:
                    pass
                except Exception as exc:
                    # Answer here, while the correlation id is still set, so the 500 and its
                    # log line carry the id the client is told to quote.
                    if started:
                        raise
                    await unexpected_error_response(route_template(scope), exc)(
                        scope, receive, tracking_send
                    )
            if too_large and not started:
                too_large = False
                problem = ProblemError(
                    413,
                    "body_too_large",
                    "Body too large",
                    f"The request body exceeds {limit} bytes.",
                    hint="Split it into smaller requests.",
                )
                await problem_response(problem)(scope, receive, tracking_send)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            method = scope.get("method", "")
            HTTP_REQUESTS.labels(method, path, str(status)).inc()
            HTTP_DURATION.labels(method, path).observe(time.perf_counter() - start)
            correlation_id.reset(token)


class _BodyTooLarge(Exception):
    """Internal signal: the streamed body crossed the limit."""
