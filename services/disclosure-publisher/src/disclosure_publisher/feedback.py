"""The feedback ledger's commands and the overdue sweep (escalation feeds credit)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import asyncpg
from yibao.calendar import BUREAU_TZ
from yibao.db import UnitOfWork
from yibao.events import FeedbackOverdue
from yibao.worker import WorkLoop

from disclosure_publisher import feedback_store as store
from disclosure_publisher.domain.feedback import Action, Actor, Status, apply, overdue_days
from disclosure_publisher.metrics import FEEDBACK_ESCALATED

log = logging.getLogger(__name__)
SWEEP_BATCH = 500


def bureau_today() -> date:
    return datetime.now(BUREAU_TZ).date()


async def transition(
    uow: UnitOfWork,
    item: asyncpg.Record,
    action: Action,
    *,
    actor: Actor,
    by: str,
    text: str | None,
    response_days: int,
    owner: str | None = None,
    classification: str | None = None,
    today: date | None = None,
) -> asyncpg.Record:
    """Apply one action to a locked item (raises `TransitionError` when not allowed)."""
    day = today or bureau_today()
    move = apply(
        Status(item["status"]), action, actor=actor, today=day, response_days=response_days
    )
    entry: dict[str, Any] = {
        "at": datetime.now(BUREAU_TZ).isoformat(),
        "actor": actor,
        "by": by,
        "action": action.value,
        "status": move.status.value,
        **({"text": text} if text else {}),
    }
    return await store.update_item(
        uow.conn,
        item["item_id"],
        status=move.status.value,
        due_date=move.due_date or item["due_date"],
        owner=owner or item["owner"],
        classification=classification or item["classification"],
        history_entry=entry,
        reset_escalation=move.restarts_escalation,
    )


async def escalate_overdue(uow: UnitOfWork, *, today: date) -> int:
    """Escalate overdue items once each, emitting `feedback.overdue.v1` in the same commit."""
    rows = await store.claim_overdue(uow.conn, today=today, limit=SWEEP_BATCH)
    for row in rows:
        uow.emit(
            FeedbackOverdue(
                item_id=row["item_id"],
                notice_id=row["notice_id"],
                fixmedins_code=row["fixmedins_code"],
                period=row["period"],
                status=row["status"],
                due_date=row["due_date"],
                overdue_days=overdue_days(Status(row["status"]), row["due_date"], today),
                escalated_at=row["escalated_at"],
            )
        )
    FEEDBACK_ESCALATED.inc(len(rows))
    return len(rows)


class OverdueSweeper:
    """Runs the sweep periodically; replicas share it safely through SKIP LOCKED."""

    def __init__(
        self,
        *,
        uow_factory: Callable[[], UnitOfWork],
        interval_s: float,
        today: Callable[[], date] = bureau_today,
    ) -> None:
        self._uow = uow_factory
        self._today = today
        self._loop = WorkLoop("overdue feedback sweep", idle_s=interval_s)

    def stop(self) -> None:
        self._loop.stop()

    async def run(self) -> None:
        await self._loop.run(self._sweep_once)

    async def _sweep_once(self) -> bool:
        """Escalate one batch; a full batch means more may be overdue."""
        async with self._uow() as uow:
            escalated = await escalate_overdue(uow, today=self._today())
            await uow.commit()
        return escalated >= SWEEP_BATCH
