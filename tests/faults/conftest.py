"""A platform of its own for the fault suite: it stops, pauses and restarts its dependencies.

The rest of the suite shares one broker and one database server; pausing those would break
every other test's fixtures, so this suite always starts an embedded PostgreSQL (fsync on:
its durability is what is exercised) and an embedded Kafka of its own, even when
`DATABASE_URL` / `KAFKA_BOOTSTRAP_SERVERS` name shared ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from yibao.embedded import free_port
from yibao.embedded.platform import Platform
from yibao.topology import SERVICES


@pytest.fixture(scope="module")
async def fault_platform(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    """The five services on a PostgreSQL and a broker this module owns."""
    stack = Platform(
        run_dir=tmp_path_factory.mktemp("faults"),
        ports={spec.name: free_port() for spec in SERVICES},
        extra_env={"INGEST_DECISION_DEADLINE_S": "2"},
    )
    try:
        await stack.start_infrastructure()
        if stack.kafka is not None and stack.kafka.flavour != "kafka":
            pytest.skip("the fault suite pauses and restarts a real Apache Kafka broker")
        await stack.start_services()
        yield stack
    finally:
        await asyncio.to_thread(stack.stop)
