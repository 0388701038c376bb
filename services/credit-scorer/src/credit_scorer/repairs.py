"""Credit repair (信用修复): apply after rectification and the waiting period; a reviewer
decides within the policy's working days; a second, different bureau user approves; the
repaired row stops counting from the next cycle.
"""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum

import asyncpg
from yibao.db import UnitOfWork

from credit_scorer import casework_repository as cases
from credit_scorer import repository as repo
from credit_scorer.domain import ledger
from credit_scorer.domain.workflows import (
    Refusal,
    RepairDecision,
    check_repair_application,
    check_repair_decision,
    check_second_approver,
    repair_review_due,
)
from credit_scorer.refusals import refused
from credit_scorer.standing import CreditBook, refresh


class RepairState(StrEnum):
    """pending -> reviewed (awaiting the second approver) -> approved; rejected at either."""

    PENDING = "pending"
    REVIEWED = "reviewed"
    APPROVED = "approved"
    REJECTED = "rejected"


def _entry(record: asyncpg.Record, kind: str, **detail: object) -> repo.FileEntry:
    return repo.case_entry(
        "repair", record, kind, {"deduction_id": record["deduction_id"], **detail}
    )


async def apply(
    uow: UnitOfWork,
    book: CreditBook,
    *,
    subject_id: str,
    deduction_id: str,
    rectified_on: date,
    statement: str,
    applied_by: str,
    on: date,
) -> asyncpg.Record:
    """File an application if the waiting period of the policy in force today is over."""
    await repo.lock_subjects(uow.conn, [subject_id])
    rows = (await repo.ledgers(uow.conn, [subject_id]))[subject_id]
    refusal = check_repair_application(
        rows,
        book.tree,
        deduction_id,
        rectified_on=rectified_on,
        applied_on=on,
        policies=book.policies,
    )
    if refusal is not None:
        raise refused(
            refusal, field="$.deduction_id" if refusal.code == "unknown_deduction" else None
        )
    try:
        async with uow.conn.transaction():
            record = await cases.insert_repair(
                uow.conn,
                repair_id=str(uuid.uuid4()),
                subject_id=subject_id,
                deduction_id=deduction_id,
                rectified_on=rectified_on,
                statement=statement,
                applied_by=applied_by,
                applied_on=on,
                review_due=repair_review_due(on, book.policies, book.calendar),
            )
    except asyncpg.UniqueViolationError:
        raise refused(
            Refusal("case_exists", "a repair of this deduction is already under review")
        ) from None
    await repo.record_events(
        uow.conn, [_entry(record, "repair_applied", review_due=str(record["review_due"]))]
    )
    return record


async def _open(uow: UnitOfWork, repair_id: str, expected: RepairState) -> asyncpg.Record:
    subject = await cases.case_subject(uow.conn, "repair", repair_id)
    if subject is None:
        raise refused(Refusal("unknown_case", f"no repair application {repair_id}"))
    await repo.lock_subjects(uow.conn, [subject])
    record = await cases.repair_for_update(uow.conn, repair_id)
    assert record is not None, "cases are never deleted"
    if record["state"] != expected:
        raise refused(
            Refusal("not_pending", f"repair {repair_id} is {record['state']}, not {expected}")
        )
    return record


async def review(
    uow: UnitOfWork, *, repair_id: str, approve: bool, reason: str, reviewer: str, on: date
) -> asyncpg.Record:
    """The reviewer's decision: a refusal ends the case; a yes waits for a second approver."""
    record = await _open(uow, repair_id, RepairState.PENDING)
    if not reason.strip():
        raise refused(Refusal("reason_required", "a repair decision must state its grounds"))
    state = RepairState.REVIEWED if approve else RepairState.REJECTED
    updated = await cases.update_repair(
        uow.conn,
        repair_id,
        state=state.value,
        reviewed_by=reviewer,
        reviewed_on=on,
        review_reason=reason,
    )
    late = on > record["review_due"]
    kind = "repair_reviewed" if approve else "repair_rejected"
    await repo.record_events(uow.conn, [_entry(updated, kind, reason=reason, late=late)])
    return updated


async def approve(
    uow: UnitOfWork, book: CreditBook, *, repair_id: str, approve: bool, approver: str, on: date
) -> asyncpg.Record:
    """Four-eyes: a different bureau user confirms (the row is repaired) or turns it down."""
    record = await _open(uow, repair_id, RepairState.REVIEWED)
    refusal = (
        check_repair_decision(
            RepairDecision(record["deduction_id"], True, record["reviewed_by"], approver, on)
        )
        if approve
        else check_second_approver(record["reviewed_by"], approver)
    )
    if refusal is not None:
        raise refused(refusal)
    if not approve:
        updated = await cases.update_repair(
            uow.conn,
            repair_id,
            state=RepairState.REJECTED.value,
            approved_by=approver,
            approved_on=on,
        )
        await repo.record_events(uow.conn, [_entry(updated, "repair_rejected", by=approver)])
        return updated
    subject_id = record["subject_id"]
    found = await repo.deduction(uow.conn, record["deduction_id"])
    assert found is not None, "a repair always names a deduction of its file"
    row = found[0]
    try:
        repaired = ledger.approve_repair(row, approved_on=on)
    except ledger.TransitionError as exc:
        raise refused(Refusal("not_active", str(exc))) from None
    await repo.set_row_state(
        uow.conn, repaired, row.state, cause=f"repair:{repair_id}", actor=approver
    )
    updated = await cases.update_repair(
        uow.conn,
        repair_id,
        state=RepairState.APPROVED.value,
        approved_by=approver,
        approved_on=on,
        repaired_from=repaired.repaired_from,
    )
    await repo.record_events(
        uow.conn,
        [_entry(updated, "repair_approved", repaired_from=str(repaired.repaired_from))],
    )
    await refresh(uow, book, [subject_id], on)
    return updated
