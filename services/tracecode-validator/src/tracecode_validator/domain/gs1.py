"""GS1 element strings as printed in the DataMatrix of (mostly imported) drug packs.

Only the application identifiers a drug pack carries are understood: 01 GTIN, 17 expiry,
11 production date, 10 lot and 21 serial. Anything else is refused rather than skipped,
because without a length table an unknown AI cannot be stepped over safely.

A variable-length field ends at FNC1, which scanners transmit as GS (ASCII 29). Scanners
that drop FNC1 produce strings with more than one reading; those are refused as
``separator_missing`` instead of being guessed, since a wrong guess invents a serial.
"""

import calendar
import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from tracecode_validator.domain.checkdigits import is_valid_gtin

GS = "\x1d"
SYMBOLOGY_IDS = frozenset({"]d2", "]C1", "]Q3", "]e0"})

Gs1Problem = Literal[
    "bad_characters",
    "bad_date",
    "bad_field",
    "bad_length",
    "duplicate_ai",
    "gtin_check_digit",
    "missing_ai",
    "separator_missing",
    "unknown_ai",
]


class Gs1Error(Exception):
    """Why an element string cannot be read, and which AI was at fault."""

    def __init__(self, problem: Gs1Problem, ai: str | None = None) -> None:
        super().__init__(problem, ai)
        self.problem: Gs1Problem = problem
        self.ai = ai


@dataclass(frozen=True, slots=True)
class Gs1Elements:
    gtin: str
    serial: str
    lot: str | None
    expiry: date | None
    production_date: date | None


@dataclass(frozen=True, slots=True)
class _Ai:
    length: int
    fixed: bool


_AIS = {
    "01": _Ai(14, fixed=True),
    "11": _Ai(6, fixed=True),
    "17": _Ai(6, fixed=True),
    "10": _Ai(20, fixed=False),
    "21": _Ai(20, fixed=False),
}
_REQUIRED = ("01", "21")
# GS1 character set 82, the only characters allowed inside lot and serial fields.
_CSET82 = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]+")
_PARENTHESISED = re.compile(r"\((\d{2,4})\)([^()]*)")
_BARE_START = re.compile(r"01\d{14}(?:10|11|17|21)")


def looks_bare(text: str) -> bool:
    """Tell whether text without separators or brackets still reads as a drug GS1 string.

    Drug DataMatrix codes start with AI 01, so "01", fourteen digits and another known AI
    is taken as GS1; any other alphanumeric string is left to the manufacturer family.
    """
    return _BARE_START.match(text) is not None


def parse_parenthesised(text: str) -> Gs1Elements:
    """Read the human-readable form, e.g. ``(01)06912345678900(21)ABC``."""
    pairs: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        match = _PARENTHESISED.match(text, pos)
        if match is None:
            raise Gs1Error("bad_characters")
        pairs.append((match.group(1), match.group(2)))
        pos = match.end()
    return _assemble(pairs)


def parse_transmitted(text: str) -> Gs1Elements:
    """Read the string a scanner sends (symbology id already removed), GS as separator."""
    body = text.lstrip(GS)
    if not body:
        raise Gs1Error("missing_ai", "01")
    pairs = _split(body)
    if GS not in body:
        # Fields before the last are fixed-length here, so their errors are certain and
        # more useful than a separator complaint.
        for ai, value in pairs[:-1]:
            _check(ai, value)
        _refuse_ambiguous(pairs)
    return _assemble(pairs)


def _split(body: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    pos = 0
    while pos < len(body):
        ai = body[pos : pos + 2]
        spec = _AIS.get(ai)
        if spec is None:
            raise Gs1Error("unknown_ai", ai)
        start = pos + 2
        if spec.fixed:
            end = start + spec.length
        else:
            separator = body.find(GS, start)
            end = len(body) if separator < 0 else separator
        pairs.append((ai, body[start:end]))
        # A GS after a fixed-length field is redundant but harmless, so it is skipped too.
        pos = end + 1 if body[end : end + 1] == GS else end
    return pairs


def _refuse_ambiguous(pairs: list[tuple[str, str]]) -> None:
    """Refuse a separator-free string whose final variable field hides more elements.

    Without GS, a variable field always runs to the end of the string. If some suffix of
    it also reads as valid elements, FNC1 may have been lost and the string has two
    readings; with no suffix readable, the only reading is the one already taken.
    """
    ai, value = pairs[-1]
    if _AIS[ai].fixed:
        return
    taken = {a for a, _ in pairs}
    for cut in range(1, len(value)):
        if _reads_as_elements(value[cut:], taken):
            raise Gs1Error("separator_missing", ai)


def _reads_as_elements(tail: str, taken: set[str]) -> bool:
    try:
        pairs = _split(tail)
        for ai, value in pairs:
            _check(ai, value)
    except Gs1Error:
        return False
    ais = [ai for ai, _ in pairs]
    return len(set(ais)) == len(ais) and taken.isdisjoint(ais)


def _assemble(pairs: list[tuple[str, str]]) -> Gs1Elements:
    values: dict[str, str] = {}
    for ai, value in pairs:
        if ai not in _AIS:
            raise Gs1Error("unknown_ai", ai)
        if ai in values:
            raise Gs1Error("duplicate_ai", ai)
        _check(ai, value)
        values[ai] = value
    for ai in _REQUIRED:
        if ai not in values:
            raise Gs1Error("missing_ai", ai)
    return Gs1Elements(
        gtin=values["01"],
        serial=values["21"],
        lot=values.get("10"),
        expiry=_date("17", values["17"]) if "17" in values else None,
        production_date=_date("11", values["11"]) if "11" in values else None,
    )


def _check(ai: str, value: str) -> None:
    spec = _AIS[ai]
    if spec.fixed:
        if len(value) != spec.length or not (value.isascii() and value.isdigit()):
            raise Gs1Error("bad_field", ai)
        if ai == "01" and not is_valid_gtin(value):
            raise Gs1Error("gtin_check_digit", ai)
        if ai in ("11", "17"):
            _date(ai, value)
        return
    if not value:
        raise Gs1Error("bad_field", ai)
    if len(value) > spec.length:
        raise Gs1Error("bad_length", ai)
    if _CSET82.fullmatch(value) is None:
        raise Gs1Error("bad_characters", ai)


def _date(ai: str, yymmdd: str) -> date:
    """Read a GS1 date; day 00 means the last day of the month.

    The century is taken as 20xx: drug expiry and production dates fall in this century,
    and a pure function has no "today" to apply GS1's sliding fifty-year window to.
    """
    year, month, day = 2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])
    if not 1 <= month <= 12:
        raise Gs1Error("bad_date", ai)
    last = calendar.monthrange(year, month)[1]
    if day == 0:
        return date(year, month, last)
    if day > last:
        raise Gs1Error("bad_date", ai)
    return date(year, month, day)
