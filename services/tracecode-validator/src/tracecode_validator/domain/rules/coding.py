"""Is there a code on every drug line, and is each one a code at all (无码不结)?"""

from tracecode_validator.domain.codes import CodeError, CodeFamily, CodeWarning
from tracecode_validator.domain.rules.context import SaleContext
from tracecode_validator.domain.rules.hits import RuleCode, RuleHit
from tracecode_validator.domain.rules.policy import make_hit

_UNREGISTERED = (
    "企业自定义码的前缀未在目录中登记",
    "the prefix of this manufacturer code is not registered in the catalogue",
)


def check_coding(context: SaleContext) -> list[RuleHit]:
    """Flag drug lines without codes and scans that are not valid trace codes."""
    settlement, policy = context.settlement, context.policy
    hits: list[RuleHit] = []
    for index, line in enumerate(settlement.lines):
        exempt = (settlement.institution, line.med_list_codg) in context.no_code_exempt
        if not line.drug_trac_codg and line.is_drug and not exempt:
            hits.append(
                make_hit(
                    RuleCode.MISSING_TRACE_CODE,
                    policy,
                    line=index,
                    evidence={"med_list_codg": line.med_list_codg},
                )
            )
        for text, scan in zip(line.drug_trac_codg, line.scans, strict=True):
            if isinstance(scan, CodeError):
                hits.append(
                    make_hit(
                        RuleCode.MALFORMED_TRACE_CODE,
                        policy,
                        line=index,
                        code=text,
                        evidence={"reason": scan.reason.value, "ai": scan.ai},
                        detail=(scan.message_zh, scan.message_en),
                    )
                )
            elif scan.family is CodeFamily.MANUFACTURER:
                if context.catalogue.identify(scan) is None:
                    hits.append(
                        make_hit(
                            RuleCode.MALFORMED_TRACE_CODE,
                            policy,
                            line=index,
                            code=text,
                            evidence={"reason": "unregistered_manufacturer_code", "ai": None},
                            detail=_UNREGISTERED,
                        )
                    )
            elif CodeWarning.NON_8_PREFIX in scan.warnings and policy.warn_on_non_8_prefix:
                hits.append(make_hit(RuleCode.UNUSUAL_TRACE_CODE, policy, line=index, code=text))
    return hits
