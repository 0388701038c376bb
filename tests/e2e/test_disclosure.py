"""亮家底 end to end: sales and DRG cases through ingest, a monthly run, a signed push to a
real local HTTP receiver, the inbox, and an answer in the feedback ledger.

The receiver verifies Standard Webhooks signatures with its own code (written from the
spec, `tests/integration/webhook_receiver.py`) and answers 2xx only when they verify.
"""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from tests.e2e.conftest import Client, Pharmacy, codes_for, line
from tests.integration.webhook_receiver import Receiver, running_receiver

pytestmark = pytest.mark.e2e
PUBLISHER = "disclosure-publisher"


def _period() -> str:
    return datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")


async def _stats(client: Client, who: Pharmacy, period: str) -> dict[str, Any]:
    response = await client.http.get(
        client.url(PUBLISHER, f"/v1/institutions/{who.code}/stats"),
        headers=who.headers,
        params={"period": period},
    )
    body: dict[str, Any] = response.json() if response.status_code == 200 else {}
    return body


async def _until(check: Any, timeout_s: float = 30.0) -> Any:
    """Bounded polling of an async check until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.2)
    raise AssertionError("not reached in time")


async def _drg(client: Client, hospital: Pharmacy, group: str, cost: float, died: bool) -> None:
    response = await client.http.post(
        client.url("settlement-ingest", "/v1/drg-settlements"),
        headers={**hospital.headers, "Idempotency-Key": str(uuid.uuid4())},
        json={
            "fixmedins_code": hospital.code,
            "mdtrt_id": "ZY" + uuid.uuid4().hex[:10],
            "certno": "150302196505051233",
            "drg_code": group,
            "los_days": 6,
            "total_cost": cost,
            "fund_paid": cost * 0.7,
            "discharge_status": "died" if died else "improved",
            "discharge_date": datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat(),
        },
    )
    assert response.status_code in (200, 201, 202), response.text


async def _hospital_with_a_resold_box(client: Client) -> tuple[Pharmacy, Pharmacy, list[str]]:
    """A hospital that sold another institution's already-sold box (回流) and has DRG cases."""
    period = _period()
    hospital = await client.register("hospital")
    seller = await client.register()
    med, prefix = await client.load_product(units=10, split=False)
    codes = codes_for(prefix, 1)
    await client.stock(seller, med, codes)
    assert (await client.sell(seller, [line(med, 1, codes)])).json()["status"] == "approved"
    await client.stock(hospital, med, codes_for(prefix, 1))
    resold = (await client.sell(hospital, [line(med, 1, codes)])).json()
    assert resold["status"] == "rejected"
    for group, cost, died in (
        ("ES23", 12000.0, False),
        ("ES23", 8000.0, False),
        ("FR21", 30000.0, True),
    ):
        await _drg(client, hospital, group, cost, died)

    async def projected() -> bool:
        stats = await _stats(client, hospital, period)
        return bool(
            stats and stats["drg_cases"] >= 3 and stats["alerts"] >= 1 and stats["by_status"]
        )

    await _until(projected)
    return hospital, seller, codes


async def test_a_monthly_notice_reaches_the_hospital_signed_and_is_answered(client: Client) -> None:
    period = _period()
    hospital, seller, codes = await _hospital_with_a_resold_box(client)

    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    async with running_receiver(Receiver()) as receiver:
        path = f"/yibao/{hospital.code}"
        receiver.secrets[path] = [secret]
        registered = await client.http.post(
            client.url(PUBLISHER, "/v1/admin/recipients"),
            headers=client.admin,
            json={
                "fixmedins_code": hospital.code,
                "webhook_url": receiver.url + path,
                "secret": secret,
            },
        )
        assert registered.status_code == 201, registered.text
        run = await client.http.post(
            client.url(PUBLISHER, "/v1/admin/notices/monthly"),
            headers=client.admin,
            json={"period": period},
        )
        assert run.status_code == 202, run.text
        assert run.json()["run_id"]

        async def pushed() -> list[Any]:
            return [s for s in receiver.for_path(path) if s.status == 200]

        [push] = await _until(pushed)
    assert push.verified
    notice: dict[str, Any] = push.body
    assert notice["notice_id"] == push.msg_id
    assert (notice["kind"], notice["fixmedins_code"], notice["period"]) == (
        "monthly",
        hospital.code,
        period,
    )
    assert notice["drg"]["cases"] == 3
    assert notice["drg"]["group_count"] == 2
    [violation] = [v for v in notice["violations"] if v["rule"] == "duplicate_sale"]
    assert violation["drug_trac_codg"] == codes[0]
    assert "150302196505051233" not in str(notice)

    async def inbox() -> list[Any]:
        response = await client.http.get(
            client.url(PUBLISHER, "/v1/inbox"), headers=hospital.headers
        )
        items: list[Any] = response.json()["items"]
        return items

    items = await inbox()
    assert [i["notice_id"] for i in items] == [notice["notice_id"]]
    assert items[0]["seq"] == 1
    others = await client.http.get(client.url(PUBLISHER, "/v1/inbox"), headers=seller.headers)
    assert notice["notice_id"] not in [i["notice_id"] for i in others.json()["items"]]

    answer = await client.http.post(
        client.url(PUBLISHER, f"/v1/notices/{notice['notice_id']}/feedback"),
        headers=hospital.headers,
        json={"line": violation["line"], "classification": "objection", "text": "该盒为本院购入"},
    )
    assert (answer.status_code, answer.json()["status"]) == (201, "answered")
    page = await client.http.get(
        client.url(PUBLISHER, f"/v1/notices/{notice['notice_id']}/html"), headers=hospital.headers
    )
    assert page.status_code == 200
    assert "<svg" in page.text


async def test_an_unanswered_violation_escalates_and_credit_deducts_once(client: Client) -> None:
    hospital, _, _ = await _hospital_with_a_resold_box(client)
    run = await client.http.post(
        client.url(PUBLISHER, "/v1/admin/notices/monthly"),
        headers=client.admin,
        json={"period": _period(), "version": 2},
    )
    assert run.status_code == 202

    async def opened() -> list[Any]:
        response = await client.http.get(
            client.url(PUBLISHER, "/v1/feedback"), headers=hospital.headers
        )
        return [i for i in response.json() if i["status"] == "open"]

    item = (await _until(opened))[0]
    conn = await asyncpg.connect(client.platform.service_dsns[PUBLISHER])
    try:  # a month and more later: age the due date rather than wait for it
        await conn.execute(
            "UPDATE feedback_items SET due_date = due_date - 45 WHERE item_id = $1",
            item["item_id"],
        )
    finally:
        await conn.close()
    for _ in range(2):  # escalating twice is still one deduction
        swept = await client.http.post(
            client.url(PUBLISHER, "/v1/admin/feedback/escalate"), headers=client.admin
        )
        assert swept.status_code == 200, swept.text

    async def deducted() -> list[Any]:
        response = await client.http.get(
            client.url("credit-scorer", f"/v1/subjects/{hospital.code}/credit"),
            headers=hospital.headers,
        )
        if response.status_code != 200:
            return []
        return [
            d
            for d in response.json()["deductions"]
            if d["evidence"].get("item_id") == item["item_id"]
        ]

    [deduction] = await _until(deducted)
    assert deduction["evidence"]["status"] == "open"
    assert deduction["evidence"]["overdue_days"] >= 15
