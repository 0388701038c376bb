"""A subject's credit (the contract's view) and what inspectors file against it."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field
from yibao.calendar import BUREAU_TZ
from yibao.requests import RequestModel

from credit_scorer import repository as repo
from credit_scorer.api.roles import Inspector, OwnFile
from credit_scorer.domain.evaluation import Evaluation
from credit_scorer.domain.sources import Finding
from credit_scorer.findings import add_findings
from credit_scorer.practitioners import current_status
from credit_scorer.standing import CreditBook, evaluate_subjects, subject_type, today

router = APIRouter(prefix="/v1", tags=["credit"])


class DeductionOut(BaseModel):
    indicator: str
    points: Decimal
    state: str
    evidence: dict[str, Any]
    deduction_id: str
    source: str = Field(description="the finding's source key (`alert:…`, `feedback:…`, …)")
    effective_from: date
    expires_at: date


class PractitionerStanding(BaseModel):
    year_points: int
    status: str
    suspended_until: date | None
    banned_until: date | None


class CreditOut(BaseModel):
    subject_id: str
    subject_type: str
    score: Decimal
    grade: str | None = Field(description="A–D; null while the agreement is under 6 months")
    lists: list[str]
    tier: str | None
    deductions: list[DeductionOut] = Field(description="the largest deductions in force")
    veto: str | None = Field(default=None, description="the event type forcing D, if any")
    override_id: str | None = Field(
        default=None, description="the approved manual grade in force, if any"
    )
    practitioner: PractitionerStanding | None = Field(
        default=None, description="practitioners: the 12-point system's status (no grade A–D)"
    )


class FindingIn(RequestModel):
    event_type: str = Field(
        min_length=1,
        max_length=100,
        description="inspection_finding, penalty, complaint, drg_data_quality, …",
    )
    indicator_code: str | None = Field(
        default=None, description="三级指标; needed when several indicators react to the event"
    )
    decided_on: date = Field(description="处理决定日期")
    evidence: dict[str, Any] = Field(default_factory=dict)


class InspectionIn(RequestModel):
    inspected_on: date = Field(description="检查日期")
    note: str = Field(default="", max_length=2000)


class InspectionOut(BaseModel):
    subject_id: str
    last_inspected_on: date


def credit_out(subject_id: str, kind: str, result: Evaluation) -> CreditOut:
    """The contract's view of an evaluation."""
    standing = result.standing
    return CreditOut(
        subject_id=subject_id,
        subject_type=kind,
        score=standing.score,
        grade=standing.grade,
        lists=sorted(item.value for item in standing.lists),
        tier=standing.tier.value if standing.tier else None,
        deductions=[
            DeductionOut(
                indicator=row.indicator_code,
                points=row.points,
                state=row.state.value,
                evidence=dict(row.evidence),
                deduction_id=row.deduction_id,
                source=row.source_event_id,
                effective_from=row.effective_from,
                expires_at=row.expires_at,
            )
            for row in result.score.top_deductions
        ],
        veto=standing.veto.event_type if standing.veto else None,
        override_id=result.override_id,
    )


@router.get("/subjects/{subject_id}/credit", response_model=CreditOut)
async def credit(subject_id: str, principal: OwnFile, request: Request) -> CreditOut:
    """An institution reads its own; bureau users read any."""
    book: CreditBook = request.app.state.credit_book
    async with request.app.state.runtime.pool.acquire() as conn:
        kind = await subject_type(conn, subject_id)
        result = (await evaluate_subjects(conn, book, [subject_id], today()))[subject_id]
        person = await current_status(conn, subject_id, today())
    answer = credit_out(subject_id, kind, result)
    if person is not None:
        answer.practitioner = PractitionerStanding(
            year_points=person.year_points,
            status=person.status.value,
            suspended_until=person.suspended_until,
            banned_until=person.banned_until,
        )
    return answer


@router.post(
    "/admin/subjects/{subject_id}/findings",
    response_model=CreditOut,
    status_code=status.HTTP_201_CREATED,
    summary="File an inspection finding, penalty or complaint against a subject",
)
async def file_finding(
    subject_id: str, body: FindingIn, principal: Inspector, request: Request
) -> CreditOut:
    book: CreditBook = request.app.state.credit_book
    finding = Finding(
        subject_id=subject_id,
        event_type=body.event_type,
        source_ref=f"finding:{uuid.uuid4()}",
        decided_on=body.decided_on,
        evidence={**body.evidence, "filed_by": principal.subject},
        indicator_code=body.indicator_code,
    )
    async with request.app.state.runtime.uow() as uow:
        evaluated = await add_findings(uow, book, [finding], on=today(), strict=True)
        kind = await subject_type(uow.conn, subject_id)
        await uow.commit()
    return credit_out(subject_id, kind, evaluated[subject_id])


@router.post(
    "/admin/subjects/{subject_id}/inspections",
    response_model=InspectionOut,
    summary="Record a routine inspection (with or without findings) for the inspection plan",
)
async def record_inspection(
    subject_id: str, body: InspectionIn, principal: Inspector, request: Request
) -> InspectionOut:
    async with request.app.state.runtime.uow() as uow:
        await repo.ensure_subjects(uow.conn, [(subject_id, body.inspected_on)])
        await repo.mark_inspected(uow.conn, subject_id, body.inspected_on)
        await repo.record_event(
            uow.conn,
            event_id=f"inspection:{uuid.uuid4()}",
            subject_id=subject_id,
            kind="inspection",
            occurred_at=datetime.combine(body.inspected_on, time(), tzinfo=BUREAU_TZ),
            detail={
                "inspected_on": body.inspected_on.isoformat(),
                "note": body.note,
                "by": principal.subject,
            },
        )
        last = await uow.conn.fetchval(
            "SELECT last_inspected_on FROM credit_subjects WHERE subject_id = $1", subject_id
        )
        await uow.commit()
    return InspectionOut(subject_id=subject_id, last_inspected_on=last)
