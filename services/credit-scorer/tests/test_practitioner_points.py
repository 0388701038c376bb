"""The national 12-point system (医保发〔2024〕23号): bands, suspension, termination, reset."""

from __future__ import annotations

from datetime import date

import pytest
from credit_scorer.domain.practitioner import (
    Band,
    PointsEntry,
    PractitionerStatus,
    Responsibility,
    Status,
    points_for,
    record_points,
    status_on,
)

CERT = "150302199001011231"


def _entry(
    points: int,
    on: date,
    months: int | None = None,
    institution: str = "H15030200001",
) -> PointsEntry:
    return PointsEntry(CERT, points, on, "违规", suspension_months=months, institution=institution)


@pytest.mark.parametrize(
    ("band", "responsibility", "points"),
    [
        (Band.MINOR, Responsibility.GENERAL, 1),
        (Band.MINOR, Responsibility.PRIMARY, 3),
        (Band.GENERAL, Responsibility.GENERAL, 4),
        (Band.GENERAL, Responsibility.IMPORTANT, 5),
        (Band.GENERAL, Responsibility.PRIMARY, 6),
        (Band.SERIOUS, Responsibility.IMPORTANT, 8),
        (Band.FRAUD, Responsibility.GENERAL, 10),
        (Band.FRAUD, Responsibility.PRIMARY, 12),
    ],
)
def test_points_by_band_and_responsibility(
    band: Band, responsibility: Responsibility, points: int
) -> None:
    assert points_for(band, responsibility) == points


def test_cooperation_lowers_and_intent_raises_one_band() -> None:
    assert points_for(Band.SERIOUS, Responsibility.PRIMARY, cooperated=True) == 6
    assert points_for(Band.SERIOUS, Responsibility.GENERAL, intent_or_refusal=True) == 10
    both = points_for(
        Band.GENERAL, Responsibility.IMPORTANT, cooperated=True, intent_or_refusal=True
    )
    assert both == 5


def test_band_shifts_are_clamped() -> None:
    assert points_for(Band.MINOR, Responsibility.GENERAL, cooperated=True) == 1
    assert points_for(Band.FRAUD, Responsibility.PRIMARY, intent_or_refusal=True) == 12


def test_the_contract_example() -> None:
    history = [_entry(6, date(2026, 1, 20))]
    status = record_points(history, _entry(4, date(2026, 3, 2), months=3))
    assert status == PractitionerStatus(
        certno=CERT,
        year_points=10,
        status=Status.SUSPENDED,
        suspended_until=date(2026, 6, 2),
        banned_until=None,
    )


def test_four_then_six_on_the_same_day() -> None:
    status = record_points([_entry(4, date(2026, 3, 2))], _entry(6, date(2026, 3, 2), months=3))
    assert (status.year_points, status.status) == (10, Status.SUSPENDED)
    assert status.suspended_until == date(2026, 6, 2)


def test_below_nine_stays_active() -> None:
    status = record_points([_entry(4, date(2026, 3, 2))], _entry(4, date(2026, 4, 1)))
    assert (status.year_points, status.status, status.suspended_until) == (8, Status.ACTIVE, None)


def test_suspension_months_are_clamped_to_month_end() -> None:
    status = record_points([], _entry(9, date(2026, 8, 31), months=6))
    assert status.suspended_until == date(2027, 2, 28)


def test_only_the_entry_crossing_nine_suspends() -> None:
    history = [_entry(9, date(2026, 2, 1), months=1)]
    later = record_points(history, _entry(1, date(2026, 5, 1), months=6))
    assert (later.year_points, later.status, later.suspended_until) == (10, Status.ACTIVE, None)


def test_crossing_nine_needs_the_bureaus_suspension_length() -> None:
    with pytest.raises(ValueError, match="need suspension_months"):
        record_points([_entry(5, date(2026, 2, 1))], _entry(4, date(2026, 3, 1)))


def test_a_suspension_ends_on_its_date() -> None:
    history = [_entry(9, date(2026, 3, 2), months=3)]
    assert status_on(CERT, history, date(2026, 6, 1)).status is Status.SUSPENDED
    back = status_on(CERT, history, date(2026, 6, 2))
    assert (back.status, back.suspended_until, back.year_points) == (Status.ACTIVE, None, 9)


def test_a_suspension_outlives_the_yearly_reset() -> None:
    history = [_entry(9, date(2026, 11, 15), months=3)]
    january = status_on(CERT, history, date(2027, 1, 10))
    assert (january.year_points, january.status) == (0, Status.SUSPENDED)
    assert january.suspended_until == date(2027, 2, 15)


def test_points_reset_on_1_january() -> None:
    history = [_entry(8, date(2026, 12, 31))]
    status = record_points(history, _entry(8, date(2027, 1, 1)))
    assert (status.year_points, status.status) == (8, Status.ACTIVE)


def test_twelve_accumulated_terminates_with_a_one_year_ban() -> None:
    history = [_entry(9, date(2026, 2, 1), months=2)]
    status = record_points(history, _entry(5, date(2026, 3, 10)))
    assert status == PractitionerStatus(CERT, 12, Status.TERMINATED, None, date(2027, 3, 10))


def test_twelve_at_once_terminates_with_a_three_year_ban() -> None:
    status = record_points([], _entry(12, date(2026, 3, 10)))
    assert status == PractitionerStatus(CERT, 12, Status.TERMINATED, None, date(2029, 3, 10))


def test_termination_is_final_until_re_registration() -> None:
    history = [_entry(12, date(2026, 3, 10))]
    assert status_on(CERT, history, date(2030, 1, 1)).status is Status.TERMINATED


def test_the_year_total_is_capped_at_twelve() -> None:
    history = [_entry(10, date(2026, 1, 5), months=1)]
    status = record_points(history, _entry(10, date(2026, 2, 5)))
    assert status.year_points == 12
    assert status.banned_until == date(2027, 2, 5)


def test_status_is_per_person_across_institutions() -> None:
    history = [_entry(5, date(2026, 1, 5), institution="H15030200001")]
    status = record_points(
        history, _entry(5, date(2026, 2, 5), months=2, institution="P15030200007")
    )
    assert (status.year_points, status.status) == (10, Status.SUSPENDED)


def test_a_backdated_entry_is_folded_in_date_order() -> None:
    history = [_entry(5, date(2026, 5, 1), months=4)]
    status = record_points(history, _entry(4, date(2026, 2, 1)))
    assert status.year_points == 9
    assert status.suspended_until == date(2026, 9, 1)  # the May entry crossed nine


def test_another_persons_history_is_refused() -> None:
    other = PointsEntry("150302199202021234", 3, date(2026, 1, 1), "违规")
    with pytest.raises(ValueError, match="mixes other persons"):
        record_points([other], _entry(3, date(2026, 2, 1)))


@pytest.mark.parametrize(("points", "months"), [(0, None), (13, None), (9, 0), (9, 7)])
def test_entries_are_validated(points: int, months: int | None) -> None:
    with pytest.raises(ValueError, match="must be"):
        PointsEntry(CERT, points, date(2026, 1, 1), "违规", suspension_months=months)
