"""Consumed events: departments' population records arriving on the bus."""

from __future__ import annotations

from datetime import UTC, datetime

from yibao.bus.consumer import Batched
from yibao.db import UnitOfWork
from yibao.events import Envelope, PopulationRecordReceived, topics
from yibao.pii import FieldCipher

from enrollment_matcher.domain.records import Record, parse_row
from enrollment_matcher.person_file import PersonFile


class RejectedRecord(ValueError):
    """A record event whose fields cannot be a record (it goes to the DLQ with the reasons)."""


def build_handlers(file: PersonFile, cipher: FieldCipher) -> dict[str, Batched]:
    """One batched handler: a fetched batch of records is linked in one matching pass."""

    def record_of(event: PopulationRecordReceived) -> Record:
        row = {
            "record_id": event.record_id,
            "source": event.source,
            "certno": cipher.decrypt(event.certno_cipher) if event.certno_cipher else "",
            "psn_name": cipher.decrypt(event.psn_name_cipher) if event.psn_name_cipher else "",
            "gender": event.gender or "",
            "birth_date": event.birth_date.isoformat() if event.birth_date else "",
            "hukou_admdvs": event.hukou_admdvs or "",
            "record_date": event.record_date.isoformat() if event.record_date else "",
            "status": event.status or "",
            "status_date": event.status_date.isoformat() if event.status_date else "",
        }
        parsed = parse_row(row, today=datetime.now(UTC).date())
        if not isinstance(parsed, Record):
            raise RejectedRecord("; ".join(f"{p.field}: {p.reason}" for p in parsed))
        return parsed

    async def handle(envelopes: list[Envelope], uow: UnitOfWork) -> None:
        records = []
        for envelope in envelopes:
            assert isinstance(envelope.data, PopulationRecordReceived)
            records.append(record_of(envelope.data))
        await file.ingest(uow, records)

    return {topics.POPULATION_RECORD_RECEIVED: Batched(handle)}
