"""What the service stores about a subject after each change: the fold, a manual grade on
top of it, how long a black listing lasts, and the next day anything can change by itself.

`scoring.score` stays the definition of the score. This module adds what the service needs
around it: an approved manual override (four-eyes, valid to the end of its cycle), the date
the black listing ends (published with the list), and `next_change_on` — the first day after
`as_of` on which the same ledger could give a different standing (a row starts, expires or
is repaired, a listing lapses, the subject becomes gradable, a cycle or a policy version
begins, an override ends). A clock sweep re-evaluates exactly the subjects due that day, so a
grade that changes with time alone is still published, and published once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from credit_scorer.domain.dates import add_months, add_years, cycle_start
from credit_scorer.domain.grading import GradeMark, Standing, overridden
from credit_scorer.domain.indicators import IndicatorTree
from credit_scorer.domain.ledger import Deduction
from credit_scorer.domain.policy import Grade, Policy, policy_for
from credit_scorer.domain.scoring import Score, blacklists, score


@dataclass(frozen=True, slots=True)
class Override:
    """An approved manual grade, in force on [approved_on, valid_until)."""

    override_id: str
    grade: Grade
    approved_on: date
    valid_until: date


@dataclass(frozen=True, slots=True)
class Evaluation:
    """A subject's score on `as_of` and what the service publishes and schedules from it."""

    score: Score
    standing: Standing
    override_id: str | None
    black_until: date | None
    next_change_on: date | None


def override_in_force(overrides: Iterable[Override], as_of: date) -> Override | None:
    """The latest approved override covering `as_of` (overrides in approval order)."""
    found: Override | None = None
    for item in overrides:
        if item.approved_on <= as_of < item.valid_until:
            found = item
    return found


def black_until(rows: Iterable[Deduction], as_of: date, policy: Policy) -> date | None:
    """The day the black listing ends: the latest end among the rows listing the subject now."""
    ends = []
    for row in rows:
        if blacklists(row, as_of, policy):
            end = add_years(row.effective_from, policy.blacklist_years)
            if row.repaired_from is not None:
                end = min(end, row.repaired_from)
            ends.append(end)
    return max(ends, default=None)


def next_change_on(
    rows: Iterable[Deduction],
    as_of: date,
    *,
    agreement_from: date,
    policy: Policy,
    policies: Sequence[Policy],
    overrides: Iterable[Override],
) -> date | None:
    """The first day after `as_of` on which the standing may move without a new event."""
    candidates = [
        cycle_start(as_of.year + 1),
        add_months(agreement_from, policy.min_agreement_months),
        *(p.effective_from for p in policies),
    ]
    for row in rows:
        candidates += [row.effective_from, row.expires_at]
        if row.repaired_from is not None:
            candidates.append(row.repaired_from)
        if row.event_type in policy.blacklist_event_types:
            candidates.append(add_years(row.effective_from, policy.blacklist_years))
    for item in overrides:
        candidates += [item.approved_on, item.valid_until]
    return min((d for d in candidates if d > as_of), default=None)


def evaluate(
    rows: Sequence[Deduction],
    tree: IndicatorTree,
    policies: Sequence[Policy],
    as_of: date,
    *,
    agreement_from: date,
    grade_history: Sequence[GradeMark] = (),
    overrides: Sequence[Override] = (),
) -> Evaluation:
    """Fold the ledger under the policy in force on `as_of`, then apply an override."""
    policy = policy_for(as_of, policies)
    folded = score(
        rows, tree, policy, as_of, agreement_from=agreement_from, grade_history=grade_history
    )
    override = override_in_force(overrides, as_of)
    standing = folded.standing if override is None else overridden(folded.standing, override.grade)
    return Evaluation(
        score=folded,
        standing=standing,
        override_id=None if override is None else override.override_id,
        black_until=black_until(rows, as_of, policy),
        next_change_on=next_change_on(
            rows,
            as_of,
            agreement_from=agreement_from,
            policy=policy,
            policies=policies,
            overrides=overrides,
        ),
    )
