"""The validator's SQL: catalogue, code registry, decisions, projections. Never commits.

Registry rows are locked per code with transaction-scoped advisory locks taken in key
order, so two replicas deciding sales of the same box serialise on it (and a code nobody
has seen yet, which has no row to `FOR UPDATE`, is protected too).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg
import orjson
from yibao.db import DbConnection, Pool

from tracecode_validator.convert import record_from_json, stamp_to_json
from tracecode_validator.domain.catalogue import PackLevel, Product, TracePrefix
from tracecode_validator.domain.registry import CodeRecord
from tracecode_validator.domain.rules.context import (
    CreditGrade,
    Eligibility,
    InstitutionCredit,
    PractitionerStatus,
    PriorPurchase,
)

# --- catalogue -----------------------------------------------------------------------------


async def catalogue_version(conn: DbConnection | Pool) -> int:
    """A number that changes whenever the catalogue does (cheap to poll)."""
    version = await conn.fetchval("SELECT version FROM catalogue_version")
    return int(version)


async def load_products(conn: DbConnection | Pool) -> list[Product]:
    """Every catalogue row."""
    rows = await conn.fetch(
        "SELECT med_list_codg, name, units_per_pack, split_allowed, rx_flag, gtins, "
        "drug_std_codes, trace_prefixes FROM products"
    )
    return [_product(r) for r in rows]


def _product(row: asyncpg.Record) -> Product:
    return Product(
        med_list_codg=row["med_list_codg"],
        name=row["name"],
        units_per_pack=row["units_per_pack"],
        split_allowed=row["split_allowed"],
        rx_flag=row["rx_flag"],
        gtins=tuple(row["gtins"]),
        drug_std_codes=tuple(row["drug_std_codes"]),
        trace_prefixes=tuple(
            TracePrefix(p["prefix"], PackLevel(p["pack_level"])) for p in row["trace_prefixes"]
        ),
    )


async def upsert_products(conn: DbConnection, products: list[Product]) -> int:
    """Insert or replace catalogue rows in one statement and bump the version."""
    await conn.execute(
        """
        INSERT INTO products (med_list_codg, name, units_per_pack, split_allowed, rx_flag,
            gtins, drug_std_codes, trace_prefixes, updated_at)
        SELECT u.m, u.n, u.u, u.s, u.r,
               ARRAY(SELECT jsonb_array_elements_text(u.g::jsonb)),
               ARRAY(SELECT jsonb_array_elements_text(u.d::jsonb)), u.p::jsonb, now()
        FROM unnest($1::text[], $2::text[], $3::int[], $4::bool[], $5::bool[], $6::text[],
                    $7::text[], $8::text[]) AS u(m, n, u, s, r, g, d, p)
        ON CONFLICT (med_list_codg) DO UPDATE SET
            name = EXCLUDED.name, units_per_pack = EXCLUDED.units_per_pack,
            split_allowed = EXCLUDED.split_allowed, rx_flag = EXCLUDED.rx_flag,
            gtins = EXCLUDED.gtins, drug_std_codes = EXCLUDED.drug_std_codes,
            trace_prefixes = EXCLUDED.trace_prefixes, updated_at = now()
        """,
        [p.med_list_codg for p in products],
        [p.name for p in products],
        [p.units_per_pack for p in products],
        [p.split_allowed for p in products],
        [p.rx_flag for p in products],
        # JSON text per row: asyncpg would read nested lists as a multi-dimensional array.
        [orjson.dumps(list(p.gtins)).decode() for p in products],
        [orjson.dumps(list(p.drug_std_codes)).decode() for p in products],
        [
            orjson.dumps(
                [{"prefix": t.prefix, "pack_level": t.pack_level.value} for t in p.trace_prefixes]
            ).decode()
            for p in products
        ],
    )
    await conn.execute("UPDATE catalogue_version SET version = version + 1")
    return len(products)


async def add_exemptions(conn: DbConnection, pairs: list[tuple[str, str]], reason: str) -> int:
    """Put legacy (pre-cut-over) stock of a drug at an institution on the no-code list."""
    await conn.execute(
        "INSERT INTO no_code_exemptions (fixmedins_code, med_list_codg, reason) "
        "SELECT i, m, $3 FROM unnest($1::text[], $2::text[]) AS u(i, m) "
        "ON CONFLICT DO NOTHING",
        [p[0] for p in pairs],
        [p[1] for p in pairs],
        reason,
    )
    return len(pairs)


# --- registry ------------------------------------------------------------------------------


async def lock_codes(conn: DbConnection, keys: Iterable[str]) -> None:
    """Serialise every transaction touching these codes, in a fixed order (no deadlocks)."""
    ordered = sorted(set(keys))
    if ordered:
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) "
            "FROM unnest($1::text[]) WITH ORDINALITY AS u(k, n) ORDER BY n",
            ordered,
        )


async def load_codes(conn: DbConnection, keys: Iterable[str]) -> dict[str, CodeRecord]:
    """Current records of these codes (absent = never seen)."""
    rows = await conn.fetch(
        "SELECT key, med_list_codg, units_per_pack, remaining_units, state, institution, "
        "opened, expiry, lot, last_sale, last_event FROM codes WHERE key = ANY($1::text[])",
        list(set(keys)),
    )
    return {r["key"]: record_from_json(dict(r)) for r in rows}


async def save_codes(
    conn: DbConnection,
    records: Iterable[CodeRecord],
    *,
    event: str,
    reference: str,
    at: datetime,
) -> None:
    """Upsert the new records and append one history row per code, in two statements."""
    rows = list(records)
    if not rows:
        return
    await conn.execute(
        """
        INSERT INTO codes (key, med_list_codg, units_per_pack, remaining_units, state,
            institution, opened, expiry, lot, last_sale, last_event, updated_at)
        SELECT *, $12::timestamptz FROM unnest($1::text[], $2::text[], $3::int[], $4::int[],
            $5::text[], $6::text[], $7::bool[], $8::date[], $9::text[], $10::jsonb[],
            $11::text[])
        ON CONFLICT (key) DO UPDATE SET
            med_list_codg = EXCLUDED.med_list_codg, units_per_pack = EXCLUDED.units_per_pack,
            remaining_units = EXCLUDED.remaining_units, state = EXCLUDED.state,
            institution = EXCLUDED.institution, opened = EXCLUDED.opened,
            expiry = EXCLUDED.expiry, lot = EXCLUDED.lot, last_sale = EXCLUDED.last_sale,
            last_event = EXCLUDED.last_event, updated_at = EXCLUDED.updated_at
        """,
        [r.key for r in rows],
        [r.med_list_codg for r in rows],
        [r.units_per_pack for r in rows],
        [r.remaining_units for r in rows],
        [r.state.value for r in rows],
        [r.institution for r in rows],
        [r.opened for r in rows],
        [r.expiry for r in rows],
        [r.lot for r in rows],
        [stamp_to_json(r.last_sale) for r in rows],
        [r.last_event.value if r.last_event else None for r in rows],
        at,
    )
    await conn.execute(
        "INSERT INTO code_history (key, at, event, institution, reference, state, "
        "remaining_units) SELECT k, $2, $3, i, $4, s, u "
        "FROM unnest($1::text[], $5::text[], $6::text[], $7::int[]) AS x(k, i, s, u)",
        [r.key for r in rows],
        at,
        event,
        reference,
        [r.institution for r in rows],
        [r.state.value for r in rows],
        [r.remaining_units for r in rows],
    )


async def code_history(pool: Pool, key: str, limit: int) -> list[asyncpg.Record]:
    """A code's history, oldest first."""
    return list(
        await pool.fetch(
            "SELECT at, event, institution, reference, state, remaining_units "
            "FROM code_history WHERE key = $1 ORDER BY id LIMIT $2",
            key,
            limit,
        )
    )


