"""Are the institution and the practitioners allowed to be paid (credit and 12 points)?"""

from yibao.pii import mask_certno

from tracecode_validator.domain.rules.context import CreditGrade, PractitionerStatus, SaleContext
from tracecode_validator.domain.rules.hits import RuleCode, RuleHit
from tracecode_validator.domain.rules.policy import make_hit

_ROLES = {"prescriber": ("处方医师", "prescriber"), "pharmacist": ("审方药师", "pharmacist")}


def check_institution(context: SaleContext) -> list[RuleHit]:
    """Send sales of a grade-D or blacklisted institution to a reviewer."""
    credit = context.credit
    if credit is None or not (credit.blacklisted or credit.grade is CreditGrade.D):
        return []
    detail = (
        ("在失信联合惩戒名单中", "is on the black list")
        if credit.blacklisted
        else ("信用等级为D", "has credit grade D")
    )
    return [
        make_hit(
            RuleCode.INSTITUTION_UNDER_REVIEW,
            context.policy,
            evidence={
                "grade": None if credit.grade is None else credit.grade.value,
                "blacklisted": credit.blacklisted,
            },
            detail=detail,
        )
    ]


def check_practitioners(context: SaleContext) -> list[RuleHit]:
    """Refuse what a suspended or terminated practitioner prescribes or dispenses.

    Emergencies are exempt (医保发〔2024〕23号), so an emergency settlement is never held up.
    """
    settlement = context.settlement
    if settlement.emergency:
        return []
    hits: list[RuleHit] = []
    for role, practitioner in (
        ("prescriber", settlement.prescriber),
        ("pharmacist", settlement.pharmacist),
    ):
        status = context.practitioners.get(practitioner) if practitioner else None
        if practitioner is None or status is None or status is PractitionerStatus.ACTIVE:
            continue
        hits.append(
            make_hit(
                RuleCode.PRACTITIONER_SUSPENDED,
                context.policy,
                evidence={
                    "role": role,
                    "practitioner": mask_certno(practitioner),
                    "status": status.value,
                },
                detail=_ROLES[role],
            )
        )
    return hits
