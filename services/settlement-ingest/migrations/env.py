"""Alembic environment: the shared runner (asyncpg, online mode)."""

from yibao.migrations import run_env

run_env()
