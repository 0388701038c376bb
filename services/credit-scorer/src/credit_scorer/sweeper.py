"""The clock sweep: standings that change with the date alone (a deduction expires, a black
listing lapses, a subject reaches six months of agreement, a cycle begins) are re-folded on
the day, so their credit.grade-changed.v1 goes out without waiting for the next event.

Each standing stores `next_change_on`; a re-fold moves it past the day swept. Replicas may
sweep at once: they serialise per subject on its advisory lock, and a change is published
once because the second re-fold finds the stored standing already current.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date

from yibao.db import UnitOfWork
from yibao.worker import WorkLoop

from credit_scorer import standing_repository as standings
from credit_scorer.standing import CreditBook, refresh, today

log = logging.getLogger(__name__)


async def sweep(
    uow_factory: Callable[[], UnitOfWork], book: CreditBook, on: date, *, batch_size: int
) -> int:
    """Re-fold every subject due on or before `on`; returns how many were re-folded."""
    total = 0
    while True:
        async with uow_factory() as uow:
            due = await standings.due_for_reevaluation(uow.conn, on, batch_size)
            if not due:
                return total
            await refresh(uow, book, due, on)
            await uow.commit()
        total += len(due)


class ClockSweep:
    """Runs `sweep` every `interval_s` until stopped."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        book: CreditBook,
        *,
        interval_s: float,
        batch_size: int,
    ) -> None:
        self._uow_factory = uow_factory
        self._book = book
        self._batch_size = batch_size
        self._loop = WorkLoop("credit clock sweep", idle_s=interval_s)

    def stop(self) -> None:
        """Finish the batch in hand and return."""
        self._loop.stop()

    async def run(self) -> None:
        """Sweep, wait, repeat; a failed sweep is logged and retried."""
        await self._loop.run(self._sweep_once)

    async def _sweep_once(self) -> bool:
        swept = await sweep(self._uow_factory, self._book, today(), batch_size=self._batch_size)
        if swept:
            log.info("clock sweep re-folded subjects", extra={"subjects": swept})
        return False  # one pass re-folds everything due; the next is an interval away
