"""Shared fixtures for the credit domain tests: the shipped configuration and a row factory.

Session-scoped so hypothesis tests may use them, and because the configuration is immutable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from credit_scorer.domain.config import read_config
from credit_scorer.domain.indicators import IndicatorTree, load_tree
from credit_scorer.domain.ledger import Deduction, new_row
from credit_scorer.domain.policy import Policy, load_policies, policy_for

RowFactory = Callable[..., Deduction]


@pytest.fixture(scope="session")
def tree() -> IndicatorTree:
    return load_tree(read_config())


@pytest.fixture(scope="session")
def policies() -> tuple[Policy, ...]:
    return load_policies(read_config())


@pytest.fixture(scope="session")
def policy(policies: tuple[Policy, ...]) -> Policy:
    """The 2025 policy version (grading parameters are the same in both versions)."""
    return policy_for(date(2025, 6, 1), policies)


@pytest.fixture(scope="session")
def make_row(tree: IndicatorTree) -> RowFactory:
    """A row for `code` on `on`, with the leaf's points unless `points` is given."""

    def build(
        deduction_id: str,
        code: str,
        on: date,
        *,
        event_type: str | None = None,
        points: Decimal | None = None,
        subject_id: str = "H15030200001",
    ) -> Deduction:
        rule = tree.rule(code)
        row = new_row(
            tree,
            deduction_id=deduction_id,
            subject_id=subject_id,
            indicator_code=code,
            source_event_id=f"evt-{deduction_id}",
            event_type=event_type or rule.event_types[0],
            evidence={"case": deduction_id},
            effective_from=on,
        )
        return row if points is None else replace(row, points=points)

    return build
