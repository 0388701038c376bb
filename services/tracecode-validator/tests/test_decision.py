"""The decision policy: status from hits, and which records a decision consumes."""

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st
from tracecode_validator.domain.decision import DecisionStatus, decide
from tracecode_validator.domain.registry import CodeRecord, CodeState
from tracecode_validator.domain.rules.context import (
    CreditGrade,
    Eligibility,
    InstitutionCredit,
    SaleContext,
    SaleLine,
    Settlement,
)
from tracecode_validator.domain.rules.dispensing import Dispensed
from tracecode_validator.domain.rules.hits import Action, RuleCode
from tracecode_validator.domain.rules.policy import RulePolicy

Context = Callable[..., SaleContext]
Stocked = Callable[..., dict[str, CodeRecord]]

ASPIRIN = "XA01ABA014A001010101445"
VALSARTAN = "XC09CAC007A001010101999"
BOX = "81234560000000010000"
GS = "\x1d"


def whole(med: str, *codes: str) -> SaleLine:
    return SaleLine(med_list_codg=med, trdn_flag=0, sel_retn_cnt=len(codes), drug_trac_codg=codes)


def split(code: str, units: int) -> SaleLine:
    return SaleLine(med_list_codg=ASPIRIN, trdn_flag=1, sel_retn_cnt=units, drug_trac_codg=(code,))


def test_an_approved_whole_pack_sale_consumes_the_pack(
    make_context: Context, stocked: Stocked
) -> None:
    decision = decide(make_context(whole(ASPIRIN, BOX), records=stocked(BOX)))
    assert decision.status is DecisionStatus.APPROVED
    (record,) = decision.records
    assert (record.state, record.remaining_units) == (CodeState.DISPENSED, 0)
    assert record.last_sale is not None
    assert (record.last_sale.settlement_id, record.last_sale.person) == ("S-1", "person-hash-1")
    assert decision.dispensed == (Dispensed(0, BOX, 24, whole=True),)


def test_an_approved_split_sale_takes_only_its_units(
    make_context: Context, stocked: Stocked
) -> None:
    decision = decide(make_context(split(BOX, 10), records=stocked(BOX)))
    (record,) = decision.records
    assert (record.state, record.remaining_units) == (CodeState.DISPENSED_PARTIAL, 14)
    assert decision.dispensed == (Dispensed(0, BOX, 10, whole=False),)


def test_a_replayed_settlement_is_never_its_own_duplicate(
    make_context: Context, stocked: Stocked
) -> None:
    lines = (whole(ASPIRIN, BOX), split("81234560000000020000", 5))
    stock = stocked(BOX, "81234560000000020000")
    first = decide(make_context(*lines, records=stock))
    persisted = {**stock, **{record.key: record for record in first.records}}
    replay = decide(make_context(*lines, records=persisted))
    other = decide(make_context(*lines, records=persisted, settlement_id="S-2"))
    assert (replay.status, replay.hits) == (DecisionStatus.APPROVED, ())
    assert replay.dispensed == first.dispensed
    assert set(replay.records) <= set(first.records)
    assert [hit.rule for hit in other.hits] == [RuleCode.DUPLICATE_SALE]


def test_a_rejected_sale_changes_nothing(make_context: Context, stocked: Stocked) -> None:
    context = make_context(
        whole(ASPIRIN, BOX), records=stocked(BOX), eligibility=Eligibility.DECEASED
    )
    decision = decide(context)
    assert decision.status is DecisionStatus.REJECTED
    assert (decision.records, decision.dispensed) == ((), ())
    assert [hit.rule for hit in decision.alerts] == [RuleCode.PERSON_NOT_ELIGIBLE]


def test_a_sale_pending_review_holds_its_codes(make_context: Context) -> None:
    held = decide(make_context(whole(ASPIRIN, BOX)))
    assert held.status is DecisionStatus.PENDING_REVIEW
    (record,) = held.records
    assert record.state is CodeState.DISPENSED
    rival = decide(
        make_context(
            whole(ASPIRIN, BOX), records={BOX: record}, settlement_id="S-2", person="other"
        )
    )
    assert [hit.rule for hit in rival.hits] == [RuleCode.DUPLICATE_SALE]


