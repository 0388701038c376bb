"""What the routes share: the runtime, the settings, and the bureau access audit."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from yibao.auth import Principal
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
