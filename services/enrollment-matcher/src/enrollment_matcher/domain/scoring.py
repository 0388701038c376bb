"""Fellegi–Sunter scoring: comparison levels per field, m/u weights estimated by EM.

A pair of records is compared field by field into a *pattern* (one level per field, None
when either side lacks the field). Its weight is the sum of log2(m/u) over the present
fields, where m is P(level | same person) and u is P(level | different persons). Neither is
a hand-set constant: `estimate` fits them by expectation–maximisation on the candidate pairs
that blocking produced, starting from pairs that share a consistent ID number (surely the
same person) for m and from random pairs (surely different) for u.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from enrollment_matcher.domain import ids, text
from enrollment_matcher.domain.records import Record

FIELDS: tuple[str, ...] = ("certno", "name", "birth", "gender", "hukou", "address", "phone")
LEVELS: dict[str, tuple[str, ...]] = {
    "certno": ("exact", "close", "differ"),
    "name": ("exact", "pinyin", "similar", "differ"),
    "birth": ("exact", "close", "differ"),
    "gender": ("agree", "differ"),
    "hukou": ("exact", "city", "differ"),
    "address": ("exact", "similar", "differ"),
    "phone": ("agree", "differ"),
}
Pattern = tuple[str | None, ...]
"""One level per field of `FIELDS`, in order; None where a side lacks the field."""


def _certno(a: Record, b: Record) -> str | None:
    if not a.certno or not b.certno:
        return None
    if a.certno == b.certno:
        return "exact"
    if not a.id_consistent or not b.id_consistent:
        return None  # someone else's number (a parent's) cannot disagree with this person's
    if ids.one_slip_apart(a.certno, b.certno):
        return "close"
    return "differ"


def _name(a: Record, b: Record) -> str | None:
    if not a.name or not b.name:
        return None
    if a.name == b.name:
        return "exact"
    if a.name_pinyin == b.name_pinyin:
        return "pinyin"
    if a.name_pinyin[:1] != b.name_pinyin[:1]:
        # Surnames are the stable part of a Chinese name: a different one is a different
        # name (and skipping the string distance here is most of this function's cost).
        return "differ"
    one_char = len(a.name) == len(b.name) and (
        sum(x != y for x, y in zip(a.name, b.name, strict=True)) == 1
    )
    if one_char or text.jaro_winkler("".join(a.name_pinyin), "".join(b.name_pinyin)) >= 0.92:
        return "similar"
    return "differ"


def _birth(a: Record, b: Record) -> str | None:
    if a.birth_date is None or b.birth_date is None:
        return None
    x, y = a.birth_date, b.birth_date
    if x == y:
        return "exact"
    same = (x.year == y.year) + (x.month == y.month) + (x.day == y.day)
    swapped = x.year == y.year and x.month == y.day and x.day == y.month
    return "close" if same == 2 or swapped else "differ"


def _hukou(a: Record, b: Record) -> str | None:
    if not a.hukou_admdvs or not b.hukou_admdvs:
        return None
    n = min(len(a.hukou_admdvs), len(b.hukou_admdvs))
    if a.hukou_admdvs[:n] == b.hukou_admdvs[:n]:
        return "exact"
    return "city" if a.hukou_admdvs[:4] == b.hukou_admdvs[:4] else "differ"


def _address(a: Record, b: Record) -> str | None:
    if not a.address or not b.address:
        return None
    if a.address == b.address:
        return "exact"
    x, y = text.bigrams(a.address), text.bigrams(b.address)
    return "similar" if len(x & y) / len(x | y) >= 0.5 else "differ"


def compare(a: Record, b: Record) -> Pattern:
    """The comparison pattern of two records."""
    certno = _certno(a, b)
    name = _name(a, b)
    if certno == "exact" and name == "differ":
        # An ID match alone is not proof: the same number under a different name is a
        # number typed on the wrong person (a parent's, a twin's), so it counts for nothing.
        certno = None
    return (
        certno,
        name,
        _birth(a, b),
        None if a.gender is None or b.gender is None else _agree(a.gender == b.gender),
        _hukou(a, b),
        _address(a, b),
        None if not a.phone or not b.phone else _agree(a.phone == b.phone),
    )


def _agree(same: bool) -> str:
    return "agree" if same else "differ"


@dataclass(frozen=True, slots=True)
class Weights:
    """m and u per field and level, the match prior, and how they were obtained."""

    m: Mapping[str, Mapping[str, float]]
    u: Mapping[str, Mapping[str, float]]
    prior: float
    pairs: int = 0
    iterations: int = 0

    def weight(self, pattern: Pattern) -> float:
        """Sum of log2(m/u) over the fields present in the pattern."""
        total = 0.0
        for name, level in zip(FIELDS, pattern, strict=True):
            if level is not None:
                total += math.log2(self.m[name][level] / self.u[name][level])
        return total

    def probability(self, pattern: Pattern) -> float:
        """P(same person | pattern) among blocked candidate pairs."""
        odds = self.prior / (1 - self.prior) * 2 ** self.weight(pattern)
        return odds / (1 + odds)

    def contributions(self, pattern: Pattern) -> dict[str, float]:
        """Per-field weights, for a link's evidence."""
        return {
            name: round(math.log2(self.m[name][level] / self.u[name][level]), 2)
            for name, level in zip(FIELDS, pattern, strict=True)
            if level is not None
        }

    def to_json(self) -> dict[str, object]:
        """Serialisable form (stored with the person links it produced)."""
        return {
            "m": self.m,
            "u": self.u,
            "prior": self.prior,
            "pairs": self.pairs,
            "iterations": self.iterations,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Weights:
        """Inverse of `to_json`."""
        return cls(
            m=data["m"],  # type: ignore[arg-type]
            u=data["u"],  # type: ignore[arg-type]
            prior=float(data["prior"]),  # type: ignore[arg-type]
            pairs=int(data.get("pairs", 0)),  # type: ignore[call-overload]
            iterations=int(data.get("iterations", 0)),  # type: ignore[call-overload]
        )


def _distribution(
    counts: dict[tuple[str, str], float], smoothing: float
) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for name in FIELDS:
        levels = LEVELS[name]
        total = sum(counts[(name, lv)] for lv in levels) + smoothing * len(levels)
        out[name] = {lv: (counts[(name, lv)] + smoothing) / total for lv in levels}
    return out


def _tally(patterns: Iterable[tuple[Pattern, float]]) -> dict[tuple[str, str], float]:
    counts: dict[tuple[str, str], float] = defaultdict(float)
    for pattern, n in patterns:
        for name, level in zip(FIELDS, pattern, strict=True):
            if level is not None:
                counts[(name, level)] += n
    return counts


def initial_from(
    linked: Sequence[tuple[Record, Record]], unrelated: Sequence[tuple[Record, Record]]
) -> Weights:
    """m from pairs sharing a consistent ID, u from random pairs: EM's starting point."""
    m = _distribution(_tally((compare(a, b), 1.0) for a, b in linked), 1.0)
    u = _distribution(_tally((compare(a, b), 1.0) for a, b in unrelated), 1.0)
    return Weights(m=m, u=u, prior=0.1, pairs=len(linked) + len(unrelated))


def random_pairs(
    records: Sequence[Record], count: int, *, seed: int = 7
) -> list[tuple[Record, Record]]:
    """Pairs drawn at random: almost surely different persons."""
    rng = random.Random(seed)
    if len(records) < 2:
        return []
    return [tuple(rng.sample(records, 2)) for _ in range(count)]  # type: ignore[misc]


def estimate(patterns: Counter[Pattern], start: Weights, *, iterations: int = 40) -> Weights:
    """Fit m, u and the prior by EM on candidate-pair patterns (conditional independence)."""
    if not patterns:
        return start
    m, u, prior = start.m, start.u, start.prior
    items = list(patterns.items())
    total = sum(n for _, n in items)
    rounds = 0
    for rounds in range(1, iterations + 1):  # noqa: B007 - the count is reported
        current = Weights(m=m, u=u, prior=prior)
        shares = [(p, n, current.probability(p)) for p, n in items]
        matched = sum(n * g for _, n, g in shares)
        new_prior = min(max(matched / total, 1e-6), 1 - 1e-6)
        m = _distribution(_tally((p, n * g) for p, n, g in shares), 0.5)
        u = _distribution(_tally((p, n * (1 - g)) for p, n, g in shares), 0.5)
        if abs(new_prior - prior) < 1e-7:
            prior = new_prior
            break
        prior = new_prior
    return Weights(m=m, u=u, prior=prior, pairs=total, iterations=rounds)
