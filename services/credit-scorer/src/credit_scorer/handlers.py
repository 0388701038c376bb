"""Events credit consumes: every decision and alert lands in the subject's file."""

from __future__ import annotations

from yibao.bus.consumer import Handler
from yibao.db import UnitOfWork
from yibao.events import (
    Envelope,
    InstitutionRegistered,
    SettlementDecided,
    TracecodeAlerted,
    topics,
)
from yibao.institutions import handle_institution_registered

from credit_scorer import repository as repo
from credit_scorer.standing import CreditBook, add_finding, upsert_subject


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


def build_handlers(book: CreditBook) -> dict[str, Handler]:
    """Bind the handlers to the indicator tree and policies in force."""

    async def on_registered(envelope: Envelope, uow: UnitOfWork) -> None:
        """Institutions are credit subjects from their registration (the agreement date)."""
        await handle_institution_registered(envelope, uow)
        event = envelope.data
        assert isinstance(event, InstitutionRegistered)
        await upsert_subject(
            uow.conn,
            event.fixmedins_code,
            "hospital" if event.kind == "hospital" else "pharmacy",
            event.registered_at.date(),
        )

    async def on_alerted(envelope: Envelope, uow: UnitOfWork) -> None:
        """Every alert joins the file; a confirmed one is also a deduction."""
        await handle_tracecode_alerted(envelope, uow)
        event = envelope.data
        assert isinstance(event, TracecodeAlerted)
        if event.confirmed:
            await add_finding(
                uow,
                book,
                subject_id=event.fixmedins_code,
                event_type=f"tracecode_alert:{event.rule}",
                indicator_code=None,
                evidence={"alert_id": event.alert_id, **event.evidence},
                decided_on=event.occurred_at.date(),
                source_event_id=envelope.id,
            )

    return {
        topics.INSTITUTION_REGISTERED: on_registered,
        topics.SETTLEMENT_DECIDED: handle_settlement_decided,
        topics.TRACECODE_ALERTED: on_alerted,
    }
