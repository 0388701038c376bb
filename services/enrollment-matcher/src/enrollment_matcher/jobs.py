"""Bulk loads: the upload is streamed into a staging table, a worker links it chunk by chunk.

Staging first means the HTTP request ends when the file is received (202 and a job id),
progress survives a restart (the worker resumes from the staged rows left), and any
replica's worker can take the next chunk: the matching lock keeps them in file order.
Staged rows are encrypted like everything else that names a person.
"""

from __future__ import annotations

import codecs
import csv
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date

import orjson
from yibao.db import UnitOfWorkFactory
from yibao.events.envelope import new_event_id
from yibao.worker import WorkLoop

from enrollment_matcher import repository as repo
from enrollment_matcher.domain.records import COLUMNS, Record, parse_row
from enrollment_matcher.metrics import JOB_ROWS, MATCH_DURATION
from enrollment_matcher.person_file import PersonFile
from enrollment_matcher.vault import Vault

log = logging.getLogger(__name__)
STAGE_BATCH = 5000


class UploadError(Exception):
    """The upload cannot become a job (header, encoding)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


async def csv_rows(chunks: AsyncIterator[bytes]) -> AsyncIterator[list[str]]:
    """Parse a streamed UTF-8 CSV row by row (quoted fields may hold newlines)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    pending = ""
    offset = 0

    def complete(text: str) -> tuple[list[str], str]:
        # A trailing "\r" may be half of a "\r\n" split across chunks: hold it back.
        held = text.endswith("\r")
        lines = (text[:-1] if held else text).splitlines(keepends=True)
        ready: list[str] = []
        carry = ""
        for line in lines:
            carry += line
            if carry.count('"') % 2 == 0 and carry.endswith(("\n", "\r")):
                ready.append(carry)
                carry = ""
        return ready, carry + ("\r" if held else "")

    async for chunk in chunks:
        try:
            pending += decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            raise UploadError(
                "invalid_csv_encoding",
                f"The file is not valid UTF-8 near byte {offset + exc.start}.",
            ) from exc
        offset += len(chunk)
        ready, pending = complete(pending)
        for row in csv.reader(ready):
            if row:  # a blank line is not a record
                yield row
    try:
        pending += decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise UploadError(
            "invalid_csv_encoding", "The file ends inside a UTF-8 character."
        ) from exc
    if pending.strip():
        for row in csv.reader([pending]):
            if row:
                yield row


async def start_upload(
    uow_factory: UnitOfWorkFactory, vault: Vault, chunks: AsyncIterator[bytes]
) -> str:
    """Stage a CSV upload; returns the job id once every row is stored."""
    rows = csv_rows(chunks)
    header = [h.strip().lower() for h in await anext(rows, [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise UploadError("invalid_csv_header", "Missing columns: " + ", ".join(missing) + ".")
    positions = [header.index(c) for c in COLUMNS]
    job_id = new_event_id()
    async with uow_factory() as uow:
        await repo.create_job(uow.conn, job_id)
        await uow.commit()
    count = 0
    lines: list[int] = []
    staged: list[str] = []
    try:
        async for row in rows:
            count += 1
            values = [row[i] if i < len(row) else "" for i in positions]
            lines.append(count + 1)  # the header is line 1
            staged.append(vault.encrypt(orjson.dumps(values).decode()))
            if len(staged) >= STAGE_BATCH:
                await _stage(uow_factory, job_id, lines, staged)
                lines, staged = [], []
        if staged:
            await _stage(uow_factory, job_id, lines, staged)
    except UploadError as exc:
        async with uow_factory() as uow:
            await repo.fail_job(uow.conn, job_id, exc.detail)
            await uow.commit()
        raise
    async with uow_factory() as uow:
        await repo.finish_upload(uow.conn, job_id, count)
        await uow.commit()
    return job_id


async def _stage(
    uow_factory: UnitOfWorkFactory, job_id: str, lines: list[int], rows: list[str]
) -> None:
    async with uow_factory() as uow:
        await repo.stage_rows(uow.conn, job_id, lines, rows)
        await uow.commit()


@dataclass
class JobWorker:
    """Links staged rows, one chunk per transaction, refitting weights at a job's start."""

    uow_factory: UnitOfWorkFactory
    file: PersonFile
    vault: Vault
    today: Callable[[], date]
    chunk_size: int = 2000
    fit_sample: int = 20_000
    poll_interval_s: float = 1.0

    def __post_init__(self) -> None:
        self._loop = WorkLoop("population job worker", idle_s=self.poll_interval_s)
        self.wake = self._loop.wake

    def stop(self) -> None:
        """Finish the chunk in hand, then exit."""
        self._loop.stop()

    async def run(self) -> None:
        """Work while there are jobs; sleep until woken or the poll interval passes."""
        await self._loop.run(self.step)

    async def step(self) -> bool:
        """Link one chunk of the oldest job; False when there was nothing to do."""
        async with self.uow_factory() as uow:
            job_id = await repo.next_job(uow.conn)
        if job_id is None:
            return False
        try:
            await self._chunk(job_id)
        except Exception as exc:
            async with self.uow_factory() as uow:
                await repo.fail_job(uow.conn, job_id, f"linking failed: {type(exc).__name__}")
                await uow.commit()
            raise
        return True

    def _parse(
        self, rows: list[tuple[int, str]]
    ) -> tuple[list[Record], list[tuple[int, str, list[dict[str, str]]]]]:
        records: list[Record] = []
        errors: list[tuple[int, str, list[dict[str, str]]]] = []
        today = self.today()
        for line_no, token in rows:
            values = orjson.loads(self.vault.decrypt(token))
            parsed = parse_row(dict(zip(COLUMNS, values, strict=True)), today=today)
            if isinstance(parsed, Record):
                records.append(parsed)
            else:
                errors.append(
                    (
                        line_no,
                        values[0][:64],
                        [{"field": p.field, "reason": p.reason} for p in parsed],
                    )
                )
        return records, errors

    async def _chunk(self, job_id: str) -> None:
        async with self.uow_factory() as uow:
            await repo.lock_matching(uow.conn)
            job = await repo.job(uow.conn, job_id)
            if job is None or job["state"] != "running":
                return
            if job["processed"] == 0 and job["rejected"] == 0:
                sample = await repo.staged(uow.conn, job_id, self.fit_sample)
                records, _ = self._parse([(r["line_no"], r["row"]) for r in sample])
                await self.file.refit(uow, records)
            staged = await repo.staged(uow.conn, job_id, self.chunk_size)
            records, errors = self._parse([(r["line_no"], r["row"]) for r in staged])
            with MATCH_DURATION.labels("bulk").time():
                await self.file.ingest(uow, records)
            await repo.add_job_errors(uow.conn, job_id, errors)
            if staged:
                await repo.unstage(uow.conn, job_id, staged[-1]["line_no"])
            await repo.advance_job(
                uow.conn, job_id, len(records), len(errors), done=len(staged) < self.chunk_size
            )
            await uow.commit()
        JOB_ROWS.labels("accepted").inc(len(records))
        JOB_ROWS.labels("rejected").inc(len(errors))
