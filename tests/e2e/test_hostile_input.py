"""Hostile input against the running platform: oversized, deeply nested, badly encoded and
injection-laden bodies, floods of codes, and a schema-driven fuzz of ingest and validator.

The property throughout: a hostile request gets a 4xx problem+json (or, for a settlement that
parses, a normal decision), never a 5xx; nothing is stored for a 4xx; the service stays up and
its tables stay where they were.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import APIOperation
from schemathesis import Case as AnyCase
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance
from yibao.embedded.platform import Platform

from tests.e2e.conftest import Client, Pharmacy, codes_for, line, sale_body

Operation = APIOperation[Any, Any, Any, Any]
Case = AnyCase[Operation]

pytestmark = pytest.mark.e2e

MiB = 1024 * 1024
BODY_LIMIT = MiB  # ServiceSettings.max_body_bytes default; the contract says "oversized" above it
PROBLEM_MEMBERS = ("type", "title", "status", "detail", "code")
INGEST_TABLES = ("settlements", "settlement_returns", "inventory_movements", "drg_settlements")
DECISIONS = ("approved", "approved_with_warnings", "pending_review", "rejected", "deciding")

SETTLEMENT, MOVEMENT, CATALOGUE = "settlement", "movement", "catalogue"
ENDPOINTS = (SETTLEMENT, MOVEMENT, CATALOGUE)


# --------------------------------------------------------------------------------- helpers


def assert_problem(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    """The answer is one of `statuses`, in RFC 9457 problem+json with Yibao's members."""
    assert response.status_code in statuses, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/problem+json"), (
        response.headers["content-type"]
    )
    problem: dict[str, Any] = response.json()
    missing = [m for m in PROBLEM_MEMBERS if m not in problem]
    assert not missing, (missing, problem)
    assert problem["status"] == response.status_code, problem
    return problem


@pytest.fixture(scope="module")
async def client(platform: Platform) -> AsyncIterator[Client]:
    """One HTTP client for the module (overrides conftest's per-test one, to save time)."""
    async with httpx.AsyncClient(timeout=30) as http:
        yield Client(platform, http)


@pytest.fixture(scope="module")
async def pharmacy(client: Client) -> Pharmacy:
    return await client.register()


@dataclass(frozen=True)
class Databases:
    """Direct connections to the ingest and validator databases, to count what is stored."""

    ingest: asyncpg.Connection
    validator: asyncpg.Connection


@pytest.fixture(scope="module")
async def db(platform: Platform) -> AsyncIterator[Databases]:
    ingest = await asyncpg.connect(platform.service_dsns["settlement-ingest"])
    validator = await asyncpg.connect(platform.service_dsns["tracecode-validator"])
    try:
        yield Databases(ingest, validator)
    finally:
        await ingest.close()
        await validator.close()


@dataclass(frozen=True)
class Stored:
    """What an endpoint has stored so far, to prove a refused request stored nothing."""

    ingest: dict[str, int]
    catalogue: tuple[int, int]


async def stored(db: Databases, pharmacy: Pharmacy) -> Stored:
    """Rows of this pharmacy in every ingest table, plus the catalogue's size and version.

    Also asserts every ingest table still exists (an injection that dropped one would show).
    """
    row = await db.ingest.fetchrow(
        "SELECT (SELECT count(*) FROM unnest($2::text[]) AS t WHERE to_regclass(t) IS NULL) "
        "AS missing, "
        "(SELECT count(*) FROM settlements WHERE fixmedins_code = $1) AS settlements, "
        "(SELECT count(*) FROM settlement_returns WHERE fixmedins_code = $1) AS returns, "
        "(SELECT count(*) FROM inventory_movements WHERE fixmedins_code = $1) AS movements, "
        "(SELECT count(*) FROM drg_settlements WHERE fixmedins_code = $1) AS drg",
        pharmacy.code,
        list(INGEST_TABLES),
    )
    assert row is not None
    assert row["missing"] == 0, "an ingest table is gone"
    catalogue = await db.validator.fetchrow(
        "SELECT (SELECT count(*) FROM products) AS products, "
        "(SELECT max(version) FROM catalogue_version) AS version"
    )
    assert catalogue is not None
    counts = {k: int(v) for k, v in row.items() if k != "missing"}
    return Stored(counts, (int(catalogue["products"]), int(catalogue["version"])))


