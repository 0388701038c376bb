"""Events as findings, the evaluation around the fold, the inspection plan and the calendar."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from credit_scorer.domain.config import ConfigError, read_config
from credit_scorer.domain.dates import add_years, load_calendar
from credit_scorer.domain.evaluation import Override, evaluate, next_change_on
from credit_scorer.domain.grading import CreditList, Tier
from credit_scorer.domain.indicators import IndicatorTree
from credit_scorer.domain.ledger import Deduction, approve_repair
from credit_scorer.domain.plan import PlanSubject, parse_period, plan
from credit_scorer.domain.policy import Policy, load_policies
from credit_scorer.domain.sources import (
    alert_finding,
    drg_finding,
    drg_quality_issue,
    feedback_finding,
)
from yibao.events import DrgSettled, FeedbackOverdue, TracecodeAlerted

RowFactory = Callable[..., Deduction]
DEFAULT = json.loads(read_config())
LONG_AGO = date(2020, 1, 1)


def _drg(**changes: Any) -> DrgSettled:
    values: dict[str, Any] = {
        "drg_settlement_id": "D-1",
        "fixmedins_code": "H15030200001",
        "psn_key": "p",
        "drg_code": "GB19",
        "grouped": True,
        "excluded": False,
        "weight": Decimal("1.2"),
        "los_days": 6,
        "total_cost": Decimal(9000),
        "fund_paid": Decimal(6000),
        "discharge_status": "cured",
        "discharge_date": date(2026, 11, 20),
        "settled_at": datetime(2026, 11, 21, 2, 0, tzinfo=UTC),
    }
    return DrgSettled(**{**values, **changes})


@pytest.mark.parametrize(
    ("changes", "issue"),
    [
        ({}, None),
        ({"grouped": False, "drg_code": None}, "ungrouped"),
        ({"grouped": False, "excluded": True}, None),
        ({"drg_code": None}, "grouped_without_code"),
        ({"weight": None}, "missing_weight"),
        ({"weight": Decimal(0)}, "missing_weight"),
        ({"los_days": -1}, "negative_length_of_stay"),
        ({"fund_paid": Decimal(9001)}, "fund_paid_exceeds_cost"),
        ({"discharge_date": date(2026, 11, 22)}, "discharged_after_settlement"),
    ],
)
def test_drg_data_quality_issues(changes: dict[str, Any], issue: str | None) -> None:
    assert drg_quality_issue(_drg(**changes)) == issue


def test_a_month_of_faulty_drg_cases_is_one_finding() -> None:
    first = drg_finding(_drg(drg_settlement_id="D-1"), "ungrouped")
    second = drg_finding(_drg(drg_settlement_id="D-2"), "missing_weight")
    assert first.source_ref == second.source_ref == "drg-quality:H15030200001:2026-11"
    assert first.event_type == "drg_data_quality"
    next_month = drg_finding(_drg(settled_at=datetime(2026, 11, 30, 17, tzinfo=UTC)), "ungrouped")
    assert next_month.source_ref.endswith(":2026-12"), "periods are Beijing months"


@pytest.mark.parametrize(
    ("status", "event_type"),
    [
        ("open", "notice_feedback_overdue"),
        ("answered", "overdue_rectification"),
        ("rectification", "overdue_rectification"),
    ],
)
def test_an_overdue_feedback_item_is_keyed_by_its_item(status: str, event_type: str) -> None:
    finding = feedback_finding(
        FeedbackOverdue(
            item_id="FI-7",
            notice_id="N-3",
            fixmedins_code="P15030200007",
            period="2026-10",
            status=status,
            due_date=date(2026, 11, 20),
            overdue_days=3,
            escalated_at=datetime(2026, 11, 23, 1, tzinfo=UTC),
        )
    )
    assert (finding.event_type, finding.source_ref) == (event_type, "feedback:FI-7")
    assert finding.decided_on == date(2026, 11, 23)
    assert finding.evidence["due_date"] == "2026-11-20"


def test_only_confirmed_alerts_are_findings() -> None:
    alert = TracecodeAlerted(
        alert_id="A-1",
        fixmedins_code="P1",
        rule="product_mismatch",
        severity="high",
        occurred_at=datetime(2026, 11, 23, tzinfo=UTC),
    )
    assert alert_finding(alert) is None
    confirmed = alert_finding(alert.model_copy(update={"confirmed": True}))
    assert confirmed is not None
    assert (confirmed.event_type, confirmed.source_ref) == (
        "tracecode_alert:product_mismatch",
        "alert:A-1",
    )


def test_next_change_is_the_earliest_date_anything_moves(
    make_row: RowFactory, policy: Policy, policies: tuple[Policy, ...]
) -> None:
    on = date(2026, 6, 1)
    row = make_row("d1", "040101", date(2026, 5, 1))  # valid 180 days
    changes = next_change_on(
        [row], on, agreement_from=LONG_AGO, policy=policy, policies=policies, overrides=()
    )
    assert changes == row.expires_at == date(2026, 10, 28)
    young = next_change_on(
        [row], on, agreement_from=date(2026, 3, 15), policy=policy, policies=policies, overrides=()
    )
    assert young == date(2026, 9, 15), "graded six months after the agreement"
    repaired = approve_repair(make_row("d2", "010101", date(2026, 5, 1)), approved_on=on)
    assert next_change_on(
        [repaired], on, agreement_from=LONG_AGO, policy=policy, policies=policies, overrides=()
    ) == date(2027, 1, 1)


def test_an_override_replaces_the_grade_until_its_cycle_ends(
    tree: IndicatorTree, policies: tuple[Policy, ...]
) -> None:
    override = Override("o1", "D", date(2026, 5, 1), date(2027, 1, 1))
    during = evaluate(
        [], tree, policies, date(2026, 6, 1), agreement_from=LONG_AGO, overrides=[override]
    )
    assert (during.standing.grade, during.standing.tier) == ("D", Tier.KEY)
    assert during.standing.lists == {CreditList.KEY_SUPERVISION}
    assert during.override_id == "o1"
    assert during.score.standing.grade == "A", "the fold itself is untouched"
    after = evaluate(
        [], tree, policies, date(2027, 1, 1), agreement_from=LONG_AGO, overrides=[override]
    )
    assert (after.standing.grade, after.override_id) == ("A", None)


def test_black_until_is_three_years_from_the_fraud(
    tree: IndicatorTree, policies: tuple[Policy, ...], make_row: RowFactory
) -> None:
    fraud = make_row("d1", "010403", date(2026, 2, 1))
    result = evaluate([fraud], tree, policies, date(2026, 6, 1), agreement_from=LONG_AGO)
    assert result.standing.grade == "D"
    assert result.black_until == add_years(date(2026, 2, 1), 3)
    assert result.next_change_on == date(2027, 1, 1)


def test_the_period_of_a_plan() -> None:
    assert parse_period("2027") == (date(2027, 1, 1), date(2027, 12, 31))
    assert parse_period("2027-Q1") == (date(2027, 1, 1), date(2027, 3, 31))
    assert parse_period("2027-02") == (date(2027, 2, 1), date(2027, 2, 28))
    for bad in ("2027-13", "2027-Q5", "27", "2027-1"):
        with pytest.raises(ValueError, match=bad):
            parse_period(bad)


def test_the_plan_lists_who_is_due_by_tier(policy: Policy) -> None:
    subjects = [
        PlanSubject("A1", "hospital", "A", "exempt", None),
        PlanSubject("B1", "hospital", "B", "normal", date(2026, 3, 1)),
        PlanSubject("B2", "pharmacy", "B", "normal", date(2026, 9, 1)),
        PlanSubject("D1", "pharmacy", "D", "key", date(2026, 12, 15)),
        PlanSubject("D2", "hospital", "D", "key", date(2026, 11, 1)),
        PlanSubject("N1", "pharmacy", None, None, None),
    ]
    due = plan(
        subjects,
        start=date(2027, 3, 1),
        end=date(2027, 3, 31),
        inspection_months=policy.inspection_months,
    )
    assert set(due) == {"exempt", "normal", "intensified", "key", "ungraded"}
    assert due["exempt"] == []
    assert [e.subject_id for e in due["normal"]] == ["B1"]
    assert [(e.subject_id, e.due_on, e.flying_inspection) for e in due["key"]] == [
        ("D2", date(2027, 2, 1), True),
        ("D1", date(2027, 3, 15), True),
    ]
    assert [(e.subject_id, e.due_on) for e in due["ungraded"]] == [("N1", date(2027, 3, 1))]


def test_the_shipped_calendar_knows_national_day_and_its_make_up_days() -> None:
    calendar = load_calendar(read_config())
    assert not calendar.is_working_day(date(2026, 10, 5))
    assert calendar.is_working_day(date(2026, 10, 10)), "a Saturday worked in exchange"
    assert calendar.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)


def test_a_calendar_day_cannot_be_holiday_and_workday() -> None:
    raw = json.dumps({"calendar": {"holidays": ["2026-10-10"], "makeup_workdays": ["2026-10-10"]}})
    with pytest.raises(ConfigError, match="both holiday and workday"):
        load_calendar(raw)
    assert load_calendar("{}").is_working_day(date(2026, 10, 1)), "no block: weekends only"


def test_inspection_months_name_only_tiers() -> None:
    broken = {**DEFAULT["policies"][0], "inspection_months": {"sometimes": 4}}
    with pytest.raises(ConfigError, match="sometimes"):
        load_policies(json.dumps({"policies": [broken]}))
