"""Product identifier checks: GS1 mod-10 check digits and the 医保 drug-code shape.

The 69 code (GTIN) and the 药品本位码 share the GS1 mod-10 algorithm, so one function
serves both; the 23-character 国家医保药品代码 has no published check digit, so only its
shape is checked and the catalogue does the rest.
"""

import re

_GTIN_LENGTHS = frozenset({8, 12, 13, 14})
_MED_LIST_CODE = re.compile(r"[XZ][A-Z0-9]{22}")
_CHINESE_GS1_PREFIXES = (*(str(p) for p in range(690, 700)), "680", "681")


def gs1_check_digit(payload: str) -> int:
    """Return the mod-10 check digit for the digits that precede it."""
    if not payload.isascii() or not payload.isdigit():
        raise ValueError("a GS1 payload is ASCII digits only")
    # Weights alternate 3, 1, 3, ... starting from the digit next to the check digit, which
    # is what makes the same function right for every GTIN length.
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(payload)))
    return (10 - total % 10) % 10


def _has_valid_check_digit(digits: str) -> bool:
    return gs1_check_digit(digits[:-1]) == int(digits[-1])


def _is_digits(s: str) -> bool:
    return s.isascii() and s.isdigit()


def is_valid_gtin(s: str) -> bool:
    """Tell whether s is a GTIN-8/12/13/14 with a correct check digit."""
    return _is_digits(s) and len(s) in _GTIN_LENGTHS and _has_valid_check_digit(s)


def to_gtin14(gtin: str) -> str:
    """Left-pad a GTIN to 14 digits so that every length compares equal to itself."""
    return gtin.rjust(14, "0")


def is_chinese_gtin13(s: str) -> bool:
    """Tell whether s is a valid GTIN-13 issued under a GS1 China prefix."""
    return len(s) == 13 and is_valid_gtin(s) and s.startswith(_CHINESE_GS1_PREFIXES)


def is_valid_drug_standard_code(s: str) -> bool:
    """Tell whether s is a 药品本位码: 14 digits starting 86 with a mod-10 check digit."""
    return _is_digits(s) and len(s) == 14 and s.startswith("86") and _has_valid_check_digit(s)


def is_valid_med_list_code(s: str) -> bool:
    """Tell whether s has the shape of a 国家医保药品代码 (western X / Chinese patent Z)."""
    return _MED_LIST_CODE.fullmatch(s) is not None
