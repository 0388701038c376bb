from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tracecode_validator.domain.registry import (
    CodeRecord,
    CodeState,
    MovementType,
    Refusal,
    RefusalReason,
    RegistryEvent,
    SaleStamp,
    block,
    is_stocked_at,
    new_record,
    restore_units,
    return_units,
    sell_split,
    sell_whole,
    stock_in,
    stock_out,
)

HERE, THERE = "P15030200007", "H15030200001"
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone(timedelta(hours=8)))
KEY = "81234560000000010000"
MED = "XA01ABA014A001010101445"
STAMP = SaleStamp("S-1", HERE, "person-hash-1", NOW)


def ok(result: CodeRecord | Refusal) -> CodeRecord:
    assert isinstance(result, CodeRecord), result
    return result


def refused(result: CodeRecord | Refusal) -> RefusalReason:
    assert isinstance(result, Refusal), result
    return result.reason


def shelf(units: int = 10, institution: str = HERE, **changes: object) -> CodeRecord:
    record = ok(
        stock_in(
            None,
            key=KEY,
            med_list_codg=MED,
            units_per_pack=units,
            institution=institution,
            movement=MovementType.PURCHASE_IN,
        )
    )
    return replace(record, **changes)  # type: ignore[arg-type]


def test_a_new_code_is_full_and_nowhere() -> None:
    record = new_record(KEY, med_list_codg=MED, units_per_pack=10)
    assert (record.state, record.institution, record.remaining_units) == (
        CodeState.UNKNOWN,
        None,
        10,
    )


def test_records_refuse_impossible_unit_counts() -> None:
    with pytest.raises(ValueError, match="remaining"):
        CodeRecord(KEY, MED, units_per_pack=10, remaining_units=-1)
    with pytest.raises(ValueError, match="remaining"):
        CodeRecord(KEY, MED, units_per_pack=10, remaining_units=11)


def test_purchase_puts_the_pack_on_the_shelf_with_lot_and_expiry() -> None:
    record = ok(
        stock_in(
            None,
            key=KEY,
            med_list_codg=MED,
            units_per_pack=10,
            institution=HERE,
            movement=MovementType.PURCHASE_IN,
            expiry=date(2027, 6, 30),
            lot="L1",
        )
    )
    assert record.state is CodeState.IN_STOCK
    assert is_stocked_at(record, HERE)
    assert not is_stocked_at(record, THERE)
    assert (record.expiry, record.lot, record.last_event) == (
        date(2027, 6, 30),
        "L1",
        MovementType.PURCHASE_IN,
    )


def test_transfer_in_moves_a_pack_between_shelves() -> None:
    record = stock_in(
        shelf(),
        key=KEY,
        med_list_codg=MED,
        units_per_pack=10,
        institution=THERE,
        movement=MovementType.TRANSFER_IN,
    )
    assert ok(record).institution == THERE


def test_a_sold_pack_cannot_come_back_into_stock() -> None:
    sold = ok(sell_whole(shelf(), STAMP))
    again = stock_in(
        sold,
        key=KEY,
        med_list_codg=MED,
        units_per_pack=10,
        institution=HERE,
        movement=MovementType.PURCHASE_IN,
    )
    assert refused(again) is RefusalReason.ALREADY_DISPENSED


@pytest.mark.parametrize(
    ("institution", "expected"),
    [(HERE, CodeState.DISPENSED_PARTIAL), (THERE, RefusalReason.PACK_OPENED)],
)
def test_stock_count_keeps_an_opened_pack_only_where_it_is(
    institution: str, expected: object
) -> None:
    opened = ok(sell_split(shelf(), STAMP, 3))
    result = stock_in(
        opened,
        key=KEY,
        med_list_codg=MED,
        units_per_pack=10,
        institution=institution,
        movement=MovementType.STOCK_COUNT,
    )
    assert (result.state if isinstance(result, CodeRecord) else result.reason) is expected


