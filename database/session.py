"""Database connection: an external PostgreSQL (`DATABASE_URL`) or the embedded one from `pgserver`.

Without `DATABASE_URL`, perparb starts a real PostgreSQL from the `pgserver` package in
`$PERPARB_DATA_DIR/pgdata` and leaves it running, so later runs (and other processes) reuse it. pgserver puts the
Unix socket in the data directory; socket paths are limited to about 100 bytes, so the directory path must stay
short (checked here with a clear error).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
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


# ----------------------------------------------------------------------------- the embedded server's lifecycle


@dataclass(frozen=True)
class EmbeddedStatus:
    """The embedded PostgreSQL of a data directory, read from its files (nothing is started).

    Attributes:
        pgdata: the data directory. initialised: it holds a database cluster.
        running: the postmaster named in `postmaster.pid` is alive. pid, port, socket_dir, started_at: from
            that file (None when not running).
        handles: process ids pgserver recorded as users of the server (`.handle_pids.json`); stale_handles: those
            whose process is gone (left by a crash or `kill -9`; harmless, cleared by `stop`).
    """

    pgdata: Path
    initialised: bool
    running: bool
    pid: int | None = None
    port: int | None = None
    socket_dir: str | None = None
    started_at: datetime | None = None
    handles: tuple[int, ...] = ()
    stale_handles: tuple[int, ...] = ()


def _handle_pids(pgdata: Path) -> list[int]:
    path = pgdata / ".handle_pids.json"
    try:
        values = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return [int(v) for v in values if isinstance(v, int)] if isinstance(values, list) else []


def process_alive(pid: int) -> bool:
    """True when process `pid` exists and is not a zombie (a stopped postmaster whose parent died stays a zombie
    until init reaps it)."""
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def embedded_status(pgdata: Path) -> EmbeddedStatus:
    """What the embedded server of `pgdata` is doing, from `postmaster.pid` and pgserver's handle file.

    Raises nothing for a missing or stopped server (it is reported); OSError for an unreadable directory."""

    pgdata = pgdata.expanduser().resolve()
    handles = _handle_pids(pgdata)
    stale = tuple(p for p in handles if not process_alive(p))
    base = {"pgdata": pgdata, "handles": tuple(handles), "stale_handles": stale}
    if not (pgdata / "PG_VERSION").is_file():
        return EmbeddedStatus(initialised=False, running=False, **base)  # type: ignore[arg-type]
    lines = (
        (pgdata / "postmaster.pid").read_text().splitlines() if (pgdata / "postmaster.pid").is_file() else []
    )
    if len(lines) < 5 or not lines[0].strip().isdigit() or not process_alive(int(lines[0])):
        return EmbeddedStatus(initialised=True, running=False, **base)  # type: ignore[arg-type]
    return EmbeddedStatus(
        initialised=True,
        running=True,
        pid=int(lines[0]),
        port=int(lines[3]) if lines[3].strip().isdigit() else None,
        socket_dir=lines[4].strip() or None,
        started_at=datetime.fromtimestamp(int(lines[2]), tz=timezone.utc)
        if lines[2].strip().isdigit()
        else None,
        **base,  # type: ignore[arg-type]
    )


def _terminate(pid: int, timeout_seconds: float) -> None:
    """SIGTERM the postmaster (a smart shutdown), then SIGQUIT (immediate) and SIGKILL if it lingers."""
    import signal

    import psutil

    try:
        process = psutil.Process(pid)
        for sig, wait in (
            (signal.SIGTERM, timeout_seconds / 2),
            (signal.SIGQUIT, 5.0),
            (signal.SIGKILL, 5.0),
        ):
            process.send_signal(sig)
            try:
                process.wait(wait)
                return
            except psutil.TimeoutExpired:
                continue
    except psutil.Error:
        return


def stop_embedded(pgdata: Path, *, timeout_seconds: float = 30.0) -> bool:
    """Stop the embedded server of `pgdata` (pg_ctl stop, fast mode: open transactions are rolled back) and clear
    pgserver's handle file, whatever crashed before. Returns False when it was not running.

    Raises:
        DatabaseError: pg_ctl failed and the postmaster is still alive (its output in the message).
    """
    import subprocess

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on headless machines
        from pgserver import _commands

    status = embedded_status(pgdata)
    if status.running:
        user = (
            "pgserver" if os.name == "posix" and os.geteuid() == 0 else None
        )  # pgserver runs it as that user
        pg_ctl = str(_commands.POSTGRES_BIN_PATH / "pg_ctl")
        args = [pg_ctl, "-D", str(status.pgdata), "-w", "-m", "fast", "-t", str(int(timeout_seconds)), "stop"]
        done = subprocess.run(args, user=user, capture_output=True, text=True, check=False)
        if done.returncode != 0 and status.pid is not None and process_alive(status.pid):
            # pg_ctl gave up (a wedged backend, a loaded machine): stop the postmaster ourselves, as pgserver does
            log.warning("pg_ctl stop failed (%s); terminating postmaster %d", done.stderr.strip(), status.pid)
            _terminate(status.pid, timeout_seconds)
            if process_alive(status.pid):
                detail = " ".join((done.stderr or done.stdout).split())[:200]
                raise DatabaseError(f"cannot stop the embedded PostgreSQL in {status.pgdata}: {detail}")
    handle_file = status.pgdata / ".handle_pids.json"
    if handle_file.exists():
        handle_file.write_text("[]")
    return status.running
