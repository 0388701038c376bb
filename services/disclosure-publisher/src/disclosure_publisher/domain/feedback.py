"""The feedback ledger's state machine: open → answered → rectification → re-check → closed.

Who may move an item is part of the rule: the institution answers and reports rectification
done; the bureau decides whether an answer closes the item or needs rectification, and
whether a re-check passes. Every move names its actor so the item's history is complete.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

Actor = Literal["institution", "bureau"]


class Status(enum.StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    RECTIFICATION = "rectification"
    RE_CHECK = "re_check"
    CLOSED = "closed"


class Action(enum.StrEnum):
    ANSWER = "answer"
    REQUIRE_RECTIFICATION = "require_rectification"
    REPORT_RECTIFIED = "report_rectified"
    CLOSE = "close"


TRANSITIONS: dict[tuple[Status, Action], tuple[Actor, Status]] = {
    (Status.OPEN, Action.ANSWER): ("institution", Status.ANSWERED),
    (Status.ANSWERED, Action.CLOSE): ("bureau", Status.CLOSED),
    (Status.ANSWERED, Action.REQUIRE_RECTIFICATION): ("bureau", Status.RECTIFICATION),
    (Status.RECTIFICATION, Action.REPORT_RECTIFIED): ("institution", Status.RE_CHECK),
    (Status.RE_CHECK, Action.CLOSE): ("bureau", Status.CLOSED),
    (Status.RE_CHECK, Action.REQUIRE_RECTIFICATION): ("bureau", Status.RECTIFICATION),
}

AWAITING_INSTITUTION = frozenset({Status.OPEN, Status.RECTIFICATION})
"""Statuses whose due date binds the institution: passing it escalates the item."""


class TransitionError(ValueError):
    """The action is not allowed from this status, or not for this actor."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Move:
    """The result of an allowed action: new status and (when it restarts the clock) due date."""

    status: Status
    due_date: date | None
    restarts_escalation: bool


def apply(status: Status, action: Action, *, actor: Actor, today: date, response_days: int) -> Move:
    """Check and apply one action; a new rectification period gets a fresh due date."""
    rule = TRANSITIONS.get((status, action))
    if rule is None:
        raise TransitionError(
            "feedback_transition_invalid", f"{action.value} is not allowed when {status.value}"
        )
    who, target = rule
    if who != actor:
        raise TransitionError(
            "feedback_actor_invalid", f"only the {who} may {action.value} an item"
        )
    if target is Status.RECTIFICATION:
        return Move(target, today + timedelta(days=response_days), True)
    return Move(target, None, False)


def overdue_days(status: Status, due_date: date, today: date) -> int:
    """Days past due for an item waiting on the institution (0 when not overdue)."""
    if status not in AWAITING_INSTITUTION:
        return 0
    return max(0, (today - due_date).days)
