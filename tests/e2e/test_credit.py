"""Institution credit end to end: inspectors file findings, the institution reads its own."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from yibao.auth import issue_bureau_jwt

from tests.e2e.conftest import Client, Pharmacy, codes_for, line

pytestmark = pytest.mark.e2e


async def test_a_finding_is_a_deduction_the_institution_can_read(client: Client) -> None:
    hospital, other = await client.register("hospital"), await client.register("hospital")
    inspector = {
        "Authorization": "Bearer "
        + issue_bureau_jwt("inspector-3", ["inspector"], secret=client.platform.jwt_secret)
    }
    findings = client.url("credit-scorer", f"/v1/admin/subjects/{hospital.code}/findings")
    body = {
        "event_type": "drg_data_quality",
        "decided_on": "2026-11-20",
        "evidence": {"cases": 12, "issue": "主诊断与手术不符"},
    }
    refused = await client.http.post(findings, headers=hospital.headers, json=body)
    assert refused.status_code in (401, 403)  # 401 until credit has learned the key
    own_url = client.url("credit-scorer", f"/v1/subjects/{hospital.code}/credit")
    for _ in range(50):  # credit learns the institution (and its key) from its registration
        if (await client.http.get(own_url, headers=hospital.headers)).status_code == 200:
            break
        await asyncio.sleep(0.1)
    response = await client.http.post(findings, headers=inspector, json=body)
    assert response.status_code == 201, response.text
    filed: dict[str, Any] = response.json()
    assert filed["subject_type"] == "hospital"
    assert filed["score"] == "98.00" or float(filed["score"]) == 98.0
    assert filed["grade"] is None, "under 6 months of agreement: not graded yet"
    assert [d["indicator"] for d in filed["deductions"]] == ["040201"]

    own = await client.http.get(own_url, headers=hospital.headers)
    assert own.status_code == 200
    assert own.json()["deductions"][0]["evidence"]["cases"] == 12
    theirs = await client.http.get(
        client.url("credit-scorer", f"/v1/subjects/{hospital.code}/credit"), headers=other.headers
    )
    assert theirs.status_code == 403

    ambiguous = await client.http.post(
        findings, headers=inspector, json={**body, "event_type": "complaint"}
    )
    assert ambiguous.status_code == 422
    assert ambiguous.json()["code"] == "unknown_indicator"


async def _known_to_credit(client: Client, pharmacy: Pharmacy) -> None:
    """Credit learns the institution and its key from `institution.registered.v1`."""
    url = client.url("credit-scorer", f"/v1/subjects/{pharmacy.code}/credit")
    for _ in range(100):
        if (await client.http.get(url, headers=pharmacy.headers)).status_code == 200:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"credit never learned {pharmacy.code}")


async def test_objection_then_fraud_reaches_the_validator(client: Client) -> None:
    pharmacy, other = await client.register(), await client.register()
    await _known_to_credit(client, pharmacy)
    await _known_to_credit(client, other)
    secret = client.platform.jwt_secret
    inspector = {
        "Authorization": "Bearer " + issue_bureau_jwt("insp-1", ["inspector"], secret=secret)
    }
    reviewer = {"Authorization": "Bearer " + issue_bureau_jwt("rev-1", ["reviewer"], secret=secret)}
    credit = client.url("credit-scorer", f"/v1/subjects/{pharmacy.code}/credit")
    registered = await client.http.post(
        client.url("credit-scorer", "/v1/admin/subjects"),
        headers=client.admin,
        json={
            "subject_id": pharmacy.code,
            "subject_type": "pharmacy",
            "agreement_from": "2020-01-01",
        },
    )
    assert registered.status_code == 200, registered.text  # known from its registration
    assert registered.json()["grade"] == "A"

    findings = client.url("credit-scorer", f"/v1/admin/subjects/{pharmacy.code}/findings")
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    for body in (
        {"event_type": "inspection_finding", "indicator_code": "010102", "decided_on": today},
        {"event_type": "complaint", "indicator_code": "050101", "decided_on": today},
        {"event_type": "complaint", "indicator_code": "030201", "decided_on": today},
    ):
        filed = await client.http.post(findings, headers=inspector, json=body)
        assert filed.status_code == 201, filed.text
    standing = (await client.http.get(credit, headers=pharmacy.headers)).json()
    assert (float(standing["score"]), standing["grade"]) == (88.0, "B")
    contested = next(d for d in standing["deductions"] if d["indicator"] == "030201")

    objection = {"deduction_id": contested["deduction_id"], "grounds": "投诉已撤回"}
    objections = client.url("credit-scorer", f"/v1/subjects/{pharmacy.code}/objections")
    assert (
        await client.http.post(objections, headers=other.headers, json=objection)
    ).status_code == 403
    filed = await client.http.post(objections, headers=pharmacy.headers, json=objection)
    assert filed.status_code == 201, filed.text
    assert (await client.http.get(credit, headers=pharmacy.headers)).json()["grade"] == "A"
    decided = await client.http.post(
        client.url(
            "credit-scorer", f"/v1/admin/objections/{filed.json()['objection_id']}/decision"
        ),
        headers=reviewer,
        json={"accepted": False, "reason": "投诉属实"},
    )
    assert decided.status_code == 200, decided.text
    assert (await client.http.get(credit, headers=pharmacy.headers)).json()["grade"] == "B"

    fraud = await client.http.post(
        findings, headers=inspector, json={"event_type": "fraud_confirmed", "decided_on": today}
    )
    assert fraud.status_code == 201, fraud.text
    assert fraud.json()["lists"] == ["black", "key_supervision"]
    black = await client.http.get(
        client.url("credit-scorer", "/v1/lists/black"), headers=other.headers
    )
    assert pharmacy.code in [e["subject_id"] for e in black.json()["entries"]]
    file = await client.http.get(
        client.url("credit-scorer", f"/v1/subjects/{pharmacy.code}/file"), headers=pharmacy.headers
    )
    kinds = {e["kind"] for e in file.json()["entries"]}
    assert {"deduction_added", "objection_filed", "objection_rejected", "standing_changed"} <= kinds

    med, prefix = await client.load_product(units=24, split=False)
    stocked = codes_for(prefix, 50)
    await client.stock(pharmacy, med, stocked)
    stock = iter(stocked)
    status = ""
    for _ in range(50):  # the validator learns the D grade from credit.grade-changed.v1
        sale = (await client.sell(pharmacy, [line(med, 1, [next(stock)])])).json()
        status = sale["status"]
        if status == "pending_review":
            assert [h["rule"] for h in sale["hits"]] == ["institution_under_review"]
            break
        await asyncio.sleep(0.2)
    assert status == "pending_review"
