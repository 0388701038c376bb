"""Deciding a settlement: every rule in a fixed order, one status, the records to persist.

Codes are consumed when the outcome is approved, approved_with_warnings or
pending_review. Holding them during review is deliberate: otherwise a second counter
could sell the same box while a reviewer looks, and the "one box, one sale" guarantee
would depend on reviewer speed. A reviewer's rejection gives the units back
(``returns.undo_hold``). A rejected settlement changes no record.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from tracecode_validator.domain.registry import CodeRecord
from tracecode_validator.domain.rules.coding import check_coding
from tracecode_validator.domain.rules.context import SaleContext
from tracecode_validator.domain.rules.dispensing import Dispensed, dispense
from tracecode_validator.domain.rules.hits import Action, RuleHit
from tracecode_validator.domain.rules.parties import check_institution, check_practitioners
from tracecode_validator.domain.rules.person import check_eligibility, check_frequency
from tracecode_validator.domain.rules.product import check_products
from tracecode_validator.domain.rules.quantity import check_quantities


class DecisionStatus(StrEnum):
    APPROVED = "approved"
    APPROVED_WITH_WARNINGS = "approved_with_warnings"
    PENDING_REVIEW = "pending_review"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer, its reasons, and the state change to commit with it.

    ``records`` are the new records of the codes this sale consumes and ``dispensed`` the
    units each line took from each pack (kept by the service so returns can refer to
    them); both are empty when the settlement is rejected.
    """

    status: DecisionStatus
    hits: tuple[RuleHit, ...]
    records: tuple[CodeRecord, ...]
    dispensed: tuple[Dispensed, ...]

    @property
    def alerts(self) -> tuple[RuleHit, ...]:
        """Hits to publish as tracecode.alerted, whatever the outcome."""
        return tuple(hit for hit in self.hits if hit.alert)


def decide(context: SaleContext) -> Decision:
    """Run the rules over one settlement and say what happens to it and to its codes."""
    dispensing = dispense(context)
    hits = (
        *check_coding(context),
        *check_products(context),
        *check_quantities(context),
        *dispensing.hits,
        *check_eligibility(context),
        *check_frequency(context),
        *check_institution(context),
        *check_practitioners(context),
    )
    status = _status_of(hits)
    if status is DecisionStatus.REJECTED:
        return Decision(status, hits, (), ())
    return Decision(status, hits, tuple(dispensing.records.values()), dispensing.dispensed)


def _status_of(hits: Sequence[RuleHit]) -> DecisionStatus:
    """The strongest action wins: reject, then review, then warn."""
    actions = {hit.action for hit in hits}
    if Action.REJECT in actions:
        return DecisionStatus.REJECTED
    if Action.REVIEW in actions:
        return DecisionStatus.PENDING_REVIEW
    if Action.WARN in actions:
        return DecisionStatus.APPROVED_WITH_WARNINGS
    return DecisionStatus.APPROVED
