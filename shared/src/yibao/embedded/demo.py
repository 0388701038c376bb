"""The `make run` demo: a pharmacy's day in six requests, printed as it happens.

Everything goes over HTTP exactly as a POS vendor would call it, so a newcomer can read
this file as a client example too. The catalogue rows are made up (not real products).
"""

from __future__ import annotations

import asyncio
import csv
import importlib
import io
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from yibao.calendar import bureau_period

PHARMACY_A = "P15030200007"
PHARMACY_B = "P15030200008"
AMOXICILLIN = "XA01ABA014A001010101445"  # whole boxes only
IBUPROFEN = "XM01AEI034A001010101447"  # splittable: 6 tablets a box
BOX_CODES = [f"8123456{n:09d}{n % 10:04d}" for n in range(1, 4)]
SPLIT_CODE = "81234570000000010000"

CATALOGUE = [
    {
        "med_list_codg": AMOXICILLIN,
        "name": "阿莫西林胶囊 0.25g×24粒 (demo)",
        "gtins": ["6924561884074"],
        "trace_prefixes": [{"prefix": "8123456", "pack_level": "box"}],
        "units_per_pack": 24,
        "split_allowed": False,
        "rx_flag": True,
    },
    {
        "med_list_codg": IBUPROFEN,
        "name": "布洛芬片 0.2g×6片 (demo)",
        "gtins": ["6921000000019"],
        "trace_prefixes": [{"prefix": "8123457", "pack_level": "box"}],
        "units_per_pack": 6,
        "split_allowed": True,
        "rx_flag": False,
    },
]


def _line(med: str, count: int, codes: list[str], *, split: bool = False) -> dict[str, Any]:
    return {
        "med_list_codg": med,
        "trdn_flag": 1 if split else 0,
        "sel_retn_cnt": count,
        "finl_trns_pric": 12.5,
        "drugtracinfo": [{"drug_trac_codg": c} for c in codes],
    }


def _sale(pharmacy: str, certno: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "fixmedins_code": pharmacy,
        "certno": certno,
        "psn_name": "演示患者",
        "setl_time": "2026-11-23T10:00:00+08:00",
        "lines": lines,
    }


def _show(title: str, response: httpx.Response) -> None:
    body = response.json()
    hits = ", ".join(f"{h['rule']}({h['action']})" for h in body.get("hits", [])) or "none"
    print(f"  {title:<46} -> {response.status_code} {body.get('status')}  hits: {hits}")
    for hit in body.get("hits", [])[:1]:
        print(f"      {hit['message_zh']} | evidence {hit.get('evidence')}")


async def run_demo(urls: dict[str, str], admin_token: str) -> None:
    """Register, load the catalogue, stock, then sell: approved, duplicate, missing, split."""
    admin = {"Authorization": f"Bearer {admin_token}"}
    ingest = urls["settlement-ingest"]
    validator = urls["tracecode-validator"]
    print("\nDemo — a pharmacy's day (POS calls over HTTP):")
    async with httpx.AsyncClient(timeout=10) as client:
        keys = {}
        for code in (PHARMACY_A, PHARMACY_B):
            r = await client.post(
                f"{ingest}/v1/admin/institutions",
                headers=admin,
                json={
                    "fixmedins_code": code,
                    "name": f"演示药房 {code}",
                    "kind": "pharmacy",
                    "level": "retail",
                    "admdvs": "150302",
                },
            )
            if r.status_code == 409:
                print(f"  {code} was registered by an earlier run; skipping the demo.")
                return
            r.raise_for_status()
            keys[code] = {"Authorization": f"Bearer {r.json()['api_key']}"}
        print(f"  registered {PHARMACY_A} and {PHARMACY_B} (API keys issued, stored hashed)")
        r = await client.post(
            f"{validator}/v1/admin/catalogue/products", headers=admin, json=CATALOGUE
        )
        r.raise_for_status()
        print(f"  catalogue loaded: {r.json()['upserted']} products")
        for med, codes in ((AMOXICILLIN, BOX_CODES), (IBUPROFEN, [SPLIT_CODE])):
            r = await client.post(
                f"{ingest}/v1/inventory/movements",
                headers=keys[PHARMACY_A],
                json={
                    "fixmedins_code": PHARMACY_A,
                    "movement_type": "purchase_in",
                    "med_list_codg": med,
                    "manu_lotnum": "L2026A",
                    "expy_end": "2028-06-30",
                    "drugtracinfo": [{"drug_trac_codg": c} for c in codes],
                },
            )
            r.raise_for_status()
        await _wait_stocked(client, validator, admin, [*BOX_CODES, SPLIT_CODE])
        print(f"  stocked {len(BOX_CODES)} amoxicillin boxes and 1 ibuprofen box at {PHARMACY_A}")

        async def sell(title: str, pharmacy: str, lines: list[dict[str, Any]]) -> None:
            r = await client.post(
                f"{ingest}/v1/settlements",
                headers={**keys[pharmacy], "Idempotency-Key": str(uuid.uuid4())},
                json=_sale(pharmacy, "150302199001011231", lines),
            )
            _show(title, r)

        await sell(
            "sale of 2 boxes, codes scanned", PHARMACY_A, [_line(AMOXICILLIN, 2, BOX_CODES[:2])]
        )
        await sell(
            "same box sold again elsewhere (回流)",
            PHARMACY_B,
            [_line(AMOXICILLIN, 1, BOX_CODES[:1])],
        )
        await sell("box sold without its code (无码不结)", PHARMACY_A, [_line(AMOXICILLIN, 1, [])])
        await sell(
            "split sale: 4 of 6 tablets (拆零)",
            PHARMACY_A,
            [_line(IBUPROFEN, 4, [SPLIT_CODE], split=True)],
        )
        await sell(
            "split sale: last 2 tablets",
            PHARMACY_A,
            [_line(IBUPROFEN, 2, [SPLIT_CODE], split=True)],
        )
        await sell(
            "split sale: 1 more from the empty box",
            PHARMACY_A,
            [_line(IBUPROFEN, 1, [SPLIT_CODE], split=True)],
        )
        await notice_demo(client, urls, admin, {PHARMACY_B: keys[PHARMACY_B]})
        if "enrollment-matcher" in urls:
            await population_demo(client, urls["enrollment-matcher"], admin)


