"""Bureau admin endpoints of ingest."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, status
from yibao.auth import AdminPrincipal

from settlement_ingest import commands
from settlement_ingest.api.deps import Context
from settlement_ingest.schemas import CODE_PATTERN, InstitutionIn, InstitutionOut

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.post(
    "/institutions",
    response_model=InstitutionOut,
    status_code=status.HTTP_201_CREATED,
    summary="Register a designated institution and issue its API key (shown once)",
)
async def register_institution(
    body: InstitutionIn, _admin: AdminPrincipal, ctx: Context
) -> InstitutionOut:
    api_key = await commands.register_institution(ctx, body)
    return InstitutionOut(fixmedins_code=body.fixmedins_code, api_key=api_key)


@router.post(
    "/institutions/{fixmedins_code}/api-key",
    response_model=InstitutionOut,
    summary="Rotate an institution's API key: a new key (shown once), the old one revoked",
    description=(
        "The old key stops working at once on the ingest replica that answers, and within "
        "30 s on the others and on the other services (their projections learn the new "
        "hash from `institution.registered.v1` in about a second; a key lookup is cached "
        "for at most 30 s). The new key works at once."
    ),
)
async def rotate_institution_key(
    fixmedins_code: Annotated[str, Path(pattern=CODE_PATTERN)],
    _admin: AdminPrincipal,
    ctx: Context,
    request: Request,
) -> InstitutionOut:
    api_key, old_hash = await commands.rotate_institution_key(ctx, fixmedins_code)
    request.app.state.authenticator.forget(old_hash)
    return InstitutionOut(fixmedins_code=fixmedins_code, api_key=api_key)
