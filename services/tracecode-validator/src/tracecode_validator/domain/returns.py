"""Giving units back: patient returns (3506-style) and the release of a rejected hold.

A return names the original sale line and the codes; it releases exactly the packs or
units returned, never more than that line took, at the selling institution, within the
policy's undo window. It is all or nothing: any hit rejects the whole return.
"""

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from tracecode_validator.domain.codes import CodeError, ParsedCode, normalise, parse_code
from tracecode_validator.domain.registry import (
    BLOCKING_STATES,
    CodeRecord,
    CodeState,
    Refusal,
    RefusalReason,
    new_record,
    return_units,
)
from tracecode_validator.domain.rules.dispensing import Dispensed
from tracecode_validator.domain.rules.hits import Action, JsonValue, RuleCode, RuleHit
from tracecode_validator.domain.rules.policy import RulePolicy, make_hit


class ReturnStatus(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class SaleRecord:
    """A consumed settlement as the service stored it, with the returns already made."""

    settlement_id: str
    institution: str
    sold_at: datetime
    dispensed: tuple[Dispensed, ...]
    returned: tuple[Dispensed, ...] = ()


@dataclass(frozen=True, slots=True)
class ReturnLine:
    """``sel_retn_cnt`` counts packs on a whole-pack line and units on a split line."""

    line: int
    sel_retn_cnt: int
    drug_trac_codg: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReturnDecision:
    """``released`` is what the service adds to the sale's returns when accepted."""

    status: ReturnStatus
    hits: tuple[RuleHit, ...]
    records: tuple[CodeRecord, ...]
    released: tuple[Dispensed, ...]


def decide_return(
    sale: SaleRecord,
    lines: Sequence[ReturnLine],
    records: Mapping[str, CodeRecord],
    *,
    institution: str,
    now: datetime,
    policy: RulePolicy,
) -> ReturnDecision:
    """Check a return against the original sale and the registry; release units if sound."""
    if institution != sale.institution:
        hit = make_hit(RuleCode.RETURN_OTHER_INSTITUTION, policy)
        return ReturnDecision(ReturnStatus.REJECTED, (hit,), (), ())
    taken = _units_by_code(sale.returned)
    working: dict[str, CodeRecord] = {}
    hits: list[RuleHit] = []
    released: list[Dispensed] = []
    for request in lines:
        entries = {d.key: d for d in sale.dispensed if d.line == request.line}
        problem = _line_problem(request, entries, records, policy)
        if problem is not None:
            hits.append(problem)
            continue
        whole = next(iter(entries.values())).whole
        for text in dict.fromkeys(request.drug_trac_codg):
            scan = parse_code(text)
            if isinstance(scan, CodeError):
                evidence: dict[str, JsonValue] = {"reason": scan.reason.value, "ai": scan.ai}
                detail = (scan.message_zh, scan.message_en)
                hits.append(
                    _hit(RuleCode.MALFORMED_TRACE_CODE, policy, request, text, evidence, detail)
                )
                continue
            entry = entries.get(scan.key)
            if entry is None:
                detail = ("该追溯码不是原结算该行售出的", "the code was not sold on that line")
                hits.append(_hit(RuleCode.RETURN_NOT_IN_SALE, policy, request, text, {}, detail))
                continue
            units = entry.units if whole else request.sel_retn_cnt
            returnable = entry.units - taken[(entry.line, entry.key)]
            if units > returnable:
                evidence = {"units": units, "returnable": returnable}
                hits.append(_hit(RuleCode.RETURN_EXCEEDS_SALE, policy, request, text, evidence))
                continue
            record = working.get(scan.key) or records.get(scan.key)
            after = (
                Refusal(RefusalReason.NOT_HELD, CodeState.UNKNOWN)
                if record is None
                else return_units(
                    record,
                    institution=institution,
                    units=units,
                    sold_at=sale.sold_at,
                    now=now,
                    window_days=policy.return_window_days,
                )
            )
            if isinstance(after, Refusal):
                hits.append(_refused(after, policy, request, text, units, returnable))
                continue
            working[scan.key] = after
            taken[(entry.line, entry.key)] += units
            released.append(Dispensed(entry.line, entry.key, units, whole))
    if any(hit.action is Action.REJECT for hit in hits):
        return ReturnDecision(ReturnStatus.REJECTED, tuple(hits), (), ())
    return ReturnDecision(
        ReturnStatus.ACCEPTED, tuple(hits), tuple(working.values()), tuple(released)
    )


def undo_hold(
    settlement_id: str,
    current: Mapping[str, CodeRecord],
    previous: Mapping[str, CodeRecord | None],
) -> tuple[CodeRecord, ...]:
    """Put back, exactly as they were, the packs a settlement held for review.

    The reviewer rejected the sale, so it never happened: each pack returns to its state
    before it (``None`` = the registry had never seen it), whoever held it then. A pack
    whose last sale is no longer this settlement, or that was blocked since, keeps its
    later state, because the later event is the truer one.
    """
    restored: list[CodeRecord] = []
    for key, before in previous.items():
        now = current.get(key)
        if (
            now is None
            or now.last_sale is None
            or now.last_sale.settlement_id != settlement_id
            or now.state in BLOCKING_STATES
        ):
            continue
        restored.append(
            before
            if before is not None
            else new_record(
                key,
                med_list_codg=now.med_list_codg,
                units_per_pack=now.units_per_pack,
                expiry=now.expiry,
                lot=now.lot,
            )
        )
    return tuple(restored)


def _units_by_code(entries: Sequence[Dispensed]) -> Counter[tuple[int, str]]:
    counts: Counter[tuple[int, str]] = Counter()
    for entry in entries:
        counts[(entry.line, entry.key)] += entry.units
    return counts


def _line_problem(
    request: ReturnLine,
    entries: Mapping[str, Dispensed],
    records: Mapping[str, CodeRecord],
    policy: RulePolicy,
) -> RuleHit | None:
    """Say what makes a whole return line unusable before its codes are looked at."""
    if not entries:
        detail = ("原结算该行未售出任何追溯码", "the original sale dispensed no code on that line")
        return _hit(RuleCode.RETURN_NOT_IN_SALE, policy, request, None, {}, detail)
    if not request.drug_trac_codg:
        held = [records[key].med_list_codg for key in entries if key in records]
        missing = {"med_list_codg": held[0] if held else ""}
        return _hit(RuleCode.MISSING_TRACE_CODE, policy, request, None, missing)
    distinct = {
        scan.key if isinstance(scan, ParsedCode) else normalise(text)
        for text, scan in ((t, parse_code(t)) for t in request.drug_trac_codg)
    }
    whole = next(iter(entries.values())).whole
    expected = request.sel_retn_cnt if whole else 1
    if request.sel_retn_cnt >= 1 and len(distinct) == expected:
        return None
    evidence = {"sel_retn_cnt": request.sel_retn_cnt, "distinct_codes": len(distinct)}
    detail = (
        f"退货数量{request.sel_retn_cnt}与{len(distinct)}个不同追溯码不符",
        f"{request.sel_retn_cnt} returned does not fit {len(distinct)} distinct codes",
    )
    return _hit(RuleCode.QUANTITY_MISMATCH, policy, request, None, evidence, detail)


def _refused(
    refusal: Refusal,
    policy: RulePolicy,
    request: ReturnLine,
    text: str,
    units: int,
    returnable: int,
) -> RuleHit:
    if refusal.reason is RefusalReason.WINDOW_EXPIRED:
        evidence: dict[str, JsonValue] = {"window_days": policy.return_window_days}
        return _hit(RuleCode.RETURN_WINDOW_EXPIRED, policy, request, text, evidence)
    if refusal.reason is RefusalReason.WRONG_INSTITUTION:
        evidence = {"state": refusal.state.value}
        return _hit(RuleCode.RETURN_OTHER_INSTITUTION, policy, request, text, evidence)
    if refusal.reason is RefusalReason.EXCEEDS_PACK:
        evidence = {"units": units, "returnable": returnable}
        return _hit(RuleCode.RETURN_EXCEEDS_SALE, policy, request, text, evidence)
    evidence = {"state": refusal.state.value}
    return _hit(RuleCode.RETURN_CODE_STATE, policy, request, text, evidence)


def _hit(
    rule: RuleCode,
    policy: RulePolicy,
    request: ReturnLine,
    code: str | None,
    evidence: Mapping[str, JsonValue],
    detail: tuple[str, str] | None = None,
) -> RuleHit:
    return make_hit(rule, policy, line=request.line, code=code, evidence=evidence, detail=detail)
