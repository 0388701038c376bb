"""Settlement events: the real-time path between ingest and the validator."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

from yibao.events.envelope import Payload

DecisionStatus = Literal["approved", "approved_with_warnings", "pending_review", "rejected"]
RuleAction = Literal["reject", "review", "warn"]


class SettlementLine(Payload):
    """One billed drug line with the trace codes scanned for it (national field names)."""

    med_list_codg: str
    drug_prod_barc: str | None = None
    trdn_flag: Literal[0, 1] = 0
    sel_retn_cnt: Decimal
    finl_trns_pric: Decimal | None = None
    days_supply: int | None = None
    trace_codes: list[str] = Field(default_factory=list)


def lines_amount(lines: list[SettlementLine]) -> Decimal:
    """What a sale costs: Σ final unit price × quantity (a missing price counts as 0)."""
    return sum(
        ((line.finl_trns_pric or Decimal(0)) * line.sel_retn_cnt for line in lines), Decimal(0)
    )


class SettlementRequested(Payload):
    """A sale submitted by a POS/HIS; the person appears only as a keyed pseudonym."""

    settlement_id: str
    fixmedins_code: str
    psn_key: str
    setl_time: datetime
    prescriber_id: str | None = None
    pharmacist_id: str | None = None
    emergency: bool = False
    lines: list[SettlementLine]
    requested_at: datetime


class RuleHit(Payload):
    """A rule that fired on a settlement, as shown to the POS and kept as evidence."""

    rule: str
    action: RuleAction
    severity: Literal["low", "medium", "high", "critical"] = "medium"
    line: int | None = None
    drug_trac_codg: str | None = None
    message_zh: str
    message_en: str
    evidence: dict[str, Any] = Field(default_factory=dict)


class SettlementDecided(Payload):
    """The validator's (or a reviewer's) decision on one settlement."""

    settlement_id: str
    fixmedins_code: str
    psn_key: str
    status: DecisionStatus
    hits: list[RuleHit] = Field(default_factory=list)
    decided_by: str = "rules"
    amount: Decimal = Decimal(0)
    decided_at: datetime


class RefundLine(Payload):
    """Units of one original line given back, with the codes they came under."""

    line: int
    med_list_codg: str
    trdn_flag: Literal[0, 1] = 0
    sel_retn_cnt: Decimal
    trace_codes: list[str] = Field(default_factory=list)


class SettlementRefunded(Payload):
    """An accepted return: the validator releases exactly these units back to stock."""

    return_id: str
    settlement_id: str
    fixmedins_code: str
    lines: list[RefundLine]
    refunded_at: datetime
