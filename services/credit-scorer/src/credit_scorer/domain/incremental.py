"""The incremental credit state: one event in, the new standing and what changed out.

Recomputing a subject from its whole ledger on every event would cost O(rows); the state
instead keeps per-indicator running totals, the rows that veto or blacklist, and the next
date on which each row's contribution can change, so an event touches only its own row and a
passing day touches only the rows due that day. The score work per event is O(1) in the
ledger size (the immutable maps are copied, a C-level copy of one subject's rows). The full
fold in `scoring` stays the definition: the property tests check that both always agree.

Events may arrive out of order: an objection, decision or repair for a deduction not seen
yet is parked and replayed, in arrival order, when the deduction arrives. Replaying an event
already applied is a no-op, so `Changes` reports a change only when one really happened.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from credit_scorer.domain import grading
from credit_scorer.domain.credit_events import (
    BonusAwarded,
    CreditEvent,
    DayPassed,
    DeductionAdded,
    ObjectionDecided,
    ObjectionFiled,
    RepairApproved,
    RowEvent,
)
from credit_scorer.domain.dates import add_months, add_years, cycle_start
from credit_scorer.domain.grading import GradeMark, Standing
from credit_scorer.domain.indicators import IndicatorTree, Kind
from credit_scorer.domain.ledger import (
    Deduction,
    TransitionError,
    approve_repair,
    counts,
    decide_objection,
    object_to,
)
from credit_scorer.domain.policy import Policy
from credit_scorer.domain.scoring import blacklists, vetoes


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one row currently adds to the state (remembered so it can be taken back)."""

    counts: bool
    vetoes: bool
    blacklists: bool


_NOTHING = Contribution(counts=False, vetoes=False, blacklists=False)


@dataclass(frozen=True, slots=True)
class CreditState:
    """A subject's credit position on `as_of`; create it with `open_state`."""

    subject_id: str
    agreement_from: date
    as_of: date
    policy_version: str
    rows: Mapping[str, Deduction]
    parked: Mapping[str, tuple[RowEvent, ...]]
    totals: Mapping[str, Decimal]
    contributions: Mapping[str, Contribution]
    vetoing: frozenset[str]
    blacklisting: frozenset[str]
    due: tuple[tuple[date, str], ...]
    next_due: Mapping[str, date]
    cycle_all_a: bool
    red_last_cycle: bool
    standing: Standing


@dataclass(frozen=True, slots=True)
class Changes:
    """The effect of one event; `note` says why nothing was applied, if so."""

    previous: Standing
    current: Standing
    marks: tuple[GradeMark, ...]
    note: str | None = None

    @property
    def grade_changed(self) -> bool:
        return self.previous.grade != self.current.grade

    @property
    def lists_changed(self) -> bool:
        return self.previous.lists != self.current.lists

    @property
    def tier_changed(self) -> bool:
        return self.previous.tier != self.current.tier

    @property
    def material(self) -> bool:
        """Whether `credit.grade-changed.v1` must be emitted (never for a score-only move)."""
        return self.grade_changed or self.lists_changed or self.tier_changed


def _next_change(row: Deduction, as_of: date, policy: Policy) -> date | None:
    """The first day after `as_of` on which the row's contribution may differ."""
    dates = [row.effective_from, row.expires_at]
    if row.repaired_from is not None:
        dates.append(row.repaired_from)
    if row.event_type in policy.blacklist_event_types:
        dates.append(add_years(row.effective_from, policy.blacklist_years))
    return min((d for d in dates if d > as_of), default=None)


