"""Events the validator consumes: each handler loads state, asks the domain, persists.

All of it runs inside the consumer's unit of work, so the registry change, the stored
decision, the processed-event record and the outgoing events commit together.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from yibao.bus.consumer import Handler
from yibao.calendar import bureau_date
from yibao.db import UnitOfWork
from yibao.events import (
    CreditGradeChanged,
    EnrollmentStatusChanged,
    Envelope,
    InventoryMoved,
    SettlementDecided,
    SettlementRefunded,
    SettlementRequested,
    TracecodeAlerted,
    topics,
)
from yibao.events.settlement import lines_amount

from tracecode_validator import repository as repo
from tracecode_validator.catalogue_cache import CatalogueCache
from tracecode_validator.convert import (
    dispensed_from_json,
    dispensed_to_json,
    hit_to_event,
    record_to_json,
    settlement_from_event,
)
from tracecode_validator.domain.codes import ParsedCode, parse_code
from tracecode_validator.domain.decision import DecisionStatus, decide
from tracecode_validator.domain.registry import (
    STOCK_IN_MOVEMENTS,
    CodeRecord,
    MovementType,
    Refusal,
    stock_in,
    stock_out,
)
from tracecode_validator.domain.returns import (
    ReturnLine,
    ReturnStatus,
    SaleRecord,
    decide_return,
)
from tracecode_validator.domain.rules.context import Eligibility, SaleContext
from tracecode_validator.domain.rules.hits import RuleCode
from tracecode_validator.domain.rules.hits import RuleHit as DomainHit
from tracecode_validator.domain.rules.policy import RulePolicy, make_hit


@dataclass(frozen=True, slots=True)
class ValidatorDeps:
    """What the handlers share: the catalogue cache and the bureau's rule policy."""

    catalogue: CatalogueCache
    policy: RulePolicy
    purchase_lookback_days: int = 365


def _alert(
    uow: UnitOfWork,
    *,
    institution: str,
    rule: str,
    severity: str,
    settlement_id: str | None,
    code: str | None,
    psn_key: str | None,
    evidence: dict[str, object],
) -> None:
    uow.emit(
        TracecodeAlerted.model_validate(
            {
                "alert_id": str(uuid.uuid4()),
                "settlement_id": settlement_id,
                "fixmedins_code": institution,
                "rule": rule,
                "severity": severity,
                "drug_trac_codg": code,
                "psn_key": psn_key,
                "evidence": evidence,
                "occurred_at": datetime.now(UTC),
            }
        )
    )


def _alert_hit(
    uow: UnitOfWork,
    hit: DomainHit,
    *,
    institution: str,
    settlement_id: str,
    psn_key: str | None,
    context: dict[str, object] | None = None,
) -> None:
    """Publish a rule hit as a suspected violation, with what it was found in."""
    _alert(
        uow,
        institution=institution,
        rule=hit.rule.value,
        severity=hit.severity.value,
        settlement_id=settlement_id,
        code=hit.drug_trac_codg,
        psn_key=psn_key,
        evidence={**(context or {}), **dict(hit.evidence)},
    )


async def decide_settlement(
    event: SettlementRequested, uow: UnitOfWork, deps: ValidatorDeps
) -> None:
    """Check every line against the registry and rules; commit the codes it consumes."""
    conn = uow.conn
    settlement = settlement_from_event(event)
    inputs = await repo.sale_inputs(
        conn,
        settlement_id=event.settlement_id,
        institution=event.fixmedins_code,
        practitioners=[p for p in (event.prescriber_id, event.pharmacist_id) if p],
        psn_key=event.psn_key,
        meds=sorted({line.med_list_codg for line in settlement.lines}),
        since=bureau_date(event.setl_time) - timedelta(days=deps.purchase_lookback_days),
        sale_date=bureau_date(event.setl_time),
    )
    if inputs is None:
        return  # decided before (e.g. the same sale re-published): the answer stands
    await repo.lock_codes(conn, settlement.code_keys)
    records = await repo.load_codes(conn, settlement.code_keys)
    context = SaleContext(
        settlement=settlement,
        catalogue=await deps.catalogue.at(conn, inputs.catalogue_version),
        records=records,
        eligibility=inputs.eligibility,
        credit=inputs.credit,
        practitioners=inputs.practitioners,
        recent_purchases=inputs.recent_purchases,
        no_code_exempt=inputs.no_code_exempt,
        policy=deps.policy,
    )
    decision = decide(context)
    now = datetime.now(UTC)
    await repo.save_codes(
        conn, decision.records, event="sale", reference=event.settlement_id, at=now
    )
    hits = [hit_to_event(h) for h in decision.hits]
    amount = lines_amount(event.lines)
    await repo.insert_decision(
        conn,
        settlement_id=event.settlement_id,
        fixmedins_code=event.fixmedins_code,
        psn_key=event.psn_key,
        status=decision.status.value,
        hits=[h.model_dump(mode="json") for h in hits],
        dispensed=dispensed_to_json(decision.dispensed),
        amount=amount,
        setl_time=event.setl_time,
        decided_at=now,
        held_from=(
            [
                {
                    "key": r.key,
                    "record": record_to_json(records[r.key]) if r.key in records else None,
                }
                for r in decision.records
            ]
            if decision.status is DecisionStatus.PENDING_REVIEW
            else None
        ),
    )
    if decision.status is not DecisionStatus.REJECTED:
        supplies = {
            line.med_list_codg: (bureau_date(event.setl_time), line.days_supply)
            for line in event.lines
            if line.days_supply
        }
        await repo.record_purchases(conn, event.psn_key, event.settlement_id, supplies)
    uow.emit(
        SettlementDecided(
            settlement_id=event.settlement_id,
            fixmedins_code=event.fixmedins_code,
            psn_key=event.psn_key,
            status=decision.status.value,
            hits=hits,
            amount=amount,
            decided_at=now,
        )
    )
    for hit in decision.alerts:
        _alert_hit(
            uow,
            hit,
            institution=event.fixmedins_code,
            settlement_id=event.settlement_id,
            psn_key=event.psn_key,
        )


