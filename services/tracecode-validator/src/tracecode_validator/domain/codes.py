"""Reading a scanned trace code into one of the three families accepted for settlement.

The parser decides the family and the canonical key only; whether a prefix belongs to a
catalogued product is the catalogue's question, asked by the rules.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from tracecode_validator.domain.gs1 import (
    GS,
    SYMBOLOGY_IDS,
    Gs1Error,
    looks_bare,
    parse_parenthesised,
    parse_transmitted,
)

TRACE20_PREFIX_LENGTH = 7
MANUFACTURER_LENGTHS = range(8, 41)

_TRACE20 = re.compile(r"\d{20}")
_ALPHANUMERIC = re.compile(r"[A-Za-z0-9]+")
_SYMBOLOGY_ID = re.compile(r"\][A-Za-z][0-9]")
# Separators people and scanners put inside a code; GS is not among them because it is
# data (FNC1), even though Python counts it as whitespace.
_SPACES = re.compile(r"[ \t\r\n\u00a0\u3000]+")


class CodeFamily(StrEnum):
    TRACE20 = "trace20"
    MANUFACTURER = "manufacturer"
    GS1 = "gs1"


class CodeWarning(StrEnum):
    NON_8_PREFIX = "non_8_prefix"


class CodeErrorReason(StrEnum):
    EMPTY = "empty"
    BAD_CHARACTERS = "bad_characters"
    BAD_LENGTH = "bad_length"
    BAD_FIELD = "bad_field"
    BAD_DATE = "bad_date"
    GTIN_CHECK_DIGIT = "gtin_check_digit"
    SEPARATOR_MISSING = "separator_missing"
    UNKNOWN_AI = "unknown_ai"
    DUPLICATE_AI = "duplicate_ai"
    MISSING_AI = "missing_ai"


@dataclass(frozen=True, slots=True)
class ParsedCode:
    """A well-formed scan. ``key`` identifies the physical pack across scans and formats."""

    family: CodeFamily
    key: str
    text: str
    prefix: str | None = None
    gtin: str | None = None
    serial: str | None = None
    lot: str | None = None
    expiry: date | None = None
    production_date: date | None = None
    warnings: tuple[CodeWarning, ...] = ()


@dataclass(frozen=True, slots=True)
class CodeError:
    reason: CodeErrorReason
    message_zh: str
    message_en: str
    ai: str | None = None


_MESSAGES: dict[CodeErrorReason, tuple[str, str]] = {
    CodeErrorReason.EMPTY: ("追溯码为空", "The trace code is empty"),
    CodeErrorReason.BAD_CHARACTERS: (
        "追溯码含有不允许的字符",
        "The trace code contains characters that are not allowed",
    ),
    CodeErrorReason.BAD_LENGTH: (
        "追溯码长度不符合任何码制（20位追溯码、8–40位企业自定义码、GS1字段不超过20位）",
        "The trace code length fits no family (20-digit, 8–40 character manufacturer code, "
        "GS1 field of at most 20 characters)",
    ),
    CodeErrorReason.BAD_FIELD: (
        "GS1码字段长度或格式错误",
        "A GS1 field has the wrong length or format",
    ),
    CodeErrorReason.BAD_DATE: ("GS1码中的日期无效", "A date in the GS1 code is not a valid date"),
    CodeErrorReason.GTIN_CHECK_DIGIT: (
        "GS1码中的GTIN校验位错误",
        "The GTIN in the GS1 code has a wrong check digit",
    ),
    CodeErrorReason.SEPARATOR_MISSING: (
        "GS1码缺少分隔符（FNC1/GS），无法确定可变长字段的边界，请检查扫码枪设置",
        "The GS1 code is missing a separator (FNC1/GS), so a variable-length field has no "
        "certain end; check the scanner configuration",
    ),
    CodeErrorReason.UNKNOWN_AI: (
        "GS1码含有不支持的应用标识符",
        "The GS1 code contains an unsupported application identifier",
    ),
    CodeErrorReason.DUPLICATE_AI: (
        "GS1码中应用标识符重复",
        "An application identifier appears twice in the GS1 code",
    ),
    CodeErrorReason.MISSING_AI: (
        "GS1码缺少必需的应用标识符（01 GTIN 与 21 序列号）",
        "The GS1 code lacks a required application identifier (01 GTIN and 21 serial)",
    ),
}


def _code_error(reason: CodeErrorReason, ai: str | None = None) -> CodeError:
    """Build the error for reason, naming the GS1 AI at fault when there is one."""
    zh, en = _MESSAGES[reason]
    if ai is not None:
        zh, en = f"{zh}（AI {ai}）", f"{en} (AI {ai})"
    return CodeError(reason, zh, en, ai)


def normalise(text: str) -> str:
    """Fold full-width characters to ASCII and drop spaces a person or scanner added."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", text))


def parse_code(text: str) -> ParsedCode | CodeError:
    """Classify a scan as a 20-digit, GS1 or manufacturer code, or say why it is none."""
    code = normalise(text)
    if not code:
        return _code_error(CodeErrorReason.EMPTY)
    symbology = _SYMBOLOGY_ID.match(code)
    if symbology is not None:
        code = code[symbology.end() :]
        if symbology.group() in SYMBOLOGY_IDS:
            return _gs1(code, parenthesised=False)
    if code.startswith("("):
        return _gs1(code, parenthesised=True)
    if GS in code:
        return _gs1(code, parenthesised=False)
    if _TRACE20.fullmatch(code):
        return _trace20(code)
    if looks_bare(code):
        return _gs1(code, parenthesised=False)
    if _ALPHANUMERIC.fullmatch(code) is None:
        return _code_error(CodeErrorReason.BAD_CHARACTERS)
    if len(code) not in MANUFACTURER_LENGTHS:
        return _code_error(CodeErrorReason.BAD_LENGTH)
    return ParsedCode(family=CodeFamily.MANUFACTURER, key=code, text=code)


def _trace20(code: str) -> ParsedCode:
    # Digits 17-20 are check digits from an unpublished algorithm: not verified here.
    warnings = () if code.startswith("8") else (CodeWarning.NON_8_PREFIX,)
    return ParsedCode(
        family=CodeFamily.TRACE20,
        key=code,
        text=code,
        prefix=code[:TRACE20_PREFIX_LENGTH],
        serial=code[TRACE20_PREFIX_LENGTH:16],
        warnings=warnings,
    )


def _gs1(code: str, *, parenthesised: bool) -> ParsedCode | CodeError:
    try:
        elements = parse_parenthesised(code) if parenthesised else parse_transmitted(code)
    except Gs1Error as error:
        return _code_error(CodeErrorReason(error.problem), error.ai)
    return ParsedCode(
        family=CodeFamily.GS1,
        key=f"01{elements.gtin}21{elements.serial}",
        text=code,
        prefix=elements.gtin,
        gtin=elements.gtin,
        serial=elements.serial,
        lot=elements.lot,
        expiry=elements.expiry,
        production_date=elements.production_date,
    )
