"""Every error a client sees is RFC 9457 problem+json with a stable `code` (CONTRACT "Errors").

A tiny app is wired exactly as `yibao.service` wires each service (`install_problem_handlers`
and `RequestContextMiddleware`), and driven in-process with Starlette's TestClient, so no
socket, database or broker is involved.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from decimal import Decimal

import asyncpg
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field
from yibao.logging import correlation_id
from yibao.observability import RequestContextMiddleware
from yibao.problems import PROBLEM_JSON, TYPE_BASE, ProblemError, install_problem_handlers

MAX_BODY = 512
SECRET_IN_EXCEPTION = "password=hunter2@db-7"


class Line(BaseModel):
    med_list_codg: str
    sel_retn_cnt: Decimal = Field(gt=0)


class Sale(BaseModel):
    fixmedins_code: str
    lines: list[Line]


class Webhook(BaseModel):
    url: str
    path: str


class Calls:
    """How often the body-reading route actually ran (the guard must stop it before)."""

    sales = 0


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(
        RequestContextMiddleware, max_body_bytes=MAX_BODY, body_limits={"/v1/uploads": MAX_BODY * 8}
    )

    @app.post("/v1/uploads")
    async def post_upload(request: Request) -> dict[str, int]:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        return {"bytes": size}

    @app.post("/v1/sales")
    async def post_sale(sale: Sale) -> dict[str, int]:
        Calls.sales += 1
        return {"lines": len(sale.lines)}

    @app.post("/v1/webhooks")
    async def post_webhook(hook: Webhook) -> dict[str, str]:
        return {"path": hook.path}

    @app.get("/v1/institutions/{code}")
    async def get_institution(code: str) -> dict[str, str]:
        raise ProblemError(
            409,
            "institution_exists",
            "Institution already registered",
            f"{code} is registered already.",
            field="fixmedins_code",
            hint="Rotate its key instead of registering it again.",
            headers={"Retry-After": "0"},
            extra={"existing": code},
        )

    @app.get("/v1/boom")
    async def boom() -> None:
        raise RuntimeError(SECRET_IN_EXCEPTION)

    @app.get("/v1/database-down")
    async def database_down() -> None:
        raise asyncpg.exceptions.CannotConnectNowError("the database system is starting up")

    @app.get("/v1/subjects/{certno}/file")
    async def person_boom(certno: str) -> None:
        raise RuntimeError("failed")

    @app.get("/v1/whoami")
    async def whoami() -> dict[str, str | None]:
        return {"correlation_id": correlation_id.get()}

    return app


@pytest.fixture
def client() -> Iterator[TestClient]:
    """In-process client; server errors come back as responses, as a real client sees them."""
    Calls.sales = 0
    with TestClient(_app(), raise_server_exceptions=False) as test_client:
        yield test_client


def _sale(**line: object) -> dict[str, object]:
    return {
        "fixmedins_code": "P15030200007",
        "lines": [{"med_list_codg": "XA01ABA014A001010101445", "sel_retn_cnt": 1, **line}],
    }


def _body(total: int) -> bytes:
    """A valid sale of exactly `total` bytes (the institution code is padded)."""
    body = b'{"fixmedins_code": "' + b"P" * (total - 35) + b'", "lines": []}'
    assert len(body) == total
    return body


def _chunks(total: int, size: int = 64) -> Iterator[bytes]:
    """`_body(total)` sent in pieces: httpx then streams it chunked, without Content-Length."""
    body = _body(total)
    for start in range(0, total, size):
        yield body[start : start + size]


# --- ProblemError ----------------------------------------------------------------------------


def test_problem_error_renders_every_member(client: TestClient) -> None:
    """Type, title, status, detail, code, field, hint, instance and extras all reach the client."""
    response = client.get("/v1/institutions/H1")
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json() == {
        "type": TYPE_BASE + "institution_exists",
        "title": "Institution already registered",
        "status": 409,
        "detail": "H1 is registered already.",
        "code": "institution_exists",
        "instance": "/v1/institutions/H1",
        "field": "fixmedins_code",
        "hint": "Rotate its key instead of registering it again.",
        "existing": "H1",
    }


def test_problem_error_headers_are_sent(client: TestClient) -> None:
    """Headers such as Retry-After or WWW-Authenticate are part of the answer, not the body."""
    assert client.get("/v1/institutions/H1").headers["retry-after"] == "0"


def test_optional_members_are_omitted_when_unset() -> None:
    """Absent `field`/`hint` are left out rather than sent as null."""
    body = ProblemError(400, "bad", "Bad", "Nope.").body()
    assert set(body) == {"type", "title", "status", "detail", "code"}


# --- request validation ----------------------------------------------------------------------


def test_a_body_validation_error_is_422_validation_failed(client: TestClient) -> None:
    """A schema violation names the field as a JSON path into the body the client sent."""
    response = client.post("/v1/sales", json=_sale(sel_retn_cnt=0))
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["code"] == "validation_failed"
    assert problem["type"] == TYPE_BASE + "validation_failed"
    assert problem["field"] == "$.lines[0].sel_retn_cnt"
    assert [e["field"] for e in problem["errors"]] == ["$.lines[0].sel_retn_cnt"]
    assert "$.lines[0].sel_retn_cnt" in problem["detail"]


def test_every_invalid_field_is_listed(client: TestClient) -> None:
    """A vendor fixes all fields in one round trip, so no error is hidden behind the first."""
    body = {"lines": [{"sel_retn_cnt": "x"}, {"med_list_codg": "A", "sel_retn_cnt": 1}]}
    problem = client.post("/v1/sales", json=body).json()
    assert {e["field"] for e in problem["errors"]} == {
        "$.fixmedins_code",
        "$.lines[0].med_list_codg",
        "$.lines[0].sel_retn_cnt",
    }
    assert {e["type"] for e in problem["errors"]} >= {"missing"}


def test_a_body_field_named_like_a_parameter_source_keeps_its_path(client: TestClient) -> None:
    """Only the leading `body`/`query` marker is a source; a field called `path` is a field."""
    problem = client.post("/v1/webhooks", json={"url": "https://x", "path": 5}).json()
    assert problem["field"] == "$.path"


def test_malformed_json_is_400_invalid_json(client: TestClient) -> None:
    """Unparseable JSON is a different fault from a schema violation and has its own code."""
    response = client.post(
        "/v1/sales", content=b'{"lines": [', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["code"] == "invalid_json"


# --- framework errors --------------------------------------------------------------------


def test_an_unknown_route_is_a_404_problem(client: TestClient) -> None:
    """Even the framework's own 404 speaks problem+json with a stable code."""
    response = client.get("/v1/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert (problem["code"], problem["status"], problem["instance"]) == (
        "not_found",
        404,
        "/v1/nowhere",
    )


