"""Faults during a steady stream: every service SIGKILLed and restarted, the broker frozen
for 10 s, PostgreSQL restarted, poison on every consumed topic. Then the books must balance:
every accepted request has exactly one outcome — "0 lost, 0 duplicated".
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from yibao.calendar import bureau_period
from yibao.embedded.platform import Platform
from yibao.events import topics
from yibao.topology import SERVICES

from tests.e2e.conftest import Client, Pharmacy, codes_for, line
from tests.faults import poison
from tests.faults.load import Ledger, Outage, Stream
from tests.faults.reconcile import (
    accounting_table,
    drg_row,
    event_ids_by_key,
    movements_row,
    population_row,
    sales_row,
    server_errors_outside_outages,
)

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

PHARMACIES = 3
CODES_PER_PHARMACY = 150
BROKER_PAUSE_S = 10.0
RECOVERY_GRACE_S = 10.0
"""After an outage ends, answers may still be 5xx for this long (reconnects, pool refill)."""
SETTLE_TIMEOUT_S = 90.0


async def _faults(platform: Platform, ledger: Ledger) -> None:
    """One fault after another, each recorded as an outage window."""
    await asyncio.sleep(3)
    for spec in SERVICES:
        async with Outage(ledger, f"kill {spec.name}"):
            platform.stop_service(spec.name, signal.SIGKILL)
            await asyncio.sleep(1)
            await platform.wait_ready(platform.start_service(spec))
        await asyncio.sleep(2)
    assert platform.kafka is not None
    assert platform.postgres is not None
    async with Outage(ledger, "broker paused"):
        await asyncio.to_thread(platform.kafka.pause)
        await asyncio.sleep(BROKER_PAUSE_S)
        platform.kafka.resume()
    await asyncio.sleep(3)
    async with Outage(ledger, "postgres restarted"):
        await asyncio.to_thread(platform.postgres.stop)
        await asyncio.sleep(1)
        await asyncio.to_thread(platform.postgres.start)
        await asyncio.gather(*(platform.wait_ready(s) for s in platform.services.values()))
    await asyncio.sleep(3)


async def _finals(
    client: Client, ledger: Ledger, timeout_s: float = SETTLE_TIMEOUT_S
) -> dict[str, str]:
    """Poll every accepted sale (bounded) until it leaves `deciding`."""
    pending = {next(iter(r.ids)): r.caller for r in ledger.of("sale") if r.accepted}
    finals: dict[str, str] = {}
    deadline = time.monotonic() + timeout_s
    while pending and time.monotonic() < deadline:
        ids = list(pending)
        bodies: list[Any] = await asyncio.gather(
            *(
                client.http.get(
                    client.url("settlement-ingest", f"/v1/settlements/{sid}"),
                    headers=pending[sid].headers,
                )
                for sid in ids
            )
        )
        for sid, response in zip(ids, bodies, strict=True):
            status = response.json().get("status") if response.status_code == 200 else None
            if status not in (None, "deciding"):
                finals[sid] = status
                del pending[sid]
        if pending:
            await asyncio.sleep(0.5)
    return finals


async def _stocked(
    client: Client, med: str, prefix: str
) -> tuple[list[Pharmacy], dict[str, list[str]]]:
    """Pharmacies with boxes in stock, each box to be sold once."""
    pharmacies = [await client.register() for _ in range(PHARMACIES)]
    stock = {}
    for pharmacy in pharmacies:
        codes = codes_for(prefix, CODES_PER_PHARMACY)
        await client.stock(pharmacy, med, codes)
        stock[pharmacy.code] = codes
    return pharmacies, stock


async def test_faults_lose_nothing_and_decide_nothing_twice(fault_platform: Platform) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        client = Client(fault_platform, http)
        med, prefix = await client.load_product(units=10, split=False)
        pharmacies, stock = await _stocked(client, med, prefix)
        hospital = await client.register("hospital")
        ledger = Ledger()
        stream = Stream(
            http=http,
            ingest_url=client.url("settlement-ingest", ""),
            pharmacies=pharmacies,
            hospital=hospital,
            med=med,
            stock=stock,
            fresh_codes=codes_for(prefix, 400),
            ledger=ledger,
            enrollment_url=client.url("enrollment-matcher", ""),
            bureau=Pharmacy("bureau", client.admin),
        )
        stop = asyncio.Event()
        load = asyncio.create_task(stream.run(stop))
        try:
            await _faults(fault_platform, ledger)
        finally:
            stop.set()
            await load

        consumers = await poison.consumed_topics(fault_platform, http)
        suffix = fault_platform.topic_suffix
        bootstrap = fault_platform.kafka_bootstrap
        assert bootstrap is not None
        poisons = await poison.inject(bootstrap, consumers, suffix)

        # The consumers kept going after the poison: one more sale is decided.
        after = codes_for(prefix, 1)
        await client.stock(pharmacies[0], med, after)
        response = await client.sell(pharmacies[0], [line(med, 1, after)])
        assert response.status_code in (200, 202), response.text
        last = await client.final(pharmacies[0], response.json()["settlement_id"])
        assert last["status"] == "approved", last

        finals = await _finals(client, ledger)
        dsns = fault_platform.service_dsns
        decided = await event_ids_by_key(
            bootstrap, topics.SETTLEMENT_DECIDED + suffix, "settlement_id"
        )
        drg_events = await event_ids_by_key(
            bootstrap, topics.DRG_SETTLED + suffix, "drg_settlement_id"
        )
        rows = [
            await sales_row(ledger.of("sale"), finals, decided, dsns["settlement-ingest"]),
            await movements_row(ledger.of("movement"), dsns["tracecode-validator"]),
            await drg_row(ledger.of("drg"), drg_events, dsns["settlement-ingest"]),
            population_row(ledger.of("population"), await _links(client)),
        ]
        undelivered = await _poll_dlqs(bootstrap, poisons, suffix)
        expected = {p.code: 0 for p in pharmacies}
        expected[pharmacies[0].code] = 1  # the sale after the poison
        for request in ledger.of("sale"):
            if request.accepted and next(iter(request.ids)) in finals:
                expected[request.caller.code] += 1
        counted = await _publisher_counts(client, pharmacies, expected)

    print(
        "\nfaults:", ", ".join(f"{name} {end - began:.1f}s" for name, began, end in ledger.outages)
    )
    print(accounting_table(rows))
    tally = Counter(a.status for r in ledger.requests for a in r.answers)
    print("answers:", ", ".join(f"{k or 'no answer'}: {n}" for k, n in sorted(tally.items())))
    print(f"poison: {len(poisons)} records on {len(consumers)} topics, missing {undelivered}")

    for row in rows:
        assert row.sent > 0, row.kind
        assert not row.lost, (row.kind, row.lost[:5])
        assert not row.duplicated, (row.kind, row.duplicated[:5])
        assert not row.wrong, (row.kind, row.wrong[:5])
    assert not undelivered
    late = server_errors_outside_outages(ledger, RECOVERY_GRACE_S)
    assert not late, late[:5]
    unhinted = [
        a for r in ledger.requests for a in r.answers if a.status == 503 and not a.retry_after
    ]
    assert not unhinted, unhinted[:5]
    # The publisher applied each decision once: its counts equal the decisions made.
    assert counted == expected


async def _links(client: Client) -> list[str]:
    """The record ids of the enrollment matcher's current resolution, one line each."""
    response = await client.http.get(
        client.url("enrollment-matcher", "/v1/admin/population/links"), headers=client.admin
    )
    assert response.status_code == 200, response.text
    return [line.split(",")[0] for line in response.text.splitlines()[1:] if line]


async def _poll_dlqs(bootstrap: str, poisons: list[poison.Poison], suffix: str) -> list[str]:
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while True:
        missing = await poison.missing_from_dlqs(bootstrap, poisons, suffix)
        if not missing or time.monotonic() > deadline:
            return missing
        await asyncio.sleep(1)


async def _publisher_counts(
    client: Client, pharmacies: list[Pharmacy], expected: dict[str, int]
) -> dict[str, int]:
    """Settlements the publisher counted per pharmacy this month, once they stop moving."""
    period = bureau_period(datetime.now(UTC))
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while True:
        counts: dict[str, int] = {}
        for pharmacy in pharmacies:
            response = await client.http.get(
                client.url("disclosure-publisher", f"/v1/institutions/{pharmacy.code}/stats"),
                params={"period": period},
                headers=pharmacy.headers,
            )
            assert response.status_code == 200, response.text
            counts[pharmacy.code] = sum(s["settlements"] for s in response.json()["by_status"])
        if counts == expected or time.monotonic() > deadline:
            return counts
        await asyncio.sleep(1)
