"""The review queue for bureau reviewers (事中审核)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from yibao.requests import RequestModel

from tracecode_validator import repository as repo
from tracecode_validator.api.deps import Context, Reviewer
from tracecode_validator.review import settle_review

router = APIRouter(prefix="/v1/admin/reviews", tags=["reviews"])


class PendingReview(BaseModel):
    settlement_id: str
    fixmedins_code: str
    hits: list[dict[str, Any]]
    amount: Decimal
    setl_time: datetime
    decided_at: datetime


class ReviewIn(RequestModel):
    decision: Literal["approve", "reject"]
    reason: str = Field(min_length=1, max_length=1000, description="审核意见")


class ReviewOut(BaseModel):
    settlement_id: str
    status: Literal["approved", "rejected"]


@router.get("", response_model=list[PendingReview], summary="Settlements waiting for review")
async def pending(
    _reviewer: Reviewer, ctx: Context, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[PendingReview]:
    rows = await repo.pending_reviews(ctx.uow.pool, limit)
    return [PendingReview(**dict(r)) for r in rows]


@router.post("/{settlement_id}", response_model=ReviewOut, summary="Approve or reject")
async def decide(settlement_id: str, body: ReviewIn, reviewer: Reviewer, ctx: Context) -> ReviewOut:
    async with ctx.uow() as uow:
        status = await settle_review(
            uow,
            settlement_id=settlement_id,
            verdict=body.decision,
            reviewer=reviewer.subject,
            reason=body.reason,
        )
        await uow.commit()
    return ReviewOut(settlement_id=settlement_id, status=status)
