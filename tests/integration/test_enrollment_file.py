"""The person file on a real PostgreSQL: bulk vs single records, redelivery, events, splits."""

from __future__ import annotations

import csv
import io
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import orjson
import pytest
from enrollment_matcher.domain.linker import Thresholds, blocking_keys
from enrollment_matcher.domain.records import COLUMNS, Record, parse_row
from enrollment_matcher.handlers import RejectedRecord, build_handlers
from enrollment_matcher.jobs import JobWorker, UploadError, start_upload
from enrollment_matcher.person_file import FileConfig, PersonFile, PersonFileError
from enrollment_matcher.synthetic import Population
from enrollment_matcher.vault import Vault
from yibao.db import UnitOfWorkFactory, create_pool
from yibao.events import Envelope, PopulationRecordReceived, topics
from yibao.pii import FieldCipher

from tests.conftest import Infra, drop_database, service_database

SERVICE_DIR = Path(__file__).parents[2] / "services" / "enrollment-matcher"
TODAY = date(2026, 11, 30)
SECRET = "test-pii-key"


@dataclass
class Stack:
    uow: UnitOfWorkFactory
    file: PersonFile
    worker: JobWorker
    vault: Vault


async def _stack(infra: Infra) -> AsyncIterator[Stack]:
    name, dsn = await service_database(infra, SERVICE_DIR)
    pool = await create_pool(dsn, min_size=1, max_size=4)
    vault = Vault(SECRET)
    file = PersonFile(
        vault,
        FileConfig(Thresholds(), "1503"),
        clock=lambda: datetime(2026, 11, 30, tzinfo=UTC),
    )
    uow = UnitOfWorkFactory(pool, source="/test")
    worker = JobWorker(uow, file, vault, today=lambda: TODAY, chunk_size=500)
    try:
        yield Stack(uow, file, worker, vault)
    finally:
        await pool.close()
        await drop_database(infra.admin_dsn, name)


@pytest.fixture
async def stack(infra: Infra) -> AsyncIterator[Stack]:
    async for s in _stack(infra):
        yield s


@pytest.fixture
async def other_stack(infra: Infra) -> AsyncIterator[Stack]:
    async for s in _stack(infra):
        yield s


def _csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


async def _chunks(data: bytes, size: int = 4096) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def _load(stack: Stack, rows: list[dict[str, str]]) -> str:
    job_id = await start_upload(stack.uow, stack.vault, _chunks(_csv(rows)))
    while await stack.worker.step():
        pass
    return job_id


async def _partition(stack: Stack) -> set[frozenset[str]]:
    async with stack.uow() as uow:
        rows = await uow.conn.fetch("SELECT record_id, person_id FROM population_records")
    groups: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        groups[r["person_id"]].add(r["record_id"])
    return {frozenset(g) for g in groups.values()}


async def _events(stack: Stack) -> list[dict[str, object]]:
    async with stack.uow() as uow:
        rows = await uow.conn.fetch("SELECT payload FROM outbox ORDER BY id")
    return [orjson.loads(bytes(r["payload"])) for r in rows]


def _record(**fields: str) -> Record:
    base = {"source": "insurance", "gender": "1", "hukou_admdvs": "150302001002"}
    parsed = parse_row({**base, **fields}, today=TODAY)
    assert isinstance(parsed, Record), parsed
    return parsed


async def _ingest(stack: Stack, *records: Record) -> int:
    async with stack.uow() as uow:
        outcomes = await stack.file.ingest(uow, list(records))
        await uow.commit()
    return len(outcomes)


async def test_bulk_load_and_record_by_record_give_the_same_persons(
    stack: Stack, other_stack: Stack
) -> None:
    population = Population(300, seed=5)
    rows = list(population.records())
    await _load(stack, rows)
    async with other_stack.uow() as uow:  # the same weights, so only the path differs
        await other_stack.file.refit(
            uow, [r for r in (parse_row(x, today=TODAY) for x in rows) if isinstance(r, Record)]
        )
        await uow.commit()
    for row in rows:
        record = parse_row(row, today=TODAY)
        if isinstance(record, Record):  # the bulk load rejected the same rows
            await _ingest(other_stack, record)
    bulk, single = await _partition(stack), await _partition(other_stack)
    assert bulk == single
    truth: dict[int, set[str]] = defaultdict(set)
    for rid, person in population.truth.items():
        truth[person].add(rid)
    exact = len(bulk & {frozenset(g) for g in truth.values()})
    assert exact >= 0.97 * len(truth)


async def test_a_job_reports_progress_and_each_rejected_row(stack: Stack) -> None:
    good = {c: "" for c in COLUMNS} | {"record_id": "G1", "source": "health", "psn_name": "张三"}
    bad = {c: "" for c in COLUMNS} | {"record_id": "B1", "source": "tax", "gender": "x"}
    job_id = await _load(stack, [good, bad])
    async with stack.uow() as uow:
        job = await uow.conn.fetchrow("SELECT * FROM population_jobs WHERE job_id = $1", job_id)
        errors = await uow.conn.fetch("SELECT * FROM job_errors WHERE job_id = $1", job_id)
        staged = await uow.conn.fetchval("SELECT count(*) FROM job_rows")
    assert job is not None
    assert (job["state"], job["rows"], job["rejected"], job["processed"]) == ("done", 2, 1, 1)
    assert [(e["line_no"], e["record_id"]) for e in errors] == [(3, "B1")]
    assert {e["field"] for e in errors[0]["errors"]} == {"source", "gender"}
    assert staged == 0