class _Draft:
    """Mutable working copy of a state for the duration of one `apply`."""

    def __init__(self, state: CreditState, tree: IndicatorTree, policy: Policy) -> None:
        self.tree, self.policy = tree, policy
        self.subject_id, self.agreement_from = state.subject_id, state.agreement_from
        self.as_of = state.as_of
        self.rows = dict(state.rows)
        self.parked = dict(state.parked)
        self.totals = dict(state.totals)
        self.contributions = dict(state.contributions)
        self.vetoing, self.blacklisting = set(state.vetoing), set(state.blacklisting)
        self.due = list(state.due)
        self.next_due = dict(state.next_due)
        self.cycle_all_a, self.red_last_cycle = state.cycle_all_a, state.red_last_cycle
        self.current = state.standing
        self.marks: list[GradeMark] = []
        if policy.version != state.policy_version:
            for deduction_id in self.rows:  # new parameters: re-derive every contribution
                self.reconcile(deduction_id)

    def reconcile(self, deduction_id: str) -> None:
        """Take back the row's old contribution, add its current one, reschedule it."""
        row = self.rows[deduction_id]
        old = self.contributions.pop(deduction_id, _NOTHING)
        new = Contribution(
            counts=counts(row, self.as_of),
            vetoes=vetoes(row, self.as_of, self.policy),
            blacklists=blacklists(row, self.as_of, self.policy),
        )
        if new.counts != old.counts:
            code = row.indicator_code
            total = self.totals.get(code, Decimal(0)) + (row.points if new.counts else -row.points)
            if total:
                self.totals[code] = total
            else:
                self.totals.pop(code, None)
        for flagged, members in ((new.vetoes, self.vetoing), (new.blacklists, self.blacklisting)):
            if flagged:
                members.add(deduction_id)
            else:
                members.discard(deduction_id)
        if new != _NOTHING:
            self.contributions[deduction_id] = new
        self._reschedule(deduction_id, _next_change(row, self.as_of, self.policy))

    def _reschedule(self, deduction_id: str, day: date | None) -> None:
        old = self.next_due.pop(deduction_id, None)
        if old is not None:
            del self.due[bisect_left(self.due, (old, deduction_id))]
        if day is not None:
            self.next_due[deduction_id] = day
            insort(self.due, (day, deduction_id))

    def observe(self) -> None:
        """Recompute the standing; record a grade mark when the grade moved."""
        new = grading.standing(
            score=grading.points_score(self.tree, self.policy, self.totals),
            veto=grading.pick_veto(self.rows[i] for i in self.vetoing),
            blacklisted=bool(self.blacklisting),
            graded=grading.is_graded(self.agreement_from, self.as_of, self.policy),
            red_last_cycle=self.red_last_cycle,
            policy=self.policy,
        )
        if new.grade != self.current.grade:
            self.marks.append(GradeMark(self.as_of, new.grade))
        if new.grade != "A":
            self.cycle_all_a = False
        self.current = new

    def add_row(self, row: Deduction, kind: Kind) -> str | None:
        if row.subject_id != self.subject_id:
            raise ValueError(f"row {row.deduction_id} belongs to {row.subject_id}")
        if self.tree.rule(row.indicator_code).kind is not kind:
            raise ValueError(f"indicator {row.indicator_code} is not a {kind} indicator")
        if row.deduction_id in self.rows:
            return f"replay: deduction {row.deduction_id} is already in the ledger"
        self.rows[row.deduction_id] = row
        for event in self.parked.pop(row.deduction_id, ()):
            self.row_event(event)
        self.reconcile(row.deduction_id)
        return None

    def row_event(self, event: RowEvent) -> str | None:
        row = self.rows.get(event.deduction_id)
        if row is None:
            self.parked[event.deduction_id] = (*self.parked.get(event.deduction_id, ()), event)
            return f"parked: deduction {event.deduction_id} has not arrived yet"
        rule = self.tree.rule(row.indicator_code)
        try:
            match event:
                case ObjectionFiled():
                    row = object_to(row, appealable=rule.appealable)
                case ObjectionDecided(accepted=accepted):
                    row = decide_objection(row, accepted=accepted)
                case RepairApproved(approved_on=approved_on):
                    if rule.kind is Kind.BONUS:
                        return f"not applicable: {row.deduction_id} is a bonus"
                    row = approve_repair(row, approved_on=approved_on)
        except TransitionError as exc:
            return f"not applicable: {exc}"
        self.rows[row.deduction_id] = row
        self.reconcile(row.deduction_id)
        return None

    def advance(self, today: date) -> str | None:
        """Walk every day on which something can change, in order, up to `today`."""
        if today <= self.as_of:
            return f"not applicable: {today} is not after {self.as_of}"
        graded_on = add_months(self.agreement_from, self.policy.min_agreement_months)
        while True:
            next_cycle = cycle_start(self.as_of.year + 1)
            steps = [d for d in (next_cycle, graded_on) if self.as_of < d <= today]
            if self.due and self.due[0][0] <= today:
                steps.append(self.due[0][0])
            if not steps:
                break
            step = min(steps)
            if step == next_cycle:
                self.red_last_cycle = self.cycle_all_a
                self.cycle_all_a = self.current.grade == "A"
            self.as_of = step
            while self.due and self.due[0][0] <= step:
                self.reconcile(self.due[0][1])
            self.observe()
        self.as_of = today
        return None

    def freeze(self, previous: Standing, note: str | None) -> tuple[CreditState, Changes]:
        state = CreditState(
            subject_id=self.subject_id,
            agreement_from=self.agreement_from,
            as_of=self.as_of,
            policy_version=self.policy.version,
            rows=self.rows,
            parked=self.parked,
            totals=self.totals,
            contributions=self.contributions,
            vetoing=frozenset(self.vetoing),
            blacklisting=frozenset(self.blacklisting),
            due=tuple(self.due),
            next_due=self.next_due,
            cycle_all_a=self.cycle_all_a,
            red_last_cycle=self.red_last_cycle,
            standing=self.current,
        )
        return state, Changes(previous, self.current, tuple(self.marks), note)


def open_state(
    subject_id: str,
    *,
    agreement_from: date,
    as_of: date,
    tree: IndicatorTree,
    policy: Policy,
    rows: Iterable[Deduction] = (),
    history: Sequence[GradeMark] = (),
) -> CreditState:
    """A state on `as_of`, fresh or rebuilt from a subject's ledger and grade history.

    A fresh subject's first grade mark is `GradeMark(as_of, state.standing.grade)`; the
    caller records it like any other mark.
    """
    blank = CreditState(
        subject_id=subject_id,
        agreement_from=agreement_from,
        as_of=as_of,
        policy_version=policy.version,
        rows={},
        parked={},
        totals={},
        contributions={},
        vetoing=frozenset(),
        blacklisting=frozenset(),
        due=(),
        next_due={},
        cycle_all_a=grading.held_a_whole_cycle(history, as_of.year, through=as_of),
        red_last_cycle=grading.held_a_whole_cycle(history, as_of.year - 1),
        standing=Standing(policy.base_score, None, None, frozenset(), None),
    )
    draft = _Draft(blank, tree, policy)
    for row in rows:
        draft.add_row(row, tree.rule(row.indicator_code).kind)
    draft.observe()
    state, _ = draft.freeze(blank.standing, None)
    return state


def apply(
    state: CreditState, event: CreditEvent, tree: IndicatorTree, policy: Policy
) -> tuple[CreditState, Changes]:
    """Apply one event under the tree and policy in force on its day."""
    draft = _Draft(state, tree, policy)
    match event:
        case DeductionAdded(row=row):
            note = draft.add_row(row, Kind.DEDUCTION)
        case BonusAwarded(row=row):
            note = draft.add_row(row, Kind.BONUS)
        case DayPassed(today=today):
            note = draft.advance(today)
        case _:
            note = draft.row_event(event)
    draft.observe()
    return draft.freeze(state.standing, note)