def test_a_wrong_method_is_405_and_keeps_the_allow_header(client: TestClient) -> None:
    """The framework's headers (Allow) survive the conversion to problem+json."""
    response = client.delete("/v1/sales")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert "POST" in response.headers["allow"]


def test_an_unhandled_exception_is_500_without_its_text(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The client learns only that it failed; the exception text (maybe secrets) stays in logs."""
    with caplog.at_level(logging.ERROR, logger="yibao.problems"):
        response = client.get("/v1/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["code"] == "internal_error"
    assert SECRET_IN_EXCEPTION not in response.text
    assert "RuntimeError" not in response.text
    logged = [r for r in caplog.records if r.name == "yibao.problems"]
    assert logged
    assert logged[0].exc_info is not None


def test_an_unreachable_dependency_is_503_with_retry_after(client: TestClient) -> None:
    """A database restart is an outage to wait out, not a server bug: the POS retries."""
    response = client.get("/v1/database-down")
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_JSON
    assert int(response.headers["retry-after"]) > 0
    problem = response.json()
    assert problem["code"] == "dependency_unavailable"
    assert "starting up" not in response.text


def test_the_unhandled_error_log_names_the_route_not_the_id_number_in_the_path(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A person's route carries an ID number in its path; the log keeps only the template."""
    with caplog.at_level(logging.ERROR, logger="yibao.problems"):
        response = client.get("/v1/subjects/150302197707071238/file")
    assert response.status_code == 500
    logged = [r for r in caplog.records if r.name == "yibao.problems"]
    assert [getattr(r, "route", None) for r in logged] == ["/v1/subjects/{certno}/file"]
    assert all("150302197707071238" not in str(r.__dict__) for r in logged)


def test_a_500_answer_carries_the_correlation_id(client: TestClient) -> None:
    """The detail says 'it was logged': the client needs the id to find that log line."""
    response = client.get("/v1/boom", headers={"x-correlation-id": "req-500"})
    assert response.headers.get("x-correlation-id") == "req-500"


def test_the_unhandled_error_log_carries_the_correlation_id(client: TestClient) -> None:
    """The traceback is only findable from the client's report through its correlation id."""
    seen: list[str | None] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(correlation_id.get())

    logger = logging.getLogger("yibao.problems")
    handler = Capture(logging.ERROR)
    logger.addHandler(handler)
    try:
        client.get("/v1/boom", headers={"x-correlation-id": "req-500"})
    finally:
        logger.removeHandler(handler)
    assert seen == ["req-500"]


# --- body size guard ------------------------------------------------------------------------


def test_a_declared_content_length_over_the_limit_is_413_before_the_route_runs(
    client: TestClient,
) -> None:
    """The guard answers from the header alone, so a huge upload is never read or parsed."""
    body = b'{"x": "' + b"a" * MAX_BODY + b'"}'
    response = client.post("/v1/sales", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["code"] == "body_too_large"
    assert problem["type"] == TYPE_BASE + "body_too_large"
    assert str(MAX_BODY) in problem["detail"]
    assert Calls.sales == 0


def test_a_body_exactly_at_the_limit_is_accepted(client: TestClient) -> None:
    """The limit is inclusive: `max_body_bytes` bytes are allowed."""
    response = client.post(
        "/v1/sales", content=_body(MAX_BODY), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200


def test_a_streamed_body_under_the_limit_is_accepted(client: TestClient) -> None:
    """Chunked uploads without Content-Length are legal and must still work."""
    response = client.post(
        "/v1/sales", content=_chunks(MAX_BODY - 10), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    assert "content-length" not in response.request.headers


def test_a_streamed_body_over_the_limit_is_413(client: TestClient) -> None:
    """Without Content-Length the guard counts bytes as they arrive and must still say 413."""
    response = client.post(
        "/v1/sales", content=_chunks(MAX_BODY * 4), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"


def test_a_path_with_its_own_limit_accepts_more_and_still_has_a_limit(client: TestClient) -> None:
    """Streaming upload routes get a larger limit by exact path; other paths keep theirs."""
    accepted = client.post("/v1/uploads", content=_chunks(MAX_BODY * 4))
    assert accepted.status_code == 200
    assert accepted.json() == {"bytes": MAX_BODY * 4}
    refused = client.post("/v1/uploads", content=_chunks(MAX_BODY * 9))
    assert refused.status_code == 413
    assert str(MAX_BODY * 8) in refused.json()["detail"]


def test_a_streamed_body_over_the_limit_never_reaches_the_route(client: TestClient) -> None:
    """Whatever the status, the oversized body is refused before the handler runs."""
    response = client.post(
        "/v1/sales", content=_chunks(MAX_BODY * 4), headers={"content-type": "application/json"}
    )
    assert response.status_code >= 400
    assert Calls.sales == 0


# --- correlation ids -----------------------------------------------------------------------


def test_a_sent_correlation_id_is_echoed_and_visible_to_the_handler(client: TestClient) -> None:
    """One id follows a request through the response, the handler's logs and its events."""
    response = client.get("/v1/whoami", headers={"x-correlation-id": "pos-7781"})
    assert response.headers["x-correlation-id"] == "pos-7781"
    assert response.json() == {"correlation_id": "pos-7781"}


def test_a_correlation_id_is_generated_when_absent(client: TestClient) -> None:
    """A caller that sends none still gets one back to quote when it reports a problem."""
    response = client.get("/v1/whoami")
    generated = response.headers["x-correlation-id"]
    assert uuid.UUID(generated)
    assert response.json() == {"correlation_id": generated}


def test_each_request_gets_its_own_generated_id(client: TestClient) -> None:
    """Generated ids must not leak from one request to the next."""
    first, second = (client.get("/v1/whoami").headers["x-correlation-id"] for _ in range(2))
    assert first != second


def test_error_answers_echo_the_correlation_id_too(client: TestClient) -> None:
    """A rejected request is exactly the one a vendor needs to trace."""
    response = client.post("/v1/sales", json={}, headers={"x-correlation-id": "pos-1"})
    assert response.status_code == 422
    assert response.headers["x-correlation-id"] == "pos-1"


def test_an_overlong_correlation_id_is_truncated(client: TestClient) -> None:
    """A client cannot make every log line and header arbitrarily large."""
    response = client.get("/v1/whoami", headers={"x-correlation-id": "c" * 500})
    assert response.headers["x-correlation-id"] == "c" * 64


def test_the_correlation_id_is_cleared_after_the_request(client: TestClient) -> None:
    """The contextvar is reset, so later work in this context is not mislabelled."""
    client.get("/v1/whoami", headers={"x-correlation-id": "pos-2"})
    assert correlation_id.get() is None
