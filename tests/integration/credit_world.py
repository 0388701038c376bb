"""A credit-scorer database with its migrations, and the helpers its tests share.

The tests drive credit's service layer and handlers through real units of work on a real
PostgreSQL (no relay runs, so the outbox keeps every event emitted: the tests count them).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import orjson
from credit_scorer import repository as repo
from credit_scorer.domain.sources import Finding
from credit_scorer.findings import add_findings
from credit_scorer.handlers import build_handlers
from credit_scorer.standing import CreditBook, refresh, today
from yibao.bus.consumer import AnyHandler, Batched
from yibao.db import UnitOfWorkFactory
from yibao.events import Envelope, Payload, spec_for, topics
from yibao.events.envelope import new_event_id

CREDIT_SOURCE = "/yibao/credit-scorer"


@dataclass
class CreditWorld:
    """A fresh credit database, the configuration in force, and shortcuts over both."""

    pool: asyncpg.Pool
    uow: UnitOfWorkFactory
    book: CreditBook

    async def subject(self, *, months_under_agreement: int = 24, kind: str = "hospital") -> str:
        """A registered institution, graded (by default) from its first evaluation."""
        code = "H" + uuid.uuid4().hex[:11].upper()
        on = today()
        agreement = on - timedelta(days=31 * months_under_agreement)
        async with self.uow() as uow:
            await repo.put_subject(
                uow.conn, subject_id=code, subject_type=kind, agreement_from=agreement, name=None
            )
            await refresh(uow, self.book, [code], on)
            await uow.commit()
        return code

    async def find(
        self,
        subject_id: str,
        event_type: str,
        *,
        indicator: str | None = None,
        on: date | None = None,
        source: str | None = None,
    ) -> str:
        """File a finding; returns its deduction id."""
        source = source or f"finding:{uuid.uuid4()}"
        finding = Finding(
            subject_id=subject_id,
            event_type=event_type,
            source_ref=source,
            decided_on=on or today(),
            evidence={"case": source},
            indicator_code=indicator,
        )
        async with self.uow() as uow:
            await add_findings(uow, self.book, [finding], on=today(), strict=True)
            await uow.commit()
        return (await self.rows_by_source([source]))[source]

    async def rows_by_source(self, sources: Sequence[str]) -> dict[str, str]:
        async with self.pool.acquire() as conn:
            found = await repo.deductions_by_source(conn, sources)
        return {source: row.deduction_id for source, (row, _) in found.items()}

    async def standing(self, subject_id: str) -> asyncpg.Record:
        return await self.row(
            "SELECT score, grade, tier, lists, black_until, next_change_on "
            "FROM credit_standing WHERE subject_id = $1",
            subject_id,
        )

    async def row(self, query: str, *args: object) -> asyncpg.Record:
        """One row that must exist."""
        record = await self.pool.fetchrow(query, *args)
        assert record is not None, query
        return record

    async def state(self, deduction_id: str) -> str:
        state: str = await self.pool.fetchval(
            "SELECT state FROM deductions WHERE deduction_id = $1", deduction_id
        )
        return state

    async def published(self, subject_id: str) -> list[dict[str, Any]]:
        """The credit.grade-changed.v1 payloads staged for this subject, in order."""
        rows = await self.pool.fetch(
            "SELECT payload FROM outbox WHERE topic = $1 AND key = $2 ORDER BY id",
            topics.CREDIT_GRADE_CHANGED,
            subject_id,
        )
        return [orjson.loads(r["payload"]) for r in rows]

    async def file_kinds(self, subject_id: str) -> list[str]:
        rows = await self.pool.fetch(
            "SELECT kind FROM credit_events WHERE subject_id = $1 ORDER BY recorded_at, kind",
            subject_id,
        )
        return [r["kind"] for r in rows]

    async def deliver(self, topic: str, *payloads: Payload, event_id: str | None = None) -> None:
        """Run credit's handler for `topic` on these events in one unit of work, as the
        consumer does for a batch (without its processed-events record: the tests look at
        what the handler itself makes of a repeat)."""
        handler: AnyHandler = build_handlers(self.book)[topic]
        envelopes = [
            Envelope(
                type=spec_for(p).topic,
                source="/yibao/test",
                subject=spec_for(p).key_of(p),
                data=p,
                id=event_id or new_event_id(),
            )
            for p in payloads
        ]
        async with self.uow() as uow:
            if isinstance(handler, Batched):
                await handler.handle(envelopes, uow)
            else:
                for envelope in envelopes:
                    await handler(envelope, uow)
            await uow.commit()


def utc(on: date) -> datetime:
    """Noon in Beijing on that day, as the events carry it."""
    return datetime(on.year, on.month, on.day, 4, 0, tzinfo=UTC)
