"""Ingest's use cases: each opens one unit of work, changes state, stages events, commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel
from yibao import institutions
from yibao.auth import Principal, generate_api_key, hash_api_key
from yibao.db import UnitOfWorkFactory
from yibao.events import (
    DrgSettled,
    InstitutionRegistered,
    InventoryMoved,
    SettlementRefunded,
    SettlementRequested,
)
from yibao.events.settlement import RefundLine, RuleHit, SettlementLine, lines_amount
from yibao.pii import FieldCipher, person_key
from yibao.problems import ProblemError

from settlement_ingest import repository as repo
from settlement_ingest.domain.fingerprint import fingerprint
from settlement_ingest.domain.returns import RequestedReturn, SoldLine, judge_return
from settlement_ingest.schemas import (
    DrgSettlementIn,
    InstitutionIn,
    MovementIn,
    ReturnIn,
    ReturnOut,
    SettlementIn,
    SettlementOut,
    hit_dicts,
)
from settlement_ingest.settings import IngestSettings
from settlement_ingest.waiter import DecisionWaiter


@dataclass(frozen=True, slots=True)
class IngestContext:
    """What the use cases need from the running service."""

    settings: IngestSettings
    uow: UnitOfWorkFactory
    waiter: DecisionWaiter
    cipher: FieldCipher

    @property
    def pii_secret(self) -> str:
        return self.settings.platform.pii_key.get_secret_value()

    def fingerprint(self, body: BaseModel) -> str:
        """The body's keyed fingerprint (see `domain.fingerprint`)."""
        return fingerprint(body, secret=self.pii_secret)


def _key_reused() -> ProblemError:
    return ProblemError(
        422,
        "idempotency_key_reuse",
        "Idempotency-Key reused with a different body",
        "This Idempotency-Key was already used for a different request.",
        field="Idempotency-Key",
        hint="Use a new key for a new request; resend the original body to get its answer.",
    )


def _not_found(settlement_id: str) -> ProblemError:
    return ProblemError(
        404, "settlement_not_found", "Settlement not found", f"No settlement {settlement_id}."
    )


def _hits(stored: list[dict[str, Any]] | None) -> list[RuleHit]:
    return [RuleHit.model_validate(h) for h in stored or []]


def _settlement_out(row: Any) -> SettlementOut:
    return SettlementOut(
        settlement_id=row["settlement_id"],
        status=row["status"],
        hits=_hits(row["hits"]),
        decided_at=row["decided_at"],
    )


async def submit_settlement(
    ctx: IngestContext, body: SettlementIn, idempotency_key: str | None
) -> SettlementOut:
    """Store the sale and its `settlement.requested.v1`, then wait (bounded) for the decision."""
    request_hash = ctx.fingerprint(body)
    # Without a key, the body itself is the key: a POS that re-sends the same sale after a
    # timeout gets the same settlement back instead of a false duplicate_sale.
    idempotency_key = idempotency_key or f"body:{request_hash}"
    settlement_id = str(uuid.uuid4())
    identity = body.certno or f"psn_no:{body.psn_no}"
    psn_key = person_key(identity, secret=ctx.pii_secret)
    lines = [
        SettlementLine(
            med_list_codg=line.med_list_codg,
            drug_prod_barc=line.drug_prod_barc,
            trdn_flag=line.trdn_flag,
            sel_retn_cnt=line.sel_retn_cnt,
            finl_trns_pric=line.finl_trns_pric,
            days_supply=line.days_supply,
            trace_codes=[c.drug_trac_codg for c in line.drugtracinfo],
        )
        for line in body.lines
    ]
    amount = lines_amount(lines)
    new_id = settlement_id
    future = ctx.waiter.register(new_id)  # before commit, so a fast decision is not missed
    try:
        settlement_id, answered = await _store_settlement(
            ctx, body, idempotency_key, new_id, request_hash, psn_key, lines, amount
        )
    except BaseException:
        ctx.waiter.forget(new_id, future)
        raise
    if settlement_id != new_id:
        ctx.waiter.forget(new_id, future)
        if answered is not None:
            return answered
        future = ctx.waiter.register(settlement_id)
        row = await repo.settlement(ctx.uow.pool, settlement_id)  # decided while we looked?
        if row is not None and row["status"] != "deciding":
            ctx.waiter.forget(settlement_id, future)
            return _settlement_out(row)
    await ctx.waiter.wait(settlement_id, future, ctx.settings.decision_deadline_s)
    row = await repo.settlement(ctx.uow.pool, settlement_id)
    assert row is not None
    return _settlement_out(row)


