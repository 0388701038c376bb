"""Request fingerprints for the `Idempotency-Key` rule (same key + other body = 422).

Keyed (HMAC with the PII key): bodies carry ID numbers, and an unkeyed hash of a body whose
other fields are stored in clear could be brute-forced back to the ID number.
"""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal
from typing import Any

import orjson
from pydantic import BaseModel


def _normalise(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")  # 2, 2.0 and 2.00 are the same quantity
    raise TypeError(type(value))


def fingerprint(body: BaseModel, *, secret: str) -> str:
    """Hash the validated body: formatting, ignored fields and number spelling do not count."""
    canonical = orjson.dumps(body.model_dump(), default=_normalise, option=orjson.OPT_SORT_KEYS)
    return hmac.new(secret.encode(), canonical, hashlib.sha256).hexdigest()
