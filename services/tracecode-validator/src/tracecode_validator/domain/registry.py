"""The life of one trace code: stocked, sold whole or unit by unit, returned, blocked.

Every function takes the current record and returns the next one, or a ``Refusal`` saying
why the event cannot happen; the service stores the result in one atomic state change.
A patient return does not get a state of its own: the pack goes back to ``in_stock`` (or
stays an opened pack), and ``last_event`` keeps the trail of how it got there.
"""

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum


class CodeState(StrEnum):
    UNKNOWN = "unknown"
    IN_STOCK = "in_stock"
    DISPENSED_PARTIAL = "dispensed_partial"
    DISPENSED = "dispensed"
    DESTROYED = "destroyed"
    RECALLED = "recalled"
    LOCKED = "locked"
    EXPIRED = "expired"


BLOCKING_STATES = frozenset(
    {CodeState.DESTROYED, CodeState.RECALLED, CodeState.LOCKED, CodeState.EXPIRED}
)


class MovementType(StrEnum):
    PURCHASE_IN = "purchase_in"
    PURCHASE_RETURN = "purchase_return"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"
    DESTROY = "destroy"
    STOCK_COUNT = "stock_count"


STOCK_IN_MOVEMENTS = frozenset(
    {MovementType.PURCHASE_IN, MovementType.TRANSFER_IN, MovementType.STOCK_COUNT}
)


class RegistryEvent(StrEnum):
    SALE = "sale"
    SPLIT_SALE = "split_sale"
    SALE_RETURN = "sale_return"
    BLOCK = "block"


class RefusalReason(StrEnum):
    ALREADY_DISPENSED = "already_dispensed"
    PACK_OPENED = "pack_opened"
    OVERRUN = "overrun"
    BLOCKED = "blocked"
    EXPIRED = "expired"
    BAD_UNITS = "bad_units"
    NOT_HELD = "not_held"
    NOT_DISPENSED = "not_dispensed"
    WRONG_INSTITUTION = "wrong_institution"
    WINDOW_EXPIRED = "window_expired"
    EXCEEDS_PACK = "exceeds_pack"


@dataclass(frozen=True, slots=True)
class SaleStamp:
    """Who sold a pack to whom and when; ``person`` is a pseudonymous hash, never an ID."""

    settlement_id: str
    institution: str
    person: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class CodeRecord:
    """One pack. ``institution`` is where it is, or for a sold pack where it was sold.

    ``opened`` marks a pack that has had units split-sold from it: it can never again be
    sold as a whole box, even when every unit has come back.
    """

    key: str
    med_list_codg: str
    units_per_pack: int
    remaining_units: int
    state: CodeState = CodeState.UNKNOWN
    institution: str | None = None
    opened: bool = False
    expiry: date | None = None
    lot: str | None = None
    last_sale: SaleStamp | None = None
    last_event: MovementType | RegistryEvent | None = None

    def __post_init__(self) -> None:
        if self.units_per_pack < 1 or not 0 <= self.remaining_units <= self.units_per_pack:
            raise ValueError(f"remaining units out of range for {self.key}")


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: RefusalReason
    state: CodeState


def new_record(
    key: str,
    *,
    med_list_codg: str,
    units_per_pack: int,
    expiry: date | None = None,
    lot: str | None = None,
) -> CodeRecord:
    """Return the record of a code the registry has not seen: full and nowhere."""
    return CodeRecord(
        key=key,
        med_list_codg=med_list_codg,
        units_per_pack=units_per_pack,
        remaining_units=units_per_pack,
        expiry=expiry,
        lot=lot,
    )


def is_stocked_at(record: CodeRecord, institution: str) -> bool:
    """Tell whether the pack is on this institution's shelf, whole or opened."""
    return (
        record.state in (CodeState.IN_STOCK, CodeState.DISPENSED_PARTIAL)
        and record.institution == institution
    )


def stock_in(
    record: CodeRecord | None,
    *,
    key: str,
    med_list_codg: str,
    units_per_pack: int,
    institution: str,
    movement: MovementType,
    expiry: date | None = None,
    lot: str | None = None,
) -> CodeRecord | Refusal:
    """Put a pack on an institution's shelf (purchase, transfer in, or stock count).

    A pack already sold coming back into stock is the resale (回流) pattern, so it is
    refused; an opened pack found at a count stays opened. Lot and expiry from the
    movement fill in what the record does not know yet.
    """
    if movement not in STOCK_IN_MOVEMENTS:
        raise ValueError(f"{movement} does not bring stock in")
    if record is None:
        record = new_record(key, med_list_codg=med_list_codg, units_per_pack=units_per_pack)
    record = replace(record, expiry=record.expiry or expiry, lot=record.lot or lot)
    if record.state in BLOCKING_STATES:
        return Refusal(RefusalReason.BLOCKED, record.state)
    if record.state is CodeState.DISPENSED:
        return Refusal(RefusalReason.ALREADY_DISPENSED, record.state)
    if record.state is CodeState.DISPENSED_PARTIAL:
        if movement is MovementType.STOCK_COUNT and record.institution == institution:
            return replace(record, last_event=movement)
        return Refusal(RefusalReason.PACK_OPENED, record.state)
    return replace(record, state=CodeState.IN_STOCK, institution=institution, last_event=movement)