async def notice_demo(
    client: httpx.AsyncClient,
    urls: dict[str, str],
    admin: dict[str, str],
    keys: dict[str, dict[str, str]],
) -> None:
    """The month's notice (亮家底) in the pharmacy's inbox, and its credit standing."""
    print("\nDemo — the month's notice (亮家底) and credit:")
    publisher, credit = urls["disclosure-publisher"], urls["credit-scorer"]
    [(code, headers)] = keys.items()
    await asyncio.sleep(1.0)  # the publisher's projection learns the decisions from Kafka
    period = bureau_period(datetime.now(UTC))
    r = await client.post(
        f"{publisher}/v1/admin/notices/monthly", headers=admin, json={"period": period}
    )
    r.raise_for_status()
    run_url = f"{publisher}/v1/admin/notices/runs/{r.json()['run_id']}"
    for _ in range(100):
        if (await client.get(run_url, headers=admin)).json()["state"] == "done":
            break
        await asyncio.sleep(0.1)
    items = (await client.get(f"{publisher}/v1/inbox", headers=headers)).json()["items"]
    for item in items:
        rules = [v["rule"] for v in item.get("violations", [])]
        print(
            f"  {code} inbox #{item['seq']}: {item['kind']} notice for {item['period']}, "
            f"suspected violations {rules}, each to answer by its deadline"
        )
        print(f"      readable page: {publisher}/v1/notices/{item['notice_id']}/html")
    standing = (await client.get(f"{credit}/v1/subjects/{code}/credit", headers=admin)).json()
    grade = standing.get("grade") or "none yet (under six months of agreement)"
    print(
        f"  {code} credit: score {standing.get('score')}, grade {grade}; "
        "the alert deducts once an inspector confirms it"
    )


async def population_demo(client: httpx.AsyncClient, url: str, admin: dict[str, str]) -> None:
    """Load a small generated population into enrollment-matcher and print its ledger.

    The generator ships with the enrollment service; without that package installed the
    step is skipped (the library does not depend on a service).
    """
    try:
        synthetic = importlib.import_module("enrollment_matcher.synthetic")
        columns = importlib.import_module("enrollment_matcher.domain.records").COLUMNS
    except ImportError:
        return
    population = synthetic.Population(300, seed=uuid.uuid4().int % 10**6)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(population.records())
    print("\nDemo — one file per person (一人一档) from several departments' records:")
    r = await client.post(
        f"{url}/v1/admin/population/records",
        headers={**admin, "Content-Type": "text/csv"},
        content=out.getvalue().encode(),
    )
    r.raise_for_status()
    job_url = f"{url}/v1/admin/population/jobs/{r.json()['job_id']}"
    job: dict[str, Any] = {}
    for _ in range(300):
        job = (await client.get(job_url, headers=admin)).json()
        if job.get("state") != "running":
            break
        await asyncio.sleep(0.2)
    links = (await client.get(f"{url}/v1/admin/population/links", headers=admin)).text
    persons = {row.split(",")[1] for row in links.splitlines()[1:] if "," in row}
    print(
        f"  {job.get('rows')} records ({job.get('rejected')} rejected) from "
        f"{len(population.people)} generated persons -> {len(persons)} person files"
    )
    r = await client.get(
        f"{url}/v1/admin/enrollment/ledgers", headers=admin, params={"admdvs": "15"}
    )
    for area in r.json().get("areas", [])[:4]:
        print(
            f"  {area['admdvs']}: {area['persons']} persons, {area['uninsured']} uninsured, "
            f"enrollment rate {area['enrollment_rate']}"
        )


async def _wait_stocked(
    client: httpx.AsyncClient, validator: str, admin: dict[str, str], codes: list[str]
) -> None:
    """Stock movements apply asynchronously (within ~1 s); poll their history, bounded."""
    for _ in range(100):
        states = []
        for code in codes:
            r = await client.get(f"{validator}/v1/admin/codes/{code}/history", headers=admin)
            history = r.json().get("history", []) if r.status_code == 200 else []
            states.append(history[-1]["state"] if history else None)
        if all(s == "in_stock" for s in states):
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"stock movements not applied in time: {states}")
