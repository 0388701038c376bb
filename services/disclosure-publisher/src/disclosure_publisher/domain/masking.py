"""Masking of personal data inside notice content (evidence comes from other services).

Notices leave the platform, so anything that looks like a person's ID number, name or phone
is masked here whatever the producer put in the evidence: `1501**********123X`, `张*`.
"""

from __future__ import annotations

import re
from typing import Any

from yibao.pii import mask_certno, mask_name

NAME_KEYS = frozenset({"psn_name", "name_of_person", "patient_name", "person_name"})
CERTNO_KEYS = frozenset({"certno", "psn_cert_no", "id_number", "idcard"})
PHONE_KEYS = frozenset({"phone", "mobile", "tel"})
_CERTNO = re.compile(r"(?<![0-9])([1-9]\d{5}(?:19|20)\d{2}\d{4}\d{3}[0-9Xx])(?![0-9])")


def mask_phone(phone: str) -> str:
    """`13812345678` -> `138****5678`."""
    digits = phone.strip()
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_text(text: str) -> str:
    """Mask every 18-character ID number embedded in free text."""
    return _CERTNO.sub(lambda m: mask_certno(m.group(1)), text)


def mask_value(value: Any, key: str | None = None) -> Any:
    """Mask a JSON value recursively, by key name and by the shape of ID numbers."""
    if isinstance(value, dict):
        return {k: mask_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(v, key) for v in value]
    if isinstance(value, str):
        lowered = (key or "").lower()
        if lowered in NAME_KEYS:
            return mask_name(value)
        if lowered in CERTNO_KEYS:
            return mask_certno(value)
        if lowered in PHONE_KEYS:
            return mask_phone(value)
        return mask_text(value)
    return value
