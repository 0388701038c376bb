"""Versioned credit policy: base score, grade thresholds, veto rules, lists and time windows.

Every number here is a rule the bureau (or the national government) can change with an
effective date — the national credit-repair rule changes on 2026-04-01 — so the parameters
live in the configuration document as a list of versions, and each decision uses the version
in force on its own date. Values that are not officially published are flagged in `notes`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Literal

from credit_scorer.domain import config as cfg

Grade = Literal["A", "B", "C", "D"]
GRADED: tuple[Grade, ...] = ("A", "B", "C")  # D is whatever falls below C's threshold


@dataclass(frozen=True, slots=True)
class Policy:
    """One version of the credit policy parameters."""

    version: str
    effective_from: date
    base_score: Decimal
    bonus_cap: Decimal
    grade_thresholds: Mapping[Grade, Decimal]
    veto_event_types: frozenset[str]
    blacklist_event_types: frozenset[str]
    blacklist_years: int
    min_agreement_months: int
    objection_filing_working_days: int
    objection_review_working_days: int
    repair_waiting_months: int
    repair_review_working_days: int
    inspection_months: Mapping[str, int]
    notes: Mapping[str, str]


def _thresholds(raw: cfg.Obj, where: str) -> dict[Grade, Decimal]:
    block = cfg.obj(cfg.field(raw, "grade_thresholds", where), f"{where}.grade_thresholds")
    found = {g: cfg.number(block, g, f"{where}.grade_thresholds") for g in GRADED}
    if not found["A"] > found["B"] > found["C"] > 0:
        raise cfg.ConfigError(f"{where}.grade_thresholds: need A > B > C > 0, got {found}")
    return found


INSPECTION_GROUPS = ("exempt", "normal", "intensified", "key", "ungraded")
"""The supervision tiers plus subjects not graded yet (who are inspected as `normal`)."""


def _inspection_months(raw: cfg.Obj, where: str) -> dict[str, int]:
    """Months between routine inspections per tier; 0 means no routine inspection."""
    at = f"{where}.inspection_months"
    block = cfg.obj(cfg.field(raw, "inspection_months", where), at)
    unknown = sorted(set(block) - set(INSPECTION_GROUPS))
    if unknown:
        raise cfg.ConfigError(f"{at}: {unknown} are not tiers ({', '.join(INSPECTION_GROUPS)})")
    return {group: cfg.integer(block, group, at) for group in INSPECTION_GROUPS}


def _notes(raw: cfg.Obj, where: str) -> dict[str, str]:
    """Notes are keyed by parameter name, so a note cannot drift away from its value."""
    block = cfg.obj(raw.get("notes", {}), f"{where}.notes")
    known = {f.name for f in fields(Policy)}
    for key in block:
        if key not in known:
            raise cfg.ConfigError(f"{where}.notes.{key}: not a policy parameter")
    return {key: cfg.text(block, key, f"{where}.notes") for key in block}


def _policy(raw: cfg.Obj, where: str) -> Policy:
    veto = frozenset(cfg.texts(raw, "veto_event_types", where))
    black = frozenset(cfg.texts(raw, "blacklist_event_types", where))
    if not black <= veto:
        raise cfg.ConfigError(
            f"{where}.blacklist_event_types: {sorted(black - veto)} are not veto event types"
            " (the black list is for D grades caused by a veto)"
        )
    base = cfg.number(raw, "base_score", where, minimum=Decimal(1))
    thresholds = _thresholds(raw, where)
    if base > 100 or thresholds["A"] > base:
        raise cfg.ConfigError(f"{where}.base_score: need A threshold <= base <= 100")
    return Policy(
        version=cfg.text(raw, "version", where),
        effective_from=cfg.iso_date(raw, "effective_from", where),
        base_score=base,
        bonus_cap=cfg.number(raw, "bonus_cap", where),
        grade_thresholds=thresholds,
        veto_event_types=veto,
        blacklist_event_types=black,
        blacklist_years=cfg.integer(raw, "blacklist_years", where, minimum=1),
        min_agreement_months=cfg.integer(raw, "min_agreement_months", where),
        objection_filing_working_days=cfg.integer(
            raw, "objection_filing_working_days", where, minimum=1
        ),
        objection_review_working_days=cfg.integer(
            raw, "objection_review_working_days", where, minimum=1
        ),
        repair_waiting_months=cfg.integer(raw, "repair_waiting_months", where),
        repair_review_working_days=cfg.integer(raw, "repair_review_working_days", where, minimum=1),
        inspection_months=_inspection_months(raw, where),
        notes=_notes(raw, where),
    )


def load_policies(raw: str | bytes) -> tuple[Policy, ...]:
    """The `policies` block of a configuration document, oldest version first."""
    items = cfg.objects(cfg.field(cfg.parse_document(raw), "policies", "document"), "policies")
    policies = tuple(_policy(item, f"policies[{i}]") for i, item in enumerate(items))
    cfg.check_versions(policies, "policies")
    return tuple(sorted(policies, key=lambda p: p.effective_from))


def policy_for(on: date, policies: Sequence[Policy]) -> Policy:
    """The policy version in force on a date."""
    return cfg.in_force(on, policies)
