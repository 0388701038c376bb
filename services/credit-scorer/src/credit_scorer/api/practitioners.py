"""The bureau records practitioners' points (the national 12-point system)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from yibao.auth import AdminPrincipal
from yibao.problems import ProblemError
from yibao.requests import RequestModel

from credit_scorer.practitioners import PractitionerType, add_points

router = APIRouter(prefix="/v1/admin/practitioners", tags=["practitioners"])


class PointsIn(RequestModel):
    points: int = Field(ge=1, le=12, description="记分 (1–12, by band and responsibility)")
    decided_at: date = Field(description="处理决定日期 (points are dated on the decision)")
    reason: str = Field(min_length=1, max_length=1000, description="记分事由")
    suspension_months: int | None = Field(
        default=None,
        ge=1,
        le=6,
        description="暂停月数: used only if this entry brings the year's total to ≥ 9",
    )
    subject_type: PractitionerType = "doctor"
    fixmedins_code: str | None = Field(default=None, description="违规所在机构")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "points": 4,
                    "decided_at": "2026-03-02",
                    "reason": "超量开药",
                    "suspension_months": 3,
                }
            ]
        }
    )


class PractitionerOut(BaseModel):
    certno: str
    year_points: int
    status: Literal["active", "suspended", "terminated"]
    suspended_until: date | None
    banned_until: date | None


@router.post("/{certno}/points", response_model=PractitionerOut)
async def record(
    certno: str, body: PointsIn, admin: AdminPrincipal, request: Request
) -> PractitionerOut:
    """Add points; ≥ 9 in the year suspends (for `suspension_months`), 12 terminates."""
    runtime = request.app.state.runtime
    async with runtime.uow() as uow:
        try:
            status = await add_points(
                uow,
                certno=certno,
                subject_type=body.subject_type,
                points=body.points,
                decided_at=body.decided_at,
                reason=body.reason,
                suspension_months=body.suspension_months,
                institution=body.fixmedins_code,
                recorded_by=admin.subject,
            )
        except ValueError as exc:
            raise ProblemError(
                422,
                "suspension_months_required",
                "Suspension length needed",
                str(exc),
                field="$.suspension_months",
                hint="This entry reaches 9 points this year: send the bureau's decision (1–6).",
            ) from exc
        await uow.commit()
    return PractitionerOut(
        certno=status.certno,
        year_points=status.year_points,
        status=status.status.value,
        suspended_until=status.suspended_until,
        banned_until=status.banned_until,
    )