def test_a_sale_with_warnings_consumes_its_codes(make_context: Context, stocked: Stocked) -> None:
    context = make_context(
        whole(ASPIRIN, BOX),
        records=stocked(BOX),
        policy=RulePolicy(actions={RuleCode.INSTITUTION_UNDER_REVIEW: Action.WARN}),
        credit=InstitutionCredit(CreditGrade.D),
    )
    decision = decide(context)
    assert decision.status is DecisionStatus.APPROVED_WITH_WARNINGS
    assert decision.records[0].state is CodeState.DISPENSED


def test_hits_come_in_the_fixed_rule_order(make_context: Context, stocked: Stocked) -> None:
    context = make_context(
        whole(ASPIRIN, "81234560000000020000"),
        whole(ASPIRIN, "bad"),
        records=stocked(BOX),
        eligibility=Eligibility.SUSPENDED,
        credit=InstitutionCredit(CreditGrade.D),
    )
    assert [hit.rule for hit in decide(context).hits] == [
        RuleCode.MALFORMED_TRACE_CODE,
        RuleCode.NOT_IN_STOCK,
        RuleCode.PERSON_NOT_ELIGIBLE,
        RuleCode.INSTITUTION_UNDER_REVIEW,
    ]


def test_a_gs1_pack_is_the_same_pack_in_every_printed_form(make_context: Context) -> None:
    first = decide(make_context(whole(VALSARTAN, f"]d20104006381333931{GS}21SER1{GS}10L1")))
    (record,) = first.records
    again = decide(
        make_context(
            whole(VALSARTAN, "(01)04006381333931(10)L1(21)SER1"),
            records={record.key: record},
            settlement_id="S-2",
        )
    )
    assert record.key == "010400638133393121SER1"
    assert record.lot == "L1"
    assert [hit.rule for hit in again.hits] == [RuleCode.DUPLICATE_SALE]


def test_settlement_lists_the_keys_to_load() -> None:
    settlement = Settlement(
        settlement_id="S-1",
        institution="P1",
        person=None,
        setl_time=_now(),
        lines=(whole(VALSARTAN, "(01)04006381333931(21)SER1", "bad", BOX),),
    )
    assert settlement.code_keys == {"010400638133393121SER1", BOX}


def test_a_code_of_no_known_product_is_reviewed_but_not_held(make_context: Context) -> None:
    decision = decide(make_context(whole("XZ99ZZZ999Z999999999999", "89999990000000010000")))
    assert decision.status is DecisionStatus.PENDING_REVIEW
    assert [hit.rule for hit in decision.hits] == [RuleCode.UNKNOWN_PRODUCT_CODE]
    assert decision.records == ()


def test_an_unknown_code_billed_as_a_known_product_is_held_with_its_pack_size(
    make_context: Context,
) -> None:
    decision = decide(make_context(split("89999990000000010000", 4)))
    assert decision.status is DecisionStatus.PENDING_REVIEW
    (record,) = decision.records
    assert (record.med_list_codg, record.remaining_units) == (ASPIRIN, 20)


def _now() -> datetime:
    return datetime(2026, 11, 23, 10, 0, tzinfo=timezone(timedelta(hours=8)))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=30), max_size=12))
def test_split_sales_never_take_more_than_the_pack(
    make_context: Context, stocked: Stocked, units: list[int]
) -> None:
    """Feeding each decision's records into the next never oversells one pack."""
    records = stocked(BOX)
    sold = 0
    for n, count in enumerate(units):
        context = make_context(
            split(BOX, count), records=records, settlement_id=f"S-{n}", person=f"person-{n}"
        )
        decision = decide(context)
        approved = decision.status is DecisionStatus.APPROVED
        assert approved is (sold + count <= 24)
        if approved:
            sold += count
            records = {**records, **{record.key: record for record in decision.records}}
        assert records[BOX].remaining_units == 24 - sold
        assert (records[BOX].state is CodeState.DISPENSED) is (sold == 24)
