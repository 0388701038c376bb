"""Objections (异议): a subject contests a deduction; while under review it does not count.

A subject may object to a deduction by its id, or by its source key (`alert:<alert_id>`,
`feedback:<item_id>`) — the only way to contest a finding it was told about before credit
has recorded it. Such an objection waits (`awaiting_deduction`) and takes effect the moment
its deduction arrives, which is how an objection that arrives before its deduction is
handled. A reviewer (not the person who filed) accepts (the row is voided) or rejects (it
counts again), within the policy's working-day deadline.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from enum import StrEnum

import asyncpg
from yibao.db import UnitOfWork

from credit_scorer import casework_repository as cases
from credit_scorer import repository as repo
from credit_scorer.domain import ledger
from credit_scorer.domain.ledger import Deduction
from credit_scorer.domain.workflows import (
    ObjectionDecision,
    Refusal,
    check_objection,
    check_objection_decision,
    check_second_approver,
    objection_review_due,
)
from credit_scorer.refusals import refused
from credit_scorer.standing import CreditBook, refresh

SYSTEM_ACTOR = "credit-scorer"


class ObjectionState(StrEnum):
    """awaiting_deduction -> pending -> accepted | rejected; refused when it cannot apply."""

    AWAITING_DEDUCTION = "awaiting_deduction"
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    REFUSED = "refused"


def _entry(record: asyncpg.Record, kind: str, **detail: object) -> repo.FileEntry:
    return repo.case_entry(
        "objection",
        record,
        kind,
        {"deduction_id": record["deduction_id"], "source": record["source_ref"], **detail},
    )


async def _target(
    uow: UnitOfWork, subject_id: str, deduction_id: str | None, source_ref: str | None
) -> tuple[Deduction, date] | None:
    if deduction_id is not None:
        found = await repo.deduction(uow.conn, deduction_id)
        if found is None or found[0].subject_id != subject_id:
            raise refused(
                Refusal("unknown_deduction", f"no deduction {deduction_id} in this file"),
                field="$.deduction_id",
            )
        return found
    assert source_ref is not None
    found = (await repo.deductions_by_source(uow.conn, [source_ref])).get(source_ref)
    if found is not None and found[0].subject_id != subject_id:
        raise refused(
            Refusal("unknown_deduction", f"no deduction from {source_ref} in this file"),
            field="$.source",
        )
    return found


async def file_objection(
    uow: UnitOfWork,
    book: CreditBook,
    *,
    subject_id: str,
    deduction_id: str | None,
    source_ref: str | None,
    grounds: str,
    filed_by: str,
    on: date,
) -> asyncpg.Record:
    """Contest a deduction now, or park the objection until its deduction arrives."""
    await repo.lock_subjects(uow.conn, [subject_id])
    found = await _target(uow, subject_id, deduction_id, source_ref)
    objection_id = str(uuid.uuid4())
    if found is None:
        record = await _insert(
            uow,
            objection_id=objection_id,
            subject_id=subject_id,
            deduction_id=None,
            source_ref=source_ref,
            grounds=grounds,
            filed_by=filed_by,
            filed_on=on,
            review_due=None,
            state=ObjectionState.AWAITING_DEDUCTION.value,
        )
        await repo.record_events(uow.conn, [_entry(record, "objection_filed", waiting=True)])
        return record
    row, notified_on = found
    refusal = check_objection(
        row,
        book.tree,
        notified_on=notified_on,
        filed_on=on,
        policies=book.policies,
        calendar=book.calendar,
    )
    if refusal is not None:
        raise refused(refusal)
    record = await _insert(
        uow,
        objection_id=objection_id,
        subject_id=subject_id,
        deduction_id=row.deduction_id,
        source_ref=row.source_event_id,
        grounds=grounds,
        filed_by=filed_by,
        filed_on=on,
        review_due=objection_review_due(on, book.policies, book.calendar),
        state=ObjectionState.PENDING.value,
    )
    await _suspend(uow, book, row, record, actor=filed_by)
    await refresh(uow, book, [subject_id], on)
    return record


async def _insert(uow: UnitOfWork, **values: object) -> asyncpg.Record:
    try:
        async with uow.conn.transaction():  # a savepoint: the unit of work stays usable
            return await cases.insert_objection(uow.conn, **values)
    except asyncpg.UniqueViolationError:
        raise refused(
            Refusal("case_exists", "an objection to this deduction is already open")
        ) from None


async def _suspend(
    uow: UnitOfWork,
    book: CreditBook,
    row: Deduction,
    record: asyncpg.Record,
    *,
    actor: str,
    kind: str = "objection_filed",
) -> None:
    objected = ledger.object_to(row, appealable=book.tree.rule(row.indicator_code).appealable)
    await repo.set_row_state(
        uow.conn,
        objected,
        row.state,
        cause=f"objection:{record['objection_id']}",
        actor=actor,
    )
    await repo.record_events(uow.conn, [_entry(record, kind, review_due=str(record["review_due"]))])


async def activate_parked(
    uow: UnitOfWork, book: CreditBook, rows: Sequence[Deduction], on: date
) -> None:
    """New rows meet the objections that were waiting for them (the caller refreshes)."""
    by_source = {r.source_event_id: r for r in rows}
    if not by_source:
        return
    for waiting in await cases.parked_objections(uow.conn, list(by_source)):
        row = by_source[waiting["source_ref"]]
        refusal: Refusal | None
        if row.subject_id != waiting["subject_id"]:
            refusal = Refusal("unknown_deduction", "the deduction belongs to another subject")
        else:
            refusal = check_objection(
                row,
                book.tree,
                notified_on=on,
                filed_on=min(waiting["filed_on"], on),
                policies=book.policies,
                calendar=book.calendar,
            )
        if refusal is not None:
            record = await cases.update_objection(
                uow.conn,
                waiting["objection_id"],
                deduction_id=row.deduction_id,
                state=ObjectionState.REFUSED.value,
                decided_by=SYSTEM_ACTOR,
                decided_on=on,
                decision_reason=f"{refusal.code}: {refusal.message}",
            )
            await repo.record_events(
                uow.conn, [_entry(record, "objection_refused", reason=refusal.code)]
            )
            continue
        record = await cases.update_objection(
            uow.conn,
            waiting["objection_id"],
            deduction_id=row.deduction_id,
            state=ObjectionState.PENDING.value,
            review_due=objection_review_due(on, book.policies, book.calendar),
        )
        await _suspend(
            uow, book, row, record, actor=waiting["filed_by"], kind="objection_under_review"
        )


async def decide(
    uow: UnitOfWork,
    book: CreditBook,
    *,
    objection_id: str,
    accepted: bool,
    reason: str,
    reviewer: str,
    on: date,
) -> asyncpg.Record:
    """A reviewer's decision: accepted voids the row, rejected makes it count again."""
    subject = await cases.case_subject(uow.conn, "objection", objection_id)
    if subject is None:
        raise refused(Refusal("unknown_case", f"no objection {objection_id}"))
    await repo.lock_subjects(uow.conn, [subject])
    waiting = await cases.objection_for_update(uow.conn, objection_id)
    assert waiting is not None, "cases are never deleted"
    if waiting["state"] != ObjectionState.PENDING:
        raise refused(Refusal("not_pending", f"objection {objection_id} is {waiting['state']}"))
    decision = ObjectionDecision(objection_id, accepted, reviewer, reason, on)
    refusal = check_objection_decision(decision) or check_second_approver(
        waiting["filed_by"], reviewer
    )
    if refusal is not None:
        raise refused(refusal)
    subject_id = waiting["subject_id"]
    found = await repo.deduction(uow.conn, waiting["deduction_id"])
    assert found is not None, "a pending objection always names its deduction"
    row = found[0]
    decided = ledger.decide_objection(row, accepted=accepted)
    await repo.set_row_state(
        uow.conn, decided, row.state, cause=f"objection:{objection_id}", actor=reviewer
    )
    state = ObjectionState.ACCEPTED if accepted else ObjectionState.REJECTED
    record = await cases.update_objection(
        uow.conn,
        objection_id,
        state=state.value,
        decided_by=reviewer,
        decided_on=on,
        decision_reason=reason,
    )
    late = waiting["review_due"] is not None and on > waiting["review_due"]
    await repo.record_events(
        uow.conn, [_entry(record, f"objection_{state.value}", reason=reason, late=late)]
    )
    await refresh(uow, book, [subject_id], on)
    return record
