"""Events credit consumes: every decision and alert lands in the subject's file."""

from __future__ import annotations

from yibao.bus.consumer import Handler
from yibao.db import UnitOfWork
from yibao.events import Envelope, SettlementDecided, TracecodeAlerted, topics

from credit_scorer import repository as repo


async def handle_settlement_decided(envelope: Envelope, uow: UnitOfWork) -> None:
    """Keep decisions with hits: they are the evidence behind later deductions."""
    event = envelope.data
    assert isinstance(event, SettlementDecided)
    if not event.hits:
        return
    await repo.record_event(
        uow.conn,
        event_id=envelope.id,
        subject_id=event.fixmedins_code,
        kind=f"settlement_{event.status}",
        occurred_at=event.decided_at,
        detail={"settlement_id": event.settlement_id, "rules": [h.rule for h in event.hits]},
    )


async def handle_tracecode_alerted(envelope: Envelope, uow: UnitOfWork) -> None:
    """An alert is a suspected violation in the institution's file."""
    event = envelope.data
    assert isinstance(event, TracecodeAlerted)
    await repo.record_event(
        uow.conn,
        event_id=envelope.id,
        subject_id=event.fixmedins_code,
        kind="tracecode_alert",
        occurred_at=event.occurred_at,
        detail={"rule": event.rule, "severity": event.severity, "confirmed": event.confirmed},
    )


HANDLERS: dict[str, Handler] = {
    topics.SETTLEMENT_DECIDED: handle_settlement_decided,
    topics.TRACECODE_ALERTED: handle_tracecode_alerted,
}
