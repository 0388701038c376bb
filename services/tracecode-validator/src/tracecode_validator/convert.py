"""Translating between event payloads and the domain's types (both directions)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from yibao.calendar import bureau_time
from yibao.events import SettlementRequested
from yibao.events.settlement import RuleHit

from tracecode_validator.domain.registry import (
    CodeRecord,
    CodeState,
    MovementType,
    RegistryEvent,
    SaleStamp,
)
from tracecode_validator.domain.rules.context import SaleLine, Settlement
from tracecode_validator.domain.rules.dispensing import Dispensed
from tracecode_validator.domain.rules.hits import RuleHit as DomainHit


def settlement_from_event(event: SettlementRequested) -> Settlement:
    """The domain's view of a requested sale."""
    return Settlement(
        settlement_id=event.settlement_id,
        institution=event.fixmedins_code,
        person=event.psn_key,
        setl_time=bureau_time(event.setl_time),  # so every rule's .date() is the bureau's day
        prescriber=event.prescriber_id,
        emergency=event.emergency,
        pharmacist=event.pharmacist_id,
        lines=tuple(
            SaleLine(
                med_list_codg=line.med_list_codg,
                trdn_flag=line.trdn_flag,
                sel_retn_cnt=int(line.sel_retn_cnt),
                drug_trac_codg=tuple(line.trace_codes),
                drug_prod_barc=line.drug_prod_barc,
                days_of_supply=line.days_supply,
            )
            for line in event.lines
        ),
    )


def hit_to_event(hit: DomainHit) -> RuleHit:
    """A domain hit as it travels and as the POS sees it."""
    return RuleHit.model_validate(
        {
            "rule": hit.rule.value,
            "action": hit.action.value,
            "severity": hit.severity.value,
            "line": hit.line,
            "drug_trac_codg": hit.drug_trac_codg,
            "message_zh": hit.message_zh,
            "message_en": hit.message_en,
            "evidence": dict(hit.evidence),
        }
    )


def stamp_to_json(stamp: SaleStamp | None) -> dict[str, Any] | None:
    """Stored form of a sale stamp (the person is already a pseudonym)."""
    if stamp is None:
        return None
    return {
        "settlement_id": stamp.settlement_id,
        "institution": stamp.institution,
        "person": stamp.person,
        "at": stamp.at.isoformat(),
    }


def stamp_from_json(value: Mapping[str, Any] | None) -> SaleStamp | None:
    """Inverse of `stamp_to_json`."""
    if not value:
        return None
    return SaleStamp(
        settlement_id=value["settlement_id"],
        institution=value["institution"],
        person=value["person"],
        at=datetime.fromisoformat(value["at"]),
    )


def record_to_json(record: CodeRecord) -> dict[str, Any]:
    """A whole registry record as JSON (kept with a held sale so a review can undo it)."""
    return {
        "key": record.key,
        "med_list_codg": record.med_list_codg,
        "units_per_pack": record.units_per_pack,
        "remaining_units": record.remaining_units,
        "state": record.state.value,
        "institution": record.institution,
        "opened": record.opened,
        "expiry": record.expiry.isoformat() if record.expiry else None,
        "lot": record.lot,
        "last_sale": stamp_to_json(record.last_sale),
        "last_event": record.last_event.value if record.last_event else None,
    }


def record_from_json(value: Mapping[str, Any]) -> CodeRecord:
    """Inverse of `record_to_json`; also reads registry rows, which have the same fields."""
    expiry = value["expiry"]
    return CodeRecord(
        key=value["key"],
        med_list_codg=value["med_list_codg"],
        units_per_pack=value["units_per_pack"],
        remaining_units=value["remaining_units"],
        state=CodeState(value["state"]),
        institution=value["institution"],
        opened=value["opened"],
        expiry=date.fromisoformat(expiry) if isinstance(expiry, str) else expiry,
        lot=value["lot"],
        last_sale=stamp_from_json(value["last_sale"]),
        last_event=last_event_from(value["last_event"]),
    )


def last_event_from(value: str | None) -> MovementType | RegistryEvent | None:
    """The registry stores movements and sale events in one column."""
    if value is None:
        return None
    if value in MovementType.__members__.values():
        return MovementType(value)
    return RegistryEvent(value)


def dispensed_to_json(entries: tuple[Dispensed, ...]) -> list[dict[str, Any]]:
    """Stored form of what each line took from each pack."""
    return [{"line": d.line, "key": d.key, "units": d.units, "whole": d.whole} for d in entries]


def dispensed_from_json(rows: list[dict[str, Any]]) -> tuple[Dispensed, ...]:
    """Inverse of `dispensed_to_json`."""
    return tuple(Dispensed(r["line"], r["key"], int(r["units"]), bool(r["whole"])) for r in rows)
