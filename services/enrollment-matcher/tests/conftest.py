"""Fixtures of the enrollment unit tests: a small synthetic population and weights fitted on it."""

from __future__ import annotations

from datetime import date

import pytest
from enrollment_matcher.domain.records import Record, parse_row
from enrollment_matcher.domain.scoring import Weights
from enrollment_matcher.domain.training import fit
from enrollment_matcher.synthetic import Population

TODAY = date(2026, 11, 30)


@pytest.fixture(scope="session")
def population() -> tuple[Population, list[Record]]:
    pop = Population(1500, seed=11)
    records = [parse_row(row, today=TODAY) for row in pop.records()]
    return pop, [r for r in records if isinstance(r, Record)]


@pytest.fixture(scope="session")
def weights(population: tuple[Population, list[Record]]) -> Weights:
    return fit(population[1])
