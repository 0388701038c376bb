import pytest
from tracecode_validator.domain.checkdigits import (
    gs1_check_digit,
    is_chinese_gtin13,
    is_valid_drug_standard_code,
    is_valid_gtin,
    is_valid_med_list_code,
    to_gtin14,
)


@pytest.mark.parametrize(
    "gtin",
    ["6924561884074", "4006381333931", "96385074", "036000291452", "06924561884074"],
)
def test_valid_gtins_of_every_length(gtin: str) -> None:
    assert is_valid_gtin(gtin)


@pytest.mark.parametrize(
    "gtin",
    [
        "6924561884075",
        "692456188407",
        "69245618840741",
        "692456188407X",
        "６９２４５６１８８４０７４",
    ],
)
def test_invalid_gtins(gtin: str) -> None:
    assert not is_valid_gtin(gtin)


def test_check_digit_is_the_same_for_every_padding() -> None:
    assert gs1_check_digit("692456188407") == gs1_check_digit("0692456188407") == 4


def test_check_digit_refuses_non_digits() -> None:
    with pytest.raises(ValueError, match="digits"):
        gs1_check_digit("12a")


def test_gtin14_padding() -> None:
    assert to_gtin14("6924561884074") == "06924561884074"


@pytest.mark.parametrize(
    ("payload", "chinese"),
    [
        ("692456188407", True),
        ("690123456789", True),
        ("699123456789", True),
        ("680123456789", True),
        ("681123456789", True),
        ("682123456789", False),
        ("689123456789", False),
        ("400638133393", False),
    ],
)
def test_chinese_prefixes_690_to_699_and_680_681(payload: str, chinese: bool) -> None:
    assert is_chinese_gtin13(payload + str(gs1_check_digit(payload))) is chinese


def test_chinese_gtin_needs_a_valid_check_digit() -> None:
    assert not is_chinese_gtin13("6924561884075")


def test_drug_standard_code() -> None:
    assert is_valid_drug_standard_code("86901234000012")
    assert not is_valid_drug_standard_code("86901234000013")
    assert not is_valid_drug_standard_code("96901234000010")


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("XA01ABA014A001010101445", True),
        ("ZA01AAA0001010101010101", True),
        ("CA01ABA014A001010101445", False),
        ("XA01ABA014A00101010144", False),
        ("xa01aba014a001010101445", False),
    ],
)
def test_med_list_code_shape(code: str, valid: bool) -> None:
    assert is_valid_med_list_code(code) is valid
