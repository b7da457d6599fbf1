"""Wiring shared by the CLI, the API and the demo: logging, engine, migrations, adapters."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timezone

from rich.console import Console
from rich.logging import RichHandler
from sqlalchemy.ext.asyncio import AsyncEngine

from database import migrate
from database.alerts import SECRET_BEARING_LOGGERS, AlertDispatcher
from database.session import create_engine, resolve_database_url, wait_until_reachable
from exchange_clients.base.funding_adapter import BaseFundingAdapter
from exchange_clients.registry import create_funding_adapter, venue_specs
from perparb.settings import Settings
from perparb_core.errors import ConfigError
from perparb_core.logcontext import ContextFilter

err_console = Console(stderr=True)


THIRD_PARTY_LEVELS: dict[str, int] = {
    "sqlalchemy": logging.WARNING,
    "alembic": logging.WARNING,
    "aiohttp.access": logging.WARNING,
    "httpx": logging.WARNING,
    "asyncio": logging.WARNING,
    "uvicorn.access": logging.WARNING,
    "urllib3": logging.WARNING,
    "websockets": logging.WARNING,
    "pgserver": logging.WARNING,  # ~80 INFO lines (initdb, pg_ctl) on the first start
    "web3": logging.WARNING,
}
"""Third-party chatter is shown only at PERPARB_LOG_LEVEL=DEBUG; the venue SDKs' loggers come from each
`VenueSpec.sdk_log_levels` (the SDK modules at WARNING unless the venue says otherwise)."""


def third_party_levels() -> dict[str, int]:
    """`THIRD_PARTY_LEVELS` plus every installed venue's SDK loggers."""
    levels = dict(THIRD_PARTY_LEVELS)
    for spec in venue_specs().values():
        levels.update({module: logging.WARNING for module in spec.sdk_modules})
        levels.update(spec.sdk_log_levels)
    return levels


JSON_FIELDS = {"asctime": "time", "levelname": "level", "name": "logger", "message": "event"}
"""The JSON log format's fields: time (ISO-8601 UTC), level, logger, event (the message), and the context
fields run, account, venue, symbol (`perparb_core.logcontext`; null when unknown)."""


def json_formatter() -> logging.Formatter:
    """One JSON object per line (python-json-logger), fields `JSON_FIELDS` plus run/account/venue/symbol."""
    from pythonjsonlogger.json import JsonFormatter

    class UtcJsonFormatter(JsonFormatter):
        def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
            return datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds")

    return UtcJsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(run)s %(account)s %(venue)s %(symbol)s",
        rename_fields=JSON_FIELDS,
        json_ensure_ascii=False,
    )


def configure_logging(settings: Settings, *, quiet: bool = False) -> None:
    """Logs on stderr (stdout stays clean for `--json`): human lines, or one JSON object per line with
    PERPARB_LOG_FORMAT=json (`json_formatter`). `quiet` shows warnings and errors only. Third-party libraries log
    at `THIRD_PARTY_LEVELS` unless the level is DEBUG. Neither format carries a secret: perparb never logs one
    (tests/integration/test_operations_cli.py greps both formats for the account's keys)."""
    level = logging.WARNING if quiet else logging.getLevelName(settings.log_level)
    root = logging.getLogger()
    root.handlers.clear()
    handler: logging.Handler
    if settings.log_format == "json":
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(json_formatter())
    else:
        handler = RichHandler(console=err_console, show_path=False, rich_tracebacks=False, markup=False)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    handler.addFilter(ContextFilter(venue_specs()))
    root.addHandler(handler)
    root.setLevel(level)
    for name, third_party_level in third_party_levels().items():
        logging.getLogger(name).setLevel(logging.DEBUG if level == logging.DEBUG else third_party_level)
    for name in SECRET_BEARING_LOGGERS:  # they print alert URLs (tokens) below WARNING, even at DEBUG
        logging.getLogger(name).setLevel(logging.WARNING)


def database_url(settings: Settings) -> str:
    """DATABASE_URL or the embedded PostgreSQL (started on first use)."""
    return resolve_database_url(settings.database_config())


@asynccontextmanager
async def open_engine(
    settings: Settings, *, upgrade: bool = True, pre_ping: bool = True, wait_seconds: float = 0.0
) -> AsyncIterator[AsyncEngine]:
    """An engine on the configured database, migrated to head first unless `upgrade` is False.

    `pre_ping=False` for the collector (see `database.session.create_engine`). `wait_seconds`: long-running
    commands (collect, run, serve) wait that long for a database that is down or restarting, retrying with
    backoff, before giving up.

    Raises:
        DatabaseError: the database cannot be reached, refuses the login or the migration (one line naming
            the target, password masked, and the cause). DatabaseConfigError: the embedded server cannot start.
    """
    url = database_url(settings)
    await wait_until_reachable(url, wait_seconds=wait_seconds)
    if upgrade:
        migrate.upgrade(url)
    engine = create_engine(url, pre_ping=pre_ping)
    try:
        yield engine
    finally:
        await engine.dispose()


@asynccontextmanager
async def open_adapters(
    settings: Settings, venues: list[str] | None = None
) -> AsyncIterator[list[BaseFundingAdapter]]:
    """Funding adapters of the configured (or given) venues, closed on exit."""
    adapters = [create_funding_adapter(settings.venue_config(v)) for v in (venues or settings.venue_list)]
    try:
        yield adapters
    finally:
        for a in adapters:
            await a.close()


@asynccontextmanager
async def alert_dispatcher(engine: AsyncEngine, settings: Settings) -> AsyncIterator[AlertDispatcher | None]:
    """Deliver alerts in the background for the life of the block when PERPARB_ALERT_URLS is set (None
    otherwise: alerts are then recorded `unrouted`). Raises ConfigError for a URL apprise does not understand."""
    config = settings.alert_config()
    if not config.urls:
        yield None
        return
    dispatcher = AlertDispatcher(engine, config)
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop), name="perparb-alert-dispatcher")
    try:
        yield dispatcher
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, timeout=settings.alert_timeout_seconds + 5)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            task.cancel()
        dispatcher.close()


def start_metrics_server(port: int | None, host: str) -> None:
    """Serve this process's Prometheus metrics at http://host:port/metrics (a prometheus-client thread) when
    `port` is given. Raises ConfigError when the port cannot be bound."""
    if port is None:
        return
    from prometheus_client import start_http_server

    try:
        start_http_server(port, addr=host)
    except OSError as exc:
        raise ConfigError(
            f"--metrics-port {port}: cannot listen on {host}:{port}: {exc.strerror or exc}"
        ) from None


def die(message: str, code: int = 2) -> None:
    """Print a clear error on stderr and exit."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    sys.exit(code)
