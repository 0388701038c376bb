"""The monthly notice (月告知) as a pure function of its recorded inputs.

`build_monthly` is deterministic: the stored `inputs` (projection rows, region digest,
policy parameters, generator version) rebuild the same body, which is what makes an issued
notice reproducible and auditable. Personal data in evidence is masked here, before the
notice is stored, so neither the inbox nor a webhook can leak it.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson

from disclosure_publisher.domain.drg import (
    CaseCounts,
    DrgMetrics,
    GroupStats,
    OutlierRatios,
    Region,
    institution_metrics,
)
from disclosure_publisher.domain.masking import mask_value

GENERATOR = "monthly/1"
"""Bump when the body's shape or a formula changes: the version is recorded per notice."""


@dataclass(frozen=True, slots=True)
class StatusRow:
    status: str
    settlements: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class AlertRow:
    alert_id: str
    rule: str
    severity: str
    settlement_id: str | None
    drug_trac_codg: str | None
    confirmed: bool
    evidence: dict[str, Any]
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class CreditRow:
    grade: str | None
    score: Decimal | None
    lists: list[str]
    tier: str | None
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class FeedbackRow:
    item_id: str
    status: str
    due_date: date
    line_ref: str | None
    period: str


@dataclass(frozen=True, slots=True)
class UninsuredRow:
    """A person (pseudonymous id only) registered in a grassroots unit's area, uninsured."""

    person_id: str
    reason: str | None
    target_groups: list[str]
    since: datetime


@dataclass(frozen=True, slots=True)
class MonthlyInputs:
    """Everything one institution's monthly notice is computed from."""

    fixmedins_code: str
    name: str | None
    level: str | None
    period: str
    settlements: list[StatusRow]
    drg_groups: list[GroupStats]
    drg_counts: CaseCounts
    alerts: list[AlertRow]
    credit: CreditRow | None
    open_feedback: list[FeedbackRow]
    adjustment: float = 1.0
    budget: Decimal | None = None
    response_days: int = 30
    issued_on: date = field(default_factory=date.today)
    drg_case_costs: dict[str, list[Decimal]] = field(default_factory=dict)
    """Each grouped case's cost, by group: what the outlier counts are computed from."""
    outlier_ratios: OutlierRatios = field(default_factory=OutlierRatios)
    uninsured: list[UninsuredRow] | None = None
    """Only for grassroots units (villages, communities): their uninsured list (一人一档)."""


def _jsonable(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value, default=_default))


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


def region_digest(region: Region) -> str:
    """A short hash of the region's group sums, so a notice names the region state it used."""
    rows = [asdict(region.groups[code]) for code in sorted(region.groups)]
    return hashlib.sha256(orjson.dumps(_jsonable(rows), option=orjson.OPT_SORT_KEYS)).hexdigest()[
        :16
    ]


def region_record(region: Region) -> dict[str, Any]:
    """What a notice records of the region it was computed against (computed once per run)."""
    return {
        "region_digest": region_digest(region),
        "region_weights": {k: round(v, 6) for k, v in sorted(region.weights.items())},
    }


def inputs_record(inputs: MonthlyInputs, region: dict[str, Any]) -> dict[str, Any]:
    """The reproducibility record stored beside the body (`region` from `region_record`)."""
    record = _jsonable(asdict(inputs))
    record["generator"] = GENERATOR
    record.update(region)
    return {**record, "digest": _digest(record)}


def _digest(record: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(record, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _drg(metrics: DrgMetrics) -> dict[str, Any]:
    body = asdict(metrics)
    body["groups"] = [asdict(g) for g in metrics.groups]
    return body


def build_monthly(
    inputs: MonthlyInputs, region: Region, *, notice_id: str, seq: int, version: int
) -> dict[str, Any]:
    """The notice body delivered by webhook and served by the inbox."""
    respond_by = inputs.issued_on + timedelta(days=inputs.response_days)
    metrics = institution_metrics(
        inputs.drg_groups,
        inputs.drg_counts,
        region,
        adjustment=inputs.adjustment,
        budget=inputs.budget,
        case_costs=inputs.drg_case_costs,
        ratios=inputs.outlier_ratios,
    )
    violations = [
        {
            "line": f"violations/{a.alert_id}",
            "alert_id": a.alert_id,
            "rule": a.rule,
            "severity": a.severity,
            "confirmed": a.confirmed,
            "settlement_id": a.settlement_id,
            "drug_trac_codg": a.drug_trac_codg,
            "occurred_at": a.occurred_at.isoformat(),
            "evidence": mask_value(a.evidence),
            "respond_by": respond_by.isoformat(),
        }
        for a in sorted(inputs.alerts, key=lambda a: (a.occurred_at, a.alert_id))
    ]
    total = sum(r.settlements for r in inputs.settlements)
    amount = sum((r.amount for r in inputs.settlements), Decimal(0))
    body = {
        "notice_id": notice_id,
        "kind": "monthly",
        "fixmedins_code": inputs.fixmedins_code,
        "institution_name": inputs.name,
        "period": inputs.period,
        "version": version,
        "seq": seq,
        "issued_on": inputs.issued_on.isoformat(),
        "settlements": {
            "total": total,
            "amount": str(amount),
            "by_status": [asdict(r) for r in sorted(inputs.settlements, key=lambda r: r.status)],
        },
        "drg": _drg(metrics),
        "violations": violations,
        "respond_by": respond_by.isoformat(),
        "credit": None if inputs.credit is None else asdict(inputs.credit),
        "open_feedback": [
            asdict(f) for f in sorted(inputs.open_feedback, key=lambda f: (f.due_date, f.item_id))
        ],
        "generator": GENERATOR,
    }
    if inputs.uninsured is not None:
        by_reason: dict[str, int] = {}
        for person in inputs.uninsured:
            by_reason[person.reason or "unknown"] = by_reason.get(person.reason or "unknown", 0) + 1
        body["uninsured"] = {
            "count": len(inputs.uninsured),
            "by_reason": dict(sorted(by_reason.items())),
            "persons": [asdict(p) for p in sorted(inputs.uninsured, key=lambda p: p.person_id)],
        }
    result: dict[str, Any] = _jsonable(body)
    return result