async def _store_settlement(
    ctx: IngestContext,
    body: SettlementIn,
    idempotency_key: str,
    settlement_id: str,
    request_hash: str,
    psn_key: str,
    lines: list[SettlementLine],
    amount: Decimal,
) -> tuple[str, SettlementOut | None]:
    """Insert the sale with its event, or find the one this key made before.

    Returns the settlement id and, for a retry whose decision is already known, the answer.
    """
    async with ctx.uow() as uow:
        created = await repo.insert_settlement(
            uow.conn,
            settlement_id=settlement_id,
            fixmedins_code=body.fixmedins_code,
            idempotency_key=idempotency_key,
            request_hash=request_hash,
            psn_key=psn_key,
            certno_cipher=ctx.cipher.encrypt(body.certno) if body.certno else None,
            psn_name_cipher=ctx.cipher.encrypt(body.psn_name) if body.psn_name else None,
            setl_time=body.setl_time,
            lines=[line.model_dump(mode="json") for line in lines],
            amount=amount,
        )
        if created is None:
            earlier = await repo.settlement_by_key(uow.conn, body.fixmedins_code, idempotency_key)
            assert earlier is not None
            if earlier["request_hash"] != request_hash:
                raise _key_reused()
            answer = None if earlier["status"] == "deciding" else _settlement_out(earlier)
            return earlier["settlement_id"], answer
        uow.emit(
            SettlementRequested(
                settlement_id=settlement_id,
                fixmedins_code=body.fixmedins_code,
                psn_key=psn_key,
                setl_time=body.setl_time,
                prescriber_id=body.prsc_dr_certno,
                pharmacist_id=body.phar_certno,
                emergency=body.emergency,
                lines=lines,
                requested_at=datetime.now(UTC),
            )
        )
        await uow.commit()
    return settlement_id, None


async def get_settlement(ctx: IngestContext, settlement_id: str) -> tuple[str, SettlementOut]:
    """The settlement's owner and its current answer."""
    row = await repo.settlement(ctx.uow.pool, settlement_id)
    if row is None:
        raise _not_found(settlement_id)
    return row["fixmedins_code"], _settlement_out(row)


async def submit_return(
    ctx: IngestContext,
    settlement_id: str,
    principal: Principal,
    body: ReturnIn,
    idempotency_key: str | None,
) -> ReturnOut:
    """Judge a return against the original sale and, if accepted, release its units."""
    assert principal.fixmedins_code is not None
    fixmedins_code = principal.fixmedins_code
    request_hash = ctx.fingerprint(body)
    idempotency_key = idempotency_key or f"body:{request_hash}"
    async with ctx.uow() as uow:
        original = await uow.conn.fetchrow(
            "SELECT fixmedins_code, status, setl_time, lines FROM settlements "
            "WHERE settlement_id = $1 FOR UPDATE",
            settlement_id,
        )
        if original is None or original["fixmedins_code"] != fixmedins_code:
            raise ProblemError(
                404,
                "settlement_not_found",
                "Settlement not found",
                f"No settlement {settlement_id}.",
            )
        earlier = await repo.return_by_key(uow.conn, settlement_id, idempotency_key)
        if earlier is not None:
            if earlier["request_hash"] != request_hash:
                raise _key_reused()
            return ReturnOut(
                return_id=earlier["return_id"],
                status=earlier["status"],
                hits=_hits(earlier["hits"]),
            )
        sold = [
            SoldLine(
                med_list_codg=line["med_list_codg"],
                trdn_flag=int(line["trdn_flag"]),
                sel_retn_cnt=Decimal(str(line["sel_retn_cnt"])),
                trace_codes=tuple(line["trace_codes"]),
            )
            for line in original["lines"]
        ]
        already = await repo.returned_units(uow.conn, settlement_id)
        requested = [
            RequestedReturn(
                line=line.line,
                sel_retn_cnt=line.sel_retn_cnt,
                trace_codes=tuple(c.drug_trac_codg for c in line.drugtracinfo),
            )
            for line in body.lines
        ]
        verdict = judge_return(
            status=original["status"],
            setl_time=original["setl_time"],
            sold=sold,
            already_returned=already,
            requested=requested,
            now=datetime.now(UTC),
            window_days=ctx.settings.return_window_days,
        )
        return_id = str(uuid.uuid4())
        status: Literal["accepted", "rejected"] = "accepted" if verdict.accepted else "rejected"
        await repo.insert_return(
            uow.conn,
            return_id=return_id,
            settlement_id=settlement_id,
            fixmedins_code=fixmedins_code,
            idempotency_key=idempotency_key,
            request_hash=request_hash,
            lines=[
                {
                    "line": r.line,
                    "sel_retn_cnt": str(r.sel_retn_cnt),
                    "trace_codes": list(r.trace_codes),
                }
                for r in requested
            ],
            status=status,
            hits=hit_dicts(verdict.hits),
        )
        if verdict.accepted:
            uow.emit(
                SettlementRefunded(
                    return_id=return_id,
                    settlement_id=settlement_id,
                    fixmedins_code=fixmedins_code,
                    lines=[
                        RefundLine(
                            line=r.line,
                            med_list_codg=sold[r.line].med_list_codg,
                            trdn_flag=1 if sold[r.line].trdn_flag else 0,
                            sel_retn_cnt=r.sel_retn_cnt,
                            trace_codes=list(r.trace_codes),
                        )
                        for r in requested
                    ],
                    refunded_at=datetime.now(UTC),
                )
            )
        await uow.commit()
    return ReturnOut(return_id=return_id, status=status, hits=verdict.hits)


