"""Events the publisher consumes into its per-institution monthly projection."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from yibao.bus.consumer import Handler
from yibao.db import UnitOfWork
from yibao.events import Envelope, SettlementDecided, topics

from disclosure_publisher import repository as repo

# Periods are the bureau's calendar months, in China Standard Time.
BUREAU_TZ = ZoneInfo("Asia/Shanghai")


async def handle_settlement_decided(envelope: Envelope, uow: UnitOfWork) -> None:
    """Count the decision into its institution's month."""
    event = envelope.data
    assert isinstance(event, SettlementDecided)
    await repo.count_settlement(
        uow.conn,
        fixmedins_code=event.fixmedins_code,
        period=event.decided_at.astimezone(BUREAU_TZ).strftime("%Y-%m"),
        status=event.status,
        amount=event.amount,
    )


HANDLERS: dict[str, Handler] = {topics.SETTLEMENT_DECIDED: handle_settlement_decided}