async def still_serving(client: Client, pharmacy: Pharmacy, endpoint: str) -> None:
    """The service that took the hostile request is healthy and still does its real work."""
    if endpoint == CATALOGUE:
        health = await client.http.get(client.url("tracecode-validator", "/healthz"))
        assert health.status_code == 200, health.text
        await client.load_product(units=10, split=False)
        return
    health = await client.http.get(client.url("settlement-ingest", "/healthz"))
    assert health.status_code == 200, health.text
    sale = await client.sell(pharmacy, [line("X" + uuid.uuid4().hex[:22].upper(), 1, [])])
    assert sale.status_code in (200, 202), sale.text
    assert (await client.final(pharmacy, sale.json()["settlement_id"]))["status"] == "rejected"


def movement_body(code: str, med: str, codes: list[str]) -> dict[str, Any]:
    return {
        "fixmedins_code": code,
        "movement_type": "purchase_in",
        "med_list_codg": med,
        "manu_lotnum": "L20260101",
        "expy_end": "2028-06-30",
        "drugtracinfo": [{"drug_trac_codg": c} for c in codes],
    }


def product_row() -> dict[str, Any]:
    return {
        "med_list_codg": "X" + uuid.uuid4().hex[:22].upper(),
        "name": "测试药品",
        "gtins": [],
        "trace_prefixes": [{"prefix": "8" + str(uuid.uuid4().int)[:6], "pack_level": "box"}],
        "units_per_pack": 10,
        "split_allowed": False,
        "rx_flag": False,
    }


@dataclass(frozen=True)
class Target:
    """One hostile-input target: where to post, with whose credential, and a real body."""

    url: str
    headers: dict[str, str]
    body: Any


def target(client: Client, pharmacy: Pharmacy, endpoint: str) -> Target:
    """A real, acceptable body for the endpoint, so only the hostile change can refuse it."""
    med = "X" + uuid.uuid4().hex[:22].upper()
    codes = [f"8{uuid.uuid4().int % 10**19:019d}" for _ in range(2)]
    if endpoint == SETTLEMENT:
        return Target(
            client.url("settlement-ingest", "/v1/settlements"),
            {**pharmacy.headers, "Idempotency-Key": str(uuid.uuid4())},
            sale_body(pharmacy.code, [line(med, 1, codes[:1])], certno="150302199001011231"),
        )
    if endpoint == MOVEMENT:
        return Target(
            client.url("settlement-ingest", "/v1/inventory/movements"),
            pharmacy.headers,
            movement_body(pharmacy.code, med, codes),
        )
    return Target(
        client.url("tracecode-validator", "/v1/admin/catalogue/products"),
        client.admin,
        [product_row()],
    )


A_TEXT_FIELD = {SETTLEMENT: "psn_name", MOVEMENT: "manu_lotnum", CATALOGUE: "[0].name"}
"""A free-text field of each target's body, for the byte-level tests."""


def padded(body: Any, size: int) -> bytes:
    """`body` as JSON of exactly `size` bytes: padded with an ignored member (objects) or
    with insignificant whitespace (arrays, which cannot carry an ignored member)."""
    if isinstance(body, dict):
        empty = json.dumps({**body, "x_padding": ""}, ensure_ascii=False).encode()
        gap = size - len(empty)
        raw = json.dumps({**body, "x_padding": " " * gap}, ensure_ascii=False).encode()
    else:
        compact = json.dumps(body, ensure_ascii=False).encode()
        gap = size - len(compact)
        raw = compact[:-1] + b" " * gap + compact[-1:]
    assert gap >= 0
    assert len(raw) == size
    return raw


