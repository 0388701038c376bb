"""A code's full history (who stocked, sold, returned it, when) and the published rule book."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from yibao.problems import ProblemError

from tracecode_validator import repository as repo
from tracecode_validator.api.deps import Context, Inspector
from tracecode_validator.domain.codes import CodeError, parse_code
from tracecode_validator.domain.rules.table import RULES

router = APIRouter(prefix="/v1", tags=["codes"])


class HistoryEntry(BaseModel):
    at: datetime
    event: str
    institution: str | None
    reference: str | None
    state: str
    remaining_units: int


class CodeHistory(BaseModel):
    drug_trac_codg: str
    key: str
    family: str
    history: list[HistoryEntry]


class RuleDoc(BaseModel):
    rule: str
    action: str
    severity: str
    alert: bool
    when: str
    message_zh: str
    message_en: str


@router.get("/admin/codes/{drug_trac_codg}/history", response_model=CodeHistory)
async def history(
    drug_trac_codg: str,
    _inspector: Inspector,
    ctx: Context,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> CodeHistory:
    """Every registry change of one code, oldest first."""
    parsed = parse_code(drug_trac_codg)
    if isinstance(parsed, CodeError):
        raise ProblemError(
            422, "malformed_trace_code", "Malformed trace code", parsed.message_en, field="code"
        )
    rows = await repo.code_history(ctx.uow.pool, parsed.key, limit)
    return CodeHistory(
        drug_trac_codg=drug_trac_codg,
        key=parsed.key,
        family=parsed.family.value,
        history=[HistoryEntry(**dict(r)) for r in rows],
    )


@router.get("/rules", response_model=list[RuleDoc], summary="The rule book (stable codes)")
async def rules(ctx: Context) -> list[RuleDoc]:
    """Every rule with the action this deployment applies (policy overrides included)."""
    return [
        RuleDoc(
            rule=spec.rule.value,
            action=ctx.deps.policy.action_for(spec.rule).value,
            severity=spec.severity.value,
            alert=spec.alert,
            when=spec.when,
            message_zh=spec.message_zh,
            message_en=spec.message_en,
        )
        for spec in RULES.values()
    ]
