"""Translating between event payloads and the domain's types (both directions)."""

from __future__ import annotations

from typing import Any

from yibao.events import SettlementRequested
from yibao.events.settlement import RuleHit

from tracecode_validator.domain.rules.context import SaleLine, Settlement
from tracecode_validator.domain.rules.dispensing import Dispensed
from tracecode_validator.domain.rules.hits import RuleHit as DomainHit


def settlement_from_event(event: SettlementRequested) -> Settlement:
    """The domain's view of a requested sale."""
    return Settlement(
        settlement_id=event.settlement_id,
        institution=event.fixmedins_code,
        person=event.psn_key,
        setl_time=event.setl_time,
        prescriber=event.prescriber_id,
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


def dispensed_to_json(entries: tuple[Dispensed, ...]) -> list[dict[str, Any]]:
    """Stored form of what each line took from each pack."""
    return [{"line": d.line, "key": d.key, "units": d.units, "whole": d.whole} for d in entries]


def dispensed_from_json(rows: list[dict[str, Any]]) -> tuple[Dispensed, ...]:
    """Inverse of `dispensed_to_json`."""
    return tuple(Dispensed(r["line"], r["key"], int(r["units"]), bool(r["whole"])) for r in rows)
