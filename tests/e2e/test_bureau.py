"""Bureau-side flows: review queue, catalogue loads, no-code list, DRG cases, code history."""

from __future__ import annotations

import asyncio

import pytest
from yibao.auth import issue_bureau_jwt

from tests.e2e.conftest import Client, codes_for, line

pytestmark = pytest.mark.e2e


async def test_reviewer_rejects_a_held_sale_and_the_box_goes_back(client: Client) -> None:
    owner, stranger = await client.register(), await client.register()
    med, prefix = await client.load_product(units=24, split=False)
    codes = codes_for(prefix, 1)
    await client.stock(owner, med, codes)
    held = (await client.sell(stranger, [line(med, 1, codes)])).json()
    assert held["status"] == "pending_review"
    assert [h["rule"] for h in held["hits"]] == ["not_in_stock"]

    reviewer = {
        "Authorization": "Bearer "
        + issue_bureau_jwt("reviewer-7", ["reviewer"], secret=client.platform.jwt_secret)
    }
    queue = await client.http.get(
        client.url("tracecode-validator", "/v1/admin/reviews"), headers=reviewer
    )
    assert held["settlement_id"] in [r["settlement_id"] for r in queue.json()]
    institution_tries = await client.http.get(
        client.url("tracecode-validator", "/v1/admin/reviews"), headers=owner.headers
    )
    assert institution_tries.status_code == 403

    verdict = await client.http.post(
        client.url("tracecode-validator", f"/v1/admin/reviews/{held['settlement_id']}"),
        headers=reviewer,
        json={"decision": "reject", "reason": "药品未在本店入库"},
    )
    assert verdict.json() == {"settlement_id": held["settlement_id"], "status": "rejected"}
    final = await client.final(stranger, held["settlement_id"], waiting=("pending_review",))
    assert final["status"] == "rejected"
    again = await client.http.post(
        client.url("tracecode-validator", f"/v1/admin/reviews/{held['settlement_id']}"),
        headers=reviewer,
        json={"decision": "approve", "reason": "再次审核"},
    )
    assert again.status_code == 409

    await client.wait_state(codes, "in_stock")
    sold = (await client.sell(owner, [line(med, 1, codes)])).json()
    assert sold["status"] == "approved"
    events = [h["event"] for h in await client.history(codes[0])]
    assert events == ["purchase_in", "sale", "review_rejected", "sale"]


async def test_catalogue_rows_are_all_or_nothing(client: Client) -> None:
    good = {
        "med_list_codg": "XB01ACA006A001010101449",
        "name": "阿司匹林肠溶片",
        "gtins": ["6921000000026"],
        "trace_prefixes": [{"prefix": "8765432", "pack_level": "box"}],
        "units_per_pack": 30,
        "split_allowed": True,
        "rx_flag": False,
    }
    bad_gtin = {
        **good,
        "med_list_codg": "XB01ACA006A001010101450",
        "gtins": ["6921000000027"],
        "trace_prefixes": [{"prefix": "8765433", "pack_level": "box"}],
    }
    url = client.url("tracecode-validator", "/v1/admin/catalogue/products")
    response = await client.http.post(url, headers=client.admin, json=[good, bad_gtin])
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "invalid_catalogue_rows"
    assert problem["rows"] == [1]
    assert problem["errors"][0]["field"].startswith("$[1].")
    product_url = client.url(
        "tracecode-validator", "/v1/catalogue/products/XB01ACA006A001010101449"
    )
    assert (await client.http.get(product_url)).status_code == 404

    missing_field = await client.http.post(url, headers=client.admin, json=[{"name": "x"}])
    assert missing_field.status_code == 422
    assert (await client.http.post(url, json=[good])).status_code == 401


