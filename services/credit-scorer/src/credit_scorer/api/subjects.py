"""A subject's file (一户一档): the events credit has received about it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from yibao.auth import AnyPrincipal, require_same_institution

from credit_scorer import repository as repo

router = APIRouter(prefix="/v1", tags=["subjects"])


class FileEntry(BaseModel):
    event_id: str
    kind: str
    occurred_at: datetime
    detail: dict[str, Any]


class SubjectFile(BaseModel):
    subject_id: str
    entries: list[FileEntry]


@router.get("/subjects/{subject_id}/file", response_model=SubjectFile)
async def subject_file(
    subject_id: str,
    principal: AnyPrincipal,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> SubjectFile:
    """Institutions read only their own file; bureau users read any."""
    require_same_institution(principal, subject_id)
    rows = await repo.subject_events(request.app.state.runtime.pool, subject_id, limit)
    return SubjectFile(subject_id=subject_id, entries=[FileEntry(**dict(r)) for r in rows])
