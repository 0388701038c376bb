"""The full recompute: a subject's score as a fold over its whole ledger on one day.

This is the reference definition of the score. The incremental state (`incremental`) must
always agree with it; the service uses it to rebuild a subject's state from its file, to
answer "what was the score on date X", and to list the deductions behind a score.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from credit_scorer.domain.dates import add_years
from credit_scorer.domain.grading import (
    GradeMark,
    Standing,
    capped_totals,
    held_a_whole_cycle,
    is_graded,
    pick_veto,
    points_score,
    standing,
)
from credit_scorer.domain.indicators import IndicatorTree, Kind
from credit_scorer.domain.ledger import Deduction, counts, in_force
from credit_scorer.domain.policy import Policy

TOP_DEDUCTIONS = 5


@dataclass(frozen=True, slots=True)
class Score:
    """A standing with the detail behind it: capped totals and the largest deductions."""

    as_of: date
    standing: Standing
    per_indicator: Mapping[str, Decimal]
    top_deductions: tuple[Deduction, ...]


def vetoes(row: Deduction, as_of: date, policy: Policy) -> bool:
    """A counting row of a veto event type forces grade D."""
    return row.event_type in policy.veto_event_types and counts(row, as_of)


def blacklists(row: Deduction, as_of: date, policy: Policy) -> bool:
    """A fraud-type row keeps the subject on the black list for N years from its date.

    The listing runs on its own clock (from the listing date), not the row's validity, and
    ends early only if the row is voided or repaired.
    """
    return (
        row.event_type in policy.blacklist_event_types
        and row.effective_from <= as_of < add_years(row.effective_from, policy.blacklist_years)
        and in_force(row, as_of)
    )


def indicator_totals(rows: Iterable[Deduction], as_of: date) -> dict[str, Decimal]:
    """Raw (uncapped) points per indicator of the rows counting on `as_of`."""
    totals: dict[str, Decimal] = {}
    for row in rows:
        if counts(row, as_of):
            totals[row.indicator_code] = totals.get(row.indicator_code, Decimal(0)) + row.points
    return totals


def score(
    rows: Iterable[Deduction],
    tree: IndicatorTree,
    policy: Policy,
    as_of: date,
    *,
    agreement_from: date,
    grade_history: Sequence[GradeMark] = (),
    top: int = TOP_DEDUCTIONS,
) -> Score:
    """Fold the ledger into a score on `as_of` under one tree and one policy version.

    `grade_history` is the subject's recorded grade history; only the red list reads it.
    """
    ledger = tuple(rows)
    totals = indicator_totals(ledger, as_of)
    result = standing(
        score=points_score(tree, policy, totals),
        veto=pick_veto(r for r in ledger if vetoes(r, as_of, policy)),
        blacklisted=any(blacklists(r, as_of, policy) for r in ledger),
        graded=is_graded(agreement_from, as_of, policy),
        red_last_cycle=held_a_whole_cycle(grade_history, as_of.year - 1),
        policy=policy,
    )
    deductions = [
        r for r in ledger if counts(r, as_of) and tree.rule(r.indicator_code).kind is Kind.DEDUCTION
    ]
    deductions.sort(key=lambda r: (-r.points, -r.effective_from.toordinal(), r.deduction_id))
    return Score(
        as_of=as_of,
        standing=result,
        per_indicator=capped_totals(tree, totals),
        top_deductions=tuple(deductions[:top]),
    )
