"""An institution's credit standing: the ledger folds into a score, grade, tier and lists,
and a *change* of standing goes out as credit.grade-changed.

Every change to a subject's ledger (a finding, an objection, a repair, an override, or the
date alone) ends in `refresh`, which folds the subjects touched — and only those — from their
own ledgers inside the transaction that changed them, compares with the standing stored last
time and emits exactly when grade, tier or lists moved. Concurrent writers of one subject
serialise on its advisory lock, so "compare with the last one" cannot race.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from yibao.calendar import bureau_date
from yibao.db import DbConnection, UnitOfWork
from yibao.events import CreditGradeChanged

from credit_scorer import repository as repo
from credit_scorer import standing_repository as standings
from credit_scorer.domain.config import read_config
from credit_scorer.domain.dates import WorkingCalendar, load_calendar
from credit_scorer.domain.evaluation import Evaluation, evaluate
from credit_scorer.domain.grading import GradeMark
from credit_scorer.domain.indicators import IndicatorTree, load_tree
from credit_scorer.domain.policy import Policy, load_policies, policy_for

NO_STANDING = standings.Published(None, None, ())
"""What a subject never evaluated counts as: publishing "still ungraded" is not a change."""


@dataclass(frozen=True, slots=True)
class CreditBook:
    """The indicator tree, policy versions and working calendar in force (configuration)."""

    tree: IndicatorTree
    policies: tuple[Policy, ...]
    calendar: WorkingCalendar

    @classmethod
    def default(cls) -> CreditBook:
        raw = read_config()
        return cls(tree=load_tree(raw), policies=load_policies(raw), calendar=load_calendar(raw))

    @property
    def listing_event_types(self) -> frozenset[str]:
        """Event types whose black listing outlives the row's validity, in any version."""
        return frozenset(t for p in self.policies for t in p.blacklist_event_types)

    def policy(self, on: date) -> Policy:
        """The policy version in force on a day."""
        return policy_for(on, self.policies)


def today() -> date:
    """The bureau's calendar day now (deadlines and validity are counted in it)."""
    return bureau_date(datetime.now(UTC))


async def evaluate_subjects(
    conn: DbConnection,
    book: CreditBook,
    subject_ids: Iterable[str],
    as_of: date,
    *,
    whole_ledger: bool = False,
) -> dict[str, Evaluation]:
    """Fold each subject's ledger on `as_of` (a subject not known yet: ungraded, full marks).

    By default only the rows still live on `as_of` are read, which folds to the same
    standing; `whole_ledger` folds every row, as the definition does (the recompute check).
    """
    ids = sorted(set(subject_ids))
    return (await _fold(conn, book, ids, as_of, whole_ledger=whole_ledger))[2]


async def _fold(
    conn: DbConnection, book: CreditBook, ids: list[str], as_of: date, *, whole_ledger: bool
) -> tuple[dict[str, repo.SubjectFacts], dict[str, list[GradeMark]], dict[str, Evaluation]]:
    facts = await repo.subject_facts(conn, ids)
    ledgers = await repo.ledgers(
        conn,
        ids,
        live_on=None if whole_ledger else as_of,
        listing_event_types=book.listing_event_types,
    )
    history = await standings.grade_history(conn, ids)
    overrides = await standings.approved_overrides(conn, ids)
    evaluated = {
        sid: evaluate(
            ledgers[sid],
            book.tree,
            book.policies,
            as_of,
            agreement_from=_graded_from(facts.get(sid), as_of),
            grade_history=history.get(sid, ()),
            overrides=overrides.get(sid, ()),
        )
        for sid in ids
    }
    return facts, history, evaluated


def _graded_from(facts: repo.SubjectFacts | None, as_of: date) -> date:
    """The agreement date the grade counts from. Practitioners are never graded A–D (the
    12-point system is theirs), and a subject not known yet has no agreement to count."""
    if facts is None or facts.subject_type not in repo.INSTITUTION_TYPES:
        return as_of
    return facts.agreement_from


async def refresh(
    uow: UnitOfWork, book: CreditBook, subject_ids: Iterable[str], as_of: date
) -> dict[str, Evaluation]:
    """Re-fold the subjects, store their standing, and publish the ones that really changed."""
    conn = uow.conn
    ids = sorted(set(subject_ids))
    if not ids:
        return {}
    await repo.lock_subjects(conn, ids)
    kinds, history, evaluated = await _fold(conn, book, ids, as_of, whole_ledger=False)
    before = await standings.published(conn, list(evaluated))
    marks: list[tuple[str, GradeMark]] = []
    entries: list[repo.FileEntry] = []
    now = datetime.now(UTC)
    for sid, result in evaluated.items():
        standing = result.standing
        marked = history.get(sid)
        if not marked or marked[-1].grade != standing.grade:
            marks.append((sid, GradeMark(as_of, standing.grade)))
        previous = before.get(sid, NO_STANDING)
        lists = tuple(sorted(item.value for item in standing.lists))
        tier = standing.tier.value if standing.tier else None
        if previous == standings.Published(standing.grade, tier, lists):
            continue
        kind = kinds[sid].subject_type if sid in kinds else "hospital"
        event = CreditGradeChanged.model_validate(
            {
                "subject_id": sid,
                "subject_type": kind,
                "score": standing.score,
                "grade": standing.grade,
                "previous_grade": previous.grade,
                "lists": list(lists),
                "tier": tier,
                "changed_at": now,
            }
        )
        envelope = uow.emit(event)
        entries.append(
            repo.FileEntry(
                event_id=f"standing:{envelope.id}",
                subject_id=sid,
                kind="standing_changed",
                occurred_at=now,
                detail={
                    "grade": standing.grade,
                    "previous_grade": previous.grade,
                    "tier": tier,
                    "lists": list(lists),
                    "score": str(standing.score),
                    "override_id": result.override_id,
                },
            )
        )
    await standings.store_standings(conn, evaluated)
    await standings.add_grade_marks(conn, marks)
    await repo.record_events(conn, entries)
    return evaluated


async def subject_type(conn: DbConnection, subject_id: str) -> str:
    """What kind of subject this is: as the registry says, else as the 12-point system knows
    the person, else an institution (hospital until its `institution.registered.v1`)."""
    facts = await repo.subject_facts(conn, [subject_id])
    if subject_id in facts:
        return facts[subject_id].subject_type
    person: str | None = await conn.fetchval(
        "SELECT subject_type FROM practitioner_status WHERE certno = $1", subject_id
    )
    return person or "hospital"
