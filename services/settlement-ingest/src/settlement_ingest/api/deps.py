"""FastAPI dependencies: the use-case context and the Idempotency-Key header.

They are `async def` on purpose: FastAPI runs plain `def` dependencies in a thread pool,
which showed up in the settlement path's profile for no benefit.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from yibao.problems import ProblemError

from settlement_ingest.commands import IngestContext


async def _context(request: Request) -> IngestContext:
    ctx: IngestContext = request.app.state.ingest
    return ctx


async def _idempotency_key(
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="A retry with the same key returns the same answer (幂等键)",
        ),
    ] = None,
) -> str | None:
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 128:
        raise ProblemError(
            400,
            "invalid_idempotency_key",
            "Invalid Idempotency-Key",
            "The Idempotency-Key header must be 1 to 128 characters.",
            field="Idempotency-Key",
        )
    return idempotency_key


Context = Annotated[IngestContext, Depends(_context)]
IdempotencyKey = Annotated[str | None, Depends(_idempotency_key)]
