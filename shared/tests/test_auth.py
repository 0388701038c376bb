"""Who is calling: institution API keys, the bureau admin token and bureau JWTs.

CONTRACT "Errors": an unknown institution or bad credential is 401, acting for another
institution is 403. Keys are looked up through an async fake, so no database is involved.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from types import SimpleNamespace

import jwt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from yibao.auth import (
    KEY_CACHE_TTL_S,
    AdminPrincipal,
    AnyPrincipal,
    Authenticator,
    InstitutionPrincipal,
    Principal,
    admin_principal,
    generate_api_key,
    hash_api_key,
    institution_principal,
    issue_bureau_jwt,
    require_same_institution,
)
from yibao.problems import PROBLEM_JSON, ProblemError, install_problem_handlers

ADMIN_TOKEN = "admin-token-for-tests"
JWT_SECRET = "jwt-secret-for-tests-0123456789abcdef"
KEY = "yb_known-institution-key"
CODE = "P15030200007"

INSTITUTION = Principal(kind="institution", subject=CODE, fixmedins_code=CODE)
INSPECTOR = Principal(kind="bureau", subject="li.wei", roles=frozenset({"inspector"}))
ADMIN = Principal(kind="bureau", subject="admin", roles=frozenset({"admin"}))


class FakeKeys:
    """The `institution_credentials` projection: key hash -> institution code."""

    def __init__(self, keys: dict[str, str]) -> None:
        self.by_hash = {hash_api_key(k): code for k, code in keys.items()}
        self.calls: list[str] = []

    async def __call__(self, key_hash: str) -> str | None:
        self.calls.append(key_hash)
        return self.by_hash.get(key_hash)


class FakeClock:
    """A monotonic clock the test moves by hand, installed only in `yibao.auth`."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def keys() -> FakeKeys:
    return FakeKeys({KEY: CODE})


@pytest.fixture
def authenticator(keys: FakeKeys) -> Authenticator:
    return Authenticator(lookup=keys, admin_token=ADMIN_TOKEN, jwt_secret=JWT_SECRET)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """Replace `time` inside yibao.auth only: the event loop keeps its real clock."""
    fake = FakeClock()
    monkeypatch.setattr(
        "yibao.auth.time", SimpleNamespace(monotonic=fake.monotonic, time=time.time)
    )
    return fake


async def _rejected(authenticator: Authenticator, token: str) -> ProblemError:
    with pytest.raises(ProblemError) as caught:
        await authenticator.authenticate(token)
    return caught.value


# --- keys -------------------------------------------------------------------------------------


