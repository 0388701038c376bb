"""Credit's SQL for the file, the subject registry and the ledger. Never commits.

Every function that serves the event path takes a list of subjects and makes one round trip
for all of them (`= ANY($1)`, `unnest`), so a consumer batch of 500 events costs a handful
of statements, not a handful per event.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import asyncpg
from yibao.db import DbConnection, Pool

from credit_scorer.domain.ledger import Deduction, RowState

INSTITUTION_TYPES = ("hospital", "pharmacy")
_DEDUCTION_COLUMNS = (
    "deduction_id, subject_id, indicator_code, tree_version, source_event_id, event_type, "
    "evidence, points, effective_from, expires_at, state, repaired_from"
)


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One line of a subject's file (一户一档); `event_id` makes re-recording a no-op."""

    event_id: str
    subject_id: str
    kind: str
    occurred_at: datetime
    detail: dict[str, Any]


def case_entry(case: str, record: asyncpg.Record, kind: str, detail: dict[str, Any]) -> FileEntry:
    """A file line for a step of a case (objection, repair, override), recorded now.

    `record` is the case row: its `<case>_id` names the line, so a step re-recorded after a
    redelivery is a no-op, and the id leads the detail.
    """
    case_id = record[f"{case}_id"]
    return FileEntry(
        event_id=f"{case}:{case_id}:{kind}",
        subject_id=record["subject_id"],
        kind=kind,
        occurred_at=datetime.now(UTC),
        detail={f"{case}_id": case_id, **detail},
    )


@dataclass(frozen=True, slots=True)
class SubjectFacts:
    """What the fold needs about a subject besides its ledger."""

    subject_type: str
    agreement_from: date


async def record_event(
    conn: DbConnection,
    *,
    event_id: str,
    subject_id: str,
    kind: str,
    occurred_at: datetime,
    detail: dict[str, Any],
) -> None:
    """Append one event to the subject's file."""
    await record_events(conn, [FileEntry(event_id, subject_id, kind, occurred_at, detail)])


async def record_events(conn: DbConnection, entries: Sequence[FileEntry]) -> None:
    """Append entries to their subjects' files in one statement."""
    if not entries:
        return
    await conn.execute(
        "INSERT INTO credit_events (event_id, subject_id, kind, occurred_at, detail) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], "
        "$5::jsonb[]) ON CONFLICT DO NOTHING",
        [e.event_id for e in entries],
        [e.subject_id for e in entries],
        [e.kind for e in entries],
        [e.occurred_at for e in entries],
        [e.detail for e in entries],
    )


async def subject_events(pool: Pool, subject_id: str, limit: int) -> list[asyncpg.Record]:
    """The subject's file, newest first."""
    return list(
        await pool.fetch(
            "SELECT event_id, kind, occurred_at, detail FROM credit_events "
            "WHERE subject_id = $1 ORDER BY occurred_at DESC, recorded_at DESC LIMIT $2",
            subject_id,
            limit,
        )
    )


async def upsert_registered(
    conn: DbConnection, subject_id: str, subject_type: str, agreement_from: date, name: str
) -> None:
    """Know a subject from `institution.registered.v1`: the first agreement date stays,
    unless the subject was only known from an event (whose date was a stand-in)."""
    await conn.execute(
        "INSERT INTO credit_subjects (subject_id, subject_type, agreement_from, name, source) "
        "VALUES ($1, $2, $3, $4, 'registration') ON CONFLICT (subject_id) DO UPDATE SET "
        "subject_type = EXCLUDED.subject_type, name = EXCLUDED.name, "
        "agreement_from = CASE WHEN credit_subjects.source = 'event' "
        "THEN EXCLUDED.agreement_from ELSE credit_subjects.agreement_from END, "
        "source = CASE WHEN credit_subjects.source = 'event' "
        "THEN 'registration' ELSE credit_subjects.source END, updated_at = now()",
        subject_id,
        subject_type,
        agreement_from,
        name,
    )


