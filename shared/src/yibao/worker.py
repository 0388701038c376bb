"""The loop every background worker runs: a step at a time, idle waits, outages survived.

Sweeps, notice builders, delivery and bulk-load workers differ only in their step. The loop
around it is the same and easy to get subtly wrong, so it lives here once: a wake-up that
arrives *during* a step is kept (the event is cleared before the step, not after), a failed
step never ends the worker, and `stop()` interrupts any wait at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class WorkLoop:
    """Runs `step` until stopped: again at once while it says more work waits, else idles.

    `step()` returns True when it left work behind (a full batch), False when it found
    little or nothing; then the loop waits for `wake` or `idle_s`. After a failure (the
    database restarting, say) it waits `after_failure_s` before trying again.
    """

    def __init__(self, name: str, *, idle_s: float, after_failure_s: float = 1.0) -> None:
        self.name = name
        self.idle_s = idle_s
        self.after_failure_s = after_failure_s
        self.wake = asyncio.Event()
        self.stopping = asyncio.Event()

    def stop(self) -> None:
        """Finish the step in hand, then return from `run`."""
        self.stopping.set()
        self.wake.set()

    async def run(self, step: Callable[[], Awaitable[bool]]) -> None:
        """Loop over `step`; several tasks may run it side by side on one `WorkLoop`."""
        while not self.stopping.is_set():
            self.wake.clear()
            try:
                more = await step()
            except Exception as exc:  # an outage or one bad item must not end the worker
                log.warning(
                    "worker step failed", extra={"worker": self.name, "error": repr(exc)[:300]}
                )
                await self._wait(self.stopping, self.after_failure_s)
                continue
            if not more:
                await self._wait(self.wake, self.idle_s)

    @staticmethod
    async def _wait(event: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)
