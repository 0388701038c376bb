"""Can each pack be dispensed as billed: one box, one sale, units within the pack?

The registry's transition functions are the judge; this module walks the request in
order against a working copy of the records, so a code scanned twice in one request is
caught by the same rule as a code sold yesterday, and the records it produces are exactly
the ones the decision will persist.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from tracecode_validator.domain.registry import (
    CodeRecord,
    CodeState,
    Refusal,
    RefusalReason,
    SaleStamp,
    is_stocked_at,
    new_record,
    sell_split,
    sell_whole,
)
from tracecode_validator.domain.rules.context import SaleContext, SaleLine, Scan, usable_scans
from tracecode_validator.domain.rules.hits import JsonValue, RuleCode, RuleHit, Severity
from tracecode_validator.domain.rules.policy import make_hit

_BLOCKED_WORDS = {
    CodeState.RECALLED: ("已被召回", "has been recalled"),
    CodeState.LOCKED: ("已被锁定调查", "is locked for investigation"),
    CodeState.DESTROYED: ("已被销毁", "has been destroyed"),
    CodeState.EXPIRED: ("已过期", "has expired"),
}


@dataclass(frozen=True, slots=True)
class Dispensed:
    """Units a sale line took from one pack; ``whole`` for a pack sold unopened."""

    line: int
    key: str
    units: int
    whole: bool


@dataclass(frozen=True, slots=True)
class Dispensing:
    hits: tuple[RuleHit, ...]
    records: Mapping[str, CodeRecord]
    dispensed: tuple[Dispensed, ...]


def dispense(context: SaleContext) -> Dispensing:
    """Sell every usable code against the registry and report what stood in the way.

    A code whose product is unknown both to the catalogue and to the registry has no pack
    size to count against, so it is left out; the product rule already sends it to review.
    """
    settlement = context.settlement
    stamp = SaleStamp(
        settlement.settlement_id, settlement.institution, settlement.person, settlement.setl_time
    )
    working: dict[str, CodeRecord] = {}
    sold_here: set[str] = set()
    hits: list[RuleHit] = []
    dispensed: list[Dispensed] = []
    for scan in usable_scans(context):
        line = settlement.lines[scan.line]
        key = scan.code.key
        stored = context.records.get(key)
        if stored is not None and _sold_by(stored, settlement.settlement_id):
            # A redelivered settlement finds its own sale in the registry. The service
            # answers replays from the stored decision; this keeps one that slips through
            # from ever being called a duplicate of itself.
            units = line.sel_retn_cnt if line.split else stored.units_per_pack
            dispensed.append(Dispensed(scan.line, key, units, whole=not line.split))
            continue
        if scan.code.expiry is not None and scan.code.expiry < settlement.setl_time.date():
            evidence = {"state": CodeState.EXPIRED.value, "expiry": scan.code.expiry.isoformat()}
            hits.append(_blocked(context, scan, CodeState.EXPIRED, evidence))
            continue
        before = working.get(key) or stored or _fresh(context, scan, line)
        if before is None:
            continue
        after = (
            sell_split(before, stamp, line.sel_retn_cnt)
            if line.split
            else sell_whole(before, stamp)
        )
        if isinstance(after, Refusal):
            refused = _refused(context, scan, before, after, within_request=key in sold_here)
            hits.extend(refused)
            continue
        if not is_stocked_at(before, settlement.institution):
            hits.append(
                make_hit(
                    RuleCode.NOT_IN_STOCK,
                    context.policy,
                    line=scan.line,
                    code=scan.text,
                    evidence={"state": before.state.value, "held_by": before.institution},
                )
            )
        working[key] = after
        sold_here.add(key)
        units = line.sel_retn_cnt if line.split else before.units_per_pack
        dispensed.append(Dispensed(scan.line, key, units, whole=not line.split))
    return Dispensing(tuple(hits), working, tuple(dispensed))


def _sold_by(record: CodeRecord, settlement_id: str) -> bool:
    return record.last_sale is not None and record.last_sale.settlement_id == settlement_id


def _fresh(context: SaleContext, scan: Scan, line: SaleLine) -> CodeRecord | None:
    product = (
        scan.match.product
        if scan.match is not None
        else context.catalogue.by_med_list_code(line.med_list_codg)
    )
    if product is None:
        return None
    return new_record(
        scan.code.key,
        med_list_codg=product.med_list_codg,
        units_per_pack=product.units_per_pack,
        expiry=scan.code.expiry,
        lot=scan.code.lot,
    )


def _refused(
    context: SaleContext, scan: Scan, record: CodeRecord, refusal: Refusal, *, within_request: bool
) -> list[RuleHit]:
    if refusal.reason in (RefusalReason.ALREADY_DISPENSED, RefusalReason.PACK_OPENED):
        return [_duplicate(context, scan, record, refusal, within_request=within_request)]
    if refusal.reason is RefusalReason.OVERRUN:
        line = context.settlement.lines[scan.line]
        overrun = {
            "remaining_units": record.remaining_units,
            "units": line.sel_retn_cnt,
            "units_per_pack": record.units_per_pack,
        }
        return [
            make_hit(
                RuleCode.SPLIT_OVERRUN,
                context.policy,
                line=scan.line,
                code=scan.text,
                evidence=overrun,
            )
        ]
    if refusal.reason is RefusalReason.EXPIRED:
        expiry = None if record.expiry is None else record.expiry.isoformat()
        expired = {"state": CodeState.EXPIRED.value, "expiry": expiry}
        return [_blocked(context, scan, CodeState.EXPIRED, expired)]
    if refusal.reason is RefusalReason.BLOCKED:
        return [_blocked(context, scan, record.state, {"state": record.state.value})]
    # BAD_UNITS: the quantity rule already names a count below one.
    return []


def _blocked(
    context: SaleContext, scan: Scan, state: CodeState, evidence: Mapping[str, JsonValue]
) -> RuleHit:
    return make_hit(
        RuleCode.CODE_BLOCKED,
        context.policy,
        line=scan.line,
        code=scan.text,
        evidence=evidence,
        detail=_BLOCKED_WORDS[state],
    )


def _duplicate(
    context: SaleContext, scan: Scan, record: CodeRecord, refusal: Refusal, *, within_request: bool
) -> RuleHit:
    """Describe the earlier sale; another person or institution makes it critical.

    Only whether the person is the same is disclosed, never the earlier buyer's hash. A code
    scanned twice in one request is almost always a slip at the counter: it is rejected so
    the cashier corrects it, but not alerted, because false alerts are what bury real ones.
    """
    settlement = context.settlement
    prior = record.last_sale
    same_institution = None if prior is None else prior.institution == settlement.institution
    same_person = (
        None
        if prior is None or prior.person is None or settlement.person is None
        else prior.person == settlement.person
    )
    if within_request:
        severity = Severity.MEDIUM
    elif same_institution is False or same_person is False:
        severity = Severity.CRITICAL
    else:
        severity = Severity.HIGH
    if within_request:
        detail = ("本次结算中重复扫描", "it is scanned twice in this settlement")
    elif refusal.reason is RefusalReason.PACK_OPENED:
        detail = ("该包装已拆零销售，不能整盒销售", "the pack was opened for split sale")
    elif prior is not None:
        when = prior.at.isoformat()
        detail = (
            f"已于{when}在{prior.institution}售出",
            f"it was sold at {prior.institution} on {when}",
        )
    else:
        detail = ("已售出", "it was already sold")
    return make_hit(
        RuleCode.DUPLICATE_SALE,
        context.policy,
        line=scan.line,
        code=scan.text,
        evidence={
            "state": record.state.value,
            "within_request": within_request,
            "prior_institution": None if prior is None else prior.institution,
            "prior_sold_at": None if prior is None else prior.at.isoformat(),
            "same_institution": same_institution,
            "same_person": same_person,
        },
        severity=severity,
        detail=detail,
        alert=not within_request,
    )
