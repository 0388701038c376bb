"""A webhook receiver written from the Standard Webhooks specification, independently of
the publisher's own signing code, served over real HTTP for the delivery tests.

Verification as the spec tells receivers to do it: take `webhook-id`, `webhook-timestamp`
and the raw body, HMAC-SHA256 `"{id}.{timestamp}.{body}"` with the base64-decoded part of
the `whsec_` secret, and accept if any space-separated `v1,<base64>` entry of
`webhook-signature` matches in constant time and the timestamp is within five minutes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import orjson
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from tests.integration.app_server import serve_app

TOLERANCE_S = 300
Behaviour = Callable[[str, str, int], tuple[int, dict[str, str]]]
"""(path, webhook-id, how many times this id was seen at this path) -> (status, headers)."""


def verify(secret: str, headers: dict[str, str], body: bytes, *, now: float) -> bool:
    """The spec's receiver-side check."""
    msg_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    if not msg_id or not timestamp.isdigit() or abs(now - int(timestamp)) > TOLERANCE_S:
        return False
    key = base64.b64decode(secret.split("_", 1)[1])
    expected = base64.b64encode(
        hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    ).decode()
    for entry in headers.get("webhook-signature", "").split(" "):
        version, _, signature = entry.partition(",")
        if version == "v1" and hmac.compare_digest(signature, expected):
            return True
    return False


def always_ok(_path: str, _msg_id: str, _seen: int) -> tuple[int, dict[str, str]]:
    return 200, {}


@dataclass
class Seen:
    """One request as the receiver got it."""

    path: str
    msg_id: str
    verified: bool
    status: int
    at: float
    body: dict[str, object]


@dataclass
class Receiver:
    """Holds the secrets per path, a behaviour, and everything it received."""

    secrets: dict[str, list[str]] = field(default_factory=dict)
    behaviour: Behaviour = always_ok
    seen: list[Seen] = field(default_factory=list)
    url: str = ""

    @property
    def accepted(self) -> Counter[str]:
        """How many times each webhook-id was answered 2xx."""
        return Counter(s.msg_id for s in self.seen if 200 <= s.status < 300)

    def for_path(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        path = request.url.path
        headers = {k.lower(): v for k, v in request.headers.items()}
        msg_id = headers.get("webhook-id", "")
        ok = any(
            verify(secret, headers, body, now=time.time()) for secret in self.secrets.get(path, [])
        )
        seen = sum(1 for s in self.seen if s.path == path and s.msg_id == msg_id)
        status, extra = self.behaviour(path, msg_id, seen) if ok else (400, {})
        self.seen.append(Seen(path, msg_id, ok, status, time.monotonic(), orjson.loads(body)))
        return Response(status_code=status, headers=extra)

    def app(self) -> FastAPI:
        app = FastAPI(openapi_url=None)
        app.add_route("/{path:path}", self._handle, methods=["POST"])
        return app


@asynccontextmanager
async def running_receiver(receiver: Receiver) -> AsyncIterator[Receiver]:
    """Serve the receiver on a free local port for the duration of the block."""
    async with serve_app(receiver.app()) as url:
        receiver.url = url
        yield receiver
