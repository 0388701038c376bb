"""ID number vectors: check characters, 15 -> 18 upgrade, normalisation, repair hints."""

from __future__ import annotations

from datetime import date

import pytest
from enrollment_matcher.domain import ids
from enrollment_matcher.domain.ids import IdState


@pytest.mark.parametrize(
    ("raw", "state", "value"),
    [
        ("11010519491231002X", IdState.VALID, "11010519491231002X"),
        ("11010519491231002x", IdState.VALID, "11010519491231002X"),
        ("１５０３０２１９９００１０１１２３１", IdState.VALID, "150302199001011231"),
        (" 150302 1990 0101 1231 ", IdState.VALID, "150302199001011231"),
        ("150302900101123", IdState.UPGRADED, "150302199001011231"),
        ("150302199001011232", IdState.INVALID, "150302199001011232"),
        ("150302199013011231", IdState.INVALID, "150302199013011231"),
        ("15030219900101123", IdState.INVALID, "15030219900101123"),
        ("", IdState.MISSING, ""),
        (None, IdState.MISSING, ""),
    ],
)
def test_parse_vectors(raw: str | None, state: IdState, value: str) -> None:
    parsed = ids.parse(raw)
    assert (parsed.state, parsed.value) == (state, value)


def test_birth_date_and_sex_are_read_from_the_number() -> None:
    parsed = ids.parse("11010519491231002X")
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.gender == "2"  # sequence 002 is even
    assert ids.parse("150302199001011231").gender == "1"


def test_a_birth_date_after_today_is_invalid() -> None:
    future = "150302203001011230"
    body = future[:17]
    number = body + ids.check_char(body)
    assert ids.parse(number, today=date(2026, 1, 1)).state is IdState.INVALID


def test_check_character_of_the_standard_example() -> None:
    assert ids.check_char("11010519491231002") == "X"
    assert ids.upgrade_15("110105491231002") == "11010519491231002X"


def test_repair_suggests_the_swapped_digits_first() -> None:
    true = "150302199001011231"
    slipped = true[:10] + true[11] + true[10] + true[12:]
    assert ids.parse(slipped).state is IdState.INVALID
    hints = ids.repair_suggestions(slipped)
    assert true in hints
    assert all(ids.parse(h).state is IdState.VALID for h in hints)
    assert hints.index(true) < 4


def test_repair_of_a_wrong_check_character() -> None:
    assert "150302199001011231" in ids.repair_suggestions("150302199001011235")


def test_no_repair_for_garbage() -> None:
    assert ids.repair_suggestions("abc") == []


def test_one_slip_apart() -> None:
    assert ids.one_slip_apart("150302199001011231", "150302199001011321")
    assert ids.one_slip_apart("150302199001011231", "150302199001011239")
    assert not ids.one_slip_apart("150302199001011231", "150302199001011231")
    assert not ids.one_slip_apart("150302199001011231", "150302199101011321")
