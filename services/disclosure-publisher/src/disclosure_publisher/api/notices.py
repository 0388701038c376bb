"""Monthly runs (bureau), a notice by id (owner or audited bureau), replay and attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from yibao.auth import AdminPrincipal, AnyPrincipal, require_same_institution
from yibao.events.envelope import new_event_id
from yibao.requests import RequestModel

from disclosure_publisher import delivery_store as store
from disclosure_publisher import notice_store
from disclosure_publisher.api.deps import audit, not_found, require_reader, runtime, state
from disclosure_publisher.domain.render import render_notice

router = APIRouter(prefix="/v1", tags=["notices"])
PERIOD = r"^\d{4}-(0[1-9]|1[0-2])$"


class MonthlyRunIn(RequestModel):
    period: str = Field(pattern=PERIOD, examples=["2026-10"])
    version: int = Field(
        default=1,
        ge=1,
        le=1000,
        description="Issuing the same period and version again is a no-op per institution; "
        "a higher version issues a corrected notice.",
    )


class RunOut(BaseModel):
    run_id: str


class RunStatus(BaseModel):
    run_id: str
    kind: str
    period: str
    version: int
    state: str
    notices: int
    created_at: datetime
    finished_at: datetime | None


@router.post(
    "/admin/notices/monthly",
    response_model=RunOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Build and send every recipient's monthly notice for a period",
)
async def monthly(body: MonthlyRunIn, principal: AdminPrincipal, request: Request) -> RunOut:
    run_id = new_event_id()
    async with runtime(request).uow() as uow:
        await notice_store.create_run(
            uow.conn,
            run_id=run_id,
            kind="monthly",
            period=body.period,
            version=body.version,
            by=principal.subject,
        )
        await uow.commit()
    state(request, "builder").wake.set()
    return RunOut(run_id=run_id)


@router.get("/admin/notices/runs/{run_id}", response_model=RunStatus)
async def run_status(run_id: str, _: AdminPrincipal, request: Request) -> RunStatus:
    async with runtime(request).uow() as uow:
        row = await notice_store.get_run(uow.conn, run_id)
    if row is None:
        raise not_found("run", run_id)
    return RunStatus(**dict(row))


async def _notice(request: Request, notice_id: str, principal: AnyPrincipal) -> Any:
    async with runtime(request).uow() as uow:
        row = await notice_store.get_notice(uow.conn, notice_id)
        if row is None:
            raise not_found("notice", notice_id)
        require_same_institution(principal, row["fixmedins_code"])
        require_reader(principal)
        await audit(
            uow.conn,
            principal,
            action="read_notice",
            fixmedins_code=row["fixmedins_code"],
            resource=f"notice:{notice_id}",
        )
        await uow.commit()
    return row


@router.get("/notices/{notice_id}", summary="One notice (its institution, or audited bureau)")
async def get_notice(notice_id: str, principal: AnyPrincipal, request: Request) -> Any:
    row = await _notice(request, notice_id, principal)
    body: dict[str, Any] = row["body"]
    if principal.kind == "bureau":
        return {**body, "inputs": row["inputs"]}
    return body


@router.get(
    "/notices/{notice_id}/html",
    response_class=HTMLResponse,
    summary="The notice as a page, with the institution's settlement trend",
)
async def notice_html(notice_id: str, principal: AnyPrincipal, request: Request) -> HTMLResponse:
    row = await _notice(request, notice_id, principal)
    async with runtime(request).uow() as uow:
        trend = await notice_store.trend(uow.conn, row["fixmedins_code"])
    points = [(r["period"], int(r["settlements"]), str(r["amount"])) for r in trend]
    # Evidence comes from other systems: escaped in the page, and no script may run anyway.
    return HTMLResponse(
        render_notice(row["body"], points),
        headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"},
    )


class ReplayOut(BaseModel):
    notice_id: str
    state: str
    attempts: int


@router.post(
    "/admin/notices/{notice_id}/replay",
    response_model=ReplayOut,
    summary="Send a notice again now (after a fix, or to a re-enabled endpoint)",
)
async def replay(notice_id: str, _: AdminPrincipal, request: Request) -> ReplayOut:
    async with runtime(request).uow() as uow:
        row = await store.replay(uow.conn, notice_id)
        if row is None:
            raise not_found("deliverable notice", notice_id)
        await uow.commit()
    state(request, "delivery").wake.set()
    return ReplayOut(**dict(row))


class ReplayRangeIn(RequestModel):
    since: datetime = Field(description="notices issued at or after this instant")
    until: datetime = Field(description="… and before this one")
    fixmedins_code: str | None = Field(default=None, max_length=32)
    include_delivered: bool = Field(
        default=False, description="also resend notices already delivered (same webhook-id)"
    )


class ReplayRangeOut(BaseModel):
    queued: int


@router.post(
    "/admin/deliveries/replay",
    response_model=ReplayRangeOut,
    summary="Send again the notices issued in a time range (e.g. after a receiver's outage)",
)
async def replay_range(body: ReplayRangeIn, _: AdminPrincipal, request: Request) -> ReplayRangeOut:
    async with runtime(request).uow() as uow:
        queued = await store.replay_range(
            uow.conn,
            since=body.since,
            until=body.until,
            fixmedins_code=body.fixmedins_code,
            include_delivered=body.include_delivered,
        )
        await uow.commit()
    state(request, "delivery").wake.set()
    return ReplayRangeOut(queued=queued)


class AttemptOut(BaseModel):
    attempt: int
    worker: str
    started_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    outcome: str


@router.get("/admin/notices/{notice_id}/attempts", response_model=list[AttemptOut])
async def attempts(notice_id: str, _: AdminPrincipal, request: Request) -> list[AttemptOut]:
    """Every delivery attempt of a notice, in order."""
    async with runtime(request).uow() as uow:
        rows = await store.attempts_of(uow.conn, notice_id)
    return [AttemptOut(**dict(r)) for r in rows]
