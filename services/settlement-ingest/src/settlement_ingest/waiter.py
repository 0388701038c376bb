"""Waking the HTTP request that waits for its settlement's decision, on any ingest replica.

The replica that consumes `settlement.decided.v1` stores the decision and sends
`NOTIFY settlement_decided, '<id>'` in the same transaction; every replica LISTENs, and the
one holding the request answers it. PostgreSQL is the rendezvous, so it does not matter
which replica Kafka gave the partition to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from settlement_ingest.repository import DECIDED_CHANNEL

log = logging.getLogger(__name__)


class DecisionWaiter:
    """Futures per settlement id, resolved by notifications."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._waiting: dict[str, list[asyncio.Future[None]]] = {}
        self._stopping = asyncio.Event()
        self.listening = asyncio.Event()

    def register(self, settlement_id: str) -> asyncio.Future[None]:
        """Call before committing the request, so a fast decision cannot be missed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(settlement_id, []).append(future)
        return future

    async def wait(
        self, settlement_id: str, future: asyncio.Future[None], deadline_s: float
    ) -> bool:
        """True if the decision arrived within `deadline_s` seconds."""
        try:
            await asyncio.wait_for(asyncio.shield(future), deadline_s)
            return True
        except TimeoutError:
            return False
        finally:
            self.forget(settlement_id, future)

    def forget(self, settlement_id: str, future: asyncio.Future[None]) -> None:
        """Drop a registration that will not be waited on (or has been)."""
        futures = self._waiting.get(settlement_id, [])
        if future in futures:
            futures.remove(future)
        if not futures:
            self._waiting.pop(settlement_id, None)

    def stop(self) -> None:
        """End the listener loop."""
        self._stopping.set()

    async def run(self) -> None:
        """Hold a LISTEN connection, reconnecting if the database goes away."""
        while not self._stopping.is_set():
            try:
                conn = await asyncpg.connect(self._dsn)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("decision listener reconnecting", extra={"error": repr(exc)})
                await self._pause(1.0)
                continue
            try:
                await self._listen(conn)
            except Exception as exc:  # any failure: reconnect rather than stop waking requests
                log.warning("decision listener lost", extra={"error": repr(exc)})
                await self._pause(1.0)
            finally:
                self.listening.clear()
                with contextlib.suppress(Exception):
                    await conn.close()

    async def _listen(self, conn: asyncpg.Connection) -> None:
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _c: lost.set())
        await conn.add_listener(DECIDED_CHANNEL, self._on_notify)
        self.listening.set()
        stop = asyncio.create_task(self._stopping.wait())
        gone = asyncio.create_task(lost.wait())
        await asyncio.wait({stop, gone}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        gone.cancel()

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        for future in self._waiting.get(str(payload), []):
            if not future.done():
                future.set_result(None)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
