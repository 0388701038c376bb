"""Findings become ledger rows: from inspectors over HTTP, and from other services' events.

One call takes a whole consumer batch: the rows go in with one statement, the subjects
touched are re-folded once each, and objections that were waiting for a row take effect
before the fold — so an objection that arrived first is honoured from the row's first day.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime

from yibao.db import UnitOfWork
from yibao.problems import ProblemError

from credit_scorer import repository as repo
from credit_scorer.domain.evaluation import Evaluation
from credit_scorer.domain.ledger import Deduction, new_row
from credit_scorer.domain.sources import Finding
from credit_scorer.objections import activate_parked
from credit_scorer.standing import CreditBook, refresh

log = logging.getLogger(__name__)
INSPECTION_EVENT_TYPES = frozenset({"inspection_finding"})


def indicator_for(book: CreditBook, finding: Finding) -> str:
    """The third-level indicator a finding deducts under; ProblemError when it is not clear."""
    leaves = [n.code for n in book.tree.leaves_for(finding.event_type)]
    code = finding.indicator_code
    if code is None and len(leaves) == 1:
        code = leaves[0]
    if code not in leaves:
        raise ProblemError(
            422,
            "unknown_indicator",
            "No indicator for this finding",
            f"{finding.event_type!r} is handled by {leaves or 'no indicator'}; got {code!r}.",
            field="$.indicator_code",
            hint="Pick one of the listed third-level indicators.",
        )
    assert code is not None
    return code


async def add_findings(
    uow: UnitOfWork,
    book: CreditBook,
    findings: Sequence[Finding],
    *,
    on: date,
    strict: bool,
) -> dict[str, Evaluation]:
    """Record findings as rows (a known source key is a no-op) and refresh their subjects.

    `strict` (the API) refuses a finding no indicator reacts to; events (not strict) keep
    such a fact in the file only, since the tree decides what deducts, not the producer.
    """
    rows: list[Deduction] = []
    for finding in findings:
        try:
            code = indicator_for(book, finding)
        except ProblemError:
            if strict:
                raise
            log.info("no indicator for %s; kept in the file only", finding.event_type)
            continue
        rows.append(
            new_row(
                book.tree,
                deduction_id=str(uuid.uuid4()),
                subject_id=finding.subject_id,
                indicator_code=code,
                source_event_id=finding.source_ref,
                event_type=finding.event_type,
                evidence=finding.evidence,
                effective_from=finding.decided_on,
            )
        )
    subjects = {f.subject_id for f in findings}
    await repo.ensure_subjects(uow.conn, ((f.subject_id, f.decided_on) for f in findings))
    await repo.lock_subjects(uow.conn, subjects)
    inserted = await repo.insert_deductions(uow.conn, rows, on)
    new = [r for r in rows if r.deduction_id in inserted]
    now = datetime.now(UTC)
    await repo.record_events(
        uow.conn,
        [
            repo.FileEntry(
                event_id=f"deduction:{r.deduction_id}",
                subject_id=r.subject_id,
                kind="deduction_added",
                occurred_at=now,
                detail={
                    "deduction_id": r.deduction_id,
                    "indicator": r.indicator_code,
                    "tree_version": r.tree_version,
                    "event_type": r.event_type,
                    "source": r.source_event_id,
                    "points": str(r.points),
                    "effective_from": r.effective_from.isoformat(),
                    "expires_at": r.expires_at.isoformat(),
                },
            )
            for r in new
        ],
    )
    for r in new:
        if r.event_type in INSPECTION_EVENT_TYPES:
            await repo.mark_inspected(uow.conn, r.subject_id, r.effective_from)
    await activate_parked(uow, book, new, on)
    return await refresh(uow, book, subjects, on)