# ------------------------------------------------------------------------- oversized bodies


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_a_body_over_one_mebibyte_is_413_and_stores_nothing(
    client: Client, pharmacy: Pharmacy, db: Databases, endpoint: str, framing: str
) -> None:
    hostile = target(client, pharmacy, endpoint)
    raw = padded(hostile.body, BODY_LIMIT + 1)
    before = await stored(db, pharmacy)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(raw), 64 * 1024):
            yield raw[start : start + 64 * 1024]

    headers = {**hostile.headers, "content-type": "application/json"}
    if framing == "content-length":
        response = await client.http.post(hostile.url, headers=headers, content=raw)
    else:
        response = await client.http.post(hostile.url, headers=headers, content=chunks())
        assert response.request.headers.get("transfer-encoding") == "chunked"
    assert assert_problem(response, 413)["code"] == "body_too_large"
    assert await stored(db, pharmacy) == before
    await still_serving(client, pharmacy, endpoint)


@pytest.mark.parametrize("endpoint", [SETTLEMENT, CATALOGUE])
async def test_a_body_of_exactly_the_limit_is_not_refused_for_its_size(
    client: Client, pharmacy: Pharmacy, endpoint: str
) -> None:
    """The control for the 413s: the same real body at the limit itself is processed."""
    hostile = target(client, pharmacy, endpoint)
    response = await client.http.post(
        hostile.url,
        headers={**hostile.headers, "content-type": "application/json"},
        content=padded(hostile.body, BODY_LIMIT),
    )
    assert response.status_code in (200, 202), response.text[:500]


# ---------------------------------------------------------------------------- deep nesting


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    "nested",
    [
        b"[" * 10_000 + b"]" * 10_000,
        b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
        b'{"fixmedins_code":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ],
    ids=["10k-arrays", "10k-objects", "100k-arrays-in-a-field"],
)
async def test_deeply_nested_json_is_4xx_and_the_service_stays_up(
    client: Client, pharmacy: Pharmacy, db: Databases, endpoint: str, nested: bytes
) -> None:
    hostile = target(client, pharmacy, endpoint)
    before = await stored(db, pharmacy)
    response = await client.http.post(
        hostile.url, headers={**hostile.headers, "content-type": "application/json"}, content=nested
    )
    assert_problem(response, 400, 422)
    assert await stored(db, pharmacy) == before
    await still_serving(client, pharmacy, endpoint)


# ---------------------------------------------------------------------------- bad encodings


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    "bad",
    [b"\xff\xfe", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe5\xbc", b"\x80"],
    ids=["ff-fe", "overlong-slash", "utf8-encoded-surrogate", "truncated", "lone-continuation"],
)
async def test_invalid_utf8_is_400_or_422_and_stores_nothing(
    client: Client, pharmacy: Pharmacy, db: Databases, endpoint: str, bad: bytes
) -> None:
    hostile = target(client, pharmacy, endpoint)
    marker = "HOSTILE-MARKER"
    set_path(hostile.body, A_TEXT_FIELD[endpoint], marker)
    raw = json.dumps(hostile.body, ensure_ascii=False).encode()
    raw = raw.replace(marker.encode(), b"A" + bad + b"B")
    before = await stored(db, pharmacy)
    response = await client.http.post(
        hostile.url, headers={**hostile.headers, "content-type": "application/json"}, content=raw
    )
    assert_problem(response, 400, 422)
    assert await stored(db, pharmacy) == before


CSV_HEADER = (
    "med_list_codg,name,gtins,drug_std_codes,trace_prefixes,units_per_pack,split_allowed,rx_flag\n"
)


