"""The embedded runtime really starts, serves and stops PostgreSQL and a Kafka broker.

Each test owns its servers, so these run without the session fixtures and show whether
the machine can run the integration suite at all.
"""

import asyncio
import os
import shutil
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from yibao.embedded import EmbeddedKafka, EmbeddedPostgres, create_topics, ensure_database


def _group_gone(pid: int) -> bool:
    """True when neither the server nor anything it spawned in its group is left."""
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _state(pid: int) -> str:
    """The one-letter state from /proc (T = stopped by a signal)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


async def _round_trip(bootstrap: str, topic: str, *, idempotent: bool) -> None:
    await create_topics(bootstrap, [topic])
    await create_topics(bootstrap, [topic])  # already there: must be a no-op
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=idempotent
    )
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"payload", key=b"key")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"{topic}-readers",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=10,
    )
    await consumer.start()
    try:
        message = await asyncio.wait_for(consumer.getone(), timeout=30)
    finally:
        await consumer.stop()
    assert (message.key, message.value) == (b"key", b"payload")


async def test_postgres_serves_a_created_database_and_leaves_nothing(tmp_path: Path) -> None:
    postgres = EmbeddedPostgres(tmp_path / "pg", fast=True)
    admin_dsn = await asyncio.to_thread(postgres.start)
    pid = postgres.pid
    assert pid is not None
    try:
        dsn = await ensure_database(admin_dsn, "yibao_test")
        assert dsn == admin_dsn.removesuffix("/postgres") + "/yibao_test"
        assert await ensure_database(admin_dsn, "yibao_test") == dsn
        conn = await asyncpg.connect(dsn)
        try:
            assert await conn.fetchval("SELECT current_database()") == "yibao_test"
            assert await conn.fetchval("SHOW max_connections") == "200"
        finally:
            await conn.close()
    finally:
        postgres.stop()
    assert _group_gone(pid)


@pytest.mark.skipif(shutil.which("java") is None, reason="no JDK: covered by the tansu test")
async def test_kafka_round_trips_survives_a_pause_and_stops_while_paused(
    tmp_path: Path,
) -> None:
    kafka = EmbeddedKafka(tmp_path)
    bootstrap = await asyncio.to_thread(kafka.start)
    pid = kafka.pid
    assert pid is not None
    try:
        assert (kafka.flavour, kafka.supports_idempotence) == ("kafka", True)
        await _round_trip(bootstrap, "embedded.first", idempotent=True)
        kafka.pause()
        assert _state(pid) == "T"
        kafka.resume()
        await _round_trip(bootstrap, "embedded.second", idempotent=True)
        kafka.pause()
    finally:
        await asyncio.to_thread(kafka.stop)
    assert _group_gone(pid)


@pytest.mark.tansu
async def test_tansu_fallback_round_trips_and_stops(tmp_path: Path) -> None:
    kafka = EmbeddedKafka(tmp_path, prefer="tansu")
    bootstrap = await asyncio.to_thread(kafka.start)
    pid = kafka.pid
    assert pid is not None
    try:
        assert (kafka.flavour, kafka.supports_idempotence) == ("tansu", False)
        await _round_trip(bootstrap, "embedded.tansu", idempotent=False)
    finally:
        kafka.stop()
    assert _group_gone(pid)
