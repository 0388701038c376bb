"""The indicator tree and policy versions load from configuration and refuse bad shapes."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from credit_scorer.domain.config import ConfigError, read_config
from credit_scorer.domain.indicators import IndicatorTree, Kind, load_tree, tree_for
from credit_scorer.domain.policy import Policy, load_policies, policy_for

DEFAULT: dict[str, Any] = json.loads(read_config())


def _document(nodes: list[dict[str, Any]]) -> str:
    return json.dumps({"tree": {"version": "t", "effective_from": "2025-01-01", "nodes": nodes}})


def _leaf(code: str, parent: str, **overrides: Any) -> dict[str, Any]:
    leaf: dict[str, Any] = {
        "code": code,
        "parent": parent,
        "level": 3,
        "name_zh": "叶",
        "name_en": "leaf",
        "kind": "deduction",
        "points_per_event": 5,
        "cap": 20,
        "validity_days": 365,
        "appealable": True,
        "event_types": ["inspection_finding"],
    }
    leaf.update(overrides)
    return leaf


def _minimal(**leaf_overrides: Any) -> list[dict[str, Any]]:
    return [
        {"code": "01", "parent": None, "level": 1, "name_zh": "一", "name_en": "one"},
        {"code": "0101", "parent": "01", "level": 2, "name_zh": "二", "name_en": "two"},
        _leaf("010101", "0101", **leaf_overrides),
    ]


def test_default_tree_has_the_national_shape(tree: IndicatorTree) -> None:
    levels = Counter(node.level for node in tree.nodes)
    assert levels == {1: 6, 2: 23, 3: 59}
    assert tree.version == "2025.1"
    assert tree.effective_from == date(2025, 1, 1)
    first = {n.name_zh for n in tree.nodes if n.level == 1}
    assert first == {"协议履行", "基金使用", "医疗服务", "信息数据", "社会评价", "信用承诺与修复"}


def test_default_tree_examples_from_the_domain(tree: IndicatorTree) -> None:
    setup = tree.rule("010101")
    assert tree.node("010101").name_zh == "机构设置"
    assert (setup.points_per_event, setup.cap) == (Decimal(10), Decimal(10))
    rules = tree.rule("010102")
    assert tree.node("010102").name_zh == "规章制度"
    assert (rules.points_per_event, rules.cap) == (Decimal(5), Decimal(20))


def test_every_leaf_is_named_in_both_languages_and_reacts_to_events(tree: IndicatorTree) -> None:
    for node in tree.nodes:
        assert node.name_zh
        assert node.name_en
        assert (node.rule is not None) == (node.level == 3)
    bonuses = [n for n in tree.nodes if n.rule and n.rule.kind is Kind.BONUS]
    assert bonuses
    assert all(n.rule and not n.rule.appealable for n in bonuses)


def test_leaves_for_finds_event_types(tree: IndicatorTree) -> None:
    assert [n.code for n in tree.leaves_for("tracecode_alert:duplicate_sale")] == ["020101"]
    assert [n.code for n in tree.leaves_for("commitment_signed")] == ["060101"]
    assert len(tree.leaves_for("inspection_finding")) > 10
    assert tree.leaves_for("no_such_event") == ()
    for event in ("penalty", "complaint", "drg_data_quality", "overdue_rectification"):
        assert tree.leaves_for(event), event


def test_fraud_and_joint_punishment_are_not_appealable(tree: IndicatorTree) -> None:
    for event in ("fraud_confirmed", "joint_punishment_listing"):
        (leaf,) = tree.leaves_for(event)
        assert leaf.rule is not None
        assert not leaf.rule.appealable


def test_unknown_codes_and_inner_nodes_have_no_rule(tree: IndicatorTree) -> None:
    with pytest.raises(KeyError, match="not in tree"):
        tree.node("999999")
    with pytest.raises(KeyError, match="not a third-level"):
        tree.rule("0101")


def test_a_minimal_tree_loads_from_bytes() -> None:
    tree = load_tree(_document(_minimal()).encode())
    assert tree.rule("010101").points_per_event == 5


@pytest.mark.parametrize(
    ("nodes", "message"),
    [
        ([*_minimal(), _minimal()[0]], "appears twice"),
        ([*_minimal()[:1], _leaf("010101", "0101")], "parent '0101' does not exist"),
        ([*_minimal()[:2], _leaf("010101", "01")], "parent '01' is level 1, expected 2"),
        ([*_minimal()[:1], _minimal()[1]], r"\(0101\): has no child indicators"),
        (_minimal(cap=3), "cap: 3 is below points_per_event 5"),
        (_minimal(kind="penalty"), "not deduction or bonus"),
        (_minimal(kind="bonus"), "a bonus cannot be contested"),
        (_minimal(event_types=[]), "at least one event"),
        (_minimal(points_per_event="5"), "points_per_event: expected a number"),
        (_minimal(appealable="yes"), "appealable: expected true or false"),
        (_minimal(validity_days=0), "validity_days: 0 is below the minimum 1"),
        (_minimal(points_per_event=0), "points_per_event: 0 is below the minimum 0.01"),
        (_minimal(event_types="penalty"), "event_types: expected an array of non-empty strings"),
        (_minimal(name_zh=""), "name_zh: expected a non-empty string"),
        (_minimal(level=4), "deeper than 3"),
        (
            [{**_minimal()[0], "parent": "00"}, *_minimal()[1:]],
            "first-level indicator has no parent",
        ),
        ([{**_minimal()[0], "cap": 5}, *_minimal()[1:]], "only third-level"),
        (
            [{k: v for k, v in _minimal()[0].items() if k != "name_en"}, *_minimal()[1:]],
            "name_en: missing",
        ),
    ],
)
def test_bad_trees_are_refused_with_a_clear_place(
    nodes: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_tree(_document(nodes))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{", "not valid JSON"),
        ("[]", "document: expected an object"),
        ("{}", "tree: missing"),
        (
            json.dumps(
                {"tree": {"version": "t", "effective_from": "2025-13-01", "nodes": _minimal()}}
            ),
            "not an ISO date",
        ),
        (
            json.dumps({"tree": {"version": "t", "effective_from": "2025-01-01", "nodes": []}}),
            "non-empty array",
        ),
    ],
)
def test_bad_documents_are_refused(raw: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_tree(raw)


def test_tree_for_picks_the_version_in_force() -> None:
    old = load_tree(_document(_minimal()))
    new = IndicatorTree("t2", date(2026, 1, 1), old.nodes)
    assert tree_for(date(2025, 12, 31), [new, old]) is old
    assert tree_for(date(2026, 1, 1), [new, old]) is new
    with pytest.raises(LookupError, match="no version is in force on 2024-12-31"):
        tree_for(date(2024, 12, 31), [old, new])
    with pytest.raises(ConfigError, match="repeats"):
        tree_for(date(2026, 1, 1), [old, IndicatorTree("t3", old.effective_from, old.nodes)])


def test_default_policies_switch_on_1_april_2026(policies: tuple[Policy, ...]) -> None:
    assert [p.version for p in policies] == ["2025.1", "2026.1"]
    before = policy_for(date(2026, 3, 31), policies)
    after = policy_for(date(2026, 4, 1), policies)
    assert (before.repair_waiting_months, before.repair_review_working_days) == (6, 15)
    assert (after.repair_waiting_months, after.repair_review_working_days) == (3, 10)
    assert after.notes["repair_waiting_months"].startswith("Assumption")


def test_default_policy_values(policy: Policy) -> None:
    assert policy.base_score == 100
    assert dict(policy.grade_thresholds) == {"A": 90, "B": 80, "C": 65}
    assert policy.veto_event_types == {"fraud_confirmed", "joint_punishment_listing"}
    assert policy.blacklist_years == 3
    assert policy.min_agreement_months == 6
    assert policy.repair_review_working_days == 15
    assert "bonus_cap" in policy.notes


def _policy_document(**overrides: Any) -> str:
    policy = {**DEFAULT["policies"][0], **overrides}
    return json.dumps({"policies": [policy]})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"grade_thresholds": {"A": 80, "B": 90, "C": 65}}, "need A > B > C > 0"),
        ({"grade_thresholds": {"A": 90, "B": 80}}, r"grade_thresholds\.C: missing"),
        ({"blacklist_event_types": ["complaint"]}, r"\['complaint'\] are not veto event types"),
        ({"notes": {"colour": "blue"}}, r"notes\.colour: not a policy parameter"),
        ({"base_score": 120}, "base <= 100"),
        ({"repair_review_working_days": 0}, "below the minimum 1"),
        ({"blacklist_years": 2.5}, "expected a whole number"),
    ],
)
def test_bad_policies_are_refused(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_policies(_policy_document(**overrides))


def test_policy_versions_must_not_share_a_date() -> None:
    first = DEFAULT["policies"][0]
    raw = json.dumps({"policies": [first, {**first, "version": "again"}]})
    with pytest.raises(ConfigError, match="repeats a version name or effective date"):
        load_policies(raw)


def test_read_config_reads_any_path(tmp_path: Path) -> None:
    path = tmp_path / "tree.json"
    path.write_text(_document(_minimal()), encoding="utf-8")
    assert load_tree(read_config(path)).version == "t"
