"""Resident identity numbers (GB 11643-1999): validation, 15 -> 18 upgrade, repair hints.

An ID number carries its holder's region, birth date and sex, so a record whose stated birth
date contradicts its ID number is evidence that the number belongs to someone else (a child
recorded under a parent's number): such a number must not link records on its own.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
_SHAPE_18 = re.compile(r"^\d{17}[\dX]$")
_SHAPE_15 = re.compile(r"^\d{15}$")


class IdState(StrEnum):
    """What a record's ID number is worth for linkage."""

    VALID = "valid"
    UPGRADED = "upgraded"  # a 15-digit number, upgraded to its 18-character form
    INVALID = "invalid"  # wrong shape, impossible date, or a bad check character
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class IdNumber:
    """A normalised ID number and what can be read from it."""

    value: str
    state: IdState
    birth_date: date | None = None
    gender: str | None = None  # GB/T 2261.1: "1" male, "2" female

    @property
    def usable(self) -> bool:
        """Valid or upgraded: the number can link records (subject to consistency)."""
        return self.state in (IdState.VALID, IdState.UPGRADED)


def normalise(raw: str) -> str:
    """Fold full-width digits and `Ｘ`, drop every kind of space and dash, upper-case `x`."""
    folded = unicodedata.normalize("NFKC", raw)
    return "".join(ch for ch in folded if not ch.isspace() and ch not in "-_").upper()


def check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def upgrade_15(old: str) -> str:
    """`150302900101123` -> `150302199001011235`: insert `19` before the year, add the check."""
    body = old[:6] + "19" + old[6:]
    return body + check_char(body)


def _birth(digits8: str) -> date | None:
    try:
        born = date(int(digits8[:4]), int(digits8[4:6]), int(digits8[6:8]))
    except ValueError:
        return None
    return born if born.year >= 1880 else None


def parse(raw: str | None, *, today: date | None = None) -> IdNumber:
    """Normalise and classify an ID number; never raises."""
    value = normalise(raw or "")
    if not value:
        return IdNumber("", IdState.MISSING)
    state = IdState.VALID
    if _SHAPE_15.match(value):
        value, state = upgrade_15(value), IdState.UPGRADED
    if not _SHAPE_18.match(value):
        return IdNumber(value, IdState.INVALID)
    born = _birth(value[6:14])
    if born is None or (today is not None and born > today):
        return IdNumber(value, IdState.INVALID)
    gender = "1" if int(value[16]) % 2 else "2"
    if check_char(value[:17]) != value[17]:
        return IdNumber(value, IdState.INVALID, born, gender)
    return IdNumber(value, state, born, gender)


def repair_suggestions(raw: str, *, limit: int = 8) -> list[str]:
    """Valid numbers one typing slip away (two neighbours swapped, or one digit changed).

    For an operator's review and for candidate search; never applied silently, because
    most single-digit changes yield *some* valid number. Swaps come first: they are the
    commonest slip. Checked arithmetically (the weighted sum changes by a known amount), so
    this costs microseconds, not a parse per candidate.
    """
    value = normalise(raw)
    if len(value) != 18 or not value[:17].isdigit() or value[17] not in CHECK_CHARS:
        return []
    digits = [int(d) for d in value[:17]]
    total = sum(d * w for d, w in zip(digits, WEIGHTS, strict=True))
    want = CHECK_CHARS.index(value[17])  # the sum mod 11 that this check character needs
    found: list[str] = []

    def offer(candidate: str) -> None:
        if candidate != value and candidate not in found and _birth(candidate[6:14]):
            found.append(candidate)

    for i in range(16):
        a, b = digits[i], digits[i + 1]
        if a != b and (total + (b - a) * WEIGHTS[i] + (a - b) * WEIGHTS[i + 1]) % 11 == want:
            offer(value[:i] + value[i + 1] + value[i] + value[i + 2 :])
    offer(value[:17] + CHECK_CHARS[total % 11])
    for i in range(17):
        for d in range(10):
            if d != digits[i] and (total + (d - digits[i]) * WEIGHTS[i]) % 11 == want:
                offer(value[:i] + str(d) + value[i + 1 :])
    return found[:limit]


def one_slip_apart(a: str, b: str) -> bool:
    """True when two 18-character numbers differ by one character or one adjacent swap."""
    if len(a) != len(b) or a == b:
        return False
    diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    if len(diffs) == 1:
        return True
    return (
        len(diffs) == 2
        and diffs[1] == diffs[0] + 1
        and a[diffs[0]] == b[diffs[1]]
        and a[diffs[1]] == b[diffs[0]]
    )
