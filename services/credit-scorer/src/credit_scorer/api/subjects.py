"""A subject's file (一户一档) and the subject registry.

The file is the subject's timeline — every event credit received about it, every deduction,
objection, repair, override and change of standing — plus its whole ledger with each row's
current state. The registry is fed by `institution.registered.v1`, by the ids seen in other
events, and by the bureau through this API (which states the agreement date, and wins).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, Field
from yibao.auth import AdminPrincipal
from yibao.requests import RequestModel

from credit_scorer import repository as repo
from credit_scorer.api.roles import Bureau, OwnFile
from credit_scorer.standing import CreditBook, refresh, today

router = APIRouter(prefix="/v1", tags=["subjects"])

SubjectType = Literal["hospital", "pharmacy", "doctor", "pharmacist", "nurse", "other"]


class FileEntry(BaseModel):
    event_id: str
    kind: str
    occurred_at: datetime
    detail: dict[str, Any]


class LedgerRow(BaseModel):
    deduction_id: str
    indicator: str
    tree_version: str
    event_type: str
    source: str
    points: Decimal
    state: str
    effective_from: date
    expires_at: date
    repaired_from: date | None
    evidence: dict[str, Any]


class SubjectFile(BaseModel):
    subject_id: str
    entries: list[FileEntry] = Field(description="the timeline, newest first")
    ledger: list[LedgerRow] = Field(description="every deduction and bonus, oldest first")


class SubjectIn(RequestModel):
    subject_id: str = Field(min_length=1, max_length=64, description="fixmedins_code or certno")
    subject_type: SubjectType
    agreement_from: date = Field(description="协议起始日期: grading starts 6 months later")
    name: str | None = Field(default=None, max_length=200)


class SubjectOut(BaseModel):
    subject_id: str
    subject_type: str
    name: str | None
    agreement_from: date
    source: str = Field(description="registration, event (seen in an event only) or api")
    last_inspected_on: date | None
    score: Decimal | None
    grade: str | None
    tier: str | None
    lists: list[str]


class SubjectPage(BaseModel):
    subjects: list[SubjectOut]
    next_cursor: str | None


@router.get("/subjects/{subject_id}/file", response_model=SubjectFile)
async def subject_file(
    subject_id: str,
    principal: OwnFile,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> SubjectFile:
    """Institutions read only their own file; bureau users read any."""
    pool = request.app.state.runtime.pool
    rows = await repo.subject_events(pool, subject_id, limit)
    async with pool.acquire() as conn:
        ledger = (await repo.ledgers(conn, [subject_id]))[subject_id]
    ledger.sort(key=lambda r: (r.effective_from, r.deduction_id))
    return SubjectFile(
        subject_id=subject_id,
        entries=[FileEntry(**dict(r)) for r in rows],
        ledger=[
            LedgerRow(
                deduction_id=r.deduction_id,
                indicator=r.indicator_code,
                tree_version=r.tree_version,
                event_type=r.event_type,
                source=r.source_event_id,
                points=r.points,
                state=r.state.value,
                effective_from=r.effective_from,
                expires_at=r.expires_at,
                repaired_from=r.repaired_from,
                evidence=dict(r.evidence),
            )
            for r in ledger
        ],
    )


@router.post(
    "/admin/subjects",
    response_model=SubjectOut,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": SubjectOut, "description": "an existing subject was updated"}},
    summary="Register a subject or correct its type and agreement date",
)
async def put_subject(
    body: SubjectIn, _admin: AdminPrincipal, request: Request, response: Response
) -> SubjectOut:
    book: CreditBook = request.app.state.credit_book
    async with request.app.state.runtime.uow() as uow:
        await repo.lock_subjects(uow.conn, [body.subject_id])
        created = await repo.put_subject(
            uow.conn,
            subject_id=body.subject_id,
            subject_type=body.subject_type,
            agreement_from=body.agreement_from,
            name=body.name,
        )
        await refresh(uow, book, [body.subject_id], today())
        await uow.commit()
    if not created:
        response.status_code = status.HTTP_200_OK
    page = await repo.list_subjects(
        request.app.state.runtime.pool, subject_type=None, after="", limit=1, only=body.subject_id
    )
    return _subject_out(page[0])


@router.get("/admin/subjects", response_model=SubjectPage)
async def list_subjects(
    _bureau: Bureau,
    request: Request,
    subject_type: SubjectType | None = None,
    cursor: str = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> SubjectPage:
    """The registry in subject order; pass `next_cursor` back as `cursor` for the next page."""
    rows = await repo.list_subjects(
        request.app.state.runtime.pool, subject_type=subject_type, after=cursor, limit=limit
    )
    return SubjectPage(
        subjects=[_subject_out(r) for r in rows],
        next_cursor=rows[-1]["subject_id"] if len(rows) == limit else None,
    )


def _subject_out(record: Any) -> SubjectOut:
    return SubjectOut(
        subject_id=record["subject_id"],
        subject_type=record["subject_type"],
        name=record["name"],
        agreement_from=record["agreement_from"],
        source=record["source"],
        last_inspected_on=record["last_inspected_on"],
        score=record["score"],
        grade=record["grade"],
        tier=record["tier"],
        lists=list(record["lists"] or []),
    )