@pytest.mark.parametrize(
    "csv_body",
    [
        pytest.param(
            (CSV_HEADER + "XA01,阿司匹林,,,8555501:box,10,false,false\n").encode("gb18030"),
            id="gb18030",  # what Excel on a Chinese Windows saves by default
        ),
        pytest.param(
            (CSV_HEADER + "XA01,阿司\x00匹林,,,8555501:box,10,false,false\n").encode(),
            id="nul-byte",
        ),
    ],
)
async def test_a_csv_catalogue_that_cannot_be_read_is_4xx(
    client: Client, pharmacy: Pharmacy, db: Databases, csv_body: bytes
) -> None:
    before = await stored(db, pharmacy)
    response = await client.http.post(
        client.url("tracecode-validator", "/v1/admin/catalogue/products.csv"),
        headers={**client.admin, "content-type": "text/csv"},
        content=csv_body,
    )
    assert_problem(response, 400, 415, 422)
    assert await stored(db, pharmacy) == before


@pytest.mark.parametrize(
    "raw",
    [b'{"psn_name": "A\xffB"}', b"[" * 10_000 + b"]" * 10_000],
    ids=["invalid-utf8", "too-deep"],
)
async def test_unreadable_json_gets_the_stable_invalid_json_code(
    client: Client, pharmacy: Pharmacy, raw: bytes
) -> None:
    response = await client.http.post(
        client.url("settlement-ingest", "/v1/settlements"),
        headers={**pharmacy.headers, "content-type": "application/json"},
        content=raw,
    )
    assert assert_problem(response, 400)["code"] == "invalid_json"


# -------------------------------------------------------------------------- floods of codes


@pytest.mark.parametrize(
    "split", [(1001,), (600, 401), (1, 1000)], ids=["1001-in-a-line", "600+401", "1+1000"]
)
async def test_more_than_1000_codes_per_settlement_is_422_and_stores_nothing(
    client: Client, pharmacy: Pharmacy, db: Databases, split: tuple[int, ...]
) -> None:
    med = "X" + uuid.uuid4().hex[:22].upper()
    first = uuid.uuid4().int % 10**15
    lines, n = [], first
    for count in split:
        lines.append(line(med, 1, [f"8{k:019d}" for k in range(n, n + count)]))
        n += count
    before = await stored(db, pharmacy)
    response = await client.sell(pharmacy, lines)
    problem = assert_problem(response, 422)
    assert problem["code"] == "validation_failed"
    assert await stored(db, pharmacy) == before


async def test_exactly_1000_codes_is_a_decision(client: Client, pharmacy: Pharmacy) -> None:
    """The control for the flood: 1000 codes parse and are decided (all unknown here)."""
    med, prefix = await client.load_product(units=10, split=False)
    response = await client.sell(pharmacy, [line(med, 1000, codes_for(prefix, 1000))])
    assert response.status_code in (200, 202), response.text[:500]
    assert response.json()["status"] in DECISIONS


async def test_a_movement_with_more_than_10000_codes_is_422(
    client: Client, pharmacy: Pharmacy, db: Databases
) -> None:
    med = "X" + uuid.uuid4().hex[:22].upper()
    base = uuid.uuid4().int % 10**15
    body = movement_body(pharmacy.code, med, [f"8{k:019d}" for k in range(base, base + 10_001)])
    before = await stored(db, pharmacy)
    response = await client.http.post(
        client.url("settlement-ingest", "/v1/inventory/movements"),
        headers=pharmacy.headers,
        json=body,
    )
    assert_problem(response, 422)
    assert await stored(db, pharmacy) == before


# ------------------------------------------------------------------------ injection strings

INJECTIONS: dict[str, Any] = {
    "sql": "'; DROP TABLE settlements;--",
    "nosql-string": '{"$ne":1}',
    "nosql-object": {"$ne": 1},
    "nul": "A\u0000B",
    "control": "A\u0001\u001b[31m\r\nB",
    "very-long": "9" * 100_000,
    "rtl-emoji": "\u202e1231\u202c 💊😀 张三",
    "lone-surrogate": "A\ud800B",
    "template": "../../etc/passwd ${jndi:ldap://127.0.0.1/a}{{7*7}}<script>x</script>",
}

