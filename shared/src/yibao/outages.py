"""Errors that mean "a dependency is briefly unreachable", not "this input is bad".

One list for the consumer loop (retry without limit, never dead-letter) and for the HTTP
edge (503 with Retry-After, so a POS retries with its Idempotency-Key instead of treating
a database restart as a server bug).
"""

from __future__ import annotations

import asyncio

import asyncpg
from aiokafka.errors import KafkaError

DEPENDENCY_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.AdminShutdownError,
    KafkaError,
)
