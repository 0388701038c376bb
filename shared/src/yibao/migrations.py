"""Alembic, driven from code: each service's `migrations/env.py` is one call to `run_env()`.

Migrations are plain SQL through Alembic ops; the service's database URL comes from its own
settings (or `-x dsn=…`), converted to the asyncpg dialect.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import pool as sa_pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine


def async_url(dsn: str) -> str:
    """`postgresql://…` -> `postgresql+asyncpg://…` for SQLAlchemy."""
    for prefix in ("postgresql://", "postgres://"):
        if dsn.startswith(prefix):
            return "postgresql+asyncpg://" + dsn[len(prefix) :]
    return dsn


def _run_sync(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=None, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_online(dsn: str) -> None:
    engine = create_async_engine(async_url(dsn), poolclass=sa_pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_sync)
            await connection.commit()
    finally:
        await engine.dispose()


def run_env() -> None:
    """Body of every service's `migrations/env.py` (online mode only: we never emit SQL files)."""
    dsn = context.get_x_argument(as_dictionary=True).get("dsn") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if not dsn:
        raise RuntimeError("no database URL: pass -x dsn=postgresql://… or set sqlalchemy.url")
    asyncio.run(_run_online(dsn))


def upgrade(service_dir: Path, dsn: str, revision: str = "head") -> None:
    """Apply a service's migrations (blocking; run it off the event loop)."""
    config = Config(str(service_dir / "alembic.ini"))
    config.set_main_option("script_location", str(service_dir / "migrations"))
    config.set_main_option("sqlalchemy.url", dsn.replace("%", "%%"))
    command.upgrade(config, revision)
