"""Each precedence rule of `domain.status`, one case at a time."""

from __future__ import annotations

from datetime import date

from enrollment_matcher.domain.status import Fact, enrollment_rate, resolve

AS_OF = date(2026, 11, 1)


def F(source: str, status: str, on: str | None) -> Fact:
    return Fact(source, status, date.fromisoformat(on) if on else None)


def test_no_facts_is_uninsured_without_a_reason() -> None:
    standing = resolve([], as_of=AS_OF)
    assert (standing.status, standing.reason, standing.deceased) == ("uninsured", None, False)


def test_death_ends_enrollment_from_its_date_even_beside_newer_insurance() -> None:
    standing = resolve(
        [
            F("insurance", "insured_local", "2026-10-01"),
            F("civil_affairs", "deceased", "2026-03-02"),
        ],
        as_of=AS_OF,
    )
    assert (standing.status, standing.reason) == ("uninsured", "deceased")
    assert standing.deceased
    assert standing.deceased_on == date(2026, 3, 2)
    assert standing.target_groups == ()


def test_a_newer_insured_record_outranks_an_older_lapse() -> None:
    standing = resolve(
        [F("insurance", "lapsed", "2025-01-01"), F("insurance", "insured_province", "2026-01-01")],
        as_of=AS_OF,
    )
    assert (standing.status, standing.reason) == ("insured_province", None)


def test_a_newer_lapse_outranks_an_older_insured_record_and_is_personal() -> None:
    standing = resolve(
        [F("insurance", "insured_local", "2025-01-01"), F("insurance", "lapsed", "2026-02-01")],
        as_of=AS_OF,
    )
    assert (standing.status, standing.reason) == ("uninsured", "personal")
    assert "lapsed_this_year" in standing.target_groups


def test_a_lapse_of_last_year_is_not_in_this_years_group() -> None:
    standing = resolve([F("insurance", "lapsed", "2025-06-01")], as_of=AS_OF)
    assert "lapsed_this_year" not in standing.target_groups


def test_on_the_same_date_the_insurance_platform_and_then_local_win() -> None:
    same_day = [
        F("social_security", "lapsed", "2026-05-01"),
        F("insurance", "insured_other_province", "2026-05-01"),
        F("insurance", "insured_local", "2026-05-01"),
    ]
    assert resolve(same_day, as_of=AS_OF).status == "insured_local"


def test_a_newer_reason_explains_an_uninsured_person() -> None:
    for status in ("enlisted", "in_custody", "emigrated"):
        standing = resolve(
            [F("insurance", "lapsed", "2025-01-01"), F("military", status, "2025-06-01")],
            as_of=AS_OF,
        )
        assert (standing.status, standing.reason) == ("uninsured", status)


def test_a_reason_older_than_the_last_coverage_is_overtaken() -> None:
    standing = resolve(
        [
            F("justice", "in_custody", "2020-01-01"),
            F("insurance", "insured_local", "2024-01-01"),
            F("insurance", "lapsed", "2026-01-01"),
        ],
        as_of=AS_OF,
    )
    assert standing.reason == "personal"


def test_the_newest_of_several_reasons_wins() -> None:
    standing = resolve(
        [F("military", "enlisted", "2024-01-01"), F("public_security", "emigrated", "2025-01-01")],
        as_of=AS_OF,
    )
    assert standing.reason == "emigrated"


def test_insured_persons_carry_no_reason_even_with_an_old_one_on_file() -> None:
    standing = resolve(
        [F("military", "enlisted", "2026-01-01"), F("insurance", "insured_local", "2026-02-01")],
        as_of=AS_OF,
    )
    assert (standing.status, standing.reason) == ("insured_local", None)


def test_target_groups() -> None:
    standing = resolve(
        [F("civil_affairs", "low_income", "2026-01-01"), F("social_security", "", "2026-01-01")],
        as_of=AS_OF,
        birth_date=date(2012, 5, 1),
        hukou_admdvs="610802001001",
        address="杭锦旗巴音嘎查3号",
        local_prefix="1506",
    )
    assert standing.target_groups == (
        "low_income",
        "students_children",
        "farmers_herders",
        "migrant_workers",
    )


def test_a_student_record_counts_as_students_children_at_any_age() -> None:
    standing = resolve(
        [F("education", "student", "2026-09-01")], as_of=AS_OF, birth_date=date(2003, 1, 1)
    )
    assert standing.target_groups == ("students_children",)


def test_unknown_statuses_are_ignored() -> None:
    assert resolve([F("health", "alive", "2026-01-01")], as_of=AS_OF).status == "uninsured"


def test_the_enrollment_rate_leaves_out_the_dead_and_those_away() -> None:
    assert enrollment_rate(persons=100, insured=76, deceased=10, away=10) == (80, 0.95)
    assert enrollment_rate(persons=3, insured=0, deceased=3, away=0) == (0, None)
