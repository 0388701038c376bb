"""Who may call what: every route of every service, read from its own OpenAPI, against every
kind of caller.

For each route that is not on the short public list: no credential and every kind of bad
credential -> 401; an institution key (or a bureau token without the role) on `/v1/admin/...`
-> 401/403, never 2xx; another institution's key on an institution's data -> 403/404 and
never the data, and nothing stored. A positive control per known route (the owner or the admin
gets a 2xx with the same request) proves the requests are real enough to reach the auth check.
Every refusal is RFC 9457 problem+json with `type`, `title`, `status`, `detail`, `code`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import jwt
import pytest
from yibao.auth import issue_bureau_jwt
from yibao.embedded.platform import Platform
from yibao.topology import SERVICES

from tests.e2e.conftest import Client, Pharmacy, codes_for, line, sale_body

pytestmark = pytest.mark.e2e

PUBLIC_ROUTES = frozenset(
    {
        ("GET", "/v1/rules"),  # the published rule book
        ("GET", "/v1/catalogue/products/{med_list_codg}"),  # public reference data
    }
)
"""Routes meant to answer without a credential. A new route is credentialed unless added here."""

PROBLEM_MEMBERS = ("type", "title", "status", "detail", "code")
DATA_KEYS = frozenset(
    {
        "settlement_id",
        "hits",
        "entries",
        "by_status",
        "lines",
        "return_id",
        "movement_id",
        "drg_settlement_id",
        "api_key",
        "upserted",
        "history",
    }
)
"""Members of a data answer; none may appear in an answer to a caller refused the data."""
INGEST_TABLES = ("settlements", "settlement_returns", "inventory_movements", "drg_settlements")
PRACTITIONER = "110101198001011234"
PERIOD = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")


def problem_failures(response: httpx.Response, allowed: tuple[int, ...]) -> list[str]:
    """Why `response` is not a proper refusal with one of the `allowed` statuses (or [])."""
    failures = []
    if response.status_code not in allowed:
        failures.append(f"status {response.status_code} not in {allowed}: {response.text[:300]}")
    if not response.headers.get("content-type", "").startswith("application/problem+json"):
        failures.append(f"content-type {response.headers.get('content-type')!r}")
        return failures
    body = response.json()
    missing = [m for m in PROBLEM_MEMBERS if m not in body]
    if missing:
        failures.append(f"problem lacks {missing}: {body}")
    elif body["status"] != response.status_code:
        failures.append(f"problem status {body['status']} != {response.status_code}")
    leaked = DATA_KEYS.intersection(body)
    if leaked:
        failures.append(f"refusal carries data {sorted(leaked)}")
    return failures


# --------------------------------------------------------------------------------- world


@dataclass
class World:
    """Two institutions; the first owns a sale, a held sale, stock and a practitioner."""

    client: Client
    owner: Pharmacy
    other: Pharmacy
    med: str
    prefix: str
    settlement_id: str
    sold_code: str
    held_settlement_id: str
    bad_credentials: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def bureau_without_roles(self) -> dict[str, str]:
        token = issue_bureau_jwt("nobody", [], secret=self.client.platform.jwt_secret)
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
async def client(platform: Platform) -> AsyncIterator[Client]:
    """One HTTP client for the module (overrides conftest's per-test one)."""
    async with httpx.AsyncClient(timeout=30) as http:
        yield Client(platform, http)


@pytest.fixture(scope="module")
async def world(client: Client) -> World:
    owner, other = await client.register(), await client.register()
    med, prefix = await client.load_product(units=10, split=False)
    stocked = codes_for(prefix, 1)
    await client.stock(owner, med, stocked)
    sale = await client.http.post(
        client.url("settlement-ingest", "/v1/settlements"),
        headers={**owner.headers, "Idempotency-Key": str(uuid.uuid4())},
        json={
            **sale_body(owner.code, [line(med, 1, stocked)], certno="150302199001011231"),
            "prsc_dr_certno": PRACTITIONER,
        },
    )
    assert sale.status_code in (200, 202), sale.text
    assert (await client.final(owner, sale.json()["settlement_id"]))["status"] == "approved"
    held = (await client.sell(owner, [line(med, 1, codes_for(prefix, 1))])).json()
    assert (await client.final(owner, held["settlement_id"]))["status"] == "pending_review"
    await _wait_until_known(client, owner, other)
    secret = client.platform.jwt_secret
    admin_claims = {"sub": "mallory", "roles": ["admin"]}
    return World(
        client=client,
        owner=owner,
        other=other,
        med=med,
        prefix=prefix,
        settlement_id=sale.json()["settlement_id"],
        sold_code=stocked[0],
        held_settlement_id=held["settlement_id"],
        bad_credentials={
            "unknown-key": {"Authorization": "Bearer yb_not_a_key"},
            "unknown-x-api-key": {"X-Api-Key": "yb_not_a_key"},
            "admin-token-near-miss": {"Authorization": f"Bearer {client.platform.admin_token}x"},
            "bearer-without-token": {"Authorization": "Bearer"},
            "basic-auth-with-admin-token": {
                "Authorization": "Basic "
                + base64.b64encode(f"admin:{client.platform.admin_token}".encode()).decode()
            },
            "expired-admin-jwt": {
                "Authorization": "Bearer "
                + issue_bureau_jwt("mallory", ["admin"], secret=secret, ttl_s=-60)
            },
            "admin-jwt-wrong-secret": {
                "Authorization": "Bearer "
                + jwt.encode(admin_claims, "guessed-" * 8, algorithm="HS256")
            },
            "admin-jwt-alg-none": {
                "Authorization": "Bearer " + jwt.encode(admin_claims, "", algorithm="none")
            },
        },
    )


async def _wait_until_known(client: Client, *pharmacies: Pharmacy) -> None:
    """Credit and publisher learn keys from events: wait until both accept each pharmacy's."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    for pharmacy in pharmacies:
        for url in (
            client.url("credit-scorer", f"/v1/subjects/{pharmacy.code}/file"),
            client.url("disclosure-publisher", f"/v1/institutions/{pharmacy.code}/stats"),
        ):
            while True:
                response = await client.http.get(
                    url, headers=pharmacy.headers, params={"period": PERIOD}
                )
                if response.status_code == 200:
                    break
                assert loop.time() < deadline, (url, response.status_code, response.text)
                await asyncio.sleep(0.1)


# ---------------------------------------------------------------------- request builders


@dataclass(frozen=True)
class Call:
    """One concrete request addressing the owner's data, and what the rightful caller gets."""

    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    content_type: str | None = None
    expected: tuple[int, ...] = (200,)
    """What the owner (institution routes) or the admin (admin routes) gets."""


def _movement(w: World) -> Call:
    return Call(
        "POST",
        "/v1/inventory/movements",
        json={
            "fixmedins_code": w.owner.code,
            "movement_type": "purchase_in",
            "med_list_codg": w.med,
            "drugtracinfo": [{"drug_trac_codg": c} for c in codes_for(w.prefix, 1)],
        },
        expected=(202,),
    )


def _drg(w: World) -> Call:
    return Call(
        "POST",
        "/v1/drg-settlements",
        json={
            "fixmedins_code": w.owner.code,
            "mdtrt_id": "ZY" + uuid.uuid4().hex[:10],
            "certno": "150302196505051233",
            "drg_code": "ES23",
            "weight": 1.2,
            "los_days": 5,
            "total_cost": 9000,
            "fund_paid": 6000,
            "discharge_status": "improved",
            "discharge_date": "2026-11-20",
        },
        expected=(202,),
    )


def _product(w: World) -> dict[str, Any]:
    return {
        "med_list_codg": "X" + uuid.uuid4().hex[:22].upper(),
        "name": "授权测试药品",
        "gtins": [],
        "trace_prefixes": [{"prefix": "8" + str(uuid.uuid4().int)[:6], "pack_level": "box"}],
        "units_per_pack": 10,
        "split_allowed": False,
        "rx_flag": False,
    }


def _csv(w: World) -> Call:
    row = _product(w)
    text = (
        "med_list_codg,name,gtins,drug_std_codes,trace_prefixes,units_per_pack,"
        "split_allowed,rx_flag\n"
        f"{row['med_list_codg']},授权测试,,,{row['trace_prefixes'][0]['prefix']}:box,10,"
        "false,false\n"
    )
    return Call(
        "POST",
        "/v1/admin/catalogue/products.csv",
        content=text.encode(),
        content_type="text/csv",
    )


KNOWN_ROUTES: dict[tuple[str, str], Callable[[World], Call]] = {
    ("POST", "/v1/settlements"): lambda w: Call(
        "POST",
        "/v1/settlements",
        json=sale_body(w.owner.code, [line(w.med, 1, [])], certno="150302199001011231"),
    ),
    ("GET", "/v1/settlements/{settlement_id}"): lambda w: Call(
        "GET", f"/v1/settlements/{w.settlement_id}"
    ),
    ("POST", "/v1/settlements/{settlement_id}/returns"): lambda w: Call(
        "POST",
        f"/v1/settlements/{w.settlement_id}/returns",
        json={
            "lines": [
                {"line": 0, "sel_retn_cnt": 1, "drugtracinfo": [{"drug_trac_codg": w.sold_code}]}
            ]
        },
    ),
    ("POST", "/v1/inventory/movements"): _movement,
    ("POST", "/v1/drg-settlements"): _drg,
    ("POST", "/v1/admin/institutions"): lambda w: Call(
        "POST",
        "/v1/admin/institutions",
        json={
            "fixmedins_code": "P" + uuid.uuid4().hex[:11].upper(),
            "name": "授权测试药店",
            "kind": "pharmacy",
            "level": "retail",
            "admdvs": "150302",
        },
        expected=(201,),
    ),
    ("POST", "/v1/admin/catalogue/products"): lambda w: Call(
        "POST", "/v1/admin/catalogue/products", json=[_product(w)]
    ),
    ("POST", "/v1/admin/catalogue/products.csv"): _csv,
    ("POST", "/v1/admin/catalogue/no-code-list"): lambda w: Call(
        "POST",
        "/v1/admin/catalogue/no-code-list",
        json={
            "reason": "授权测试",
            "items": [{"fixmedins_code": w.owner.code, "med_list_codg": w.med}],
        },
    ),
    ("GET", "/v1/admin/reviews"): lambda w: Call("GET", "/v1/admin/reviews"),
    ("POST", "/v1/admin/reviews/{settlement_id}"): lambda w: Call(
        "POST",
        f"/v1/admin/reviews/{w.held_settlement_id}",
        json={"decision": "approve", "reason": "授权测试"},
    ),
    ("GET", "/v1/admin/codes/{drug_trac_codg}/history"): lambda w: Call(
        "GET", f"/v1/admin/codes/{w.sold_code}/history"
    ),
    ("GET", "/v1/subjects/{subject_id}/file"): lambda w: Call(
        "GET", f"/v1/subjects/{w.owner.code}/file"
    ),
    ("GET", "/v1/institutions/{fixmedins_code}/stats"): lambda w: Call(
        "GET", f"/v1/institutions/{w.owner.code}/stats", params={"period": PERIOD}
    ),
}
"""A real request per known route, addressing the owner's data."""


def generic_call(w: World, method: str, path: str, operation: dict[str, Any]) -> Call:
    """A request for a route this file does not know yet: the auth checks still apply.

    Path parameters that name an institution or subject point at the owner; the body is
    an empty JSON object (or CSV header), which FastAPI reads only after the auth dependency.
    """
    concrete = path
    for parameter in operation.get("parameters", []):
        if parameter["in"] != "path":
            continue
        name = parameter["name"]
        value = (
            w.owner.code
            if any(k in name for k in ("fixmedins", "institution", "subject"))
            else w.settlement_id
            if "settlement" in name
            else PRACTITIONER
            if "certno" in name
            else uuid.uuid4().hex
        )
        concrete = concrete.replace("{" + name + "}", value)
    query = {
        p["name"]: PERIOD if p["name"] == "period" else "1"
        for p in operation.get("parameters", [])
        if p["in"] == "query" and p.get("required")
    }
    content = operation.get("requestBody", {}).get("content", {})
    if "text/csv" in content:
        return Call(method, concrete, query, content=b"record_id\n", content_type="text/csv")
    return Call(method, concrete, query, json={} if content else None)


def addresses_owner(w: World, call: Call) -> bool:
    """Whether the request names the owner's data (so a stranger must be refused)."""
    text = call.path + json.dumps(call.json) + json.dumps(call.params)
    return w.owner.code in text or w.settlement_id in text


async def send(w: World, service: str, call: Call, headers: dict[str, str]) -> httpx.Response:
    headers = dict(headers)
    if call.content_type:
        headers["content-type"] = call.content_type
    if call.method == "POST":
        headers["Idempotency-Key"] = str(uuid.uuid4())
    return await w.client.http.request(
        call.method,
        w.client.url(service, call.path),
        headers=headers,
        params=call.params,
        json=call.json,
        content=call.content,
    )


async def routes(w: World, service: str) -> list[tuple[str, str, dict[str, Any]]]:
    response = await w.client.http.get(w.client.url(service, "/openapi.json"))
    assert response.status_code == 200, response.text
    spec = response.json()
    return [
        (method.upper(), path, operation)
        for path, operations in spec.get("paths", {}).items()
        for method, operation in operations.items()
        if method.lower() in ("get", "post", "put", "patch", "delete")
    ]


# ----------------------------------------------------------------------------- the matrix


async def ingest_rows(platform: Platform, code: str) -> dict[str, int]:
    conn = await asyncpg.connect(platform.service_dsns["settlement-ingest"])
    try:
        return {
            table: int(
                await conn.fetchval(f"SELECT count(*) FROM {table} WHERE fixmedins_code = $1", code)
            )
            for table in (
                "settlements",
                "settlement_returns",
                "inventory_movements",
                "drg_settlements",
            )
        }
    finally:
        await conn.close()


@pytest.mark.parametrize("service", [s.name for s in SERVICES])
async def test_every_route_refuses_missing_bad_and_foreign_credentials(
    world: World, service: str
) -> None:
    failures: list[str] = []
    listed = await routes(world, service)
    checked = 0
    before = await ingest_rows(world.client.platform, world.owner.code)
    controls: list[tuple[str, Call]] = []
    for method, path, operation in listed:
        if (method, path) in PUBLIC_ROUTES:
            continue
        checked += 1
        known = KNOWN_ROUTES.get((method, path))
        call = known(world) if known else generic_call(world, method, path, operation)
        label = f"{service} {method} {path}"

        def expect(
            what: str, response: httpx.Response, allowed: tuple[int, ...], label: str = label
        ) -> None:
            failures.extend(f"{label} [{what}]: {f}" for f in problem_failures(response, allowed))

        expect("no credential", await send(world, service, call, {}), (401,))
        for name, headers in world.bad_credentials.items():
            expect(name, await send(world, service, call, headers), (401,))

        if path.startswith("/v1/admin/"):
            for who, headers in (
                ("owner's institution key", world.owner.headers),
                ("another institution's key", world.other.headers),
                ("bureau JWT without roles", world.bureau_without_roles),
            ):
                expect(who, await send(world, service, call, headers), (401, 403))
            if known:
                controls.append((label, call))
        else:
            if addresses_owner(world, call):
                expect(
                    "another institution's key",
                    await send(world, service, call, world.other.headers),
                    (403, 404),
                )
            if known:
                controls.append((label, call))

    assert await ingest_rows(world.client.platform, world.owner.code) == before, (
        "a refused request stored something"
    )
    # Positive controls last: the rightful caller gets through with the very same request.
    for label, call in controls:
        rightful = world.client.admin if "/v1/admin/" in call.path else world.owner.headers
        response = await send(world, service, call, rightful)
        if response.status_code not in call.expected:
            failures.append(
                f"{label} [control]: the rightful caller got {response.status_code}, "
                f"expected {call.expected}: {response.text[:300]}"
            )
    assert not failures, "\n".join(failures)
    assert checked, f"{service}: no credentialed route found in its OpenAPI"


async def test_every_known_route_is_still_served(world: World) -> None:
    """A route of this table that vanished from every OpenAPI means the table is stale."""
    served = {(m, p) for s in SERVICES for m, p, _ in await routes(world, s.name)}
    assert set(KNOWN_ROUTES) <= served, sorted(set(KNOWN_ROUTES) - served)
    assert served >= PUBLIC_ROUTES


async def test_public_routes_answer_without_a_credential(world: World) -> None:
    rules = await world.client.http.get(world.client.url("tracecode-validator", "/v1/rules"))
    assert rules.status_code == 200
    product = await world.client.http.get(
        world.client.url("tracecode-validator", f"/v1/catalogue/products/{world.med}")
    )
    assert product.status_code == 200


# ------------------------------------------------------- another institution's data, in detail


@dataclass(frozen=True)
class Foreign:
    """A stranger's request for the owner's data."""

    service: str
    build: Callable[[World], Call]
    allowed: tuple[int, ...] = (403, 404)


FOREIGN: dict[str, Foreign] = {
    "read-settlement": Foreign(
        "settlement-ingest", KNOWN_ROUTES[("GET", "/v1/settlements/{settlement_id}")]
    ),
    "return-settlement": Foreign(
        "settlement-ingest", KNOWN_ROUTES[("POST", "/v1/settlements/{settlement_id}/returns")]
    ),
    "submit-settlement": Foreign("settlement-ingest", KNOWN_ROUTES[("POST", "/v1/settlements")]),
    "movement": Foreign("settlement-ingest", _movement),
    "drg-case": Foreign("settlement-ingest", _drg),
    "credit-file": Foreign(
        "credit-scorer", KNOWN_ROUTES[("GET", "/v1/subjects/{subject_id}/file")]
    ),
    "publisher-stats": Foreign(
        "disclosure-publisher", KNOWN_ROUTES[("GET", "/v1/institutions/{fixmedins_code}/stats")]
    ),
}


@pytest.mark.parametrize("case", list(FOREIGN))
async def test_another_institutions_key_gets_neither_the_data_nor_a_write(
    world: World, case: str
) -> None:
    foreign = FOREIGN[case]
    call = foreign.build(world)
    platform = world.client.platform
    before = [await ingest_rows(platform, p.code) for p in (world.owner, world.other)]
    response = await send(world, foreign.service, call, world.other.headers)
    assert not problem_failures(response, foreign.allowed), problem_failures(
        response, foreign.allowed
    )
    assert [await ingest_rows(platform, p.code) for p in (world.owner, world.other)] == before


async def test_an_institution_cannot_read_a_practitioners_credit_file(world: World) -> None:
    """The prescriber of the owner's own sale is still not the owner's subject."""
    url = world.client.url("credit-scorer", f"/v1/subjects/{PRACTITIONER}/file")
    for headers in (world.owner.headers, world.other.headers):
        response = await world.client.http.get(url, headers=headers)
        assert not problem_failures(response, (403, 404)), problem_failures(response, (403, 404))
    as_admin = await world.client.http.get(url, headers=world.client.admin)
    assert as_admin.status_code == 200, as_admin.text


async def test_an_idempotency_key_is_scoped_to_its_institution(world: World) -> None:
    """A stranger reusing the owner's key gets a settlement of its own, never the owner's."""
    key = str(uuid.uuid4())
    mine = await world.client.sell(world.owner, [line(world.med, 1, [])], key=key)
    theirs = await world.client.sell(
        world.other, [line(world.med, 1, [])], key=key, certno="150302198501011234"
    )
    assert mine.status_code in (200, 202), mine.text
    assert theirs.status_code in (200, 202), theirs.text
    assert theirs.json()["settlement_id"] != mine.json()["settlement_id"]
    read = await world.client.http.get(
        world.client.url("settlement-ingest", f"/v1/settlements/{theirs.json()['settlement_id']}"),
        headers=world.owner.headers,
    )
    assert read.status_code == 403


async def test_a_bureau_jwt_without_an_expiry_is_refused(world: World) -> None:
    forever = jwt.encode(
        {"sub": "admin-forever", "roles": ["admin"]}, world.client.platform.jwt_secret, "HS256"
    )
    response = await world.client.http.get(
        world.client.url("tracecode-validator", "/v1/admin/reviews"),
        headers={"Authorization": f"Bearer {forever}"},
    )
    assert not problem_failures(response, (401,)), problem_failures(response, (401,))
