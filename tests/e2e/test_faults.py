"""Crashes on the real-time path: nothing accepted is lost, nothing is decided twice."""

from __future__ import annotations

import asyncio
import signal

import asyncpg
import pytest
from yibao.topology import SERVICES

from tests.e2e.conftest import Client, codes_for, line

pytestmark = pytest.mark.e2e

VALIDATOR = next(s for s in SERVICES if s.name == "tracecode-validator")


async def _restart_validator(client: Client, *, when: asyncio.Event) -> None:
    await when.wait()
    client.platform.stop_service(VALIDATOR.name, signal.SIGKILL)
    await asyncio.sleep(0.5)
    await client.platform.wait_ready(client.platform.start_service(VALIDATOR))


async def test_validator_down_means_202_then_the_decision_arrives(client: Client) -> None:
    pharmacy = await client.register()
    med, prefix = await client.load_product(units=24, split=False)
    codes = codes_for(prefix, 1)
    await client.stock(pharmacy, med, codes)
    client.platform.stop_service(VALIDATOR.name, signal.SIGKILL)
    try:
        response = await client.sell(pharmacy, [line(med, 1, codes)])
        assert response.status_code == 202
        body = response.json()
        assert body["status"] == "deciding"
        assert response.headers["location"] == f"/v1/settlements/{body['settlement_id']}"
    finally:
        await client.platform.wait_ready(client.platform.start_service(VALIDATOR))
    assert (await client.final(pharmacy, body["settlement_id"]))["status"] == "approved"


async def test_validator_killed_mid_stream_every_sale_decided_exactly_once(client: Client) -> None:
    pharmacy = await client.register()
    med, prefix = await client.load_product(units=24, split=False)
    codes = codes_for(prefix, 60)
    await client.stock(pharmacy, med, codes)
    gate = asyncio.Semaphore(4)
    quarter_done = asyncio.Event()
    answered: list[int] = []

    async def sell(code: str) -> str:
        async with gate:
            response = await client.sell(pharmacy, [line(med, 1, [code])])
        assert response.status_code in (200, 202), response.text
        answered.append(response.status_code)
        if len(answered) == len(codes) // 4:
            quarter_done.set()
        return str(response.json()["settlement_id"])

    crash = asyncio.create_task(_restart_validator(client, when=quarter_done))
    ids = await asyncio.gather(*(sell(c) for c in codes))
    await crash
    assert 202 in answered, "the crash should have caught sales in flight"
    finals = [await client.final(pharmacy, sid) for sid in ids]
    assert [f["status"] for f in finals] == ["approved"] * len(codes)

    conn = await asyncpg.connect(client.platform.service_dsns[VALIDATOR.name])
    try:
        decided = await conn.fetchval(
            "SELECT count(*) FROM decisions WHERE settlement_id = ANY($1::text[])", ids
        )
        sales = await conn.fetch(
            "SELECT key, count(*) AS n FROM code_history WHERE event = 'sale' "
            "AND key = ANY($1::text[]) GROUP BY key",
            codes,
        )
    finally:
        await conn.close()
    assert decided == len(ids)
    assert {r["key"]: r["n"] for r in sales} == dict.fromkeys(codes, 1)
