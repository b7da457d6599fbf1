"""Wiring shared by the CLI, the API and the demo: logging, engine, migrations, adapters."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from rich.console import Console
from rich.logging import RichHandler
from sqlalchemy.ext.asyncio import AsyncEngine

from database import migrate
from database.session import create_engine, resolve_database_url, wait_until_reachable
from exchange_clients.base.funding_adapter import BaseFundingAdapter
from exchange_clients.registry import create_funding_adapter, venue_specs
from perparb.settings import Settings

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


def configure_logging(settings: Settings, *, quiet: bool = False) -> None:
    """Human logs on stderr (stdout stays clean for `--json`). `quiet` shows warnings and errors only.
    Third-party libraries log at `THIRD_PARTY_LEVELS` unless the level is DEBUG."""
    level = logging.WARNING if quiet else logging.getLevelName(settings.log_level)
    root = logging.getLogger()
    root.handlers.clear()
    handler = RichHandler(console=err_console, show_path=False, rich_tracebacks=False, markup=False)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    for name, third_party_level in third_party_levels().items():
        logging.getLogger(name).setLevel(logging.DEBUG if level == logging.DEBUG else third_party_level)


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


def die(message: str, code: int = 2) -> None:
    """Print a clear error on stderr and exit."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    sys.exit(code)
