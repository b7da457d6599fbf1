"""Database connection: an external PostgreSQL (`DATABASE_URL`) or the embedded one from `pgserver`.

Without `DATABASE_URL`, perparb starts a real PostgreSQL from the `pgserver` package in
`$PERPARB_DATA_DIR/pgdata` and leaves it running, so later runs (and other processes) reuse it. pgserver puts the
Unix socket in the data directory; socket paths are limited to about 100 bytes, so the directory path must stay
short (checked here with a clear error).
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from pathlib import Path

import asyncpg
import sqlalchemy
import sqlalchemy.engine
import sqlalchemy.exc
import sqlalchemy.pool
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from perparb_core.errors import DatabaseConfigError, DatabaseError
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


# ------------------------------------------------------------------------------------------- reachability

CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # connection refused, unreachable host, name resolution (socket.gaierror)
    asyncio.TimeoutError,
    sqlalchemy.exc.DBAPIError,  # the driver's errors as SQLAlchemy wraps them (auth, missing database, ...)
    sqlalchemy.exc.InterfaceError,
    asyncpg.PostgresError,  # raised unwrapped by a bare asyncpg connect (wrong password, unknown database)
    asyncpg.InterfaceError,
)
"""What a failure to reach or log in to the database looks like, from asyncpg and SQLAlchemy."""


def database_target(url: str) -> str:
    """Where `url` points, for messages: `host:port/database` (a Unix socket directory for the embedded server);
    never the password.

    Raises nothing: an unparseable URL is shown redacted."""
    try:
        parsed = sqlalchemy.engine.make_url(url)
    except sqlalchemy.exc.ArgumentError:
        return redact_url(url)
    host = parsed.host
    if not host:
        socket_dir = parsed.query.get("host")
        host = socket_dir if isinstance(socket_dir, str) else "localhost"
    port = f":{parsed.port}" if parsed.port else ""
    user = f"{parsed.username}@" if parsed.username else ""
    return f"{user}{host}{port}/{parsed.database or ''}"


def database_error(exc: BaseException, url: str) -> DatabaseError:
    """A one-line `DatabaseError` naming the target (password masked) and the cause of `exc`."""
    cause = exc.orig if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.orig is not None else exc
    text = " ".join(str(cause).split()) or "no detail"
    if "@" in text and "://" in text:
        text = redact_url(text)
    return DatabaseError(
        f"cannot use the database at {database_target(url)}: {type(cause).__name__}: {text[:200]}"
    )


async def check_reachable(url: str, *, timeout_seconds: float = 5.0) -> None:
    """Open one connection to `url` and run `SELECT 1`.

    Raises:
        DatabaseError: the database cannot be reached or refuses the login (one line: target and cause).
    """
    engine = create_async_engine(url, poolclass=sqlalchemy.pool.NullPool)

    async def probe() -> None:
        async with engine.connect() as conn:
            await conn.execute(sqlalchemy.text("SELECT 1"))

    try:
        await asyncio.wait_for(probe(), timeout_seconds)
    except CONNECTION_ERRORS as exc:
        raise database_error(exc, url) from None
    finally:
        await engine.dispose()


async def wait_until_reachable(
    url: str, *, wait_seconds: float, first_delay_seconds: float = 0.5, max_delay_seconds: float = 10.0
) -> None:
    """`check_reachable`, retried with exponential backoff for up to `wait_seconds` (0 = one attempt), so a
    long-running command survives a database that is restarting. Each failed attempt is logged (WARNING).

    Raises:
        DatabaseError: still unreachable when the time is up (the last cause).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    delay = first_delay_seconds
    while True:
        try:
            await check_reachable(url)
            return
        except DatabaseError as exc:
            left = deadline - loop.time()
            if left <= 0:
                raise
            pause = min(delay, left, max_delay_seconds)
            log.warning("%s; retrying in %.1f s", exc, pause)
            await asyncio.sleep(pause)
            delay *= 2