async def put_subject(
    conn: DbConnection,
    *,
    subject_id: str,
    subject_type: str,
    agreement_from: date,
    name: str | None,
) -> bool:
    """The bureau states a subject's type and agreement date (it wins); True if new."""
    created: bool = await conn.fetchval(
        "INSERT INTO credit_subjects (subject_id, subject_type, agreement_from, name, source) "
        "VALUES ($1, $2, $3, $4, 'api') ON CONFLICT (subject_id) DO UPDATE SET "
        "subject_type = EXCLUDED.subject_type, agreement_from = EXCLUDED.agreement_from, "
        "name = coalesce(EXCLUDED.name, credit_subjects.name), source = 'api', "
        "updated_at = now() RETURNING (xmax = 0)",
        subject_id,
        subject_type,
        agreement_from,
        name,
    )
    return created


async def ensure_subjects(conn: DbConnection, seen: Iterable[tuple[str, date]]) -> None:
    """Subjects first seen in an event join the registry (as institutions, agreement from
    the event's date) until their registration or the bureau says otherwise."""
    first: dict[str, date] = {}
    for subject_id, on in seen:
        first[subject_id] = min(on, first.get(subject_id, on))
    if not first:
        return
    await conn.execute(
        "INSERT INTO credit_subjects (subject_id, subject_type, agreement_from, source) "
        "SELECT s, 'hospital', d, 'event' FROM unnest($1::text[], $2::date[]) AS t(s, d) "
        "ON CONFLICT (subject_id) DO NOTHING",
        list(first),
        list(first.values()),
    )


async def list_subjects(
    pool: Pool, *, subject_type: str | None, after: str, limit: int, only: str | None = None
) -> list[asyncpg.Record]:
    """The registry (or one subject of it) in subject order, from a cursor."""
    return list(
        await pool.fetch(
            "SELECT s.subject_id, s.subject_type, s.name, s.agreement_from, s.source, "
            "s.last_inspected_on, c.score, c.grade, c.tier, c.lists FROM credit_subjects s "
            "LEFT JOIN credit_standing c USING (subject_id) WHERE s.subject_id > $1 "
            "AND ($2::text IS NULL OR s.subject_type = $2) "
            "AND ($4::text IS NULL OR s.subject_id = $4) ORDER BY s.subject_id LIMIT $3",
            after,
            subject_type,
            limit,
            only,
        )
    )


async def mark_inspected(conn: DbConnection, subject_id: str, on: date) -> None:
    """Remember the latest routine inspection (the plan counts intervals from it)."""
    await conn.execute(
        "UPDATE credit_subjects SET last_inspected_on = GREATEST(last_inspected_on, $2), "
        "updated_at = now() WHERE subject_id = $1",
        subject_id,
        on,
    )


def lock_key(subject_id: str) -> int:
    """The advisory-lock key of a subject (the same one every writer of its file takes)."""
    return zlib.crc32(subject_id.encode())


async def lock_subjects(conn: DbConnection, subject_ids: Iterable[str]) -> None:
    """Serialise writers per subject; keys in ascending order so two batches never deadlock."""
    keys = sorted({lock_key(s) for s in subject_ids})
    if keys:
        await conn.execute(
            "SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS t(k)", keys
        )


async def insert_deductions(
    conn: DbConnection, rows: Sequence[Deduction], notified_on: date
) -> set[str]:
    """Append new ledger rows; returns the ids actually inserted (a known source is a no-op)."""
    if not rows:
        return set()
    inserted = await conn.fetch(
        "INSERT INTO deductions (deduction_id, subject_id, indicator_code, tree_version, "
        "source_event_id, event_type, evidence, points, effective_from, expires_at, state, "
        "notified_on) SELECT *, $11::date FROM unnest($1::text[], $2::text[], $3::text[], "
        "$4::text[], $5::text[], $6::text[], $7::jsonb[], $8::numeric[], $9::date[], "
        "$10::date[], array_fill('active'::text, ARRAY[cardinality($1::text[])])) "
        "ON CONFLICT (source_event_id) DO NOTHING RETURNING deduction_id",
        [r.deduction_id for r in rows],
        [r.subject_id for r in rows],
        [r.indicator_code for r in rows],
        [r.tree_version for r in rows],
        [r.source_event_id for r in rows],
        [r.event_type for r in rows],
        [dict(r.evidence) for r in rows],
        [r.points for r in rows],
        [r.effective_from for r in rows],
        [r.expires_at for r in rows],
        notified_on,
    )
    return {r["deduction_id"] for r in inserted}


