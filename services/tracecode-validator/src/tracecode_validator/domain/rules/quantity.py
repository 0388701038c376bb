"""Do the codes on a line account for what it bills, whole packs or split units (拆零)?"""

from tracecode_validator.domain.catalogue import PackLevel, Product
from tracecode_validator.domain.codes import ParsedCode, normalise
from tracecode_validator.domain.rules.context import SaleContext, SaleLine, usable_scans
from tracecode_validator.domain.rules.hits import RuleCode, RuleHit
from tracecode_validator.domain.rules.policy import make_hit

_SPLIT_ONE_CODE = (
    "拆零销售须扫描且仅扫描被拆包装的一个追溯码",
    "a split sale takes units from exactly one pack, so exactly one code is scanned",
)
_BAD_COUNT = ("销售数量须至少为1", "the quantity sold must be at least 1")


def check_quantities(context: SaleContext) -> list[RuleHit]:
    """Flag lines whose distinct codes do not match the count and forbidden split sales."""
    policy = context.policy
    hits: list[RuleHit] = []
    for index, line in enumerate(context.settlement.lines):
        if not line.drug_trac_codg:
            continue
        scans = zip(line.drug_trac_codg, line.scans, strict=True)
        distinct = {s.key if isinstance(s, ParsedCode) else normalise(t) for t, s in scans}
        evidence = {
            "trdn_flag": line.trdn_flag,
            "sel_retn_cnt": line.sel_retn_cnt,
            "distinct_codes": len(distinct),
        }
        detail: tuple[str, str] | None = None
        if line.sel_retn_cnt < 1:
            detail = _BAD_COUNT
        elif line.split and len(distinct) != 1:
            detail = _SPLIT_ONE_CODE
        elif not line.split and len(distinct) != line.sel_retn_cnt:
            detail = (
                f"整包销售{line.sel_retn_cnt}盒，扫描了{len(distinct)}个不同追溯码",
                f"{line.sel_retn_cnt} whole packs billed, {len(distinct)} distinct codes scanned",
            )
        if detail is not None:
            hits.append(
                make_hit(
                    RuleCode.QUANTITY_MISMATCH,
                    policy,
                    line=index,
                    evidence=evidence,
                    detail=detail,
                )
            )
    hits.extend(_outer_packs(context))
    hits.extend(_forbidden_splits(context))
    return hits


def _outer_packs(context: SaleContext) -> list[RuleHit]:
    """A middle-pack or case code stands for many boxes, so it cannot count as one pack."""
    return [
        make_hit(
            RuleCode.QUANTITY_MISMATCH,
            context.policy,
            line=scan.line,
            code=scan.text,
            evidence={"pack_level": scan.match.pack_level.value},
            detail=(
                "该追溯码是中包装或外箱码，请逐盒扫描销售包装",
                f"this is a {scan.match.pack_level.value}-level code; scan each box sold",
            ),
        )
        for scan in usable_scans(context)
        if scan.match is not None and scan.match.pack_level is not PackLevel.BOX
    ]


def _forbidden_splits(context: SaleContext) -> list[RuleHit]:
    hits: list[RuleHit] = []
    for index, line in enumerate(context.settlement.lines):
        if not line.split:
            continue
        product = _product_of(context, index, line)
        if context.policy.split_sales_allowed and (product is None or product.split_allowed):
            continue
        hits.append(
            make_hit(
                RuleCode.SPLIT_NOT_ALLOWED,
                context.policy,
                line=index,
                evidence={
                    "med_list_codg": line.med_list_codg,
                    "forbidden_by": "policy"
                    if product is None or product.split_allowed
                    else "catalogue",
                },
            )
        )
    return hits


def _product_of(context: SaleContext, index: int, line: SaleLine) -> Product | None:
    """Prefer the product the scanned code names; the billed code is the fallback."""
    for scan in usable_scans(context):
        if scan.line == index and scan.match is not None:
            return scan.match.product
    return context.catalogue.by_med_list_code(line.med_list_codg)
