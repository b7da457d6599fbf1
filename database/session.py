"""Database connection: an external PostgreSQL (`DATABASE_URL`) or the embedded one from `pgserver`.

Without `DATABASE_URL`, perparb starts a real PostgreSQL from the `pgserver` package in
`$PERPARB_DATA_DIR/pgdata` and leaves it running, so later runs (and other processes) reuse it. pgserver puts the
Unix socket in the data directory; socket paths are limited to about 100 bytes, so the directory path must stay
short (checked here with a clear error).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from perparb_core.errors import DatabaseConfigError
from perparb_core.settings import DatabaseConfig

log = logging.getLogger("perparb.db")

# sun_path is 108 bytes on Linux; PostgreSQL appends "/.s.PGSQL.5432" (14 bytes) to the directory.
MAX_SOCKET_DIR_BYTES = 90


def embedded_server_url(pgdata: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL in `pgdata` and return its asyncpg URL.

    Raises:
        DatabaseConfigError: the path is too long for a Unix socket, or the server fails to start.
    """
    pgdata = pgdata.expanduser().resolve()
    if len(str(pgdata).encode()) > MAX_SOCKET_DIR_BYTES:
        raise DatabaseConfigError(
            f"PERPARB_DATA_DIR gives a PostgreSQL data directory {str(pgdata)!r} longer than "
            f"{MAX_SOCKET_DIR_BYTES} bytes; the Unix socket would not fit. Use a shorter PERPARB_DATA_DIR "
            "or set DATABASE_URL."
        )
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on headless machines
        import pgserver

        try:
            server = pgserver.get_server(pgdata, cleanup_mode=None)
        except Exception as exc:  # pgserver raises plain Exceptions with the initdb/pg_ctl output
            raise DatabaseConfigError(f"cannot start the embedded PostgreSQL in {pgdata}: {exc}") from exc
    uri = server.get_uri()
    return to_asyncpg_url(uri)


def to_asyncpg_url(uri: str) -> str:
    """`postgresql://...` -> `postgresql+asyncpg://...` (pgserver gives a libpq URI)."""
    if uri.startswith("postgresql+asyncpg://"):
        return uri
    if uri.startswith("postgresql://"):
        return "postgresql+asyncpg://" + uri[len("postgresql://") :]
    if uri.startswith("postgres://"):
        return "postgresql+asyncpg://" + uri[len("postgres://") :]
    raise DatabaseConfigError(f"unsupported database URI scheme in {uri.split('://', 1)[0]!r}")


def resolve_database_url(config: DatabaseConfig) -> str:
    """The asyncpg URL to use: `config.url` (DATABASE_URL) when set, else the embedded server (started if needed).

    Raises:
        DatabaseConfigError: the embedded server cannot start (see `embedded_server_url`).
    """
    if config.url:
        return config.url
    return embedded_server_url(config.pgdata)


def create_engine(url: str, *, echo: bool = False, pre_ping: bool = True) -> AsyncEngine:
    """An `AsyncEngine` on asyncpg with a small pool.

    `pre_ping` checks a pooled connection before each checkout (BEGIN; ping; ROLLBACK: 3 extra round trips).
    The collector turns it off: a connection that died with a database restart fails one cycle, SQLAlchemy
    invalidates it, and the next cycle reconnects; connections are also recycled after 30 minutes.
    """
    return create_async_engine(
        url, echo=echo, pool_size=5, max_overflow=5, pool_pre_ping=pre_ping, pool_recycle=1800
    )


def redact_url(url: str) -> str:
    """The URL with any password replaced by '***', for logs and error messages."""
    if "://" not in url or "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    if ":" in creds:
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url
