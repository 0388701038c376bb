"""Estimating the matcher's m/u weights from a sample of the records themselves.

Three passes over the sample: pairs sharing a consistent ID number give a first m, random
pairs a first u, and EM over every pair that blocking puts together refines both (and the
share of true matches among candidates, the prior).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from enrollment_matcher.domain.linker import MAX_BLOCK, blocking_keys
from enrollment_matcher.domain.records import Record
from enrollment_matcher.domain.scoring import (
    Pattern,
    Weights,
    compare,
    estimate,
    initial_from,
    random_pairs,
)

MIN_LINKED_PAIRS = 50
"""Below this many ID-linked pairs a sample says too little; the previous weights stay."""


def candidate_patterns(records: Sequence[Record]) -> Counter[Pattern]:
    """Comparison patterns of every pair sharing a blocking key, each pair once."""
    index: dict[str, list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        for key in blocking_keys(record):
            index[key].append(i)
    seen: set[tuple[int, int]] = set()
    patterns: Counter[Pattern] = Counter()
    for block in index.values():
        if len(block) < 2 or len(block) > MAX_BLOCK:
            continue
        for x in range(len(block)):
            for y in range(x + 1, len(block)):
                pair = (block[x], block[y])
                if pair not in seen:
                    seen.add(pair)
                    patterns[compare(records[pair[0]], records[pair[1]])] += 1
    return patterns


def fit(records: Sequence[Record], *, previous: Weights | None = None) -> Weights:
    """Weights for this population (or `previous` when the sample is too thin to tell)."""
    by_id: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        if record.linking_id:
            by_id[record.linking_id].append(record)
    linked = [
        (group[i], group[j])
        for group in by_id.values()
        for i in range(len(group))
        for j in range(i + 1, len(group))
    ]
    if len(linked) < MIN_LINKED_PAIRS:
        return previous if previous is not None else initial_from([], [])
    start = initial_from(linked, random_pairs(records, max(len(linked), 5000)))
    return estimate(candidate_patterns(records), start)
