"""Credit's SQL for what the folds produce: stored standings, grade history, approved
overrides, and the lists and plans read from them. Never commits.

Like the ledger's SQL, every statement here takes a list of subjects, so a consumer batch
stores all its standings in one round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import asyncpg
from yibao.db import DbConnection, Pool

from credit_scorer.domain.evaluation import Evaluation, Override
from credit_scorer.domain.grading import GradeMark
from credit_scorer.repository import INSTITUTION_TYPES


@dataclass(frozen=True, slots=True)
class Published:
    """The standing last stored (and, if it changed, published) for a subject."""

    grade: str | None
    tier: str | None
    lists: tuple[str, ...]


async def published(conn: DbConnection, subject_ids: Sequence[str]) -> dict[str, Published]:
    """The standing stored for these subjects."""
    return {
        r["subject_id"]: Published(r["grade"], r["tier"], tuple(r["lists"]))
        for r in await conn.fetch(
            "SELECT subject_id, grade, tier, lists FROM credit_standing "
            "WHERE subject_id = ANY($1::text[])",
            list(subject_ids),
        )
    }


async def grade_history(
    conn: DbConnection, subject_ids: Sequence[str]
) -> dict[str, list[GradeMark]]:
    """Each subject's recorded grades, in recording order."""
    found: dict[str, list[GradeMark]] = {}
    for r in await conn.fetch(
        "SELECT subject_id, marked_on, grade FROM grade_marks "
        "WHERE subject_id = ANY($1::text[]) ORDER BY seq",
        list(subject_ids),
    ):
        found.setdefault(r["subject_id"], []).append(GradeMark(r["marked_on"], r["grade"]))
    return found


async def approved_overrides(
    conn: DbConnection, subject_ids: Sequence[str]
) -> dict[str, list[Override]]:
    """Approved manual grades of these subjects, in approval order."""
    found: dict[str, list[Override]] = {}
    for r in await conn.fetch(
        "SELECT override_id, subject_id, to_grade, approved_on, valid_until FROM grade_overrides "
        "WHERE subject_id = ANY($1::text[]) AND state = 'approved' "
        "ORDER BY approved_on, created_at",
        list(subject_ids),
    ):
        found.setdefault(r["subject_id"], []).append(
            Override(r["override_id"], r["to_grade"], r["approved_on"], r["valid_until"])
        )
    return found


async def store_standings(conn: DbConnection, evaluated: dict[str, Evaluation]) -> None:
    """Upsert the standings of many subjects in one statement."""
    if not evaluated:
        return
    items = list(evaluated.items())
    await conn.execute(
        "INSERT INTO credit_standing (subject_id, score, grade, tier, lists, black_until, "
        "next_change_on, override_id, updated_at) SELECT s, sc, g, t, "
        "CASE WHEN l = '' THEN '{}'::text[] ELSE string_to_array(l, ',') END, b, n, o, now() "
        "FROM unnest($1::text[], $2::numeric[], $3::text[], $4::text[], $5::text[], "
        "$6::date[], $7::date[], $8::text[]) AS x(s, sc, g, t, l, b, n, o) "
        "ON CONFLICT (subject_id) DO UPDATE SET score = EXCLUDED.score, grade = EXCLUDED.grade, "
        "tier = EXCLUDED.tier, lists = EXCLUDED.lists, black_until = EXCLUDED.black_until, "
        "next_change_on = EXCLUDED.next_change_on, override_id = EXCLUDED.override_id, "
        "updated_at = now()",
        [s for s, _ in items],
        [e.standing.score for _, e in items],
        [e.standing.grade for _, e in items],
        [e.standing.tier.value if e.standing.tier else None for _, e in items],
        [",".join(sorted(x.value for x in e.standing.lists)) for _, e in items],
        [e.black_until for _, e in items],
        [e.next_change_on for _, e in items],
        [e.override_id for _, e in items],
    )


async def add_grade_marks(conn: DbConnection, marks: Sequence[tuple[str, GradeMark]]) -> None:
    """Record grades as they were published (the red list reads them later)."""
    if marks:
        await conn.execute(
            "INSERT INTO grade_marks (subject_id, marked_on, grade) "
            "SELECT * FROM unnest($1::text[], $2::date[], $3::text[])",
            [s for s, _ in marks],
            [m.on for _, m in marks],
            [m.grade for _, m in marks],
        )


async def due_for_reevaluation(conn: DbConnection, today: date, limit: int) -> list[str]:
    """Subjects whose standing may have changed with the date.

    No row lock: writers take the subject's advisory lock first and the standing row last,
    so a sweep holding row locks while waiting for advisory ones could deadlock with them.
    Two replicas sweeping the same subject serialise on its advisory lock; the second finds
    the standing already current and publishes nothing.
    """
    return [
        r["subject_id"]
        for r in await conn.fetch(
            "SELECT subject_id FROM credit_standing WHERE next_change_on <= $1 "
            "ORDER BY next_change_on LIMIT $2",
            today,
            limit,
        )
    ]


async def list_members(
    pool: Pool, list_name: str, *, after: str, limit: int
) -> list[asyncpg.Record]:
    """The subjects on a list now, in subject order, from a cursor."""
    return list(
        await pool.fetch(
            "SELECT c.subject_id, s.subject_type, s.name, c.score, c.grade, c.tier, "
            "c.black_until, c.updated_at FROM credit_standing c "
            "JOIN credit_subjects s USING (subject_id) "
            "WHERE c.lists @> ARRAY[$1::text] AND c.subject_id > $2 "
            "ORDER BY c.subject_id LIMIT $3",
            list_name,
            after,
            limit,
        )
    )


async def plan_subjects(pool: Pool) -> list[asyncpg.Record]:
    """Every institution with its tier and last inspection (the plan's input)."""
    return list(
        await pool.fetch(
            "SELECT s.subject_id, s.subject_type, s.last_inspected_on, c.grade, c.tier "
            "FROM credit_subjects s LEFT JOIN credit_standing c USING (subject_id) "
            "WHERE s.subject_type = ANY($1::text[])",
            list(INSTITUTION_TYPES),
        )
    )
