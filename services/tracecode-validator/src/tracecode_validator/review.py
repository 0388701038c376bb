"""A reviewer settles a pending settlement (事中审核): the decision event goes out again."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from yibao.db import UnitOfWork
from yibao.events import SettlementDecided
from yibao.events.settlement import RuleHit
from yibao.problems import ProblemError

from tracecode_validator import repository as repo
from tracecode_validator.convert import record_from_json
from tracecode_validator.domain.returns import undo_hold


async def settle_review(
    uow: UnitOfWork,
    *,
    settlement_id: str,
    verdict: Literal["approve", "reject"],
    reviewer: str,
    reason: str,
) -> Literal["approved", "rejected"]:
    """Approve (the held codes stay sold) or reject (they go back on the shelf)."""
    conn = uow.conn
    stored = await repo.decision(conn, settlement_id)
    if stored is None:
        raise ProblemError(
            404, "settlement_not_found", "Not found", f"No decision {settlement_id}."
        )
    if stored["status"] != "pending_review":
        raise _not_pending(settlement_id, stored["status"])
    now = datetime.now(UTC)
    status: Literal["approved", "rejected"] = "approved" if verdict == "approve" else "rejected"
    # Settle it first: of two reviewers deciding at once, only one finds it still pending.
    if not await repo.review_decision(
        conn,
        settlement_id=settlement_id,
        status=status,
        reviewer=reviewer,
        reason=reason,
        decided_at=now,
        dispensed=[] if status == "rejected" else None,
    ):
        raise _not_pending(settlement_id, "decided by another reviewer")
    if status == "rejected":
        previous = {
            held["key"]: record_from_json(held["record"]) if held["record"] else None
            for held in stored["held_from"] or []
        }
        await repo.lock_codes(conn, previous)
        current = await repo.load_codes(conn, previous)
        restored = undo_hold(settlement_id, current, previous)
        await repo.save_codes(
            conn, restored, event="review_rejected", reference=settlement_id, at=now
        )
    uow.emit(
        SettlementDecided(
            settlement_id=settlement_id,
            fixmedins_code=stored["fixmedins_code"],
            psn_key=stored["psn_key"],
            status=status,
            hits=[RuleHit.model_validate(h) for h in stored["hits"]],
            decided_by=f"reviewer:{reviewer}",
            amount=stored["amount"],
            decided_at=now,
        )
    )
    return status


def _not_pending(settlement_id: str, state: str) -> ProblemError:
    return ProblemError(
        409, "not_pending_review", "Not pending review", f"Settlement {settlement_id} is {state}."
    )