async def refer_undecidable(event: SettlementRequested, uow: UnitOfWork) -> None:
    """A sale the rules could not decide goes to a reviewer instead of waiting forever.

    Runs after the request was dead-lettered; nothing is held, so a reviewer's approval
    settles it without consuming codes (the DLQ keeps the request for investigation).
    """
    if await repo.decision(uow.conn, event.settlement_id) is not None:
        return
    hit = hit_to_event(make_hit(RuleCode.DECISION_FAILED, RulePolicy()))
    now = datetime.now(UTC)
    amount = lines_amount(event.lines)
    await repo.insert_decision(
        uow.conn,
        settlement_id=event.settlement_id,
        fixmedins_code=event.fixmedins_code,
        psn_key=event.psn_key,
        status="pending_review",
        hits=[hit.model_dump(mode="json")],
        dispensed=[],
        amount=amount,
        setl_time=event.setl_time,
        decided_at=now,
        held_from=[],
    )
    uow.emit(
        SettlementDecided(
            settlement_id=event.settlement_id,
            fixmedins_code=event.fixmedins_code,
            psn_key=event.psn_key,
            status="pending_review",
            hits=[hit],
            amount=amount,
            decided_at=now,
        )
    )


async def apply_movement(event: InventoryMoved, uow: UnitOfWork, deps: ValidatorDeps) -> None:
    """Move each code in or out of the institution's stock; refusals become alerts."""
    conn = uow.conn
    movement = MovementType(event.movement_type)
    parsed = [(text, parse_code(text)) for text in event.trace_codes]
    keys = [p.key for _, p in parsed if isinstance(p, ParsedCode)]
    await repo.lock_codes(conn, keys)
    records = await repo.load_codes(conn, keys)
    catalogue = await deps.catalogue.get(conn)
    product = catalogue.by_med_list_code(event.med_list_codg)
    changed: dict[str, CodeRecord] = {}
    for text, scan in parsed:
        if not isinstance(scan, ParsedCode):
            _alert(
                uow,
                institution=event.fixmedins_code,
                rule="malformed_trace_code",
                severity="low",
                settlement_id=None,
                code=text,
                psn_key=None,
                evidence={"movement_id": event.movement_id, "reason": scan.reason.value},
            )
            continue
        match = catalogue.identify(scan)
        known = match.product if match else product
        # An uncatalogued product is stocked as a one-unit pack until the bureau loads it.
        units = known.units_per_pack if known else 1
        record = changed.get(scan.key) or records.get(scan.key)
        after = (
            stock_in(
                record,
                key=scan.key,
                med_list_codg=match.product.med_list_codg if match else event.med_list_codg,
                units_per_pack=units,
                institution=event.fixmedins_code,
                movement=movement,
                expiry=event.expy_end or scan.expiry,
                lot=event.manu_lotnum or scan.lot,
            )
            if movement in STOCK_IN_MOVEMENTS
            else stock_out(record, institution=event.fixmedins_code, movement=movement)
        )
        if isinstance(after, Refusal):
            _alert(
                uow,
                institution=event.fixmedins_code,
                rule="stock_movement_refused",
                severity="high" if after.reason.value == "already_dispensed" else "medium",
                settlement_id=None,
                code=text,
                psn_key=None,
                evidence={
                    "movement_id": event.movement_id,
                    "movement_type": movement.value,
                    "reason": after.reason.value,
                    "state": after.state.value,
                },
            )
            continue
        changed[scan.key] = after
    await repo.save_codes(
        conn,
        changed.values(),
        event=movement.value,
        reference=event.movement_id,
        at=datetime.now(UTC),
    )


