"""Quarterly analysis and annual report: drafts, second-approver publishing, versions.

Publishing needs the `approver` role and a different person than the draft's author (the
four-eyes rule of ARCHITECTURE.md for publishing an annual report, applied to both). A
published version never changes (the database refuses it); a correction is a new version
whose changelog says what changed. Publishing issues each institution its notice (kind
`quarterly` / `annual`) through the same inbox and delivery path as the monthly ones.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field
from yibao.auth import AdminPrincipal, AnyPrincipal, Principal, forbidden
from yibao.db import UnitOfWork
from yibao.events.envelope import new_event_id
from yibao.problems import ProblemError
from yibao.requests import RequestModel

from disclosure_publisher import notice_store
from disclosure_publisher import reports_store as store
from disclosure_publisher.api.deps import not_found, runtime, settings, state
from disclosure_publisher.domain.reports import (
    Light,
    QuarterRow,
    annual_checks,
    build_quarterly,
    months_of,
    previous_quarter,
    quarter_of,
)

router = APIRouter(prefix="/v1/admin/reports", tags=["reports"])


class QuarterlyIn(RequestModel):
    quarter: str = Field(pattern=r"^\d{4}-Q[1-4]$", examples=["2026-Q3"])
    changelog: str | None = Field(default=None, max_length=5000)


class FundFigures(RequestModel):
    """Fund figures the bureau loads (yuan)."""

    income: Decimal
    expenditure: Decimal
    balance: Decimal
    opening_balance: Decimal | None = None
    drg_execution: dict[str, Any] = Field(default_factory=dict, description="DRG 政策执行")
    annual_clearing: dict[str, Any] = Field(default_factory=dict, description="年度清算")
    budget_execution: dict[str, Any] = Field(default_factory=dict, description="预算执行")


class AnnualIn(RequestModel):
    year: int = Field(ge=2000, le=2100)
    fund: FundFigures
    changelog: str | None = Field(default=None, max_length=5000)


class ReportOut(BaseModel):
    report_id: str
    kind: Literal["quarterly", "annual"]
    period: str
    version: int
    state: Literal["draft", "published"]
    body: dict[str, Any]
    changelog: str | None
    created_by: str
    created_at: datetime
    published_by: str | None
    published_at: datetime | None


def _out(row: Any) -> ReportOut:
    return ReportOut(**dict(row))


async def _draft(
    uow: UnitOfWork,
    principal: Principal,
    kind: str,
    period: str,
    body: dict[str, Any],
    changelog: str | None,
) -> ReportOut:
    await store.lock_period(uow.conn, kind, period)
    if await store.latest_published(uow.conn, kind, period) is not None and not changelog:
        raise ProblemError(
            422,
            "changelog_required",
            "Changelog required",
            f"{kind} {period} is already published; a new version must say what it corrects.",
            field="changelog",
        )
    row = await store.insert_draft(
        uow.conn,
        report_id=new_event_id(),
        kind=kind,
        period=period,
        body=body,
        changelog=changelog,
        created_by=principal.subject,
    )
    await uow.commit()
    return _out(row)


@router.post("/quarterly", response_model=ReportOut, status_code=status.HTTP_201_CREATED)
async def quarterly(body: QuarterlyIn, principal: AdminPrincipal, request: Request) -> ReportOut:
    """Draft the quarterly analysis from the projections (peers by level, R/Y/G warnings)."""
    config = settings(request)
    year, q = quarter_of(body.quarter)
    py, pq = previous_quarter(year, q)
    async with runtime(request).uow() as uow:
        rows = await store.quarter_rows(uow.conn, months_of(year, q), months_of(py, pq))
        prior = await store.latest_published(uow.conn, "quarterly", f"{py}-Q{pq}")
        previous: dict[str, Light] = (
            {i["fixmedins_code"]: i["warning"] for i in prior["body"]["institutions"]}
            if prior is not None
            else {}
        )
        analysis = build_quarterly(
            [
                QuarterRow(
                    r["fixmedins_code"],
                    r["level"],
                    r["fund"],
                    r["baseline_fund"],
                    int(r["drg_cases"]),
                    int(r["alerts"]),
                )
                for r in rows
            ],
            previous,
            config.thresholds(),
            peer_z=config.quarterly_peer_z,
        )
        analysis["baseline"] = f"{py}-Q{pq}"
        analysis["previous_report_id"] = None if prior is None else prior["report_id"]
        return await _draft(uow, principal, "quarterly", body.quarter, analysis, body.changelog)


@router.post("/annual", response_model=ReportOut, status_code=status.HTTP_201_CREATED)
async def annual(body: AnnualIn, principal: AdminPrincipal, request: Request) -> ReportOut:
    """Draft the annual report from the bureau's fund figures (checked, not refused)."""
    fund = body.fund.model_dump(mode="json")
    report = {"year": body.year, "fund": fund, "checks": annual_checks(fund)}
    async with runtime(request).uow() as uow:
        return await _draft(uow, principal, "annual", str(body.year), report, body.changelog)


