"""The pull inbox: every notice of the caller's institution, by sequence number."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from yibao.auth import InstitutionPrincipal, require_same_institution
from yibao.problems import ProblemError

from disclosure_publisher import notice_store
from disclosure_publisher.api.deps import not_found, runtime

router = APIRouter(prefix="/v1", tags=["inbox"])


class InboxPage(BaseModel):
    items: list[dict[str, Any]] = Field(
        description="the notices themselves, oldest first, each as delivered by webhook "
        "(`notice_id`, `kind`, `fixmedins_code`, `period`, `version`, `seq` — per institution "
        "1, 2, 3 … with no gaps, so a gap means loss — and the content), plus the inbox's own "
        "`issued_at`, `read_at` and `delivery_state` (pending, delivered, failed; null: no "
        "endpoint registered)"
    )
    next_cursor: str = Field(description="pass back as `cursor`; unchanged when nothing is new")


def _cursor(value: str | None) -> int:
    if not value:
        return 0
    if not value.isdigit() or len(value) > 18:
        raise ProblemError(
            400,
            "invalid_cursor",
            "Invalid cursor",
            "The cursor is not one this API issued.",
            field="cursor",
            hint="Start without a cursor, then pass back `next_cursor`.",
        )
    return int(value)


@router.get("/inbox", response_model=InboxPage)
async def inbox(
    principal: InstitutionPrincipal,
    request: Request,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> InboxPage:
    """Notices after `cursor`, oldest first — whether or not their push succeeded."""
    after = _cursor(cursor)
    assert principal.fixmedins_code is not None
    async with runtime(request).uow() as uow:
        rows = await notice_store.inbox_page(
            uow.conn, principal.fixmedins_code, after_seq=after, limit=limit
        )
    items = [
        {
            **r["body"],
            "issued_at": r["created_at"].isoformat(),
            "read_at": None if r["read_at"] is None else r["read_at"].isoformat(),
            "delivery_state": r["delivery_state"],
        }
        for r in rows
    ]
    last = rows[-1]["seq"] if rows else after
    return InboxPage(items=items, next_cursor=str(last))


class ReadReceipt(BaseModel):
    notice_id: str
    read_at: datetime


@router.post("/inbox/{notice_id}/read", response_model=ReadReceipt)
async def read(notice_id: str, principal: InstitutionPrincipal, request: Request) -> ReadReceipt:
    """Acknowledge a notice as read (the first receipt's time is kept)."""
    async with runtime(request).uow() as uow:
        row = await notice_store.get_notice(uow.conn, notice_id)
        if row is None:
            raise not_found("notice", notice_id)
        require_same_institution(principal, row["fixmedins_code"])
        read_at = await notice_store.mark_read(uow.conn, notice_id)
        await uow.commit()
    assert read_at is not None
    return ReadReceipt(notice_id=notice_id, read_at=read_at)
