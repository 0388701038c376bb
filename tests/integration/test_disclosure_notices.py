"""Projections -> monthly notice -> inbox -> feedback ledger, over real PostgreSQL and Kafka.

Events are published to Kafka as their owning services would; the publisher's consumer
projects them; the bureau starts a run; the institution reads its inbox and answers.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiokafka import AIOKafkaProducer
from yibao.auth import issue_bureau_jwt
from yibao.events import (
    CreditGradeChanged,
    DrgSettled,
    EnrollmentStatusChanged,
    Envelope,
    Payload,
    SettlementDecided,
    TracecodeAlerted,
    spec_for,
    topics,
)
from yibao.events.population import EnrollmentStatus, NonEnrollmentReason
from yibao.topology import repo_root

from tests.conftest import Infra, drop_database, service_database
from tests.integration.publisher_harness import (
    JWT_SECRET,
    Publisher,
    eventually,
    new_secret,
    running_publisher,
    settings_for,
)

pytestmark = pytest.mark.integration
SERVICE_DIR: Path = repo_root() / "services" / "disclosure-publisher"
OCT = datetime(2026, 10, 15, 4, 0, tzinfo=UTC)


@pytest.fixture
async def publisher(infra: Infra, topic_suffix: str) -> AsyncIterator[Publisher]:
    name, dsn = await service_database(infra, SERVICE_DIR)
    settings = settings_for(infra, dsn, topic_suffix)
    async with running_publisher(settings) as running:
        yield running
    await drop_database(infra.admin_dsn, name)


async def publish(publisher: Publisher, *payloads: Payload) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=publisher.settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        for payload in payloads:
            spec = spec_for(payload)
            envelope = Envelope(
                type=spec.topic, source="/test", subject=spec.key_of(payload), data=payload
            )
            await producer.send_and_wait(
                spec.topic + publisher.settings.kafka_topic_suffix,
                payload.model_dump_json().encode(),
                key=envelope.subject.encode(),
                headers=envelope.headers(),
            )
    finally:
        await producer.stop()


def drg(code: str, group: str, cost: int, los: int, fund: int, *, died: bool = False) -> DrgSettled:
    return DrgSettled(
        drg_settlement_id=str(uuid.uuid4()),
        fixmedins_code=code,
        psn_key="k" * 32,
        drg_code=group,
        los_days=los,
        total_cost=Decimal(cost),
        fund_paid=Decimal(fund),
        discharge_status="died" if died else "improved",
        discharge_date=date(2026, 10, 14),
        settled_at=OCT,
    )


async def _count(publisher: Publisher, sql: str, want: int) -> None:
    async def ready() -> bool:
        return int(await publisher.db.fetchval(sql)) >= want

    await eventually(ready)


async def _inbox(
    publisher: Publisher, key: dict[str, str], cursor: str | None = None
) -> dict[str, Any]:
    params = {"cursor": cursor} if cursor else {}
    response = await publisher.http.get("/v1/inbox", headers=key, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_monthly_notice_carries_the_projected_figures_masked(
    publisher: Publisher,
) -> None:
    a, key_a = await publisher.institution(level="tertiary")
    b, _ = await publisher.institution()
    await publish(
        publisher,
        drg(a, "G1", 1000, 5, 800),
        drg(a, "G1", 1000, 5, 800),
        drg(a, "G2", 3000, 8, 2500, died=True),
        drg(b, "G1", 3000, 7, 2500),
        drg(b, "G1", 3000, 7, 2500),
        drg(b, "G3", 1000, 2, 800),
        DrgSettled(**{**drg(a, "G9", 1, 1, 1).model_dump(), "excluded": True}),
        SettlementDecided(
            settlement_id="s1",
            fixmedins_code=a,
            psn_key="k" * 32,
            status="approved",
            amount=Decimal("25.00"),
            decided_at=OCT,
        ),
        TracecodeAlerted(
            alert_id="al-1",
            settlement_id="s1",
            fixmedins_code=a,
            rule="duplicate_sale",
            severity="high",
            drug_trac_codg="81234560000000010000",
            evidence={"psn_name": "张三", "certno": "15010219900101123X", "held_by": b},
            occurred_at=OCT,
        ),
        CreditGradeChanged(
            subject_id=a,
            subject_type="hospital",
            grade="B",
            score=Decimal("84"),
            changed_at=datetime(2026, 10, 1, tzinfo=UTC),
        ),
        CreditGradeChanged(
            subject_id=a,
            subject_type="hospital",
            grade="C",
            score=Decimal("70"),
            changed_at=datetime(2026, 11, 3, tzinfo=UTC),  # after the period: not in October's
        ),
    )
    await _count(publisher, "SELECT count(*) FROM credit_grades", 2)
    await _count(publisher, "SELECT coalesce(sum(all_cases), 0) FROM drg_case_counts", 7)
    await _count(publisher, "SELECT count(*) FROM alerts", 1)
    await _count(publisher, "SELECT count(*) FROM settlement_month_stats", 1)
    await publisher.monthly("2026-10")

    [item] = (await _inbox(publisher, key_a))["items"]
    notice = item
    assert (item["seq"], item["delivery_state"]) == (1, None)  # no endpoint: inbox only
    drg_figures = notice["drg"]
    assert drg_figures["cases"] == 4
    assert drg_figures["grouping_rate"] == 1.0  # 3 grouped of 4 − 1 excluded
    assert drg_figures["group_count"] == 2
    assert drg_figures["total_weight"] == 3.5  # RW G1 1.0 ×2 + G2 1.5 ×1
    assert drg_figures["point_value"] == 16.5  # 9900 fund / 600 points
    assert [g["surplus"] for g in drg_figures["groups"]] == [1700.0, -25.0]
    assert [(g["high_cases"], g["low_cases"]) for g in drg_figures["groups"]] == [(0, 0), (0, 0)]
    assert await publisher.db.fetchval("SELECT count(*) FROM drg_cases") == 6  # not the excluded
    [violation] = notice["violations"]
    assert violation["evidence"]["psn_name"] == "张*"
    assert violation["evidence"]["certno"] == "1501**********123X"
    assert notice["credit"]["grade"] == "B"
    assert notice["settlements"]["total"] == 1
    full = await publisher.http.get(f"/v1/notices/{notice['notice_id']}", headers=publisher.admin)
    assert full.json()["inputs"]["generator"] == "monthly/1"
    assert len(full.json()["inputs"]["digest"]) == 64


async def test_inbox_is_complete_in_sequence_paged_by_cursor_and_scoped(
    publisher: Publisher,
) -> None:
    code, key = await publisher.institution()
    _, other_key = await publisher.institution()
    for version in (1, 2, 3):
        await publisher.monthly("2026-09", version=version)
    await publisher.monthly("2026-09", version=1)  # the same notice again: no new one
    first = await publisher.http.get("/v1/inbox", headers=key, params={"limit": 2})
    page = first.json()
    assert [i["seq"] for i in page["items"]] == [1, 2]
    rest = await _inbox(publisher, key, page["next_cursor"])
    assert [i["seq"] for i in rest["items"]] == [3]
    assert (await _inbox(publisher, key, rest["next_cursor"]))["items"] == []
    assert {i["fixmedins_code"] for i in page["items"] + rest["items"]} == {code}
    assert [i["seq"] for i in (await _inbox(publisher, other_key))["items"]] == [1, 2, 3]

    notice_id = page["items"][0]["notice_id"]
    receipt = await publisher.http.post(f"/v1/inbox/{notice_id}/read", headers=key)
    assert receipt.status_code == 200
    again = await publisher.http.post(f"/v1/inbox/{notice_id}/read", headers=key)
    assert again.json()["read_at"] == receipt.json()["read_at"]
    assert (await _inbox(publisher, key))["items"][0]["read_at"] is not None

    assert (
        await publisher.http.post(f"/v1/inbox/{notice_id}/read", headers=other_key)
    ).status_code == 403
    assert (
        await publisher.http.get(f"/v1/notices/{notice_id}", headers=other_key)
    ).status_code == 403
    page = await publisher.http.get(f"/v1/notices/{notice_id}/html", headers=key)
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    nobody = {"Authorization": "Bearer " + issue_bureau_jwt("nobody", [], secret=JWT_SECRET)}
    assert (await publisher.http.get(f"/v1/notices/{notice_id}", headers=nobody)).status_code == 403
    assert (await publisher.http.get("/v1/feedback", headers=nobody)).status_code == 403
    reviewer = {
        "Authorization": "Bearer " + issue_bureau_jwt("rev", ["reviewer"], secret=JWT_SECRET)
    }
    assert (
        await publisher.http.get(f"/v1/notices/{notice_id}", headers=reviewer)
    ).status_code == 200
    assert (await publisher.http.get("/v1/inbox", headers=publisher.admin)).status_code == 403
    assert (await publisher.http.get("/v1/inbox")).status_code == 401
    bad = await publisher.http.get("/v1/inbox", headers=key, params={"cursor": "x1"})
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_cursor")


async def test_admin_endpoints_refuse_institutions_and_bad_input(publisher: Publisher) -> None:
    code, key = await publisher.institution()
    monthly = await publisher.http.post(
        "/v1/admin/notices/monthly", headers=key, json={"period": "2026-10"}
    )
    assert monthly.status_code == 401
    bad_period = await publisher.http.post(
        "/v1/admin/notices/monthly", headers=publisher.admin, json={"period": "2026-13"}
    )
    assert bad_period.status_code == 422
    recipient = await publisher.recipient(code, "http://127.0.0.1:9/hook", "not-a-secret")
    assert (recipient.status_code, recipient.json()["code"]) == (422, "invalid_webhook_secret")
    as_institution = await publisher.http.post(
        "/v1/admin/recipients",
        headers=key,
        json={"fixmedins_code": code, "webhook_url": "http://127.0.0.1:9/", "secret": "whsec_x"},
    )
    assert as_institution.status_code == 401


async def test_feedback_loop_overdue_escalation_and_audited_bureau_reads(
    publisher: Publisher,
) -> None:
    code, key = await publisher.institution()
    other, other_key = await publisher.institution()
    await publish(
        publisher,
        *(
            TracecodeAlerted(
                alert_id=f"al-{code}-{n}",
                fixmedins_code=code,
                rule="not_in_stock",
                severity="medium",
                evidence={},
                occurred_at=OCT,
            )
            for n in (1, 2)
        ),
    )
    await _count(publisher, "SELECT count(*) FROM alerts", 2)
    await publisher.monthly("2026-10")
    items = (await publisher.http.get("/v1/feedback", headers=key)).json()
    assert [i["status"] for i in items] == ["open", "open"]
    assert (await publisher.http.get("/v1/feedback", headers=other_key)).json() == []
    first, second = items
    notice_id = first["notice_id"]

    answered = await publisher.http.post(
        f"/v1/notices/{notice_id}/feedback",
        headers=key,
        json={"line": first["line_ref"], "classification": "explanation", "text": "盘点误差"},
    )
    assert (answered.status_code, answered.json()["status"]) == (201, "answered")
    foreign = await publisher.http.post(
        f"/v1/notices/{notice_id}/feedback", headers=other_key, json={"text": "not mine"}
    )
    assert foreign.status_code == 403
    self_close = await publisher.http.post(
        f"/v1/feedback/{first['item_id']}/actions", headers=key, json={"action": "close"}
    )
    assert (self_close.status_code, self_close.json()["code"]) == (409, "feedback_actor_invalid")
    inspector = {
        "Authorization": "Bearer " + issue_bureau_jwt("insp-1", ["inspector"], secret=JWT_SECRET)
    }
    steps = [
        (inspector, "require_rectification", "rectification"),
        (key, "report_rectified", "re_check"),
        (inspector, "close", "closed"),
    ]
    for who, action, status in steps:
        moved = await publisher.http.post(
            f"/v1/feedback/{first['item_id']}/actions", headers=who, json={"action": action}
        )
        assert (moved.status_code, moved.json()["status"]) == (200, status), moved.text
    whole = await publisher.http.post(
        f"/v1/notices/{notice_id}/feedback",
        headers=key,
        json={"text": "总体说明", "classification": "question"},
    )
    assert whole.json()["status"] == "answered"

    await publisher.db.execute(
        "UPDATE feedback_items SET due_date = '2026-01-01' WHERE item_id = $1", second["item_id"]
    )
    [overdue] = await publisher.events(topics.FEEDBACK_OVERDUE, 1)
    assert (overdue["item_id"], overdue["fixmedins_code"], overdue["status"]) == (
        second["item_id"],
        code,
        "open",
    )
    assert overdue["overdue_days"] > 0

    export = await publisher.http.get(
        "/v1/feedback.csv", headers=publisher.admin, params={"fixmedins_code": code}
    )
    assert export.headers["content-type"].startswith("text/csv")
    lines = export.text.strip().splitlines()
    assert lines[0].startswith("item_id,notice_id,fixmedins_code")
    assert len(lines) == 4  # header + two opened items + the whole-notice answer
    assert (
        await publisher.http.get("/v1/feedback.csv", headers=key, params={"fixmedins_code": other})
    ).status_code == 403
    audit = await publisher.db.fetch(
        "SELECT subject, action, fixmedins_code FROM bureau_access_log"
    )
    assert ("admin", "list_feedback", code) in [tuple(r) for r in audit]


async def test_a_grassroots_unit_gets_its_uninsured_list_and_a_hospital_does_not(
    publisher: Publisher,
) -> None:
    village, key = await publisher.institution(
        level="village", kind="grassroots", admdvs="150302001"
    )
    hospital, hospital_key = await publisher.institution()

    def status(
        person: str,
        value: EnrollmentStatus,
        admdvs: str,
        at: datetime,
        reason: NonEnrollmentReason | None = None,
    ) -> EnrollmentStatusChanged:
        return EnrollmentStatusChanged(
            person_id=person,
            status=value,
            reason=reason,
            hukou_admdvs=admdvs,
            target_groups=["students"] if reason == "personal" else [],
            changed_at=at,
        )

    early, late = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 9, tzinfo=UTC)
    await publish(
        publisher,
        status("p-1", "uninsured", "150302001002", early, "personal"),
        status("p-2", "uninsured", "150302001003", early, "enlisted"),
        status("p-2", "insured_local", "150302001003", late),  # later: no longer on the list
        status("p-3", "uninsured", "150302009001", early, "emigrated"),
        status("p-4", "uninsured", "150302001004", late, "deceased"),
        status("p-4", "insured_local", "150302001004", early),  # older: ignored
    )
    await _count(publisher, "SELECT count(*) FROM enrollment_status", 4)
    await _count(
        publisher, "SELECT count(*) FROM enrollment_status WHERE status = 'insured_local'", 1
    )
    await publisher.monthly("2026-10")
    [item] = (await _inbox(publisher, key))["items"]
    uninsured = item["uninsured"]
    assert uninsured["count"] == 2
    assert [p["person_id"] for p in uninsured["persons"]] == ["p-1", "p-4"]
    assert uninsured["by_reason"] == {"deceased": 1, "personal": 1}
    assert uninsured["persons"][0]["target_groups"] == ["students"]
    [other] = (await _inbox(publisher, hospital_key))["items"]
    assert "uninsured" not in other
    assert hospital != village


async def test_the_scheduled_run_issues_last_month_once(infra: Infra, topic_suffix: str) -> None:
    name, dsn = await service_database(infra, SERVICE_DIR)
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    last = today.replace(day=1) - timedelta(days=1)
    on_demand = settings_for(infra, dsn, topic_suffix)
    scheduled = settings_for(infra, dsn, topic_suffix, monthly_schedule_day=1)
    try:
        async with running_publisher(on_demand) as one:
            _, key = await one.institution()  # known before any replica schedules
            async with running_publisher(scheduled), running_publisher(scheduled):

                async def issued() -> bool:
                    return bool((await _inbox(one, key))["items"])

                await eventually(issued)
                runs = await one.db.fetch("SELECT period, requested_by FROM notice_runs")
            [item] = (await _inbox(one, key))["items"]
        assert [tuple(r) for r in runs] == [(last.strftime("%Y-%m"), "schedule")]
        assert item["period"] == last.strftime("%Y-%m")
    finally:
        await drop_database(infra.admin_dsn, name)


async def test_a_self_inspection_clue_is_answered_like_any_line(publisher: Publisher) -> None:
    code, key = await publisher.institution()
    await publisher.monthly("2026-10")
    [item] = (await _inbox(publisher, key))["items"]
    inspector = {
        "Authorization": "Bearer " + issue_bureau_jwt("insp-2", ["inspector"], secret=JWT_SECRET)
    }
    clue = {"notice_id": item["notice_id"], "line": "drugs/XA01", "text": "请自查该药品进销存"}
    refused = await publisher.http.post("/v1/admin/feedback", headers=key, json=clue)
    assert refused.status_code == 401
    opened = await publisher.http.post("/v1/admin/feedback", headers=inspector, json=clue)
    assert opened.status_code == 201, opened.text
    assert (opened.json()["status"], opened.json()["fixmedins_code"]) == ("open", code)
    again = await publisher.http.post("/v1/admin/feedback", headers=inspector, json=clue)
    assert (again.status_code, again.json()["code"]) == (409, "feedback_exists")
    answered = await publisher.http.post(
        f"/v1/notices/{item['notice_id']}/feedback",
        headers=key,
        json={"line": "drugs/XA01", "classification": "rectification_plan", "text": "已自查"},
    )
    assert answered.json()["item_id"] == opened.json()["item_id"]
    assert answered.json()["status"] == "answered"


async def test_recipient_contacts_are_encrypted_at_rest_and_answered_masked(
    publisher: Publisher,
) -> None:
    code, _ = await publisher.institution()
    response = await publisher.http.post(
        "/v1/admin/recipients",
        headers=publisher.admin,
        json={
            "fixmedins_code": code,
            "webhook_url": "http://127.0.0.1:9/hook",
            "secret": new_secret(),
            "contacts": [{"name": "王小明", "phone": "13812345678", "role": "医保办"}],
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["contacts"] == [
        {"name": "王**", "phone": "138****5678", "role": "医保办"}
    ]
    stored = await publisher.db.fetchval(
        "SELECT contacts_cipher FROM recipients WHERE fixmedins_code = $1", code
    )
    assert "王小明" not in stored
    assert "13812345678" not in stored
    rotated = await publisher.recipient(code, "http://127.0.0.1:9/hook", new_secret())
    assert rotated.json()["contacts"][0]["phone"] == "138****5678"  # kept on an update
