"""FastAPI dependencies of the validator: its context and the bureau role checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from yibao.auth import Principal, current_principal, forbidden
from yibao.db import UnitOfWorkFactory

from tracecode_validator.handlers import ValidatorDeps


@dataclass(frozen=True, slots=True)
class ValidatorContext:
    """What the routes need from the running service."""

    deps: ValidatorDeps
    uow: UnitOfWorkFactory


async def _context(request: Request) -> ValidatorContext:
    ctx: ValidatorContext = request.app.state.validator
    return ctx


def _bureau(*roles: str) -> object:
    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.is_bureau(*roles):
            raise forbidden(f"This needs a bureau role: {', '.join(roles)}.")
        return principal

    return check


Context = Annotated[ValidatorContext, Depends(_context)]
Reviewer = Annotated[Principal, Depends(_bureau("reviewer"))]
Inspector = Annotated[Principal, Depends(_bureau("inspector", "reviewer"))]
