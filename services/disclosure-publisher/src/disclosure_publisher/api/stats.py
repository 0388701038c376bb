"""An institution's own monthly settlement figures (the raw material of its notice)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from yibao.auth import AnyPrincipal, require_same_institution

from disclosure_publisher import repository as repo

router = APIRouter(prefix="/v1", tags=["stats"])


class StatusCount(BaseModel):
    status: str
    settlements: int
    amount: Decimal


class MonthStats(BaseModel):
    fixmedins_code: str
    period: str
    by_status: list[StatusCount]
    drg_cases: int = Field(description="inpatient DRG/DIP cases settled in the period")
    alerts: int = Field(description="suspected violations raised in the period")


@router.get("/institutions/{fixmedins_code}/stats", response_model=MonthStats)
async def institution_stats(
    fixmedins_code: str,
    period: Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")],
    principal: AnyPrincipal,
    request: Request,
) -> MonthStats:
    """Institutions see only their own figures."""
    require_same_institution(principal, fixmedins_code)
    pool = request.app.state.runtime.pool
    rows = await repo.month_stats(pool, fixmedins_code, period)
    drg_cases, alerts = await repo.month_counts(pool, fixmedins_code, period)
    return MonthStats(
        fixmedins_code=fixmedins_code,
        period=period,
        by_status=[StatusCount(**dict(r)) for r in rows],
        drg_cases=drg_cases,
        alerts=alerts,
    )
