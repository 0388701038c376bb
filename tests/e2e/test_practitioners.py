"""The 12-point system end to end: the bureau records points, the validator refuses the
suspended doctor's prescriptions (emergencies excepted)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.conftest import Client, codes_for, line, sale_body

pytestmark = pytest.mark.e2e


async def _points(client: Client, certno: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.http.post(
        client.url("credit-scorer", f"/v1/admin/practitioners/{certno}/points"),
        headers=client.admin,
        json=body,
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_the_contract_example_suspends_for_three_months(client: Client) -> None:
    certno = f"15030219800101{uuid.uuid4().int % 10**4:04d}"
    first = await _points(
        client, certno, {"points": 6, "decided_at": "2026-01-15", "reason": "超量开药"}
    )
    assert first == {
        "certno": certno,
        "year_points": 6,
        "status": "active",
        "suspended_until": None,
        "banned_until": None,
    }
    second = await _points(
        client,
        certno,
        {"points": 4, "decided_at": "2026-03-02", "reason": "串换药品", "suspension_months": 3},
    )
    assert second == {
        "certno": certno,
        "year_points": 10,
        "status": "suspended",
        "suspended_until": "2026-06-02",
        "banned_until": None,
    }
    missing = await client.http.post(
        client.url("credit-scorer", f"/v1/admin/practitioners/{certno}-x/points"),
        headers=client.admin,
        json={"points": 9, "decided_at": "2026-03-02", "reason": "冒名结算"},
    )
    assert missing.status_code == 422
    assert missing.json()["code"] == "suspension_months_required"
    unauthorised = await client.http.post(
        client.url("credit-scorer", f"/v1/admin/practitioners/{certno}/points"),
        json={"points": 1, "decided_at": "2026-03-02", "reason": "x"},
    )
    assert unauthorised.status_code == 401


async def test_a_suspended_doctor_is_not_settled_except_in_an_emergency(client: Client) -> None:
    doctor = f"15030219750101{uuid.uuid4().int % 10**4:04d}"
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    status = await _points(
        client,
        doctor,
        {"points": 9, "decided_at": today, "reason": "冒名结算", "suspension_months": 2},
    )
    assert status["status"] == "suspended"
    pharmacy = await client.register()
    med, prefix = await client.load_product(units=24, split=False)
    stocked = codes_for(prefix, 40)
    await client.stock(pharmacy, med, stocked)
    shelf = iter(stocked)

    async def sell(*, emergency: bool) -> dict[str, Any]:
        body = sale_body(pharmacy.code, [line(med, 1, [next(shelf)])], certno="150302199001011231")
        body["prsc_dr_certno"] = doctor
        body["setl_time"] = datetime.now(ZoneInfo("Asia/Shanghai")).isoformat()
        body["emergency"] = emergency
        response = await client.http.post(
            client.url("settlement-ingest", "/v1/settlements"),
            headers={**pharmacy.headers, "Idempotency-Key": str(uuid.uuid4())},
            json=body,
        )
        answer: dict[str, Any] = response.json()
        return answer

    refused: dict[str, Any] = {}
    for _ in range(50):  # the validator learns the suspension from credit's event
        refused = await sell(emergency=False)
        if refused["status"] == "rejected":
            break
        await asyncio.sleep(0.2)
    assert [h["rule"] for h in refused["hits"]] == ["practitioner_suspended"]
    assert doctor not in str(refused["hits"]), "the doctor's ID number is masked in evidence"
    assert (await sell(emergency=True))["status"] == "approved"
