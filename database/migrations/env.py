"""Alembic environment: async (asyncpg). The URL comes from `config.attributes["url"]` when perparb calls
Alembic programmatically (`perparb db upgrade`, `database.migrate`), else from `DATABASE_URL` for a bare
`alembic` command line (the embedded PostgreSQL is started by `perparb db upgrade`, not here)."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from database.models import Base
from perparb_core.errors import DatabaseConfigError

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("url")
    if url:
        return url
    from_env = os.environ.get("DATABASE_URL") or os.environ.get("PERPARB_DATABASE_URL")
    if from_env:
        return from_env
    raise DatabaseConfigError(
        "no database URL: run `perparb db upgrade` (embedded PostgreSQL or DATABASE_URL), or set DATABASE_URL "
        "for a bare `alembic` command"
    )


# Every perparb command migrates to head first, and several processes may start at once: migrations are
# serialised by a transaction-scoped advisory lock, taken before Alembic reads the current revision, so the
# second process finds the schema already at head.
MIGRATION_LOCK_KEY = 0x70657270  # "perp"


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(_url(), poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_async())


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