SETTLEMENT_TEXT_FIELDS = (
    "fixmedins_code",
    "psn_no",
    "certno",
    "psn_name",
    "setl_time",
    "prsc_dr_certno",
    "phar_certno",
    "lines[0].med_list_codg",
    "lines[0].drug_prod_barc",
    "lines[0].sel_retn_unt",
    "lines[0].drugtracinfo[0].drug_trac_codg",
)

KNOWN_BUGS: dict[tuple[str, str], str] = {}


SHORT_LIST = ("sql", "nosql-object", "nul", "control", "very-long", "rtl-emoji")
"""The injections tried on movement and catalogue fields (the settlement gets them all)."""


def _cases(
    fields: tuple[str, ...], bugs: dict[tuple[str, str], str], names: tuple[str, ...]
) -> Iterator[Any]:
    for field in fields:
        for name in names:
            reason = bugs.get((field, name))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            yield pytest.param(field, name, marks=marks, id=f"{field}-{name}")


def set_path(body: Any, path: str, value: Any) -> None:
    """Set `a.b[0].c` inside a JSON-like body."""
    parts: list[str | int] = []
    for piece in path.replace("]", "").split("."):
        name, *indexes = piece.split("[")
        if name:
            parts.append(name)
        parts.extend(int(i) for i in indexes)
    node = body
    for part in parts[:-1]:
        node = node[part]
    node[parts[-1]] = value


async def _post_hostile(
    client: Client, pharmacy: Pharmacy, db: Databases, url: str, headers: dict[str, str], body: Any
) -> httpx.Response:
    """Post `body` as JSON (lone surrogates escaped, which is valid JSON) and check the rules."""
    before = await stored(db, pharmacy)
    response = await client.http.post(
        url,
        headers={**headers, "content-type": "application/json"},
        content=json.dumps(body, ensure_ascii=True).encode(),
    )
    assert response.status_code < 500, (response.status_code, response.text[:500])
    if response.status_code >= 400:
        assert_problem(response, response.status_code)
        assert await stored(db, pharmacy) == before
    else:
        await stored(db, pharmacy)  # the tables are still there
    return response


@pytest.mark.parametrize(
    ("field", "injection"), list(_cases(SETTLEMENT_TEXT_FIELDS, KNOWN_BUGS, tuple(INJECTIONS)))
)
async def test_injection_strings_in_settlement_fields_are_4xx_or_a_normal_decision(
    client: Client, pharmacy: Pharmacy, db: Databases, field: str, injection: str
) -> None:
    hostile = target(client, pharmacy, SETTLEMENT)
    set_path(hostile.body, field, INJECTIONS[injection])
    response = await _post_hostile(client, pharmacy, db, hostile.url, hostile.headers, hostile.body)
    if response.status_code < 400:
        answer = response.json()
        assert response.status_code in (200, 202)
        assert answer["status"] in DECISIONS
        # `decision_failed` is the validator's fallback when the event itself broke it.
        assert "decision_failed" not in [h["rule"] for h in answer["hits"]], answer
        again = await client.http.get(
            client.url("settlement-ingest", f"/v1/settlements/{answer['settlement_id']}"),
            headers=pharmacy.headers,
        )
        assert again.status_code == 200
        assert again.json()["settlement_id"] == answer["settlement_id"]