# --- what a decision reads ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SaleInputs:
    """Everything besides the codes that the rules read about one sale."""

    catalogue_version: int
    eligibility: Eligibility | None
    credit: InstitutionCredit | None
    practitioners: dict[str, PractitionerStatus]
    recent_purchases: tuple[PriorPurchase, ...]
    no_code_exempt: frozenset[tuple[str, str]]


async def sale_inputs(
    conn: DbConnection,
    *,
    settlement_id: str,
    institution: str,
    practitioners: list[str],
    psn_key: str,
    meds: list[str],
    since: date,
    sale_date: date,
) -> SaleInputs | None:
    """Read the projections a decision needs in one round trip; None if already decided.

    One statement instead of six: on the real-time path each round trip is ~0.3 ms of
    latency and a slice of a core that the broker needs.
    """
    row = await conn.fetchrow(
        """
        SELECT
            EXISTS (SELECT 1 FROM decisions WHERE settlement_id = $1) AS decided,
            (SELECT version FROM catalogue_version) AS catalogue_version,
            (SELECT status FROM person_eligibility WHERE psn_key = $2) AS eligibility,
            (SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'subject_id', subject_id, 'grade', grade, 'blacklisted', blacklisted,
                    'practitioner_status', CASE
                        WHEN practitioner_status = 'suspended' AND suspended_until <= $7
                        THEN 'active' ELSE practitioner_status END)), '[]'::jsonb)
             FROM subject_credit WHERE subject_id = ANY($3::text[])) AS standing,
            (SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'med', med_list_codg, 'start', start_date, 'days', days_supply)
                    ORDER BY start_date), '[]'::jsonb)
             FROM purchases
             WHERE psn_key = $2 AND med_list_codg = ANY($4::text[]) AND start_date >= $5
            ) AS purchases,
            (SELECT coalesce(array_agg(med_list_codg), '{}') FROM no_code_exemptions
             WHERE fixmedins_code = $6 AND med_list_codg = ANY($4::text[])) AS exempt
        """,
        settlement_id,
        psn_key,
        [institution, *practitioners],
        meds,
        since,
        institution,
        sale_date,  # a suspension that ended before the sale no longer counts
    )
    assert row is not None
    if row["decided"]:
        return None
    credit: InstitutionCredit | None = None
    statuses: dict[str, PractitionerStatus] = {}
    for standing in row["standing"]:
        if standing["subject_id"] == institution and standing["practitioner_status"] is None:
            grade = CreditGrade(standing["grade"]) if standing["grade"] else None
            credit = InstitutionCredit(grade=grade, blacklisted=standing["blacklisted"])
        elif standing["practitioner_status"]:
            statuses[standing["subject_id"]] = PractitionerStatus(standing["practitioner_status"])
    return SaleInputs(
        catalogue_version=int(row["catalogue_version"]),
        eligibility=Eligibility(row["eligibility"]) if row["eligibility"] else None,
        credit=credit,
        practitioners=statuses,
        recent_purchases=tuple(
            PriorPurchase(p["med"], date.fromisoformat(p["start"]), p["days"])
            for p in row["purchases"]
        ),
        no_code_exempt=frozenset((institution, med) for med in row["exempt"]),
    )


