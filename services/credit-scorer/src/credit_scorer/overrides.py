"""Manual grade overrides: a reviewer asks, a second, different bureau user approves.

An approved override replaces the computed grade (the tier and the key-supervision list
follow it) until the end of its cycle; the ledger and its fold are untouched, so the file
still shows what the indicators alone would give.
"""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg
from yibao.db import UnitOfWork

from credit_scorer import casework_repository as cases
from credit_scorer import repository as repo
from credit_scorer.domain.dates import next_cycle_start
from credit_scorer.domain.policy import Grade
from credit_scorer.domain.workflows import (
    GradeOverride,
    Refusal,
    check_override_request,
    check_second_approver,
)
from credit_scorer.refusals import refused
from credit_scorer.standing import CreditBook, evaluate_subjects, refresh


def _entry(record: asyncpg.Record, kind: str, **detail: object) -> repo.FileEntry:
    return repo.case_entry(
        "override",
        record,
        kind,
        {"from_grade": record["from_grade"], "to_grade": record["to_grade"], **detail},
    )


async def request(
    uow: UnitOfWork,
    book: CreditBook,
    *,
    subject_id: str,
    grade: Grade,
    reason: str,
    requested_by: str,
    on: date,
) -> asyncpg.Record:
    """Ask for a manual grade; nothing changes until a second person approves."""
    await repo.lock_subjects(uow.conn, [subject_id])
    current = (await evaluate_subjects(uow.conn, book, [subject_id], on)).get(subject_id)
    if current is None:
        raise refused(Refusal("unknown_case", f"{subject_id} is not an institution"))
    override = GradeOverride(subject_id, current.standing.grade, grade, reason, requested_by, None)
    refusal = check_override_request(override)
    if refusal is not None:
        raise refused(refusal)
    try:
        async with uow.conn.transaction():
            record = await cases.insert_override(
                uow.conn,
                override_id=str(uuid.uuid4()),
                subject_id=subject_id,
                from_grade=current.standing.grade,
                to_grade=grade,
                reason=reason,
                requested_by=requested_by,
                requested_on=on,
            )
    except asyncpg.UniqueViolationError:
        raise refused(
            Refusal("case_exists", f"an override of {subject_id} is already waiting")
        ) from None
    await repo.record_events(uow.conn, [_entry(record, "override_requested", reason=reason)])
    return record


async def decide(
    uow: UnitOfWork, book: CreditBook, *, override_id: str, approve: bool, approver: str, on: date
) -> asyncpg.Record:
    """The second approver's decision; an approval applies at once, until the cycle ends."""
    subject = await cases.case_subject(uow.conn, "override", override_id)
    if subject is None:
        raise refused(Refusal("unknown_case", f"no grade override {override_id}"))
    await repo.lock_subjects(uow.conn, [subject])
    record = await cases.override_for_update(uow.conn, override_id)
    assert record is not None, "cases are never deleted"
    if record["state"] != "pending":
        raise refused(Refusal("not_pending", f"override {override_id} is {record['state']}"))
    refusal = check_second_approver(record["requested_by"], approver)
    if refusal is not None:
        raise refused(refusal)
    subject_id = record["subject_id"]
    updated = await cases.decide_override(
        uow.conn,
        override_id,
        state="approved" if approve else "rejected",
        approved_by=approver,
        approved_on=on,
        valid_until=next_cycle_start(on) if approve else None,
    )
    kind = "override_approved" if approve else "override_rejected"
    await repo.record_events(uow.conn, [_entry(updated, kind, by=approver)])
    if approve:
        await refresh(uow, book, [subject_id], on)
    return updated
