"""SQL of the person file (asyncpg, batched with `unnest`); never commits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson
from yibao.db import DbConnection

MATCH_LOCK = 5_110_001
"""One matching transaction at a time across replicas: two records of one new person
arriving together must not both create it."""


async def lock_matching(conn: DbConnection) -> int:
    """Serialise matching until the transaction ends; returns the weights' version (0: none).

    One round trip for both, because the single-record path pays for every one.
    """
    version: int | None = await conn.fetchval(
        "SELECT (SELECT max(version) FROM match_weights) FROM pg_advisory_xact_lock($1)",
        MATCH_LOCK,
    )
    return version or 0


async def weights(conn: DbConnection, version: int) -> dict[str, Any] | None:
    """One version of the fitted weights."""
    value: dict[str, Any] | None = await conn.fetchval(
        "SELECT weights FROM match_weights WHERE version = $1", version
    )
    return value


async def save_weights(conn: DbConnection, weights: dict[str, Any]) -> None:
    """Keep a new version of the weights (older versions stay for audit)."""
    await conn.execute("INSERT INTO match_weights (weights) VALUES ($1)", weights)


async def existing_hashes(conn: DbConnection, record_ids: Sequence[str]) -> dict[str, str]:
    """Content hashes of the records already on file among `record_ids`."""
    rows = await conn.fetch(
        "SELECT record_id, content_hash FROM population_records WHERE record_id = ANY($1::text[])",
        list(record_ids),
    )
    return {r["record_id"]: r["content_hash"] for r in rows}


_RECORD_COLUMNS = (
    "r.record_id, r.source, r.person_id, r.pii, r.id_state, r.id_consistent, r.gender, "
    "r.birth_date, r.hukou_admdvs, r.record_date, r.status, r.status_date"
)


async def records_by_id(conn: DbConnection, record_ids: Sequence[str]) -> list[asyncpg.Record]:
    """Records on file by id (the old versions of corrected records)."""
    return await conn.fetch(
        f"SELECT {_RECORD_COLUMNS} FROM population_records r WHERE r.record_id = ANY($1::text[])",
        list(record_ids),
    )


async def remove_records(
    conn: DbConnection, record_ids: Sequence[str], keys: Sequence[tuple[str, str]]
) -> set[str]:
    """Take records (being replaced by a corrected version) out; returns their persons.

    Their blocking keys are named by the caller (recomputed from the old versions), so the
    key table needs no index by record: one index less to maintain on every insert.
    """
    if not record_ids:
        return set()
    await conn.execute(
        "DELETE FROM match_keys m USING unnest($1::text[], $2::text[]) AS d(key, record_id) "
        "WHERE m.key = d.key AND m.record_id = d.record_id",
        [k for k, _ in keys],
        [r for _, r in keys],
    )
    rows = await conn.fetch(
        "DELETE FROM population_records WHERE record_id = ANY($1::text[]) RETURNING person_id",
        list(record_ids),
    )
    return {r["person_id"] for r in rows}


async def candidates(
    conn: DbConnection, keys: Sequence[str], max_block: int
) -> list[asyncpg.Record]:
    """Records sharing a blocking key (blocks over `max_block` skipped), with their persons.

    Written key by key (LATERAL … LIMIT) so that every plan, generic or custom, is an index
    probe per key: a join against `= ANY($1)` drifted to a scan of the whole key table.
    """
    return await conn.fetch(
        "WITH blocks AS (SELECT q.key, b.ids FROM unnest($1::text[]) AS q(key) "
        "CROSS JOIN LATERAL (SELECT array_agg(s.record_id) AS ids FROM (SELECT m.record_id "
        "FROM match_keys m WHERE m.key = q.key LIMIT $2 + 1) s) b "
        "WHERE cardinality(b.ids) <= $2) "
        f"SELECT bl.key, {_RECORD_COLUMNS}, p.psn_keys, p.apart FROM blocks bl "
        "CROSS JOIN LATERAL unnest(bl.ids) AS hit(record_id) "
        "JOIN population_records r ON r.record_id = hit.record_id "
        "JOIN persons p ON p.person_id = r.person_id",
        list(keys),
        max_block,
    )


async def person_records(conn: DbConnection, person_ids: Sequence[str]) -> list[asyncpg.Record]:
    """Every record of these persons (status is recomputed from all of them)."""
    return await conn.fetch(
        f"SELECT {_RECORD_COLUMNS}, r.id_key, r.evidence, r.received_at "
        "FROM population_records r WHERE r.person_id = ANY($1::text[]) ORDER BY r.record_id",
        list(person_ids),
    )


async def persons(conn: DbConnection, person_ids: Sequence[str]) -> dict[str, asyncpg.Record]:
    """Current person rows by id."""
    rows = await conn.fetch(
        "SELECT * FROM persons WHERE person_id = ANY($1::text[])", list(person_ids)
    )
    return {r["person_id"]: r for r in rows}


async def insert_links(
    conn: DbConnection,
    rows: Sequence[tuple[Any, ...]],
    keys: Sequence[tuple[str, str]],
    history: Sequence[tuple[str, str, dict[str, Any]]],
) -> None:
    """New records (with person and evidence), their blocking keys and history: one trip."""
    columns = [list(c) for c in zip(*rows, strict=True)]
    await conn.execute(
        "WITH recs AS (INSERT INTO population_records (record_id, source, person_id, "
        "content_hash, pii, id_key, id_state, id_consistent, gender, birth_date, hukou_admdvs, "
        "record_date, status, status_date, evidence) SELECT * FROM unnest($1::text[], "
        "$2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bool[], "
        "$9::text[], $10::date[], $11::text[], $12::date[], $13::text[], $14::date[], "
        "$15::jsonb[]) RETURNING 1), "
        "keys AS (INSERT INTO match_keys (key, record_id) SELECT * FROM unnest($16::text[], "
        "$17::text[]) ON CONFLICT DO NOTHING RETURNING 1) "
        "INSERT INTO person_history (person_id, kind, detail) "
        "SELECT * FROM unnest($18::text[], $19::text[], $20::jsonb[])",
        *columns,
        [k for k, _ in keys],
        [r for _, r in keys],
        [h[0] for h in history],
        [h[1] for h in history],
        [h[2] for h in history],
    )


async def move_records(conn: DbConnection, moves: dict[str, str]) -> None:
    """Reassign every record (and open review) of a person to another (merges)."""
    if not moves:
        return
    gone, survivors = list(moves), list(moves.values())
    await conn.execute(
        "UPDATE population_records r SET person_id = m.survivor FROM unnest($1::text[], "
        "$2::text[]) AS m(gone, survivor) WHERE r.person_id = m.gone",
        gone,
        survivors,
    )
    await conn.execute(
        "UPDATE review_queue q SET person_id = m.survivor FROM unnest($1::text[], "
        "$2::text[]) AS m(gone, survivor) WHERE q.person_id = m.gone",
        gone,
        survivors,
    )


async def assign_records(conn: DbConnection, record_ids: Sequence[str], person_id: str) -> None:
    """Move chosen records to a person (splits)."""
    await conn.execute(
        "UPDATE population_records SET person_id = $2 WHERE record_id = ANY($1::text[])",
        list(record_ids),
        person_id,
    )


async def upsert_persons(conn: DbConnection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Write persons' resolved state."""
    if not rows:
        return
    columns = list(zip(*rows, strict=True))
    await conn.execute(
        "INSERT INTO persons (person_id, status, reason, deceased, deceased_on, target_groups, "
        "psn_keys, apart, hukou_admdvs, display, records, updated_at) "
        "SELECT p, s, r, d, don, string_to_array(tg, ','), string_to_array(pk, ','), "
        "string_to_array(ap, ','), h, dis, n, now() FROM unnest($1::text[], $2::text[], "
        "$3::text[], $4::bool[], $5::date[], $6::text[], $7::text[], $8::text[], $9::text[], "
        "$10::text[], $11::int[]) AS u(p, s, r, d, don, tg, pk, ap, h, dis, n) "
        "ON CONFLICT (person_id) DO UPDATE SET status = EXCLUDED.status, "
        "reason = EXCLUDED.reason, deceased = EXCLUDED.deceased, "
        "deceased_on = EXCLUDED.deceased_on, target_groups = EXCLUDED.target_groups, "
        "psn_keys = EXCLUDED.psn_keys, apart = EXCLUDED.apart, "
        "hukou_admdvs = EXCLUDED.hukou_admdvs, display = EXCLUDED.display, "
        "records = EXCLUDED.records, updated_at = now()",
        *[list(c) for c in columns],
    )