async def submit_movement(ctx: IngestContext, body: MovementIn, idempotency_key: str | None) -> str:
    """Store a stock movement and publish it to the registry."""
    movement_id = str(uuid.uuid4())
    request_hash = ctx.fingerprint(body)
    async with ctx.uow() as uow:
        earlier = await repo.insert_submission(
            uow.conn,
            table="inventory_movements",
            submission_id=movement_id,
            fixmedins_code=body.fixmedins_code,
            # A retried movement without a key must not move the same codes twice.
            idempotency_key=idempotency_key or f"body:{request_hash}",
            request_hash=request_hash,
            body=body.model_dump(mode="json"),
        )
        if earlier is not None:
            return _same_or_reused(earlier, request_hash)
        uow.emit(
            InventoryMoved(
                movement_id=movement_id,
                fixmedins_code=body.fixmedins_code,
                movement_type=body.movement_type,
                med_list_codg=body.med_list_codg,
                manu_lotnum=body.manu_lotnum,
                expy_end=body.expy_end,
                trace_codes=[c.drug_trac_codg for c in body.drugtracinfo],
                counterparty_code=body.counterparty_code,
                moved_at=datetime.now(UTC),
            )
        )
        await uow.commit()
    return movement_id


async def submit_drg(ctx: IngestContext, body: DrgSettlementIn, idempotency_key: str | None) -> str:
    """Store an inpatient DRG/DIP case and publish it for metrics and credit."""
    case_id = str(uuid.uuid4())
    request_hash = ctx.fingerprint(body)
    stored = body.model_dump(mode="json", exclude={"certno"})
    async with ctx.uow() as uow:
        earlier = await repo.insert_submission(
            uow.conn,
            table="drg_settlements",
            submission_id=case_id,
            fixmedins_code=body.fixmedins_code,
            idempotency_key=idempotency_key or f"mdtrt:{body.mdtrt_id}",
            request_hash=request_hash,
            body=stored,
        )
        if earlier is not None:
            return _same_or_reused(earlier, request_hash)
        uow.emit(
            DrgSettled(
                drg_settlement_id=case_id,
                fixmedins_code=body.fixmedins_code,
                psn_key=person_key(body.certno, secret=ctx.pii_secret),
                drg_code=body.drg_code,
                grouped=body.grouped,
                excluded=body.excluded,
                weight=body.weight,
                los_days=body.los_days,
                total_cost=body.total_cost,
                fund_paid=body.fund_paid,
                discharge_status=body.discharge_status,
                discharge_date=body.discharge_date,
                settled_at=datetime.now(UTC),
            )
        )
        await uow.commit()
    return case_id


def _same_or_reused(earlier: Any, request_hash: str) -> str:
    if earlier["request_hash"] != request_hash:
        raise _key_reused()
    return str(earlier["id"])


async def register_institution(ctx: IngestContext, body: InstitutionIn) -> str:
    """Register an institution and issue its API key (returned once, stored hashed)."""
    api_key = generate_api_key()
    event = InstitutionRegistered(
        fixmedins_code=body.fixmedins_code,
        name=body.name,
        kind=body.kind,
        level=body.level,
        admdvs=body.admdvs,
        api_key_hash=hash_api_key(api_key),
        registered_at=datetime.now(UTC),
    )
    async with ctx.uow() as uow:
        if not await institutions.register_institution(uow.conn, event):
            raise ProblemError(
                409,
                "institution_exists",
                "Institution already registered",
                f"{body.fixmedins_code} is already registered.",
                field="$.fixmedins_code",
                hint="Each code is registered once; to replace its key, POST "
                f"/v1/admin/institutions/{body.fixmedins_code}/api-key.",
            )
        uow.emit(event)
        await uow.commit()
    return api_key


async def rotate_institution_key(ctx: IngestContext, code: str) -> tuple[str, str]:
    """Issue a new API key: (the new key, the old key's hash, for caches to forget).

    The change travels as a newer `institution.registered.v1` with the new hash, so every
    service's projection replaces the old hash (their key caches hold it for at most 30 s).
    """
    api_key = generate_api_key()
    async with ctx.uow() as uow:
        current = await institutions.lock_institution(uow.conn, code)
        if current is None:
            raise ProblemError(
                404,
                "institution_not_found",
                "Unknown institution",
                f"{code} is not registered.",
                hint="Register it with POST /v1/admin/institutions first.",
            )
        event = current.model_copy(
            update={
                "api_key_hash": hash_api_key(api_key),
                "registered_at": max(datetime.now(UTC), current.registered_at),
            }
        )
        await institutions.upsert_institution(uow.conn, event)
        uow.emit(event)
        await uow.commit()
    return api_key, current.api_key_hash
