"""What the routes share: the runtime, the settings, and the bureau access audit."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from yibao.auth import Principal, forbidden
from yibao.db import DbConnection
from yibao.problems import ProblemError
from yibao.service import Runtime

from disclosure_publisher import repository as repo
from disclosure_publisher.settings import PublisherSettings


def runtime(request: Request) -> Runtime:
    value: Runtime = request.app.state.runtime
    return value


def settings(request: Request) -> PublisherSettings:
    value: PublisherSettings = request.app.state.settings
    return value


def state(request: Request, name: str) -> Any:
    return getattr(request.app.state, name)


READER_ROLES = ("inspector", "reviewer", "approver")
"""Bureau roles that may read institutions' notices and feedback (admin holds them all)."""


def require_reader(principal: Principal) -> None:
    """A bureau token without a role gets nothing of an institution's data."""
    if principal.kind == "bureau" and not principal.is_bureau(*READER_ROLES):
        raise forbidden(
            "Reading institutions' notices needs an inspector, reviewer or approver role."
        )


async def audit(
    conn: DbConnection,
    principal: Principal,
    *,
    action: str,
    fixmedins_code: str | None,
    resource: str,
) -> None:
    """Bureau reads of institution data are logged; an institution's own reads are not."""
    if principal.kind == "bureau":
        await repo.log_access(
            conn,
            subject=principal.subject,
            roles=sorted(principal.roles),
            action=action,
            fixmedins_code=fixmedins_code,
            resource=resource,
        )


def not_found(what: str, ident: str) -> ProblemError:
    return ProblemError(404, f"{what}_not_found", "Not found", f"No {what} {ident!r}.")