def stock_out(
    record: CodeRecord | None, *, institution: str, movement: MovementType
) -> CodeRecord | Refusal:
    """Take a pack off an institution's shelf (return to supplier, transfer out, destroy).

    A pack that leaves goes back to ``unknown`` until someone stocks it in; a recalled or
    expired pack keeps that state wherever it goes, and a locked one stays put as evidence.
    """
    if movement in STOCK_IN_MOVEMENTS:
        raise ValueError(f"{movement} does not take stock out")
    if record is None:
        return Refusal(RefusalReason.NOT_HELD, CodeState.UNKNOWN)
    if record.institution != institution or record.state in (
        CodeState.UNKNOWN,
        CodeState.DISPENSED,
    ):
        return Refusal(RefusalReason.NOT_HELD, record.state)
    if record.state in (CodeState.LOCKED, CodeState.DESTROYED):
        return Refusal(RefusalReason.BLOCKED, record.state)
    if movement is MovementType.DESTROY:
        return replace(record, state=CodeState.DESTROYED, last_event=movement)
    if record.state in BLOCKING_STATES:
        return replace(record, last_event=movement)
    if record.state is CodeState.DISPENSED_PARTIAL:
        return Refusal(RefusalReason.PACK_OPENED, record.state)
    return replace(record, state=CodeState.UNKNOWN, last_event=movement)


def sell_whole(record: CodeRecord, stamp: SaleStamp) -> CodeRecord | Refusal:
    """Dispense the whole pack: one box, one sale."""
    refusal = _sale_refusal(record, stamp)
    if refusal is not None:
        return refusal
    if record.state is CodeState.DISPENSED:
        return Refusal(RefusalReason.ALREADY_DISPENSED, record.state)
    if record.opened:
        return Refusal(RefusalReason.PACK_OPENED, record.state)
    return replace(
        record,
        state=CodeState.DISPENSED,
        remaining_units=0,
        institution=stamp.institution,
        last_sale=stamp,
        last_event=RegistryEvent.SALE,
    )


def sell_split(record: CodeRecord, stamp: SaleStamp, units: int) -> CodeRecord | Refusal:
    """Dispense units from one pack (拆零); the pack is exhausted when none remain."""
    if units < 1:
        return Refusal(RefusalReason.BAD_UNITS, record.state)
    refusal = _sale_refusal(record, stamp)
    if refusal is not None:
        return refusal
    if record.state is CodeState.DISPENSED and not record.opened:
        return Refusal(RefusalReason.ALREADY_DISPENSED, record.state)
    if units > record.remaining_units:
        return Refusal(RefusalReason.OVERRUN, record.state)
    remaining = record.remaining_units - units
    return replace(
        record,
        state=CodeState.DISPENSED if remaining == 0 else CodeState.DISPENSED_PARTIAL,
        remaining_units=remaining,
        opened=True,
        institution=stamp.institution,
        last_sale=stamp,
        last_event=RegistryEvent.SPLIT_SALE,
    )


def _sale_refusal(record: CodeRecord, stamp: SaleStamp) -> Refusal | None:
    if record.state in BLOCKING_STATES:
        return Refusal(RefusalReason.BLOCKED, record.state)
    if record.expiry is not None and record.expiry < stamp.at.date():
        return Refusal(RefusalReason.EXPIRED, record.state)
    return None


def return_units(
    record: CodeRecord,
    *,
    institution: str,
    units: int,
    sold_at: datetime,
    now: datetime,
    window_days: int = 10,
) -> CodeRecord | Refusal:
    """Take back units a patient returns, within the undo window of the original sale."""
    if now - sold_at > timedelta(days=window_days):
        return Refusal(RefusalReason.WINDOW_EXPIRED, record.state)
    return restore_units(record, institution=institution, units=units)


def restore_units(record: CodeRecord, *, institution: str, units: int) -> CodeRecord | Refusal:
    """Put exactly ``units`` back into the pack at the institution that holds it."""
    if units < 1:
        return Refusal(RefusalReason.BAD_UNITS, record.state)
    if record.state not in (CodeState.DISPENSED, CodeState.DISPENSED_PARTIAL):
        return Refusal(RefusalReason.NOT_DISPENSED, record.state)
    if record.institution != institution:
        return Refusal(RefusalReason.WRONG_INSTITUTION, record.state)
    remaining = record.remaining_units + units
    if remaining > record.units_per_pack:
        return Refusal(RefusalReason.EXCEEDS_PACK, record.state)
    opened = record.opened or remaining < record.units_per_pack
    return replace(
        record,
        state=CodeState.DISPENSED_PARTIAL if opened else CodeState.IN_STOCK,
        remaining_units=remaining,
        opened=opened,
        last_event=RegistryEvent.SALE_RETURN,
    )


def block(record: CodeRecord, state: CodeState) -> CodeRecord | Refusal:
    """Recall, lock, expire or destroy a pack; destruction is final."""
    if state not in BLOCKING_STATES:
        raise ValueError(f"{state} is not a blocking state")
    if record.state is CodeState.DESTROYED:
        return Refusal(RefusalReason.BLOCKED, record.state)
    return replace(record, state=state, last_event=RegistryEvent.BLOCK)
