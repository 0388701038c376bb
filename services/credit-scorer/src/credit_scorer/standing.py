"""An institution's credit standing: findings become ledger rows, the ledger folds into a
score, grade, tier and lists, and a *change* of standing goes out as credit.grade-changed.

The fold runs over the subject's own ledger (a few dozen rows at most), inside the
transaction that added the row, so concurrent findings for one subject serialise on it.
"""

from __future__ import annotations

import uuid
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from yibao.db import DbConnection, UnitOfWork
from yibao.events import CreditGradeChanged
from yibao.problems import ProblemError

from credit_scorer.domain.config import read_config
from credit_scorer.domain.indicators import IndicatorTree, load_tree
from credit_scorer.domain.ledger import Deduction, RowState, new_row
from credit_scorer.domain.policy import Policy, load_policies, policy_for
from credit_scorer.domain.scoring import Score, score


@dataclass(frozen=True, slots=True)
class CreditBook:
    """The indicator tree and policy versions in force (loaded once from configuration)."""

    tree: IndicatorTree
    policies: tuple[Policy, ...]

    @classmethod
    def default(cls) -> CreditBook:
        raw = read_config()
        return cls(tree=load_tree(raw), policies=load_policies(raw))


async def upsert_subject(
    conn: DbConnection, subject_id: str, subject_type: str, agreement_from: date
) -> None:
    """Know a subject (from institution.registered.v1); the first agreement date stays."""
    await conn.execute(
        "INSERT INTO credit_subjects (subject_id, subject_type, agreement_from) "
        "VALUES ($1, $2, $3) ON CONFLICT (subject_id) DO UPDATE SET "
        "subject_type = EXCLUDED.subject_type, updated_at = now()",
        subject_id,
        subject_type,
        agreement_from,
    )


async def add_finding(
    uow: UnitOfWork,
    book: CreditBook,
    *,
    subject_id: str,
    event_type: str,
    indicator_code: str | None,
    evidence: dict[str, Any],
    decided_on: date,
    source_event_id: str,
) -> Score:
    """Record one finding against the indicator that reacts to it; publish a real change."""
    leaves = [n.code for n in book.tree.leaves_for(event_type)]
    if indicator_code is None and len(leaves) == 1:
        indicator_code = leaves[0]
    if indicator_code not in leaves:
        raise ProblemError(
            422,
            "unknown_indicator",
            "No indicator for this finding",
            f"{event_type!r} is handled by {leaves or 'no indicator'}; got {indicator_code!r}.",
            field="$.indicator_code",
            hint="Pick one of the listed third-level indicators.",
        )
    await _lock(uow.conn, subject_id)
    row = new_row(
        book.tree,
        deduction_id=str(uuid.uuid4()),
        subject_id=subject_id,
        indicator_code=indicator_code,
        source_event_id=source_event_id,
        event_type=event_type,
        evidence=evidence,
        effective_from=decided_on,
    )
    await uow.conn.execute(
        "INSERT INTO deductions (deduction_id, subject_id, indicator_code, tree_version, "
        "source_event_id, event_type, evidence, points, effective_from, expires_at, state) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
        "ON CONFLICT (source_event_id) DO NOTHING",
        row.deduction_id,
        row.subject_id,
        row.indicator_code,
        row.tree_version,
        row.source_event_id,
        row.event_type,
        dict(row.evidence),
        row.points,
        row.effective_from,
        row.expires_at,
        row.state.value,
    )
    return await refresh(uow, book, subject_id)


async def refresh(uow: UnitOfWork, book: CreditBook, subject_id: str) -> Score:
    """Fold the ledger as of today; store and emit only if grade, tier or lists changed."""
    today = datetime.now(UTC).date()
    current = await current_score(uow.conn, book, subject_id, today)
    standing = current.standing
    previous = await uow.conn.fetchrow(
        "SELECT grade, tier, lists FROM credit_standing WHERE subject_id = $1", subject_id
    )
    lists = sorted(item.value for item in standing.lists)
    tier = standing.tier.value if standing.tier else None
    await uow.conn.execute(
        "INSERT INTO credit_standing (subject_id, score, grade, tier, lists, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, now()) ON CONFLICT (subject_id) DO UPDATE SET "
        "score = EXCLUDED.score, grade = EXCLUDED.grade, tier = EXCLUDED.tier, "
        "lists = EXCLUDED.lists, updated_at = now()",
        subject_id,
        standing.score,
        standing.grade,
        tier,
        lists,
    )
    before = (previous["grade"], previous["tier"], list(previous["lists"])) if previous else None
    if before != (standing.grade, tier, lists):
        subject_kind = await subject_type(uow.conn, subject_id)
        uow.emit(
            CreditGradeChanged.model_validate(
                {
                    "subject_id": subject_id,
                    "subject_type": subject_kind,
                    "score": standing.score,
                    "grade": standing.grade,
                    "previous_grade": previous["grade"] if previous else None,
                    "lists": lists,
                    "tier": tier,
                    "changed_at": datetime.now(UTC),
                }
            )
        )
    return current


async def current_score(
    conn: DbConnection, book: CreditBook, subject_id: str, as_of: date
) -> Score:
    """The subject's score on a day, from its ledger (no subject: ungraded, full marks)."""
    agreement_from = await conn.fetchval(
        "SELECT agreement_from FROM credit_subjects WHERE subject_id = $1", subject_id
    )
    rows = await conn.fetch(
        "SELECT deduction_id, subject_id, indicator_code, tree_version, source_event_id, "
        "event_type, evidence, points, effective_from, expires_at, state, repaired_from "
        "FROM deductions WHERE subject_id = $1",
        subject_id,
    )
    ledger = [
        Deduction(
            deduction_id=r["deduction_id"],
            subject_id=r["subject_id"],
            indicator_code=r["indicator_code"],
            tree_version=r["tree_version"],
            source_event_id=r["source_event_id"],
            event_type=r["event_type"],
            evidence=r["evidence"],
            points=Decimal(r["points"]),
            effective_from=r["effective_from"],
            expires_at=r["expires_at"],
            state=RowState(r["state"]),
            repaired_from=r["repaired_from"],
        )
        for r in rows
    ]
    return score(
        ledger,
        book.tree,
        policy_for(as_of, book.policies),
        as_of,
        agreement_from=agreement_from or as_of,
    )


async def subject_type(conn: DbConnection, subject_id: str) -> str:
    """What kind of subject this is, as its registration said (institutions default to
    hospital until their `institution.registered.v1` arrives)."""
    kind: str | None = await conn.fetchval(
        "SELECT subject_type FROM credit_subjects WHERE subject_id = $1", subject_id
    )
    return kind or "hospital"


async def _lock(conn: DbConnection, subject_id: str) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock($1)", zlib.crc32(subject_id.encode()))
