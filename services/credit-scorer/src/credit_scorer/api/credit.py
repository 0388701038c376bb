"""A subject's credit (the contract's view) and the findings inspectors file against it."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, Field
from yibao.auth import (
    AnyPrincipal,
    Principal,
    forbidden,
    require_same_institution,
)
from yibao.requests import RequestModel

from credit_scorer.domain.scoring import Score
from credit_scorer.standing import CreditBook, add_finding, current_score, subject_type

router = APIRouter(prefix="/v1", tags=["credit"])


async def _inspector(principal: AnyPrincipal) -> Principal:
    if not principal.is_bureau("inspector"):
        raise forbidden("Filing findings needs the inspector role.")
    return principal


Inspector = Annotated[Principal, Depends(_inspector)]


class DeductionOut(BaseModel):
    indicator: str
    points: Decimal
    state: str
    evidence: dict[str, Any]


class CreditOut(BaseModel):
    subject_id: str
    subject_type: str
    score: Decimal
    grade: str | None = Field(description="A–D; null while the agreement is under 6 months")
    lists: list[str]
    tier: str | None
    deductions: list[DeductionOut] = Field(description="the largest deductions in force")


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


def _out(subject_id: str, kind: str, result: Score) -> CreditOut:
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
            )
            for row in result.top_deductions
        ],
    )


@router.get("/subjects/{subject_id}/credit", response_model=CreditOut)
async def credit(subject_id: str, principal: AnyPrincipal, request: Request) -> CreditOut:
    """An institution reads its own; bureau users read any."""
    require_same_institution(principal, subject_id)
    runtime = request.app.state.runtime
    book: CreditBook = request.app.state.credit_book
    async with runtime.uow() as uow:
        kind = await subject_type(uow.conn, subject_id)
        result = await current_score(uow.conn, book, subject_id, date.today())
    return _out(subject_id, kind, result)


@router.post(
    "/admin/subjects/{subject_id}/findings",
    response_model=CreditOut,
    status_code=status.HTTP_201_CREATED,
    summary="File an inspection finding, penalty or complaint against a subject",
)
async def file_finding(
    subject_id: str, body: FindingIn, principal: Inspector, request: Request
) -> CreditOut:
    runtime = request.app.state.runtime
    book: CreditBook = request.app.state.credit_book
    async with runtime.uow() as uow:
        result = await add_finding(
            uow,
            book,
            subject_id=subject_id,
            event_type=body.event_type,
            indicator_code=body.indicator_code,
            evidence={**body.evidence, "filed_by": principal.subject},
            decided_on=body.decided_on,
            source_event_id=f"finding:{uuid.uuid4()}",
        )
        kind = await subject_type(uow.conn, subject_id)
        await uow.commit()
    return _out(subject_id, kind, result)
