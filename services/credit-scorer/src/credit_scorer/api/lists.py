"""The published lists and the inspection plan.

The red and black lists are public in practice (公示), so any authenticated caller may read
them; the key-supervision list and the inspection plan are the bureau's working documents.
Lists are read from the stored standings, which the clock sweep keeps current with the date.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from yibao.auth import AnyPrincipal, forbidden
from yibao.problems import ProblemError

from credit_scorer import standing_repository as standings
from credit_scorer.api.roles import Bureau, is_staff
from credit_scorer.domain.plan import PlanSubject, parse_period, plan
from credit_scorer.standing import CreditBook

router = APIRouter(prefix="/v1", tags=["lists and plans"])

ListName = Literal["red", "black", "key_supervision"]


class ListEntry(BaseModel):
    subject_id: str
    subject_type: str
    name: str | None
    score: Decimal | None
    grade: str | None
    tier: str | None
    black_until: date | None = Field(description="black list only: the listing ends this day")
    since: datetime = Field(description="when this standing was last stored")


class ListPage(BaseModel):
    list_name: ListName
    entries: list[ListEntry]
    next_cursor: str | None


class PlanEntryOut(BaseModel):
    subject_id: str
    subject_type: str
    grade: str | None
    last_inspected_on: date | None
    due_on: date = Field(description="may precede the period: already overdue")
    flying_inspection: bool


class PlanOut(BaseModel):
    period: str
    start: date
    end: date
    policy_version: str
    inspection_months: dict[str, int] = Field(description="0 = no routine inspection")
    due: dict[str, list[PlanEntryOut]] = Field(description="per tier (and `ungraded`)")


@router.get("/lists/{list_name}", response_model=ListPage)
async def credit_list(
    list_name: ListName,
    principal: AnyPrincipal,
    request: Request,
    cursor: str = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ListPage:
    """Who is on the red, black or key-supervision list now, in subject order."""
    if list_name == "key_supervision" and not is_staff(principal):
        raise forbidden("The key-supervision list is for bureau users.")
    rows = await standings.list_members(
        request.app.state.runtime.pool, list_name, after=cursor, limit=limit
    )
    return ListPage(
        list_name=list_name,
        entries=[
            ListEntry(
                subject_id=r["subject_id"],
                subject_type=r["subject_type"],
                name=r["name"],
                score=r["score"],
                grade=r["grade"],
                tier=r["tier"],
                black_until=r["black_until"] if list_name == "black" else None,
                since=r["updated_at"],
            )
            for r in rows
        ],
        next_cursor=rows[-1]["subject_id"] if len(rows) == limit else None,
    )


@router.get("/admin/inspection-plan", response_model=PlanOut)
async def inspection_plan(
    _bureau: Bureau,
    request: Request,
    period: Annotated[str, Query(description="2027, 2027-Q1 or 2027-03")],
) -> PlanOut:
    """Who is due for a routine inspection in the period, by supervision tier."""
    try:
        start, end = parse_period(period)
    except ValueError as exc:
        raise ProblemError(
            422,
            "invalid_period",
            "Unknown period",
            str(exc),
            field="$.period",
            hint="Use a year (2027), a quarter (2027-Q1) or a month (2027-03).",
        ) from exc
    book: CreditBook = request.app.state.credit_book
    policy = book.policy(start)
    rows = await standings.plan_subjects(request.app.state.runtime.pool)
    due = plan(
        (
            PlanSubject(
                subject_id=r["subject_id"],
                subject_type=r["subject_type"],
                grade=r["grade"],
                tier=r["tier"],
                last_inspected_on=r["last_inspected_on"],
            )
            for r in rows
        ),
        start=start,
        end=end,
        inspection_months=policy.inspection_months,
    )
    return PlanOut(
        period=period,
        start=start,
        end=end,
        policy_version=policy.version,
        inspection_months=dict(policy.inspection_months),
        due={
            group: [
                PlanEntryOut(
                    subject_id=e.subject_id,
                    subject_type=e.subject_type,
                    grade=e.grade,
                    last_inspected_on=e.last_inspected_on,
                    due_on=e.due_on,
                    flying_inspection=e.flying_inspection,
                )
                for e in entries
            ]
            for group, entries in due.items()
        },
    )
