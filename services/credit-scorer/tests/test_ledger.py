"""Ledger rows are built from the tree and refuse shapes that could not be scored."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from credit_scorer.domain.indicators import IndicatorTree
from credit_scorer.domain.ledger import Deduction, RowState, new_row

DAY = date(2026, 5, 6)


def _row(tree: IndicatorTree, event_type: str = "tracecode_alert:duplicate_sale") -> Deduction:
    return new_row(
        tree,
        deduction_id="d1",
        subject_id="P15030200007",
        indicator_code="020101",
        source_event_id="alert-1",
        event_type=event_type,
        evidence={"drug_trac_codg": "81234560000000010000"},
        effective_from=DAY,
    )


def test_a_new_row_takes_points_and_validity_from_the_leaf(tree: IndicatorTree) -> None:
    row = _row(tree)
    assert row.points == 5
    assert row.expires_at == DAY + timedelta(days=365)
    assert row.tree_version == "2025.1"
    assert row.state is RowState.ACTIVE
    assert row.evidence == {"drug_trac_codg": "81234560000000010000"}


def test_a_row_must_match_its_indicators_event_types(tree: IndicatorTree) -> None:
    with pytest.raises(ValueError, match="does not react to 'complaint'"):
        _row(tree, event_type="complaint")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"points": Decimal(0)}, "points must be positive"),
        ({"expires_at": DAY}, "expires_at must be after effective_from"),
        ({"state": RowState.REPAIRED}, "repaired_from is set exactly when repaired"),
        ({"repaired_from": date(2027, 1, 1)}, "repaired_from is set exactly when repaired"),
    ],
)
def test_unscorable_rows_are_refused(
    tree: IndicatorTree, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        replace(_row(tree), **changes)
