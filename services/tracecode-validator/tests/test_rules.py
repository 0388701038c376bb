"""Each rule firing and not firing, observed through ``decide`` as the service calls it."""

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from tracecode_validator.domain.decision import Decision, DecisionStatus, decide
from tracecode_validator.domain.registry import (
    CodeRecord,
    CodeState,
    SaleStamp,
    block,
    sell_split,
    sell_whole,
)
from tracecode_validator.domain.rules.context import (
    CreditGrade,
    Eligibility,
    InstitutionCredit,
    PractitionerStatus,
    PriorPurchase,
    SaleContext,
    SaleLine,
)
from tracecode_validator.domain.rules.hits import Action, RuleCode, RuleHit, Severity
from tracecode_validator.domain.rules.policy import RulePolicy
from tracecode_validator.domain.rules.table import RULES

Context = Callable[..., SaleContext]
Stocked = Callable[..., dict[str, CodeRecord]]

PHARMACY, HOSPITAL = "P15030200007", "H15030200001"
ASPIRIN = "XA01ABA014A001010101445"
INSULIN = "XA10ABA001B002020202020"
VALSARTAN = "XC09CAC007A001010101999"
HERBAL = "ZA01AAA0001010101010101"
GS = "\x1d"
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone(timedelta(hours=8)))
EARLIER = NOW - timedelta(days=3)
CONTRACT_CODES = {
    "missing_trace_code",
    "malformed_trace_code",
    "unknown_product_code",
    "product_mismatch",
    "quantity_mismatch",
    "duplicate_sale",
    "split_overrun",
    "split_not_allowed",
    "not_in_stock",
    "code_blocked",
    "person_not_eligible",
    "over_frequent_purchase",
    "institution_under_review",
    "practitioner_suspended",
}


def aspirin(n: int) -> str:
    return f"8123456{n:013d}"


def insulin(n: int) -> str:
    return f"8234567{n:013d}"


def whole(med: str, *codes: str, count: int | None = None, barcode: str | None = None) -> SaleLine:
    return SaleLine(
        med_list_codg=med,
        trdn_flag=0,
        sel_retn_cnt=len(codes) if count is None else count,
        drug_trac_codg=codes,
        drug_prod_barc=barcode,
    )


def split(med: str, code: str, units: int) -> SaleLine:
    return SaleLine(med_list_codg=med, trdn_flag=1, sel_retn_cnt=units, drug_trac_codg=(code,))


def hits(decision: Decision, rule: RuleCode) -> list[RuleHit]:
    return [hit for hit in decision.hits if hit.rule is rule]


def only(decision: Decision, rule: RuleCode) -> RuleHit:
    found = hits(decision, rule)
    assert len(found) == 1, decision.hits
    return found[0]


def test_the_rule_book_has_the_contract_codes_and_complete_wording() -> None:
    assert {code.value for code in RuleCode} >= CONTRACT_CODES
    assert set(RULES) == set(RuleCode)
    for rule, spec in RULES.items():
        assert spec.rule is rule
        assert spec.message_zh
        assert spec.message_en
        assert spec.when


@pytest.fixture
def clean(make_context: Context, stocked: Stocked) -> Decision:
    return decide(make_context(whole(ASPIRIN, aspirin(1)), records=stocked(aspirin(1))))


def test_a_clean_sale_has_no_hits(clean: Decision) -> None:
    assert (clean.status, clean.hits) == (DecisionStatus.APPROVED, ())


# missing_trace_code


def test_a_drug_line_without_codes_is_rejected(make_context: Context) -> None:
    decision = decide(make_context(whole(ASPIRIN, count=1)))
    hit = only(decision, RuleCode.MISSING_TRACE_CODE)
    assert (hit.action, hit.line, hit.drug_trac_codg) == (Action.REJECT, 0, None)
    assert ASPIRIN in hit.message_en
    assert ASPIRIN in hit.message_zh
    assert decision.status is DecisionStatus.REJECTED


def test_no_code_list_and_non_drug_lines_need_no_code(make_context: Context) -> None:
    exempt = frozenset({(PHARMACY, ASPIRIN)})
    legacy = decide(make_context(whole(ASPIRIN, count=1), exempt=exempt))
    consumable = decide(make_context(whole("C01010101010101010101010", count=1)))
    other_shop = decide(make_context(whole(ASPIRIN, count=1), exempt=exempt, institution=HOSPITAL))
    assert not hits(legacy, RuleCode.MISSING_TRACE_CODE)
    assert not hits(consumable, RuleCode.MISSING_TRACE_CODE)
    assert hits(other_shop, RuleCode.MISSING_TRACE_CODE)


