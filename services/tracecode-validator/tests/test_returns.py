"""Returns release exactly what was returned; a reviewer's rejection releases a hold."""

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from tracecode_validator.domain.decision import Decision, DecisionStatus, decide
from tracecode_validator.domain.registry import CodeRecord, CodeState, block
from tracecode_validator.domain.returns import (
    ReturnDecision,
    ReturnLine,
    ReturnStatus,
    SaleRecord,
    decide_return,
    undo_hold,
)
from tracecode_validator.domain.rules.context import SaleContext, SaleLine
from tracecode_validator.domain.rules.dispensing import Dispensed
from tracecode_validator.domain.rules.hits import RuleCode
from tracecode_validator.domain.rules.policy import RulePolicy

Context = Callable[..., SaleContext]
Stocked = Callable[..., dict[str, CodeRecord]]

PHARMACY, HOSPITAL = "P15030200007", "H15030200001"
ASPIRIN = "XA01ABA014A001010101445"
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone(timedelta(hours=8)))
BOX_1, BOX_2, BOX_3 = (f"8123456{n:013d}" for n in (1, 2, 3))


class Shop:
    """A sale of two whole aspirin packs (line 0) and 10 units split from a third (line 1)."""

    def __init__(self, make_context: Context, stocked: Stocked) -> None:
        lines = (
            SaleLine(ASPIRIN, 0, 2, drug_trac_codg=(BOX_1, BOX_2)),
            SaleLine(ASPIRIN, 1, 10, drug_trac_codg=(BOX_3,)),
        )
        self.make_context = make_context
        self.decision: Decision = decide(make_context(*lines, records=stocked(BOX_1, BOX_2, BOX_3)))
        assert self.decision.status is DecisionStatus.APPROVED
        self.records = {record.key: record for record in self.decision.records}
        self.sale = SaleRecord("S-1", PHARMACY, NOW, self.decision.dispensed)

    def give_back(
        self,
        *lines: ReturnLine,
        now: datetime = NOW + timedelta(days=1),
        institution: str = PHARMACY,
        sale: SaleRecord | None = None,
        policy: RulePolicy | None = None,
    ) -> ReturnDecision:
        return decide_return(
            sale or self.sale,
            lines,
            self.records,
            institution=institution,
            now=now,
            policy=policy or RulePolicy(),
        )


@pytest.fixture
def shop(make_context: Context, stocked: Stocked) -> Shop:
    return Shop(make_context, stocked)


def rules(decision: ReturnDecision) -> list[RuleCode]:
    return [hit.rule for hit in decision.hits]


def test_returning_one_whole_pack_releases_only_that_pack(shop: Shop) -> None:
    result = shop.give_back(ReturnLine(0, 1, (BOX_2,)))
    assert (result.status, result.hits) == (ReturnStatus.ACCEPTED, ())
    (record,) = result.records
    assert (record.key, record.state, record.remaining_units) == (BOX_2, CodeState.IN_STOCK, 24)
    assert result.released == (Dispensed(0, BOX_2, 24, whole=True),)
    resale = decide(
        shop.make_context(
            SaleLine(ASPIRIN, 0, 1, drug_trac_codg=(BOX_2,)),
            records={BOX_2: record},
            settlement_id="S-2",
        )
    )
    assert resale.status is DecisionStatus.APPROVED


def test_returning_split_units_releases_exactly_those_units(shop: Shop) -> None:
    result = shop.give_back(ReturnLine(1, 4, (BOX_3,)))
    (record,) = result.records
    assert (record.state, record.remaining_units) == (CodeState.DISPENSED_PARTIAL, 18)
    assert result.released == (Dispensed(1, BOX_3, 4, whole=False),)


def test_earlier_returns_count_against_what_is_returnable(shop: Shop) -> None:
    first = shop.give_back(ReturnLine(1, 4, (BOX_3,)))
    shop.records.update((r.key, r) for r in first.records)
    sale = SaleRecord("S-1", PHARMACY, NOW, shop.sale.dispensed, returned=first.released)
    too_many = shop.give_back(ReturnLine(1, 7, (BOX_3,)), sale=sale)
    rest = shop.give_back(ReturnLine(1, 6, (BOX_3,)), sale=sale)
    assert rules(too_many) == [RuleCode.RETURN_EXCEEDS_SALE]
    assert too_many.hits[0].evidence == {"units": 7, "returnable": 6}
    assert rest.records[0].remaining_units == 24


def test_a_whole_pack_cannot_be_returned_twice(shop: Shop) -> None:
    first = shop.give_back(ReturnLine(0, 1, (BOX_1,)))
    sale = SaleRecord("S-1", PHARMACY, NOW, shop.sale.dispensed, returned=first.released)
    assert rules(shop.give_back(ReturnLine(0, 1, (BOX_1,)), sale=sale)) == [
        RuleCode.RETURN_EXCEEDS_SALE
    ]


