"""Objections, repairs and manual grade overrides over HTTP.

Institutions file objections and repair applications for their own file only; bureau users
may file for any. Reviewers decide; approvals of repairs and overrides need a second bureau
user with the approver role, never the one who reviewed or asked. Deadlines are working days
of the policy in force on the filing day (see `GET /v1/admin/objections`, `review_due`).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, Field, model_validator
from yibao.requests import RequestModel

from credit_scorer import casework_repository as cases
from credit_scorer import objections, overrides, repairs
from credit_scorer.api.roles import Approver, Bureau, OwnFile, Reviewer
from credit_scorer.standing import CreditBook, today

router = APIRouter(prefix="/v1", tags=["objections and repairs"])


class ObjectionIn(RequestModel):
    deduction_id: str | None = Field(default=None, max_length=100)
    source: str | None = Field(
        default=None,
        max_length=200,
        description="the finding's source key (`alert:<alert_id>`, `feedback:<item_id>`): "
        "an objection to a finding credit has not recorded yet waits for it",
    )
    grounds: str = Field(min_length=1, max_length=4000, description="异议理由")

    @model_validator(mode="after")
    def _one_target(self) -> ObjectionIn:
        if (self.deduction_id is None) == (self.source is None):
            raise ValueError("give exactly one of deduction_id and source")
        return self


class DecisionIn(RequestModel):
    accepted: bool = Field(description="true: the deduction is void; false: it counts again")
    reason: str = Field(min_length=1, max_length=4000)


class ObjectionOut(BaseModel):
    objection_id: str
    subject_id: str
    deduction_id: str | None
    source: str | None
    grounds: str
    filed_by: str
    filed_on: date
    review_due: date | None = Field(description="decide by (working days); null while waiting")
    state: Literal["awaiting_deduction", "pending", "accepted", "rejected", "refused"]
    decided_by: str | None
    decided_on: date | None
    decision_reason: str | None
    overdue: bool = Field(description="still undecided after `review_due`")


class RepairIn(RequestModel):
    deduction_id: str = Field(max_length=100)
    rectified_on: date = Field(description="整改完成日期")
    statement: str = Field(min_length=1, max_length=4000, description="修复申请与承诺")


class ReviewIn(RequestModel):
    approve: bool
    reason: str = Field(min_length=1, max_length=4000)


class ApprovalIn(RequestModel):
    approve: bool


class RepairOut(BaseModel):
    repair_id: str
    subject_id: str
    deduction_id: str
    rectified_on: date
    statement: str
    applied_by: str
    applied_on: date
    review_due: date
    state: Literal["pending", "reviewed", "approved", "rejected"]
    reviewed_by: str | None
    reviewed_on: date | None
    review_reason: str | None
    approved_by: str | None
    approved_on: date | None
    repaired_from: date | None = Field(description="the row stops counting from this day")
    overdue: bool = Field(description="no reviewer decision yet, after `review_due`")


class OverrideIn(RequestModel):
    grade: Literal["A", "B", "C", "D"]
    reason: str = Field(min_length=1, max_length=4000)


class OverrideOut(BaseModel):
    override_id: str
    subject_id: str
    from_grade: str | None
    to_grade: str
    reason: str
    requested_by: str
    requested_on: date
    state: Literal["pending", "approved", "rejected"]
    approved_by: str | None
    approved_on: date | None
    valid_until: date | None


def _objection(record: Any) -> ObjectionOut:
    values = dict(record)
    values["source"] = values.pop("source_ref")
    due = values["review_due"]
    values["overdue"] = values["state"] == "pending" and due is not None and today() > due
    return ObjectionOut(**values)


def _repair(record: Any) -> RepairOut:
    values = dict(record)
    values["overdue"] = values["state"] == "pending" and today() > values["review_due"]
    return RepairOut(**values)


def _book(request: Request) -> CreditBook:
    book: CreditBook = request.app.state.credit_book
    return book


@router.post(
    "/subjects/{subject_id}/objections",
    response_model=ObjectionOut,
    status_code=status.HTTP_201_CREATED,
    summary="Object to a deduction (it stops counting while under review)",
)
async def file_objection(
    subject_id: str, body: ObjectionIn, principal: OwnFile, request: Request
) -> ObjectionOut:
    async with request.app.state.runtime.uow() as uow:
        record = await objections.file_objection(
            uow,
            _book(request),
            subject_id=subject_id,
            deduction_id=body.deduction_id,
            source_ref=body.source,
            grounds=body.grounds,
            filed_by=principal.subject,
            on=today(),
        )
        await uow.commit()
    return _objection(record)


@router.get("/subjects/{subject_id}/objections", response_model=list[ObjectionOut])
async def subject_objections(
    subject_id: str, principal: OwnFile, request: Request
) -> list[ObjectionOut]:
    rows = await cases.subject_objections(request.app.state.runtime.pool, subject_id)
    return [_objection(r) for r in rows]


@router.get("/admin/objections", response_model=list[ObjectionOut])
async def objection_queue(
    _bureau: Bureau,
    request: Request,
    state: Literal["awaiting_deduction", "pending", "accepted", "rejected", "refused"] = "pending",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ObjectionOut]:
    """The review queue, earliest deadline first."""
    rows = await cases.objections_in_state(request.app.state.runtime.pool, state, limit=limit)
    return [_objection(r) for r in rows]


@router.post("/admin/objections/{objection_id}/decision", response_model=ObjectionOut)
async def decide_objection(
    objection_id: str, body: DecisionIn, reviewer: Reviewer, request: Request
) -> ObjectionOut:
    async with request.app.state.runtime.uow() as uow:
        record = await objections.decide(
            uow,
            _book(request),
            objection_id=objection_id,
            accepted=body.accepted,
            reason=body.reason,
            reviewer=reviewer.subject,
            on=today(),
        )
        await uow.commit()
    return _objection(record)


@router.post(
    "/subjects/{subject_id}/repairs",
    response_model=RepairOut,
    status_code=status.HTTP_201_CREATED,
    summary="Apply for credit repair of a deduction (after rectification and the waiting period)",
)
async def apply_repair(
    subject_id: str, body: RepairIn, principal: OwnFile, request: Request
) -> RepairOut:
    async with request.app.state.runtime.uow() as uow:
        record = await repairs.apply(
            uow,
            _book(request),
            subject_id=subject_id,
            deduction_id=body.deduction_id,
            rectified_on=body.rectified_on,
            statement=body.statement,
            applied_by=principal.subject,
            on=today(),
        )
        await uow.commit()
    return _repair(record)


@router.get("/subjects/{subject_id}/repairs", response_model=list[RepairOut])
async def subject_repairs(subject_id: str, principal: OwnFile, request: Request) -> list[RepairOut]:
    rows = await cases.subject_repairs(request.app.state.runtime.pool, subject_id)
    return [_repair(r) for r in rows]


@router.get("/admin/repairs", response_model=list[RepairOut])
async def repair_queue(
    _bureau: Bureau,
    request: Request,
    state: Literal["pending", "reviewed", "approved", "rejected"] = "pending",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[RepairOut]:
    """Applications in one state, earliest deadline first."""
    rows = await cases.repairs_in_state(request.app.state.runtime.pool, state, limit=limit)
    return [_repair(r) for r in rows]


@router.post("/admin/repairs/{repair_id}/review", response_model=RepairOut)
async def review_repair(
    repair_id: str, body: ReviewIn, reviewer: Reviewer, request: Request
) -> RepairOut:
    """The reviewer's decision; a yes still needs the second approver."""
    async with request.app.state.runtime.uow() as uow:
        record = await repairs.review(
            uow,
            repair_id=repair_id,
            approve=body.approve,
            reason=body.reason,
            reviewer=reviewer.subject,
            on=today(),
        )
        await uow.commit()
    return _repair(record)


