"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

The signed content is `{webhook-id}.{webhook-timestamp}.{body}`; the key is the
base64-decoded part of a `whsec_` secret. During a rotation every active secret signs, and
the header carries one `v1,<sig>` per secret separated by spaces, so a receiver holding
either the old or the new secret verifies the same request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"
MIN_SECRET_BYTES = 24
"""Standard Webhooks recommends 24–64 random bytes."""


class BadSecret(ValueError):
    """The secret is not `whsec_` followed by base64 of enough random bytes."""


def decode_secret(secret: str) -> bytes:
    """The HMAC key of a `whsec_<base64>` secret."""
    if not secret.startswith(SECRET_PREFIX):
        raise BadSecret("must start with whsec_")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error as exc:
        raise BadSecret("the part after whsec_ is not base64") from exc
    if len(key) < MIN_SECRET_BYTES:
        raise BadSecret(f"must carry at least {MIN_SECRET_BYTES} bytes of key")
    return key


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<base64 HMAC-SHA256>` signature."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(keys: Sequence[bytes], msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: every active key's signature, space-separated."""
    if not keys:
        raise ValueError("a delivery needs at least one active secret")
    return " ".join(sign(key, msg_id, timestamp, body) for key in keys)
