"""The published rule book: every rule code with its default action, severity and wording.

The service exposes this table as documentation, and ``make_hit`` formats the messages
from it, so what a client reads and what the engine does cannot drift apart. Message
placeholders are filled from the hit's evidence plus ``code`` and ``detail_zh/en``.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from tracecode_validator.domain.rules.hits import Action, RuleCode, Severity


@dataclass(frozen=True, slots=True)
class RuleSpec:
    rule: RuleCode
    action: Action
    severity: Severity
    message_zh: str
    message_en: str
    when: str
    alert: bool = False


_SPECS = (
    RuleSpec(
        rule=RuleCode.MISSING_TRACE_CODE,
        action=Action.REJECT,
        severity=Severity.HIGH,
        message_zh="药品{med_list_codg}未扫描追溯码（无码不结）",
        message_en="No trace code was scanned for drug {med_list_codg} (no code, no settlement)",
        when=(
            "A drug line carries no trace code and the institution's legacy stock of that drug "
            "is not on the no-code list."
        ),
    ),
    RuleSpec(
        rule=RuleCode.MALFORMED_TRACE_CODE,
        action=Action.REJECT,
        severity=Severity.MEDIUM,
        message_zh="追溯码{code}无效：{detail_zh}",
        message_en="Trace code {code} is not valid: {detail_en}",
        when=(
            "The code is not a 20-digit, registered manufacturer or GS1 code: bad characters or "
            "length, a wrong GTIN check digit, a bad date, or a GS1 string missing a separator."
        ),
    ),
    RuleSpec(
        rule=RuleCode.UNUSUAL_TRACE_CODE,
        action=Action.WARN,
        severity=Severity.LOW,
        message_zh="20位追溯码{code}不以8开头，请核对",
        message_en="The 20-digit trace code {code} does not start with 8; please check it",
        when=(
            "A 20-digit code does not start with 8 as codes seen in practice do (policy "
            "parameter warn_on_non_8_prefix)."
        ),
    ),
    RuleSpec(
        rule=RuleCode.UNKNOWN_PRODUCT_CODE,
        action=Action.REVIEW,
        severity=Severity.MEDIUM,
        message_zh="追溯码{code}的药品标识码或GTIN未在目录中登记",
        message_en=(
            "The drug identification prefix or GTIN of trace code {code} is not in the catalogue"
        ),
        when="A well-formed 20-digit or GS1 code whose prefix or GTIN the catalogue does not know.",
    ),
    RuleSpec(
        rule=RuleCode.PRODUCT_MISMATCH,
        action=Action.REJECT,
        severity=Severity.HIGH,
        alert=True,
        message_zh="追溯码{code}与结算药品不符（串换）：{detail_zh}",
        message_en="Trace code {code} does not match the billed drug (substitution): {detail_en}",
        when=(
            "The code's product differs from the billed 医保 code, or the billed 69 code is not "
            "one of that product's GTINs."
        ),
    ),
    RuleSpec(
        rule=RuleCode.QUANTITY_MISMATCH,
        action=Action.REJECT,
        severity=Severity.MEDIUM,
        message_zh="数量与追溯码不符：{detail_zh}",
        message_en="The quantity does not match the trace codes: {detail_en}",
        when=(
            "Whole-pack sale: distinct codes differ from packs billed, or a middle/case code is "
            "sold as one pack. Split sale: not exactly one pack's code."
        ),
    ),
    RuleSpec(
        rule=RuleCode.DUPLICATE_SALE,
        action=Action.REJECT,
        severity=Severity.HIGH,
        alert=True,
        message_zh="追溯码{code}不能再次销售：{detail_zh}",
        message_en="Trace code {code} cannot be sold again: {detail_en}",
        when=(
            "One box, one sale: the code is already dispensed, its pack was opened for split "
            "sale, or it appears twice in the request. Critical when the earlier sale was to "
            "another person or at another institution."
        ),
    ),
    RuleSpec(
        rule=RuleCode.SPLIT_OVERRUN,
        action=Action.REJECT,
        severity=Severity.HIGH,
        alert=True,
        message_zh="追溯码{code}仅剩{remaining_units}个单位，本次拆零{units}个超出包装数量",
        message_en=(
            "Trace code {code} has {remaining_units} units left; selling {units} overruns the pack"
        ),
        when="A split sale takes more units than the pack has left.",
    ),
    RuleSpec(
        rule=RuleCode.SPLIT_NOT_ALLOWED,
        action=Action.REJECT,
        severity=Severity.MEDIUM,
        alert=True,
        message_zh="药品{med_list_codg}不允许拆零销售",
        message_en="Drug {med_list_codg} may not be sold split",
        when="A split sale of a drug the catalogue (or the policy) does not allow to be split.",
    ),
    RuleSpec(
        rule=RuleCode.NOT_IN_STOCK,
        action=Action.REVIEW,
        severity=Severity.MEDIUM,
        message_zh="追溯码{code}无本机构入库记录（流向异常）",
        message_en="Trace code {code} was never stocked in at this institution (flow anomaly)",
        when="The code is unknown to the registry or on another institution's shelf.",
    ),
    RuleSpec(
        rule=RuleCode.CODE_BLOCKED,
        action=Action.REJECT,
        severity=Severity.HIGH,
        message_zh="追溯码{code}{detail_zh}，禁止销售",
        message_en="Trace code {code} {detail_en} and may not be sold",
        when="The code is recalled, locked, destroyed or expired (by state or by its expiry date).",
    ),
    RuleSpec(
        rule=RuleCode.PERSON_NOT_ELIGIBLE,
        action=Action.REJECT,
        severity=Severity.HIGH,
        alert=True,
        message_zh="参保人状态为{detail_zh}，不能医保结算",
        message_en="The insured person is {detail_en}; the settlement cannot be paid",
        when=(
            "The enrollment projection positively says deceased, not enrolled or suspended; "
            "no record at all is not a reason to refuse."
        ),
    ),
    RuleSpec(
        rule=RuleCode.OVER_FREQUENT_PURCHASE,
        action=Action.WARN,
        severity=Severity.LOW,
        message_zh="同一参保人再次购买药品{med_list_codg}时尚余约{leftover_days}天用量",
        message_en=(
            "The same person bought {med_list_codg} again with about {leftover_days} days of "
            "supply left"
        ),
        when=(
            "Supply still held from earlier purchases exceeds (tolerance - 1) x this purchase's "
            "days of supply (policy parameter supply_tolerance, default 1.2)."
        ),
    ),
    RuleSpec(
        rule=RuleCode.INSTITUTION_UNDER_REVIEW,
        action=Action.REVIEW,
        severity=Severity.MEDIUM,
        message_zh="机构{detail_zh}，结算转人工审核",
        message_en="The institution {detail_en}; the settlement goes to review",
        when="The institution's credit grade is D or it is on the black list.",
    ),
    RuleSpec(
        rule=RuleCode.PRACTITIONER_SUSPENDED,
        action=Action.REJECT,
        severity=Severity.HIGH,
        alert=True,
        message_zh="{detail_zh}医保支付资格已暂停或终止",
        message_en="The {detail_en}'s payment qualification is suspended or terminated",
        when=(
            "The prescriber or pharmacist is suspended or terminated under the 12-point system; "
            "emergencies are exempt."
        ),
    ),
    RuleSpec(
        rule=RuleCode.RETURN_NOT_IN_SALE,
        action=Action.REJECT,
        severity=Severity.MEDIUM,
        message_zh="退货与原结算不符：{detail_zh}",
        message_en="The return does not match the original sale: {detail_en}",
        when="The returned line or code was not dispensed by the original settlement.",
    ),
    RuleSpec(
        rule=RuleCode.RETURN_EXCEEDS_SALE,
        action=Action.REJECT,
        severity=Severity.MEDIUM,
        message_zh="追溯码{code}退货{units}超过可退数量{returnable}",
        message_en=(
            "Returning {units} of trace code {code} exceeds the {returnable} still returnable"
        ),
        when="More packs or units returned than the sale dispensed minus earlier returns.",
    ),
    RuleSpec(
        rule=RuleCode.RETURN_WINDOW_EXPIRED,
        action=Action.REJECT,
        severity=Severity.LOW,
        message_zh="已超过{window_days}天退货期限",
        message_en="The {window_days}-day return window has passed",
        when=(
            "The return comes later than the undo window after the sale (policy parameter "
            "return_window_days, default 10)."
        ),
    ),
    RuleSpec(
        rule=RuleCode.RETURN_OTHER_INSTITUTION,
        action=Action.REJECT,
        severity=Severity.MEDIUM,
        message_zh="只能在原销售机构退货",
        message_en="Returns are accepted only at the institution that sold the pack",
        when="The return is made at, or the pack is now held by, another institution.",
    ),
    RuleSpec(
        rule=RuleCode.RETURN_CODE_STATE,
        action=Action.REJECT,
        severity=Severity.MEDIUM,
        message_zh="追溯码{code}当前状态为{state}，不能退货",
        message_en="Trace code {code} is {state} and cannot be taken back",
        when="The pack is no longer in a sold state (for example recalled or locked since).",
    ),
    RuleSpec(
        rule=RuleCode.DECISION_FAILED,
        action=Action.REVIEW,
        severity=Severity.MEDIUM,
        message_zh="系统未能自动审核本次结算，已转人工审核",
        message_en="The settlement could not be decided automatically; a reviewer will decide",
        when=(
            "Deciding failed repeatedly and the request went to the dead-letter topic; the "
            "settlement is referred to a reviewer instead of waiting forever. No code is held."
        ),
    ),
)

RULES: Mapping[RuleCode, RuleSpec] = MappingProxyType({spec.rule: spec for spec in _SPECS})
