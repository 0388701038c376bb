"""The incremental state: O(1)-ish updates that always agree with the full recompute."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from credit_scorer.domain.credit_events import (
    BonusAwarded,
    CreditEvent,
    DayPassed,
    DeductionAdded,
    ObjectionDecided,
    ObjectionFiled,
    RepairApproved,
)
from credit_scorer.domain.grading import CreditList, GradeMark
from credit_scorer.domain.incremental import Changes, CreditState, apply, open_state
from credit_scorer.domain.indicators import IndicatorTree, Kind
from credit_scorer.domain.ledger import (
    Deduction,
    TransitionError,
    approve_repair,
    decide_objection,
    object_to,
)
from credit_scorer.domain.policy import Policy
from credit_scorer.domain.scoring import score
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

RowFactory = Callable[..., Deduction]
START = date(2025, 12, 1)
SINCE = date(2020, 1, 1)


def _open(tree: IndicatorTree, policy: Policy, *, as_of: date = START) -> CreditState:
    return open_state("H15030200001", agreement_from=SINCE, as_of=as_of, tree=tree, policy=policy)


def _run(
    state: CreditState, events: list[CreditEvent], tree: IndicatorTree, policy: Policy
) -> tuple[CreditState, list[Changes]]:
    changes = []
    for event in events:
        state, change = apply(state, event, tree, policy)
        changes.append(change)
    return state, changes


def test_replaying_a_deduction_is_a_no_op(
    tree: IndicatorTree, policy: Policy, make_row: RowFactory
) -> None:
    event = DeductionAdded(make_row("d1", "010101", START))
    once, first = apply(_open(tree, policy), event, tree, policy)
    twice, again = apply(once, event, tree, policy)
    assert twice == once
    assert first.note is None
    assert first.current.score == 90
    assert again.note is not None
    assert again.note.startswith("replay")
    assert not again.material
    assert again.marks == ()


def test_only_a_real_change_is_material(
    tree: IndicatorTree, policy: Policy, make_row: RowFactory
) -> None:
    state = _open(tree, policy)
    state, small = apply(state, DeductionAdded(make_row("d1", "010102", START)), tree, policy)
    assert small.current.score == 95
    assert not small.material
    state, big = apply(state, DeductionAdded(make_row("d2", "010102", START)), tree, policy)
    assert big.current.score == 90
    assert not big.material
    state, drop = apply(state, DeductionAdded(make_row("d3", "010101", START)), tree, policy)
    assert (drop.previous.grade, drop.current.grade) == ("A", "B")
    assert drop.grade_changed
    assert drop.tier_changed
    assert not drop.lists_changed
    assert drop.material
    assert drop.marks == (GradeMark(START, "B"),)


def test_an_objection_before_its_deduction_is_parked(
    tree: IndicatorTree, policy: Policy, make_row: RowFactory
) -> None:
    state, (parked, added, decided) = _run(
        _open(tree, policy),
        [
            ObjectionFiled("d1", START),
            DeductionAdded(make_row("d1", "010101", START)),
            ObjectionDecided("d1", accepted=False, decided_on=START),
        ],
        tree,
        policy,
    )
    assert parked.note is not None
    assert parked.note.startswith("parked")
    assert added.current.score == 100  # arrived already contested: does not count
    assert state.parked == {}
    assert decided.current.score == 90  # rejected: counts again


def test_an_accepted_objection_voids_the_deduction(
    tree: IndicatorTree, policy: Policy, make_row: RowFactory
) -> None:
    _state, changes = _run(
        _open(tree, policy),
        [
            DeductionAdded(make_row("d1", "010101", START)),
            ObjectionFiled("d1", START),
            ObjectionDecided("d1", accepted=True, decided_on=START),
            ObjectionFiled("d1", START),
        ],
        tree,
        policy,
    )
    assert [c.current.score for c in changes] == [90, 100, 100, 100]
    assert changes[-1].note is not None
    assert "voided" in changes[-1].note


def test_a_non_appealable_deduction_ignores_objections(
    tree: IndicatorTree, policy: Policy, make_row: RowFactory
) -> None:
    state, _ = apply(
        _open(tree, policy), DeductionAdded(make_row("f", "010403", START)), tree, policy
    )
    after, change = apply(state, ObjectionFiled("f", START), tree, policy)
    assert change.note is not None
    assert "not appealable" in change.note
    assert after.standing == state.standing


def test_expiry_on_the_day_it_happens(
    tree: IndicatorTree, policy: Policy, make_row: RowFactory
) -> None:
    row = make_row("d1", "040101", START)  # valid 180 days
    state, _ = apply(_open(tree, policy), DeductionAdded(row), tree, policy)
    state, change = apply(state, DeductionAdded(make_row("d2", "010101", START)), tree, policy)
    assert change.current.score == 89
    assert change.current.grade == "B"
    state, before = apply(state, DayPassed(row.expires_at - timedelta(days=1)), tree, policy)
    assert before.current.score == 89
    assert not before.material
    state, expired = apply(state, DayPassed(row.expires_at), tree, policy)
    assert expired.current.score == 90
    assert expired.current.grade == "A"
    assert expired.marks == (GradeMark(row.expires_at, "A"),)


def test_a_jump_over_many_days_records_every_grade_change(
    tree: IndicatorTree, policy: Policy, make_row: RowFactory
) -> None:
    state = _open(tree, policy)
    for event in (
        DeductionAdded(make_row("now", "010101", START)),
        DeductionAdded(make_row("later", "010402", date(2026, 2, 1), points=Decimal(15))),
    ):
        state, _ = apply(state, event, tree, policy)
    _, change = apply(state, DayPassed(date(2027, 6, 1)), tree, policy)
    assert change.marks == (
        GradeMark(date(2026, 2, 1), "C"),  # 100 - 10 - 15 = 75 when "later" starts
        GradeMark(date(2026, 12, 1), "B"),  # "now" expires: 85
        GradeMark(date(2027, 2, 1), "A"),  # "later" expires
    )
    assert not change.material  # A before, A after


def test_a_repair_takes_effect_on_1_january(
    tree: IndicatorTree, policy: Policy, make_row: RowFactory
) -> None:
    state, _ = apply(
        _open(tree, policy), DeductionAdded(make_row("d1", "010101", START)), tree, policy
    )
    state, approved = apply(state, RepairApproved("d1", date(2025, 12, 20)), tree, policy)
    assert approved.current.score == 90
    state, same_year = apply(state, DayPassed(date(2025, 12, 31)), tree, policy)
    assert same_year.current.score == 90
    _, next_year = apply(state, DayPassed(date(2026, 1, 1)), tree, policy)
    assert next_year.current.score == 100


def test_a_bonus_cannot_be_repaired_or_added_as_a_deduction(
    tree: IndicatorTree, policy: Policy, make_row: RowFactory
) -> None:
    bonus = make_row("b", "060101", START)
    with pytest.raises(ValueError, match="not a deduction indicator"):
        apply(_open(tree, policy), DeductionAdded(bonus), tree, policy)
    with pytest.raises(ValueError, match="not a bonus indicator"):
        apply(_open(tree, policy), BonusAwarded(make_row("d", "010101", START)), tree, policy)
    state, _ = apply(_open(tree, policy), BonusAwarded(bonus), tree, policy)
    _, change = apply(state, RepairApproved("b", START), tree, policy)
    assert change.note is not None
    assert "bonus" in change.note


def test_rows_of_another_subject_are_refused(
    tree: IndicatorTree, policy: Policy, make_row: RowFactory
) -> None:
    row = make_row("d", "010101", START, subject_id="P15030200007")
    with pytest.raises(ValueError, match="belongs to P15030200007"):
        apply(_open(tree, policy), DeductionAdded(row), tree, policy)


def test_time_does_not_run_backwards(tree: IndicatorTree, policy: Policy) -> None:
    state = _open(tree, policy)
    after, change = apply(state, DayPassed(START), tree, policy)
    assert after == state
    assert change.note is not None


def test_grading_starts_after_six_months_of_agreement(tree: IndicatorTree, policy: Policy) -> None:
    state = open_state(
        "H1", agreement_from=date(2025, 10, 31), as_of=START, tree=tree, policy=policy
    )
    assert state.standing.grade is None
    state, early = apply(state, DayPassed(date(2026, 4, 29)), tree, policy)
    assert early.current.grade is None
    _, graded = apply(state, DayPassed(date(2026, 5, 1)), tree, policy)
    assert graded.marks == (GradeMark(date(2026, 4, 30), "A"),)
    assert graded.grade_changed
    assert graded.tier_changed


def test_the_red_list_starts_after_a_whole_cycle_at_a(tree: IndicatorTree, policy: Policy) -> None:
    state = _open(tree, policy, as_of=date(2024, 12, 31))
    state, first = apply(state, DayPassed(date(2025, 12, 31)), tree, policy)
    assert CreditList.RED not in first.current.lists  # 2024 was not seen whole
    _, second = apply(state, DayPassed(date(2026, 1, 1)), tree, policy)
    assert second.current.lists == {CreditList.RED}
    assert second.lists_changed
    assert second.material


def test_entering_a_cycle_below_a_rules_out_the_red_list(
    tree: IndicatorTree, policy: Policy, make_row: RowFactory
) -> None:
    row = make_row("d", "010402", date(2024, 1, 2), points=Decimal(15))
    assert row.expires_at == date(2025, 1, 1)
    state = _open(tree, policy, as_of=date(2024, 12, 1))
    state, entered = apply(state, DeductionAdded(row), tree, policy)
    assert entered.current.grade == "B"
    _, change = apply(state, DayPassed(date(2026, 1, 1)), tree, policy)
    assert change.marks == (GradeMark(date(2025, 1, 1), "A"),)  # A all 2025, but entered at B
    assert CreditList.RED not in change.current.lists


def test_a_new_policy_version_re_derives_every_row(
    tree: IndicatorTree, policy: Policy, make_row: RowFactory
) -> None:
    fraud = make_row("f", "010403", date(2022, 12, 2), points=Decimal(1))
    assert fraud.expires_at == START  # 1095 days; the 3-year listing ends 2025-12-02
    state, _ = apply(_open(tree, policy), DeductionAdded(fraud), tree, policy)
    assert state.standing.lists == {CreditList.BLACK}  # veto expired, listing kept 3 years
    shorter = replace(policy, version="short-list", blacklist_years=1)
    _, change = apply(state, DayPassed(START + timedelta(days=1)), tree, shorter)
    assert change.current.lists == frozenset()
    assert change.lists_changed


def test_open_state_rebuilds_from_the_ledger(
    tree: IndicatorTree, policy: Policy, make_row: RowFactory
) -> None:
    rows = [make_row("a", "010101", START), make_row("b", "060101", START)]
    rebuilt = open_state(
        "H15030200001", agreement_from=SINCE, as_of=START, tree=tree, policy=policy, rows=rows
    )
    state = _open(tree, policy)
    state, _ = apply(state, DeductionAdded(rows[0]), tree, policy)
    state, _ = apply(state, BonusAwarded(rows[1]), tree, policy)
    assert rebuilt.standing == state.standing
    assert rebuilt.totals == state.totals


# --- the property: incremental == full recompute --------------------------------------

CODES = ["010101", "010102", "010102", "040101", "020302", "010403", "060101", "060202"]
IDS = [f"d{i}" for i in range(4)]


class Reference:
    """A deliberately naive ledger: a dict of rows and a list of parked events."""

    def __init__(self, tree: IndicatorTree) -> None:
        self.tree = tree
        self.rows: dict[str, Deduction] = {}
        self.parked: dict[str, list[CreditEvent]] = {}

    def feed(self, event: CreditEvent) -> None:
        match event:
            case DeductionAdded(row=row) | BonusAwarded(row=row):
                if row.deduction_id not in self.rows:
                    self.rows[row.deduction_id] = row
                    for parked in self.parked.pop(row.deduction_id, []):
                        self.feed(parked)
            case ObjectionFiled() | ObjectionDecided() | RepairApproved():
                if event.deduction_id not in self.rows:
                    self.parked.setdefault(event.deduction_id, []).append(event)
                    return
                row = self.rows[event.deduction_id]
                rule = self.tree.rule(row.indicator_code)
                try:
                    if isinstance(event, ObjectionFiled):
                        row = object_to(row, appealable=rule.appealable)
                    elif isinstance(event, ObjectionDecided):
                        row = decide_objection(row, accepted=event.accepted)
                    elif rule.kind is Kind.DEDUCTION:
                        row = approve_repair(row, approved_on=event.approved_on)
                except TransitionError:
                    return
                self.rows[row.deduction_id] = row
            case DayPassed():
                pass


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[date, Sequence[tuple[str, object]]]:
    agreement_from = START - timedelta(days=draw(st.integers(0, 300)))
    steps = draw(
        st.lists(
            st.one_of(
                st.tuples(
                    st.just("add"),
                    st.tuples(
                        st.sampled_from(IDS),
                        st.sampled_from(CODES),
                        st.integers(-200, 200),
                        st.sampled_from([None, Decimal("2.5"), Decimal("0.01"), Decimal(12)]),
                    ),
                ),
                st.tuples(st.just("object"), st.sampled_from(IDS)),
                st.tuples(st.just("decide"), st.tuples(st.sampled_from(IDS), st.booleans())),
                st.tuples(st.just("repair"), st.sampled_from(IDS)),
                st.tuples(st.just("day"), st.integers(0, 250)),
            ),
            max_size=30,
        )
    )
    return agreement_from, steps


def _event(
    step: tuple[str, object], as_of: date, tree: IndicatorTree, make_row: RowFactory
) -> CreditEvent:
    kind, arg = step
    match kind, arg:
        case "add", (str(deduction_id), str(code), int(offset), points):
            assert points is None or isinstance(points, Decimal)
            row = make_row(deduction_id, code, as_of + timedelta(days=offset), points=points)
            if tree.rule(code).kind is Kind.BONUS:
                return BonusAwarded(row)
            return DeductionAdded(row)
        case "object", str(deduction_id):
            return ObjectionFiled(deduction_id, as_of)
        case "decide", (str(deduction_id), bool(accepted)):
            return ObjectionDecided(deduction_id, accepted, as_of)
        case "repair", str(deduction_id):
            return RepairApproved(deduction_id, as_of)
        case "day", int(days):
            return DayPassed(as_of + timedelta(days=days))
    raise AssertionError(step)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_incremental_state_equals_the_full_recompute(
    data: st.DataObject, tree: IndicatorTree, policy: Policy, make_row: RowFactory
) -> None:
    agreement_from, steps = data.draw(scenarios())
    state = open_state(
        "H15030200001", agreement_from=agreement_from, as_of=START, tree=tree, policy=policy
    )
    history = [GradeMark(START, state.standing.grade)]
    reference = Reference(tree)
    for step in steps:
        event = _event(step, state.as_of, tree, make_row)
        previous = state
        state, changes = apply(state, event, tree, policy)
        reference.feed(event)
        history.extend(changes.marks)
        full = score(
            reference.rows.values(),
            tree,
            policy,
            state.as_of,
            agreement_from=agreement_from,
            grade_history=history,
        )
        assert state.rows == reference.rows
        assert state.standing == full.standing
        assert changes.material == (
            (previous.standing.grade, previous.standing.tier, previous.standing.lists)
            != (state.standing.grade, state.standing.tier, state.standing.lists)
        )
    rebuilt = open_state(
        "H15030200001",
        agreement_from=agreement_from,
        as_of=state.as_of,
        tree=tree,
        policy=policy,
        rows=reference.rows.values(),
        history=history,
    )
    assert rebuilt.standing == state.standing
