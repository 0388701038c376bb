"""The validator's projections of other services' events drive the person and party rules."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from yibao.events import CreditGradeChanged, EnrollmentStatusChanged, Envelope, Payload, spec_for
from yibao.pii import person_key

from tests.e2e.conftest import Client, codes_for, line

pytestmark = pytest.mark.e2e


async def _publish(client: Client, payload: Payload) -> None:
    """Send an event as its owning service would (headers + JSON), on the session's topics."""
    spec = spec_for(payload)
    envelope = Envelope(type=spec.topic, source="/test", subject=spec.key_of(payload), data=payload)
    assert client.platform.kafka_bootstrap is not None
    producer = AIOKafkaProducer(bootstrap_servers=client.platform.kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(
            spec.topic + client.platform.topic_suffix,
            payload.model_dump_json().encode(),
            key=envelope.subject.encode(),
            headers=envelope.headers(),
        )
    finally:
        await producer.stop()


async def _sell_until(sell: Callable[[], Awaitable[dict[str, Any]]], want: str) -> dict[str, Any]:
    """Projections apply asynchronously: retry a fresh sale (bounded) until the rule shows."""
    body: dict[str, Any] = {}
    for _ in range(50):
        body = await sell()
        if body["status"] == want:
            return body
        await asyncio.sleep(0.2)
    return body


async def test_a_second_supply_of_the_same_drug_is_over_frequent(client: Client) -> None:
    pharmacy = await client.register()
    med, prefix = await client.load_product(units=24, split=False)
    codes = codes_for(prefix, 2)
    await client.stock(pharmacy, med, codes)
    certno = f"1503021990{uuid.uuid4().int % 10**8:08d}"
    first = line(med, 1, codes[:1])
    first["days_supply"] = 30
    assert (await client.sell(pharmacy, [first], certno=certno)).json()["status"] == "approved"
    second = line(med, 1, codes[1:])
    second["days_supply"] = 30
    body = (await client.sell(pharmacy, [second], certno=certno)).json()
    assert body["status"] == "approved_with_warnings"
    assert [h["rule"] for h in body["hits"]] == ["over_frequent_purchase"]


async def test_grade_d_sends_sales_to_review_and_deceased_persons_are_refused(
    client: Client,
) -> None:
    pharmacy = await client.register()
    med, prefix = await client.load_product(units=24, split=False)
    codes = codes_for(prefix, 60)
    await client.stock(pharmacy, med, codes)
    stock = iter(codes)

    await _publish(
        client,
        CreditGradeChanged(
            subject_id=pharmacy.code,
            subject_type="pharmacy",
            grade="D",
            lists=["key_supervision"],
            changed_at=datetime.now(UTC),
        ),
    )

    async def sell_one() -> dict[str, Any]:
        response = await client.sell(pharmacy, [line(med, 1, [next(stock)])])
        body: dict[str, Any] = response.json()
        return body

    held = await _sell_until(sell_one, "pending_review")
    assert [h["rule"] for h in held["hits"]] == ["institution_under_review"]

    certno = "150302193001011237"
    key = person_key(certno, secret=client.platform.pii_key)
    await _publish(
        client,
        EnrollmentStatusChanged(
            person_id=str(uuid.uuid4()),
            psn_keys=[key],
            status="uninsured",
            reason="deceased",
            deceased=True,
            changed_at=datetime.now(UTC),
        ),
    )

    async def sell_to_the_deceased() -> dict[str, Any]:
        response = await client.sell(pharmacy, [line(med, 1, [next(stock)])], certno=certno)
        body: dict[str, Any] = response.json()
        return body

    refused = await _sell_until(sell_to_the_deceased, "rejected")
    assert "person_not_eligible" in [h["rule"] for h in refused["hits"]]
