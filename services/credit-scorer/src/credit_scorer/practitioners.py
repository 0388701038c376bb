"""Recording a practitioner's points: the 12-point fold plus the event other services need.

The validator refuses what a suspended or terminated practitioner prescribes or dispenses,
so every change of qualification goes out as `credit.grade-changed.v1` — and nothing goes
out when the status did not change.
"""

from __future__ import annotations

import zlib
from datetime import UTC, date, datetime
from typing import Literal

from yibao.db import DbConnection, UnitOfWork
from yibao.events import CreditGradeChanged

from credit_scorer.domain.practitioner import (
    PointsEntry,
    PractitionerStatus,
    record_points,
    status_on,
)

PractitionerType = Literal["doctor", "pharmacist", "nurse", "other"]


async def add_points(
    uow: UnitOfWork,
    *,
    certno: str,
    subject_type: PractitionerType,
    points: int,
    decided_at: date,
    reason: str,
    suspension_months: int | None,
    institution: str | None,
    recorded_by: str,
) -> PractitionerStatus:
    """Append an entry, fold the person's history, store the status, emit on a change."""
    conn = uow.conn
    # One person's entries are folded in order: serialise concurrent entries for them.
    await conn.execute("SELECT pg_advisory_xact_lock($1)", zlib.crc32(certno.encode()))
    history = await _history(conn, certno)
    entry = PointsEntry(
        certno=certno,
        points=points,
        decided_at=decided_at,
        reason=reason,
        suspension_months=suspension_months,
        institution=institution,
    )
    status = record_points(history, entry)
    await conn.execute(
        "INSERT INTO practitioner_points (certno, points, decided_at, reason, "
        "suspension_months, institution, recorded_by) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        certno,
        points,
        decided_at,
        reason,
        suspension_months,
        institution,
        recorded_by,
    )
    previous = await conn.fetchrow(
        "SELECT status, suspended_until, banned_until FROM practitioner_status WHERE certno = $1",
        certno,
    )
    await conn.execute(
        """
        INSERT INTO practitioner_status (certno, subject_type, year_points, status,
            suspended_until, banned_until, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, now())
        ON CONFLICT (certno) DO UPDATE SET subject_type = EXCLUDED.subject_type,
            year_points = EXCLUDED.year_points, status = EXCLUDED.status,
            suspended_until = EXCLUDED.suspended_until, banned_until = EXCLUDED.banned_until,
            updated_at = now()
        """,
        certno,
        subject_type,
        status.year_points,
        status.status.value,
        status.suspended_until,
        status.banned_until,
    )
    before = (
        (previous["status"], previous["suspended_until"], previous["banned_until"])
        if previous
        else ("active", None, None)
    )
    if before != (status.status.value, status.suspended_until, status.banned_until):
        uow.emit(
            CreditGradeChanged(
                subject_id=certno,
                subject_type=subject_type,
                practitioner_status=status.status.value,
                suspended_until=status.suspended_until,
                changed_at=datetime.now(UTC),
            )
        )
    return status


async def _history(conn: DbConnection, certno: str) -> list[PointsEntry]:
    rows = await conn.fetch(
        "SELECT points, decided_at, reason, suspension_months, institution "
        "FROM practitioner_points WHERE certno = $1",
        certno,
    )
    return [
        PointsEntry(
            certno=certno,
            points=r["points"],
            decided_at=r["decided_at"],
            reason=r["reason"],
            suspension_months=r["suspension_months"],
            institution=r["institution"],
        )
        for r in rows
    ]


async def current_status(conn: DbConnection, certno: str, on: date) -> PractitionerStatus | None:
    """The person's status on `on` (points reset each year, suspensions end by date);
    None for someone with no points on file."""
    history = await _history(conn, certno)
    return status_on(certno, history, on) if history else None
