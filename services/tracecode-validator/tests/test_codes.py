from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tracecode_validator.domain.checkdigits import gs1_check_digit
from tracecode_validator.domain.codes import (
    CodeError,
    CodeErrorReason,
    CodeFamily,
    CodeWarning,
    ParsedCode,
    parse_code,
)

GS = "\x1d"
GTIN = "06912345678902"


def parsed(text: str) -> ParsedCode:
    result = parse_code(text)
    assert isinstance(result, ParsedCode), result
    return result


def refused(text: str) -> CodeError:
    result = parse_code(text)
    assert isinstance(result, CodeError), result
    return result


def test_twenty_digit_code() -> None:
    code = parsed("81234560000000010000")
    assert code.family is CodeFamily.TRACE20
    assert code.key == "81234560000000010000"
    assert code.prefix == "8123456"
    assert code.serial == "000000001"
    assert code.warnings == ()


def test_twenty_digit_code_not_starting_with_8_is_kept_with_a_warning() -> None:
    code = parsed("71234560000000010000")
    assert code.family is CodeFamily.TRACE20
    assert code.warnings == (CodeWarning.NON_8_PREFIX,)


def test_full_width_digits_and_spaces_are_normalised() -> None:
    code = parsed(" ８１２３４５６　００００００００１００００\n")
    assert code.key == "81234560000000010000"


def test_printed_seven_plus_thirteen_split_is_joined() -> None:
    assert parsed("8123456 0000000010000").key == "81234560000000010000"


def test_non_gs1_symbology_identifier_is_dropped() -> None:
    code = parsed("]C081234560000000010000")
    assert code.family is CodeFamily.TRACE20


def test_manufacturer_code() -> None:
    code = parsed("ZY2024A000123456")
    assert code.family is CodeFamily.MANUFACTURER
    assert code.key == "ZY2024A000123456"
    assert code.prefix is None


def test_digit_string_of_another_length_is_a_manufacturer_code() -> None:
    assert parsed("812345600000000100").family is CodeFamily.MANUFACTURER


@pytest.mark.parametrize("symbology", ["]d2", "]C1", "]Q3"])
def test_gs1_with_symbology_identifier_and_group_separators(symbology: str) -> None:
    code = parsed(f"{symbology}01{GTIN}17270600{GS}10LOT-7{GS}21SN12345")
    assert code.family is CodeFamily.GS1
    assert code.gtin == GTIN
    assert code.prefix == GTIN
    assert code.serial == "SN12345"
    assert code.lot == "LOT-7"
    assert code.expiry == date(2027, 6, 30)
    assert code.key == f"01{GTIN}21SN12345"


def test_gs1_parenthesised_human_readable_form() -> None:
    code = parsed(f"(01){GTIN}(11)250115(17)280229(10)A1(21)XYZ")
    assert code.family is CodeFamily.GS1
    assert code.production_date == date(2025, 1, 15)
    assert code.expiry == date(2028, 2, 29)
    assert (code.lot, code.serial) == ("A1", "XYZ")


def test_full_width_parentheses_and_spaces_in_the_human_readable_form() -> None:
    code = parsed(f"（01）{GTIN} （21）XYZ")
    assert code.key == f"01{GTIN}21XYZ"


def test_the_same_pack_has_one_key_in_every_form() -> None:
    forms = [
        f"]d201{GTIN}21XYZ{GS}10LOT",
        f"(01){GTIN}(10)LOT(21)XYZ",
        f"01{GTIN}10LOT{GS}21XYZ",
    ]
    assert {parsed(text).key for text in forms} == {f"01{GTIN}21XYZ"}


@pytest.mark.parametrize(
    ("yymmdd", "expected"),
    [("260200", date(2026, 2, 28)), ("280200", date(2028, 2, 29)), ("271200", date(2027, 12, 31))],
)
def test_expiry_day_00_means_the_last_day_of_the_month(yymmdd: str, expected: date) -> None:
    assert parsed(f"]d201{GTIN}17{yymmdd}21XYZ").expiry == expected


def test_bare_string_with_only_its_last_field_variable_is_accepted() -> None:
    code = parsed(f"01{GTIN}1727060021SN12345")
    assert code.serial == "SN12345"


def test_two_variable_fields_without_separator_are_refused() -> None:
    error = refused(f"01{GTIN}10ABC21XYZ")
    assert error.reason is CodeErrorReason.SEPARATOR_MISSING
    assert "separator" in error.message_en
    assert "分隔符" in error.message_zh


