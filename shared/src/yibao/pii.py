"""Personal data handling: keyed pseudonyms, masking for display, encryption at rest.

Services join on a person through `person_key` (an HMAC of the normalised ID number) so the
ID number itself never needs to leave the service that received it; notices and logs show
only masked forms.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import unicodedata

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def normalise_certno(certno: str) -> str:
    """Fold full-width digits, spaces and a lowercase check `x` so one person has one key."""
    return unicodedata.normalize("NFKC", certno).strip().replace(" ", "").upper()


def person_key(certno: str, *, secret: str) -> str:
    """A stable pseudonym for an ID number: the same on every service sharing `secret`."""
    digest = hmac.new(secret.encode(), normalise_certno(certno).encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def mask_certno(certno: str) -> str:
    """`150302199001011231` -> `1503**********1231` (region prefix and last four kept)."""
    value = normalise_certno(certno)
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_name(name: str) -> str:
    """`张三` -> `张*`; `欧阳娜娜` -> `欧***`."""
    name = name.strip()
    if not name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)


class FieldCipher:
    """AES-GCM for personal fields stored at rest; the key comes from configuration."""

    def __init__(self, secret: str) -> None:
        self._aead = AESGCM(hashlib.sha256(b"yibao-field-cipher:" + secret.encode()).digest())

    def encrypt(self, plaintext: str) -> str:
        """Return `base64(nonce || ciphertext)`; a fresh nonce each time."""
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), None)
        return base64.b64encode(nonce + sealed).decode()

    def decrypt(self, token: str) -> str:
        """Reverse `encrypt`; raises if the value was tampered with."""
        raw = base64.b64decode(token)
        return self._aead.decrypt(raw[:12], raw[12:], None).decode()