def test_blocked_packs_are_not_stocked_in() -> None:
    result = stock_in(
        shelf(state=CodeState.RECALLED),
        key=KEY,
        med_list_codg=MED,
        units_per_pack=10,
        institution=HERE,
        movement=MovementType.TRANSFER_IN,
    )
    assert refused(result) is RefusalReason.BLOCKED


def test_movements_are_checked_for_direction() -> None:
    with pytest.raises(ValueError, match="in"):
        stock_in(
            None,
            key=KEY,
            med_list_codg=MED,
            units_per_pack=10,
            institution=HERE,
            movement=MovementType.DESTROY,
        )
    with pytest.raises(ValueError, match="out"):
        stock_out(shelf(), institution=HERE, movement=MovementType.PURCHASE_IN)


@pytest.mark.parametrize("movement", [MovementType.TRANSFER_OUT, MovementType.PURCHASE_RETURN])
def test_a_pack_leaving_the_shelf_becomes_unknown(movement: MovementType) -> None:
    record = ok(stock_out(shelf(), institution=HERE, movement=movement))
    assert (record.state, record.last_event) == (CodeState.UNKNOWN, movement)


def test_only_the_holder_can_move_a_pack_out() -> None:
    assert refused(stock_out(shelf(), institution=THERE, movement=MovementType.TRANSFER_OUT)) is (
        RefusalReason.NOT_HELD
    )
    assert refused(stock_out(None, institution=HERE, movement=MovementType.DESTROY)) is (
        RefusalReason.NOT_HELD
    )


def test_destroying_a_pack_is_final() -> None:
    destroyed = ok(stock_out(shelf(), institution=HERE, movement=MovementType.DESTROY))
    assert destroyed.state is CodeState.DESTROYED
    assert refused(block(destroyed, CodeState.RECALLED)) is RefusalReason.BLOCKED
    assert refused(sell_whole(destroyed, STAMP)) is RefusalReason.BLOCKED


def test_a_recalled_pack_goes_back_to_the_supplier_still_recalled() -> None:
    record = stock_out(
        shelf(state=CodeState.RECALLED), institution=HERE, movement=MovementType.PURCHASE_RETURN
    )
    assert ok(record).state is CodeState.RECALLED


def test_a_locked_pack_stays_put_as_evidence() -> None:
    result = stock_out(
        shelf(state=CodeState.LOCKED), institution=HERE, movement=MovementType.DESTROY
    )
    assert refused(result) is RefusalReason.BLOCKED


def test_an_opened_pack_cannot_go_back_to_the_supplier() -> None:
    opened = ok(sell_split(shelf(), STAMP, 1))
    result = stock_out(opened, institution=HERE, movement=MovementType.PURCHASE_RETURN)
    assert refused(result) is RefusalReason.PACK_OPENED


def test_whole_sale_then_no_second_sale() -> None:
    sold = ok(sell_whole(shelf(), STAMP))
    assert (sold.state, sold.remaining_units, sold.last_sale) == (CodeState.DISPENSED, 0, STAMP)
    assert refused(sell_whole(sold, STAMP)) is RefusalReason.ALREADY_DISPENSED
    assert refused(sell_split(sold, STAMP, 1)) is RefusalReason.ALREADY_DISPENSED


def test_split_sales_until_the_pack_is_empty() -> None:
    record = ok(sell_split(shelf(units=10), STAMP, 4))
    assert (record.state, record.remaining_units, record.opened) == (
        CodeState.DISPENSED_PARTIAL,
        6,
        True,
    )
    assert refused(sell_whole(record, STAMP)) is RefusalReason.PACK_OPENED
    assert refused(sell_split(record, STAMP, 7)) is RefusalReason.OVERRUN
    record = ok(sell_split(record, STAMP, 6))
    assert (record.state, record.remaining_units) == (CodeState.DISPENSED, 0)
    assert refused(sell_split(record, STAMP, 1)) is RefusalReason.OVERRUN


def test_split_sale_needs_a_positive_count() -> None:
    assert refused(sell_split(shelf(), STAMP, 0)) is RefusalReason.BAD_UNITS


