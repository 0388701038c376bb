"""Reading a topic back in tests: every record up to its end, without a consumer group."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

READ_TIMEOUT_S = 30.0


async def read_topic(bootstrap: str, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of a topic up to its current end (no group, nothing committed)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=100,
    )
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        ends = await consumer.end_offsets(partitions)
        records: list[ConsumerRecord[bytes, bytes]] = []
        seen = dict.fromkeys(partitions, 0)
        deadline = asyncio.get_running_loop().time() + READ_TIMEOUT_S
        while any(seen[tp] < ends[tp] for tp in partitions):
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{topic}: read {seen} of {ends} in {READ_TIMEOUT_S}s")
            batches = await consumer.getmany(timeout_ms=500)
            for tp, batch in batches.items():
                records.extend(batch)
                seen[tp] = batch[-1].offset + 1
        return records
    finally:
        await consumer.stop()


def header(record: ConsumerRecord[bytes, bytes], name: str) -> str | None:
    """A record's header as text, or None when it has none of that name."""
    for key, value in record.headers:
        if key == name:
            return bytes(value).decode()
    return None