# malformed_trace_code and unusual_trace_code


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("8123456-000000001", "bad_characters"),
        ("QQ99999999999", "unregistered_manufacturer_code"),
        ("010400638133393110ABC21XYZ", "separator_missing"),
        (f"]d20104006381333932{GS}21X", "gtin_check_digit"),
    ],
)
def test_malformed_codes_are_rejected(make_context: Context, code: str, reason: str) -> None:
    decision = decide(make_context(whole(ASPIRIN, code)))
    hit = only(decision, RuleCode.MALFORMED_TRACE_CODE)
    assert (hit.action, hit.drug_trac_codg, hit.evidence["reason"]) == (Action.REJECT, code, reason)
    assert code in hit.message_en
    assert decision.status is DecisionStatus.REJECTED


def test_registered_manufacturer_code_is_well_formed(make_context: Context) -> None:
    decision = decide(make_context(whole(HERBAL, "ZY2024A0000001")))
    assert not hits(decision, RuleCode.MALFORMED_TRACE_CODE)
    assert not hits(decision, RuleCode.UNKNOWN_PRODUCT_CODE)


def test_a_20_digit_code_not_starting_with_8_is_a_warning(make_context: Context) -> None:
    code = "71234560000000010000"
    warned = decide(make_context(whole(ASPIRIN, code)))
    silent = decide(
        make_context(whole(ASPIRIN, code), policy=RulePolicy(warn_on_non_8_prefix=False))
    )
    hit = only(warned, RuleCode.UNUSUAL_TRACE_CODE)
    assert (hit.action, hit.severity) == (Action.WARN, Severity.LOW)
    assert not hits(warned, RuleCode.MALFORMED_TRACE_CODE)
    assert not hits(silent, RuleCode.UNUSUAL_TRACE_CODE)


# unknown_product_code


@pytest.mark.parametrize("code", ["89999990000000010000", f"]d20106912345678902{GS}21SER1"])
def test_codes_the_catalogue_does_not_know_go_to_review(make_context: Context, code: str) -> None:
    decision = decide(make_context(whole(ASPIRIN, code)))
    hit = only(decision, RuleCode.UNKNOWN_PRODUCT_CODE)
    assert hit.action is Action.REVIEW
    assert decision.status is DecisionStatus.PENDING_REVIEW


def test_a_known_gs1_code_is_not_unknown(make_context: Context) -> None:
    decision = decide(make_context(whole(VALSARTAN, f"]d20104006381333931{GS}21SER1")))
    assert not hits(decision, RuleCode.UNKNOWN_PRODUCT_CODE)


# product_mismatch


def test_a_code_of_another_product_is_substitution(make_context: Context, stocked: Stocked) -> None:
    decision = decide(make_context(whole(ASPIRIN, insulin(1)), records=stocked(insulin(1))))
    hit = only(decision, RuleCode.PRODUCT_MISMATCH)
    assert (hit.action, hit.alert) == (Action.REJECT, True)
    assert hit.evidence["code_med_list_codg"] == INSULIN
    assert decision.alerts == (hit,)


def test_a_billed_barcode_of_another_product_is_substitution(make_context: Context) -> None:
    mismatched = decide(make_context(whole(ASPIRIN, aspirin(1), barcode="6901234567892")))
    matched = decide(make_context(whole(ASPIRIN, aspirin(1), barcode="06924561884074")))
    assert "6901234567892" in only(mismatched, RuleCode.PRODUCT_MISMATCH).message_en
    assert not hits(matched, RuleCode.PRODUCT_MISMATCH)


# quantity_mismatch


def test_whole_packs_need_one_distinct_code_each(make_context: Context, stocked: Stocked) -> None:
    records = stocked(aspirin(1), aspirin(2))
    short = decide(make_context(whole(ASPIRIN, aspirin(1), count=2), records=records))
    exact = decide(make_context(whole(ASPIRIN, aspirin(1), aspirin(2)), records=records))
    hit = only(short, RuleCode.QUANTITY_MISMATCH)
    assert hit.evidence == {"trdn_flag": 0, "sel_retn_cnt": 2, "distinct_codes": 1}
    assert exact.status is DecisionStatus.APPROVED


def test_a_split_sale_scans_exactly_one_pack(make_context: Context) -> None:
    line = SaleLine(ASPIRIN, 1, 3, drug_trac_codg=(aspirin(1), aspirin(2)))
    assert hits(decide(make_context(line)), RuleCode.QUANTITY_MISMATCH)


