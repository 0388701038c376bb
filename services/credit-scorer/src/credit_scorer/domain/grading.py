"""From points to consequences: score arithmetic, grade, supervision tier and lists.

Shared by the full fold (`scoring`) and the incremental state (`incremental`) so both turn
the same per-indicator totals into the same standing — the property the tests check.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum

from credit_scorer.domain.dates import add_months, cycle_start
from credit_scorer.domain.indicators import IndicatorTree, Kind
from credit_scorer.domain.ledger import Deduction
from credit_scorer.domain.policy import GRADED, Grade, Policy

SCORE_FLOOR = Decimal(0)
SCORE_CEILING = Decimal(100)


class Tier(StrEnum):
    """Supervision intensity that follows the grade."""

    EXEMPT = "exempt"  # A: no routine inspection, green channel (faster review)
    NORMAL = "normal"  # B: normal inspection frequency
    INTENSIFIED = "intensified"  # C: more inspections, interview, deadline rectification
    KEY = "key"  # D: key-supervision list, flying-inspection (飞检) target


class CreditList(StrEnum):
    """The published lists a subject can be on."""

    RED = "red"
    BLACK = "black"
    KEY_SUPERVISION = "key_supervision"


TIERS: Mapping[Grade, Tier] = {
    "A": Tier.EXEMPT,
    "B": Tier.NORMAL,
    "C": Tier.INTENSIFIED,
    "D": Tier.KEY,
}


@dataclass(frozen=True, slots=True)
class Veto:
    """The ledger row that forces grade D (一票否决)."""

    event_type: str
    deduction_id: str


@dataclass(frozen=True, slots=True)
class GradeMark:
    """A grade as recorded on a day: the subject's grade history is a list of these."""

    on: date
    grade: Grade | None


@dataclass(frozen=True, slots=True)
class Standing:
    """What the service publishes: a change here is what `credit.grade-changed.v1` reports."""

    score: Decimal
    grade: Grade | None
    tier: Tier | None
    lists: frozenset[CreditList]
    veto: Veto | None


def capped_totals(tree: IndicatorTree, totals: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Each indicator's raw total limited to its per-cycle cap."""
    return {code: min(raw, tree.rule(code).cap) for code, raw in totals.items()}


def points_score(tree: IndicatorTree, policy: Policy, totals: Mapping[str, Decimal]) -> Decimal:
    """base − Σ capped deductions + (Σ capped bonuses, itself capped), clamped to 0..100."""
    deducted = Decimal(0)
    awarded = Decimal(0)
    for code, capped in capped_totals(tree, totals).items():
        if tree.rule(code).kind is Kind.BONUS:
            awarded += capped
        else:
            deducted += capped
    raw = policy.base_score - deducted + min(awarded, policy.bonus_cap)
    return max(SCORE_FLOOR, min(SCORE_CEILING, raw))


def grade_for(score: Decimal, policy: Policy) -> Grade:
    """The highest grade whose threshold the score reaches (thresholds are inclusive)."""
    for grade in GRADED:
        if score >= policy.grade_thresholds[grade]:
            return grade
    return "D"


def is_graded(agreement_from: date, as_of: date, policy: Policy) -> bool:
    """A subject needs the policy's minimum months under agreement before it is graded."""
    return as_of >= add_months(agreement_from, policy.min_agreement_months)


def pick_veto(rows: Iterable[Deduction]) -> Veto | None:
    """The earliest vetoing row (ties by id), so the reported reason is deterministic."""
    first = min(rows, key=lambda r: (r.effective_from, r.deduction_id), default=None)
    return None if first is None else Veto(first.event_type, first.deduction_id)


def held_a_whole_cycle(
    history: Sequence[GradeMark], year: int, through: date | None = None
) -> bool:
    """Red-list test: graded A entering the cycle and never recorded otherwise during it.

    `history` is in recording order. It is the grade as recorded at the time, not as it would
    be recomputed with hindsight: a late deduction does not rewrite a past red-list decision.
    `through` stops the test early, for a cycle still running.
    """
    start, last = cycle_start(year), date(year, 12, 31)
    if through is not None:
        last = min(last, through)
    entering = [m for m in history if m.on < start]
    if not entering or entering[-1].grade != "A":
        return False
    return all(m.grade == "A" for m in history if start <= m.on <= last)


def standing(
    *,
    score: Decimal,
    veto: Veto | None,
    blacklisted: bool,
    graded: bool,
    red_last_cycle: bool,
    policy: Policy,
) -> Standing:
    """Combine the parts; a veto or a listing ends red-list membership at once."""
    grade: Grade | None = None
    if graded:
        grade = "D" if veto is not None else grade_for(score, policy)
    lists: set[CreditList] = set()
    if blacklisted:
        lists.add(CreditList.BLACK)
    if grade == "D":
        lists.add(CreditList.KEY_SUPERVISION)
    if red_last_cycle and veto is None and not blacklisted:
        lists.add(CreditList.RED)
    return Standing(
        score=score,
        grade=grade,
        tier=None if grade is None else TIERS[grade],
        lists=frozenset(lists),
        veto=veto,
    )


def overridden(current: Standing, grade: Grade) -> Standing:
    """A standing with a manually approved grade: the tier and key-supervision list follow
    the grade given; the black and red lists stay what the ledger says."""
    lists = set(current.lists) - {CreditList.KEY_SUPERVISION}
    if grade == "D":
        lists.add(CreditList.KEY_SUPERVISION)
    return replace(current, grade=grade, tier=TIERS[grade], lists=frozenset(lists))
