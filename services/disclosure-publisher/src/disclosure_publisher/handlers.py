"""Events the publisher consumes into its per-institution monthly projection."""

from __future__ import annotations

from yibao.bus.consumer import Handler
from yibao.calendar import bureau_period
from yibao.db import UnitOfWork
from yibao.events import Envelope, SettlementDecided, topics

from disclosure_publisher import repository as repo


async def handle_settlement_decided(envelope: Envelope, uow: UnitOfWork) -> None:
    """Count the decision into its institution's month."""
    event = envelope.data
    assert isinstance(event, SettlementDecided)
    await repo.count_settlement(
        uow.conn,
        fixmedins_code=event.fixmedins_code,
        period=bureau_period(event.decided_at),
        status=event.status,
        amount=event.amount,
    )


HANDLERS: dict[str, Handler] = {topics.SETTLEMENT_DECIDED: handle_settlement_decided}
