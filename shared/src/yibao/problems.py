"""RFC 9457 problem details: every error a client sees has a stable `code` and says what to do."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from yibao.outages import DEPENDENCY_ERRORS

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://yibao.example.cn/problems/"

log = logging.getLogger(__name__)


class Problem(BaseModel):
    """The documented shape of every error answer (RFC 9457 plus Yibao's extensions)."""

    type: str
    title: str
    status: int
    detail: str
    code: str = Field(description="stable error code, e.g. missing_trace_code")
    instance: str | None = None
    field: str | None = Field(default=None, description="JSON path of the field at fault")
    hint: str | None = Field(default=None, description="what to do about it")
    errors: list[dict[str, Any]] | None = None


_ERRORS = {
    400: "Malformed request (bad JSON, invalid path)",
    401: "No or unknown credential",
    403: "Not allowed for this credential (e.g. another institution's data)",
    404: "Not found",
    409: "Conflict with the current state",
    413: "Body too large",
    422: "Validation failed; `errors` lists each field's JSON path",
    503: "A database or broker is briefly unreachable; retry after Retry-After",
}
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": text,
        "content": {PROBLEM_JSON: {"schema": Problem.model_json_schema()}},
    }
    for status, text in _ERRORS.items()
}
"""OpenAPI `responses` for every route: errors are problem+json, not FastAPI's default."""


class ProblemError(Exception):
    """Raise anywhere in a request to answer with a problem+json body."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str,
        *,
        field: str | None = None,
        hint: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.field = field
        self.hint = hint
        self.headers = headers
        self.extra = extra or {}

    def body(self, instance: str | None = None) -> dict[str, Any]:
        """Render the RFC 9457 members plus Yibao's extensions."""
        body: dict[str, Any] = {
            "type": TYPE_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if instance:
            body["instance"] = instance
        if self.field:
            body["field"] = self.field
        if self.hint:
            body["hint"] = self.hint
        body.update(self.extra)
        return body


def problem_response(problem: ProblemError, instance: str | None = None) -> JSONResponse:
    """Serialise a problem with the right media type and headers."""
    return JSONResponse(
        problem.body(instance),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


def json_path(loc: tuple[int | str, ...]) -> str:
    """Render a pydantic error location as a JSON path (`$.lines[0].sel_retn_cnt`)."""
    parts = loc[1:] if loc and loc[0] in ("body", "query", "path", "header", "cookie") else loc
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(exc, request.url.path)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "field": json_path(tuple(e.get("loc", ()))),
            "message": e.get("msg", ""),
            "type": e.get("type"),
        }
        for e in exc.errors()
    ]
    json_invalid = any(e["type"] == "json_invalid" for e in errors)
    problem = ProblemError(
        422 if not json_invalid else 400,
        "invalid_json" if json_invalid else "validation_failed",
        "Malformed JSON" if json_invalid else "Request body failed validation",
        "; ".join(f"{e['field']}: {e['message']}" for e in errors[:10]),
        field=errors[0]["field"] if errors else None,
        hint="Fix the listed fields and send the request again.",
        extra={"errors": errors[:100]},
    )
    return problem_response(problem, request.url.path)


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}
    # FastAPI turns a body it cannot decode (bad UTF-8, nesting too deep) into a bare 400.
    unreadable = exc.status_code == 400 and "parsing the body" in str(exc.detail)
    problem = ProblemError(
        exc.status_code,
        "invalid_json" if unreadable else codes.get(exc.status_code, f"http_{exc.status_code}"),
        str(exc.detail) if exc.status_code != 404 else "Not found",
        str(exc.detail),
        headers=dict(exc.headers) if exc.headers else None,
    )
    return problem_response(problem, request.url.path)


DEPENDENCY_RETRY_AFTER_S = 2


def unexpected_error_response(route: str, exc: Exception) -> JSONResponse:
    """Answer an error no handler expected: 503 for an unreachable dependency, else 500.

    A database restart or broker outage is something to wait out, not a server bug: the
    503 tells the POS to retry with its Idempotency-Key. Anything else is logged (with the
    request's correlation id) and answered with a bare 500. `route` is the route *template*:
    a raw path can carry an ID number (`/subjects/{certno}`).
    """
    if isinstance(exc, DEPENDENCY_ERRORS):
        log.warning("dependency unavailable", extra={"route": route, "error": repr(exc)})
        return problem_response(
            ProblemError(
                503,
                "dependency_unavailable",
                "Temporarily unavailable",
                "A database or broker the service needs did not answer; nothing was applied "
                "half-way.",
                hint="Retry after the Retry-After delay with the same Idempotency-Key.",
                headers={"Retry-After": str(DEPENDENCY_RETRY_AFTER_S)},
            )
        )
    log.error("unhandled error", extra={"route": route}, exc_info=exc)
    problem = ProblemError(
        500,
        "internal_error",
        "Internal error",
        "The server failed to handle the request; it was logged under the x-correlation-id "
        "of this answer. Retry with the same Idempotency-Key: nothing is applied twice.",
    )
    return problem_response(problem)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    return unexpected_error_response(route_template(request.scope), exc)


def route_template(scope: Any) -> str:
    """The matched route's template (`/v1/settlements/{settlement_id}`), never the raw path."""
    return str(getattr(scope.get("route"), "path", "unmatched"))


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error path of the app answer in problem+json."""
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)
