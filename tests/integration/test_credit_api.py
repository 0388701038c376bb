"""credit-scorer over HTTP and the bus: who may do what, the casework endpoints, and
`feedback.overdue.v1` consumed through the shared consumer loop (redelivery, DLQ)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from credit_scorer.app import create_app
from credit_scorer.settings import CreditSettings
from credit_scorer.standing import today
from pydantic import SecretStr
from yibao.auth import hash_api_key, issue_bureau_jwt
from yibao.db import create_pool
from yibao.events import Envelope, FeedbackOverdue, InstitutionRegistered, topics
from yibao.events.topics import dlq_topic
from yibao.institutions import upsert_institution
from yibao.settings import PlatformSettings

from tests.conftest import Infra, drop_database, service_database
from tests.integration.app_server import serve_app
from tests.integration.test_credit_casework import CREDIT_DIR

pytestmark = pytest.mark.integration

JWT_SECRET = "test-secret-" + uuid.uuid4().hex
ADMIN_TOKEN = "admin-" + uuid.uuid4().hex


@dataclass
class Api:
    http: httpx.AsyncClient
    producer: AIOKafkaProducer
    bootstrap: str
    suffix: str
    own: str
    other: str
    keys: dict[str, str]

    def institution(self, code: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[code]}"}

    def bureau(self, user: str, *roles: str) -> dict[str, str]:
        return {"Authorization": "Bearer " + issue_bureau_jwt(user, roles, secret=JWT_SECRET)}


async def _institution(dsn: str) -> tuple[str, str]:
    code, key = "H" + uuid.uuid4().hex[:11].upper(), "yb_" + uuid.uuid4().hex
    pool = await create_pool(dsn, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            await upsert_institution(
                conn,
                InstitutionRegistered(
                    fixmedins_code=code,
                    name="测试医院",
                    kind="hospital",
                    level="secondary",
                    admdvs="150302",
                    api_key_hash=hash_api_key(key),
                    registered_at=datetime.now(UTC),
                ),
            )
    finally:
        await pool.close()
    return code, key


@pytest.fixture
async def api(infra: Infra, topic_suffix: str) -> AsyncIterator[Api]:
    name, dsn = await service_database(infra, CREDIT_DIR)
    (own, own_key), (other, other_key) = await _institution(dsn), await _institution(dsn)
    settings = CreditSettings(
        database_url=dsn,
        kafka_bootstrap_servers=infra.bootstrap,
        kafka_topic_suffix=topic_suffix,
        kafka_idempotent_producer=infra.idempotent_producer,
        kafka_fetch_max_wait_ms=10,
        kafka_fetch_min_bytes=1,
        sweep_interval_s=3600,
        platform=PlatformSettings(
            admin_token=SecretStr(ADMIN_TOKEN), jwt_secret=SecretStr(JWT_SECRET)
        ),
    )
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap)
    await producer.start()
    try:
        async with (
            serve_app(create_app(settings)) as url,
            httpx.AsyncClient(base_url=url, timeout=10) as http,
        ):
            yield Api(
                http,
                producer,
                infra.bootstrap,
                topic_suffix,
                own,
                other,
                {own: own_key, other: other_key},
            )
    finally:
        await producer.stop()
        await drop_database(infra.admin_dsn, name)


async def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def _problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


async def _finding(api: Api, code: str, *, days_ago: int = 0) -> str:
    body = await _ok(
        await api.http.post(
            f"/v1/admin/subjects/{code}/findings",
            headers=api.bureau("inspector-1", "inspector"),
            json={
                "event_type": "inspection_finding",
                "indicator_code": "020302",
                "decided_on": (today() - timedelta(days=days_ago)).isoformat(),
                "evidence": {"beds": 3},
            },
        ),
        201,
    )
    deduction_id: str = body["deductions"][0]["deduction_id"]
    return deduction_id


async def test_an_institution_reads_and_contests_only_its_own_file(api: Api) -> None:
    mine, theirs = api.institution(api.own), api.institution(api.other)
    deduction = await _finding(api, api.other)
    for path in ("credit", "file", "objections", "repairs"):
        assert (
            await api.http.get(f"/v1/subjects/{api.own}/{path}", headers=mine)
        ).status_code == 200
        _problem(
            await api.http.get(f"/v1/subjects/{api.other}/{path}", headers=mine), 403, "forbidden"
        )
    objection = {"deduction_id": deduction, "grounds": "不是我们的"}
    for body in ({}, objection):  # refused before its body is read
        _problem(
            await api.http.post(f"/v1/subjects/{api.other}/objections", headers=mine, json=body),
            403,
            "forbidden",
        )
    _problem(
        await api.http.post(f"/v1/subjects/{api.own}/objections", headers=mine, json=objection),
        404,
        "unknown_deduction",
    )
    repair = {"deduction_id": deduction, "rectified_on": "2026-01-01", "statement": "x"}
    _problem(
        await api.http.post(f"/v1/subjects/{api.other}/repairs", headers=mine, json=repair),
        403,
        "forbidden",
    )
    filed = await _ok(
        await api.http.post(f"/v1/subjects/{api.other}/objections", headers=theirs, json=objection),
        201,
    )
    assert filed["state"] == "pending"
    decision = {"accepted": True, "reason": "核实无误"}
    url = f"/v1/admin/objections/{filed['objection_id']}/decision"
    for refused in (theirs, api.bureau("inspector-1", "inspector")):
        _problem(await api.http.post(url, headers=refused, json=decision), 403, "forbidden")
    nobody = api.bureau("visitor")  # a bureau token without any role
    for path in (
        f"/v1/subjects/{api.own}/file",
        "/v1/admin/objections",
        "/v1/lists/key_supervision",
    ):
        _problem(await api.http.get(path, headers=nobody), 403, "forbidden")
    assert (await api.http.post(f"/v1/subjects/{api.own}/credit")).status_code == 405
    _problem(await api.http.get(f"/v1/subjects/{api.own}/credit"), 401, "unauthorized")


async def test_the_casework_endpoints_end_to_end(api: Api) -> None:
    theirs, reviewer = api.institution(api.other), api.bureau("rev-1", "reviewer")
    contested = await _finding(api, api.other)
    filed = await _ok(
        await api.http.post(
            f"/v1/subjects/{api.other}/objections",
            headers=theirs,
            json={"deduction_id": contested, "grounds": "当日有住院记录"},
        ),
        201,
    )
    assert filed["overdue"] is False
    listed = (await api.http.get("/v1/admin/objections", headers=reviewer)).json()
    assert filed["objection_id"] in [o["objection_id"] for o in listed]
    url = f"/v1/admin/objections/{filed['objection_id']}/decision"
    decided = await _ok(
        await api.http.post(url, headers=reviewer, json={"accepted": True, "reason": "核实"})
    )
    assert decided["state"] == "accepted"
    _problem(
        await api.http.post(url, headers=reviewer, json={"accepted": False, "reason": "x"}),
        409,
        "not_pending",
    )
    file = await _ok(await api.http.get(f"/v1/subjects/{api.other}/file", headers=theirs))
    assert [r["state"] for r in file["ledger"]] == ["voided"]
    assert {"objection_filed", "objection_accepted"} <= {e["kind"] for e in file["entries"]}

    old = await _finding(api, api.other, days_ago=300)
    applied = await _ok(
        await api.http.post(
            f"/v1/subjects/{api.other}/repairs",
            headers=theirs,
            json={
                "deduction_id": old,
                "rectified_on": (today() - timedelta(days=280)).isoformat(),
                "statement": "已整改",
            },
        ),
        201,
    )
    repair = f"/v1/admin/repairs/{applied['repair_id']}"
    await _ok(
        await api.http.post(
            f"{repair}/review", headers=reviewer, json={"approve": True, "reason": "到位"}
        )
    )
    _problem(
        await api.http.post(f"{repair}/approval", headers=reviewer, json={"approve": True}),
        403,
        "forbidden",
    )
    both = api.bureau("rev-1", "reviewer", "approver")
    _problem(
        await api.http.post(f"{repair}/approval", headers=both, json={"approve": True}),
        403,
        "same_approver",
    )
    approved = await _ok(
        await api.http.post(
            f"{repair}/approval", headers=api.bureau("boss-2", "approver"), json={"approve": True}
        )
    )
    assert approved["state"] == "approved"
    assert approved["repaired_from"] == f"{today().year + 1}-01-01"


async def test_a_manual_grade_over_http(api: Api) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    subject = {"subject_id": api.own, "subject_type": "hospital", "agreement_from": "2020-01-01"}
    created = await _ok(await api.http.post("/v1/admin/subjects", headers=admin, json=subject), 201)
    assert (created["source"], created["grade"]) == ("api", "A")
    updated = await _ok(await api.http.post("/v1/admin/subjects", headers=admin, json=subject))
    assert updated["agreement_from"] == "2020-01-01"
    _problem(
        await api.http.post("/v1/admin/subjects", headers=api.institution(api.own), json=subject),
        401,
        "admin_required",
    )
    page = await _ok(await api.http.get("/v1/admin/subjects", headers=admin))
    assert api.own in [s["subject_id"] for s in page["subjects"]]
    credit = await _ok(await api.http.get(f"/v1/subjects/{api.own}/credit", headers=admin))
    assert (credit["grade"], credit["tier"]) == ("A", "exempt")
    asked = await _ok(
        await api.http.post(
            f"/v1/admin/subjects/{api.own}/grade-overrides",
            headers=api.bureau("rev-1", "reviewer"),
            json={"grade": "D", "reason": "联合惩戒待录入"},
        ),
        201,
    )
    url = f"/v1/admin/grade-overrides/{asked['override_id']}/approval"
    asker = api.bureau("rev-1", "approver")
    _problem(await api.http.post(url, headers=asker, json={"approve": True}), 403, "same_approver")
    await _ok(
        await api.http.post(url, headers=api.bureau("boss-2", "approver"), json={"approve": True})
    )
    credit = await _ok(await api.http.get(f"/v1/subjects/{api.own}/credit", headers=admin))
    assert (credit["grade"], credit["lists"], credit["override_id"]) == (
        "D",
        ["key_supervision"],
        asked["override_id"],
    )
    mine = api.institution(api.own)
    _problem(await api.http.get("/v1/lists/key_supervision", headers=mine), 403, "forbidden")
    listed = await _ok(await api.http.get("/v1/lists/key_supervision", headers=admin))
    assert [e["subject_id"] for e in listed["entries"]] == [api.own]
    assert (await _ok(await api.http.get("/v1/lists/red", headers=mine)))["entries"] == []
    plan = await _ok(
        await api.http.get("/v1/admin/inspection-plan", params={"period": "2027-Q1"}, headers=admin)
    )
    assert [e["subject_id"] for e in plan["due"]["key"]] == [api.own]
    assert plan["due"]["key"][0]["flying_inspection"] is True
    _problem(
        await api.http.get("/v1/admin/inspection-plan", params={"period": "soon"}, headers=admin),
        422,
        "invalid_period",
    )


def _overdue(code: str, item_id: str) -> Envelope:
    event = FeedbackOverdue(
        item_id=item_id,
        notice_id="N-1",
        fixmedins_code=code,
        period="2026-10",
        status="rectification",
        due_date=today() - timedelta(days=5),
        overdue_days=5,
        escalated_at=datetime.now(UTC),
    )
    return Envelope(
        type=topics.FEEDBACK_OVERDUE, source="/yibao/disclosure-publisher", subject=code, data=event
    )


async def _dead_letters(api: Api, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    consumer = AIOKafkaConsumer(
        dlq_topic(topic) + api.suffix,
        bootstrap_servers=api.bootstrap,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=10,
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while not records and asyncio.get_running_loop().time() < deadline:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return records


async def test_overdue_feedback_arrives_over_the_bus_once_and_garbage_goes_to_the_dlq(
    api: Api,
) -> None:
    topic = topics.FEEDBACK_OVERDUE + api.suffix
    first, again = _overdue(api.own, "FI-1"), _overdue(api.own, "FI-1")
    for envelope in (first, first, again):  # a redelivery, then the same item re-escalated
        await api.producer.send_and_wait(
            topic,
            envelope.data.model_dump_json().encode(),
            key=api.own.encode(),
            headers=envelope.headers(),
        )
    await api.producer.send_and_wait(
        topic, b'{"item_id": 7}', key=api.own.encode(), headers=_overdue(api.own, "x").headers()
    )
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    deadline = asyncio.get_running_loop().time() + 30
    file: dict[str, Any] = {}
    while asyncio.get_running_loop().time() < deadline:
        file = await _ok(await api.http.get(f"/v1/subjects/{api.own}/file", headers=admin))
        if sum(e["kind"] == "feedback_overdue" for e in file["entries"]) == 2:
            break
        await asyncio.sleep(0.2)
    assert [(r["indicator"], r["source"]) for r in file["ledger"]] == [("010301", "feedback:FI-1")]
    assert sum(e["kind"] == "feedback_overdue" for e in file["entries"]) == 2
    dead = await _dead_letters(api, topics.FEEDBACK_OVERDUE)
    assert [dict(r.headers)["yibao_dlq_reason"] for r in dead] == [b"invalid_payload"]


async def test_the_indicator_tree_and_policies_are_published(api: Api) -> None:
    mine = api.institution(api.own)
    tree = await _ok(await api.http.get("/v1/credit/indicators", headers=mine))
    levels = [n["level"] for n in tree["indicators"]]
    assert (levels.count(1), levels.count(2), levels.count(3)) == (6, 23, 59)
    fraud = next(n for n in tree["indicators"] if n["code"] == "010403")
    assert fraud["rule"]["appealable"] is False
    policies = (await api.http.get("/v1/credit/policies", headers=mine)).json()
    assert [p["effective_from"] for p in policies] == ["2025-01-01", "2026-04-01"]
    assert policies[1]["repair_waiting_months"] == 3
    assert "Assumption" in policies[1]["notes"]["repair_review_working_days"]
    _problem(await api.http.get("/v1/credit/policies"), 401, "unauthorized")


async def test_a_practitioners_credit_is_their_12_point_status(api: Api) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    certno = f"PH{uuid.uuid4().hex[:10].upper()}"
    recorded = await api.http.post(
        f"/v1/admin/practitioners/{certno}/points",
        headers=admin,
        json={
            "points": 9,
            "decided_at": today().isoformat(),
            "reason": "冒名结算",
            "suspension_months": 2,
            "subject_type": "pharmacist",
        },
    )
    assert recorded.status_code == 200, recorded.text
    credit = await _ok(await api.http.get(f"/v1/subjects/{certno}/credit", headers=admin))
    assert (credit["subject_type"], credit["grade"], credit["tier"]) == ("pharmacist", None, None)
    assert credit["practitioner"]["status"] == "suspended"
    assert credit["practitioner"]["year_points"] == 9
    unknown = await _ok(await api.http.get(f"/v1/subjects/{api.own}/credit", headers=admin))
    assert unknown["practitioner"] is None
