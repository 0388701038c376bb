"""The feedback ledger over HTTP: institutions answer, the bureau decides, both read."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

import asyncpg
import orjson
from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, Field
from yibao.auth import (
    AdminPrincipal,
    AnyPrincipal,
    InstitutionPrincipal,
    Principal,
    forbidden,
    require_same_institution,
)
from yibao.events.envelope import new_event_id
from yibao.problems import ProblemError
from yibao.requests import RequestModel

from disclosure_publisher import feedback_store as store
from disclosure_publisher import notice_store
from disclosure_publisher.api.deps import audit, not_found, require_reader, runtime, settings
from disclosure_publisher.domain.feedback import Action, Actor, TransitionError
from disclosure_publisher.feedback import SWEEP_BATCH, bureau_today, escalate_overdue, transition

router = APIRouter(prefix="/v1", tags=["feedback"])


class FeedbackItem(BaseModel):
    item_id: str
    notice_id: str
    fixmedins_code: str
    period: str
    line_ref: str | None
    classification: str
    owner: str
    status: str
    due_date: date
    escalated_at: datetime | None
    history: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


class AnswerIn(RequestModel):
    line: str | None = Field(
        default=None,
        max_length=200,
        description="the notice line answered (e.g. `violations/<alert_id>`); null: the notice",
    )
    classification: str = Field(
        default="explanation",
        min_length=1,
        max_length=64,
        description="explanation, objection, rectification_plan, question, …",
    )
    text: str = Field(min_length=1, max_length=10_000)


class ActionIn(RequestModel):
    action: Literal["answer", "require_rectification", "report_rectified", "close"]
    text: str | None = Field(default=None, max_length=10_000)
    owner: str | None = Field(default=None, max_length=100, description="bureau: reassign")
    classification: str | None = Field(default=None, max_length=64)


def _item(row: Any) -> FeedbackItem:
    return FeedbackItem(**dict(row))


def _actor(principal: Principal) -> Actor:
    return "institution" if principal.kind == "institution" else "bureau"


def _problem(exc: TransitionError) -> ProblemError:
    return ProblemError(409, exc.code, "Feedback transition not allowed", str(exc))


@router.post(
    "/notices/{notice_id}/feedback",
    response_model=FeedbackItem,
    status_code=status.HTTP_201_CREATED,
    summary="Answer a notice or one of its lines (institution)",
)
async def answer(
    notice_id: str, body: AnswerIn, principal: InstitutionPrincipal, request: Request
) -> FeedbackItem:
    """Only the institution the notice is for answers it (bureau tokens get 403)."""
    config = settings(request)
    async with runtime(request).uow() as uow:
        notice = await notice_store.get_notice(uow.conn, notice_id)
        if notice is None:
            raise not_found("notice", notice_id)
        require_same_institution(principal, notice["fixmedins_code"])
        existing = await store.item_for_line(uow.conn, notice_id, body.line) if body.line else None
        row: asyncpg.Record | None
        if existing is not None:
            try:
                row = await transition(
                    uow,
                    existing,
                    Action.ANSWER,
                    actor="institution",
                    by=principal.subject,
                    text=body.text,
                    response_days=config.feedback_response_days,
                    classification=body.classification,
                )
            except TransitionError as exc:
                raise _problem(exc) from exc
        else:
            row = await store.insert_item(
                uow.conn,
                {
                    "item_id": new_event_id(),
                    "notice_id": notice_id,
                    "fixmedins_code": notice["fixmedins_code"],
                    "period": notice["period"],
                    "line_ref": body.line,
                    "classification": body.classification,
                    "owner": config.feedback_owner,
                    "status": "answered",
                    "due_date": bureau_today() + timedelta(days=config.feedback_response_days),
                    "history": [
                        {
                            "at": datetime.now().astimezone().isoformat(),
                            "actor": "institution",
                            "by": principal.subject,
                            "action": "answer",
                            "status": "answered",
                            "text": body.text,
                        }
                    ],
                },
            )
            if row is None:
                raise ProblemError(
                    409,
                    "feedback_exists",
                    "Already answered",
                    "This line was answered at the same moment; read the ledger and act on it.",
                )
        await uow.commit()
    return _item(row)


async def _inspector(principal: AnyPrincipal) -> Principal:
    """Checked as a dependency, so a refused caller never learns what the body should be."""
    if not principal.is_bureau("inspector"):
        raise ProblemError(
            401 if principal.kind == "institution" else 403,
            "inspector_required",
            "Inspector credential required",
            "Opening a clue needs the inspector role.",
        )
    return principal


Inspector = Annotated[Principal, Depends(_inspector)]


class ClueIn(RequestModel):
    notice_id: str = Field(min_length=1, max_length=64)
    line: str = Field(min_length=1, max_length=200, description="what to look at, e.g. a drug")
    classification: str = Field(default="self_inspection_clue", min_length=1, max_length=64)
    text: str = Field(min_length=1, max_length=10_000)
    owner: str | None = Field(default=None, max_length=100)


@router.post(
    "/admin/feedback",
    response_model=FeedbackItem,
    status_code=status.HTTP_201_CREATED,
    summary="Hand an institution a clue for self-inspection (自查自纠), tracked to closure",
)
async def open_clue(body: ClueIn, principal: Inspector, request: Request) -> FeedbackItem:
    """The bureau opens an item on a notice; the institution answers it like any other."""
    config = settings(request)
    async with runtime(request).uow() as uow:
        notice = await notice_store.get_notice(uow.conn, body.notice_id)
        if notice is None:
            raise not_found("notice", body.notice_id)
        row = await store.insert_item(
            uow.conn,
            {
                "item_id": new_event_id(),
                "notice_id": body.notice_id,
                "fixmedins_code": notice["fixmedins_code"],
                "period": notice["period"],
                "line_ref": body.line,
                "classification": body.classification,
                "owner": body.owner or config.feedback_owner,
                "status": "open",
                "due_date": bureau_today() + timedelta(days=config.feedback_response_days),
                "history": [
                    {
                        "at": datetime.now().astimezone().isoformat(),
                        "actor": "bureau",
                        "by": principal.subject,
                        "action": "open",
                        "status": "open",
                        "text": body.text,
                    }
                ],
            },
        )
        if row is None:
            raise ProblemError(
                409, "feedback_exists", "Item exists", "This notice line already has an item."
            )
        await uow.commit()
    return _item(row)


class EscalatedOut(BaseModel):
    escalated: int


@router.post(
    "/admin/feedback/escalate",
    response_model=EscalatedOut,
    summary="Run the overdue sweep now (it also runs every PUBLISHER_OVERDUE_SWEEP_INTERVAL_S)",
)
async def escalate_now(_: AdminPrincipal, request: Request) -> EscalatedOut:
    """Escalate every overdue item not yet escalated; each emits `feedback.overdue.v1`."""
    total = 0
    while True:
        async with runtime(request).uow() as uow:
            escalated = await escalate_overdue(uow, today=bureau_today())
            await uow.commit()
        total += escalated
        if escalated < SWEEP_BATCH:
            return EscalatedOut(escalated=total)


@router.post("/feedback/{item_id}/actions", response_model=FeedbackItem)
async def act(
    item_id: str, body: ActionIn, principal: AnyPrincipal, request: Request
) -> FeedbackItem:
    """Move an item: the institution answers / reports rectified; the bureau decides."""
    if principal.kind == "bureau" and not principal.is_bureau("inspector", "reviewer"):
        raise forbidden("Deciding feedback needs the inspector or reviewer role.")
    async with runtime(request).uow() as uow:
        item = await store.get_item(uow.conn, item_id, lock=True)
        if item is None:
            raise not_found("feedback_item", item_id)
        require_same_institution(principal, item["fixmedins_code"])
        try:
            row = await transition(
                uow,
                item,
                Action(body.action),
                actor=_actor(principal),
                by=principal.subject,
                text=body.text,
                response_days=settings(request).feedback_response_days,
                owner=body.owner if principal.kind == "bureau" else None,
                classification=body.classification,
            )
        except TransitionError as exc:
            raise _problem(exc) from exc
        await uow.commit()
    return _item(row)


async def _list(
    request: Request, principal: Principal, fixmedins_code: str | None, state: str | None
) -> list[Any]:
    require_reader(principal)
    code = principal.fixmedins_code if principal.kind == "institution" else fixmedins_code
    if principal.kind == "institution" and fixmedins_code not in (None, code):
        raise forbidden("An institution sees only its own feedback.")
    async with runtime(request).uow() as uow:
        rows = await store.list_items(uow.conn, fixmedins_code=code, status=state)
        await audit(
            uow.conn,
            principal,
            action="list_feedback",
            fixmedins_code=code,
            resource=f"feedback?status={state or ''}",
        )
        await uow.commit()
    return rows


@router.get("/feedback", response_model=list[FeedbackItem])
async def list_feedback(
    principal: AnyPrincipal,
    request: Request,
    fixmedins_code: str | None = None,
    status_: Annotated[str | None, Query(alias="status")] = None,
) -> list[FeedbackItem]:
    """An institution's own items; bureau users see any (and the read is audit-logged)."""
    return [_item(r) for r in await _list(request, principal, fixmedins_code, status_)]


CSV_COLUMNS = (
    "item_id",
    "notice_id",
    "fixmedins_code",
    "period",
    "line_ref",
    "classification",
    "owner",
    "status",
    "due_date",
    "escalated_at",
    "created_at",
    "updated_at",
)


@router.get(
    "/feedback.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
    summary="The ledger as CSV (own items for an institution; any for the bureau, audited)",
)
async def export(
    principal: AnyPrincipal,
    request: Request,
    fixmedins_code: str | None = None,
    status_: Annotated[str | None, Query(alias="status")] = None,
) -> Response:
    rows = await _list(request, principal, fixmedins_code, status_)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*CSV_COLUMNS, "history"])
    for r in rows:
        writer.writerow(
            [("" if r[c] is None else str(r[c])) for c in CSV_COLUMNS]
            + [orjson.dumps(r["history"]).decode()]
        )
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8")