async def test_catalogue_loads_from_csv(client: Client) -> None:
    csv_body = (
        "med_list_codg,name,gtins,drug_std_codes,trace_prefixes,units_per_pack,split_allowed,rx_flag\n"
        "ZA01AAA0001010101010101,六味地黄丸,,,8555501:box;8555502:case,120,false,false\n"
    )
    response = await client.http.post(
        client.url("tracecode-validator", "/v1/admin/catalogue/products.csv"),
        headers={**client.admin, "content-type": "text/csv"},
        content=csv_body.encode(),
    )
    assert response.json() == {"upserted": 1}, response.text
    product = await client.http.get(
        client.url("tracecode-validator", "/v1/catalogue/products/ZA01AAA0001010101010101")
    )
    assert product.json()["trace_prefixes"][1] == {"prefix": "8555502", "pack_level": "case"}


async def test_legacy_stock_on_the_no_code_list_sells_without_a_code(client: Client) -> None:
    pharmacy = await client.register()
    med, _ = await client.load_product(units=10, split=False)
    refused = (await client.sell(pharmacy, [line(med, 1, [])])).json()
    assert refused["status"] == "rejected"
    listed = await client.http.post(
        client.url("tracecode-validator", "/v1/admin/catalogue/no-code-list"),
        headers=client.admin,
        json={
            "reason": "切换日前库存",
            "items": [{"fixmedins_code": pharmacy.code, "med_list_codg": med}],
        },
    )
    assert listed.status_code == 200
    allowed = (await client.sell(pharmacy, [line(med, 1, [])])).json()
    assert allowed["status"] == "approved", allowed


async def test_drg_cases_are_accepted_once_per_visit(client: Client) -> None:
    hospital = await client.register("hospital")
    case = {
        "fixmedins_code": hospital.code,
        "mdtrt_id": "ZY2026110001",
        "certno": "150302196505051233",
        "drg_code": "ES23",
        "weight": 1.23,
        "los_days": 8,
        "total_cost": 15600.5,
        "fund_paid": 11000,
        "discharge_status": "improved",
        "discharge_date": "2026-11-20",
    }
    url = client.url("settlement-ingest", "/v1/drg-settlements")
    first = await client.http.post(url, headers=hospital.headers, json=case)
    again = await client.http.post(url, headers=hospital.headers, json=case)
    assert first.status_code == 202
    assert again.json() == first.json()
    changed = await client.http.post(url, headers=hospital.headers, json={**case, "los_days": 9})
    assert changed.status_code == 422
    assert changed.json()["code"] == "idempotency_key_reuse"


async def test_a_rotated_key_replaces_the_old_one_on_every_service(client: Client) -> None:
    pharmacy = await client.register()
    rotate = client.url("settlement-ingest", f"/v1/admin/institutions/{pharmacy.code}/api-key")
    assert (await client.http.post(rotate)).status_code == 401
    assert (await client.http.post(rotate, headers=pharmacy.headers)).status_code == 401
    response = await client.http.post(rotate, headers=client.admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["fixmedins_code"] == pharmacy.code
    new = {"Authorization": f"Bearer {body['api_key']}"}
    assert new != pharmacy.headers

    own_sale = client.url("settlement-ingest", "/v1/settlements/none-such")
    assert (await client.http.get(own_sale, headers=pharmacy.headers)).status_code == 401
    assert (await client.http.get(own_sale, headers=new)).status_code == 404
    # Another service learns the new hash from institution.registered.v1 (bounded wait).
    stats = client.url("disclosure-publisher", f"/v1/institutions/{pharmacy.code}/stats")
    deadline = asyncio.get_running_loop().time() + 15
    status = 0
    while asyncio.get_running_loop().time() < deadline:
        status = (
            await client.http.get(stats, params={"period": "2026-11"}, headers=new)
        ).status_code
        if status == 200:
            break
        await asyncio.sleep(0.2)
    assert status == 200

    unknown = client.url("settlement-ingest", "/v1/admin/institutions/P99999999999/api-key")
    missing = await client.http.post(unknown, headers=client.admin)
    assert (missing.status_code, missing.json()["code"]) == (404, "institution_not_found")