@router.get("/{report_id}", response_model=ReportOut)
async def get_report(report_id: str, _: AdminPrincipal, request: Request) -> ReportOut:
    async with runtime(request).uow() as uow:
        row = await store.get_report(uow.conn, report_id)
    if row is None:
        raise not_found("report", report_id)
    return _out(row)


@router.post("/{report_id}/publish", response_model=ReportOut)
async def publish(report_id: str, principal: AnyPrincipal, request: Request) -> ReportOut:
    """The second approver publishes; every institution gets its notice."""
    if not principal.is_bureau("approver"):
        raise forbidden("Publishing a report needs the approver role.")
    async with runtime(request).uow() as uow:
        draft = await store.get_report(uow.conn, report_id, lock=True)
        if draft is None:
            raise not_found("report", report_id)
        if draft["state"] == "published":
            raise ProblemError(
                409,
                "report_published",
                "Already published",
                "A published version is immutable; draft a new version.",
            )
        if draft["created_by"] == principal.subject:
            raise ProblemError(
                409,
                "second_approver_required",
                "Second approver required",
                "The author of a report cannot publish it.",
                hint="Another bureau user with the approver role publishes it.",
            )
        row = await store.publish(uow.conn, report_id, principal.subject)
        await _issue(uow, row)
        await uow.commit()
    state(request, "delivery").wake.set()
    return _out(row)


async def _issue(uow: UnitOfWork, report: Any) -> None:
    """One notice per institution, in its inbox and queued for delivery."""
    codes = [r["fixmedins_code"] for r in await store.institutions(uow.conn)]
    kind, period, version = report["kind"], report["period"], report["version"]
    await notice_store.lock_run_scope(uow.conn, kind, period, version)
    rows_by_code: dict[str, Any] = (
        {i["fixmedins_code"]: i for i in report["body"]["institutions"]}
        if kind == "quarterly"
        else {}
    )
    for start in range(0, len(codes), 1000):
        chunk = codes[start : start + 1000]
        seqs = await notice_store.next_seqs(uow.conn, chunk)
        notices = []
        for code in chunk:
            notice_id = new_event_id()
            body: dict[str, Any] = {
                "notice_id": notice_id,
                "kind": kind,
                "fixmedins_code": code,
                "period": period,
                "version": version,
                "seq": seqs[code],
                "report_id": report["report_id"],
                "changelog": report["changelog"],
            }
            if kind == "quarterly":
                own = rows_by_code.get(code)
                body["analysis"] = own
                body["peers"] = report["body"]["peers"].get(own["level"]) if own else None
            else:
                body["report"] = report["body"]
            notices.append(
                {
                    "notice_id": notice_id,
                    "fixmedins_code": code,
                    "kind": kind,
                    "period": period,
                    "version": version,
                    "seq": seqs[code],
                    "run_id": None,
                    "body": body,
                    "inputs": {"report_id": report["report_id"], "report_version": version},
                }
            )
        await notice_store.insert_notices(uow.conn, notices)
