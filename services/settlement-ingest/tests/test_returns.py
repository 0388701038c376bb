"""The return rules ingest applies before releasing any unit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from settlement_ingest.domain.returns import RequestedReturn, SoldLine, judge_return

SOLD_AT = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
WHOLE = SoldLine(
    "XA01ABA014A001010101445", 0, Decimal(2), ("81234560000000010000", "81234560000000020000")
)
SPLIT = SoldLine("XA01ABA014A001010101446", 1, Decimal(6), ("81234570000000010000",))


def _judge(
    requested: list[RequestedReturn],
    *,
    status: str = "approved",
    already: dict[int, Decimal] | None = None,
    days_later: int = 1,
) -> tuple[bool, list[str]]:
    verdict = judge_return(
        status=status,
        setl_time=SOLD_AT,
        sold=[WHOLE, SPLIT],
        already_returned=already or {},
        requested=requested,
        now=SOLD_AT + timedelta(days=days_later),
        window_days=10,
    )
    return verdict.accepted, [h.rule for h in verdict.hits]


def test_a_whole_pack_is_returned_with_its_code() -> None:
    assert _judge([RequestedReturn(0, Decimal(1), ("81234560000000010000",))]) == (True, [])


def test_split_units_are_returned_under_the_pack_code() -> None:
    assert _judge([RequestedReturn(1, Decimal(4), ("81234570000000010000",))]) == (True, [])


def test_only_approved_sales_can_be_returned() -> None:
    accepted, rules = _judge(
        [RequestedReturn(0, Decimal(1), ("81234560000000010000",))], status="rejected"
    )
    assert (accepted, rules) == (False, ["return_not_settled"])


def test_the_return_window_is_ten_days() -> None:
    request = [RequestedReturn(0, Decimal(1), ("81234560000000010000",))]
    assert _judge(request, days_later=10)[0]
    assert _judge(request, days_later=11) == (False, ["return_window_expired"])


def test_cannot_return_more_than_is_left() -> None:
    request = [RequestedReturn(1, Decimal(3), ("81234570000000010000",))]
    assert _judge(request, already={1: Decimal(3)})[0]
    assert _judge(request, already={1: Decimal(4)}) == (False, ["return_exceeds_sold"])


def test_codes_must_come_from_the_sale() -> None:
    accepted, rules = _judge([RequestedReturn(0, Decimal(1), ("89999990000000010000",))])
    assert not accepted
    assert "return_code_not_in_sale" in rules


def test_whole_pack_returns_need_one_code_per_pack() -> None:
    accepted, rules = _judge([RequestedReturn(0, Decimal(2), ("81234560000000010000",))])
    assert (accepted, rules) == (False, ["quantity_mismatch"])


def test_unknown_line() -> None:
    assert _judge([RequestedReturn(5, Decimal(1), ())]) == (False, ["return_line_unknown"])