@pytest.mark.parametrize("field", ["prsc_dr_certno", "phar_certno"])
async def test_a_nul_in_a_practitioner_id_cannot_turn_a_rejection_into_a_review(
    client: Client, pharmacy: Pharmacy, field: str
) -> None:
    body = sale_body(pharmacy.code, [line("X" + uuid.uuid4().hex[:22].upper(), 1, [])], certno="1")
    body[field] = "110105197806061235\u0000"
    response = await client.http.post(
        client.url("settlement-ingest", "/v1/settlements"), headers=pharmacy.headers, json=body
    )
    if response.status_code >= 400:
        assert_problem(response, 422)
        return
    answer = await client.final(pharmacy, response.json()["settlement_id"])
    assert answer["status"] == "rejected", answer
    assert [h["rule"] for h in answer["hits"]] == ["missing_trace_code"]


MOVEMENT_TEXT_FIELDS = (
    "med_list_codg",
    "manu_lotnum",
    "counterparty_code",
    "drugtracinfo[1].drug_trac_codg",
)
MOVEMENT_BUGS: dict[tuple[str, str], str] = {}


@pytest.mark.parametrize(
    ("field", "injection"), list(_cases(MOVEMENT_TEXT_FIELDS, MOVEMENT_BUGS, SHORT_LIST))
)
async def test_injection_strings_in_movement_fields_are_4xx_or_accepted(
    client: Client, pharmacy: Pharmacy, db: Databases, field: str, injection: str
) -> None:
    hostile = target(client, pharmacy, MOVEMENT)
    set_path(hostile.body, field, INJECTIONS[injection])
    response = await _post_hostile(client, pharmacy, db, hostile.url, hostile.headers, hostile.body)
    if response.status_code < 400:
        assert response.status_code == 202
        assert response.json()["movement_id"]


CATALOGUE_TEXT_FIELDS = ("med_list_codg", "name", "gtins", "trace_prefixes[0].prefix")
CATALOGUE_BUGS: dict[tuple[str, str], str] = {}


@pytest.mark.parametrize(
    ("field", "injection"), list(_cases(CATALOGUE_TEXT_FIELDS, CATALOGUE_BUGS, SHORT_LIST))
)
async def test_injection_strings_in_catalogue_rows_are_4xx_or_loaded(
    client: Client, pharmacy: Pharmacy, db: Databases, field: str, injection: str
) -> None:
    hostile = target(client, pharmacy, CATALOGUE)
    value = INJECTIONS[injection]
    if field == "gtins":
        hostile.body[0]["gtins"] = [value]
    else:
        set_path(hostile.body, f"[0].{field}", value)
    response = await _post_hostile(client, pharmacy, db, hostile.url, hostile.headers, hostile.body)
    if response.status_code < 400:
        assert response.json() == {"upserted": 1}


# --------------------------------------------------------------------- NUL in path segments


@pytest.mark.parametrize(
    ("service", "method", "path", "admin"),
    [
        pytest.param(
            "settlement-ingest",
            "GET",
            "/v1/settlements/A%00B",
            False,
            id="ingest-get-settlement",
        ),
        pytest.param(
            "settlement-ingest",
            "POST",
            "/v1/settlements/A%00B/returns",
            False,
            id="ingest-return",
        ),
        pytest.param(
            "credit-scorer",
            "GET",
            "/v1/subjects/A%00B/file",
            True,
            id="credit-file",
        ),
        pytest.param(
            "disclosure-publisher",
            "GET",
            "/v1/institutions/A%00B/stats?period=2026-10",
            True,
            id="publisher-stats",
        ),
        pytest.param(
            "tracecode-validator",
            "POST",
            "/v1/admin/reviews/A%00B",
            True,
            id="validator-review",
        ),
        pytest.param(
            "tracecode-validator",
            "GET",
            "/v1/admin/codes/A%00B/history",
            True,
            id="validator-code-history",
        ),
        pytest.param(
            "tracecode-validator",
            "GET",
            "/v1/catalogue/products/A%00B",
            True,
            id="validator-product",
        ),
    ],
)
async def test_nul_in_a_path_parameter_is_4xx(
    client: Client, pharmacy: Pharmacy, service: str, method: str, path: str, admin: bool
) -> None:
    bodies: dict[str, Any] = {
        "/returns": {"lines": [{"line": 0, "sel_retn_cnt": 1, "drugtracinfo": []}]},
        "/reviews/": {"decision": "reject", "reason": "测试"},
    }
    body = next((b for k, b in bodies.items() if k in path), None)
    response = await client.http.request(
        method,
        client.url(service, path),
        headers=client.admin if admin else pharmacy.headers,
        json=body,
    )
    assert_problem(response, 400, 403, 404, 422)


