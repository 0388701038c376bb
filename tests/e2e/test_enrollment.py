"""One file per person end to end: CSV upload -> job -> links -> person file -> validator."""

from __future__ import annotations

import asyncio
import csv
import io
import random
import uuid
from datetime import date
from typing import Any

import pytest
from enrollment_matcher.domain.records import COLUMNS
from enrollment_matcher.synthetic import Population, make_certno
from yibao.embedded.demo import population_demo

from tests.e2e.conftest import Client, codes_for, line

pytestmark = pytest.mark.e2e
SERVICE = "enrollment-matcher"


def _csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


async def _until_done(client: Client, job_id: str, timeout_s: float = 120) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout_s
    body: dict[str, Any] = {}
    while asyncio.get_running_loop().time() < deadline:
        response = await client.http.get(
            client.url(SERVICE, f"/v1/admin/population/jobs/{job_id}"), headers=client.admin
        )
        assert response.status_code == 200, response.text
        body = response.json()
        if body["state"] != "running":
            return body
        await asyncio.sleep(0.3)
    raise AssertionError(f"job still running: {body}")


async def test_a_population_load_builds_person_files_that_the_validator_learns(
    client: Client,
) -> None:
    run = uuid.uuid4().hex[:6]
    population = Population(200, seed=random.randrange(10**6))
    rows = [{**r, "record_id": f"{run}-{r['record_id']}"} for r in population.records()]
    birth = date(1950 + random.randrange(40), 1 + random.randrange(12), 1 + random.randrange(28))
    certno = make_certno("150302", birth, "1", random.Random())
    ours = [
        {
            "record_id": f"{run}-ins",
            "source": "insurance",
            "certno": certno,
            "psn_name": "张建国",
            "gender": "1",
            "birth_date": birth.isoformat(),
            "hukou_admdvs": "150302001002",
            "status": "insured_local",
            "status_date": "2026-01-05",
            "record_date": "2026-01-05",
        },
        {
            "record_id": f"{run}-pol",
            "source": "public_security",
            "certno": f" {certno.lower()} ",
            "psn_name": "張建國",
            "hukou_admdvs": "150302001002",
            "record_date": "2025-03-01",
        },
        {
            "record_id": f"{run}-civ",
            "source": "civil_affairs",
            "certno": certno,
            "psn_name": "张 建国",
            "status": "deceased",
            "status_date": "2026-10-01",
        },
        {"record_id": f"{run}-bad", "source": "tax", "gender": "male"},
    ]
    response = await client.http.post(
        client.url(SERVICE, "/v1/admin/population/records"),
        headers={**client.admin, "Content-Type": "text/csv"},
        content=_csv(rows + ours),
    )
    assert response.status_code == 202, response.text
    job = await _until_done(client, response.json()["job_id"])
    assert job["state"] == "done"
    assert job["rows"] == len(rows) + len(ours)
    assert job["rejected"] >= 1

    errors = await client.http.get(client.url(SERVICE, job["errors_url"]), headers=client.admin)
    assert errors.status_code == 200
    report = list(csv.DictReader(io.StringIO(errors.text)))
    ours_bad = [r for r in report if r["record_id"] == f"{run}-bad"]
    assert {r["field"] for r in ours_bad} == {"source", "gender"}
    assert {r["line"] for r in ours_bad} == {str(len(rows) + len(ours) + 1)}

    links = await client.http.get(
        client.url(SERVICE, "/v1/admin/population/links"), headers=client.admin
    )
    assert links.status_code == 200
    assert links.headers["content-type"].startswith("text/csv")
    resolution = {r["record_id"]: r["person_id"] for r in csv.DictReader(io.StringIO(links.text))}
    assert f"{run}-bad" not in resolution
    person_id = resolution[f"{run}-ins"]
    assert resolution[f"{run}-pol"] == resolution[f"{run}-civ"] == person_id
    truth = population.truth
    persons = {resolution[f"{run}-{rid}"] for rid in truth if f"{run}-{rid}" in resolution}
    assert len(persons) <= len(population.people) * 1.05

    file = await client.http.get(
        client.url(SERVICE, f"/v1/persons/{person_id}"), headers=client.admin
    )
    assert file.status_code == 200, file.text
    body = file.json()
    assert (body["status"], body["reason"], body["deceased"]) == ("uninsured", "deceased", True)
    assert body["certno"] == certno[:4] + "*" * 10 + certno[-4:]
    assert body["psn_name"] == "张**"
    assert {r["record_id"] for r in body["records"]} == {f"{run}-ins", f"{run}-pol", f"{run}-civ"}
    assert all(certno not in str(r) for r in body["records"])
    assert {link["evidence"]["rule"] for link in body["links"]} <= {
        "new",
        "certno",
        "probabilistic",
    }
    assert "created" in [h["kind"] for h in body["history"]]

    revealed = await client.http.get(
        client.url(SERVICE, f"/v1/persons/{person_id}?reveal=true"), headers=client.admin
    )
    assert revealed.json()["certno"] == certno

    missing = await client.http.get(client.url(SERVICE, "/v1/persons/nobody"), headers=client.admin)
    assert missing.status_code == 404
    assert missing.json()["code"] == "person_not_found"
    assert (
        await client.http.get(client.url(SERVICE, f"/v1/persons/{person_id}"))
    ).status_code == 401

    ledgers = await client.http.get(
        client.url(SERVICE, "/v1/admin/enrollment/ledgers?admdvs=1503&level=county"),
        headers=client.admin,
    )
    assert ledgers.status_code == 200
    area = {a["admdvs"]: a for a in ledgers.json()["areas"]}["150302"]
    assert area["deceased"] >= 1
    uninsured = await client.http.get(
        client.url(SERVICE, "/v1/admin/enrollment/uninsured?admdvs=150302"), headers=client.admin
    )
    assert uninsured.status_code == 200
    assert person_id not in [p["person_id"] for p in uninsured.json()["items"]]  # deceased

    pharmacy = await client.register()
    med, prefix = await client.load_product(units=24, split=False)
    codes = codes_for(prefix, 40)
    await client.stock(pharmacy, med, codes)
    stock = iter(codes)
    hits: list[str] = []
    for _ in range(50):  # the validator learns from enrollment.status-changed.v1
        sale = (await client.sell(pharmacy, [line(med, 1, [next(stock)])], certno=certno)).json()
        hits = [h["rule"] for h in sale["hits"]]
        if "person_not_eligible" in hits:
            break
        await asyncio.sleep(0.3)
    assert "person_not_eligible" in hits


