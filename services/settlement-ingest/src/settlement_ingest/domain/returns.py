"""Whether a return (3506-style) may be accepted, decided from the original sale alone.

Ingest holds the original sale, its decision and what was already returned, so it can answer
the POS at once; the validator then releases exactly the accepted units in the registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from yibao.events.settlement import RuleHit

RETURNABLE = frozenset({"approved", "approved_with_warnings"})


@dataclass(frozen=True, slots=True)
class SoldLine:
    """One line of the original sale as stored."""

    med_list_codg: str
    trdn_flag: int
    sel_retn_cnt: Decimal
    trace_codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RequestedReturn:
    """One line of the return request."""

    line: int
    sel_retn_cnt: Decimal
    trace_codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReturnVerdict:
    """Accepted or rejected, with the reasons."""

    accepted: bool
    hits: list[RuleHit] = field(default_factory=list)


def _hit(rule: str, zh: str, en: str, line: int | None, **evidence: Any) -> RuleHit:
    return RuleHit(
        rule=rule,
        action="reject",
        severity="low",
        line=line,
        message_zh=zh,
        message_en=en,
        evidence={k: str(v) if isinstance(v, Decimal) else v for k, v in evidence.items()},
    )


def judge_return(
    *,
    status: str,
    setl_time: datetime,
    sold: list[SoldLine],
    already_returned: dict[int, Decimal],
    requested: list[RequestedReturn],
    now: datetime,
    window_days: int,
) -> ReturnVerdict:
    """Apply the return rules: settled sale, window, known lines, units and codes."""
    hits: list[RuleHit] = []
    if status not in RETURNABLE:
        hits.append(
            _hit(
                "return_not_settled",
                "原结算未通过，不能退货",
                "The original settlement was not approved, so nothing can be returned.",
                None,
                status=status,
            )
        )
        return ReturnVerdict(False, hits)
    if now - setl_time > timedelta(days=window_days):
        hits.append(
            _hit(
                "return_window_expired",
                f"超过{window_days}天退货期限",
                f"Returns are allowed within {window_days} days of the sale.",
                None,
                setl_time=setl_time.isoformat(),
                window_days=window_days,
            )
        )
    for req in requested:
        hits.extend(_judge_line(req, sold, already_returned))
    return ReturnVerdict(not hits, hits)


def _judge_line(
    req: RequestedReturn, sold: list[SoldLine], already_returned: dict[int, Decimal]
) -> list[RuleHit]:
    if req.line >= len(sold):
        return [
            _hit(
                "return_line_unknown",
                "原销售中没有该明细",
                f"The original sale has no line {req.line}.",
                req.line,
                lines_in_sale=len(sold),
            )
        ]
    line = sold[req.line]
    hits: list[RuleHit] = []
    left = line.sel_retn_cnt - already_returned.get(req.line, Decimal(0))
    if req.sel_retn_cnt > left:
        hits.append(
            _hit(
                "return_exceeds_sold",
                "退货数量超过可退数量",
                f"Only {left} units of line {req.line} can still be returned.",
                req.line,
                requested=req.sel_retn_cnt,
                returnable=left,
            )
        )
    foreign = [c for c in req.trace_codes if c not in line.trace_codes]
    if foreign:
        hits.append(
            _hit(
                "return_code_not_in_sale",
                "退货追溯码不属于原销售",
                "These trace codes were not sold on that line.",
                req.line,
                codes=foreign,
            )
        )
    expected = int(req.sel_retn_cnt) if line.trdn_flag == 0 else 1
    if line.trace_codes and len(set(req.trace_codes)) != expected:
        hits.append(
            _hit(
                "quantity_mismatch",
                "退货追溯码数量与退货数量不符",
                f"Expected {expected} distinct trace code(s) for this return line.",
                req.line,
                codes=len(set(req.trace_codes)),
                expected=expected,
            )
        )
    return hits
