"""Personal data of the person file at rest: one cipher, two kinds of keyed hashes.

Identity fields (ID number, name, phone, address) are stored only inside one AES-GCM token
per record. Persons are known to other services by `person_key` (the shared HMAC of the ID
number, as the validator keys eligibility), and blocking keys are HMACs under a separate
label, so the index reveals neither names nor numbers without the platform key.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import orjson
from yibao.pii import FieldCipher, person_key


@dataclass(frozen=True, slots=True)
class Identity:
    """The identifying fields of one record, as normalised for matching."""

    certno: str = ""
    name: str = ""
    phone: str = ""
    address: str = ""


class Vault:
    """Encrypts identities and derives the keyed hashes the matcher stores."""

    def __init__(self, secret: str) -> None:
        self._secret = secret
        self._cipher = FieldCipher(secret)
        self._block = hmac.new(secret.encode(), b"yibao-enrollment-blocking", hashlib.sha256)

    def seal(self, identity: Identity) -> str:
        """One token for all of a record's identifying fields."""
        return self._cipher.encrypt(
            orjson.dumps(
                [identity.certno, identity.name, identity.phone, identity.address]
            ).decode()
        )

    def open(self, token: str) -> Identity:
        """Inverse of `seal`."""
        certno, name, phone, address = orjson.loads(self._cipher.decrypt(token))
        return Identity(certno, name, phone, address)

    def encrypt(self, value: str) -> str:
        """Encrypt a free value (a staged CSV row)."""
        return self._cipher.encrypt(value)

    def decrypt(self, token: str) -> str:
        """Inverse of `encrypt`."""
        return self._cipher.decrypt(token)

    def id_key(self, certno: str) -> str:
        """The person key other services use for this ID number."""
        return person_key(certno, secret=self._secret)

    def block_key(self, key: str) -> str:
        """A blocking key as stored: keyed, truncated (collisions only cost a comparison)."""
        mac = self._block.copy()
        mac.update(key.encode())
        return mac.hexdigest()[:24]
