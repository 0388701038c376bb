"""Is the insured person entitled to this sale, and not stockpiling the same drug?"""

from datetime import date
from fractions import Fraction

from tracecode_validator.domain.rules.context import Eligibility, PriorPurchase, SaleContext
from tracecode_validator.domain.rules.hits import RuleCode, RuleHit
from tracecode_validator.domain.rules.policy import make_hit

_INELIGIBLE = {
    Eligibility.NOT_ENROLLED: ("未参保", "not enrolled"),
    Eligibility.SUSPENDED: ("暂停参保", "suspended"),
    Eligibility.DECEASED: ("已死亡", "deceased"),
}


def check_eligibility(context: SaleContext) -> list[RuleHit]:
    """Refuse only on a positive ineligible status: no projection at all is not a reason."""
    status = context.eligibility
    if status is None or status is Eligibility.INSURED:
        return []
    return [
        make_hit(
            RuleCode.PERSON_NOT_ELIGIBLE,
            context.policy,
            evidence={"status": status.value},
            detail=_INELIGIBLE[status],
        )
    ]


def check_frequency(context: SaleContext) -> list[RuleHit]:
    """Warn when supply still held from earlier purchases exceeds the tolerated overlap.

    Buying D days' supply while L days are left means holding D + L days for D days of
    need; beyond ``supply_tolerance`` x D it is over-frequent (with 1.2 and a 30-day fill,
    a refill with more than 6 days left). Without a days-of-supply on the line, the most
    recent earlier purchase of the drug stands in for it.
    """
    settlement = context.settlement
    if settlement.person is None:
        return []
    today = settlement.setl_time.date()
    hits: list[RuleHit] = []
    for index, line in enumerate(settlement.lines):
        earlier = sorted(
            (
                p
                for p in context.recent_purchases
                if p.med_list_codg == line.med_list_codg and p.start <= today
            ),
            key=lambda p: p.start,
        )
        if not earlier:
            continue
        supply = line.days_of_supply or earlier[-1].days_supply
        leftover = sum(_days_left(p, today) for p in earlier)
        if leftover + supply <= _exact(context.policy.supply_tolerance) * supply:
            continue
        hits.append(
            make_hit(
                RuleCode.OVER_FREQUENT_PURCHASE,
                context.policy,
                line=index,
                evidence={
                    "med_list_codg": line.med_list_codg,
                    "leftover_days": leftover,
                    "days_of_supply": supply,
                    "tolerance": context.policy.supply_tolerance,
                    "earlier": [
                        {"start": p.start.isoformat(), "days_supply": p.days_supply}
                        for p in earlier
                    ],
                },
            )
        )
    return hits


def _days_left(purchase: PriorPurchase, today: date) -> int:
    return max(0, purchase.days_supply - (today - purchase.start).days)


def _exact(tolerance: float) -> Fraction:
    # 1.2 as a float times 30 is not 36; the bureau means the decimal it wrote.
    return Fraction(str(tolerance))