async def delete_persons(conn: DbConnection, person_ids: Sequence[str]) -> None:
    """Persons merged away or emptied (their history stays)."""
    if person_ids:
        await conn.execute(
            "DELETE FROM persons WHERE person_id = ANY($1::text[])", list(person_ids)
        )


async def add_history(conn: DbConnection, rows: Sequence[tuple[str, str, dict[str, Any]]]) -> None:
    """Append (person_id, kind, detail) entries."""
    if not rows:
        return
    await conn.execute(
        "INSERT INTO person_history (person_id, kind, detail) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[])",
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
    )


async def history(conn: DbConnection, person_id: str, limit: int) -> list[asyncpg.Record]:
    """A person's history, oldest first."""
    return await conn.fetch(
        "SELECT at, kind, detail FROM person_history WHERE person_id = $1 ORDER BY id LIMIT $2",
        person_id,
        limit,
    )


async def merged_into(conn: DbConnection, person_id: str) -> str | None:
    """Where a person that no longer exists went."""
    value: str | None = await conn.fetchval(
        "SELECT detail->>'into' FROM person_history WHERE person_id = $1 AND kind = 'merged_into' "
        "ORDER BY id DESC LIMIT 1",
        person_id,
    )
    return value


async def add_reviews(conn: DbConnection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Queue uncertain decisions for a clerk."""
    if not rows:
        return
    columns = list(zip(*rows, strict=True))
    await conn.execute(
        "INSERT INTO review_queue (record_id, person_id, probability, linked, evidence) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::float8[], $4::bool[], $5::jsonb[])",
        *[list(c) for c in columns],
    )


async def open_reviews(conn: DbConnection, after: int, limit: int) -> list[asyncpg.Record]:
    """Open review items in queue order."""
    return await conn.fetch(
        "SELECT review_id, record_id, person_id, probability, linked, evidence, created_at "
        "FROM review_queue WHERE state = 'open' AND review_id > $1 ORDER BY review_id LIMIT $2",
        after,
        limit,
    )


async def review(conn: DbConnection, review_id: int) -> asyncpg.Record | None:
    """One review item, locked for its decision."""
    return await conn.fetchrow(
        "SELECT * FROM review_queue WHERE review_id = $1 FOR UPDATE", review_id
    )


async def close_review(conn: DbConnection, review_id: int, state: str, by: str) -> None:
    """Record the clerk's decision."""
    await conn.execute(
        "UPDATE review_queue SET state = $2, decided_by = $3, decided_at = now() "
        "WHERE review_id = $1",
        review_id,
        state,
        by,
    )


async def record_person(conn: DbConnection, record_id: str) -> str | None:
    """The person a record belongs to now."""
    value: str | None = await conn.fetchval(
        "SELECT person_id FROM population_records WHERE record_id = $1", record_id
    )
    return value


async def log_pii_access(conn: DbConnection, principal: str, person_id: str, purpose: str) -> None:
    """Audit a bureau user's look at clear personal data."""
    await conn.execute(
        "INSERT INTO pii_access_log (principal, person_id, purpose) VALUES ($1, $2, $3)",
        principal,
        person_id,
        purpose,
    )


# --- jobs -----------------------------------------------------------------------------------


async def create_job(conn: DbConnection, job_id: str) -> None:
    """A bulk load, running from its first row."""
    await conn.execute("INSERT INTO population_jobs (job_id, state) VALUES ($1, 'running')", job_id)


async def stage_rows(
    conn: DbConnection, job_id: str, lines: Sequence[int], rows: Sequence[str]
) -> None:
    """Keep uploaded rows (encrypted) until the worker links them."""
    await conn.execute(
        "INSERT INTO job_rows (job_id, line_no, row) "
        "SELECT $1, * FROM unnest($2::int[], $3::text[])",
        job_id,
        list(lines),
        list(rows),
    )


async def finish_upload(conn: DbConnection, job_id: str, rows: int) -> None:
    """All rows are staged: the worker may finish the job when it has linked them."""
    await conn.execute(
        "UPDATE population_jobs SET uploaded = true, rows = $2 WHERE job_id = $1", job_id, rows
    )


async def fail_job(conn: DbConnection, job_id: str, error: str) -> None:
    """A job that cannot go on (its staged rows are dropped)."""
    await conn.execute("DELETE FROM job_rows WHERE job_id = $1", job_id)
    await conn.execute(
        "UPDATE population_jobs SET state = 'failed', error = $2, finished_at = now() "
        "WHERE job_id = $1",
        job_id,
        error,
    )


async def job(conn: DbConnection, job_id: str) -> asyncpg.Record | None:
    """One job's progress."""
    return await conn.fetchrow("SELECT * FROM population_jobs WHERE job_id = $1", job_id)


async def next_job(conn: DbConnection) -> str | None:
    """The oldest uploaded job still to link."""
    value: str | None = await conn.fetchval(
        "SELECT job_id FROM population_jobs WHERE state = 'running' AND uploaded "
        "ORDER BY created_at LIMIT 1"
    )
    return value


async def staged(conn: DbConnection, job_id: str, limit: int) -> list[asyncpg.Record]:
    """The next staged rows of a job, in file order."""
    return await conn.fetch(
        "SELECT line_no, row FROM job_rows WHERE job_id = $1 ORDER BY line_no LIMIT $2",
        job_id,
        limit,
    )


async def unstage(conn: DbConnection, job_id: str, upto: int) -> None:
    """Drop rows linked in this transaction."""
    await conn.execute("DELETE FROM job_rows WHERE job_id = $1 AND line_no <= $2", job_id, upto)


async def add_job_errors(
    conn: DbConnection, job_id: str, rows: Sequence[tuple[int, str, list[dict[str, str]]]]
) -> None:
    """Per-row reasons of rejected rows."""
    if not rows:
        return
    await conn.execute(
        "INSERT INTO job_errors (job_id, line_no, record_id, errors) "
        "SELECT $1, l, r, e::jsonb FROM unnest($2::int[], $3::text[], $4::text[]) AS u(l, r, e) "
        "ON CONFLICT DO NOTHING",
        job_id,
        [r[0] for r in rows],
        [r[1] for r in rows],
        # as text: asyncpg would read a list inside the array as another dimension
        [orjson.dumps(r[2]).decode() for r in rows],
    )


async def advance_job(
    conn: DbConnection, job_id: str, processed: int, rejected: int, *, done: bool
) -> None:
    """Count a linked chunk; close the job after its last one."""
    await conn.execute(
        "UPDATE population_jobs SET processed = processed + $2, rejected = rejected + $3, "
        "state = CASE WHEN $4 THEN 'done' ELSE state END, "
        "finished_at = CASE WHEN $4 THEN now() ELSE finished_at END WHERE job_id = $1",
        job_id,
        processed,
        rejected,
        done,
    )


async def job_errors(conn: DbConnection, job_id: str) -> list[asyncpg.Record]:
    """A job's error report, in file order."""
    return await conn.fetch(
        "SELECT line_no, record_id, errors FROM job_errors WHERE job_id = $1 ORDER BY line_no",
        job_id,
    )


# --- ledgers --------------------------------------------------------------------------------

_GROUP_COUNTS = ", ".join(
    f"count(*) FILTER (WHERE '{g}' = ANY(target_groups) AND NOT deceased) AS {g}"
    for g in (
        "lapsed_this_year",
        "low_income",
        "students_children",
        "farmers_herders",
        "migrant_workers",
    )
)


async def ledgers(conn: DbConnection, prefix: str, digits: int) -> list[asyncpg.Record]:
    """Counts per area (the first `digits` of the household registration code)."""
    return await conn.fetch(
        "SELECT left(hukou_admdvs, $2) AS area, count(*) AS persons, "
        "count(*) FILTER (WHERE status = 'insured_local') AS insured_local, "
        "count(*) FILTER (WHERE status = 'insured_province') AS insured_province, "
        "count(*) FILTER (WHERE status = 'insured_other_province') AS insured_other_province, "
        "count(*) FILTER (WHERE status = 'uninsured' AND NOT deceased) AS uninsured, "
        "count(*) FILTER (WHERE deceased) AS deceased, "
        "count(*) FILTER (WHERE reason = 'enlisted') AS enlisted, "
        "count(*) FILTER (WHERE reason = 'in_custody') AS in_custody, "
        "count(*) FILTER (WHERE reason = 'emigrated') AS emigrated, "
        "count(*) FILTER (WHERE reason = 'personal') AS personal, "
        f"{_GROUP_COUNTS} FROM persons WHERE hukou_admdvs LIKE $1 || '%' "
        "AND length(hukou_admdvs) >= $2 GROUP BY 1 ORDER BY 1",
        prefix,
        digits,
    )


async def uninsured(
    conn: DbConnection, prefix: str, after: str, limit: int
) -> list[asyncpg.Record]:
    """Living uninsured persons registered under `prefix`, by person id."""
    return await conn.fetch(
        "SELECT person_id, reason, target_groups, hukou_admdvs, display FROM persons "
        "WHERE hukou_admdvs LIKE $1 || '%' AND status = 'uninsured' AND NOT deceased "
        "AND person_id > $2 ORDER BY person_id LIMIT $3",
        prefix,
        after,
        limit,
    )