def to_row(record: asyncpg.Record) -> Deduction:
    """A ledger row as the domain knows it."""
    return Deduction(
        deduction_id=record["deduction_id"],
        subject_id=record["subject_id"],
        indicator_code=record["indicator_code"],
        tree_version=record["tree_version"],
        source_event_id=record["source_event_id"],
        event_type=record["event_type"],
        evidence=record["evidence"],
        points=Decimal(record["points"]),
        effective_from=record["effective_from"],
        expires_at=record["expires_at"],
        state=RowState(record["state"]),
        repaired_from=record["repaired_from"],
    )


async def ledgers(
    conn: DbConnection,
    subject_ids: Sequence[str],
    *,
    live_on: date | None = None,
    listing_event_types: Iterable[str] = (),
) -> dict[str, list[Deduction]]:
    """The ledger rows of these subjects: all of them, or with `live_on` only those that can
    still move a fold on or after that day — not yet expired, or of an event type whose
    listing runs on its own clock. A years-long file then costs what its live rows cost."""
    found: dict[str, list[Deduction]] = {s: [] for s in subject_ids}
    for record in await conn.fetch(
        f"SELECT {_DEDUCTION_COLUMNS} FROM deductions WHERE subject_id = ANY($1::text[]) "
        "AND ($2::date IS NULL OR expires_at > $2 OR event_type = ANY($3::text[]))",
        list(subject_ids),
        live_on,
        sorted(set(listing_event_types)),
    ):
        found[record["subject_id"]].append(to_row(record))
    return found


async def deduction(conn: DbConnection, deduction_id: str) -> tuple[Deduction, date] | None:
    """One row and the day its subject was notified of it."""
    record = await conn.fetchrow(
        f"SELECT {_DEDUCTION_COLUMNS}, notified_on FROM deductions WHERE deduction_id = $1",
        deduction_id,
    )
    return None if record is None else (to_row(record), record["notified_on"])


async def deductions_by_source(
    conn: DbConnection, source_refs: Sequence[str]
) -> dict[str, tuple[Deduction, date]]:
    """Rows by their source key, with their notification day."""
    return {
        r["source_event_id"]: (to_row(r), r["notified_on"])
        for r in await conn.fetch(
            f"SELECT {_DEDUCTION_COLUMNS}, notified_on FROM deductions "
            "WHERE source_event_id = ANY($1::text[])",
            list(source_refs),
        )
    }


async def set_row_state(
    conn: DbConnection, row: Deduction, previous: RowState, *, cause: str, actor: str
) -> None:
    """Store a row's transition: the current state, and the transition in the row's history."""
    await conn.execute(
        "UPDATE deductions SET state = $2, repaired_from = $3 WHERE deduction_id = $1",
        row.deduction_id,
        row.state.value,
        row.repaired_from,
    )
    await conn.execute(
        "INSERT INTO deduction_transitions (deduction_id, from_state, to_state, cause, actor) "
        "VALUES ($1, $2, $3, $4, $5)",
        row.deduction_id,
        previous.value,
        row.state.value,
        cause,
        actor,
    )


async def subject_facts(conn: DbConnection, subject_ids: Sequence[str]) -> dict[str, SubjectFacts]:
    """Type and agreement date of the known subjects among these."""
    return {
        r["subject_id"]: SubjectFacts(r["subject_type"], r["agreement_from"])
        for r in await conn.fetch(
            "SELECT subject_id, subject_type, agreement_from FROM credit_subjects "
            "WHERE subject_id = ANY($1::text[])",
            list(subject_ids),
        )
    }