async def test_single_records_link_at_once_and_redelivery_changes_nothing(client: Client) -> None:
    run = uuid.uuid4().hex[:6]
    birth = date(1960 + random.randrange(30), 1 + random.randrange(12), 1 + random.randrange(28))
    certno = make_certno("150303", birth, "2", random.Random())
    record = {
        "record_id": f"{run}-1",
        "source": "insurance",
        "certno": certno,
        "psn_name": "李秀英",
        "status": "lapsed",
        "status_date": date.today().replace(month=1, day=1).isoformat(),
    }
    url = client.url(SERVICE, "/v1/admin/population/record")
    first = await client.http.post(url, headers=client.admin, json=record)
    assert first.status_code == 200, first.text
    assert first.json()["created"] is True
    again = await client.http.post(url, headers=client.admin, json=record)
    assert again.json()["duplicate"] is True
    assert again.json()["person_id"] == first.json()["person_id"]
    second = await client.http.post(
        url,
        headers=client.admin,
        json={"record_id": f"{run}-2", "source": "health", "certno": certno, "psn_name": "李秀英"},
    )
    assert second.json()["person_id"] == first.json()["person_id"]
    assert second.json()["evidence"]["rule"] == "certno"
    bad = await client.http.post(
        url, headers=client.admin, json={"record_id": "x", "source": "tax"}
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_record"
    person = await client.http.get(
        client.url(SERVICE, f"/v1/persons/{first.json()['person_id']}"), headers=client.admin
    )
    assert (person.json()["status"], person.json()["reason"]) == ("uninsured", "personal")
    assert "lapsed_this_year" in person.json()["target_groups"]


async def test_an_upload_without_the_header_is_a_422(client: Client) -> None:
    response = await client.http.post(
        client.url(SERVICE, "/v1/admin/population/records"),
        headers={**client.admin, "Content-Type": "text/csv"},
        content=b"record_id,source\nR1,health\n",
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_csv_header"


async def test_the_make_run_demo_loads_a_population(
    client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    await population_demo(client.http, client.url(SERVICE, ""), client.admin)
    printed = capsys.readouterr().out
    assert "person files" in printed
    assert "enrollment rate" in printed
