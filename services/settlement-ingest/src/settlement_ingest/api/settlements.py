"""POS/HIS endpoints: settlements, returns, stock movements, DRG cases."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from yibao.auth import AnyPrincipal, InstitutionPrincipal, require_same_institution

from settlement_ingest import commands
from settlement_ingest.api.deps import Context, IdempotencyKey
from settlement_ingest.schemas import (
    DrgSettlementIn,
    DrgSettlementOut,
    MovementIn,
    MovementOut,
    ReturnIn,
    ReturnOut,
    SettlementIn,
    SettlementOut,
)

router = APIRouter(prefix="/v1", tags=["settlements"])


@router.post(
    "/settlements",
    response_model=SettlementOut,
    responses={202: {"model": SettlementOut, "description": "Still deciding; poll Location"}},
    summary="Submit a sale / outpatient settlement (3505) and get the decision",
)
async def post_settlement(
    body: SettlementIn,
    principal: InstitutionPrincipal,
    ctx: Context,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> SettlementOut:
    """Answers 200 with the decision, or 202 with a status URL if the deadline passes first.

    A business-rule failure (e.g. a missing trace code) is a `rejected` decision, not a 4xx.
    """
    require_same_institution(principal, body.fixmedins_code)
    answer = await commands.submit_settlement(ctx, body, idempotency_key)
    if answer.status == "deciding":
        response.status_code = status.HTTP_202_ACCEPTED
        response.headers["Location"] = f"/v1/settlements/{answer.settlement_id}"
        response.headers["Retry-After"] = "1"
    return answer


@router.get(
    "/settlements/{settlement_id}",
    response_model=SettlementOut,
    summary="The current decision of a settlement",
)
async def get_settlement(
    settlement_id: str, principal: AnyPrincipal, ctx: Context
) -> SettlementOut:
    owner, answer = await commands.get_settlement(ctx, settlement_id)
    require_same_institution(principal, owner)
    return answer


@router.post(
    "/settlements/{settlement_id}/returns",
    response_model=ReturnOut,
    summary="Return units of an earlier sale (3506); accepted units become sellable again",
)
async def post_return(
    settlement_id: str,
    body: ReturnIn,
    principal: InstitutionPrincipal,
    ctx: Context,
    idempotency_key: IdempotencyKey,
) -> ReturnOut:
    return await commands.submit_return(ctx, settlement_id, principal, body, idempotency_key)


@router.post(
    "/inventory/movements",
    response_model=MovementOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Record a stock movement (进销存); codes take effect in the registry within ~1 s",
)
async def post_movement(
    body: MovementIn, principal: InstitutionPrincipal, ctx: Context, idempotency_key: IdempotencyKey
) -> MovementOut:
    require_same_institution(principal, body.fixmedins_code)
    return MovementOut(movement_id=await commands.submit_movement(ctx, body, idempotency_key))


@router.post(
    "/drg-settlements",
    response_model=DrgSettlementOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Record an inpatient DRG/DIP settlement",
)
async def post_drg(
    body: DrgSettlementIn,
    principal: InstitutionPrincipal,
    ctx: Context,
    idempotency_key: IdempotencyKey,
) -> DrgSettlementOut:
    require_same_institution(principal, body.fixmedins_code)
    return DrgSettlementOut(drg_settlement_id=await commands.submit_drg(ctx, body, idempotency_key))
