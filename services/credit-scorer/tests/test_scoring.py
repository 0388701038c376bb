"""The full fold: caps, validity, row states, bonuses, grade boundaries, veto, tiers, lists."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from credit_scorer.domain.grading import (
    CreditList,
    GradeMark,
    Tier,
    Veto,
    grade_for,
    held_a_whole_cycle,
)
from credit_scorer.domain.indicators import IndicatorTree
from credit_scorer.domain.ledger import Deduction, approve_repair, decide_objection, object_to
from credit_scorer.domain.policy import Policy
from credit_scorer.domain.scoring import Score, score

RowFactory = Callable[..., Deduction]
SINCE = date(2020, 1, 1)  # long under agreement: graded
DAY = date(2026, 6, 15)


def _score(
    rows: list[Deduction],
    tree: IndicatorTree,
    policy: Policy,
    as_of: date = DAY,
    *,
    agreement_from: date = SINCE,
    history: tuple[GradeMark, ...] = (),
) -> Score:
    return score(rows, tree, policy, as_of, agreement_from=agreement_from, grade_history=history)


def test_clean_file_scores_the_base(tree: IndicatorTree, policy: Policy) -> None:
    result = _score([], tree, policy)
    assert result.standing.score == 100
    assert result.standing.grade == "A"
    assert result.standing.tier is Tier.EXEMPT
    assert result.standing.lists == frozenset()
    assert result.per_indicator == {}
    assert result.top_deductions == ()


def test_deductions_are_capped_per_indicator(
    tree: IndicatorTree, policy: Policy, make_row: RowFactory
) -> None:
    rows = [make_row(f"r{i}", "010102", date(2026, 2, i + 1)) for i in range(5)]  # 5 x -5
    rows.append(make_row("setup", "010101", date(2026, 3, 1)))  # -10, cap 10
    rows.append(make_row("setup2", "010101", date(2026, 3, 2)))
    result = _score(rows, tree, policy)
    assert result.per_indicator == {"010102": Decimal(20), "010101": Decimal(10)}
    assert result.standing.score == 70
    assert result.standing.grade == "C"


def test_rows_count_only_inside_their_validity(
    tree: IndicatorTree, policy: Policy, make_row: RowFactory
) -> None:
    row = make_row("r", "010101", date(2026, 1, 10))  # valid 365 days
    assert row.expires_at == date(2027, 1, 10)
    assert _score([row], tree, policy, date(2026, 1, 9)).standing.score == 100
    assert _score([row], tree, policy, date(2026, 1, 10)).standing.score == 90
    assert _score([row], tree, policy, date(2027, 1, 9)).standing.score == 90
    assert _score([row], tree, policy, date(2027, 1, 10)).standing.score == 100


def test_objected_and_voided_rows_do_not_count(
    tree: IndicatorTree, policy: Policy, make_row: RowFactory
) -> None:
    row = make_row("r", "010101", date(2026, 1, 10))
    objected = object_to(row, appealable=True)
    assert _score([objected], tree, policy).standing.score == 100
    assert _score([decide_objection(objected, accepted=True)], tree, policy).standing.score == 100
    assert _score([decide_objection(objected, accepted=False)], tree, policy).standing.score == 90


def test_a_repair_applies_from_the_next_cycle(
    tree: IndicatorTree, policy: Policy, make_row: RowFactory
) -> None:
    repaired = approve_repair(make_row("r", "010101", date(2026, 1, 10)), approved_on=DAY)
    assert repaired.repaired_from == date(2027, 1, 1)
    assert _score([repaired], tree, policy, date(2026, 12, 31)).standing.score == 90
    assert _score([repaired], tree, policy, date(2027, 1, 1)).standing.score == 100


def test_bonuses_are_capped_per_indicator_and_in_total(
    tree: IndicatorTree, policy: Policy, make_row: RowFactory
) -> None:
    rows = [make_row("d", "010402", date(2026, 1, 5))]  # -10
    rows += [make_row(f"c{i}", "060101", date(2026, 1, 6 + i)) for i in range(2)]  # +2 cap 2
    assert _score(rows, tree, policy).standing.score == 92
    rows += [make_row(f"h{i}", "060202", date(2026, 2, 1 + i)) for i in range(3)]  # +2 cap 4
    result = _score(rows, tree, policy)
    assert result.per_indicator["060101"] == 2
    assert result.per_indicator["060202"] == 4
    assert result.standing.score == 95  # bonuses 6, total bonus cap 5


def test_the_score_is_clamped_to_0_and_100(
    tree: IndicatorTree, policy: Policy, make_row: RowFactory
) -> None:
    assert _score([make_row("c", "060101", DAY)], tree, policy).standing.score == 100
    heavy = ["010402", "020302", "020101", "020102", "010201"]
    rows = [make_row(f"{code}-{i}", code, date(2026, 1, 1 + i)) for code in heavy for i in range(6)]
    result = _score(rows, tree, policy)
    assert result.standing.score == 0
    assert result.standing.grade == "D"


@pytest.mark.parametrize(
    ("deducted", "grade"),
    [
        ("0", "A"),
        ("10", "A"),
        ("10.01", "B"),
        ("20", "B"),
        ("20.01", "C"),
        ("35", "C"),
        ("35.01", "D"),
    ],
)
def test_grade_boundaries_are_inclusive(
    deducted: str, grade: str, tree: IndicatorTree, policy: Policy, make_row: RowFactory
) -> None:
    points = Decimal(deducted)
    rows = []
    if points:  # split over two indicators with cap 30 each
        half = points / 2
        rows = [
            make_row("a", "010402", DAY, points=half),
            make_row("b", "020302", DAY, points=points - half),
        ]
    result = _score(rows, tree, policy)
    assert result.standing.score == 100 - points
    assert result.standing.grade == grade


def test_grade_for_at_exact_thresholds(policy: Policy) -> None:
    assert grade_for(Decimal("90"), policy) == "A"
    assert grade_for(Decimal("89.99"), policy) == "B"
    assert grade_for(Decimal("80"), policy) == "B"
    assert grade_for(Decimal("79.99"), policy) == "C"
    assert grade_for(Decimal("65"), policy) == "C"
    assert grade_for(Decimal("64.99"), policy) == "D"


@pytest.mark.parametrize(
    ("grade", "tier"),
    [("A", Tier.EXEMPT), ("B", Tier.NORMAL), ("C", Tier.INTENSIFIED), ("D", Tier.KEY)],
)
def test_the_tier_follows_the_grade(
    grade: str, tier: Tier, tree: IndicatorTree, policy: Policy, make_row: RowFactory
) -> None:
    points = {"A": "5", "B": "15", "C": "25", "D": "30"}[grade]
    rows = [make_row("a", "010402", DAY, points=Decimal(points))]
    if grade == "D":
        rows.append(make_row("b", "020302", DAY, points=Decimal(10)))
    standing = _score(rows, tree, policy).standing
    assert (standing.grade, standing.tier) == (grade, tier)
    assert (CreditList.KEY_SUPERVISION in standing.lists) == (grade == "D")


def test_a_veto_forces_d_whatever_the_score(
    tree: IndicatorTree, policy: Policy, make_row: RowFactory
) -> None:
    fraud = make_row("f", "010403", date(2026, 3, 1), points=Decimal(1))
    standing = _score([fraud], tree, policy).standing
    assert standing.score == 99
    assert standing.grade == "D"
    assert standing.veto == Veto("fraud_confirmed", "f")
    assert standing.lists == {CreditList.BLACK, CreditList.KEY_SUPERVISION}
    assert standing.tier is Tier.KEY


def test_joint_punishment_listing_is_a_veto(
    tree: IndicatorTree, policy: Policy, make_row: RowFactory
) -> None:
    listing = make_row("j", "010404", date(2026, 3, 1))
    standing = _score([listing], tree, policy).standing
    assert standing.veto == Veto("joint_punishment_listing", "j")
    assert standing.grade == "D"


def test_the_earliest_veto_is_reported(
    tree: IndicatorTree, policy: Policy, make_row: RowFactory
) -> None:
    rows = [
        make_row("late", "010403", date(2026, 4, 1)),
        make_row("early", "010404", DAY.replace(month=2)),
    ]
    assert _score(rows, tree, policy).standing.veto == Veto("joint_punishment_listing", "early")


def test_the_black_list_is_kept_three_years_from_the_listing_date(
    tree: IndicatorTree, policy: Policy, make_row: RowFactory
) -> None:
    fraud = make_row("f", "010403", date(2026, 3, 1))
    assert fraud.expires_at == date(2029, 2, 28)  # 1095 days, across 29 Feb 2028
    on_last_veto_day = _score([fraud], tree, policy, date(2029, 2, 27)).standing
    assert on_last_veto_day.grade == "D"
    after_expiry = _score([fraud], tree, policy, date(2029, 2, 28)).standing
    assert after_expiry.veto is None
    assert after_expiry.grade == "A"
    assert after_expiry.lists == {CreditList.BLACK}
    assert _score([fraud], tree, policy, date(2029, 3, 1)).standing.lists == frozenset()


def test_a_repaired_fraud_row_leaves_the_black_list_next_cycle(
    tree: IndicatorTree, policy: Policy, make_row: RowFactory
) -> None:
    fraud = approve_repair(make_row("f", "010403", date(2026, 3, 1)), approved_on=date(2027, 5, 1))
    assert CreditList.BLACK in _score([fraud], tree, policy, date(2027, 12, 31)).standing.lists
    assert _score([fraud], tree, policy, date(2028, 1, 1)).standing.lists == frozenset()


def test_a_subject_under_six_months_of_agreement_is_not_graded(
    tree: IndicatorTree, policy: Policy, make_row: RowFactory
) -> None:
    rows = [make_row("a", "010402", DAY, points=Decimal(30)), make_row("b", "020302", DAY)]
    young = _score(rows, tree, policy, date(2026, 7, 14), agreement_from=date(2026, 1, 15))
    assert young.standing.score == 60
    assert (young.standing.grade, young.standing.tier) == (None, None)
    assert young.standing.lists == frozenset()
    graded = _score(rows, tree, policy, date(2026, 7, 15), agreement_from=date(2026, 1, 15))
    assert graded.standing.grade == "D"


def test_the_red_list_reads_the_recorded_grade_history() -> None:
    a_all_year = (GradeMark(date(2024, 7, 1), "A"),)
    assert held_a_whole_cycle(a_all_year, 2025)
    assert not held_a_whole_cycle(a_all_year, 2024)  # not graded A on 1 January 2024
    dipped = (*a_all_year, GradeMark(date(2025, 5, 1), "B"), GradeMark(date(2025, 6, 1), "A"))
    assert not held_a_whole_cycle(dipped, 2025)
    assert held_a_whole_cycle(dipped, 2026)
    assert held_a_whole_cycle(dipped, 2025, through=date(2025, 4, 30))
    entered_b = (GradeMark(date(2024, 7, 1), "B"), GradeMark(date(2025, 1, 1), "A"))
    assert not held_a_whole_cycle(entered_b, 2025)
    assert not held_a_whole_cycle((GradeMark(date(2024, 7, 1), None),), 2025)


def test_red_list_membership_for_the_following_cycle(
    tree: IndicatorTree, policy: Policy, make_row: RowFactory
) -> None:
    history = (GradeMark(date(2024, 7, 1), "A"),)
    assert _score([], tree, policy, history=history).standing.lists == {CreditList.RED}
    fraud = make_row("f", "010403", date(2026, 3, 1))
    vetoed = _score([fraud], tree, policy, history=history).standing
    assert CreditList.RED not in vetoed.lists


def test_top_deductions_carry_their_evidence(
    tree: IndicatorTree, policy: Policy, make_row: RowFactory
) -> None:
    rows = [
        make_row("small", "040101", date(2026, 1, 3)),
        make_row("big", "020302", date(2026, 1, 4)),
        make_row("mid-old", "010102", date(2026, 1, 1)),
        make_row("mid-new", "010102", date(2026, 2, 1)),
        make_row("bonus", "060101", date(2026, 2, 1)),
        object_to(make_row("contested", "020302", date(2026, 1, 4)), appealable=True),
    ]
    top = score(rows, tree, policy, DAY, agreement_from=SINCE, top=3).top_deductions
    assert [r.deduction_id for r in top] == ["big", "mid-new", "mid-old"]
    assert top[0].evidence == {"case": "big"}