# --- decisions -----------------------------------------------------------------------------


async def decision(conn: DbConnection | Pool, settlement_id: str) -> asyncpg.Record | None:
    """The stored decision of a settlement."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT settlement_id, fixmedins_code, psn_key, status, hits, dispensed, returned, "
        "amount, setl_time, decided_at, decided_by, review_reason, held_from "
        "FROM decisions WHERE settlement_id = $1",
        settlement_id,
    )
    return row


async def insert_decision(
    conn: DbConnection,
    *,
    settlement_id: str,
    fixmedins_code: str,
    psn_key: str,
    status: str,
    hits: list[dict[str, Any]],
    dispensed: list[dict[str, Any]],
    amount: Any,
    setl_time: datetime,
    decided_at: datetime,
    held_from: list[dict[str, Any]] | None,
) -> None:
    """Store the rules' decision with what each line took from which pack.

    `held_from` keeps the packs' records from before a sale held for review, so a
    reviewer's rejection can put them back exactly.
    """
    await conn.execute(
        "INSERT INTO decisions (settlement_id, fixmedins_code, psn_key, status, hits, "
        "dispensed, amount, setl_time, decided_at, decided_by, held_from) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'rules', $10)",
        settlement_id,
        fixmedins_code,
        psn_key,
        status,
        hits,
        dispensed,
        amount,
        setl_time,
        decided_at,
        held_from,
    )


async def review_decision(
    conn: DbConnection,
    *,
    settlement_id: str,
    status: str,
    reviewer: str,
    reason: str,
    decided_at: datetime,
    dispensed: list[dict[str, Any]] | None,
) -> bool:
    """A reviewer settles a pending decision; False if it was not pending any more."""
    updated = await conn.fetchval(
        "UPDATE decisions SET status = $2, decided_by = $3, review_reason = $4, "
        "decided_at = $5, dispensed = COALESCE($6, dispensed) "
        "WHERE settlement_id = $1 AND status = 'pending_review' RETURNING true",
        settlement_id,
        status,
        f"reviewer:{reviewer}",
        reason,
        decided_at,
        dispensed,
    )
    return bool(updated)


async def add_returned(
    conn: DbConnection, settlement_id: str, released: list[dict[str, Any]]
) -> None:
    """Append released units to the sale's returns."""
    await conn.execute(
        "UPDATE decisions SET returned = returned || $2::jsonb WHERE settlement_id = $1",
        settlement_id,
        released,
    )


