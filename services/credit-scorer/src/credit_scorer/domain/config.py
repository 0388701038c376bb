"""Reading the credit configuration document: typed fields, clear errors, versions by date.

The indicator tree and the policy parameters are configuration, edited by the bureau and
reloaded without a release, so every value is checked on load and an error names the exact
place (`policies[1].repair_waiting_months`) instead of failing later inside a score.
File access lives in `read_config` alone; everything else parses text already in memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Protocol, TypeVar

DEFAULT_CONFIG: Traversable = files("credit_scorer") / "indicators" / "default_v2025.json"

Obj = Mapping[str, object]


class ConfigError(ValueError):
    """The configuration document is malformed; the message says where and why."""


def read_config(source: Path | Traversable = DEFAULT_CONFIG) -> bytes:
    """The raw bytes of a configuration file (the shipped default unless told otherwise)."""
    return source.read_bytes()


def parse_document(raw: str | bytes) -> Obj:
    """The top-level JSON object; numbers become `Decimal` so points stay exact."""
    try:
        document = json.loads(raw, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not valid JSON: {exc}") from exc
    return obj(document, "document")


def obj(value: object, where: str) -> Obj:
    """`value` as a JSON object."""
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def objects(value: object, where: str) -> list[Obj]:
    """`value` as a non-empty JSON array of objects."""
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: expected a non-empty array")
    return [obj(item, f"{where}[{i}]") for i, item in enumerate(value)]


def field(source: Obj, key: str, where: str) -> object:
    """A required member."""
    if key not in source:
        raise ConfigError(f"{where}.{key}: missing")
    return source[key]


def text(source: Obj, key: str, where: str) -> str:
    """A required non-blank string."""
    value = field(source, key, where)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}.{key}: expected a non-empty string")
    return value


def optional_text(source: Obj, key: str, where: str) -> str | None:
    """A string that may be absent or null (e.g. the parent of a first-level node)."""
    if source.get(key) is None:
        return None
    return text(source, key, where)


def texts(source: Obj, key: str, where: str) -> tuple[str, ...]:
    """A required array of non-blank strings (may be empty)."""
    value = field(source, key, where)
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}.{key}: expected an array of non-empty strings")
    return tuple(value)


def number(source: Obj, key: str, where: str, *, minimum: Decimal = Decimal(0)) -> Decimal:
    """A required JSON number (not a string, not a boolean) at least `minimum`."""
    value = field(source, key, where)
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ConfigError(f"{where}.{key}: expected a number")
    result = Decimal(value)
    if result < minimum:
        raise ConfigError(f"{where}.{key}: {result} is below the minimum {minimum}")
    return result


def integer(source: Obj, key: str, where: str, *, minimum: int = 0) -> int:
    """A required whole number at least `minimum`."""
    value = field(source, key, where)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}.{key}: expected a whole number")
    if value < minimum:
        raise ConfigError(f"{where}.{key}: {value} is below the minimum {minimum}")
    return value


def flag(source: Obj, key: str, where: str) -> bool:
    """A required boolean."""
    value = field(source, key, where)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}.{key}: expected true or false")
    return value


def iso_date(source: Obj, key: str, where: str) -> date:
    """A required ISO date (`2026-04-01`)."""
    value = text(source, key, where)
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"{where}.{key}: {value!r} is not an ISO date") from exc


class Versioned(Protocol):
    """Anything the bureau re-issues with an effective date."""

    @property
    def version(self) -> str: ...

    @property
    def effective_from(self) -> date: ...


V = TypeVar("V", bound=Versioned)


def check_versions(versions: Iterable[Versioned], where: str) -> None:
    """Versions must be distinct in name and effective date, or "in force" is ambiguous."""
    names: set[str] = set()
    dates: set[date] = set()
    for item in versions:
        if item.version in names or item.effective_from in dates:
            raise ConfigError(
                f"{where}: version {item.version!r} (from {item.effective_from}) "
                "repeats a version name or effective date"
            )
        names.add(item.version)
        dates.add(item.effective_from)


def in_force(on: date, versions: Sequence[V]) -> V:
    """The version with the latest `effective_from` on or before `on`."""
    candidates = [v for v in versions if v.effective_from <= on]
    if not candidates:
        raise LookupError(f"no version is in force on {on}")
    return max(candidates, key=lambda v: v.effective_from)
