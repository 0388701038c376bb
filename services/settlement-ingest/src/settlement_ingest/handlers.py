"""Events ingest consumes: decisions complete the waiting POS requests."""

from __future__ import annotations

from yibao.bus.consumer import Handler
from yibao.db import UnitOfWork
from yibao.events import Envelope, SettlementDecided, topics

from settlement_ingest import repository as repo


async def handle_settlement_decided(envelope: Envelope, uow: UnitOfWork) -> None:
    """Store the decision; the NOTIFY inside wakes the replica holding the HTTP request."""
    event = envelope.data
    assert isinstance(event, SettlementDecided)
    await repo.record_decision(
        uow.conn,
        settlement_id=event.settlement_id,
        status=event.status,
        hits=[h.model_dump(mode="json") for h in event.hits],
        decided_at=event.decided_at,
    )


HANDLERS: dict[str, Handler] = {topics.SETTLEMENT_DECIDED: handle_settlement_decided}