@router.post("/admin/repairs/{repair_id}/approval", response_model=RepairOut)
async def approve_repair(
    repair_id: str, body: ApprovalIn, approver: Approver, request: Request
) -> RepairOut:
    """The second approver (not the reviewer); approved rows stop counting next cycle."""
    async with request.app.state.runtime.uow() as uow:
        record = await repairs.approve(
            uow,
            _book(request),
            repair_id=repair_id,
            approve=body.approve,
            approver=approver.subject,
            on=today(),
        )
        await uow.commit()
    return _repair(record)


@router.post(
    "/admin/subjects/{subject_id}/grade-overrides",
    response_model=OverrideOut,
    status_code=status.HTTP_201_CREATED,
    summary="Ask for a manual grade (applies only once a second approver agrees)",
)
async def request_override(
    subject_id: str, body: OverrideIn, reviewer: Reviewer, request: Request
) -> OverrideOut:
    async with request.app.state.runtime.uow() as uow:
        record = await overrides.request(
            uow,
            _book(request),
            subject_id=subject_id,
            grade=body.grade,
            reason=body.reason,
            requested_by=reviewer.subject,
            on=today(),
        )
        await uow.commit()
    return OverrideOut(**dict(record))


@router.post("/admin/grade-overrides/{override_id}/approval", response_model=OverrideOut)
async def decide_override(
    override_id: str, body: ApprovalIn, approver: Approver, request: Request
) -> OverrideOut:
    """The second approver; an approved grade holds until the end of the cycle."""
    async with request.app.state.runtime.uow() as uow:
        record = await overrides.decide(
            uow,
            _book(request),
            override_id=override_id,
            approve=body.approve,
            approver=approver.subject,
            on=today(),
        )
        await uow.commit()
    return OverrideOut(**dict(record))
