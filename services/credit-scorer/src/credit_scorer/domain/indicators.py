"""The versioned three-level indicator tree that turns credit events into points.

The bureau revises the indicator system (the national platform models it as nodes with a
parent code, a depth and a version), so the tree is data: loaded from the configuration
document, validated as a whole, and chosen by the date a score is computed for. Only the
third-level leaves carry rules — points per event, a cap per cycle, how long a deduction
counts, whether it may be contested and which event types it reacts to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from credit_scorer.domain import config as cfg

LEAF_LEVEL = 3


class Kind(StrEnum):
    """Whether a leaf's points are taken off the score or added to it."""

    DEDUCTION = "deduction"
    BONUS = "bonus"


@dataclass(frozen=True, slots=True)
class Rule:
    """What a third-level indicator does with one event."""

    kind: Kind
    points_per_event: Decimal
    cap: Decimal
    validity_days: int
    appealable: bool
    event_types: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class IndicatorNode:
    """One node of the tree; `rule` is set exactly on the third-level leaves."""

    code: str
    parent: str | None
    level: int
    name_zh: str
    name_en: str
    rule: Rule | None = None


@dataclass(frozen=True, slots=True)
class IndicatorTree:
    """A whole indicator system as issued on `effective_from`."""

    version: str
    effective_from: date
    nodes: tuple[IndicatorNode, ...]
    _by_code: Mapping[str, IndicatorNode] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Index once: scoring looks a rule up for every ledger row it folds."""
        object.__setattr__(self, "_by_code", {n.code: n for n in self.nodes})

    def node(self, code: str) -> IndicatorNode:
        """The node with this code; an unknown code is a configuration mismatch."""
        try:
            return self._by_code[code]
        except KeyError:
            raise KeyError(f"indicator {code!r} is not in tree {self.version}") from None

    def rule(self, code: str) -> Rule:
        """The rule of a leaf; asking for the rule of an inner node is a caller error."""
        found = self.node(code).rule
        if found is None:
            raise KeyError(f"indicator {code!r} is not a third-level indicator")
        return found

    def leaves_for(self, event_type: str) -> tuple[IndicatorNode, ...]:
        """The leaves reacting to an event type; an inspector picks one when several do."""
        return tuple(n for n in self.nodes if n.rule and event_type in n.rule.event_types)


def _rule(raw: cfg.Obj, where: str) -> Rule:
    kind_name = cfg.text(raw, "kind", where)
    try:
        kind = Kind(kind_name)
    except ValueError as exc:
        raise cfg.ConfigError(f"{where}.kind: {kind_name!r} is not deduction or bonus") from exc
    points = cfg.number(raw, "points_per_event", where, minimum=Decimal("0.01"))
    cap = cfg.number(raw, "cap", where, minimum=Decimal("0.01"))
    if cap < points:
        raise cfg.ConfigError(f"{where}.cap: {cap} is below points_per_event {points}")
    appealable = cfg.flag(raw, "appealable", where)
    if appealable and kind is Kind.BONUS:
        raise cfg.ConfigError(f"{where}.appealable: a bonus cannot be contested")
    event_types = cfg.texts(raw, "event_types", where)
    if not event_types:
        raise cfg.ConfigError(f"{where}.event_types: a leaf must react to at least one event")
    return Rule(
        kind=kind,
        points_per_event=points,
        cap=cap,
        validity_days=cfg.integer(raw, "validity_days", where, minimum=1),
        appealable=appealable,
        event_types=event_types,
    )


def _node(raw: cfg.Obj, where: str) -> IndicatorNode:
    level = cfg.integer(raw, "level", where, minimum=1)
    if level > LEAF_LEVEL:
        raise cfg.ConfigError(f"{where}.level: {level} is deeper than {LEAF_LEVEL}")
    leaf_keys = {"kind", "points_per_event", "cap", "validity_days", "appealable", "event_types"}
    if level < LEAF_LEVEL and leaf_keys & raw.keys():
        raise cfg.ConfigError(f"{where}: only third-level indicators carry scoring fields")
    return IndicatorNode(
        code=cfg.text(raw, "code", where),
        parent=cfg.optional_text(raw, "parent", where),
        level=level,
        name_zh=cfg.text(raw, "name_zh", where),
        name_en=cfg.text(raw, "name_en", where),
        rule=_rule(raw, where) if level == LEAF_LEVEL else None,
    )


def _check_shape(nodes: Sequence[IndicatorNode], where: str) -> None:
    """Codes unique, parents exist one level up, and no inner node is left without children."""
    by_code: dict[str, IndicatorNode] = {}
    for i, node in enumerate(nodes):
        if node.code in by_code:
            raise cfg.ConfigError(f"{where}[{i}]: code {node.code!r} appears twice")
        by_code[node.code] = node
    for i, node in enumerate(nodes):
        at = f"{where}[{i}] ({node.code})"
        if node.level == 1:
            if node.parent is not None:
                raise cfg.ConfigError(f"{at}: a first-level indicator has no parent")
            continue
        parent = by_code.get(node.parent or "")
        if parent is None:
            raise cfg.ConfigError(f"{at}: parent {node.parent!r} does not exist")
        if parent.level != node.level - 1:
            raise cfg.ConfigError(
                f"{at}: parent {parent.code!r} is level {parent.level}, expected {node.level - 1}"
            )
    parents = {n.parent for n in nodes}
    for i, node in enumerate(nodes):
        if node.level < LEAF_LEVEL and node.code not in parents:
            raise cfg.ConfigError(f"{where}[{i}] ({node.code}): has no child indicators")


def load_tree(raw: str | bytes) -> IndicatorTree:
    """The `tree` block of a configuration document, validated as a whole."""
    tree = cfg.obj(cfg.field(cfg.parse_document(raw), "tree", "document"), "tree")
    nodes = tuple(
        _node(item, f"tree.nodes[{i}]")
        for i, item in enumerate(cfg.objects(cfg.field(tree, "nodes", "tree"), "tree.nodes"))
    )
    _check_shape(nodes, "tree.nodes")
    return IndicatorTree(
        version=cfg.text(tree, "version", "tree"),
        effective_from=cfg.iso_date(tree, "effective_from", "tree"),
        nodes=nodes,
    )


def tree_for(on: date, trees: Sequence[IndicatorTree]) -> IndicatorTree:
    """The tree in force on a date (the latest issued on or before it)."""
    cfg.check_versions(trees, "trees")
    return cfg.in_force(on, trees)
