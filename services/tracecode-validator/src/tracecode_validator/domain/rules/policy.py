"""The bureau's tunable parameters, and turning a rule finding into a hit under them."""

from collections.abc import Mapping
from dataclasses import dataclass, field

from tracecode_validator.domain.rules.hits import Action, JsonValue, RuleCode, RuleHit, Severity
from tracecode_validator.domain.rules.table import RULES


@dataclass(frozen=True, slots=True)
class RulePolicy:
    """Policy parameters; DOMAIN.md marks each default as the bureau's to change."""

    actions: Mapping[RuleCode, Action] = field(default_factory=dict, hash=False)
    supply_tolerance: float = 1.2
    split_sales_allowed: bool = True
    warn_on_non_8_prefix: bool = True
    return_window_days: int = 10

    def action_for(self, rule: RuleCode) -> Action:
        return self.actions.get(rule, RULES[rule].action)


def make_hit(
    rule: RuleCode,
    policy: RulePolicy,
    *,
    line: int | None = None,
    code: str | None = None,
    evidence: Mapping[str, JsonValue] | None = None,
    severity: Severity | None = None,
    detail: tuple[str, str] | None = None,
    alert: bool | None = None,
) -> RuleHit:
    """Build a hit with the policy's action and the rule book's messages.

    ``detail`` is the (zh, en) phrase for rules whose message depends on the case.
    """
    spec = RULES[rule]
    facts = dict(evidence or {})
    fill: dict[str, object] = {**facts, "code": code or ""}
    if detail is not None:
        fill["detail_zh"], fill["detail_en"] = detail
    return RuleHit(
        rule=rule,
        action=policy.action_for(rule),
        severity=severity or spec.severity,
        line=line,
        drug_trac_codg=code,
        message_zh=spec.message_zh.format_map(fill),
        message_en=spec.message_en.format_map(fill),
        evidence=facts,
        alert=spec.alert if alert is None else alert,
    )
