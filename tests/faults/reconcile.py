"""After the faults: count, from the services' own answers, tables and topics, what happened.

Each accepted request must have exactly one final outcome: a sale one decision (one decided
event id, one row), a stock movement its codes stocked once, a DRG case one row and one
event. "Lost" is accepted without its outcome; "duplicated" is an outcome twice.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import asyncpg

from tests.faults.load import Ledger, Request
from tests.kafka_topics import header, read_topic

POISON_HEADER = "fault_poison_id"
"""Marks the harness's own poison records, which are not the services' events."""


@dataclass
class Row:
    """One line of the accounting table."""

    kind: str
    sent: int = 0
    accepted: int = 0
    done: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    """Final outcomes other than the expected one (a resold box approved, say)."""


def accounting_table(rows: list[Row]) -> str:
    """The figure quoted for the fault suite: sent / accepted / done / lost / duplicated."""
    lines = [f"{'':10}{'sent':>8}{'accepted':>10}{'done':>8}{'lost':>6}{'dup':>6}{'wrong':>7}"]
    lines += [
        f"{r.kind:10}{r.sent:8}{r.accepted:10}{r.done:8}{len(r.lost):6}"
        f"{len(r.duplicated):6}{len(r.wrong):7}"
        for r in rows
    ]
    return "\n".join(lines)


async def event_ids_by_key(bootstrap: str, topic: str, field_name: str) -> dict[str, set[str]]:
    """For each entity id in the payloads of a topic, the distinct CloudEvents ids seen."""
    ids: dict[str, set[str]] = defaultdict(set)
    for record in await read_topic(bootstrap, topic):
        if header(record, POISON_HEADER):
            continue
        entity = json.loads(record.value)[field_name]
        ids[str(entity)].add(header(record, "ce_id") or "")
    return ids


async def count_by(dsn: str, query: str, keys: list[str]) -> Counter[str]:
    """How many rows `query` (one column, filtered by `= ANY($1)`) returns for each key."""
    conn = await asyncpg.connect(dsn)
    try:
        return Counter(str(r[0]) for r in await conn.fetch(query, keys))
    finally:
        await conn.close()


async def sales_row(
    sales: list[Request], finals: dict[str, str], decided: dict[str, set[str]], ingest_dsn: str
) -> Row:
    """Sales: one settlement row per key, one decided event id, the expected final status."""
    row = Row("sale", sent=len(sales))
    per_key = await count_by(
        ingest_dsn,
        "SELECT idempotency_key FROM settlements WHERE idempotency_key = ANY($1)",
        [r.key for r in sales],
    )
    for request in sales:
        if not request.accepted:
            row.lost.append(f"never accepted: {request.key} {request.answers[-3:]}")
            continue
        row.accepted += 1
        settlement_id = min(request.ids)
        if len(request.ids) > 1 or per_key[request.key] > 1 or len(decided[settlement_id]) > 1:
            row.duplicated.append(settlement_id)
        status = finals.get(settlement_id)
        if status is None or not decided[settlement_id]:
            row.lost.append(settlement_id)
            continue
        row.done += 1
        if status != request.expect:
            row.wrong.append(f"{settlement_id}: {status}, expected {request.expect}")
    return row


async def movements_row(movements: list[Request], validator_dsn: str) -> Row:
    """Stock movements: every code of an accepted movement stocked exactly once."""
    row = Row("movement", sent=len(movements))
    stocked = await count_by(
        validator_dsn,
        "SELECT key FROM code_history WHERE key = ANY($1) AND event = 'purchase_in'",
        [c for r in movements for c in r.codes],
    )
    for request in movements:
        if not request.accepted:
            row.lost.append(f"never accepted: {request.key}")
            continue
        row.accepted += 1
        counts = [stocked[c] for c in request.codes]
        if any(n == 0 for n in counts):
            row.lost.append(request.key)
        elif any(n > 1 for n in counts) or len(request.ids) > 1:
            row.duplicated.append(request.key)
        else:
            row.done += 1
    return row


async def drg_row(cases: list[Request], published: dict[str, set[str]], ingest_dsn: str) -> Row:
    """DRG cases: one stored row per key and one `drg.settled` event id per case."""
    row = Row("drg", sent=len(cases))
    per_key = await count_by(
        ingest_dsn,
        "SELECT idempotency_key FROM drg_settlements WHERE idempotency_key = ANY($1)",
        [r.key for r in cases],
    )
    for request in cases:
        if not request.accepted:
            row.lost.append(f"never accepted: {request.key}")
            continue
        row.accepted += 1
        case_id = min(request.ids)
        if len(request.ids) > 1 or per_key[request.key] > 1 or len(published[case_id]) > 1:
            row.duplicated.append(case_id)
        elif not published[case_id]:
            row.lost.append(case_id)
        else:
            row.done += 1
    return row


def population_row(records: list[Request], linked_ids: list[str]) -> Row:
    """Population records: each accepted record linked to exactly one person."""
    row = Row("population", sent=len(records))
    links = Counter(linked_ids)
    for request in records:
        if not request.accepted:
            row.lost.append(f"never accepted: {request.key}")
            continue
        row.accepted += 1
        if links[request.key] == 0:
            row.lost.append(request.key)
        elif links[request.key] > 1 or len(request.ids) > 1:
            row.duplicated.append(request.key)
        else:
            row.done += 1
    return row


def server_errors_outside_outages(ledger: Ledger, grace_s: float) -> list[str]:
    """5xx answers that came when nothing was broken (plus a grace to recover)."""
    late = []
    for request in ledger.requests:
        for answer in request.answers:
            if answer.status < 500:
                continue
            inside = any(
                began <= answer.at <= ended + grace_s for _, began, ended in ledger.outages
            )
            if not inside:
                late.append(f"{request.kind} {request.key}: {answer.status} at {answer.at:.1f}")
    return late
