"""Does each code belong to a known product, and to the product being billed (串换)?"""

from tracecode_validator.domain.checkdigits import to_gtin14
from tracecode_validator.domain.rules.context import SaleContext, usable_scans
from tracecode_validator.domain.rules.hits import RuleCode, RuleHit
from tracecode_validator.domain.rules.policy import make_hit


def check_products(context: SaleContext) -> list[RuleHit]:
    """Flag codes the catalogue does not know and codes of another product than billed."""
    policy = context.policy
    hits: list[RuleHit] = []
    for scan in usable_scans(context):
        line = context.settlement.lines[scan.line]
        if scan.match is None:
            hits.append(
                make_hit(
                    RuleCode.UNKNOWN_PRODUCT_CODE,
                    policy,
                    line=scan.line,
                    code=scan.text,
                    evidence={"family": scan.code.family.value, "prefix": scan.code.prefix},
                )
            )
            continue
        product = scan.match.product
        evidence = {
            "billed_med_list_codg": line.med_list_codg,
            "billed_drug_prod_barc": line.drug_prod_barc,
            "code_med_list_codg": product.med_list_codg,
            "code_product_name": product.name,
        }
        if product.med_list_codg != line.med_list_codg:
            detail = (
                f"追溯码属于{product.med_list_codg}（{product.name}），结算为{line.med_list_codg}",
                f"the code belongs to {product.med_list_codg} ({product.name}), "
                f"billed as {line.med_list_codg}",
            )
        elif _barcode_disagrees(line.drug_prod_barc, product.gtins):
            detail = (
                f"结算商品条码{line.drug_prod_barc}不是{product.name}的条码",
                f"billed barcode {line.drug_prod_barc} is not a GTIN of {product.name}",
            )
        else:
            continue
        hits.append(
            make_hit(
                RuleCode.PRODUCT_MISMATCH,
                policy,
                line=scan.line,
                code=scan.text,
                evidence=evidence,
                detail=detail,
            )
        )
    return hits


def _barcode_disagrees(barcode: str | None, gtins: tuple[str, ...]) -> bool:
    # A product without catalogued GTINs gives nothing to compare the 69 code against.
    if not barcode or not gtins:
        return False
    return to_gtin14(barcode) not in {to_gtin14(g) for g in gtins}