def test_a_case_code_is_not_one_pack(make_context: Context) -> None:
    decision = decide(make_context(whole(ASPIRIN, "81234580000000010000")))
    assert only(decision, RuleCode.QUANTITY_MISMATCH).evidence == {"pack_level": "case"}


def test_a_count_below_one_is_a_mismatch(make_context: Context) -> None:
    decision = decide(make_context(split(ASPIRIN, aspirin(1), 0)))
    assert only(decision, RuleCode.QUANTITY_MISMATCH).evidence["sel_retn_cnt"] == 0


# duplicate_sale


def sold(
    stocked: Stocked, institution: str, person: str | None, *, units: int | None = None
) -> dict[str, CodeRecord]:
    """Aspirin pack 1 as an earlier sale left it: whole, or ``units`` split off."""
    record = stocked(aspirin(1), institution=institution)[aspirin(1)]
    stamp = SaleStamp("S-0", institution, person, EARLIER)
    after = sell_whole(record, stamp) if units is None else sell_split(record, stamp, units)
    assert isinstance(after, CodeRecord)
    return {aspirin(1): after}


def test_a_code_sold_elsewhere_to_someone_else_is_a_critical_duplicate(
    make_context: Context, stocked: Stocked
) -> None:
    records = sold(stocked, HOSPITAL, "person-hash-2")
    decision = decide(make_context(whole(ASPIRIN, aspirin(1)), records=records))
    hit = only(decision, RuleCode.DUPLICATE_SALE)
    assert (hit.action, hit.severity, hit.alert) == (Action.REJECT, Severity.CRITICAL, True)
    assert hit.evidence["prior_institution"] == HOSPITAL
    assert hit.evidence["prior_sold_at"] == EARLIER.isoformat()
    assert (hit.evidence["same_institution"], hit.evidence["same_person"]) == (False, False)
    assert "person-hash-2" not in str(hit.evidence)
    assert HOSPITAL in hit.message_en
    assert HOSPITAL in hit.message_zh


def test_the_same_buyer_again_at_the_same_shop_is_a_high_duplicate(
    make_context: Context, stocked: Stocked
) -> None:
    records = sold(stocked, PHARMACY, "person-hash-1")
    decision = decide(make_context(whole(ASPIRIN, aspirin(1)), records=records))
    hit = only(decision, RuleCode.DUPLICATE_SALE)
    assert (hit.severity, hit.evidence["same_person"]) == (Severity.HIGH, True)


def test_an_anonymous_earlier_sale_is_not_called_another_person(
    make_context: Context, stocked: Stocked
) -> None:
    records = sold(stocked, PHARMACY, None)
    decision = decide(make_context(whole(ASPIRIN, aspirin(1)), records=records))
    hit = only(decision, RuleCode.DUPLICATE_SALE)
    assert (hit.severity, hit.evidence["same_person"]) == (Severity.HIGH, None)


def test_the_same_code_twice_in_one_request(make_context: Context, stocked: Stocked) -> None:
    lines = (whole(ASPIRIN, aspirin(1)), whole(ASPIRIN, aspirin(1)))
    decision = decide(make_context(*lines, records=stocked(aspirin(1))))
    hit = only(decision, RuleCode.DUPLICATE_SALE)
    assert (hit.line, hit.evidence["within_request"]) == (1, True)
    assert (hit.severity, hit.alert) == (Severity.MEDIUM, False)
    assert decision.status is DecisionStatus.REJECTED
    assert decision.records == ()
    assert decision.alerts == ()


def test_the_same_code_twice_on_one_line(make_context: Context, stocked: Stocked) -> None:
    line = whole(ASPIRIN, aspirin(1), aspirin(1))
    decision = decide(make_context(line, records=stocked(aspirin(1))))
    assert only(decision, RuleCode.DUPLICATE_SALE).evidence["within_request"] is True
    assert only(decision, RuleCode.QUANTITY_MISMATCH).evidence["distinct_codes"] == 1


def test_an_opened_pack_cannot_be_sold_whole(make_context: Context, stocked: Stocked) -> None:
    records = sold(stocked, PHARMACY, "person-hash-2", units=3)
    decision = decide(make_context(whole(ASPIRIN, aspirin(1)), records=records))
    hit = only(decision, RuleCode.DUPLICATE_SALE)
    assert "opened" in hit.message_en
    assert hit.evidence["state"] == "dispensed_partial"


