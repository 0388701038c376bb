"""Refusals of casework requests as problem+json: one status per stable refusal code.

409: the file's state or the calendar does not allow it now; 422: the request itself cannot
be granted; 403: the four-eyes rule; 404: what it names does not exist in this file.
"""

from __future__ import annotations

from yibao.problems import ProblemError

from credit_scorer.domain.workflows import Refusal

_STATUS = {
    "not_active": 409,
    "objection_window_closed": 409,
    "waiting_period": 409,
    "not_pending": 409,
    "case_exists": 409,
    "not_appealable": 422,
    "not_a_deduction": 422,
    "not_rectified": 422,
    "reason_required": 422,
    "no_change": 422,
    "same_approver": 403,
    "second_approver_required": 403,
    "unknown_deduction": 404,
    "unknown_case": 404,
}
_HINTS = {
    "not_appealable": "Ask for an administrative review of the decision instead.",
    "waiting_period": "Apply again on or after the date given.",
    "same_approver": "Another bureau user with the approver role must decide.",
    "second_approver_required": "Another bureau user with the approver role must decide.",
    "unknown_deduction": "List the file's deductions with GET /v1/subjects/{id}/file.",
}


def refused(refusal: Refusal, *, field: str | None = None) -> ProblemError:
    """The problem answer for a refusal."""
    return ProblemError(
        _STATUS.get(refusal.code, 409),
        refusal.code,
        "Request refused",
        refusal.message,
        field=field,
        hint=_HINTS.get(refusal.code),
    )