async def apply_refund(event: SettlementRefunded, uow: UnitOfWork, deps: ValidatorDeps) -> None:
    """Release exactly the returned units back to the selling institution's stock."""
    conn = uow.conn
    stored = await repo.decision(conn, event.settlement_id)
    if stored is None:
        raise LookupError(f"refund of unknown settlement {event.settlement_id}")
    sale = SaleRecord(
        settlement_id=event.settlement_id,
        institution=stored["fixmedins_code"],
        sold_at=stored["setl_time"],
        dispensed=dispensed_from_json(stored["dispensed"]),
        returned=dispensed_from_json(stored["returned"]),
    )
    keys = {d.key for d in sale.dispensed}
    await repo.lock_codes(conn, keys)
    records = await repo.load_codes(conn, keys)
    lines = [
        ReturnLine(line.line, int(line.sel_retn_cnt), tuple(line.trace_codes))
        for line in event.lines
    ]
    outcome = decide_return(
        sale,
        lines,
        records,
        institution=event.fixmedins_code,
        now=event.refunded_at,
        policy=deps.policy,
    )
    if outcome.status is ReturnStatus.REJECTED:
        # Ingest accepted it from the sale's lines, the registry disagrees: keep the
        # registry as it is and hand the discrepancy to post-audit.
        for hit in outcome.hits:
            _alert_hit(
                uow,
                hit,
                institution=event.fixmedins_code,
                settlement_id=event.settlement_id,
                psn_key=stored["psn_key"],
                context={"return_id": event.return_id},
            )
        return
    now = datetime.now(UTC)
    await repo.save_codes(
        conn, outcome.records, event="sale_return", reference=event.return_id, at=now
    )
    await repo.add_returned(conn, event.settlement_id, dispensed_to_json(outcome.released))


_ELIGIBILITY = {
    "insured_local": Eligibility.INSURED,
    "insured_province": Eligibility.INSURED,
    "insured_other_province": Eligibility.INSURED,
    "uninsured": Eligibility.NOT_ENROLLED,
}


async def apply_enrollment(event: EnrollmentStatusChanged, uow: UnitOfWork) -> None:
    """Keep what enrollment says about each person key (deceased outranks the rest)."""
    status = Eligibility.DECEASED if event.deceased else _ELIGIBILITY[event.status]
    await repo.set_eligibility(uow.conn, event.psn_keys, status, event.changed_at)


async def apply_credit(event: CreditGradeChanged, uow: UnitOfWork) -> None:
    """Keep the institution's grade / black list and practitioners' qualification."""
    await repo.upsert_subject_credit(
        uow.conn,
        subject_id=event.subject_id,
        subject_type=event.subject_type,
        grade=event.grade,
        blacklisted="black" in event.lists,
        practitioner_status=event.practitioner_status,
        suspended_until=event.suspended_until,
        at=event.changed_at,
    )


async def on_requested_dead_lettered(envelope: Envelope, uow: UnitOfWork) -> None:
    """The consumer's dead-letter hook for settlement.requested."""
    assert isinstance(envelope.data, SettlementRequested)
    await refer_undecidable(envelope.data, uow)


DEAD_LETTER_HOOKS: dict[str, Handler] = {topics.SETTLEMENT_REQUESTED: on_requested_dead_lettered}


def build_handlers(deps: ValidatorDeps) -> dict[str, Handler]:
    """Bind the handlers to their dependencies, keyed by topic."""

    async def on_requested(envelope: Envelope, uow: UnitOfWork) -> None:
        assert isinstance(envelope.data, SettlementRequested)
        await decide_settlement(envelope.data, uow, deps)

    async def on_moved(envelope: Envelope, uow: UnitOfWork) -> None:
        assert isinstance(envelope.data, InventoryMoved)
        await apply_movement(envelope.data, uow, deps)

    async def on_refunded(envelope: Envelope, uow: UnitOfWork) -> None:
        assert isinstance(envelope.data, SettlementRefunded)
        await apply_refund(envelope.data, uow, deps)

    async def on_enrollment(envelope: Envelope, uow: UnitOfWork) -> None:
        assert isinstance(envelope.data, EnrollmentStatusChanged)
        await apply_enrollment(envelope.data, uow)

    async def on_credit(envelope: Envelope, uow: UnitOfWork) -> None:
        assert isinstance(envelope.data, CreditGradeChanged)
        await apply_credit(envelope.data, uow)

    return {
        topics.SETTLEMENT_REQUESTED: on_requested,
        topics.INVENTORY_MOVED: on_moved,
        topics.SETTLEMENT_REFUNDED: on_refunded,
        topics.ENROLLMENT_STATUS_CHANGED: on_enrollment,
        topics.CREDIT_GRADE_CHANGED: on_credit,
    }
