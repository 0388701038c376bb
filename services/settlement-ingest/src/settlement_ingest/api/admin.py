"""Bureau admin endpoints of ingest."""

from __future__ import annotations

from fastapi import APIRouter, status
from yibao.auth import AdminPrincipal

from settlement_ingest import commands
from settlement_ingest.api.deps import Context
from settlement_ingest.schemas import InstitutionIn, InstitutionOut

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
