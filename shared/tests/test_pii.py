"""Personal data: keyed pseudonyms that join one person across services, masks, encryption.

If two spellings of one ID number gave two keys, enrollment matching and the settlement
rules would see two people; if a mask kept too much, a notice would leak an identity.
"""

from __future__ import annotations

import base64
import re

import pytest
from cryptography.exceptions import InvalidTag
from yibao.pii import FieldCipher, mask_certno, mask_name, normalise_certno, person_key

SECRET = "pii-secret-for-tests"
CERTNO = "15030219900101123X"


# --- person_key -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        "15030219900101123X",
        "15030219900101123x",
        "１５０３０２１９９００１０１１２３Ｘ",
        " 150302 19900101 123x ",
        "150302\u300019900101123X",
    ],
    ids=["canonical", "lowercase-x", "full-width", "spaces", "ideographic-space"],
)
def test_person_key_is_the_same_for_every_spelling_of_one_id(spelling: str) -> None:
    """POS input methods produce all of these; they are one person."""
    assert person_key(spelling, secret=SECRET) == person_key(CERTNO, secret=SECRET)


def test_person_key_differs_between_people() -> None:
    """Distinct ID numbers never share a pseudonym."""
    assert person_key("150302199001011231", secret=SECRET) != person_key(
        "150302199001011248", secret=SECRET
    )


def test_person_key_depends_on_the_secret() -> None:
    """It is an HMAC, not a bare hash: without the secret nobody can recompute it."""
    assert person_key(CERTNO, secret=SECRET) != person_key(CERTNO, secret=SECRET + "2")


def test_person_key_is_32_hex_chars_and_not_the_id() -> None:
    """The pseudonym has a fixed, index-friendly shape and reveals nothing of the number."""
    key = person_key(CERTNO, secret=SECRET)
    assert re.fullmatch(r"[0-9a-f]{32}", key)
    assert "19900101" not in key


def test_normalise_certno_folds_width_case_and_spaces() -> None:
    """The one canonical form that every pseudonym and mask is computed from."""
    assert normalise_certno(" １５０３０２ 19900101123ｘ ") == "15030219900101123X"


# --- masks ----------------------------------------------------------------------------------


def test_mask_certno_keeps_region_and_last_four() -> None:
    """The documented example: enough to recognise, not enough to identify."""
    assert mask_certno("150302199001011231") == "1503**********1231"


def test_mask_certno_hides_the_birth_date() -> None:
    """Digits 7-14 are the birth date; none of them may survive the mask."""
    masked = mask_certno(CERTNO)
    assert masked == "1503**********123X"
    assert "1990" not in masked


def test_mask_certno_normalises_first() -> None:
    """A full-width number is masked like its canonical form, not shown raw."""
    assert mask_certno("１５０３０２１９９００１０１１２３１") == "1503**********1231"


@pytest.mark.parametrize("short", ["12345678", "1234", ""])
def test_mask_certno_hides_short_values_entirely(short: str) -> None:
    """Keeping 4 + 4 characters of an 8-character value would show all of it."""
    assert mask_certno(short) == "*" * len(short)


@pytest.mark.parametrize(
    ("name", "masked"),
    [("张三", "张*"), ("欧阳娜娜", "欧***"), ("  李四 ", "李*"), ("", "")],
)
def test_mask_name_keeps_only_the_first_character(name: str, masked: str) -> None:
    """The surname's first character identifies nobody among millions of insured."""
    assert mask_name(name) == masked


# --- FieldCipher ----------------------------------------------------------------------------


@pytest.mark.parametrize("plaintext", ["150302199001011231", "欧阳娜娜", ""])
def test_field_cipher_round_trips(plaintext: str) -> None:
    """What is stored encrypted comes back exactly, Chinese names included."""
    cipher = FieldCipher(SECRET)
    assert cipher.decrypt(cipher.encrypt(plaintext)) == plaintext


def test_field_cipher_output_does_not_contain_the_plaintext() -> None:
    """The stored value is base64 of nonce and ciphertext, never the value itself."""
    token = FieldCipher(SECRET).encrypt(CERTNO)
    assert CERTNO not in token
    assert CERTNO.encode() not in base64.b64decode(token)


def test_field_cipher_uses_a_fresh_nonce_each_time() -> None:
    """Equal plaintexts must not give equal ciphertexts (that would leak equality)."""
    cipher = FieldCipher(SECRET)
    first, second = cipher.encrypt(CERTNO), cipher.encrypt(CERTNO)
    assert first != second
    assert base64.b64decode(first)[:12] != base64.b64decode(second)[:12]


@pytest.mark.parametrize("position", [0, 12, -1], ids=["nonce", "ciphertext", "tag"])
def test_field_cipher_rejects_a_tampered_value(position: int) -> None:
    """AES-GCM authenticates: any flipped bit is refused, not decrypted to garbage."""
    cipher = FieldCipher(SECRET)
    raw = bytearray(base64.b64decode(cipher.encrypt(CERTNO)))
    raw[position] ^= 0x01
    with pytest.raises(InvalidTag):
        cipher.decrypt(base64.b64encode(bytes(raw)).decode())


def test_field_cipher_rejects_another_key() -> None:
    """A value encrypted under one deployment's key does not open under another."""
    token = FieldCipher(SECRET).encrypt(CERTNO)
    with pytest.raises(InvalidTag):
        FieldCipher(SECRET + "2").decrypt(token)


def test_field_cipher_is_deterministic_in_its_key() -> None:
    """Every service derives the same key from the shared secret, so they can share data."""
    token = FieldCipher(SECRET).encrypt(CERTNO)
    assert FieldCipher(SECRET).decrypt(token) == CERTNO
