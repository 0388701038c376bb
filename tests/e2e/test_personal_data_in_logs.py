"""Personal data never reaches the service logs in clear.

Drives settlements (approved, duplicate, refused, broken), a return, a DRG case and credit
file reads carrying known ID numbers, names, practitioner certificate numbers and a phone,
then reads every log file of the running platform and looks for each value in every form a
log line could carry it (raw UTF-8, JSON `\\uXXXX` escapes, URL encoding). Masked forms
(`1503**********1231`, `张**`) are fine. The scanner is first shown to find a planted leak.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from yibao.pii import mask_certno, mask_name

from tests.e2e.conftest import Client, codes_for, line, sale_body

pytestmark = pytest.mark.e2e

CERTNO = "150302199001011231"  # the insured person (居民身份证号)
OTHER_CERTNO = "150302198501011234"
DRG_CERTNO = "150302196812121237"
NAME = "张三丰"
PRESCRIBER = "110105197806061235"  # 开方医师证件号
PHARMACIST = "120104198807071236"  # 药师证件号
PHONE = "13800138000"
PSN_NO = "15000000000000000001"  # 人员编号
SECRETS = (CERTNO, OTHER_CERTNO, DRG_CERTNO, NAME, PRESCRIBER, PHARMACIST, PHONE, PSN_NO)


def forms(secret: str) -> set[str]:
    """Every spelling of `secret` a log line could hold: raw, JSON-escaped, URL-encoded."""
    return {secret, json.dumps(secret)[1:-1], quote(secret), quote(secret).lower()}


def leaks(paths: list[Path], secrets: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """(file, secret, context) for every secret found in clear in any of `paths`."""
    found = []
    for path in paths:
        text = path.read_bytes().decode("utf-8", errors="replace")
        for secret in secrets:
            for form in forms(secret):
                if form in text:
                    at = text.index(form)
                    context = text[max(0, at - 150) : at + 100].replace("\n", " ")
                    found.append((path.name, secret, f"as {form!r}: …{context}…"))
    return found


def log_files(client: Client) -> list[Path]:
    """Every service log of the running platform (replicas started by other tests too)."""
    paths = sorted(client.platform.run_dir.glob("*.log"))
    names = {p.stem for p in paths}
    assert {"settlement-ingest", "tracecode-validator", "credit-scorer"} <= names, names
    return paths


def test_the_scanner_finds_a_planted_leak_and_ignores_masked_forms(tmp_path: Path) -> None:
    leaky = tmp_path / "leaky.log"
    leaky.write_text(
        json.dumps({"msg": "sale", "certno": CERTNO}, ensure_ascii=False)
        + "\n"
        + json.dumps({"msg": "sale", "psn_name": NAME}, ensure_ascii=True)
        + "\n"
        + f'{{"path": "/v1/subjects/{quote(PRESCRIBER)}/file?tel={quote(PHONE)}"}}\n'
        + f"pharmacist {PHARMACIST} psn {PSN_NO} {OTHER_CERTNO} {DRG_CERTNO}\n",
        encoding="utf-8",
    )
    assert {secret for _, secret, _ in leaks([leaky], SECRETS)} == set(SECRETS)
    masked = tmp_path / "masked.log"
    masked.write_text(
        json.dumps(
            {"certno": mask_certno(CERTNO), "psn_name": mask_name(NAME), "dr": "1101****1235"},
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    assert leaks([masked], SECRETS) == []


async def test_no_service_log_carries_personal_data_in_clear(client: Client) -> None:
    seller, other = await client.register(), await client.register()
    med, prefix = await client.load_product(units=10, split=False)
    codes = codes_for(prefix, 2)
    await client.stock(seller, med, codes)
    url = client.url("settlement-ingest", "/v1/settlements")

    def body(code: str, lines: list[dict[str, Any]], certno: str = CERTNO) -> dict[str, Any]:
        return {
            **sale_body(code, lines, certno=certno),
            "psn_no": PSN_NO,
            "psn_name": NAME,
            "prsc_dr_certno": PRESCRIBER,
            "phar_certno": PHARMACIST,
            "tel": PHONE,  # an extra 3505 field a vendor may send; ignored, never logged
        }

    async def post(headers: dict[str, str], payload: Any, key: str | None = None) -> httpx.Response:
        return await client.http.post(
            url,
            headers={
                **headers,
                "Idempotency-Key": key or str(uuid.uuid4()),
                "content-type": "application/json",
            },
            content=payload if isinstance(payload, bytes) else json.dumps(payload).encode(),
        )

    key = str(uuid.uuid4())
    sale = body(seller.code, [line(med, 1, codes[:1])])
    duplicate = body(other.code, [line(med, 1, codes[:1])])
    changed = {**sale, "certno": OTHER_CERTNO}
    wrong_type = body(seller.code, [{**line(med, 1, codes[1:]), "sel_retn_cnt": "two"}])
    truncated = json.dumps(sale, ensure_ascii=False).encode()[:-7]
    broken_line = body(seller.code, [{**line(med, 1, codes[1:]), "med_list_codg": "X\u0000"}])
    undecidable = {**body(seller.code, [line(med, 1, [])]), "prsc_dr_certno": PRESCRIBER + "\0"}
    attempts: list[tuple[dict[str, str], Any, str | None, tuple[int, ...]]] = [
        (seller.headers, sale, key, (200, 202)),  # approved
        (other.headers, duplicate, None, (200, 202)),  # rejected: duplicate_sale, alerted
        (seller.headers, changed, key, (422,)),  # idempotency_key_reuse
        (seller.headers, wrong_type, None, (422,)),  # validation_failed
        (other.headers, sale, None, (403,)),  # another institution's code
        ({}, sale, None, (401,)),
        (seller.headers, truncated, None, (400,)),  # invalid_json
        (seller.headers, broken_line, None, (422, 500)),  # 500 today: the NUL bug
        (seller.headers, undecidable, None, (200, 202, 422)),  # dead-lettered today
    ]
    for headers, payload, idempotency_key, expected in attempts:
        response = await post(headers, payload, idempotency_key)
        assert response.status_code in expected, response.text

    sold = (await client.sell(seller, [line(med, 1, codes[1:])], certno=CERTNO)).json()
    returned = await client.http.post(
        client.url("settlement-ingest", f"/v1/settlements/{sold['settlement_id']}/returns"),
        headers=seller.headers,
        json={
            "lines": [
                {"line": 0, "sel_retn_cnt": 1, "drugtracinfo": [{"drug_trac_codg": codes[1]}]}
            ]
        },
    )
    assert returned.status_code == 200, returned.text
    drg = await client.http.post(
        client.url("settlement-ingest", "/v1/drg-settlements"),
        headers=seller.headers,
        json={
            "fixmedins_code": seller.code,
            "mdtrt_id": "ZY" + uuid.uuid4().hex[:10],
            "certno": DRG_CERTNO,
            "psn_name": NAME,
            "drg_code": "ES23",
            "los_days": 3,
            "total_cost": 5000,
            "fund_paid": 3000,
            "discharge_status": "improved",
            "discharge_date": "2026-11-20",
        },
    )
    assert drg.status_code == 202, drg.text
    for headers in (client.admin, seller.headers):
        file = await client.http.get(
            client.url("credit-scorer", f"/v1/subjects/{PRESCRIBER}/file"), headers=headers
        )
        assert file.status_code in (200, 401, 403), file.text

    last = await post(seller.headers, body(seller.code, [line(med, 1, [])]))
    assert last.status_code in (200, 202), last.text  # rejected: missing_trace_code
    await _wait_for_credit_entry(client, seller.code, last.json()["settlement_id"])
    await asyncio.sleep(0.5)  # let the consumers of the last events write whatever they log
    found = leaks(log_files(client), SECRETS)
    assert not found, "\n".join(map(str, found))


async def _wait_for_credit_entry(client: Client, code: str, settlement_id: str) -> None:
    """The last decision reached credit: the consumers have run on what came before it."""
    url = client.url("credit-scorer", f"/v1/subjects/{code}/file")
    entries: list[Any] = []
    for _ in range(100):
        response = await client.http.get(url, headers=client.admin)
        if response.status_code == 200:
            entries = response.json()["entries"]
            if any(e["detail"].get("settlement_id") == settlement_id for e in entries):
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"credit never saw {settlement_id}: {entries}")