def test_serial_that_hides_a_date_and_lot_without_separator_is_refused() -> None:
    assert refused(f"]d201{GTIN}21SN1231727060010L1").reason is CodeErrorReason.SEPARATOR_MISSING


def test_group_separator_makes_the_same_content_unambiguous() -> None:
    code = parsed(f"]d201{GTIN}21SN123{GS}1727060010L1")
    assert (code.serial, code.lot, code.expiry) == ("SN123", "L1", date(2027, 6, 30))


def test_bad_gtin_check_digit() -> None:
    error = refused(f"]d20106912345678900{GS}21XYZ")
    assert error.reason is CodeErrorReason.GTIN_CHECK_DIGIT
    assert error.ai == "01"


def test_bad_gtin_check_digit_in_the_bracketed_form() -> None:
    assert refused("(01)06912345678900(21)XYZ").reason is CodeErrorReason.GTIN_CHECK_DIGIT


@pytest.mark.parametrize(
    ("text", "reason", "ai"),
    [
        (f"]d201{GTIN}24012{GS}21XYZ", CodeErrorReason.UNKNOWN_AI, "24"),
        (f"(01){GTIN}(240)12(21)XYZ", CodeErrorReason.UNKNOWN_AI, "240"),
        (f"]d201{GTIN}17271301{GS}21XYZ", CodeErrorReason.BAD_DATE, "17"),
        (f"]d201{GTIN}17270231{GS}21XYZ", CodeErrorReason.BAD_DATE, "17"),
        (f"]d201{GTIN}1727A231{GS}21XYZ", CodeErrorReason.BAD_FIELD, "17"),
        (f"]d201{GTIN}21XYZ{GS}21ABC", CodeErrorReason.DUPLICATE_AI, "21"),
        (f"]d201{GTIN}10LOT", CodeErrorReason.MISSING_AI, "21"),
        (f"]d2{GS}", CodeErrorReason.MISSING_AI, "01"),
        (f"]d221XYZ{GS}10LOT", CodeErrorReason.MISSING_AI, "01"),
        (f"]d201{GTIN}21{'S' * 21}", CodeErrorReason.BAD_LENGTH, "21"),
        (f"]d201{GTIN}21XY#Z", CodeErrorReason.BAD_CHARACTERS, "21"),
        (f"]d201{GTIN}10{GS}21XYZ", CodeErrorReason.BAD_FIELD, "10"),
        ("(01)0691234567890(21)XYZ", CodeErrorReason.BAD_FIELD, "01"),
    ],
)
def test_gs1_errors_name_the_ai(text: str, reason: CodeErrorReason, ai: str) -> None:
    error = refused(text)
    assert (error.reason, error.ai) == (reason, ai)
    assert f"AI {ai}" in error.message_en
    assert error.message_zh


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", CodeErrorReason.EMPTY),
        ("  \t ", CodeErrorReason.EMPTY),
        ("8123-4560000000010000", CodeErrorReason.BAD_CHARACTERS),
        ("追溯码81234560000", CodeErrorReason.BAD_CHARACTERS),
        ("(01 06912345678902", CodeErrorReason.BAD_CHARACTERS),
        ("1234567", CodeErrorReason.BAD_LENGTH),
        ("9" * 41, CodeErrorReason.BAD_LENGTH),
    ],
)
def test_strings_of_no_family(text: str, reason: CodeErrorReason) -> None:
    assert refused(text).reason is reason


_CSET82_SAFE = st.text(
    alphabet="ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789-./",
    min_size=1,
    max_size=20,
)


@given(
    payload=st.text(alphabet="0123456789", min_size=13, max_size=13),
    serial=_CSET82_SAFE,
    lot=_CSET82_SAFE,
    year=st.integers(min_value=0, max_value=99),
    month=st.integers(min_value=1, max_value=12),
    serial_first=st.booleans(),
)
def test_any_well_separated_element_string_reads_back(
    payload: str, serial: str, lot: str, year: int, month: int, serial_first: bool
) -> None:
    gtin = payload + str(gs1_check_digit(payload))
    variable = [f"21{serial}", f"10{lot}"]
    if not serial_first:
        variable.reverse()
    code = parsed(f"]d201{gtin}17{year:02d}{month:02d}00" + GS.join(variable))
    assert (code.gtin, code.serial, code.lot) == (gtin, serial, lot)
    assert code.key == f"01{gtin}21{serial}"
    assert code.expiry is not None
    assert (code.expiry.year, code.expiry.month) == (2000 + year, month)


@given(st.text(max_size=60))
def test_parsing_never_raises(text: str) -> None:
    assert isinstance(parse_code(text), ParsedCode | CodeError)
