"""Alerts raised by the validator for post-audit (事后监管) and credit."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from yibao.events.envelope import Payload


class TracecodeAlerted(Payload):
    """A suspected violation with its evidence; `confirmed` alerts move credit."""

    alert_id: str
    settlement_id: str | None = None
    fixmedins_code: str
    rule: str
    severity: Literal["low", "medium", "high", "critical"]
    drug_trac_codg: str | None = None
    psn_key: str | None = None
    confirmed: bool = False
    evidence: dict[str, Any] = Field(default_factory=dict)
    occurred_at: datetime