def test_a_pack_sold_whole_cannot_be_split_sold(make_context: Context, stocked: Stocked) -> None:
    records = sold(stocked, PHARMACY, "person-hash-1")
    decision = decide(make_context(split(ASPIRIN, aspirin(1), 1), records=records))
    assert hits(decision, RuleCode.DUPLICATE_SALE)
    assert not hits(decision, RuleCode.SPLIT_OVERRUN)


# split_overrun and split_not_allowed


@pytest.mark.parametrize(("units", "overrun"), [(1, False), (24, False), (25, True)])
def test_one_split_sale_up_to_and_past_the_pack(
    make_context: Context, stocked: Stocked, units: int, overrun: bool
) -> None:
    decision = decide(make_context(split(ASPIRIN, aspirin(1), units), records=stocked(aspirin(1))))
    assert bool(hits(decision, RuleCode.SPLIT_OVERRUN)) is overrun
    assert (decision.status is DecisionStatus.REJECTED) is overrun


def test_split_sales_continue_from_the_opened_pack(make_context: Context, stocked: Stocked) -> None:
    records = sold(stocked, PHARMACY, "person-hash-2", units=20)
    rest = decide(make_context(split(ASPIRIN, aspirin(1), 4), records=records))
    too_many = decide(make_context(split(ASPIRIN, aspirin(1), 5), records=records))
    assert rest.status is DecisionStatus.APPROVED
    assert rest.records[0].state is CodeState.DISPENSED
    hit = only(too_many, RuleCode.SPLIT_OVERRUN)
    assert hit.evidence == {"remaining_units": 4, "units": 5, "units_per_pack": 24}
    assert hit.alert


def test_an_exhausted_pack_is_an_overrun(make_context: Context, stocked: Stocked) -> None:
    records = sold(stocked, PHARMACY, "person-hash-2", units=24)
    decision = decide(make_context(split(ASPIRIN, aspirin(1), 1), records=records))
    assert only(decision, RuleCode.SPLIT_OVERRUN).evidence["remaining_units"] == 0


def test_two_lines_splitting_one_pack_share_its_units(
    make_context: Context, stocked: Stocked
) -> None:
    lines = (split(ASPIRIN, aspirin(1), 20), split(ASPIRIN, aspirin(1), 5))
    decision = decide(make_context(*lines, records=stocked(aspirin(1))))
    assert only(decision, RuleCode.SPLIT_OVERRUN).line == 1


def test_a_drug_that_may_not_be_split(make_context: Context, stocked: Stocked) -> None:
    decision = decide(make_context(split(INSULIN, insulin(1), 2), records=stocked(insulin(1))))
    hit = only(decision, RuleCode.SPLIT_NOT_ALLOWED)
    assert (hit.evidence["forbidden_by"], hit.alert) == ("catalogue", True)


def test_the_policy_can_forbid_all_split_sales(make_context: Context, stocked: Stocked) -> None:
    policy = RulePolicy(split_sales_allowed=False)
    line = split(ASPIRIN, aspirin(1), 2)
    forbidden = decide(make_context(line, records=stocked(aspirin(1)), policy=policy))
    allowed = decide(make_context(line, records=stocked(aspirin(1))))
    assert only(forbidden, RuleCode.SPLIT_NOT_ALLOWED).evidence["forbidden_by"] == "policy"
    assert allowed.status is DecisionStatus.APPROVED


# not_in_stock


def test_a_code_never_stocked_goes_to_review(make_context: Context) -> None:
    decision = decide(make_context(whole(ASPIRIN, aspirin(1))))
    hit = only(decision, RuleCode.NOT_IN_STOCK)
    assert (hit.action, hit.evidence) == (Action.REVIEW, {"state": "unknown", "held_by": None})
    assert decision.status is DecisionStatus.PENDING_REVIEW


def test_a_code_on_another_shelf_goes_to_review(make_context: Context, stocked: Stocked) -> None:
    records = stocked(aspirin(1), institution=HOSPITAL)
    decision = decide(make_context(whole(ASPIRIN, aspirin(1)), records=records))
    assert only(decision, RuleCode.NOT_IN_STOCK).evidence["held_by"] == HOSPITAL


def test_the_policy_can_soften_an_action(make_context: Context) -> None:
    policy = RulePolicy(actions={RuleCode.NOT_IN_STOCK: Action.WARN})
    decision = decide(make_context(whole(ASPIRIN, aspirin(1)), policy=policy))
    assert only(decision, RuleCode.NOT_IN_STOCK).action is Action.WARN
    assert decision.status is DecisionStatus.APPROVED_WITH_WARNINGS