# ------------------------------------------------------------------ schema-driven fuzzing


def _fuzz_operation(
    operation: Operation,
    base_url: str,
    headers: dict[str, str],
    adjust: Callable[[Case], None],
    max_examples: int,
) -> None:
    """Positive and negative cases; checks: no 5xx, documented responses match their schema."""
    strategy = st.one_of(
        operation.as_strategy(schemathesis.GenerationMode.POSITIVE),
        operation.as_strategy(schemathesis.GenerationMode.NEGATIVE),
    )

    @hypothesis.settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.given(case=strategy)
    def run(case: Case) -> None:
        adjust(case)
        case.call_and_validate(
            base_url=base_url,
            headers=headers,
            checks=[not_a_server_error, response_schema_conformance],
            timeout=15,
        )

    run()


def fuzz(
    schema_url: str,
    base_url: str,
    headers_for: Callable[[Operation], dict[str, str]],
    adjust: Callable[[Case], None],
    max_examples: int,
) -> list[str]:
    """Fuzz every operation of a live service; return one line per failing operation."""
    schema = schemathesis.openapi.from_url(schema_url)
    failures: list[str] = []
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            failures.append(f"unreadable operation in {schema_url}: {result}")
            continue
        operation = result.ok()
        try:
            _fuzz_operation(operation, base_url, headers_for(operation), adjust, max_examples)
        except Exception as exc:  # a failed check or a 5xx: report every operation, not the first
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    return failures


def _own_institution(code: str) -> Callable[[Case], None]:
    def adjust(case: Case) -> None:
        if isinstance(case.body, dict) and isinstance(case.body.get("fixmedins_code"), str):
            case.body["fixmedins_code"] = code  # reach past the 403 into the handler

    return adjust


async def test_schemathesis_finds_no_server_error_in_ingest(
    client: Client, pharmacy: Pharmacy
) -> None:
    base = client.platform.services["settlement-ingest"].url

    def headers_for(operation: Operation) -> dict[str, str]:
        return client.admin if operation.path.startswith("/v1/admin/") else pharmacy.headers

    failures = await asyncio.to_thread(
        fuzz, base + "/openapi.json", base, headers_for, _own_institution(pharmacy.code), 20
    )
    assert not failures, "\n\n".join(failures)
    await still_serving(client, pharmacy, SETTLEMENT)


async def test_schemathesis_finds_no_server_error_in_the_validator(
    client: Client, pharmacy: Pharmacy
) -> None:
    base = client.platform.services["tracecode-validator"].url
    failures = await asyncio.to_thread(
        fuzz, base + "/openapi.json", base, lambda _: client.admin, lambda _: None, 20
    )
    assert not failures, "\n\n".join(failures)
    await still_serving(client, pharmacy, CATALOGUE)


async def test_the_openapi_documents_the_problem_json_errors_it_answers(client: Client) -> None:
    undocumented = []
    for service in ("settlement-ingest", "tracecode-validator"):
        spec = (await client.http.get(client.url(service, "/openapi.json"))).json()
        for path, operations in spec["paths"].items():
            for method, operation in operations.items():
                for status, answer in operation["responses"].items():
                    if status.startswith("4") and "application/problem+json" not in answer.get(
                        "content", {}
                    ):
                        undocumented.append(f"{service} {method.upper()} {path} {status}")
    assert not undocumented, undocumented