def test_hash_api_key_is_the_sha256_hex_digest() -> None:
    """Every service hashes keys the same way, or projections would never match."""
    assert hash_api_key("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_hash_api_key_is_deterministic_and_distinguishes_keys() -> None:
    """The same key always finds its row; a different key never does."""
    assert hash_api_key(KEY) == hash_api_key(KEY)
    assert hash_api_key(KEY) != hash_api_key(KEY + "x")
    assert re.fullmatch(r"[0-9a-f]{64}", hash_api_key(KEY))


def test_generated_keys_are_unique_long_and_url_safe() -> None:
    """256 random bits: unguessable, and safe in a header without escaping."""
    generated = [generate_api_key() for _ in range(500)]
    assert len(set(generated)) == len(generated)
    for key in generated:
        assert key.startswith("yb_")
        assert len(key) >= 40
        assert re.fullmatch(r"yb_[A-Za-z0-9_-]+", key)


def test_generated_keys_are_never_mistaken_for_a_jwt() -> None:
    """The authenticator treats `x.y.z` as a JWT; a key must not contain dots."""
    assert all("." not in generate_api_key() for _ in range(500))


# --- the authenticator -------------------------------------------------------------------


async def test_the_admin_token_is_the_bureau_admin(authenticator: Authenticator) -> None:
    """The configured admin token grants the admin role (CONTRACT "Bureau admin")."""
    principal = await authenticator.authenticate(ADMIN_TOKEN)
    assert principal == Principal(kind="bureau", subject="admin", roles=frozenset({"admin"}))
    assert principal.is_bureau("approver")


async def test_an_empty_admin_token_setting_grants_nothing(keys: FakeKeys) -> None:
    """`YIBAO_ADMIN_TOKEN=` must not make an empty credential the admin."""
    authenticator = Authenticator(lookup=keys, admin_token="", jwt_secret=JWT_SECRET)
    assert (await _rejected(authenticator, "")).status == 401


async def test_a_bureau_jwt_gives_a_bureau_principal_with_its_roles(
    authenticator: Authenticator,
) -> None:
    """A token from the identity provider carries the user and exactly its roles."""
    token = issue_bureau_jwt("li.wei", ["reviewer", "inspector"], secret=JWT_SECRET)
    principal = await authenticator.authenticate(token)
    assert principal == Principal(
        kind="bureau", subject="li.wei", roles=frozenset({"reviewer", "inspector"})
    )
    assert principal.is_bureau("reviewer")
    assert not principal.is_bureau("approver")


async def test_an_expired_jwt_is_401(authenticator: Authenticator) -> None:
    """An expired token is a bad credential, answered with a Bearer challenge."""
    token = issue_bureau_jwt("li.wei", ["admin"], secret=JWT_SECRET, ttl_s=-60)
    problem = await _rejected(authenticator, token)
    assert (problem.status, problem.code) == (401, "unauthorized")
    assert problem.headers == {"WWW-Authenticate": "Bearer"}


@pytest.mark.parametrize(
    "token",
    [
        "not.a.jwt",
        issue_bureau_jwt("li.wei", ["admin"], secret="someone-elses-secret-0123456789ab"),
        jwt.encode({"sub": "mallory", "roles": ["admin"]}, key="", algorithm="none"),
    ],
    ids=["garbled", "wrong-secret", "alg-none"],
)
async def test_an_untrusted_jwt_is_401(authenticator: Authenticator, token: str) -> None:
    """Only HS256 tokens signed with our secret count; `alg: none` is the classic forgery."""
    assert (await _rejected(authenticator, token)).status == 401


async def test_an_unknown_api_key_is_401(authenticator: Authenticator) -> None:
    """A key whose hash is not in the projection is an unknown institution."""
    problem = await _rejected(authenticator, "yb_nobody-has-this-key")
    assert (problem.status, problem.code) == (401, "unauthorized")


async def test_a_known_api_key_is_its_institution(authenticator: Authenticator) -> None:
    """The key resolves to the institution it was issued to, and only that one."""
    principal = await authenticator.authenticate(KEY)
    assert principal == Principal(kind="institution", subject=CODE, fixmedins_code=CODE)
    assert not principal.is_bureau()


async def test_the_lookup_receives_the_hash_never_the_key(
    authenticator: Authenticator, keys: FakeKeys
) -> None:
    """Keys are stored hashed; the clear key must not even reach the repository."""
    await authenticator.authenticate(KEY)
    assert keys.calls == [hash_api_key(KEY)]


async def test_a_non_ascii_credential_is_401(authenticator: Authenticator) -> None:
    """Headers decode as latin-1, so any byte can arrive; it is still just a bad credential."""
    assert (await _rejected(authenticator, "clé-inconnue")).status == 401


# --- the key cache ------------------------------------------------------------------------


async def test_a_key_is_looked_up_once_within_the_ttl(
    authenticator: Authenticator, keys: FakeKeys, clock: FakeClock
) -> None:
    """At ~3k req/s a database round trip per request for the same key is wasted."""
    for _ in range(5):
        assert (await authenticator.authenticate(KEY)).fixmedins_code == CODE
        clock.now += KEY_CACHE_TTL_S / 10
    assert len(keys.calls) == 1


async def test_a_cached_key_is_looked_up_again_after_the_ttl(
    authenticator: Authenticator, keys: FakeKeys, clock: FakeClock
) -> None:
    """A deactivated institution is locked out within the TTL, even if nobody calls forget."""
    await authenticator.authenticate(KEY)
    clock.now += KEY_CACHE_TTL_S + 0.001
    keys.by_hash.clear()
    assert (await _rejected(authenticator, KEY)).status == 401
    assert len(keys.calls) == 2


async def test_forget_drops_a_cached_key_at_once(
    authenticator: Authenticator, keys: FakeKeys, clock: FakeClock
) -> None:
    """Rotation must take effect immediately, not after the TTL."""
    await authenticator.authenticate(KEY)
    keys.by_hash.clear()
    authenticator.forget(hash_api_key(KEY))
    assert (await _rejected(authenticator, KEY)).status == 401


async def test_an_unknown_key_is_not_cached(
    authenticator: Authenticator, keys: FakeKeys, clock: FakeClock
) -> None:
    """An institution registered a moment after a failed call must work at once."""
    await _rejected(authenticator, "yb_registered-soon")
    keys.by_hash[hash_api_key("yb_registered-soon")] = "H15030200001"
    assert (await authenticator.authenticate("yb_registered-soon")).subject == "H15030200001"


# --- authorisation helpers ------------------------------------------------------------------


def test_an_institution_may_act_for_itself() -> None:
    """The normal case passes silently."""
    require_same_institution(INSTITUTION, CODE)


def test_an_institution_may_not_act_for_another() -> None:
    """CONTRACT: acting for another institution is 403, not 401 (the key itself is fine)."""
    with pytest.raises(ProblemError) as caught:
        require_same_institution(INSTITUTION, "H15030200001")
    assert (caught.value.status, caught.value.code) == (403, "forbidden")


@pytest.mark.parametrize("principal", [INSPECTOR, ADMIN], ids=["inspector", "admin"])
def test_bureau_users_may_act_for_any_institution(principal: Principal) -> None:
    """Supervisors look at every institution's data."""
    require_same_institution(principal, "H15030200001")


async def test_admin_principal_rejects_an_institution_with_401() -> None:
    """An institution key on an admin endpoint is the wrong credential kind: 401."""
    with pytest.raises(ProblemError) as caught:
        await admin_principal(INSTITUTION)
    assert (caught.value.status, caught.value.code) == (401, "admin_required")


async def test_admin_principal_rejects_a_non_admin_bureau_user_with_403() -> None:
    """A known bureau user without the admin role is forbidden, not unauthenticated."""
    with pytest.raises(ProblemError) as caught:
        await admin_principal(INSPECTOR)
    assert (caught.value.status, caught.value.code) == (403, "admin_required")


async def test_admin_principal_accepts_the_admin() -> None:
    """The admin passes through unchanged."""
    assert await admin_principal(ADMIN) is ADMIN


async def test_institution_principal_rejects_bureau_users() -> None:
    """Only an institution's own key submits sales and movements on its behalf."""
    with pytest.raises(ProblemError) as caught:
        await institution_principal(ADMIN)
    assert caught.value.status == 403


def test_is_bureau_without_roles_means_any_bureau_user() -> None:
    """`is_bureau()` asks only 'is this the bureau', whatever the roles."""
    assert INSPECTOR.is_bureau()
    assert not INSTITUTION.is_bureau()


# --- the FastAPI dependency ------------------------------------------------------------------


@pytest.fixture
def client(authenticator: Authenticator) -> Iterator[TestClient]:
    """A tiny app whose routes depend on the three principal aliases."""
    app = FastAPI()
    install_problem_handlers(app)
    app.state.authenticator = authenticator

    @app.get("/whoami")
    async def whoami(principal: AnyPrincipal) -> dict[str, str]:
        return {"kind": principal.kind, "subject": principal.subject}

    @app.get("/institution")
    async def institution(principal: InstitutionPrincipal) -> dict[str, str | None]:
        return {"fixmedins_code": principal.fixmedins_code}

    @app.get("/admin")
    async def admin(principal: AdminPrincipal) -> dict[str, str]:
        return {"subject": principal.subject}

    with TestClient(app) as test_client:
        yield test_client


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {KEY}"},
        {"Authorization": f"bearer  {KEY} "},
        {"X-Api-Key": KEY},
    ],
    ids=["bearer", "lowercase-scheme", "x-api-key"],
)
def test_the_dependency_reads_bearer_and_x_api_key(
    client: TestClient, headers: dict[str, str]
) -> None:
    """POS vendors send either header; both resolve the same institution."""
    response = client.get("/whoami", headers=headers)
    assert response.status_code == 200
    assert response.json() == {"kind": "institution", "subject": CODE}