# code_blocked


@pytest.mark.parametrize("state", [CodeState.RECALLED, CodeState.LOCKED, CodeState.EXPIRED])
def test_blocked_codes_are_rejected(
    make_context: Context, stocked: Stocked, state: CodeState
) -> None:
    blocked = block(stocked(aspirin(1))[aspirin(1)], state)
    assert isinstance(blocked, CodeRecord)
    decision = decide(make_context(whole(ASPIRIN, aspirin(1)), records={aspirin(1): blocked}))
    hit = only(decision, RuleCode.CODE_BLOCKED)
    assert (hit.action, hit.evidence["state"]) == (Action.REJECT, state.value)


def test_a_pack_past_its_recorded_expiry_is_rejected(
    make_context: Context, stocked: Stocked
) -> None:
    record = replace(stocked(aspirin(1))[aspirin(1)], expiry=NOW.date() - timedelta(days=1))
    decision = decide(make_context(whole(ASPIRIN, aspirin(1)), records={aspirin(1): record}))
    assert "expired" in only(decision, RuleCode.CODE_BLOCKED).message_en


def test_a_gs1_pack_past_its_printed_expiry_is_rejected(make_context: Context) -> None:
    expired = decide(make_context(whole(VALSARTAN, f"]d20104006381333931172610002{GS}21S1")))
    assert not hits(expired, RuleCode.CODE_BLOCKED)
    code = f"]d2010400638133393117261000{GS}21S1"
    decision = decide(make_context(whole(VALSARTAN, code)))
    hit = only(decision, RuleCode.CODE_BLOCKED)
    assert hit.evidence == {"state": "expired", "expiry": "2026-10-31"}


# person_not_eligible


@pytest.mark.parametrize(
    "status", [Eligibility.DECEASED, Eligibility.NOT_ENROLLED, Eligibility.SUSPENDED]
)
def test_a_positively_ineligible_person_is_rejected(
    make_context: Context, stocked: Stocked, status: Eligibility
) -> None:
    context = make_context(
        whole(ASPIRIN, aspirin(1)), records=stocked(aspirin(1)), eligibility=status
    )
    hit = only(decide(context), RuleCode.PERSON_NOT_ELIGIBLE)
    assert (hit.action, hit.alert, hit.line, hit.evidence) == (
        Action.REJECT,
        True,
        None,
        {"status": status.value},
    )


@pytest.mark.parametrize("status", [None, Eligibility.INSURED])
def test_no_record_or_insured_is_no_reason_to_refuse(
    make_context: Context, stocked: Stocked, status: Eligibility | None
) -> None:
    context = make_context(
        whole(ASPIRIN, aspirin(1)), records=stocked(aspirin(1)), eligibility=status
    )
    assert decide(context).status is DecisionStatus.APPROVED


# over_frequent_purchase


def frequency(make_context: Context, stocked: Stocked, days_ago: int, **kwargs: object) -> Decision:
    line = replace(whole(ASPIRIN, aspirin(1)), days_of_supply=30)
    recent = (PriorPurchase(ASPIRIN, NOW.date() - timedelta(days=days_ago), 30),)
    return decide(make_context(line, records=stocked(aspirin(1)), recent=recent, **kwargs))


def test_buying_again_with_much_supply_left_is_a_warning(
    make_context: Context, stocked: Stocked
) -> None:
    decision = frequency(make_context, stocked, days_ago=10)
    hit = only(decision, RuleCode.OVER_FREQUENT_PURCHASE)
    assert (hit.action, hit.evidence["leftover_days"], hit.evidence["days_of_supply"]) == (
        Action.WARN,
        20,
        30,
    )
    assert decision.status is DecisionStatus.APPROVED_WITH_WARNINGS


def test_refilling_within_the_tolerance_is_fine(make_context: Context, stocked: Stocked) -> None:
    assert frequency(make_context, stocked, days_ago=24).hits == ()
    assert hits(frequency(make_context, stocked, days_ago=23), RuleCode.OVER_FREQUENT_PURCHASE)


def test_a_looser_tolerance_is_a_policy_choice(make_context: Context, stocked: Stocked) -> None:
    policy = RulePolicy(supply_tolerance=2.0)
    assert frequency(make_context, stocked, days_ago=10, policy=policy).hits == ()


