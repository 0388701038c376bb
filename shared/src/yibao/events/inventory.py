"""Stock movement events (进销存): they drive the trace-code registry."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from yibao.events.envelope import Payload

MovementType = Literal[
    "purchase_in", "purchase_return", "transfer_out", "transfer_in", "destroy", "stock_count"
]


class InventoryMoved(Payload):
    """Codes entering or leaving an institution's stock."""

    movement_id: str
    fixmedins_code: str
    movement_type: MovementType
    med_list_codg: str
    manu_lotnum: str | None = None
    expy_end: date | None = None
    trace_codes: list[str]
    counterparty_code: str | None = None
    moved_at: datetime
