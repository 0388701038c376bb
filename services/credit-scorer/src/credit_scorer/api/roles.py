"""Who may do what in credit: institutions read and contest their own file; bureau users
act by role (inspector files findings, reviewer decides cases, approver is the second pair
of eyes); the admin token holds every role but is one person for the four-eyes rule."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends
from yibao.auth import AnyPrincipal, Principal, forbidden, require_same_institution


def _role(role: str, action: str) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: AnyPrincipal) -> Principal:
        if not principal.is_bureau(role):
            raise forbidden(f"{action} needs the bureau {role} role.")
        return principal

    return check


BUREAU_ROLES = ("inspector", "reviewer", "approver")  # admin holds them all


def is_staff(principal: Principal) -> bool:
    """A bureau user holding a role; a bureau token without roles is no one's staff."""
    return principal.is_bureau(*BUREAU_ROLES)


async def _bureau(principal: AnyPrincipal) -> Principal:
    if not is_staff(principal):
        raise forbidden("This endpoint is for bureau users with a role.")
    return principal


async def _own_file(subject_id: str, principal: AnyPrincipal) -> Principal:
    """An institution acts only on its own file; bureau staff on any file. A dependency, so
    a stranger is refused before its body is even read (never a 422 that tells it more)."""
    require_same_institution(principal, subject_id)
    if principal.kind == "bureau" and not is_staff(principal):
        raise forbidden("Reading or acting on a credit file needs a bureau role.")
    return principal


Inspector = Annotated[Principal, Depends(_role("inspector", "Filing findings"))]
Reviewer = Annotated[Principal, Depends(_role("reviewer", "Deciding a case"))]
Approver = Annotated[Principal, Depends(_role("approver", "A second approval"))]
Bureau = Annotated[Principal, Depends(_bureau)]
OwnFile = Annotated[Principal, Depends(_own_file)]
