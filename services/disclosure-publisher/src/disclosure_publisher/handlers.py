"""Events the publisher consumes into its per-institution, per-period projections."""

from __future__ import annotations

from yibao.bus.consumer import Handler
from yibao.calendar import bureau_period
from yibao.db import UnitOfWork
from yibao.events import (
    CreditGradeChanged,
    DrgSettled,
    EnrollmentStatusChanged,
    Envelope,
    SettlementDecided,
    TracecodeAlerted,
    topics,
)

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


async def handle_drg_settled(envelope: Envelope, uow: UnitOfWork) -> None:
    """A DRG case counts in the month of its discharge settlement."""
    event = envelope.data
    assert isinstance(event, DrgSettled)
    await repo.add_drg_case(uow.conn, event, bureau_period(event.settled_at))


async def handle_tracecode_alerted(envelope: Envelope, uow: UnitOfWork) -> None:
    """A suspected violation goes to its institution's next notice, with its evidence."""
    event = envelope.data
    assert isinstance(event, TracecodeAlerted)
    await repo.add_alert(uow.conn, event, bureau_period(event.occurred_at))


async def handle_credit_grade_changed(envelope: Envelope, uow: UnitOfWork) -> None:
    """Institutions' grades only (practitioners get no notice)."""
    event = envelope.data
    assert isinstance(event, CreditGradeChanged)
    if event.subject_type in ("hospital", "pharmacy"):
        await repo.add_credit(uow.conn, event)


async def handle_enrollment_status_changed(envelope: Envelope, uow: UnitOfWork) -> None:
    """Who is uninsured where: the list a grassroots unit's notice carries."""
    event = envelope.data
    assert isinstance(event, EnrollmentStatusChanged)
    await repo.set_enrollment(uow.conn, event)


HANDLERS: dict[str, Handler] = {
    topics.SETTLEMENT_DECIDED: handle_settlement_decided,
    topics.DRG_SETTLED: handle_drg_settled,
    topics.TRACECODE_ALERTED: handle_tracecode_alerted,
    topics.CREDIT_GRADE_CHANGED: handle_credit_grade_changed,
    topics.ENROLLMENT_STATUS_CHANGED: handle_enrollment_status_changed,
}
