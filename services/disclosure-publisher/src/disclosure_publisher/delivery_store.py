"""SQL of recipients and deliveries. Never commits.

Claiming uses `FOR UPDATE SKIP LOCKED` and, in the same statement, moves the claimed rows'
`next_attempt_at` a lease into the future: the claim commits at once, so the HTTP call is
made outside any transaction, and no other replica can claim the row until the lease lapses
(which only happens if this worker died before recording the result: at-least-once).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from yibao.db import DbConnection


async def upsert_recipient(
    conn: DbConnection,
    *,
    fixmedins_code: str,
    webhook_url: str,
    secret_id: str,
    secret_cipher: str,
    overlap_s: float,
    contacts_cipher: str | None = None,
) -> bool:
    """Register or update an endpoint and add a secret; previous secrets expire after overlap.

    Returns True when the recipient is new. Re-registering also re-enables an endpoint that
    was disabled (the bureau's way back after fixing it).
    """
    created = bool(
        await conn.fetchval(
            """
            INSERT INTO recipients (fixmedins_code, webhook_url, contacts_cipher)
            VALUES ($1, $2, $3)
            ON CONFLICT (fixmedins_code) DO UPDATE SET webhook_url = EXCLUDED.webhook_url,
                contacts_cipher = coalesce(EXCLUDED.contacts_cipher, recipients.contacts_cipher),
                enabled = true, disabled_reason = NULL, consecutive_failures = 0,
                failing_since = NULL, circuit_open_until = NULL, updated_at = now()
            RETURNING (xmax = 0)
            """,
            fixmedins_code,
            webhook_url,
            contacts_cipher,
        )
    )
    await conn.execute(
        """
        UPDATE recipient_secrets SET expires_at = now() + make_interval(secs => $2)
        WHERE fixmedins_code = $1 AND (expires_at IS NULL
              OR expires_at > now() + make_interval(secs => $2))
        """,
        fixmedins_code,
        overlap_s,
    )
    await conn.execute(
        "INSERT INTO recipient_secrets (secret_id, fixmedins_code, secret_cipher) "
        "VALUES ($1, $2, $3)",
        secret_id,
        fixmedins_code,
        secret_cipher,
    )
    return created


async def recipient(conn: DbConnection, fixmedins_code: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM recipients WHERE fixmedins_code = $1", fixmedins_code
    )
    return row


async def secrets_of(conn: DbConnection, fixmedins_code: str) -> list[asyncpg.Record]:
    """Every secret of the endpoint with its validity (for the admin view)."""
    return list(
        await conn.fetch(
            "SELECT secret_id, created_at, expires_at, "
            "(expires_at IS NULL OR expires_at > now()) AS active "
            "FROM recipient_secrets WHERE fixmedins_code = $1 ORDER BY created_at",
            fixmedins_code,
        )
    )


@dataclass(frozen=True, slots=True)
class Claimed:
    """One delivery this worker holds the lease of."""

    notice_id: str
    fixmedins_code: str
    kind: str
    period: str
    attempts: int
    first_attempt_at: datetime
    webhook_url: str
    body: bytes
    secret_ciphers: tuple[str, ...]


async def claim_due(conn: DbConnection, *, limit: int, lease_s: float) -> list[Claimed]:
    """Lease up to `limit` due deliveries of enabled endpoints whose circuit is closed."""
    rows = await conn.fetch(
        """
        WITH due AS (
            SELECT d.notice_id FROM deliveries d
            JOIN recipients r USING (fixmedins_code)
            WHERE d.state = 'pending' AND d.next_attempt_at <= now() AND r.enabled
              AND (r.circuit_open_until IS NULL OR r.circuit_open_until <= now())
            ORDER BY d.next_attempt_at LIMIT $1
            FOR UPDATE OF d SKIP LOCKED),
        claimed AS (
            UPDATE deliveries d SET next_attempt_at = now() + make_interval(secs => $2),
                attempts = d.attempts + 1, first_attempt_at = coalesce(d.first_attempt_at, now()),
                updated_at = now()
            FROM due WHERE d.notice_id = due.notice_id
            RETURNING d.notice_id, d.fixmedins_code, d.attempts, d.first_attempt_at)
        SELECT c.*, n.kind, n.period, n.body::text AS body, r.webhook_url,
            ARRAY(SELECT s.secret_cipher FROM recipient_secrets s
                  WHERE s.fixmedins_code = c.fixmedins_code
                    AND (s.expires_at IS NULL OR s.expires_at > now())
                  ORDER BY s.created_at DESC) AS secrets
        FROM claimed c JOIN notices n ON n.notice_id = c.notice_id
        JOIN recipients r ON r.fixmedins_code = c.fixmedins_code
        """,
        limit,
        lease_s,
    )
    return [
        Claimed(
            notice_id=r["notice_id"],
            fixmedins_code=r["fixmedins_code"],
            kind=r["kind"],
            period=r["period"],
            attempts=r["attempts"],
            first_attempt_at=r["first_attempt_at"],
            webhook_url=r["webhook_url"],
            body=r["body"].encode(),
            secret_ciphers=tuple(r["secrets"]),
        )
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class Result:
    """One attempt's result and what was decided for its delivery."""

    notice_id: str
    attempt: int
    started_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    outcome: str
    state: str
    next_attempt_at: datetime | None


async def record_results(conn: DbConnection, results: Sequence[Result], *, worker: str) -> None:
    """Log every attempt and move each delivery to its new state, in two statements."""
    await conn.execute(
        """
        INSERT INTO delivery_attempts (notice_id, attempt, worker, started_at, duration_ms,
                                       status_code, error, outcome)
        SELECT n, a, $1, s, ms, c, e, o FROM unnest($2::text[], $3::int[], $4::timestamptz[],
            $5::int[], $6::int[], $7::text[], $8::text[]) AS x(n, a, s, ms, c, e, o)
        """,
        worker,
        [r.notice_id for r in results],
        [r.attempt for r in results],
        [r.started_at for r in results],
        [r.duration_ms for r in results],
        [r.status_code for r in results],
        [r.error for r in results],
        [r.outcome for r in results],
    )
    await conn.execute(
        """
        UPDATE deliveries d SET state = x.state,
            next_attempt_at = coalesce(x.next_at, d.next_attempt_at),
            last_status = x.code, last_error = x.error, updated_at = now(),
            delivered_at = CASE WHEN x.state = 'delivered' THEN now() ELSE d.delivered_at END
        FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::int[], $5::text[])
            AS x(id, state, next_at, code, error)
        WHERE d.notice_id = x.id AND d.state = 'pending'
        """,
        [r.notice_id for r in results],
        [r.state for r in results],
        [r.next_attempt_at for r in results],
        [r.status_code for r in results],
        [r.error for r in results],
    )


async def lock_recipients(conn: DbConnection, codes: Sequence[str]) -> dict[str, asyncpg.Record]:
    """Lock the endpoints of a batch, in code order (two workers never deadlock on them)."""
    rows = await conn.fetch(
        "SELECT * FROM recipients WHERE fixmedins_code = ANY($1) "
        "ORDER BY fixmedins_code FOR UPDATE",
        list(codes),
    )
    return {r["fixmedins_code"]: r for r in rows}


@dataclass(frozen=True, slots=True)
class Health:
    """An endpoint's new breaker state."""

    fixmedins_code: str
    consecutive_failures: int
    failing_since: datetime | None
    circuit_open_until: datetime | None


async def set_health(conn: DbConnection, changes: Sequence[Health]) -> None:
    """Write the breaker state of the endpoints whose state changed, in one statement."""
    if not changes:
        return
    await conn.execute(
        """
        UPDATE recipients r SET consecutive_failures = x.failures, failing_since = x.since,
            circuit_open_until = x.open_until, updated_at = now()
        FROM unnest($1::text[], $2::int[], $3::timestamptz[], $4::timestamptz[])
            AS x(code, failures, since, open_until)
        WHERE r.fixmedins_code = x.code
        """,
        [h.fixmedins_code for h in changes],
        [h.consecutive_failures for h in changes],
        [h.failing_since for h in changes],
        [h.circuit_open_until for h in changes],
    )


async def disable_recipient(
    conn: DbConnection, fixmedins_code: str, reason: str
) -> list[asyncpg.Record]:
    """Disable an endpoint and fail its pending deliveries (the inbox still has them)."""
    await conn.execute(
        "UPDATE recipients SET enabled = false, disabled_reason = $2, circuit_open_until = NULL, "
        "updated_at = now() WHERE fixmedins_code = $1",
        fixmedins_code,
        reason,
    )
    return list(
        await conn.fetch(
            """
            UPDATE deliveries d SET state = 'failed', last_error = $2, updated_at = now()
            FROM notices n WHERE n.notice_id = d.notice_id AND d.fixmedins_code = $1
              AND d.state = 'pending'
            RETURNING d.notice_id, d.attempts, d.last_status, n.kind, n.period
            """,
            fixmedins_code,
            reason,
        )
    )


async def replay(conn: DbConnection, notice_id: str) -> asyncpg.Record | None:
    """Queue a notice again now (a new horizon); creates the delivery if it never had one."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """
        INSERT INTO deliveries (notice_id, fixmedins_code, state)
        SELECT n.notice_id, n.fixmedins_code, 'pending' FROM notices n
        JOIN recipients r USING (fixmedins_code) WHERE n.notice_id = $1
        ON CONFLICT (notice_id) DO UPDATE SET state = 'pending', next_attempt_at = now(),
            first_attempt_at = NULL, last_error = NULL, updated_at = now()
        RETURNING notice_id, state, attempts
        """,
        notice_id,
    )
    return row


async def replay_range(
    conn: DbConnection,
    *,
    since: datetime,
    until: datetime,
    fixmedins_code: str | None,
    include_delivered: bool,
) -> int:
    """Queue again the notices issued in a time range (failed ones, or all of them)."""
    states = ["failed", "delivered"] if include_delivered else ["failed"]
    result: str = await conn.execute(
        """
        UPDATE deliveries d SET state = 'pending', next_attempt_at = now(),
            first_attempt_at = NULL, last_error = NULL, updated_at = now()
        FROM notices n
        WHERE n.notice_id = d.notice_id AND n.created_at >= $1 AND n.created_at < $2
          AND ($3::text IS NULL OR d.fixmedins_code = $3) AND d.state = ANY($4)
        """,
        since,
        until,
        fixmedins_code,
        states,
    )
    return int(result.split()[-1])


async def attempts_of(conn: DbConnection, notice_id: str) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            "SELECT attempt, worker, started_at, duration_ms, status_code, error, outcome "
            "FROM delivery_attempts WHERE notice_id = $1 ORDER BY id",
            notice_id,
        )
    )
