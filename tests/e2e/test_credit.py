"""Institution credit end to end: inspectors file findings, the institution reads its own."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from yibao.auth import issue_bureau_jwt

from tests.e2e.conftest import Client

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
