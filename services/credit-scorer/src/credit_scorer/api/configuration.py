"""The indicator tree and the policy versions, as published to institutions and bureau.

What deducts how much, for how long, whether it can be contested, and every deadline and
threshold with its effective date — with the notes that say which values are assumptions
(policy parameters not officially published) rather than rules.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from yibao.auth import AnyPrincipal

from credit_scorer.standing import CreditBook

router = APIRouter(prefix="/v1/credit", tags=["configuration"])


class RuleOut(BaseModel):
    kind: str
    points_per_event: Decimal
    cap: Decimal = Field(description="per cycle")
    validity_days: int
    appealable: bool
    event_types: list[str]


class IndicatorOut(BaseModel):
    code: str
    parent: str | None
    level: int
    name_zh: str
    name_en: str
    rule: RuleOut | None = Field(description="third-level indicators only")


class TreeOut(BaseModel):
    version: str
    effective_from: date
    indicators: list[IndicatorOut]


class PolicyOut(BaseModel):
    version: str
    effective_from: date
    base_score: Decimal
    bonus_cap: Decimal
    grade_thresholds: dict[str, Decimal]
    veto_event_types: list[str]
    blacklist_event_types: list[str]
    blacklist_years: int
    min_agreement_months: int
    objection_filing_working_days: int
    objection_review_working_days: int
    repair_waiting_months: int
    repair_review_working_days: int
    inspection_months: dict[str, int]
    notes: dict[str, str] = Field(description="per parameter: its source, or that it is assumed")


@router.get("/indicators", response_model=TreeOut)
async def indicators(_principal: AnyPrincipal, request: Request) -> TreeOut:
    """The three-level indicator tree in force."""
    book: CreditBook = request.app.state.credit_book
    return TreeOut(
        version=book.tree.version,
        effective_from=book.tree.effective_from,
        indicators=[
            IndicatorOut(
                code=n.code,
                parent=n.parent,
                level=n.level,
                name_zh=n.name_zh,
                name_en=n.name_en,
                rule=None
                if n.rule is None
                else RuleOut(
                    kind=n.rule.kind.value,
                    points_per_event=n.rule.points_per_event,
                    cap=n.rule.cap,
                    validity_days=n.rule.validity_days,
                    appealable=n.rule.appealable,
                    event_types=list(n.rule.event_types),
                ),
            )
            for n in book.tree.nodes
        ],
    )


@router.get("/policies", response_model=list[PolicyOut])
async def policies(_principal: AnyPrincipal, request: Request) -> list[PolicyOut]:
    """Every policy version, oldest first; each decision uses the one in force on its day."""
    book: CreditBook = request.app.state.credit_book
    return [
        PolicyOut(
            version=p.version,
            effective_from=p.effective_from,
            base_score=p.base_score,
            bonus_cap=p.bonus_cap,
            grade_thresholds={str(g): v for g, v in p.grade_thresholds.items()},
            veto_event_types=sorted(p.veto_event_types),
            blacklist_event_types=sorted(p.blacklist_event_types),
            blacklist_years=p.blacklist_years,
            min_agreement_months=p.min_agreement_months,
            objection_filing_working_days=p.objection_filing_working_days,
            objection_review_working_days=p.objection_review_working_days,
            repair_waiting_months=p.repair_waiting_months,
            repair_review_working_days=p.repair_review_working_days,
            inspection_months=dict(p.inspection_months),
            notes=dict(p.notes),
        )
        for p in book.policies
    ]
