"""Normalisation of names and addresses: width, spaces, traditional forms, pinyin."""

from __future__ import annotations

from datetime import date

from enrollment_matcher.domain import text
from enrollment_matcher.domain.ids import IdState
from enrollment_matcher.domain.records import Record, Rejection, parse_row


def test_traditional_and_simplified_names_normalise_alike() -> None:
    assert text.normalise_name("張偉") == text.normalise_name("张伟") == "张伟"
    assert text.normalise_name("劉麗華") == "刘丽华"


def test_spaces_full_width_and_invisible_characters_are_dropped() -> None:
    assert text.normalise_name(" 张\u3000 伟\u200b ") == "张伟"
    assert text.clean("ＡＢＣ１２３") == "ABC123"


def test_minority_name_dots_are_unified() -> None:
    assert text.normalise_name("阿依古丽•买买提") == text.normalise_name("阿依古丽・买买提")


def test_homophones_share_their_pinyin() -> None:
    assert text.pinyin("张伟") == text.pinyin("张玮") == ("zhang", "wei")
    assert text.pinyin("") == ()


def test_jaro_winkler_bounds() -> None:
    assert text.jaro_winkler("zhangwei", "zhangwei") == 1.0
    assert text.jaro_winkler("", "zhangwei") == 0.0
    assert 0.9 < text.jaro_winkler("zhangwei", "zhangwie") < 1.0


ROW = {
    "record_id": "R1",
    "source": "insurance",
    "certno": "150302900101123",
    "psn_name": "張 三",
    "gender": "1",
    "birth_date": "1990-01-01",
    "hukou_admdvs": "150302001002",
    "status": "insured_local",
    "status_date": "2026-01-01",
}


def test_a_row_becomes_a_normalised_record() -> None:
    record = parse_row(ROW, today=date(2026, 11, 1))
    assert isinstance(record, Record)
    assert record.certno == "150302199001011231"
    assert record.id_state is IdState.UPGRADED
    assert record.name == "张三"
    assert record.linking_id == record.certno


def test_a_birth_date_contradicting_the_number_makes_it_someone_elses() -> None:
    record = parse_row({**ROW, "birth_date": "2019-05-06"}, today=date(2026, 11, 1))
    assert isinstance(record, Record)
    assert not record.id_consistent
    assert record.linking_id == ""
    assert record.birth_date == date(2019, 5, 6)


def test_each_bad_field_is_reported() -> None:
    bad = parse_row(
        {
            **ROW,
            "record_id": "",
            "source": "tax",
            "gender": "m",
            "birth_date": "1990-02-30",
            "status": "alive",
            "hukou_admdvs": "1503",
        },
        today=date(2026, 11, 1),
    )
    assert isinstance(bad, list)
    assert {r.field for r in bad} == {
        "record_id",
        "source",
        "gender",
        "birth_date",
        "status",
        "hukou_admdvs",
    }
    assert all(isinstance(r, Rejection) and r.reason for r in bad)


def test_an_invalid_number_is_kept_with_repair_hints() -> None:
    record = parse_row({**ROW, "certno": "150302199001011321"}, today=date(2026, 11, 1))
    assert isinstance(record, Record)
    assert record.id_state is IdState.INVALID
    assert "150302199001011231" in record.repair_hints