async def pending_reviews(pool: Pool, limit: int) -> list[asyncpg.Record]:
    """Settlements waiting for a reviewer, oldest first."""
    return list(
        await pool.fetch(
            "SELECT settlement_id, fixmedins_code, hits, amount, setl_time, decided_at "
            "FROM decisions WHERE status = 'pending_review' ORDER BY decided_at LIMIT $1",
            limit,
        )
    )


# --- projections ---------------------------------------------------------------------------


async def set_eligibility(
    conn: DbConnection, psn_keys: Iterable[str], status: Eligibility, at: datetime
) -> None:
    """Apply an enrollment change to every key of the person (older news never wins)."""
    keys = list(psn_keys)
    await conn.execute(
        "INSERT INTO person_eligibility (psn_key, status, updated_at) "
        "SELECT k, $2, $3 FROM unnest($1::text[]) AS k "
        "ON CONFLICT (psn_key) DO UPDATE SET status = EXCLUDED.status, "
        "updated_at = EXCLUDED.updated_at "
        "WHERE person_eligibility.updated_at <= EXCLUDED.updated_at",
        keys,
        status.value,
        at,
    )


async def upsert_subject_credit(
    conn: DbConnection,
    *,
    subject_id: str,
    subject_type: str,
    grade: str | None,
    blacklisted: bool,
    practitioner_status: str | None,
    suspended_until: date | None,
    at: datetime,
) -> None:
    """Keep the latest credit standing of a subject."""
    await conn.execute(
        """
        INSERT INTO subject_credit (subject_id, subject_type, grade, blacklisted,
            practitioner_status, suspended_until, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT (subject_id) DO UPDATE SET subject_type = EXCLUDED.subject_type,
            grade = EXCLUDED.grade, blacklisted = EXCLUDED.blacklisted,
            practitioner_status = EXCLUDED.practitioner_status,
            suspended_until = EXCLUDED.suspended_until, updated_at = EXCLUDED.updated_at
        WHERE subject_credit.updated_at <= EXCLUDED.updated_at
        """,
        subject_id,
        subject_type,
        grade,
        blacklisted,
        practitioner_status,
        suspended_until,
        at,
    )


async def record_purchases(
    conn: DbConnection, psn_key: str, settlement_id: str, supplies: Mapping[str, tuple[date, int]]
) -> None:
    """Remember what this sale supplied, per drug."""
    if not supplies:
        return
    await conn.execute(
        "INSERT INTO purchases (psn_key, med_list_codg, start_date, days_supply, settlement_id) "
        "SELECT $1, m, d, n, $2 FROM unnest($3::text[], $4::date[], $5::int[]) AS u(m, d, n) "
        "ON CONFLICT DO NOTHING",
        psn_key,
        settlement_id,
        list(supplies),
        [v[0] for v in supplies.values()],
        [v[1] for v in supplies.values()],
    )
