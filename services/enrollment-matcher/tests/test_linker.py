"""Linkage: the deterministic rule, the hard cases, EM weights, order, quality on truth."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import date

from enrollment_matcher.domain.linker import Linker
from enrollment_matcher.domain.records import Record, parse_row
from enrollment_matcher.domain.scoring import FIELDS, LEVELS, Weights
from enrollment_matcher.domain.training import fit
from enrollment_matcher.synthetic import Population

TODAY = date(2026, 11, 30)

FATHER = "150302198001011237"
BASE = {
    "source": "insurance",
    "gender": "1",
    "hukou_admdvs": "150302001002",
    "address": "海勃湾区新华镇红旗村3号",
}


def rec(record_id: str, **fields: str) -> Record:
    parsed = parse_row({"record_id": record_id, **BASE, **fields}, today=TODAY)
    assert isinstance(parsed, Record), parsed
    return parsed


def linker(weights: Weights) -> Linker:
    counter = itertools.count()
    return Linker(weights, new_person_id=lambda: f"p{next(counter):06d}")


def test_a_consistent_id_links_deterministically(weights: Weights) -> None:
    engine = linker(weights)
    first = engine.add(rec("a", certno=FATHER, psn_name="王建国"))
    second = engine.add(rec("b", certno=FATHER[:6] + FATHER[8:17], psn_name="王建國"))
    assert first.created
    assert second.person_id == first.person_id
    assert second.evidence["rule"] == "certno"


def test_a_child_under_the_parents_number_is_not_the_parent(weights: Weights) -> None:
    engine = linker(weights)
    father = engine.add(rec("a", certno=FATHER, psn_name="王建国", birth_date="1980-01-01"))
    child = engine.add(
        rec("b", certno=FATHER, psn_name="王小明", birth_date="2019-06-01", source="health")
    )
    assert child.created
    assert child.person_id != father.person_id


def test_the_same_number_under_another_name_is_no_proof(weights: Weights) -> None:
    engine = linker(weights)
    engine.add(rec("a", certno=FATHER, psn_name="王建国"))
    other = engine.add(rec("b", certno=FATHER, psn_name="李秀英", gender="2"))
    assert other.created


def test_twins_stay_two_persons(weights: Weights) -> None:
    engine = linker(weights)
    one = engine.add(rec("a", psn_name="王子涵", birth_date="2015-03-03", gender="2"))
    two = engine.add(rec("b", psn_name="王子轩", birth_date="2015-03-03", gender="1"))
    assert two.person_id != one.person_id


def test_homophone_and_traditional_spelling_link_without_an_id(weights: Weights) -> None:
    engine = linker(weights)
    first = engine.add(rec("a", certno=FATHER, psn_name="刘伟", birth_date="1980-01-01"))
    second = engine.add(rec("b", psn_name="劉玮", birth_date="1980-01-01", phone="13800000000"))
    assert second.person_id == first.person_id
    assert second.evidence["rule"] == "probabilistic"


def test_two_different_valid_numbers_never_link(weights: Weights) -> None:
    engine = linker(weights)
    other = "150302198001011229"
    engine.add(rec("a", certno=FATHER, psn_name="王建国"))
    assert engine.add(rec("b", certno=other, psn_name="王建国", gender="2")).created


def test_a_record_bridging_two_persons_merges_them_into_the_older() -> None:
    # Hand-set weights isolate the merge rule: a shared name alone stays below the link
    # threshold, a shared phone number is decisive.
    levels = {f: dict.fromkeys(LEVELS[f], 0.5) for f in FIELDS}
    m = {
        **levels,
        "name": {**levels["name"], "exact": 0.8},
        "phone": {"agree": 0.99, "differ": 0.01},
    }
    u = {
        **levels,
        "name": {**levels["name"], "exact": 0.2},
        "phone": {"agree": 1e-6, "differ": 0.999999},
    }
    engine = linker(Weights(m=m, u=u, prior=0.1))
    no_id = engine.add(rec("a", psn_name="赵丽", phone="13900000001"))
    with_id = engine.add(rec("b", certno="150302198001010226", psn_name="赵丽"))
    assert with_id.person_id != no_id.person_id
    bridge = engine.add(rec("c", certno="150302198001010226", psn_name="赵丽", phone="13900000001"))
    assert bridge.merged == (with_id.person_id,)
    assert bridge.person_id == no_id.person_id  # the older id survives
    assert engine.person_of["a"] == engine.person_of["b"] == bridge.person_id


def test_without_data_only_ids_link() -> None:
    cold = fit([])
    engine = linker(cold)
    engine.add(rec("a", psn_name="刘伟", birth_date="1980-01-01"))
    assert engine.add(rec("b", psn_name="刘伟", birth_date="1980-01-01")).created


def test_em_learns_that_agreement_on_names_and_birth_dates_means_a_match(weights: Weights) -> None:
    assert weights.weight(("exact", None, None, None, None, None, None)) > 8
    assert weights.weight((None, "exact", "exact", None, None, None, None)) > 5
    assert weights.weight((None, "differ", None, None, None, None, None)) < -5
    assert 0 < weights.prior < 1


def _partition(engine: Linker) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = defaultdict(set)
    for rid, pid in engine.person_of.items():
        groups[pid].add(rid)
    return {frozenset(g) for g in groups.values()}


def test_quality_against_the_generators_truth(
    population: tuple[Population, list[Record]], weights: Weights
) -> None:
    pop, records = population
    engine = linker(weights)
    for record in records:
        engine.add(record)
    true_pairs = found = right = 0
    truth: dict[int, int] = defaultdict(int)
    for record in records:
        truth[pop.truth[record.record_id]] += 1
    true_pairs = sum(n * (n - 1) // 2 for n in truth.values())
    for group in _partition(engine):
        found += len(group) * (len(group) - 1) // 2
        same: dict[int, int] = defaultdict(int)
        for rid in group:
            same[pop.truth[rid]] += 1
        right += sum(n * (n - 1) // 2 for n in same.values())
    precision, recall = right / found, right / true_pairs
    assert precision > 0.99
    assert recall > 0.98


def test_records_in_another_order_give_almost_the_same_persons(
    population: tuple[Population, list[Record]], weights: Weights
) -> None:
    _, records = population
    forward, backward = linker(weights), linker(weights)
    for record in records:
        forward.add(record)
    for record in reversed(records):
        backward.add(record)
    differing = _partition(forward) ^ _partition(backward)
    assert len(differing) <= 0.01 * len(_partition(forward))


def test_a_missing_birth_date_is_taken_from_the_number() -> None:
    assert rec("a", certno=FATHER).birth_date == date(1980, 1, 1)
