"""The institution credential projection every service keeps (from `institution.registered.v1`)."""

from __future__ import annotations

from yibao.auth import KeyLookup
from yibao.db import DbConnection, Pool, UnitOfWork
from yibao.events import Envelope, InstitutionRegistered


async def upsert_institution(conn: DbConnection, event: InstitutionRegistered) -> None:
    """Apply a registration or change; an older event never overwrites a newer state."""
    await conn.execute(
        """
        INSERT INTO institution_credentials
            (fixmedins_code, name, kind, level, admdvs, api_key_hash, active, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (fixmedins_code) DO UPDATE SET
            name = EXCLUDED.name, kind = EXCLUDED.kind, level = EXCLUDED.level,
            admdvs = EXCLUDED.admdvs, api_key_hash = EXCLUDED.api_key_hash,
            active = EXCLUDED.active, updated_at = EXCLUDED.updated_at
        WHERE institution_credentials.updated_at <= EXCLUDED.updated_at
        """,
        *_columns(event),
    )


async def register_institution(conn: DbConnection, event: InstitutionRegistered) -> bool:
    """First registration of a code; False when it exists (the bureau gets a 409)."""
    inserted = await conn.fetchval(
        """
        INSERT INTO institution_credentials
            (fixmedins_code, name, kind, level, admdvs, api_key_hash, active, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (fixmedins_code) DO NOTHING
        RETURNING true
        """,
        *_columns(event),
    )
    return bool(inserted)


async def lock_institution(conn: DbConnection, code: str) -> InstitutionRegistered | None:
    """The current registration of a code, row-locked so a concurrent change waits for us."""
    row = await conn.fetchrow(
        """
        SELECT fixmedins_code, name, kind, level, admdvs, api_key_hash, active,
               updated_at AS registered_at
        FROM institution_credentials WHERE fixmedins_code = $1 FOR UPDATE
        """,
        code,
    )
    return None if row is None else InstitutionRegistered.model_validate(dict(row))


def _columns(event: InstitutionRegistered) -> tuple[object, ...]:
    return (
        event.fixmedins_code,
        event.name,
        event.kind,
        event.level,
        event.admdvs,
        event.api_key_hash,
        event.active,
        event.registered_at,
    )


async def handle_institution_registered(envelope: Envelope, uow: UnitOfWork) -> None:
    """Consumer handler shared by all services."""
    assert isinstance(envelope.data, InstitutionRegistered)
    await upsert_institution(uow.conn, envelope.data)


def key_lookup(pool: Pool) -> KeyLookup:
    """Build the authenticator's key lookup over this service's projection."""

    async def lookup(key_hash: str) -> str | None:
        code: str | None = await pool.fetchval(
            "SELECT fixmedins_code FROM institution_credentials WHERE api_key_hash = $1 AND active",
            key_hash,
        )
        return code

    return lookup
