"""The real-time path end to end: POS -> ingest -> validator -> ingest, over HTTP, with
all five services running as processes on the real broker and database."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from yibao.embedded import free_port
from yibao.embedded.platform import Platform, RunningService

from tests.e2e.conftest import Client, codes_for, line, sale_body

pytestmark = pytest.mark.e2e


async def test_sale_approved_then_the_same_box_is_a_duplicate_elsewhere(client: Client) -> None:
    seller, other = await client.register(), await client.register()
    med, prefix = await client.load_product(units=24, split=False)
    codes = codes_for(prefix, 2)
    await client.stock(seller, med, codes)

    sold = await client.sell(seller, [line(med, 2, codes)])
    assert sold.status_code == 200, sold.text
    assert sold.json()["status"] == "approved"
    assert sold.json()["hits"] == []

    again = await client.sell(other, [line(med, 1, codes[:1])], certno="150302198501011234")
    body = again.json()
    assert again.status_code == 200
    assert body["status"] == "rejected"
    (hit,) = body["hits"]
    assert hit["rule"] == "duplicate_sale"
    assert hit["action"] == "reject"
    assert hit["drug_trac_codg"] == codes[0]
    assert hit["evidence"]["prior_institution"] == seller.code
    assert hit["evidence"]["same_person"] is False
    assert hit["message_zh"]
    assert hit["message_en"]

    stored = await client.final(other, body["settlement_id"])
    assert stored["status"] == "rejected"
    assert stored["hits"] == body["hits"]


async def test_a_drug_line_without_a_code_is_rejected_and_kept(client: Client) -> None:
    pharmacy = await client.register()
    med, _ = await client.load_product(units=10, split=False)
    response = await client.sell(pharmacy, [line(med, 1, [])])
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "rejected"
    assert [h["rule"] for h in body["hits"]] == ["missing_trace_code"]
    assert (await client.final(pharmacy, body["settlement_id"]))["status"] == "rejected"


async def test_split_pack_sold_to_exhaustion_then_refused_and_returns_release_units(
    client: Client,
) -> None:
    pharmacy = await client.register()
    med, prefix = await client.load_product(units=6, split=True)
    (code,) = codes_for(prefix, 1)
    await client.stock(pharmacy, med, [code])

    first = (await client.sell(pharmacy, [line(med, 4, [code], split=True)])).json()
    assert first["status"] == "approved"
    second = (await client.sell(pharmacy, [line(med, 2, [code], split=True)])).json()
    assert second["status"] == "approved"
    over = (await client.sell(pharmacy, [line(med, 1, [code], split=True)])).json()
    assert over["status"] == "rejected"
    assert [h["rule"] for h in over["hits"]] == ["split_overrun"]
    assert over["hits"][0]["evidence"]["remaining_units"] == 0

    back = await client.http.post(
        client.url("settlement-ingest", f"/v1/settlements/{first['settlement_id']}/returns"),
        headers=pharmacy.headers,
        json={
            "lines": [{"line": 0, "sel_retn_cnt": 3, "drugtracinfo": [{"drug_trac_codg": code}]}]
        },
    )
    assert back.status_code == 200, back.text
    assert back.json()["status"] == "accepted"
    await _wait_remaining(client, code, 3)

    three = (await client.sell(pharmacy, [line(med, 3, [code], split=True)])).json()
    assert three["status"] == "approved"
    four = (await client.sell(pharmacy, [line(med, 1, [code], split=True)])).json()
    assert four["status"] == "rejected"

    too_many = await client.http.post(
        client.url("settlement-ingest", f"/v1/settlements/{first['settlement_id']}/returns"),
        headers=pharmacy.headers,
        json={
            "lines": [{"line": 0, "sel_retn_cnt": 2, "drugtracinfo": [{"drug_trac_codg": code}]}]
        },
    )
    assert too_many.json()["status"] == "rejected"
    assert [h["rule"] for h in too_many.json()["hits"]] == ["return_exceeds_sold"]


def _return_body(code: str, units: int) -> dict[str, object]:
    return {
        "lines": [{"line": 0, "sel_retn_cnt": units, "drugtracinfo": [{"drug_trac_codg": code}]}]
    }


async def _wait_remaining(client: Client, code: str, units: int) -> None:
    for _ in range(100):
        history = await client.history(code)
        if history[-1]["remaining_units"] == units:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{code} never got back to {units} units: {history[-1]}")


async def test_retries_get_the_same_answer_never_a_false_duplicate(client: Client) -> None:
    pharmacy = await client.register()
    med, prefix = await client.load_product(units=24, split=False)
    codes = codes_for(prefix, 1)
    await client.stock(pharmacy, med, codes)
    key = str(uuid.uuid4())

    first = await client.sell(pharmacy, [line(med, 1, codes)], key=key)
    retry = await client.sell(pharmacy, [line(med, 1, codes)], key=key)
    assert first.json()["status"] == "approved"
    assert retry.json() == first.json()

    changed = await client.sell(
        pharmacy, [line(med, 1, codes)], key=key, certno="150302197001011239"
    )
    assert changed.status_code == 422
    assert changed.json()["code"] == "idempotency_key_reuse"

    # The same body re-sent without any key (a POS that lost the answer) is the same sale.
    body = sale_body(pharmacy.code, [line(med, 1, codes)], certno="150302199001011231")
    url = client.url("settlement-ingest", "/v1/settlements")
    once = await client.http.post(url, headers=pharmacy.headers, json=body)
    twice = await client.http.post(url, headers=pharmacy.headers, json=body)
    assert once.json()["settlement_id"] == twice.json()["settlement_id"]
    assert twice.json()["status"] == once.json()["status"]


async def test_concurrent_sales_of_one_box_approve_exactly_one(client: Client) -> None:
    """Two pharmacies, two validator replicas, the same boxes at the same instant.

    Exactly one sale of each pair holds the box (approved, or pending review when the other
    pharmacy never stocked it); the other is rejected.
    """
    platform = client.platform
    replica = _start_second(platform, "tracecode-validator")
    try:
        await platform.wait_ready(replica)
        a, b = await client.register(), await client.register()
        med, prefix = await client.load_product(units=24, split=False)
        codes = codes_for(prefix, 20)
        await client.stock(a, med, codes)
        answers = await asyncio.gather(
            *(client.sell(p, [line(med, 1, [c])]) for c in codes for p in (a, b))
        )
        decided = [
            (await client.final(p, r.json()["settlement_id"]))["status"]
            for r, p in zip(answers, [a, b] * len(codes), strict=True)
        ]
        for i, code in enumerate(codes):
            pair = decided[2 * i : 2 * i + 2]
            holding = [
                s for s in pair if s in ("approved", "approved_with_warnings", "pending_review")
            ]
            assert len(holding) == 1, f"{code}: {pair}"
            assert "rejected" in pair, f"{code}: {pair}"
    finally:
        platform.stop_service(replica.spec.name)


def _start_second(platform: Platform, service: str) -> RunningService:
    """Another replica of a service: same database, same consumer group, its own port."""
    base = platform.services[service].spec
    spec = replace(base, name=f"{base.name}-2")
    platform.ports[spec.name] = free_port()
    platform.service_dsns[spec.name] = platform.service_dsns[base.name]
    return platform.start_service(spec)


async def test_a_decision_reaches_the_ingest_replica_holding_the_request(client: Client) -> None:
    """Two ingest replicas share the decided topic's partitions; each waiting POS is answered.

    The replica that consumes a decision is often not the one holding the HTTP request: it
    must still reach that request before the deadline (a 200 with the decision, not a 202).
    """
    platform = client.platform
    replica = _start_second(platform, "settlement-ingest")
    try:
        await platform.wait_ready(replica)
        pharmacy = await client.register()
        med, prefix = await client.load_product(units=24, split=False)
        codes = codes_for(prefix, 24)
        await client.stock(pharmacy, med, codes)
        urls = [client.url("settlement-ingest", ""), replica.url]
        answers = await asyncio.gather(
            *(
                client.http.post(
                    urls[i % 2] + "/v1/settlements",
                    headers={**pharmacy.headers, "Idempotency-Key": f"replicas-{code}"},
                    json=sale_body(
                        pharmacy.code, [line(med, 1, [code])], certno="150302199001011231"
                    ),
                )
                for i, code in enumerate(codes)
            )
        )
        assert [(a.status_code, a.json()["status"]) for a in answers] == [(200, "approved")] * len(
            codes
        )
    finally:
        platform.stop_service(replica.spec.name)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "invalid_json"),
        (json.dumps({"lines": []}).encode(), 422, "validation_failed"),
        (json.dumps({"fixmedins_code": "X", "certno": 5}).encode(), 422, "validation_failed"),
    ],
)
async def test_bodies_that_cannot_be_settlements_get_4xx_and_store_nothing(
    client: Client, body: bytes, status: int, code: str
) -> None:
    pharmacy = await client.register()
    before = await _settlement_count(client)
    response = await client.http.post(
        client.url("settlement-ingest", "/v1/settlements"),
        headers={**pharmacy.headers, "content-type": "application/json"},
        content=body,
    )
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code
    assert await _settlement_count(client) == before


async def test_field_errors_name_the_json_path(client: Client) -> None:
    pharmacy = await client.register()
    body = sale_body(pharmacy.code, [line("XA01ABA014A001010101445", 1, [])], certno="1")
    body["lines"][0]["sel_retn_cnt"] = "two"
    response = await client.http.post(
        client.url("settlement-ingest", "/v1/settlements"), headers=pharmacy.headers, json=body
    )
    assert response.status_code == 422
    assert response.json()["field"] == "$.lines[0].sel_retn_cnt"


async def test_oversized_body_is_refused(client: Client) -> None:
    pharmacy = await client.register()
    response = await client.http.post(
        client.url("settlement-ingest", "/v1/settlements"),
        headers={**pharmacy.headers, "content-type": "application/json"},
        content=b"[" + b"1," * 700_000 + b"1]",
    )
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"


async def test_wrong_or_missing_credentials(client: Client) -> None:
    mine, theirs = await client.register(), await client.register()
    body = sale_body(theirs.code, [line("XA01ABA014A001010101445", 1, [])], certno="1")
    url = client.url("settlement-ingest", "/v1/settlements")
    before = await _settlement_count(client)
    assert (await client.http.post(url, headers=mine.headers, json=body)).status_code == 403
    assert (await client.http.post(url, json=body)).status_code == 401
    bad = {"Authorization": "Bearer yb_not_a_key"}
    assert (await client.http.post(url, headers=bad, json=body)).status_code == 401
    assert await _settlement_count(client) == before

    own = await client.sell(mine, [line("XA01ABA014A001010101445", 1, [])])
    other_reads = await client.http.get(
        client.url("settlement-ingest", f"/v1/settlements/{own.json()['settlement_id']}"),
        headers=theirs.headers,
    )
    assert other_reads.status_code == 403


async def test_ambiguous_gs1_and_garbage_codes_are_malformed(client: Client) -> None:
    pharmacy = await client.register()
    med, _ = await client.load_product(units=10, split=False)
    gs1_no_separator = "0104012345000016" + "10LOT42" + "21SERIAL9"
    for code in (gs1_no_separator, "ABC!!", "0104012345000017" + "21X1"):
        body = (await client.sell(pharmacy, [line(med, 1, [code])])).json()
        assert body["status"] == "rejected", (code, body)
        assert "malformed_trace_code" in [h["rule"] for h in body["hits"]], (code, body)


async def test_decisions_reach_credit_and_publisher(client: Client) -> None:
    pharmacy = await client.register()
    med, _ = await client.load_product(units=10, split=False)
    await client.sell(pharmacy, [line(med, 1, [])])
    file_url = client.url("credit-scorer", f"/v1/subjects/{pharmacy.code}/file")
    stats_url = client.url("disclosure-publisher", f"/v1/institutions/{pharmacy.code}/stats")
    period = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")  # decided just now
    entries: list[dict[str, object]] = []
    stats: list[dict[str, object]] = []
    for _ in range(100):  # both learn the institution's key and the decision from events
        file = await client.http.get(file_url, headers=pharmacy.headers)
        month = await client.http.get(
            stats_url, headers=pharmacy.headers, params={"period": period}
        )
        if file.status_code == month.status_code == 200:
            entries, stats = file.json()["entries"], month.json()["by_status"]
            if entries and stats:
                break
        await asyncio.sleep(0.1)
    assert [e["kind"] for e in entries] == ["settlement_rejected"]
    assert stats == [{"status": "rejected", "settlements": 1, "amount": "10.00"}]


async def _settlement_count(client: Client) -> int:
    conn = await asyncpg.connect(client.platform.service_dsns["settlement-ingest"])
    try:
        return int(await conn.fetchval("SELECT count(*) FROM settlements"))
    finally:
        await conn.close()


async def test_an_empty_scan_is_a_decision_and_a_flood_of_codes_is_not(client: Client) -> None:
    pharmacy = await client.register()
    med, _ = await client.load_product(units=10, split=False)
    empty = (await client.sell(pharmacy, [line(med, 1, [""])])).json()
    assert empty["status"] == "rejected"
    assert "malformed_trace_code" in [h["rule"] for h in empty["hits"]]

    flood = [line(med, 1, [f"8{n:019d}" for n in range(500)]) for _ in range(3)]
    response = await client.sell(pharmacy, flood)
    assert response.status_code == 422
    assert "at most 1000" in response.json()["detail"]


async def test_retries_without_a_key_are_the_same_return_and_movement(client: Client) -> None:
    pharmacy = await client.register()
    med, prefix = await client.load_product(units=24, split=False)
    codes = codes_for(prefix, 2)
    movement = {
        "fixmedins_code": pharmacy.code,
        "movement_type": "purchase_in",
        "med_list_codg": med,
        "drugtracinfo": [{"drug_trac_codg": c} for c in codes],
    }
    url = client.url("settlement-ingest", "/v1/inventory/movements")
    first = await client.http.post(url, headers=pharmacy.headers, json=movement)
    again = await client.http.post(url, headers=pharmacy.headers, json=movement)
    assert first.json() == again.json()
    await client.wait_state(codes, "in_stock")

    sold = (await client.sell(pharmacy, [line(med, 2, codes)])).json()
    assert sold["status"] == "approved"
    returns = client.url("settlement-ingest", f"/v1/settlements/{sold['settlement_id']}/returns")
    body = {
        "lines": [{"line": 0, "sel_retn_cnt": 1, "drugtracinfo": [{"drug_trac_codg": codes[0]}]}]
    }
    once = await client.http.post(returns, headers=pharmacy.headers, json=body)
    twice = await client.http.post(returns, headers=pharmacy.headers, json=body)
    assert once.json()["status"] == "accepted"
    assert twice.json() == once.json()