def test_a_return_after_the_window_is_rejected(shop: Shop) -> None:
    late = shop.give_back(ReturnLine(0, 1, (BOX_1,)), now=NOW + timedelta(days=10, minutes=1))
    on_time = shop.give_back(ReturnLine(0, 1, (BOX_1,)), now=NOW + timedelta(days=10))
    assert (late.status, rules(late), late.records) == (
        ReturnStatus.REJECTED,
        [RuleCode.RETURN_WINDOW_EXPIRED],
        (),
    )
    assert late.hits[0].evidence == {"window_days": 10}
    assert on_time.status is ReturnStatus.ACCEPTED


def test_the_window_is_a_policy_parameter(shop: Shop) -> None:
    result = shop.give_back(
        ReturnLine(0, 1, (BOX_1,)),
        now=NOW + timedelta(days=20),
        policy=RulePolicy(return_window_days=30),
    )
    assert result.status is ReturnStatus.ACCEPTED


def test_returns_only_at_the_selling_institution(shop: Shop) -> None:
    result = shop.give_back(ReturnLine(0, 1, (BOX_1,)), institution=HOSPITAL)
    assert (result.status, rules(result)) == (
        ReturnStatus.REJECTED,
        [RuleCode.RETURN_OTHER_INSTITUTION],
    )


def test_a_pack_now_held_elsewhere_is_not_taken_back(shop: Shop) -> None:
    shop.records[BOX_3] = replace(shop.records[BOX_3], institution=HOSPITAL)
    assert rules(shop.give_back(ReturnLine(1, 1, (BOX_3,)))) == [RuleCode.RETURN_OTHER_INSTITUTION]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (ReturnLine(0, 1, (BOX_3,)), [RuleCode.RETURN_NOT_IN_SALE]),
        (ReturnLine(5, 1, (BOX_1,)), [RuleCode.RETURN_NOT_IN_SALE]),
        (ReturnLine(0, 1, ("bad code",)), [RuleCode.MALFORMED_TRACE_CODE]),
        (ReturnLine(0, 1), [RuleCode.MISSING_TRACE_CODE]),
        (ReturnLine(0, 2, (BOX_1,)), [RuleCode.QUANTITY_MISMATCH]),
        (ReturnLine(1, 0, (BOX_3,)), [RuleCode.QUANTITY_MISMATCH]),
        (ReturnLine(1, 11, (BOX_3,)), [RuleCode.RETURN_EXCEEDS_SALE]),
    ],
)
def test_returns_that_do_not_match_the_sale(
    shop: Shop, line: ReturnLine, expected: list[RuleCode]
) -> None:
    result = shop.give_back(line)
    assert (result.status, rules(result), result.records) == (ReturnStatus.REJECTED, expected, ())
    for hit in result.hits:
        assert "{" not in hit.message_en
        assert "{" not in hit.message_zh


def test_a_pack_recalled_since_the_sale_is_not_taken_back(shop: Shop) -> None:
    recalled = block(shop.records[BOX_1], CodeState.RECALLED)
    assert isinstance(recalled, CodeRecord)
    shop.records[BOX_1] = recalled
    result = shop.give_back(ReturnLine(0, 1, (BOX_1,)))
    assert rules(result) == [RuleCode.RETURN_CODE_STATE]
    assert result.hits[0].evidence == {"state": "recalled"}


def test_a_return_is_all_or_nothing(shop: Shop) -> None:
    result = shop.give_back(ReturnLine(0, 1, (BOX_1,)), ReturnLine(1, 99, (BOX_3,)))
    assert (result.status, result.records, result.released) == (ReturnStatus.REJECTED, (), ())


def test_a_rejected_review_puts_the_held_packs_back_as_they_were(
    make_context: Context, stocked: Callable[..., dict[str, CodeRecord]]
) -> None:
    lines = (
        SaleLine(ASPIRIN, 0, 1, drug_trac_codg=(BOX_1,)),
        SaleLine(ASPIRIN, 1, 5, drug_trac_codg=(BOX_2,)),
    )
    elsewhere = stocked(BOX_1, BOX_2, institution="P-OTHER")
    context = make_context(*lines, records=elsewhere)
    held = decide(context)
    assert held.status is DecisionStatus.PENDING_REVIEW
    current = {record.key: record for record in held.records}
    restored = {r.key: r for r in undo_hold("S-1", current, elsewhere)}
    assert restored == elsewhere
    assert (restored[BOX_2].state, restored[BOX_2].opened) == (CodeState.IN_STOCK, False)


def test_an_undone_hold_of_a_never_seen_code_forgets_it(make_context: Context) -> None:
    held = decide(make_context(SaleLine(ASPIRIN, 0, 1, drug_trac_codg=(BOX_1,))))
    current = {record.key: record for record in held.records}
    (restored,) = undo_hold("S-1", current, dict.fromkeys(current))
    assert (restored.state, restored.institution, restored.last_sale) == (
        CodeState.UNKNOWN,
        None,
        None,
    )


def test_an_undo_leaves_packs_blocked_or_resold_since_alone(make_context: Context) -> None:
    held = decide(make_context(SaleLine(ASPIRIN, 0, 1, drug_trac_codg=(BOX_1,))))
    locked = block(held.records[0], CodeState.LOCKED)
    assert isinstance(locked, CodeRecord)
    assert undo_hold("S-1", {BOX_1: locked}, {BOX_1: None}) == ()
    assert undo_hold("S-other", {BOX_1: held.records[0]}, {BOX_1: None}) == ()