async def test_an_upload_without_the_contract_header_is_refused(stack: Stack) -> None:
    with pytest.raises(UploadError) as caught:
        await start_upload(stack.uow, stack.vault, _chunks(b"record_id,source\nR1,health\n"))
    assert caught.value.code == "invalid_csv_header"


async def test_an_upload_that_is_not_utf8_fails_its_job(stack: Stack) -> None:
    rows = [
        {c: "" for c in COLUMNS} | {"record_id": f"R{i}", "source": "health"} for i in range(500)
    ]
    body = _csv(rows)  # several chunks: the bad bytes arrive after the job has started
    with pytest.raises(UploadError) as caught:
        await start_upload(stack.uow, stack.vault, _chunks(body + "张三".encode("gb18030")))
    assert caught.value.code == "invalid_csv_encoding"
    async with stack.uow() as uow:
        state = await uow.conn.fetchval("SELECT state FROM population_jobs")
    assert state == "failed"
    async with stack.uow() as uow:
        assert await uow.conn.fetchval("SELECT count(*) FROM job_rows") == 0


async def test_a_redelivered_record_is_a_no_op(stack: Stack) -> None:
    record = _record(
        record_id="R1",
        certno="150302199001011231",
        psn_name="张三",
        status="insured_local",
        status_date="2026-01-01",
    )
    assert await _ingest(stack, record) == 1
    events = await _events(stack)
    assert await _ingest(stack, record) == 0
    assert await _events(stack) == events
    assert len(await _partition(stack)) == 1


async def test_status_events_only_on_real_changes(stack: Stack) -> None:
    certno = "150302199001011231"
    await _ingest(
        stack,
        _record(
            record_id="A",
            certno=certno,
            psn_name="张三",
            status="insured_local",
            status_date="2026-01-01",
        ),
    )
    first = await _events(stack)
    assert [e["status"] for e in first] == ["insured_local"]
    assert first[0]["psn_keys"] == [stack.vault.id_key(certno)]
    await _ingest(stack, _record(record_id="B", certno=certno, psn_name="張三", source="health"))
    assert len(await _events(stack)) == 1  # a new record, the same standing: nothing to say
    await _ingest(
        stack,
        _record(
            record_id="C",
            certno=certno,
            psn_name="张三",
            source="civil_affairs",
            status="deceased",
            status_date="2026-06-01",
        ),
    )
    events = await _events(stack)
    assert len(events) == 2
    assert (events[1]["status"], events[1]["reason"], events[1]["deceased"]) == (
        "uninsured",
        "deceased",
        True,
    )
    assert events[1]["previous_status"] == "insured_local"
    assert events[1]["person_id"] == events[0]["person_id"]
    async with stack.uow() as uow:
        rows = await uow.conn.fetch(
            "SELECT kind, detail FROM person_history WHERE person_id = $1 ORDER BY id",
            events[0]["person_id"],
        )
    standing = [
        (r["detail"]["from"], r["detail"]["status"], r["detail"]["reason"])
        for r in rows
        if r["kind"] == "status"
    ]
    assert standing == [(None, "insured_local", None), ("insured_local", "uninsured", "deceased")]
    assert rows[0]["kind"] == "created"


async def test_a_corrected_record_relinks(stack: Stack) -> None:
    await _ingest(stack, _record(record_id="A", certno="150302199001011231", psn_name="张三"))
    await _ingest(stack, _record(record_id="B", certno="150302198001011237", psn_name="李四"))
    await _ingest(stack, _record(record_id="X", certno="150302199001011231", psn_name="张三"))
    assert frozenset({"A", "X"}) in await _partition(stack)
    corrected = _record(record_id="X", certno="150302198001011237", psn_name="李四")
    await _ingest(stack, corrected)
    assert await _partition(stack) == {frozenset({"A"}), frozenset({"B", "X"})}
    async with stack.uow() as uow:  # the old version's blocking keys went with it
        kept = await uow.conn.fetchval("SELECT count(*) FROM match_keys WHERE record_id = 'X'")
    assert kept == len(blocking_keys(corrected))


async def _fit(stack: Stack) -> None:
    """Weights fitted on a synthetic population, as a first bulk load would leave them."""
    sample = [parse_row(x, today=TODAY) for x in Population(300, seed=9).records()]
    async with stack.uow() as uow:
        await stack.file.refit(uow, [r for r in sample if isinstance(r, Record)])
        await uow.commit()


