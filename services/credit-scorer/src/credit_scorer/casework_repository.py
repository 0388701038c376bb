"""SQL of the casework tables: objections, repairs and manual grade overrides. Never commits.

A case row is locked (`FOR UPDATE`) by whoever decides it, so two reviewers clicking at once
get one decision and one 409, never two transitions of the same ledger row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import asyncpg
from yibao.db import DbConnection, Pool

_OBJECTION = (
    "objection_id, subject_id, deduction_id, source_ref, grounds, filed_by, filed_on, "
    "review_due, state, decided_by, decided_on, decision_reason"
)
_REPAIR = (
    "repair_id, subject_id, deduction_id, rectified_on, statement, applied_by, applied_on, "
    "review_due, state, reviewed_by, reviewed_on, review_reason, approved_by, approved_on, "
    "repaired_from"
)
_OVERRIDE = (
    "override_id, subject_id, from_grade, to_grade, reason, requested_by, requested_on, state, "
    "approved_by, approved_on, valid_until"
)


CASE_TABLES = {"objection": "objections", "repair": "repairs", "override": "grade_overrides"}


async def case_subject(conn: DbConnection, kind: str, case_id: str) -> str | None:
    """The subject a case belongs to, read before any lock: deciders lock the subject first
    and the case row second, in the same order as every other writer of the file."""
    table = CASE_TABLES[kind]
    subject: str | None = await conn.fetchval(
        f"SELECT subject_id FROM {table} WHERE {kind}_id = $1", case_id
    )
    return subject


async def insert_objection(conn: DbConnection, **values: Any) -> asyncpg.Record:
    """A new objection (pending, or waiting for its deduction)."""
    record = await conn.fetchrow(
        "INSERT INTO objections (objection_id, subject_id, deduction_id, source_ref, grounds, "
        "filed_by, filed_on, review_due, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
        f"RETURNING {_OBJECTION}",
        values["objection_id"],
        values["subject_id"],
        values["deduction_id"],
        values["source_ref"],
        values["grounds"],
        values["filed_by"],
        values["filed_on"],
        values["review_due"],
        values["state"],
    )
    assert record is not None
    return record


async def objection_for_update(conn: DbConnection, objection_id: str) -> asyncpg.Record | None:
    """One objection, locked until the transaction ends."""
    return await conn.fetchrow(
        f"SELECT {_OBJECTION} FROM objections WHERE objection_id = $1 FOR UPDATE", objection_id
    )


async def parked_objections(conn: DbConnection, source_refs: Sequence[str]) -> list[asyncpg.Record]:
    """Objections filed before their deduction arrived, for these source keys, oldest first."""
    return list(
        await conn.fetch(
            f"SELECT {_OBJECTION} FROM objections WHERE state = 'awaiting_deduction' "
            "AND source_ref = ANY($1::text[]) ORDER BY created_at FOR UPDATE",
            list(source_refs),
        )
    )


async def update_objection(conn: DbConnection, objection_id: str, **values: Any) -> asyncpg.Record:
    """Move an objection on (state, its deduction, the review deadline or the decision)."""
    return await _update_case(conn, "objections", "objection_id", objection_id, _OBJECTION, values)


async def subject_objections(pool: Pool, subject_id: str) -> list[asyncpg.Record]:
    """A subject's objections, newest first."""
    return list(
        await pool.fetch(
            f"SELECT {_OBJECTION} FROM objections WHERE subject_id = $1 ORDER BY created_at DESC",
            subject_id,
        )
    )


async def objections_in_state(pool: Pool, state: str, *, limit: int) -> list[asyncpg.Record]:
    """The review queue: objections in one state, the earliest deadline first."""
    return list(
        await pool.fetch(
            f"SELECT {_OBJECTION} FROM objections WHERE state = $1 "
            "ORDER BY review_due NULLS LAST, created_at LIMIT $2",
            state,
            limit,
        )
    )


