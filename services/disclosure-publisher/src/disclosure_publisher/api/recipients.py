"""Bureau registration of delivery endpoints (webhook URL + Standard Webhooks secret)."""

from __future__ import annotations

from datetime import datetime

import orjson
from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field
from yibao.auth import AdminPrincipal
from yibao.db import DbConnection
from yibao.events.envelope import new_event_id
from yibao.pii import FieldCipher, mask_name
from yibao.problems import ProblemError
from yibao.requests import RequestModel

from disclosure_publisher import delivery_store as store
from disclosure_publisher.api.deps import not_found, runtime, settings, state
from disclosure_publisher.delivery import check_webhook_url, resolve_host
from disclosure_publisher.domain.masking import mask_phone
from disclosure_publisher.domain.signing import BadSecret, decode_secret
from disclosure_publisher.domain.urls import UnsafeUrl

router = APIRouter(prefix="/v1/admin", tags=["recipients"])
CODE_PATTERN = r"^[A-Z0-9]{1,32}$"


class Contact(RequestModel):
    name: str = Field(min_length=1, max_length=50)
    phone: str | None = Field(default=None, max_length=20)
    role: str | None = Field(default=None, max_length=50, description="e.g. 医保办主任")


class RecipientIn(RequestModel):
    fixmedins_code: str = Field(pattern=CODE_PATTERN)
    webhook_url: str = Field(min_length=8, max_length=2048)
    secret: str = Field(
        min_length=10,
        max_length=200,
        description="`whsec_` + base64 of 24–64 random bytes. Posting again for the same "
        "institution rotates: the new secret signs at once, the previous ones keep signing "
        "for PUBLISHER_SECRET_OVERLAP_S (both signatures are sent, space-separated).",
    )
    contacts: list[Contact] | None = Field(
        default=None,
        max_length=20,
        description="who to call about deliveries; encrypted at rest, answered masked; "
        "omitted on an update: the stored ones stay",
    )


class SecretOut(BaseModel):
    secret_id: str
    created_at: datetime
    expires_at: datetime | None
    active: bool


class RecipientOut(BaseModel):
    fixmedins_code: str
    webhook_url: str
    enabled: bool
    disabled_reason: str | None
    consecutive_failures: int
    circuit_open_until: datetime | None
    created: bool = Field(description="false when this call updated or rotated an endpoint")
    contacts: list[dict[str, str | None]] = Field(description="masked: 张*, 138****5678")
    secrets: list[SecretOut] = Field(description="never the secret itself")


async def _out(
    conn: DbConnection, cipher: FieldCipher, code: str, *, created: bool
) -> RecipientOut:
    row = await store.recipient(conn, code)
    if row is None:
        raise not_found("recipient", code)
    stored = orjson.loads(cipher.decrypt(row["contacts_cipher"])) if row["contacts_cipher"] else []
    secrets = await store.secrets_of(conn, code)
    return RecipientOut(
        fixmedins_code=code,
        webhook_url=row["webhook_url"],
        enabled=row["enabled"],
        disabled_reason=row["disabled_reason"],
        consecutive_failures=row["consecutive_failures"],
        circuit_open_until=row["circuit_open_until"],
        created=created,
        contacts=[
            {
                "name": mask_name(c["name"]),
                "phone": None if c.get("phone") is None else mask_phone(c["phone"]),
                "role": c.get("role"),
            }
            for c in stored
        ],
        secrets=[SecretOut(**dict(s)) for s in secrets],
    )


@router.post(
    "/recipients",
    response_model=RecipientOut,
    status_code=status.HTTP_201_CREATED,
    summary="Register (or update, re-enable, rotate the secret of) an institution's endpoint",
)
async def register(body: RecipientIn, _: AdminPrincipal, request: Request) -> RecipientOut:
    config = settings(request)
    try:
        decode_secret(body.secret)
    except BadSecret as exc:
        raise ProblemError(
            422,
            "invalid_webhook_secret",
            "Invalid secret",
            f"The secret {exc}.",
            field="secret",
            hint="Generate 32 random bytes and send `whsec_` + their base64.",
        ) from exc
    try:
        await check_webhook_url(
            body.webhook_url,
            allow_private=config.platform.webhook_allow_private,
            resolve=resolve_host,
        )
    except UnsafeUrl as exc:
        raise ProblemError(
            422,
            "unsafe_webhook_url",
            "Webhook URL not allowed",
            str(exc),
            field="webhook_url",
            hint="Use https to a public host (YIBAO_WEBHOOK_ALLOW_PRIVATE=1 allows local ones).",
        ) from exc
    cipher: FieldCipher = state(request, "cipher")
    async with runtime(request).uow() as uow:
        created = await store.upsert_recipient(
            uow.conn,
            fixmedins_code=body.fixmedins_code,
            webhook_url=body.webhook_url,
            secret_id=new_event_id(),
            secret_cipher=cipher.encrypt(body.secret),
            overlap_s=config.secret_overlap_s,
            contacts_cipher=None
            if body.contacts is None
            else cipher.encrypt(orjson.dumps([c.model_dump() for c in body.contacts]).decode()),
        )
        out = await _out(uow.conn, cipher, body.fixmedins_code, created=created)
        await uow.commit()
    return out


@router.get("/recipients/{fixmedins_code}", response_model=RecipientOut)
async def get_recipient(fixmedins_code: str, _: AdminPrincipal, request: Request) -> RecipientOut:
    """The endpoint's state: enabled, breaker, secrets' validity."""
    async with runtime(request).uow() as uow:
        return await _out(uow.conn, state(request, "cipher"), fixmedins_code, created=False)
