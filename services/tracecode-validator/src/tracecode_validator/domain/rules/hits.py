"""What a rule says about a settlement: the stable rule code, the action and the evidence."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeAlias

JsonValue: TypeAlias = str | int | float | bool | list["JsonValue"] | dict[str, "JsonValue"] | None


class RuleCode(StrEnum):
    """Stable codes from CONTRACT.md; the ``return_*`` and ``unusual_*`` ones extend it."""

    MISSING_TRACE_CODE = "missing_trace_code"
    MALFORMED_TRACE_CODE = "malformed_trace_code"
    UNUSUAL_TRACE_CODE = "unusual_trace_code"
    UNKNOWN_PRODUCT_CODE = "unknown_product_code"
    PRODUCT_MISMATCH = "product_mismatch"
    QUANTITY_MISMATCH = "quantity_mismatch"
    DUPLICATE_SALE = "duplicate_sale"
    SPLIT_OVERRUN = "split_overrun"
    SPLIT_NOT_ALLOWED = "split_not_allowed"
    NOT_IN_STOCK = "not_in_stock"
    CODE_BLOCKED = "code_blocked"
    PERSON_NOT_ELIGIBLE = "person_not_eligible"
    OVER_FREQUENT_PURCHASE = "over_frequent_purchase"
    INSTITUTION_UNDER_REVIEW = "institution_under_review"
    PRACTITIONER_SUSPENDED = "practitioner_suspended"
    RETURN_NOT_IN_SALE = "return_not_in_sale"
    RETURN_EXCEEDS_SALE = "return_exceeds_sale"
    RETURN_WINDOW_EXPIRED = "return_window_expired"
    RETURN_OTHER_INSTITUTION = "return_other_institution"
    RETURN_CODE_STATE = "return_code_state"
    DECISION_FAILED = "decision_failed"


class Action(StrEnum):
    REJECT = "reject"
    REVIEW = "review"
    WARN = "warn"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class RuleHit:
    """One finding. ``line`` indexes the request's lines; None means the whole settlement.

    ``alert`` says whether the finding is also published as a tracecode.alerted event for
    post-audit; ``evidence`` is JSON-ready and never holds a clear-text personal identifier.
    """

    rule: RuleCode
    action: Action
    severity: Severity
    line: int | None
    drug_trac_codg: str | None
    message_zh: str
    message_en: str
    evidence: Mapping[str, JsonValue] = field(default_factory=dict, hash=False)
    alert: bool = False
