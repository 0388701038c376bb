"""Request fingerprints for the `Idempotency-Key` rule (same key + other body = 422)."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel


def fingerprint(body: BaseModel) -> str:
    """Hash the validated body, so formatting or ignored fields do not count as a change."""
    return hashlib.sha256(body.model_dump_json().encode()).hexdigest()
