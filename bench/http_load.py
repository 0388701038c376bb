"""A lean HTTP/1.1 keep-alive client for load generation (asyncio streams + httptools).

httpx costs milliseconds of CPU per request here, and its connection pool is scanned per
request, so under a backlog the load client took more CPU than the services it measured.
This client does one thing: POST/GET JSON over a bounded pool of keep-alive connections.
Requests beyond the pool wait for a free connection, and that wait counts in the latency the
caller measures (open loop: the schedule, not the client, decides when a request is due).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httptools


@dataclass
class Response:
    status_code: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)


class _Connection:
    """One socket and a parser that collects one response at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._body = bytearray()
        self._headers: dict[str, str] = {}
        self._done = False
        self._parser = httptools.HttpResponseParser(self)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode().lower()] = value.decode()

    def on_body(self, body: bytes) -> None:
        self._body += body

    def on_message_complete(self) -> None:
        self._done = True

    async def exchange(self, request: bytes) -> Response:
        self._body, self._headers, self._done = bytearray(), {}, False
        self.writer.write(request)
        while not self._done:
            chunk = await self.reader.read(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self._parser.feed_data(chunk)
        return Response(self._parser.get_status_code(), bytes(self._body), self._headers)


class LoadClient:
    """`await client.request("POST", path, headers, body)` over at most `max_connections`."""

    def __init__(self, base_url: str, *, max_connections: int = 256) -> None:
        parts = urlsplit(base_url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(max_connections)

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: Any = None
    ) -> Response:
        payload = b"" if body is None else json.dumps(body).encode()
        head = [f"{method} {path} HTTP/1.1", f"Host: {self._host}:{self._port}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        if body is not None:
            head += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        request = ("\r\n".join(head) + "\r\n\r\n").encode() + payload
        async with self._slots:
            reused = bool(self._idle)
            conn = self._idle.pop() if reused else await self._connect()
            try:
                response = await conn.exchange(request)
            except ConnectionError:
                conn.writer.close()
                if not reused:
                    raise
                # The server closed a connection that sat idle past its keep-alive timeout
                # (uvicorn: 5 s); a browser or requests retries on a fresh one, so do we.
                conn = await self._connect()
                response = await conn.exchange(request)
            except BaseException:
                conn.writer.close()
                raise
            if response.headers.get("connection", "").lower() == "close":
                conn.writer.close()
            else:
                self._idle.append(conn)
            return response

    async def _connect(self) -> _Connection:
        reader, writer = await asyncio.open_connection(self._host, self._port)
        return _Connection(reader, writer)

    async def close(self) -> None:
        for conn in self._idle:
            conn.writer.close()
        self._idle.clear()