async def test_a_wrong_merge_is_split_back_and_stays_apart(stack: Stack) -> None:
    await _fit(stack)
    await _ingest(stack, _record(record_id="P1", psn_name="王芳", birth_date="1980-01-01"))
    await _ingest(
        stack, _record(record_id="P2", psn_name="王芳", birth_date="1980-01-01", source="health")
    )
    async with stack.uow() as uow:
        person = await uow.conn.fetchval(
            "SELECT person_id FROM population_records WHERE record_id = 'P1'"
        )
    assert await _partition(stack) == {frozenset({"P1", "P2"})}
    async with stack.uow() as uow:
        fresh = await stack.file.split(uow, person, ["P2"], by="clerk")
        await uow.commit()
    assert await _partition(stack) == {frozenset({"P1"}), frozenset({"P2"})}
    # A record matching both strongly may link to one of them but must not merge them again.
    await _ingest(
        stack, _record(record_id="P3", psn_name="王芳", birth_date="1980-01-01", source="education")
    )
    parts = await _partition(stack)
    assert len(parts) == 2
    async with stack.uow() as uow:
        kinds = [
            r["kind"]
            for r in await uow.conn.fetch(
                "SELECT kind FROM person_history WHERE person_id = ANY($1::text[]) ORDER BY id",
                [person, fresh],
            )
        ]
    assert "split" in kinds
    assert "split_from" in kinds
    with pytest.raises(PersonFileError):
        async with stack.uow() as uow:
            await stack.file.split(
                uow,
                person,
                ["P1", "P3"] if frozenset({"P1", "P3"}) in parts else ["P1"],
                by="clerk",
            )
    async with stack.uow() as uow:
        merged = await stack.file.merge(uow, person, fresh, by="clerk")
        await uow.commit()
    assert merged == min(person, fresh)
    assert await _partition(stack) == {frozenset({"P1", "P2", "P3"})}


async def test_an_unknown_person_cannot_be_split(stack: Stack) -> None:
    with pytest.raises(PersonFileError) as caught:
        async with stack.uow() as uow:
            await stack.file.split(uow, str(uuid.uuid4()), ["x"], by="clerk")
    assert caught.value.code == "person_not_found"


async def test_the_consumer_links_records_from_the_bus_and_refuses_bad_ones(stack: Stack) -> None:
    cipher = FieldCipher(SECRET)
    handler = build_handlers(stack.file, cipher)[topics.POPULATION_RECORD_RECEIVED]

    def envelope(record_id: str, source: str) -> Envelope:
        event = PopulationRecordReceived(
            record_id=record_id,
            source=source,  # type: ignore[arg-type]  # a literal in the model, str here
            certno_cipher=cipher.encrypt("150302199001011231"),
            psn_name_cipher=cipher.encrypt("张三"),
            status="insured_local",
            status_date=date(2026, 3, 1),
            received_at=datetime.now(UTC),
        )
        return Envelope(
            type=topics.POPULATION_RECORD_RECEIVED, source="/t", subject=record_id, data=event
        )

    async with stack.uow() as uow:
        await handler.handle([envelope("E1", "insurance"), envelope("E2", "health")], uow)
        await uow.commit()
    assert await _partition(stack) == {frozenset({"E1", "E2"})}
    good = envelope("E3", "insurance")
    bad = Envelope(
        type=good.type,
        source=good.source,
        subject=good.subject,
        data=good.data.model_copy(update={"hukou_admdvs": "15"}),
    )
    async with stack.uow() as uow:
        with pytest.raises(RejectedRecord):
            await handler.handle([bad], uow)


async def test_clerks_decide_review_items_by_splitting_or_merging(stack: Stack) -> None:
    await _fit(stack)
    eager = PersonFile(stack.vault, FileConfig(Thresholds(review_high=1.0), "1503"))
    shy = PersonFile(stack.vault, FileConfig(Thresholds(link=1.01, review_low=0.0), "1503"))
    async with stack.uow() as uow:
        await eager.ingest(uow, [_record(record_id="A", psn_name="周杰", birth_date="1979-01-18")])
        linked = await eager.ingest(
            uow, [_record(record_id="B", psn_name="周杰", birth_date="1979-01-18", source="health")]
        )
        await shy.ingest(
            uow,
            [_record(record_id="C", psn_name="周杰", birth_date="1979-01-18", source="justice")],
        )
        await uow.commit()
    assert linked[0].review is not None  # every probabilistic link is queued by `eager`
    assert await _partition(stack) == {frozenset({"A", "B"}), frozenset({"C"})}
    async with stack.uow() as uow:
        items = {
            r["record_id"]: r["review_id"]
            for r in await uow.conn.fetch(
                "SELECT record_id, review_id FROM review_queue WHERE state = 'open'"
            )
        }
    async with stack.uow() as uow:
        await stack.file.decide_review(uow, items["B"], link=False, by="clerk")
        await uow.commit()
    assert await _partition(stack) == {frozenset({"A"}), frozenset({"B"}), frozenset({"C"})}
    async with stack.uow() as uow:
        await stack.file.decide_review(uow, items["C"], link=True, by="clerk")
        await uow.commit()
    parts = await _partition(stack)
    assert frozenset({"B"}) in parts
    assert len(parts) == 2
    with pytest.raises(PersonFileError) as caught:
        async with stack.uow() as uow:
            await stack.file.decide_review(uow, items["C"], link=True, by="clerk")
    assert caught.value.code == "review_not_open"
