"""Event payloads are contracts: each topic's JSON Schema is snapshotted and may only grow.

Within a major version (the `.vN` of the topic) a change must be additive: a new optional
field. Anything else (a field removed, a type or set of allowed values changed, a field made
required) breaks a consumer or a replay of old events, and needs a new topic version instead.

Two checks per topic:
- equality with `snapshots/<topic>.json`, so *every* schema change is a reviewed diff;
- compatibility with that snapshot, so a breaking change is named precisely and cannot be
  "fixed" by regenerating the snapshot.

Regenerate after an intended additive change with
`UPDATE_SNAPSHOTS=1 uv run pytest tests/contract/test_event_schemas.py` and commit the files.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel
from yibao.events import REGISTRY, EventSpec

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"

Schema = dict[str, Any]

# Keys that document a schema without changing what it accepts.
ANNOTATIONS = frozenset({"title", "description", "default", "examples"})
# Keys whose values are maps of *names* (fields, models): names are never annotations.
NAME_MAPS = frozenset({"properties", "$defs", "patternProperties"})

HOW_TO_EVOLVE = (
    "Events are contracts: within a major version a change must be additive (new optional "
    "fields only). Removing or retyping a field, changing its allowed values, or making a "
    "field required needs a new topic version (`.v2`) published beside the old one."
)
HOW_TO_UPDATE = (
    "If the change is intended and additive, write the new snapshot with "
    "`UPDATE_SNAPSHOTS=1 uv run pytest tests/contract/test_event_schemas.py` and commit it."
)


def _snapshot_path(topic: str) -> Path:
    return SNAPSHOTS / f"{topic}.json"


def _read_snapshot(topic: str) -> Schema | None:
    path = _snapshot_path(topic)
    if not path.exists():
        return None
    loaded: Schema = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _write_snapshot(topic: str, schema: Schema) -> None:
    SNAPSHOTS.mkdir(exist_ok=True)
    text = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
    _snapshot_path(topic).write_text(text, encoding="utf-8")


# --- the compatibility rule -------------------------------------------------------------


def shape(schema: Any) -> Any:
    """The schema without its annotations: exactly what a validator checks."""
    if isinstance(schema, list):
        return [shape(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    kept: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ANNOTATIONS:
            continue
        if key in NAME_MAPS and isinstance(value, dict):
            kept[key] = {name: shape(sub) for name, sub in value.items()}
        else:
            kept[key] = shape(value)
    return kept


def _models(schema: Schema) -> dict[str, Schema]:
    """The top-level model and every nested one, by the `$ref` that points at it."""
    models = {"#": schema}
    for name, sub in schema.get("$defs", {}).items():
        models[f"#/$defs/{name}"] = sub
    return models


def _compact(schema: Any) -> str:
    return json.dumps(schema, sort_keys=True, separators=(",", ":"))


def breaking_changes(old: Schema, new: Schema) -> list[str]:
    """What in `new` breaks a consumer or producer written against `old` (empty: additive)."""
    problems: list[str] = []
    new_models = _models(new)
    for ref, old_model in _models(old).items():
        new_model = new_models.get(ref)
        if new_model is None:
            problems.append(f"{ref}: the model is gone")
            continue
        old_rest = {k: v for k, v in shape(old_model).items() if k not in NAME_MAPS | {"required"}}
        new_rest = {k: v for k, v in shape(new_model).items() if k not in NAME_MAPS | {"required"}}
        if old_rest != new_rest:
            problems.append(f"{ref}: changed from {_compact(old_rest)} to {_compact(new_rest)}")
        old_props: Schema = old_model.get("properties", {})
        new_props: Schema = new_model.get("properties", {})
        for name, old_prop in old_props.items():
            if name not in new_props:
                problems.append(f"{ref}.{name}: the field was removed")
            elif shape(old_prop) != shape(new_props[name]):
                problems.append(
                    f"{ref}.{name}: type changed from {_compact(shape(old_prop))} "
                    f"to {_compact(shape(new_props[name]))}"
                )
        newly_required = set(new_model.get("required", [])) - set(old_model.get("required", []))
        for name in sorted(newly_required):
            was = "an existing optional field" if name in old_props else "a new field"
            problems.append(f"{ref}.{name}: became required ({was})")
    return problems


def additions(old: Schema, new: Schema) -> list[str]:
    """Fields present now and not in `old`: the additive part of a change, for the message."""
    old_models = _models(old)
    added: list[str] = []
    for ref, new_model in _models(new).items():
        old_props = old_models.get(ref, {}).get("properties", {})
        added += [f"{ref}.{n}" for n in new_model.get("properties", {}) if n not in old_props]
    return added


# --- the snapshot checks ------------------------------------------------------------------

SPECS = sorted(REGISTRY.values(), key=lambda s: s.topic)


def _id(spec: EventSpec) -> str:
    return spec.topic


@pytest.mark.parametrize("spec", SPECS, ids=_id)
def test_schema_is_compatible_with_its_snapshot(spec: EventSpec) -> None:
    """A breaking change fails here even after the snapshot was regenerated by mistake."""
    snapshot = _read_snapshot(spec.topic)
    if snapshot is None:
        pytest.skip(f"no snapshot yet for {spec.topic} (the equality test says what to do)")
    broken = breaking_changes(snapshot, spec.model.model_json_schema())
    assert not broken, (
        f"{spec.model.__name__} ({spec.topic}) changed incompatibly:\n  - "
        + "\n  - ".join(broken)
        + f"\n{HOW_TO_EVOLVE}"
    )


@pytest.mark.parametrize("spec", SPECS, ids=_id)
def test_schema_matches_its_snapshot(spec: EventSpec) -> None:
    """Every schema change is a reviewed diff of `snapshots/<topic>.json`."""
    current = spec.model.model_json_schema()
    snapshot = _read_snapshot(spec.topic)
    if snapshot == current:
        return
    if snapshot is None:
        if UPDATE:
            _write_snapshot(spec.topic, current)
            return
        pytest.fail(
            f"{spec.topic} has no schema snapshot at {_snapshot_path(spec.topic)}. {HOW_TO_UPDATE}"
        )
    broken = breaking_changes(snapshot, current)
    if UPDATE and not broken:
        _write_snapshot(spec.topic, current)
        return
    added = additions(snapshot, current)
    summary = (
        "breaking:\n  - " + "\n  - ".join(broken)
        if broken
        else f"additive (new fields: {', '.join(added) or 'none'})"
    )
    refusal = (
        " UPDATE_SNAPSHOTS=1 refuses to record a breaking change; if the topic was never "
        "released, delete the snapshot file deliberately and record it again."
        if UPDATE
        else ""
    )
    pytest.fail(
        f"The JSON Schema of {spec.model.__name__} ({spec.topic}) differs from "
        f"{_snapshot_path(spec.topic).name}: {summary}.\n{HOW_TO_EVOLVE}\n{HOW_TO_UPDATE}"
        f"{refusal}"
    )


def test_every_snapshot_belongs_to_a_registered_topic() -> None:
    """Dropping a topic from the registry strands its consumers: it must be deliberate."""
    snapshotted = {p.name.removesuffix(".json") for p in SNAPSHOTS.glob("*.json")}
    stranded = sorted(snapshotted - set(REGISTRY))
    assert not stranded, (
        f"snapshots exist for topics no longer registered: {stranded}. Removing a topic breaks "
        "its consumers; when a major version is retired on purpose, delete its snapshot file."
    )


# --- the rule itself -------------------------------------------------------------------------


class Line(BaseModel):
    code: str
    count: Decimal


class V1(BaseModel):
    """The released shape every variant below is compared with."""

    sale_id: str
    status: Literal["approved", "rejected"]
    note: str | None = None
    lines: list[Line]
    at: datetime


class AddedOptional(BaseModel):
    """Additive: a new optional field, a new docstring, a new title."""

    sale_id: str
    status: Literal["approved", "rejected"]
    note: str | None = None
    lines: list[Line]
    at: datetime
    channel: str | None = None


class RemovedField(BaseModel):
    sale_id: str
    status: Literal["approved", "rejected"]
    lines: list[Line]
    at: datetime


class RetypedField(BaseModel):
    sale_id: int
    status: Literal["approved", "rejected"]
    note: str | None = None
    lines: list[Line]
    at: datetime


class WidenedValues(BaseModel):
    sale_id: str
    status: Literal["approved", "rejected", "pending"]
    note: str | None = None
    lines: list[Line]
    at: datetime


class NowRequired(BaseModel):
    sale_id: str
    status: Literal["approved", "rejected"]
    note: str
    lines: list[Line]
    at: datetime


class NewRequired(BaseModel):
    sale_id: str
    status: Literal["approved", "rejected"]
    note: str | None = None
    lines: list[Line]
    at: datetime
    channel: str


class NestedLine(BaseModel):
    code: str
    count: int


class NestedRetyped(BaseModel):
    sale_id: str
    status: Literal["approved", "rejected"]
    note: str | None = None
    lines: list[NestedLine]
    at: datetime


class Titled(BaseModel):
    """A field named like a JSON Schema annotation is still a field."""

    title: str
    description: str


class TitledRetyped(BaseModel):
    title: int
    description: str


def _schema(model: type[BaseModel]) -> Schema:
    return model.model_json_schema()


def test_an_additive_change_is_not_breaking_but_is_listed() -> None:
    """A new optional field passes the compatibility rule and is named for the reviewer."""
    assert breaking_changes(_schema(V1), _schema(AddedOptional)) == []
    assert additions(_schema(V1), _schema(AddedOptional)) == ["#.channel"]


def test_an_unchanged_schema_is_compatible() -> None:
    """The rule does not invent differences."""
    assert breaking_changes(_schema(V1), _schema(V1)) == []


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        (RemovedField, "#.note: the field was removed"),
        (RetypedField, "#.sale_id: type changed"),
        (WidenedValues, "#.status: type changed"),
        (NowRequired, "#.note: type changed"),
        (NewRequired, "#.channel: became required (a new field)"),
    ],
    ids=["removed", "retyped", "widened-literal", "made-required", "new-required"],
)
def test_breaking_changes_are_named(changed: type[BaseModel], expected: str) -> None:
    """Each kind of break is reported with the field it concerns."""
    broken = breaking_changes(_schema(V1), _schema(changed))
    assert any(problem.startswith(expected) for problem in broken), broken


def test_an_optional_field_made_required_is_reported_as_required() -> None:
    """`str | None = None` -> `str`: both the type and the required set changed."""
    broken = breaking_changes(_schema(V1), _schema(NowRequired))
    assert "#.note: became required (an existing optional field)" in broken


def test_a_change_inside_a_nested_model_is_found() -> None:
    """Nested models live in `$defs`; a retyped line field or a renamed model is breaking."""
    broken = breaking_changes(_schema(V1), _schema(NestedRetyped))
    assert "#/$defs/Line: the model is gone" in broken
    assert any(p.startswith("#.lines: type changed") for p in broken)


def test_fields_named_title_or_description_are_not_annotations() -> None:
    """Only schema keywords are ignored; a field called `title` is still compared."""
    broken = breaking_changes(_schema(Titled), _schema(TitledRetyped))
    assert any(p.startswith("#.title: type changed") for p in broken)