async def insert_repair(conn: DbConnection, **values: Any) -> asyncpg.Record:
    """A new repair application, waiting for its reviewer."""
    record = await conn.fetchrow(
        "INSERT INTO repairs (repair_id, subject_id, deduction_id, rectified_on, statement, "
        "applied_by, applied_on, review_due, state) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending') "
        f"RETURNING {_REPAIR}",
        values["repair_id"],
        values["subject_id"],
        values["deduction_id"],
        values["rectified_on"],
        values["statement"],
        values["applied_by"],
        values["applied_on"],
        values["review_due"],
    )
    assert record is not None
    return record


async def repair_for_update(conn: DbConnection, repair_id: str) -> asyncpg.Record | None:
    """One repair application, locked until the transaction ends."""
    return await conn.fetchrow(
        f"SELECT {_REPAIR} FROM repairs WHERE repair_id = $1 FOR UPDATE", repair_id
    )


async def update_repair(conn: DbConnection, repair_id: str, **values: Any) -> asyncpg.Record:
    """Record a review or an approval of a repair."""
    return await _update_case(conn, "repairs", "repair_id", repair_id, _REPAIR, values)


async def _update_case(
    conn: DbConnection,
    table: str,
    key_column: str,
    key: str,
    returning: str,
    values: dict[str, Any],
) -> asyncpg.Record:
    """Set some columns of one case row (names from this module's callers, never a client)."""
    columns = sorted(values)
    assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start=2))
    record = await conn.fetchrow(
        f"UPDATE {table} SET {assignments} WHERE {key_column} = $1 RETURNING {returning}",
        key,
        *(values[c] for c in columns),
    )
    assert record is not None
    return record


async def subject_repairs(pool: Pool, subject_id: str) -> list[asyncpg.Record]:
    """A subject's repair applications, newest first."""
    return list(
        await pool.fetch(
            f"SELECT {_REPAIR} FROM repairs WHERE subject_id = $1 ORDER BY created_at DESC",
            subject_id,
        )
    )


async def repairs_in_state(pool: Pool, state: str, *, limit: int) -> list[asyncpg.Record]:
    """The repair queue in one state, the earliest deadline first."""
    return list(
        await pool.fetch(
            f"SELECT {_REPAIR} FROM repairs WHERE state = $1 "
            "ORDER BY review_due, created_at LIMIT $2",
            state,
            limit,
        )
    )


async def insert_override(
    conn: DbConnection,
    *,
    override_id: str,
    subject_id: str,
    from_grade: str | None,
    to_grade: str,
    reason: str,
    requested_by: str,
    requested_on: date,
) -> asyncpg.Record:
    """A requested manual grade, waiting for its second approver."""
    record = await conn.fetchrow(
        "INSERT INTO grade_overrides (override_id, subject_id, from_grade, to_grade, reason, "
        "requested_by, requested_on, state) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending') "
        f"RETURNING {_OVERRIDE}",
        override_id,
        subject_id,
        from_grade,
        to_grade,
        reason,
        requested_by,
        requested_on,
    )
    assert record is not None
    return record


async def override_for_update(conn: DbConnection, override_id: str) -> asyncpg.Record | None:
    """One override request, locked until the transaction ends."""
    return await conn.fetchrow(
        f"SELECT {_OVERRIDE} FROM grade_overrides WHERE override_id = $1 FOR UPDATE", override_id
    )


async def decide_override(
    conn: DbConnection,
    override_id: str,
    *,
    state: str,
    approved_by: str,
    approved_on: date,
    valid_until: date | None,
) -> asyncpg.Record:
    """Record the second approver's decision on an override."""
    record = await conn.fetchrow(
        "UPDATE grade_overrides SET state = $2, approved_by = $3, approved_on = $4, "
        f"valid_until = $5 WHERE override_id = $1 RETURNING {_OVERRIDE}",
        override_id,
        state,
        approved_by,
        approved_on,
        valid_until,
    )
    assert record is not None
    return record
