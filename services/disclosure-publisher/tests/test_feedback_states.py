"""The feedback state machine: every allowed move, the actor rule, overdue days."""

from __future__ import annotations

from datetime import date

import pytest
from disclosure_publisher.domain.feedback import (
    TRANSITIONS,
    Action,
    Actor,
    Status,
    TransitionError,
    apply,
    overdue_days,
)

TODAY = date(2026, 11, 10)


def test_the_full_loop_open_to_closed() -> None:
    status = Status.OPEN
    path: list[tuple[Action, Actor]] = [
        (Action.ANSWER, "institution"),
        (Action.REQUIRE_RECTIFICATION, "bureau"),
        (Action.REPORT_RECTIFIED, "institution"),
        (Action.CLOSE, "bureau"),
    ]
    seen = []
    for action, actor in path:
        status = apply(status, action, actor=actor, today=TODAY, response_days=30).status
        seen.append(status)
    assert seen == [Status.ANSWERED, Status.RECTIFICATION, Status.RE_CHECK, Status.CLOSED]


def test_rectification_gets_a_fresh_due_date_and_restarts_escalation() -> None:
    move = apply(
        Status.ANSWERED, Action.REQUIRE_RECTIFICATION, actor="bureau", today=TODAY, response_days=30
    )
    assert move.due_date == date(2026, 12, 10)
    assert move.restarts_escalation


def test_a_failed_re_check_goes_back_to_rectification() -> None:
    move = apply(
        Status.RE_CHECK, Action.REQUIRE_RECTIFICATION, actor="bureau", today=TODAY, response_days=30
    )
    assert move.status is Status.RECTIFICATION


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("action", list(Action))
def test_only_listed_moves_are_allowed(status: Status, action: Action) -> None:
    rule = TRANSITIONS.get((status, action))
    for actor in ("institution", "bureau"):
        if rule is not None and rule[0] == actor:
            assert (
                apply(status, action, actor=actor, today=TODAY, response_days=30).status is rule[1]
            )
        else:
            with pytest.raises(TransitionError):
                apply(status, action, actor=actor, today=TODAY, response_days=30)


def test_an_institution_cannot_close_its_own_item() -> None:
    with pytest.raises(TransitionError) as caught:
        apply(Status.ANSWERED, Action.CLOSE, actor="institution", today=TODAY, response_days=30)
    assert caught.value.code == "feedback_actor_invalid"


def test_overdue_days_count_only_while_waiting_on_the_institution() -> None:
    due = date(2026, 11, 1)
    assert overdue_days(Status.OPEN, due, TODAY) == 9
    assert overdue_days(Status.RECTIFICATION, due, TODAY) == 9
    assert overdue_days(Status.ANSWERED, due, TODAY) == 0
    assert overdue_days(Status.OPEN, date(2026, 12, 1), TODAY) == 0
