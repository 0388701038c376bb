"""Point-to-point delivery over real HTTP, real PostgreSQL and Kafka.

The receiver verifies signatures with its own implementation of the Standard Webhooks spec
(`webhook_receiver.verify`), and answers 2xx only to requests that verify, so "delivered"
below also means "signed correctly".
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from disclosure_publisher import delivery_store as store
from yibao.db import UnitOfWorkFactory, create_pool
from yibao.events import topics
from yibao.topology import repo_root

from tests.conftest import Infra, drop_database, service_database
from tests.integration.publisher_harness import (
    Publisher,
    eventually,
    new_secret,
    running_publisher,
    settings_for,
)
from tests.integration.webhook_receiver import Receiver, running_receiver

pytestmark = pytest.mark.integration
SERVICE_DIR: Path = repo_root() / "services" / "disclosure-publisher"


@pytest.fixture
async def publisher_db(infra: Infra) -> AsyncIterator[str]:
    name, dsn = await service_database(infra, SERVICE_DIR)
    yield dsn
    await drop_database(infra.admin_dsn, name)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver(Receiver()) as running:
        yield running


@pytest.fixture
async def publisher(infra: Infra, publisher_db: str, topic_suffix: str) -> AsyncIterator[Publisher]:
    async with running_publisher(settings_for(infra, publisher_db, topic_suffix)) as running:
        yield running


async def _endpoint(
    publisher: Publisher, receiver: Receiver, *, secret: str | None = None
) -> tuple[str, dict[str, str], str]:
    code, key = await publisher.institution()
    path = f"/hooks/{code}"
    secret = secret or new_secret()
    receiver.secrets[path] = [secret]
    response = await publisher.recipient(code, receiver.url + path, secret)
    assert response.status_code == 201, response.text
    return code, key, path


async def test_a_notice_is_signed_per_the_spec_and_delivered_once(
    publisher: Publisher, receiver: Receiver
) -> None:
    code, key, path = await _endpoint(publisher, receiver)
    await publisher.monthly("2026-10")
    await eventually(lambda: _delivered(publisher, 1))
    [seen] = receiver.for_path(path)
    assert seen.verified
    assert seen.body["fixmedins_code"] == code
    assert seen.body["kind"] == "monthly"
    assert seen.body["period"] == "2026-10"
    assert seen.msg_id == seen.body["notice_id"]
    inbox = (await publisher.http.get("/v1/inbox", headers=key)).json()
    assert [i["notice_id"] for i in inbox["items"]] == [seen.msg_id]
    assert inbox["items"][0]["delivery_state"] == "delivered"
    [event] = await publisher.events(topics.NOTICE_DELIVERED, 1)
    assert (event["notice_id"], event["attempts"], event["status_code"]) == (seen.msg_id, 1, 200)


async def _delivered(publisher: Publisher, count: int) -> bool:
    states = await publisher.deliveries()
    return sum(1 for s in states.values() if s == "delivered") >= count


async def test_a_rotated_secret_overlaps_both_secrets_verify(
    publisher: Publisher, receiver: Receiver
) -> None:
    old = new_secret()
    code, _, path = await _endpoint(publisher, receiver, secret=old)
    new = new_secret()
    response = await publisher.recipient(code, receiver.url + path, new)
    assert response.status_code == 201
    body = response.json()
    assert body["created"] is False
    assert [s["active"] for s in body["secrets"]] == [True, True]
    assert body["secrets"][0]["expires_at"] is not None
    receiver.secrets[path] = [new]  # a receiver already on the new secret …
    await publisher.monthly("2026-10")
    await eventually(lambda: _delivered(publisher, 1))
    [seen] = receiver.for_path(path)
    assert seen.verified
    receiver.secrets[path] = [old]  # … and one still on the old one: both verify
    await publisher.monthly("2026-10", version=2)
    await eventually(lambda: _delivered(publisher, 2))
    assert all(s.verified for s in receiver.for_path(path))


async def test_failures_are_retried_until_success_with_every_attempt_logged(
    publisher: Publisher, receiver: Receiver
) -> None:
    _, _, path = await _endpoint(publisher, receiver)
    receiver.behaviour = lambda _p, _id, seen: (500, {}) if seen < 3 else (200, {})
    await publisher.monthly("2026-10")
    await eventually(lambda: _delivered(publisher, 1))
    attempts = receiver.for_path(path)
    assert [s.status for s in attempts] == [500, 500, 500, 200]
    assert len({s.msg_id for s in attempts}) == 1  # webhook-id stable across retries
    notice_id = attempts[0].msg_id
    log = (
        await publisher.http.get(f"/v1/admin/notices/{notice_id}/attempts", headers=publisher.admin)
    ).json()
    assert [a["outcome"] for a in log] == ["retry", "retry", "retry", "delivered"]
    assert [a["attempt"] for a in log] == [1, 2, 3, 4]


async def test_a_receiver_down_for_a_while_gets_everything_once_after_it_returns(
    publisher: Publisher, receiver: Receiver
) -> None:
    paths = [(await _endpoint(publisher, receiver))[2] for _ in range(8)]
    down = {"yes": True}
    receiver.behaviour = lambda _p, _id, _n: (503, {}) if down["yes"] else (200, {})
    await publisher.monthly("2026-10")
    await eventually(lambda: _async_true(sum(s.status == 503 for s in receiver.seen) >= 16))
    down["yes"] = False
    await eventually(lambda: _delivered(publisher, 8))
    accepted = receiver.accepted
    assert len(accepted) == 8
    assert set(accepted.values()) == {1}
    assert all(receiver.for_path(p) for p in paths)


async def _async_true(value: bool) -> bool:
    return value


async def test_410_stops_disables_the_endpoint_and_the_inbox_still_has_it(
    publisher: Publisher, receiver: Receiver
) -> None:
    code, key, path = await _endpoint(publisher, receiver)
    receiver.behaviour = lambda _p, _id, _n: (410, {})
    await publisher.monthly("2026-10")

    async def failed() -> bool:
        return list((await publisher.deliveries()).values()) == ["failed"]

    await eventually(failed)
    endpoint = (
        await publisher.http.get(f"/v1/admin/recipients/{code}", headers=publisher.admin)
    ).json()
    assert endpoint["enabled"] is False
    assert endpoint["disabled_reason"] == "endpoint_gone"
    await publisher.monthly("2026-10", version=2)
    inbox = (await publisher.http.get("/v1/inbox", headers=key)).json()
    assert [i["seq"] for i in inbox["items"]] == [1, 2]
    assert len(receiver.for_path(path)) == 1  # nothing more was pushed after the 410
    log = await publisher.db.fetch("SELECT outcome FROM delivery_attempts")
    assert [r["outcome"] for r in log] == ["gone"]
    [event] = await publisher.events(topics.NOTICE_FAILED, 1)
    assert (event["fixmedins_code"], event["reason"]) == (code, "endpoint_gone")

    # The institution fixes its endpoint; the bureau re-registers it and replays the range.
    receiver.behaviour = lambda _p, _id, _n: (200, {})
    assert (await publisher.recipient(code, receiver.url + path, receiver.secrets[path][0])).json()[
        "enabled"
    ]
    replayed = await publisher.http.post(
        "/v1/admin/deliveries/replay",
        headers=publisher.admin,
        json={
            "since": "2020-01-01T00:00:00Z",
            "until": "2100-01-01T00:00:00Z",
            "fixmedins_code": code,
        },
    )
    assert replayed.json() == {"queued": 1}  # the failed one; version 2 was held, not failed
    await eventually(lambda: _delivered(publisher, 2))
    ids = [
        i["notice_id"] for i in (await publisher.http.get("/v1/inbox", headers=key)).json()["items"]
    ]
    assert event["notice_id"] in ids
    assert {i: receiver.accepted[i] for i in ids} == dict.fromkeys(ids, 1)


async def test_429_retry_after_is_honoured(publisher: Publisher, receiver: Receiver) -> None:
    _, _, path = await _endpoint(publisher, receiver)
    receiver.behaviour = lambda _p, _id, seen: (
        (429, {"Retry-After": "1"}) if seen == 0 else (200, {})
    )
    await publisher.monthly("2026-10")
    await eventually(lambda: _delivered(publisher, 1))
    first, second = receiver.for_path(path)
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 1.0  # the backoff alone would have been ~0.05 s


async def test_manual_replay_sends_a_delivered_notice_again_with_the_same_id(
    publisher: Publisher, receiver: Receiver
) -> None:
    _, _, path = await _endpoint(publisher, receiver)
    await publisher.monthly("2026-10")
    await eventually(lambda: _delivered(publisher, 1))
    notice_id = receiver.for_path(path)[0].msg_id
    response = await publisher.http.post(
        f"/v1/admin/notices/{notice_id}/replay", headers=publisher.admin
    )
    assert response.status_code == 200
    await eventually(lambda: _async_true(len(receiver.for_path(path)) == 2))
    assert {s.msg_id for s in receiver.for_path(path)} == {notice_id}
    missing = await publisher.http.post("/v1/admin/notices/nope/replay", headers=publisher.admin)
    assert missing.status_code == 404


async def test_bad_signatures_are_not_accepted_by_the_receiver(
    publisher: Publisher, receiver: Receiver
) -> None:
    """The control case: a receiver holding another secret refuses, so delivery keeps retrying."""
    _, _, path = await _endpoint(publisher, receiver)
    receiver.secrets[path] = [new_secret()]
    await publisher.monthly("2026-10")
    await eventually(lambda: _async_true(len(receiver.for_path(path)) >= 2))
    assert not any(s.verified for s in receiver.for_path(path))
    assert set((await publisher.deliveries()).values()) == {"pending"}


async def test_two_replicas_never_send_one_notice_twice(
    infra: Infra, publisher_db: str, topic_suffix: str, receiver: Receiver
) -> None:
    settings = settings_for(infra, publisher_db, topic_suffix, delivery_batch_size=5)
    async with running_publisher(settings) as one, running_publisher(settings) as two:
        for _ in range(40):
            await _endpoint(one, receiver)
        await two.monthly("2026-10")
        await eventually(lambda: _delivered(one, 40))
    assert len(receiver.accepted) == 40
    assert set(receiver.accepted.values()) == {1}


async def test_concurrent_claims_take_disjoint_leases(
    infra: Infra, publisher_db: str, topic_suffix: str, receiver: Receiver
) -> None:
    """Two claimers at the same instant: SKIP LOCKED + the lease give each notice to one."""
    settings = settings_for(infra, publisher_db, topic_suffix, delivery_enabled=False)
    async with running_publisher(settings) as publisher:
        for _ in range(30):
            await _endpoint(publisher, receiver)
        await publisher.monthly("2026-10")
        pool = await create_pool(settings.database_url, min_size=2, max_size=2)
        try:
            factory = UnitOfWorkFactory(pool, source="/test")

            async def claim() -> list[str]:
                async with factory() as uow:
                    claimed = await store.claim_due(uow.conn, limit=20, lease_s=600)
                    await asyncio.sleep(0.2)  # hold the row locks while the other claims
                    await uow.commit()
                return [c.notice_id for c in claimed]

            first, second = await asyncio.gather(claim(), claim())
            again = await claim()
        finally:
            await pool.close()
        everything = set(await publisher.deliveries())
    assert len(first) + len(second) == 30
    assert not set(first) & set(second)
    assert set(first) | set(second) == everything
    assert again == []  # leased rows are nobody else's until the lease lapses
    assert receiver.seen == []
