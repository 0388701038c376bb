"""Incremental record linkage: blocking, candidate scoring, link / new / merge / review.

A new record is compared only with the records sharing one of its blocking keys, so its
cost depends on block sizes, not on how many persons are on file. Persons are clusters of
records; a record links to its best candidate person, and when it strongly matches several
persons that nothing keeps apart (no two different ID numbers, no operator's split) it
merges them into the oldest, so the result depends little on arrival order. The same code
runs the bulk load (chunk by chunk, seeded from the database) and single records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from enrollment_matcher.domain.records import Record
from enrollment_matcher.domain.scoring import Pattern, Weights, compare

MAX_BLOCK = 400
"""Blocks larger than this are skipped (they carry no information and cost linearly)."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Probability cut-offs: link, merge two persons, and the clerical-review band."""

    link: float = 0.5
    merge: float = 0.99
    review_low: float = 0.1
    review_high: float = 0.95


@dataclass(slots=True)
class Person:
    """A cluster of records, the ID-number keys it holds, and the persons kept apart from it."""

    person_id: str
    record_ids: set[str] = field(default_factory=set)
    id_keys: set[str] = field(default_factory=set)
    apart: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Review:
    """An uncertain decision for a clerk: was `record_id` rightly (not) linked to the person?"""

    record_id: str
    person_id: str
    probability: float
    linked: bool
    evidence: dict[str, object]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What adding one record did."""

    record_id: str
    person_id: str
    created: bool
    evidence: dict[str, object]
    merged: tuple[str, ...] = ()
    review: Review | None = None


def blocking_keys(record: Record) -> list[str]:
    """Keys under which a record is indexed and searched (plain; the service hashes them)."""
    keys: list[str] = []
    py = "".join(record.name_pinyin)
    birth = record.birth_date.isoformat() if record.birth_date else ""
    county = record.hukou_admdvs[:6]
    if record.certno:
        keys.append("i:" + record.certno)
        keys.extend("i:" + hint for hint in record.repair_hints)
    if py and birth:
        keys.append(f"pb:{py}|{birth}")
    if py and county:
        keys.append(f"pc:{py}|{county}")
    if birth and county:
        keys.append(f"bc:{birth}|{county}")
    if record.phone:
        keys.append("ph:" + record.phone)
    return keys


def _identity(value: str) -> str:
    return value


@dataclass(slots=True)
class _Candidate:
    person_id: str
    probability: float
    deterministic: bool
    pattern: Pattern
    against: str


class Linker:
    """The in-memory linkage state: records, persons and the blocking index."""

    def __init__(
        self,
        weights: Weights,
        *,
        thresholds: Thresholds | None = None,
        new_person_id: Callable[[], str],
        id_key: Callable[[str], str] = _identity,
        index_key: Callable[[str], str] = _identity,
    ) -> None:
        self.weights = weights
        self.thresholds = thresholds or Thresholds()
        self._new_id = new_person_id
        self._id_key = id_key
        self._index_key = index_key
        self.records: dict[str, Record] = {}
        self.person_of: dict[str, str] = {}
        self.persons: dict[str, Person] = {}
        self.index: dict[str, set[str]] = {}
        self._keys: dict[str, list[str]] = {}

    def keys_of(self, record: Record) -> list[str]:
        """The (hashed) blocking keys of a record (hashed once per record and linker)."""
        keys = self._keys.get(record.record_id)
        if keys is None:
            keys = self._keys[record.record_id] = [
                self._index_key(k) for k in blocking_keys(record)
            ]
        return keys

    def seed(self, record: Record, person: Person, keys: Iterable[str]) -> None:
        """Load a record already on file under the stored keys it was found by."""
        known = self.persons.setdefault(person.person_id, person)
        known.id_keys |= person.id_keys
        known.apart |= person.apart
        self._place(record, known, keys)

    def _place(self, record: Record, person: Person, keys: Iterable[str] | None = None) -> None:
        self.records[record.record_id] = record
        self.person_of[record.record_id] = person.person_id
        person.record_ids.add(record.record_id)
        if record.linking_id:
            person.id_keys.add(self._id_key(record.linking_id))
        for key in self.keys_of(record) if keys is None else keys:
            self.index.setdefault(key, set()).add(record.record_id)

    def candidates(self, record: Record) -> list[_Candidate]:
        """Best pair per candidate person, ID-number conflicts removed, best first."""
        seen: set[str] = set()
        best: dict[str, _Candidate] = {}
        own_key = self._id_key(record.linking_id) if record.linking_id else None
        for key in self.keys_of(record):
            block = self.index.get(key, ())
            if len(block) > MAX_BLOCK:
                continue
            for other_id in block:
                if other_id in seen or other_id == record.record_id:
                    continue
                seen.add(other_id)
                other = self.records[other_id]
                pattern = compare(record, other)
                deterministic = (
                    bool(record.linking_id)
                    and pattern[0] == "exact"
                    and (record.linking_id == other.linking_id)
                )
                candidate = _Candidate(
                    self.person_of[other_id],
                    1.0 if deterministic else self.weights.probability(pattern),
                    deterministic,
                    pattern,
                    other_id,
                )
                held = best.get(candidate.person_id)
                if held is None or (candidate.deterministic, candidate.probability) > (
                    held.deterministic,
                    held.probability,
                ):
                    best[candidate.person_id] = candidate
        kept = [
            c
            for c in best.values()
            if c.deterministic
            or own_key is None
            or not self.persons[c.person_id].id_keys
            or own_key in self.persons[c.person_id].id_keys
            or c.pattern[0] == "close"
        ]
        return sorted(kept, key=lambda c: (c.deterministic, c.probability), reverse=True)

    def add(self, record: Record) -> Outcome:
        """Link a new record: to its best person, merging persons it bridges, or a new one."""
        ranked = self.candidates(record)
        t = self.thresholds
        top = ranked[0] if ranked else None
        if top is not None and (top.deterministic or top.probability >= t.link):
            target = self.persons[top.person_id]
            merged = self._merge_bridged(target, ranked[1:], record)
            target = self.persons[self.person_of.get(top.against, target.person_id)]
            self._place(record, target)
            evidence = self._evidence(top)
            review = None
            if not top.deterministic and top.probability < t.review_high:
                review = Review(record.record_id, target.person_id, top.probability, True, evidence)
            return Outcome(record.record_id, target.person_id, False, evidence, merged, review)
        person = Person(self._new_id())
        self.persons[person.person_id] = person
        self._place(record, person)
        review = None
        if top is not None and top.probability >= t.review_low:
            review = Review(
                record.record_id, top.person_id, top.probability, False, self._evidence(top)
            )
        return Outcome(record.record_id, person.person_id, True, {"rule": "new"}, (), review)

    def _evidence(self, c: _Candidate) -> dict[str, object]:
        return {
            "rule": "certno" if c.deterministic else "probabilistic",
            "probability": round(c.probability, 6),
            "weight": round(self.weights.weight(c.pattern), 2),
            "fields": self.weights.contributions(c.pattern),
            "against": c.against,
        }

    def _conflict(self, a: Person, b: Person) -> bool:
        return (
            b.person_id in a.apart
            or a.person_id in b.apart
            or bool(a.id_keys and b.id_keys and not (a.id_keys & b.id_keys))
        )

    def _merge_bridged(
        self, target: Person, others: Iterable[_Candidate], record: Record
    ) -> tuple[str, ...]:
        absorbed: list[str] = []
        for c in others:
            if not (c.deterministic or c.probability >= self.thresholds.merge):
                continue
            other = self.persons.get(self.person_of[c.against])
            if other is None or other is target or self._conflict(target, other):
                continue
            survivor, gone = sorted((target, other), key=lambda p: p.person_id)
            self._absorb(survivor, gone)
            absorbed.append(gone.person_id)
            target = survivor
        return tuple(absorbed)

    def _absorb(self, survivor: Person, gone: Person) -> None:
        for rid in gone.record_ids:
            self.person_of[rid] = survivor.person_id
        survivor.record_ids |= gone.record_ids
        survivor.id_keys |= gone.id_keys
        survivor.apart |= gone.apart
        del self.persons[gone.person_id]