def test_the_dependency_resolves_the_admin_token(client: TestClient) -> None:
    """`Authorization: Bearer <YIBAO_ADMIN_TOKEN>` opens the admin endpoints."""
    response = client.get("/admin", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.json() == {"subject": "admin"}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": f"Basic {KEY}"}, {"Authorization": "Bearer "}],
    ids=["none", "basic-scheme", "empty-bearer"],
)
def test_a_missing_credential_is_a_401_problem_with_a_challenge(
    client: TestClient, headers: dict[str, str]
) -> None:
    """The client is told how to authenticate, in problem+json."""
    response = client.get("/whoami", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["code"] == "unauthorized"


def test_an_unknown_key_over_http_is_401(client: TestClient) -> None:
    """The 401 reaches the client as a problem, not an unhandled exception."""
    response = client.get("/whoami", headers={"X-Api-Key": "yb_unknown"})
    assert response.status_code == 401


def test_an_institution_key_on_an_admin_route_is_401(client: TestClient) -> None:
    """Through the dependency chain too, an institution key is not an admin credential."""
    response = client.get("/admin", headers={"X-Api-Key": KEY})
    assert (response.status_code, response.json()["code"]) == (401, "admin_required")


def test_a_bureau_token_on_an_institution_route_is_403(client: TestClient) -> None:
    """The bureau may read everything but does not submit as an institution."""
    response = client.get("/institution", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 403
