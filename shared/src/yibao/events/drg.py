"""Inpatient DRG/DIP settlement events for disclosure metrics and credit findings."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from yibao.events.envelope import Payload


class DrgSettled(Payload):
    """One inpatient case settled under DRG/DIP."""

    drg_settlement_id: str
    fixmedins_code: str
    psn_key: str
    drg_code: str | None
    grouped: bool = True
    excluded: bool = False
    weight: Decimal | None = None
    los_days: int
    total_cost: Decimal
    fund_paid: Decimal
    discharge_status: Literal["cured", "improved", "transferred", "died", "other"]
    discharge_date: date
    settled_at: datetime