def test_an_expired_pack_is_not_sold() -> None:
    expired = shelf(expiry=NOW.date() - timedelta(days=1))
    assert refused(sell_whole(expired, STAMP)) is RefusalReason.EXPIRED
    assert ok(sell_whole(shelf(expiry=NOW.date()), STAMP)).state is CodeState.DISPENSED


@pytest.mark.parametrize("state", [CodeState.RECALLED, CodeState.LOCKED, CodeState.EXPIRED])
def test_blocked_packs_are_not_sold(state: CodeState) -> None:
    blocked = ok(block(shelf(), state))
    assert blocked.last_event is RegistryEvent.BLOCK
    assert refused(sell_split(blocked, STAMP, 1)) is RefusalReason.BLOCKED


def test_block_needs_a_blocking_state() -> None:
    with pytest.raises(ValueError, match="blocking"):
        block(shelf(), CodeState.IN_STOCK)


def test_a_whole_pack_returned_is_back_in_stock() -> None:
    sold = ok(sell_whole(shelf(), STAMP))
    back = ok(return_units(sold, institution=HERE, units=10, sold_at=NOW, now=NOW))
    assert (back.state, back.remaining_units, back.last_event) == (
        CodeState.IN_STOCK,
        10,
        RegistryEvent.SALE_RETURN,
    )


def test_returned_split_units_leave_the_pack_opened() -> None:
    opened = ok(sell_split(shelf(units=10), STAMP, 4))
    back = ok(return_units(opened, institution=HERE, units=4, sold_at=NOW, now=NOW))
    assert (back.state, back.remaining_units, back.opened) == (
        CodeState.DISPENSED_PARTIAL,
        10,
        True,
    )


def test_the_return_window_is_ten_days_by_default() -> None:
    sold = ok(sell_whole(shelf(), STAMP))
    on_day_ten = NOW + timedelta(days=10)
    assert ok(return_units(sold, institution=HERE, units=10, sold_at=NOW, now=on_day_ten))
    late = return_units(
        sold, institution=HERE, units=10, sold_at=NOW, now=on_day_ten + timedelta(seconds=1)
    )
    assert refused(late) is RefusalReason.WINDOW_EXPIRED
    longer = return_units(
        sold, institution=HERE, units=10, sold_at=NOW, now=NOW + timedelta(days=20), window_days=30
    )
    assert ok(longer).state is CodeState.IN_STOCK


def test_returns_are_checked_against_place_state_and_pack_size() -> None:
    sold = ok(sell_split(shelf(units=10), STAMP, 4))
    assert (
        refused(restore_units(sold, institution=THERE, units=1)) is RefusalReason.WRONG_INSTITUTION
    )
    assert refused(restore_units(sold, institution=HERE, units=5)) is RefusalReason.EXCEEDS_PACK
    assert refused(restore_units(sold, institution=HERE, units=0)) is RefusalReason.BAD_UNITS
    assert refused(restore_units(shelf(), institution=HERE, units=1)) is RefusalReason.NOT_DISPENSED


_OPERATIONS = st.lists(
    st.tuples(st.sampled_from(["sell", "return"]), st.integers(min_value=1, max_value=12)),
    max_size=30,
)


@given(units_per_pack=st.integers(min_value=1, max_value=10), operations=_OPERATIONS)
def test_split_sales_and_returns_never_take_more_than_the_pack(
    units_per_pack: int, operations: list[tuple[str, int]]
) -> None:
    record = shelf(units=units_per_pack)
    net_sold = 0
    for operation, units in operations:
        if operation == "sell":
            result = sell_split(record, STAMP, units)
            accepted = units <= units_per_pack - net_sold
            net_sold += units if accepted else 0
        else:
            result = restore_units(record, institution=HERE, units=units)
            accepted = record.opened and units <= net_sold
            net_sold -= units if accepted else 0
        assert isinstance(result, CodeRecord) is accepted
        if isinstance(result, CodeRecord):
            record = result
        assert 0 <= net_sold <= units_per_pack
        assert record.remaining_units == units_per_pack - net_sold
