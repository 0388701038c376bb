"""Who is calling: institution API keys (stored hashed), the bureau admin token, bureau JWTs.

Every service authenticates institutions from its own projection of
`institution.registered.v1` (the `institution_credentials` table), so no service calls
another to check a key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Literal

import jwt
from fastapi import Depends, Request

from yibao.problems import ProblemError

BureauRole = Literal["admin", "inspector", "reviewer", "approver"]
KeyLookup = Callable[[str], Awaitable[str | None]]
"""Maps an API key hash to the institution code it belongs to (None when unknown/inactive)."""

KEY_CACHE_TTL_S = 30.0


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller: one institution, or a bureau user with roles."""

    kind: Literal["institution", "bureau"]
    subject: str
    fixmedins_code: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)

    def is_bureau(self, *roles: str) -> bool:
        """True for a bureau user holding any of `roles` (admin holds them all)."""
        if self.kind != "bureau":
            return False
        return "admin" in self.roles or not roles or bool(self.roles.intersection(roles))


def generate_api_key() -> str:
    """A 256-bit random key; shown to the institution once, stored only as its hash."""
    return "yb_" + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    """SHA-256 is enough here: keys are 256-bit random, so no dictionary can reach them."""
    return hashlib.sha256(key.encode()).hexdigest()


def issue_bureau_jwt(subject: str, roles: Iterable[str], *, secret: str, ttl_s: int = 3600) -> str:
    """A short-lived bureau token (the identity provider's job in production)."""
    now = int(time.time())
    claims = {"sub": subject, "roles": sorted(roles), "iat": now, "exp": now + ttl_s}
    return jwt.encode(claims, secret, algorithm="HS256")


class Authenticator:
    """Resolves a bearer credential into a `Principal`, with a short in-process key cache."""

    def __init__(self, *, lookup: KeyLookup, admin_token: str | None, jwt_secret: str) -> None:
        self._lookup = lookup
        self._admin_token = admin_token
        self._jwt_secret = jwt_secret
        self._cache: dict[str, tuple[float, str]] = {}

    async def authenticate(self, token: str) -> Principal:
        """Try the admin token, then a bureau JWT, then an institution key."""
        if self._admin_token and hmac.compare_digest(token.encode(), self._admin_token.encode()):
            return Principal(kind="bureau", subject="admin", roles=frozenset({"admin"}))
        if token.count(".") == 2:
            return self._bureau_from_jwt(token)
        code = await self._institution_for(hash_api_key(token))
        if code is None:
            raise _unauthorized("The API key is unknown or its institution is inactive.")
        return Principal(kind="institution", subject=code, fixmedins_code=code)

    def forget(self, key_hash: str) -> None:
        """Drop a cached key at once (rotation or deactivation)."""
        self._cache.pop(key_hash, None)

    async def _institution_for(self, key_hash: str) -> str | None:
        hit = self._cache.get(key_hash)
        now = time.monotonic()
        if hit and hit[0] > now:
            return hit[1]
        code = await self._lookup(key_hash)
        if code is not None:
            self._cache[key_hash] = (now + KEY_CACHE_TTL_S, code)
        return code

    def _bureau_from_jwt(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token, self._jwt_secret, algorithms=["HS256"], options={"require": ["exp", "sub"]}
            )
        except jwt.PyJWTError as exc:
            raise _unauthorized(f"The bearer token is not valid: {exc}.") from exc
        roles = frozenset(str(r) for r in claims.get("roles", []))
        return Principal(kind="bureau", subject=str(claims.get("sub", "")), roles=roles)


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(
        401,
        "unauthorized",
        "Authentication required",
        detail,
        hint="Send `Authorization: Bearer <api key or token>`.",
        headers={"WWW-Authenticate": "Bearer"},
    )


def forbidden(detail: str) -> ProblemError:
    """The caller is known but may not act on this data."""
    return ProblemError(403, "forbidden", "Not allowed", detail)


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the caller, from `Authorization: Bearer …` or `X-Api-Key`."""
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else ""
    token = token or request.headers.get("x-api-key", "").strip()
    if not token:
        raise _unauthorized("No credential was sent.")
    authenticator: Authenticator = request.app.state.authenticator
    return await authenticator.authenticate(token)


async def institution_principal(
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    """Only institution keys may submit on an institution's behalf."""
    if principal.kind != "institution":
        raise forbidden("This endpoint is for an institution's own API key.")
    return principal


async def admin_principal(
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    """Bureau admin endpoints: the admin token or a JWT with the admin role."""
    if not principal.is_bureau("admin"):
        raise ProblemError(
            401 if principal.kind == "institution" else 403,
            "admin_required",
            "Admin credential required",
            "This endpoint needs the bureau admin token.",
        )
    return principal


def require_same_institution(principal: Principal, fixmedins_code: str) -> None:
    """An institution acts only for itself (bureau users may act for any)."""
    if principal.kind == "institution" and principal.fixmedins_code != fixmedins_code:
        raise forbidden(f"The credential belongs to another institution than {fixmedins_code!r}.")


AnyPrincipal = Annotated[Principal, Depends(current_principal)]
InstitutionPrincipal = Annotated[Principal, Depends(institution_principal)]
AdminPrincipal = Annotated[Principal, Depends(admin_principal)]
