"""The monthly notice: masking, reproducibility from recorded inputs, the HTML page."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

from disclosure_publisher.domain.drg import CaseCounts, GroupStats, build_region
from disclosure_publisher.domain.masking import mask_phone, mask_value
from disclosure_publisher.domain.notice import (
    GENERATOR,
    AlertRow,
    CreditRow,
    MonthlyInputs,
    StatusRow,
    build_monthly,
    inputs_record,
    region_record,
)
from disclosure_publisher.domain.render import render_notice

GROUP = GroupStats("ES23", 2, Decimal("3000.00"), 10, 0, Decimal("2400.00"))
REGION = build_region([(GROUP, 1.0)])
INPUTS = MonthlyInputs(
    fixmedins_code="H15030200001",
    name="第一医院",
    level="tertiary",
    period="2026-10",
    settlements=[StatusRow("approved", 3, Decimal("37.50")), StatusRow("rejected", 1, Decimal(10))],
    drg_groups=[GROUP],
    drg_counts=CaseCounts(2, 2, 0),
    alerts=[
        AlertRow(
            alert_id="a1",
            rule="duplicate_sale",
            severity="high",
            settlement_id="s1",
            drug_trac_codg="81234560000000010000",
            confirmed=False,
            evidence={
                "psn_name": "张三",
                "certno": "15010219900101123X",
                "note": "patient 15010219900101123X bought twice",
                "phone": "13812345678",
                "held_by": "P15030200007",
            },
            occurred_at=datetime(2026, 10, 5, 3, 0, tzinfo=UTC),
        )
    ],
    credit=CreditRow(
        "B", Decimal("84.5"), ["key_supervision"], "B", datetime(2026, 9, 1, tzinfo=UTC)
    ),
    open_feedback=[],
    issued_on=date(2026, 11, 2),
)


def test_personal_data_is_masked_by_key_and_by_shape() -> None:
    body = build_monthly(INPUTS, REGION, notice_id="n1", seq=1, version=1)
    evidence = body["violations"][0]["evidence"]
    assert evidence["psn_name"] == "张*"
    assert evidence["certno"] == "1501**********123X"
    assert evidence["note"] == "patient 1501**********123X bought twice"
    assert evidence["phone"] == "138****5678"
    assert evidence["held_by"] == "P15030200007"  # an institution code is not personal
    assert "15010219900101123X" not in str(body)


def test_masking_walks_lists_and_keeps_numbers() -> None:
    assert mask_value({"persons": [{"psn_name": "欧阳娜娜", "age": 30}]}) == {
        "persons": [{"psn_name": "欧***", "age": 30}]
    }
    assert mask_phone("12345") == "*****"


def test_the_body_carries_the_figures_and_a_response_deadline() -> None:
    body = build_monthly(INPUTS, REGION, notice_id="n1", seq=7, version=2)
    assert (body["kind"], body["period"], body["seq"], body["version"]) == (
        "monthly",
        "2026-10",
        7,
        2,
    )
    assert body["settlements"]["total"] == 4
    assert body["settlements"]["amount"] == "47.50"
    assert body["drg"]["cmi"] == 1.0
    assert body["violations"][0]["respond_by"] == "2026-12-02"
    assert body["violations"][0]["line"] == "violations/a1"
    assert body["credit"]["grade"] == "B"
    assert body["generator"] == GENERATOR


def test_the_same_inputs_rebuild_the_same_notice_and_digest() -> None:
    first = build_monthly(INPUTS, REGION, notice_id="n1", seq=1, version=1)
    again = build_monthly(
        replace(INPUTS), build_region([(GROUP, 1.0)]), notice_id="n1", seq=1, version=1
    )
    assert first == again
    assert inputs_record(INPUTS, region_record(REGION)) == inputs_record(
        replace(INPUTS), region_record(REGION)
    )
    changed = replace(INPUTS, settlements=[StatusRow("approved", 4, Decimal("50"))])
    assert (
        inputs_record(changed, region_record(REGION))["digest"]
        != inputs_record(INPUTS, region_record(REGION))["digest"]
    )


def test_the_page_escapes_evidence_and_draws_the_trend() -> None:
    hostile = replace(
        INPUTS,
        name="<script>alert(1)</script>",
        alerts=[replace(INPUTS.alerts[0], rule="<img src=x>")],
    )
    body = build_monthly(hostile, REGION, notice_id="n1", seq=1, version=1)
    page = render_notice(body, [("2026-09", 3, "30.00"), ("2026-10", 4, "47.50")])
    assert "<script>" not in page
    assert "&lt;img src=x&gt;" in page
    assert "<polyline" in page
    assert "2026-09" in page
    assert "<svg" not in render_notice(body, [])
