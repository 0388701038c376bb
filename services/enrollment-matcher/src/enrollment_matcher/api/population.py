"""Intake: bulk CSV loads with progress and error reports, single records, the links."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field
from yibao.auth import AdminPrincipal
from yibao.problems import ProblemError
from yibao.requests import RequestModel

from enrollment_matcher import repository as repo
from enrollment_matcher.api.deps import Context, problem_of
from enrollment_matcher.domain.records import COLUMNS, Record, parse_row
from enrollment_matcher.jobs import UploadError, start_upload
from enrollment_matcher.metrics import MATCH_DURATION
from enrollment_matcher.person_file import PersonFileError

router = APIRouter(prefix="/v1/admin/population", tags=["population"])
UPLOAD_PATH = "/v1/admin/population/records"


class JobAccepted(BaseModel):
    job_id: str


class JobStatus(BaseModel):
    job_id: str
    state: Literal["running", "done", "failed"]
    rows: int = Field(description="data rows received (known once the upload is complete)")
    rejected: int
    processed: int = Field(description="rows linked so far (progress)")
    errors_url: str
    error: str | None = None


@router.post(
    "/records",
    status_code=202,
    response_model=JobAccepted,
    summary="Bulk-load population records from a streamed CSV (header row, CONTRACT columns)",
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def upload_records(request: Request, _admin: AdminPrincipal, ctx: Context) -> JobAccepted:
    try:
        job_id = await start_upload(ctx.uow, ctx.vault, request.stream())
    except UploadError as exc:
        raise ProblemError(
            422,
            exc.code,
            "CSV not accepted",
            exc.detail,
            hint="UTF-8 with a header row naming: " + ",".join(COLUMNS),
        ) from exc
    ctx.worker.wake.set()
    return JobAccepted(job_id=job_id)


@router.get("/jobs/{job_id}", response_model=JobStatus)
async def job_status(job_id: str, _admin: AdminPrincipal, ctx: Context) -> JobStatus:
    async with ctx.uow() as uow:
        job = await repo.job(uow.conn, job_id)
    if job is None:
        raise ProblemError(404, "job_not_found", "Job not found", f"No population job {job_id}.")
    return JobStatus(
        job_id=job_id,
        state=job["state"],
        rows=job["rows"] if job["uploaded"] else job["processed"] + job["rejected"],
        rejected=job["rejected"],
        processed=job["processed"],
        errors_url=f"/v1/admin/population/jobs/{job_id}/errors",
        error=job["error"],
    )


@router.get(
    "/jobs/{job_id}/errors",
    response_class=Response,
    summary="The job's rejected rows: line,record_id,field,reason (text/csv)",
    responses={200: {"content": {"text/csv": {}}}},
)
async def job_errors(job_id: str, _admin: AdminPrincipal, ctx: Context) -> Response:
    async with ctx.uow() as uow:
        if await repo.job(uow.conn, job_id) is None:
            raise ProblemError(
                404, "job_not_found", "Job not found", f"No population job {job_id}."
            )
        rows = await repo.job_errors(uow.conn, job_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["line", "record_id", "field", "reason"])
    for row in rows:
        for error in row["errors"]:
            writer.writerow([row["line_no"], row["record_id"], error["field"], error["reason"]])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8")


@router.get(
    "/links",
    response_class=StreamingResponse,
    summary="The current resolution: record_id,person_id for every accepted record",
    responses={200: {"content": {"text/csv": {}}}},
)
async def links(_admin: AdminPrincipal, ctx: Context) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        yield b"record_id,person_id\n"
        async with ctx.uow() as uow:
            cursor = uow.conn.cursor(
                "SELECT record_id, person_id FROM population_records ORDER BY record_id",
                prefetch=5000,
            )
            chunk: list[str] = []
            async for row in cursor:
                chunk.append(f"{row['record_id']},{row['person_id']}\n")
                if len(chunk) >= 5000:
                    yield "".join(chunk).encode()
                    chunk = []
            yield "".join(chunk).encode()

    return StreamingResponse(body(), media_type="text/csv; charset=utf-8")


class RecordIn(RequestModel):
    """One record in the CSV's columns (empty or absent = unknown)."""

    record_id: str
    source: str
    certno: str | None = None
    psn_name: str | None = None
    gender: str | None = None
    birth_date: str | None = None
    phone: str | None = None
    hukou_admdvs: str | None = None
    address: str | None = None
    record_date: str | None = None
    status: str | None = None
    status_date: str | None = None


class Linked(BaseModel):
    record_id: str
    person_id: str
    created: bool
    duplicate: bool = Field(description="the same record was on file already: nothing changed")
    evidence: dict[str, object]
    review: bool = Field(description="queued for clerical review")


@router.post("/record", response_model=Linked, summary="Link one record now (synchronously)")
async def add_record(body: RecordIn, _admin: AdminPrincipal, ctx: Context) -> Linked:
    parsed = parse_row(body.model_dump(), today=ctx.worker.today())
    if not isinstance(parsed, Record):
        raise ProblemError(
            422,
            "invalid_record",
            "Record failed validation",
            f"{len(parsed)} field errors.",
            field=parsed[0].field,
            extra={"errors": [{"field": p.field, "message": p.reason} for p in parsed]},
        )
    async with ctx.uow() as uow:
        with MATCH_DURATION.labels("single").time():
            outcomes = await ctx.file.ingest(uow, [parsed])
        person = await repo.record_person(uow.conn, parsed.record_id)
        await uow.commit()
    assert person is not None
    if not outcomes:
        return Linked(
            record_id=parsed.record_id,
            person_id=person,
            created=False,
            duplicate=True,
            evidence={},
            review=False,
        )
    outcome = outcomes[0]
    return Linked(
        record_id=parsed.record_id,
        person_id=person,
        created=outcome.created,
        duplicate=False,
        evidence=outcome.evidence,
        review=outcome.review is not None,
    )


class ReviewItem(BaseModel):
    review_id: int
    record_id: str
    person_id: str
    probability: float
    linked: bool
    evidence: dict[str, object]


class ReviewPage(BaseModel):
    items: list[ReviewItem]
    next_cursor: str | None


class ReviewDecision(RequestModel):
    decision: Literal["link", "separate"]


@router.get("/reviews", response_model=ReviewPage, summary="Open clerical-review items")
async def reviews(
    _admin: AdminPrincipal,
    ctx: Context,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ReviewPage:
    after = int(cursor) if cursor and cursor.isdigit() else 0
    async with ctx.uow() as uow:
        rows = await repo.open_reviews(uow.conn, after, limit)
    items = [
        ReviewItem(
            review_id=r["review_id"],
            record_id=r["record_id"],
            person_id=r["person_id"],
            probability=r["probability"],
            linked=r["linked"],
            evidence=r["evidence"],
        )
        for r in rows
    ]
    return ReviewPage(
        items=items, next_cursor=str(items[-1].review_id) if len(items) == limit else None
    )


@router.post("/reviews/{review_id}", summary="Decide a review item: link or keep separate")
async def decide(
    review_id: int, body: ReviewDecision, admin: AdminPrincipal, ctx: Context
) -> dict[str, object]:
    async with ctx.uow() as uow:
        try:
            result = await ctx.file.decide_review(
                uow, review_id, link=body.decision == "link", by=admin.subject
            )
        except PersonFileError as exc:
            raise problem_of(exc) from exc
        await uow.commit()
    return result