def test_without_days_of_supply_the_last_purchase_stands_in(
    make_context: Context, stocked: Stocked
) -> None:
    recent = (PriorPurchase(ASPIRIN, NOW.date() - timedelta(days=2), 7),)
    decision = decide(
        make_context(whole(ASPIRIN, aspirin(1)), records=stocked(aspirin(1)), recent=recent)
    )
    assert only(decision, RuleCode.OVER_FREQUENT_PURCHASE).evidence["days_of_supply"] == 7


def test_other_drugs_and_anonymous_sales_are_not_counted(
    make_context: Context, stocked: Stocked
) -> None:
    recent = (PriorPurchase(INSULIN, NOW.date(), 30),)
    line = whole(ASPIRIN, aspirin(1))
    assert decide(make_context(line, records=stocked(aspirin(1)), recent=recent)).hits == ()
    assert frequency(make_context, stocked, days_ago=1, person=None).hits == ()


# institution_under_review


@pytest.mark.parametrize(
    ("credit", "flagged"),
    [
        (InstitutionCredit(CreditGrade.D), True),
        (InstitutionCredit(CreditGrade.B, blacklisted=True), True),
        (InstitutionCredit(CreditGrade.C), False),
        (InstitutionCredit(None), False),
        (None, False),
    ],
)
def test_low_credit_institutions_go_to_review(
    make_context: Context, stocked: Stocked, credit: InstitutionCredit | None, flagged: bool
) -> None:
    context = make_context(whole(ASPIRIN, aspirin(1)), records=stocked(aspirin(1)), credit=credit)
    decision = decide(context)
    assert bool(hits(decision, RuleCode.INSTITUTION_UNDER_REVIEW)) is flagged
    expected = DecisionStatus.PENDING_REVIEW if flagged else DecisionStatus.APPROVED
    assert decision.status is expected


# practitioner_suspended


def test_a_suspended_prescriber_or_terminated_pharmacist_is_refused(
    make_context: Context, stocked: Stocked
) -> None:
    practitioners = {
        "doc-1": PractitionerStatus.SUSPENDED,
        "pharm-1": PractitionerStatus.TERMINATED,
        "doc-2": PractitionerStatus.ACTIVE,
    }
    line, records = whole(ASPIRIN, aspirin(1)), stocked(aspirin(1))
    both = decide(
        make_context(
            line,
            records=records,
            prescriber="doc-1",
            pharmacist="pharm-1",
            practitioners=practitioners,
        )
    )
    active = decide(
        make_context(line, records=records, prescriber="doc-2", practitioners=practitioners)
    )
    unknown = decide(
        make_context(line, records=records, prescriber="doc-9", practitioners=practitioners)
    )
    assert [h.evidence["role"] for h in hits(both, RuleCode.PRACTITIONER_SUSPENDED)] == [
        "prescriber",
        "pharmacist",
    ]
    assert both.status is DecisionStatus.REJECTED
    assert active.status is unknown.status is DecisionStatus.APPROVED


def test_emergencies_are_exempt_from_suspension(make_context: Context, stocked: Stocked) -> None:
    context = make_context(
        whole(ASPIRIN, aspirin(1)),
        records=stocked(aspirin(1)),
        prescriber="doc-1",
        practitioners={"doc-1": PractitionerStatus.SUSPENDED},
        emergency=True,
    )
    assert decide(context).status is DecisionStatus.APPROVED


def test_every_message_is_fully_worded(make_context: Context, stocked: Stocked) -> None:
    """Drive many rules at once: every message is filled in and all evidence is JSON."""
    records = sold(stocked, HOSPITAL, "person-hash-2")
    context = make_context(
        whole(ASPIRIN, aspirin(1), "bad code", count=3),
        whole(ASPIRIN, count=1),
        split(INSULIN, insulin(1), 9),
        whole(ASPIRIN, "81234580000000010000", "71234560000000010000", "89999990000000010000"),
        records=records,
        eligibility=Eligibility.DECEASED,
        credit=InstitutionCredit(CreditGrade.D),
        prescriber="doc-1",
        practitioners={"doc-1": PractitionerStatus.SUSPENDED},
        recent=(PriorPurchase(ASPIRIN, NOW.date(), 30),),
    )
    decision = decide(context)
    assert len({hit.rule for hit in decision.hits}) >= 11
    for hit in decision.hits:
        json.dumps(dict(hit.evidence))
        for message in (hit.message_zh, hit.message_en):
            assert message
            assert "{" not in message
            assert "}" not in message
