"""Shared fixtures: a real PostgreSQL (pgserver) in a short temporary directory for the whole session,
a fresh migrated database per module that asks for one, and helpers to start the simulator.

pgserver puts its Unix socket in the data directory and socket paths are limited to ~100 bytes, so the
directory lives directly under /tmp with a short name.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from database import migrate
from database.session import embedded_server_url, stop_embedded

PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """asyncpg URL of the session's embedded PostgreSQL (database `postgres`)."""
    tmp = Path(tempfile.mkdtemp(prefix="ppt", dir="/tmp"))
    url = embedded_server_url(tmp / "pg")
    yield url
    stop_embedded(tmp / "pg")  # get_server(cleanup_mode=None).cleanup() would leave it running
    shutil.rmtree(tmp, ignore_errors=True)


def _with_db(url: str, name: str) -> str:
    base, query = url.split("?", 1)
    return base.rsplit("/", 1)[0] + "/" + name + "?" + query


@pytest_asyncio.fixture(scope="session")
async def create_database(pg_url: str):  # type: ignore[no-untyped-def]
    """Factory: `await create_database()` -> URL of a new empty database on the session server."""
    admin = create_async_engine(pg_url, isolation_level="AUTOCOMMIT")

    async def _make() -> str:
        name = "t_" + uuid.uuid4().hex[:12]
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        return _with_db(pg_url, name)

    yield _make
    await admin.dispose()


@pytest_asyncio.fixture(scope="module")
async def db_url(create_database) -> str:  # type: ignore[no-untyped-def]
    """A fresh database migrated to head, shared by the tests of one module."""
    url = await create_database()
    migrate.upgrade(url)
    return url


@pytest_asyncio.fixture(scope="module")
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_async_engine(db_url)
    yield eng
    await eng.dispose()


@pytest_asyncio.fixture
async def clean_engine(engine: AsyncEngine) -> AsyncEngine:
    """The module's engine with every data table emptied before the test."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "TRUNCATE funding_rate_samples, market_states, reference_funding_rates, collection_runs, "
                "markets, venues RESTART IDENTITY CASCADE"
            )
        )
    return engine
