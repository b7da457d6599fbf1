"""The `perparb` command (Typer + Rich). Thin: it parses options and wires the packages together.

Human output is Rich tables on stdout and logs on stderr; `--json` prints machine-readable JSON on stdout only
(rates and APRs as fractions). Exit codes: 0 ok, 1 partial failure (a venue failed), 2 usage/config error.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from exchange_clients.registry import venue_names
from funding_rate_service.service import build_query
from perparb.runtime import (
    alert_dispatcher,
    configure_logging,
    die,
    err_console,
    open_adapters,
    open_engine,
    start_metrics_server,
)
from perparb.scripts.accounts_cli import app as accounts_app
from perparb.settings import Settings, enable_configured_sub_venues
from perparb_core.errors import ConfigError, PerparbError, VaultError

app = typer.Typer(
    help="perparb: funding-rate arbitrage for perpetual DEXes.", no_args_is_help=True, add_completion=False
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(accounts_app, name="accounts")
config_app = typer.Typer(help="Strategy configs.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@app.callback()
def _enable_sub_venues() -> None:
    """Before any command: the sub-venues the settings list (`PERPARB_<VENUE>_<setting>`, e.g.
    `PERPARB_HYPERLIQUID_DEXES=xyz` -> "hyperliquid:xyz") are installed venues, so every option naming a venue
    accepts them."""
    try:
        enable_configured_sub_venues()
    except ConfigError as exc:
        die(str(exc))


# Piped output (make demo in CI, `| less`) gets a wide page; a terminal keeps its own width.
console = Console(width=None if sys.stdout.isatty() else 160)


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        errors = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        die(f"invalid settings: {errors}")
        raise  # unreachable


def is_loopback(host: str) -> bool:
    """True for a loopback bind address or name (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _split(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def _check_venues(names: list[str] | None, option: str) -> None:
    for n in names or []:
        if n not in venue_names():
            die(f"{option}: unknown venue {n!r}; known: {', '.join(venue_names())}")


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def _pct(value: float | Decimal | None, digits: int = 4) -> str:
    return "-" if value is None else f"{float(value) * 100:.{digits}f}%"


def _usd(value: float | Decimal | None) -> str:
    if value is None:
        return "-"
    v = float(value)
    for unit, div in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(v) >= div:
            return f"${v / div:,.2f}{unit}"
    return f"${v:,.2f}"


# ----------------------------------------------------------------------------------------------------- db


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="target revision")) -> None:
    """Apply migrations (DATABASE_URL, or the embedded PostgreSQL in PERPARB_DATA_DIR)."""
    from database import migrate
    from perparb.runtime import database_url

    settings = _settings()
    configure_logging(settings)
    url = database_url(settings)
    migrate.upgrade(url, revision)
    console.print(f"database at revision {migrate.current_revision(url)}")


@db_app.command("downgrade")
def db_downgrade(
    revision: str = typer.Argument(..., help="target revision, e.g. base or -1"),
    yes: bool = typer.Option(False, "--yes", help="confirm: this drops data"),
) -> None:
    """Revert migrations (drops data: needs --yes)."""
    from database import migrate
    from perparb.runtime import database_url

    if not yes:
        die("downgrade drops tables and data; repeat with --yes to confirm")
    settings = _settings()
    url = database_url(settings)
    migrate.downgrade(url, revision)
    console.print(f"database at revision {migrate.current_revision(url)}")


@db_app.command("current")
def db_current() -> None:
    """Print the current migration revision."""
    from database import migrate
    from perparb.runtime import database_url

    console.print(str(migrate.current_revision(database_url(_settings()))))


@db_app.command("status")
def db_status(as_json: bool = typer.Option(False, "--json", help="machine-readable output")) -> None:
    """Where the database is and whether it answers; for the embedded PostgreSQL, whether it runs (PID, port,
    socket) and the handles a crash left behind. Starts nothing. Exit 1 when it is not reachable."""
    from database.session import check_reachable, embedded_status, redact_url

    settings = _settings()
    data: dict[str, Any]
    if settings.database_url:
        data = {"kind": "external", "url": redact_url(settings.database_url)}
        url = settings.database_url
    else:
        status = embedded_status(settings.database_config().pgdata)
        data = {
            "kind": "embedded",
            "pgdata": str(status.pgdata),
            "initialised": status.initialised,
            "running": status.running,
            "pid": status.pid,
            "port": status.port,
            "socket_dir": status.socket_dir,
            "started_at": status.started_at.isoformat() if status.started_at else None,
            "stale_handles": list(status.stale_handles),
        }
        url = ""
        if status.running and status.socket_dir:
            url = f"postgresql+asyncpg://postgres:@/postgres?host={status.socket_dir}&port={status.port or 5432}"
    error: str | None = None
    if url:
        try:
            asyncio.run(check_reachable(url))
        except PerparbError as exc:
            error = str(exc)
    else:
        error = "not running"
    data["reachable"] = error is None
    data["error"] = error
    if as_json:
        _print_json(data)
    else:
        for key, value in data.items():
            if value not in (None, [], ""):
                console.print(f"{key:14s} {value}", highlight=False)
        if data.get("stale_handles"):
            console.print(
                "[dim]stale handles are left by processes that were killed; `perparb db stop` clears them[/]"
            )
    if error is not None:
        raise typer.Exit(1)


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL of PERPARB_DATA_DIR (fast: open transactions roll back), also after a crash
    left stale handles. Refused for an external DATABASE_URL (stop that server with its own tools)."""
    from database.session import stop_embedded

    settings = _settings()
    if settings.database_url:
        die("DATABASE_URL is set: that server is not perparb's to stop (use its own tools)")
    pgdata = settings.database_config().pgdata
    was_running = stop_embedded(pgdata)
    console.print(f"embedded PostgreSQL in {pgdata} {'stopped' if was_running else 'was not running'}")


@db_app.command("check")
def db_check() -> None:
    """Fail (exit 1) when the models and the migrated schema differ."""
    from alembic.util.exc import AutogenerateDiffsDetected

    from database import migrate
    from perparb.runtime import database_url

    try:
        migrate.check(database_url(_settings()))
    except AutogenerateDiffsDetected as exc:
        err_console.print(f"[red]models and migrations differ:[/] {exc}")
        raise typer.Exit(1) from None
    console.print("models and migrations agree")


# ------------------------------------------------------------------------------------------------ collect


def _print_cycle(summary_json: dict[str, Any]) -> None:
    table = Table(
        title=f"collection cycle {summary_json['finished_at']}", box=box.SIMPLE_HEAD, pad_edge=False
    )
    for col in ("venue", "status", "markets", "stored", "rejected", "error"):
        table.add_column(col)
    for v in summary_json["venues"].values():
        status = "[green]ok[/]" if v["status"] == "ok" else "[red]failed[/]"
        table.add_row(
            v["venue"], status, str(v["markets"]), str(v["stored"]), str(v["rejected"]), v["error"] or ""
        )
    console.print(table)


@app.command()
def venues(as_json: bool = typer.Option(False, "--json", help="machine-readable output")) -> None:
    """The installed venues (discovered from their packages) with the settings this process would use."""
    from exchange_clients.registry import venue_specs

    settings = _settings()
    rows: list[dict[str, Any]] = []
    for name, spec in venue_specs().items():
        try:
            config = settings.venue_config(name)
        except ConfigError as exc:
            die(str(exc))
            return
        rows.append(
            {
                "venue": name,
                "title": spec.title,
                "rest_url": config.rest_url,
                "ws_url": config.websocket_url,
                "rate_per_second": config.rate_limit.rate_per_second,
                "burst": config.rate_limit.burst,
                "taker_fee": str(spec.fees.taker),
                "maker_fee": str(spec.fees.maker),
                "settlement_hours": str(spec.settlement.interval_hours),
                "continuous_funding": spec.settlement.continuous,
                "paper": spec.paper is not None and spec.simulator_protocol is not None,
                "collected": name in settings.venue_list,
            }
        )
    if as_json:
        _print_json(rows)
        return
    table = Table(title="installed venues")
    for col in ("venue", "REST URL", "rate/s", "burst", "taker", "maker", "funding", "paper", "collected"):
        table.add_column(col)
    for r in rows:
        funding = "continuous" if r["continuous_funding"] else f"every {r['settlement_hours']} h"
        table.add_row(
            r["venue"],
            r["rest_url"],
            f"{r['rate_per_second']:g}",
            str(r["burst"]),
            r["taker_fee"],
            r["maker_fee"],
            funding,
            "yes" if r["paper"] else "no",
            "yes" if r["collected"] else "no",
        )
    console.print(table)


@app.command()
def collect(
    once: bool = typer.Option(False, "--once", help="run one cycle and exit"),
    as_json: bool = typer.Option(False, "--json", help="print the cycle summary as JSON"),
    venues: str | None = typer.Option(None, help="comma-separated venues (default PERPARB_VENUES)"),
    metrics_port: int | None = typer.Option(
        None, "--metrics-port", min=1, max=65535, help="serve Prometheus metrics on this port (/metrics)"
    ),
    metrics_host: str = typer.Option(
        "127.0.0.1", "--metrics-host", help="address the metrics port binds (0.0.0.0 in a container)"
    ),
) -> None:
    """Collect funding rates and market data from every venue into PostgreSQL (loop, or --once).

    The loop also watches the venues: alerts for an outage (3 failed cycles in a row), its recovery, and data
    older than PERPARB_MAX_DATA_AGE_SECONDS; with --metrics-port, Prometheus metrics at /metrics."""
    settings = _settings()
    configure_logging(settings, quiet=as_json)
    names = _split(venues)
    _check_venues(names, "--venues")
    from funding_rate_service.collector import run_cycle, run_forever
    from funding_rate_service.watch import CollectionWatch

    start_metrics_server(metrics_port, metrics_host)

    async def main() -> int:
        async with (
            open_engine(settings, pre_ping=False, wait_seconds=settings.database_wait_seconds) as engine,
            open_adapters(settings, names) as adapters,
            alert_dispatcher(engine, settings),
        ):
            if once:
                summary = await run_cycle(
                    engine, adapters, venue_timeout_seconds=settings.venue_timeout_seconds
                )
                data = summary.to_json_dict()
                _print_json(data) if as_json else _print_cycle(data)
                return 1 if data["failed_venues"] else 0
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)

            watch = CollectionWatch(
                engine,
                settings.ranking_config(),
                settings.alert_config(),
                [a.venue for a in adapters],
            )

            async def on_cycle(summary: Any) -> None:
                data = summary.to_json_dict()
                if as_json:
                    sys.stdout.write(json.dumps(data, default=str) + "\n")
                    sys.stdout.flush()
                else:
                    _print_cycle(data)
                await watch(summary)

            await run_forever(
                engine,
                adapters,
                interval_seconds=settings.collect_interval_seconds,
                venue_timeout_seconds=settings.venue_timeout_seconds,
                on_cycle=on_cycle,
                stop=stop,
            )
            return 0

    raise typer.Exit(asyncio.run(main()))


@app.command()
def backfill(
    venue: str = typer.Option(..., help="venue to backfill (an installed venue id)"),
    days: float = typer.Option(..., min=0.01, help="days of history ending now"),
    symbols: str | None = typer.Option(None, help="comma-separated base assets (default: all)"),
    as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
) -> None:
    """Backfill settled funding history (idempotent: a second run adds no rows)."""
    settings = _settings()
    configure_logging(settings, quiet=True)
    _check_venues([venue], "--venue")
    from funding_rate_service.backfill import backfill as run_backfill

    async def main() -> int:
        async with open_engine(settings) as engine, open_adapters(settings, [venue]) as (adapter,):
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err_console,
                transient=as_json,
            ) as progress:
                task = progress.add_task(f"backfill {venue} {days:g} d", total=None)
                summary = await run_backfill(
                    engine,
                    adapter,
                    days=days,
                    symbols=_split(symbols),
                    on_markets_known=lambda n: progress.update(task, total=n),
                    on_market_done=lambda m: progress.advance(task),
                )
        data = summary.to_json_dict()
        if as_json:
            _print_json(data)
        else:
            console.print(
                f"{venue}: {data['markets']} markets, {data['fetched']} rows fetched, {data['stored']} new rows "
                f"stored, {data['rejected']} rejected, {len(data['markets_failed'])} markets failed"
            )
            for name, err in data["markets_failed"].items():
                err_console.print(f"[red]failed[/] {name}: {err}")
        return 1 if data["markets_failed"] else 0

    raise typer.Exit(asyncio.run(main()))


# ---------------------------------------------------------------------------------------- rates / opportunities


@app.command()
def rates(
    symbol: str | None = typer.Option(None, help="one base asset, e.g. ETH"),
    venues: str | None = typer.Option(None, help="comma-separated venues"),
    reference: bool = typer.Option(False, "--reference", help="also show reference rates (not tradeable)"),
    as_json: bool = typer.Option(False, "--json", help="JSON list (rates as fractions)"),
) -> None:
    """Latest funding rate per market, normalised (hourly, 8 h, APR)."""
    settings = _settings()
    configure_logging(settings, quiet=True)
    names = _split(venues)
    _check_venues(names, "--venues")
    from funding_rate_service import repository
    from funding_rate_service.service import get_rates

    stored = 0

    async def main() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        nonlocal stored
        async with open_engine(settings) as engine, engine.connect() as conn:
            rows = await get_rates(
                conn, symbol=symbol, venues=names, max_age_seconds=settings.max_data_age_seconds
            )
            if not rows and (symbol or names):
                stored = len(await get_rates(conn, max_age_seconds=settings.max_data_age_seconds))
            refs = await repository.reference_rates_latest(conn, symbol=symbol) if reference else []
            return rows, refs

    rows, refs = asyncio.run(main())
    if as_json:
        if reference:
            _print_json(
                {
                    "rates": rows,
                    "reference_rates": [
                        {
                            **r,
                            "ts": r["ts"].isoformat(),
                            "raw_rate": float(r["raw_rate"]),
                            "raw_period_hours": float(r["raw_period_hours"]),
                            "rate_hourly": float(r["rate_hourly"]),
                            "apr": float(r["rate_hourly"] * 8760),
                        }
                        for r in refs
                    ],
                }
            )
        else:
            _print_json(rows)
        return
    if not rows:
        if symbol or names:
            wanted = " and ".join(
                part
                for part in (f"symbol {symbol.upper()}" if symbol else "", f"venues {names}" if names else "")
                if part
            )
            err_console.print(
                f"no rates for {wanted} ({stored} markets have rates: `perparb rates` lists them)"
                if stored
                else "no rates stored yet: run `perparb collect --once`"
            )
        else:
            err_console.print("no rates stored yet: run `perparb collect --once`")
    table = Table(title="funding rates (+ = longs pay shorts)", box=box.SIMPLE_HEAD, pad_edge=False)
    for col, just in (
        ("symbol", "left"),
        ("venue", "left"),
        ("venue symbol", "left"),
        ("rate/h", "right"),
        ("rate/8h", "right"),
        ("APR", "right"),
        ("mark", "right"),
        ("OI", "right"),
        ("vol 24h", "right"),
        ("age", "right"),
    ):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for r in rows:
        age = f"{r['age_seconds']:.0f}s" + (" [red]stale[/]" if r["stale"] else "")
        table.add_row(
            r["symbol"],
            r["venue"],
            r["venue_symbol"],
            _pct(r["rate_hourly"]),
            _pct(r["rate_8h"]),
            _pct(r["apr"], 2),
            f"{r['mark_price']:,.6g}" if r["mark_price"] else "-",
            _usd(r["open_interest_usd"]),
            _usd(r["volume_24h_usd"]),
            age,
        )
    console.print(table)
    if refs:
        ref_table = Table(title="reference rates (published by a venue; NOT tradeable here)")
        for col in ("source", "venue", "symbol", "rate/h", "APR", "ts"):
            ref_table.add_column(col)
        for r in refs:
            ref_table.add_row(
                r["source_venue"],
                r["venue"],
                r["symbol"],
                _pct(r["rate_hourly"]),
                _pct(r["rate_hourly"] * 8760, 2),
                r["ts"].isoformat(),
            )
        console.print(ref_table)


def print_opportunities(result: Any, *, title: str = "funding-arbitrage opportunities") -> None:
    """The ranked table for people (percent shown here only; JSON keeps fractions)."""
    table = Table(title=f"{title}, net of round-trip costs", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in (
        "#",
        "asset",
        "long",
        "short",
        "spread/h",
        "gross APR",
        "cost",
        "net APR",
        "break-even",
        "min vol 24h",
        "min OI",
        "same sign",
    ):
        table.add_column(col, justify="left" if col in ("asset", "long", "short") else "right", no_wrap=True)
    for i, o in enumerate(result.opportunities, 1):
        d = o.to_json_dict()
        net = d["net_apr"]
        colour = "green" if net > 0 else "red"
        be = "-" if d["break_even_hours"] is None else f"{d['break_even_hours']:.1f}h"
        persist = "-" if d.get("sign_persistence_hours") is None else f"{d['sign_persistence_hours']:g}h"
        table.add_row(
            str(i),
            d["symbol"],
            d["long_venue"],
            d["short_venue"],
            _pct(d["spread_hourly"]),
            _pct(d["gross_apr"], 2),
            _pct(d["round_trip_cost"], 3),
            f"[{colour}]{_pct(net, 2)}[/]",
            be,
            _usd(d["min_volume_24h_usd"]),
            _usd(d["min_open_interest_usd"]),
            persist,
        )
    console.print(table)
    if result.stale:
        names = ", ".join(f"{s.venue}:{s.symbol} ({s.age_seconds:.0f}s)" for s in result.stale[:10])
        more = f" and {len(result.stale) - 10} more" if len(result.stale) > 10 else ""
        err_console.print(f"[yellow]excluded as stale:[/] {names}{more}")
    if not result.opportunities:
        err_console.print("no opportunity passes the filters")


@app.command()
def opportunities(
    min_apr: float | None = typer.Option(
        None, "--min-apr", help="minimum net APR as a fraction (0.1 = 10 %)"
    ),
    horizon_hours: float | None = typer.Option(
        None, "--horizon-hours", min=0.001, help="holding horizon (h)"
    ),
    venues: str | None = typer.Option(None, help="only these venues (comma-separated)"),
    exclude: str | None = typer.Option(None, help="exclude these venues"),
    require: str | None = typer.Option(None, help="at least one leg on one of these venues"),
    symbols: str | None = typer.Option(None, help="only these base assets"),
    min_volume_usd: float | None = typer.Option(
        None, "--min-volume-usd", help="min 24 h volume, smaller leg"
    ),
    min_oi_usd: float | None = typer.Option(None, "--min-oi-usd", help="min open interest USD, smaller leg"),
    maker: bool = typer.Option(False, "--maker", help="maker fees instead of taker"),
    slippage_bps: float | None = typer.Option(
        None, "--slippage-bps", min=0, help="expected slippage per fill"
    ),
    limit: int | None = typer.Option(20, "--limit", min=1, help="rows to show"),
    as_json: bool = typer.Option(False, "--json", help="JSON list (APR and rates as fractions)"),
) -> None:
    """Rank cross-venue funding-rate opportunities net of costs over a holding horizon."""
    settings = _settings()
    configure_logging(settings, quiet=True)
    for opt, names in (
        ("--venues", _split(venues)),
        ("--exclude", _split(exclude)),
        ("--require", _split(require)),
    ):
        _check_venues(names, opt)
    try:
        query = build_query(
            settings.ranking_config(),
            min_apr=min_apr,
            horizon_hours=horizon_hours,
            venues=_split(venues),
            exclude=_split(exclude),
            require=_split(require),
            symbols=_split(symbols),
            min_volume_usd=min_volume_usd,
            min_oi_usd=min_oi_usd,
            maker=maker,
            slippage_bps=slippage_bps,
            limit=limit,
        )
    except (ValidationError, ValueError) as exc:
        die(str(exc))
        return
    from funding_rate_service.service import get_opportunities

    async def main() -> Any:
        async with open_engine(settings) as engine, engine.connect() as conn:
            return await get_opportunities(conn, query)

    result = asyncio.run(main())
    if as_json:
        _print_json([o.to_json_dict() for o in result.opportunities])
    else:
        print_opportunities(result)


# ------------------------------------------------------------------------------------------- serve / sim


@app.command()
def serve(
    host: str | None = typer.Option(None, help="bind address (default PERPARB_API_HOST, 127.0.0.1)"),
    port: int | None = typer.Option(None, help="port (default PERPARB_API_PORT, 8000)"),
    insecure: bool = typer.Option(
        False, "--insecure", help="bind beyond loopback without PERPARB_API_TOKEN (not recommended)"
    ),
) -> None:
    """Run the web dashboard (at /), the REST API (OpenAPI docs at /docs) and /metrics. The dashboard's control
    actions (pause, resume, flatten) need PERPARB_API_TOKEN (or PERPARB_API_TOKEN_FILE); binding beyond loopback
    needs it too (or --insecure); only the Host names in PERPARB_API_ALLOWED_HOSTS (plus the bind address) are
    answered."""
    import uvicorn

    from database.session import wait_until_reachable
    from perparb.runtime import database_url
    from perparb.web import create_web_app

    settings = _settings()
    configure_logging(settings)
    bind = host or settings.api_host
    config = settings.service_config(bind)  # ConfigError (one line) for an unreadable or short token
    if not is_loopback(bind) and config.api_token is None and not insecure:
        die(
            f"refusing to serve on {bind}: the API would be reachable from other machines without a token; set "
            "PERPARB_API_TOKEN or PERPARB_API_TOKEN_FILE (or pass --insecure)"
        )
    asyncio.run(wait_until_reachable(database_url(settings), wait_seconds=settings.database_wait_seconds))
    uvicorn.run(
        create_web_app(config),
        host=bind,
        port=port or settings.api_port,
        log_level=settings.log_level.lower(),
    )


@app.command()
def sim(
    scenario: Path = typer.Option(..., exists=True, file_okay=False, help="scenario folder"),
    port: list[str] = typer.Option(
        [],
        "--port",
        metavar="VENUE=PORT",
        help="a venue's port (repeatable; 0 = a free port; default: the venue's fixed port)",
    ),
    venue: list[str] = typer.Option(
        [], "--venue", help="simulate only this venue (repeatable; default: all)"
    ),
    host: str = typer.Option("127.0.0.1", help="bind address"),
    speed: float = typer.Option(
        1.0, min=0.001, help="simulated seconds per real second (3600: an hour per second)"
    ),
) -> None:
    """Run the local venue simulator in the foreground (market data, trading, funding, faults).

    Prints one line `ready <venue>=<url> ...` (e.g. `ready lighter=http://... paradex=http://.../v1`) when every
    venue listens. Each venue listens on its fixed default port (Lighter 8801, Paradex 8802, ...: the URLs
    `.env.example` names) unless `--port VENUE=PORT` says otherwise.
    """
    from simulator.protocol import installed_protocols
    from simulator.scenario import ScenarioError
    from simulator.server import parse_ports, serve_forever

    try:
        chosen = venue or list(installed_protocols())
        defaults = {name: p.default_port for name, p in installed_protocols().items() if name in chosen}
        ports = defaults | parse_ports(port)
        serve_forever(scenario, host=host, ports=ports, venues=venue or None, speed=speed)
    except ScenarioError as exc:
        die(f"bad scenario: {exc}")
    except ValueError as exc:
        die(str(exc))
    except OSError as exc:
        die(f"cannot listen: {exc}")


# ------------------------------------------------------------------------------------------------ backtest


def _check_output_dir(path: Path | None, option: str) -> None:
    """Create `path` (a directory for output files) and prove it writable now, before any long work: an unusable
    path is a one-line error at once, not after the replay."""
    if path is None:
        return
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".perparb-write-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        die(f"{option} {path}: cannot write there ({exc.strerror or type(exc).__name__})")


def _parse_when(value: str | None, option: str) -> Any:
    """`YYYY-MM-DD` (00:00 UTC that day) or an ISO-8601 time (UTC when it has no offset) -> aware datetime."""
    from datetime import datetime, timezone

    if value is None:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        die(f"{option}: {value!r} is not a date (YYYY-MM-DD) or an ISO-8601 time")
        return None
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


@app.command()
def backtest(
    config: Path = typer.Argument(..., help="strategy YAML (the same file as live and paper trading)"),
    history: str = typer.Option(
        ..., "--history", help="parquet/CSV file or directory (../shared/funding-history format), or 'db'"
    ),
    from_: str | None = typer.Option(
        None, "--from", help="first decision time: YYYY-MM-DD or ISO-8601 (UTC)"
    ),
    to: str | None = typer.Option(
        None, "--to", help="last decision time: YYYY-MM-DD (00:00 UTC) or ISO-8601"
    ),
    venues: str | None = typer.Option(None, help="comma-separated venues replacing the config's"),
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON (APRs as fractions)"),
    plot: Path | None = typer.Option(
        None, "--plot", file_okay=False, help="write PNG charts into this directory"
    ),
    budget_usd_per_venue: float | None = typer.Option(
        None,
        "--budget-usd-per-venue",
        help="capital per venue, USD (default: sizing.max_exposure_per_venue_usd, else 10 x target notional)",
    ),
    save: bool = typer.Option(
        False, "--save", help="store the report in the database (the dashboard lists it); prints its id"
    ),
    name: str | None = typer.Option(
        None, "--name", help="--save: the report's name (default '<config> <from>..<to>')"
    ),
) -> None:
    """Replay settled funding history through the funding-arbitrage decision code and report the result.

    `--save` stores the finished report (figures, text, the config, and the equity-curve PNG with `--plot`) in the
    database in one transaction and prints `saved backtest report <id>` (with `--json`: `saved_report_id`); the
    database is checked before the replay, so an unreachable one fails at once."""
    from backtest.store import NAME_MAX

    if name is not None and not save:
        die("--name names a saved report: add --save")
    if name is not None and not name.strip():
        die("--name: the report name is empty")
    if name is not None and len(name.strip()) > NAME_MAX:
        die(f"--name: {len(name.strip())} characters, longer than {NAME_MAX}")
    settings = _settings()
    configure_logging(settings, quiet=True)
    from backtest.engine import BacktestError, BacktestOptions, run_backtest, with_venues
    from backtest.loader import DB_SOURCE, HistoryError, load_history, load_history_db
    from backtest.report import build_report, print_report
    from strategies.config import FundingArbitrageConfig, load_config

    names = _split(venues)
    try:
        cfg = load_config(config)
        if not isinstance(cfg, FundingArbitrageConfig):
            raise ConfigError(
                f"{config}: strategy: the backtester replays funding_arbitrage configs, not {cfg.strategy}"
            )
        if names:
            cfg = with_venues(cfg, names)
    except ConfigError as exc:
        die(str(exc))
        return
    _check_output_dir(plot, "--plot")
    start = _parse_when(from_, "--from")
    end = _parse_when(to, "--to")
    budget = None if budget_usd_per_venue is None else Decimal(str(budget_usd_per_venue))
    if save:

        async def reachable() -> None:  # fail before the replay, not after it
            async with open_engine(settings) as engine, engine.connect():
                pass

        asyncio.run(reachable())
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=as_json,
    ) as progress:
        loading = progress.add_task(f"load history {history}", total=None)
        try:
            if history == DB_SOURCE:

                async def load() -> Any:
                    async with open_engine(settings) as engine, engine.connect() as conn:
                        return await load_history_db(conn, venues=cfg.venues)

                hist = asyncio.run(load())
            else:
                hist = load_history(Path(history), venues=cfg.venues)
        except HistoryError as exc:
            die(str(exc))
            return
        progress.update(loading, total=1, completed=1)
        replay = progress.add_task("replay (decision hours)", total=None)
        try:
            result = run_backtest(
                cfg,
                hist,
                BacktestOptions(start=start, end=end, budget_usd_per_venue=budget),
                progress=lambda done, total: progress.update(replay, completed=done, total=total),
            )
        except BacktestError as exc:
            die(str(exc))
            return
    report = build_report(result)
    paths: list[Path] = []
    if plot is not None:
        from backtest.plots import write_plots

        try:
            paths = write_plots(result, report, plot)
        except OSError as exc:
            die(f"--plot {plot}: {exc}")
    saved_id = _save_backtest(settings, report, cfg, name, paths) if save else None
    if as_json:
        data = report.to_json_dict()
        data["plots"] = [str(p) for p in paths]
        if save:
            data["saved_report_id"] = saved_id
        _print_json(data)
    else:
        print_report(report, console)
        for p in paths:
            console.print(f"wrote {p}", highlight=False)
        if save:
            console.print(f"saved backtest report {saved_id}", highlight=False)


def _save_backtest(settings: Settings, report: Any, cfg: Any, name: str | None, plots: list[Path]) -> int:
    """Store a finished backtest (`backtest.store.save_report`, one transaction); the equity curve is the PNG kept
    (`write_plots` writes it first)."""
    from backtest.report import report_text
    from backtest.store import save_report

    png = None
    if plots:
        try:
            png = plots[0].read_bytes()
        except OSError as exc:
            die(f"--plot {plots[0]}: cannot read it back to save ({exc.strerror or type(exc).__name__})")

    async def main() -> int:
        async with open_engine(settings) as engine:
            return await save_report(
                engine,
                report,
                config=cfg.model_dump(mode="json"),
                strategy=cfg.strategy,
                text=report_text(report),
                name=name,
                plot_png=png,
            )

    return asyncio.run(main())


@app.command()
def sweep(
    config: Path = typer.Argument(..., help="base strategy YAML (funding_arbitrage)"),
    grid: Path = typer.Option(..., "--grid", help="YAML: dotted config path -> list of values"),
    history: str = typer.Option(..., "--history", help="parquet/CSV file or directory, or 'db'"),
    train_from: str = typer.Option(
        ..., "--train-from", help="first training decision time (YYYY-MM-DD, UTC)"
    ),
    train_to: str = typer.Option(..., "--train-to", help="last training decision time"),
    test_from: str = typer.Option(..., "--test-from", help="first test decision time (>= --train-to)"),
    test_to: str = typer.Option(..., "--test-to", help="last test decision time"),
    objective: str = typer.Option(
        "net_apr_on_budget", "--objective", help="metric maximised on the training window"
    ),
    jobs: int = typer.Option(0, "--jobs", help="worker processes (0 = one per available core)"),
    top: int = typer.Option(10, "--top", help="combinations shown and evaluated on the test window"),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON (APRs as fractions)"),
    plot: Path | None = typer.Option(None, "--plot", file_okay=False, help="write PNG charts of the best"),
    budget_usd_per_venue: float | None = typer.Option(
        None, "--budget-usd-per-venue", help="capital per venue, USD (default as in `backtest`)"
    ),
) -> None:
    """Walk-forward research: evaluate every combination of GRID on the training window with the backtester
    (the live decision code), pick the best by the objective, and report it on the later test window."""
    import time

    settings = _settings()
    configure_logging(settings, quiet=True)
    from backtest.engine import BacktestError
    from backtest.loader import DB_SOURCE, HistoryError, load_history, load_history_db
    from backtest.sweep import (
        OBJECTIVES,
        SweepError,
        build_configs,
        check_windows,
        cpu_count,
        history_range,
        load_grid,
        run_sweep,
        window,
    )
    from perparb_core.errors import ConfigError
    from strategies.config import FundingArbitrageConfig, load_config

    try:
        cfg = load_config(config)
        if not isinstance(cfg, FundingArbitrageConfig):
            raise ConfigError(
                f"{config}: strategy: the sweep evaluates funding_arbitrage configs, not {cfg.strategy}"
            )
        values = load_grid(grid)
        _check_output_dir(plot, "--plot")
        if objective not in OBJECTIVES:
            raise SweepError(f"--objective: {objective!r} is not one of {', '.join(OBJECTIVES)}")
        if jobs < 0:
            raise SweepError(f"--jobs: {jobs} must be 0 (one per core) or more")
        if top < 1:
            raise SweepError(f"--top: {top} must be at least 1")
        train = window("train", _parse_when(train_from, "--train-from"), _parse_when(train_to, "--train-to"))
        test = window("test", _parse_when(test_from, "--test-from"), _parse_when(test_to, "--test-to"))
        combos, _ = build_configs(cfg, values)  # every value validated before the history is read
    except (ConfigError, SweepError) as exc:
        die(str(exc))
        return
    workers = jobs or cpu_count()
    budget = None if budget_usd_per_venue is None else Decimal(str(budget_usd_per_venue))
    started = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=as_json,
    ) as progress:
        loading = progress.add_task(f"load history {history}", total=None)
        try:
            if history == DB_SOURCE:

                async def load() -> Any:
                    async with open_engine(settings) as engine, engine.connect() as conn:
                        return await load_history_db(conn, venues=cfg.venues)

                hist = asyncio.run(load())
            else:
                hist = load_history(Path(history), venues=cfg.venues)
        except HistoryError as exc:
            die(str(exc))
            return
        progress.update(loading, total=1, completed=1)
        try:
            check_windows(train, test, history_range(hist, cfg.venues))
        except SweepError as exc:
            die(str(exc))
            return
        tasks = {
            "train": progress.add_task(
                f"train ({len(combos)} combinations, {workers} jobs)", total=len(combos)
            ),
            "test": progress.add_task(f"test (best {min(top, len(combos))})", total=min(top, len(combos))),
        }
        try:
            result = run_sweep(
                cfg,
                values,
                hist,
                train,
                test,
                objective=objective,
                jobs=workers,
                top=top,
                budget_usd_per_venue=budget,
                progress=lambda phase, done, total: progress.update(
                    tasks[phase], completed=done, total=total
                ),
            )
        except SweepError as exc:
            die(str(exc))
            return
        except BacktestError as exc:
            die(str(exc))
            return
    elapsed = time.perf_counter() - started
    paths: list[Path] = []
    if plot is not None:
        from backtest.sweep_plots import write_sweep_plots

        try:
            paths = write_sweep_plots(result, cfg, hist, plot, budget_usd_per_venue=budget)
        except OSError as exc:
            die(f"--plot {plot}: {exc}")
    if as_json:
        data = result.to_json_dict()
        data["plots"] = [str(p) for p in paths]
        data["elapsed_seconds"] = elapsed
        _print_json(data)
        return
    _print_sweep(result, elapsed, workers)
    for p in paths:
        console.print(f"wrote {p}", highlight=False)


def _print_sweep(result: Any, elapsed: float, workers: int) -> None:
    def pct(m: dict[str, Any] | None, key: str) -> str:
        return "-" if m is None or m.get(key) is None else f"{m[key] * 100:.2f}%"

    def usd(m: dict[str, Any] | None, key: str) -> str:
        return "-" if m is None or m.get(key) is None else _usd(m[key])

    def num(m: dict[str, Any] | None, key: str, fmt: str = "{:,.0f}") -> str:
        return "-" if m is None or m.get(key) is None else fmt.format(m[key])

    table = Table(
        title=(
            f"sweep: best {len(result.ranked)} of {result.evaluated} by training {result.objective}; "
            f"train {result.train_window.start:%Y-%m-%d %H:%M} -> {result.train_window.end:%Y-%m-%d %H:%M}, "
            f"test {result.test_window.start:%Y-%m-%d %H:%M} -> {result.test_window.end:%Y-%m-%d %H:%M} UTC"
        ),
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("#", justify="right")
    for key in result.keys:
        table.add_column(key, justify="right")
    for side in ("train", "test"):
        table.add_column(f"{side} net APR", justify="right")
        table.add_column(f"{side} net PnL", justify="right")
        table.add_column(f"{side} trips", justify="right")
        table.add_column(f"{side} median hold", justify="right")
        table.add_column(f"{side} Sharpe*", justify="right")
    for rank, ev in enumerate(result.ranked, start=1):
        cells = [str(rank), *(str(ev.params[k]) for k in result.keys)]
        for m in (ev.train, ev.test):
            cells += [
                pct(m, "net_apr_on_budget"),
                usd(m, "net_pnl_usd"),
                num(m, "entries"),
                num(m, "median_holding_hours", "{:,.0f} h"),
                num(m, "sharpe", "{:.2f}"),
            ]
        table.add_row(*cells)
    console.print(table)
    best = result.best
    console.print(
        f"best: {', '.join(f'{k}={v}' for k, v in best.params.items())}: train {pct(best.train, 'net_apr_on_budget')}, "
        f"test {pct(best.test, 'net_apr_on_budget')} net APR on budget",
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        f"{result.evaluated} combinations in {elapsed:.1f} s with {workers} worker(s) "
        f"({result.evaluated / elapsed:.2f} per second). *Sharpe of daily PnL, funding only (no price "
        "mark-to-market) unless basis was modelled. Only the training window chose; the test window is reported.",
        highlight=False,
        soft_wrap=True,
    )


# -------------------------------------------------------------------------------------- strategies: config


def _config_errors(message: str) -> list[str]:
    """A ConfigError's text ("<file>: a; b") as one line per problem, each still naming the file."""
    source, sep, rest = message.partition(": ")
    if not sep or " " in source.strip():
        return [message]
    return [f"{source}: {part}" for part in rest.split("; ")]


@config_app.command("validate")
def config_validate(
    file: Path = typer.Argument(..., help="strategy YAML"),
    account: str | None = typer.Option(None, "--account", help="also check this account's credentials"),
    as_json: bool = typer.Option(False, "--json", help="print {valid, summary, errors, notes} as JSON"),
) -> None:
    """Validate a strategy config: fields, then (database reachable) account, leverage and symbols."""
    settings = _settings()
    configure_logging(settings, quiet=True)
    from strategies.config import load_config
    from strategies.config_check import check_config, config_summary

    try:
        cfg = load_config(file)
    except ConfigError as exc:
        errors = _config_errors(str(exc))
        if as_json:
            _print_json({"file": str(file), "valid": False, "summary": None, "errors": errors, "notes": []})
            raise typer.Exit(2) from None
        for line in errors:
            err_console.print(f"[bold red]error:[/] {line}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None

    async def checks() -> Any:
        async with open_engine(settings) as engine, engine.connect() as conn:
            return await check_config(conn, cfg, account=account)

    errors, notes, checked = [], [], True
    try:
        result = asyncio.run(checks())
        errors, notes = result.errors, result.notes
    except Exception as exc:
        checked = False
        notes.append(
            f"database not reachable ({type(exc).__name__}): account, leverage and symbol checks skipped"
        )
    summary = config_summary(cfg)
    if as_json:
        _print_json(
            {
                "file": str(file),
                "valid": not errors,
                "database_checked": checked,
                "summary": summary,
                "errors": errors,
                "notes": notes,
            }
        )
    else:
        table = Table(title=f"{file}", box=box.SIMPLE_HEAD, pad_edge=False, show_header=False)
        table.add_column("field")
        table.add_column("value")
        for key, value in summary.items():
            if value is not None:
                table.add_row(key, ", ".join(map(str, value)) if isinstance(value, list) else str(value))
        console.print(table)
        for line in notes:
            err_console.print(f"[yellow]note:[/] {line}", highlight=False, soft_wrap=True)
        for line in errors:
            err_console.print(f"[bold red]error:[/] {line}", highlight=False, soft_wrap=True)
        if not errors:
            console.print("[green]config is valid[/]")
    if errors:
        raise typer.Exit(2)


# ------------------------------------------------------------------------------------------ strategies: run


@app.command()
def run(
    file: Path = typer.Argument(..., help="strategy YAML (see configs/)"),
    account: str = typer.Option(..., "--account", help="account (vault) to trade"),
    paper: bool = typer.Option(False, "--paper", help="trade the in-process simulator, never a real venue"),
    scenario: Path | None = typer.Option(
        None, "--scenario", exists=True, file_okay=False, help="paper: simulator scenario (default: demo)"
    ),
    speed: float = typer.Option(1.0, "--speed", min=0.001, help="paper: simulated seconds per real second"),
    collateral_usd: float = typer.Option(
        100_000, "--collateral-usd", min=0.01, help="paper: USDC deposited on each venue"
    ),
    max_cycles: int | None = typer.Option(None, "--max-cycles", min=1, help="stop after N cycles"),
    as_json: bool = typer.Option(False, "--json", help="print the run summary as JSON"),
    metrics_port: int | None = typer.Option(
        None, "--metrics-port", min=1, max=65535, help="serve Prometheus metrics on this port (/metrics)"
    ),
    metrics_host: str = typer.Option(
        "127.0.0.1", "--metrics-host", help="address the metrics port binds (0.0.0.0 in a container)"
    ),
) -> None:
    """Run a strategy on an account until Ctrl-C / SIGTERM (or --max-cycles); --paper for the simulator.

    While it runs: `perparb pause|resume|flatten --account NAME` act on it from any shell or machine sharing the
    database; the config's `risk:` limits are enforced after every cycle; alerts go to PERPARB_ALERT_URLS; with
    --metrics-port, Prometheus metrics at /metrics."""
    if not paper and (scenario is not None or speed != 1.0 or collateral_usd != 100_000):
        die("--scenario, --speed and --collateral-usd only apply with --paper")
    settings = _settings()
    configure_logging(settings, quiet=as_json)
    from database.vault import Vault
    from strategies.config import load_config
    from strategies.runner import RunOptions, run_strategy

    try:
        cfg = load_config(file)
    except ConfigError as exc:
        die(str(exc))
        return
    try:
        env_key = settings.master_key.get_secret_value() if settings.master_key else None
        vault = Vault.load(env_key=env_key, key_file=settings.key_file)
    except VaultError as exc:
        die(str(exc))
        return
    options = RunOptions(
        paper=paper,
        scenario=scenario,
        speed=speed,
        paper_collateral_usd=Decimal(str(collateral_usd)),
        max_cycles=max_cycles,
    )
    try:
        start_metrics_server(metrics_port, metrics_host)
    except ConfigError as exc:
        die(str(exc))
        return

    async def main() -> Any:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            async with (
                open_engine(settings, wait_seconds=settings.database_wait_seconds) as engine,
                alert_dispatcher(engine, settings),
            ):
                return await run_strategy(
                    cfg,
                    account,
                    engine=engine,
                    vault=vault,
                    settings=settings.trading_config(list(cfg.venues)),
                    options=options,
                    stop=stop,
                )
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    try:
        summary = asyncio.run(main())
    except PerparbError as exc:  # every error raised on purpose, config to venue (one root)
        die(str(exc))
        return
    except Exception as exc:
        die(f"run failed: {type(exc).__name__}: {exc}")
        return
    data = {
        "run_id": summary.run_id,
        "status": summary.status,
        "cycles": summary.cycles,
        "reason": summary.reason,
        "account": account,
        "mode": "paper" if paper else "live",
        "strategy": cfg.strategy,
        "config_name": cfg.name,
    }
    if as_json:
        _print_json(data)
    else:
        console.print(
            f"run {data['run_id']} ({data['mode']} {data['strategy']} {data['config_name']!r} on {account}): "
            f"{data['status']} after {data['cycles']} cycles ({data['reason']}); `perparb status` for positions",
            highlight=False,
        )


# --------------------------------------------------------------------------------------- strategies: status


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def _money(value: str | None) -> str:
    return "-" if value is None else f"{Decimal(value):,.2f}"


def _pct_or_dash(value: Any) -> str:
    try:
        return "-" if value is None else f"{float(value) * 100:.2f} %"
    except (TypeError, ValueError):
        return str(value)


def _print_status(data: dict[str, Any]) -> None:
    runs = Table(title="runs", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("id", "account", "mode", "strategy", "config", "status", "heartbeat", "reason"):
        runs.add_column(col)
    for r in data["runs"]:
        status = r["status"] + (f" [red]{r['note']}[/]" if r["stale"] else "")
        runs.add_row(
            str(r["id"]),
            r["account"],
            r["mode"],
            r["strategy"],
            r["config_name"],
            status,
            _age(r["heartbeat_age_seconds"]) + " ago",
            r["stop_reason"] or "",
        )
    console.print(runs if data["runs"] else "no runs")
    for title, rows in (
        ("open positions", data["positions"]["open"]),
        ("closed positions", data["positions"]["closed"]),
    ):
        if not rows:
            continue
        table = Table(
            title=title + " (USD; funding + received, fees + paid)", box=box.SIMPLE_HEAD, pad_edge=False
        )
        cols = [
            "id",
            "run",
            "symbol",
            "long",
            "short",
            "status",
            "qty",
            "funding L",
            "funding S",
            "fees",
            "basis",
        ]
        cols += (
            ["uPnL L", "uPnL S", "liq dist L", "liq dist S", "delta"]
            if title.startswith("open")
            else ["realized", "exit"]
        )
        for col in cols:
            table.add_column(
                col, justify="left" if col in ("symbol", "long", "short", "status", "exit") else "right"
            )
        for p in rows:
            pnl = p["pnl"]
            cells = [
                str(p["id"]),
                str(p["run_id"]),
                p["symbol"],
                p["long_venue"],
                p["short_venue"],
                p["status"],
                p["quantity"],
                _money(pnl["funding_long"]),
                _money(pnl["funding_short"]),
                _money(pnl["fees"]),
                _money(pnl["basis"]),
            ]
            if title.startswith("open"):
                m = p["monitor"] or {}
                cells += [
                    _money(m.get("unrealized_pnl_long")),
                    _money(m.get("unrealized_pnl_short")),
                    _pct(m.get("liquidation_distance_long") and Decimal(m["liquidation_distance_long"]), 1),
                    _pct(m.get("liquidation_distance_short") and Decimal(m["liquidation_distance_short"]), 1),
                    m.get("delta") or "-",
                ]
            else:
                cells += [_money(pnl["realized"]), p["exit_reason"] or ""]
            table.add_row(*cells)
        console.print(table)
    if data["grids"]:
        grids = Table(title="grids", box=box.SIMPLE_HEAD, pad_edge=False)
        for col in (
            "run",
            "venue",
            "symbol",
            "open buys",
            "open sells",
            "filled",
            "filled qty",
            "fees",
            "last fill",
        ):
            grids.add_column(col)
        for g in data["grids"]:
            grids.add_row(
                str(g["run_id"]),
                g["venue"],
                g["symbol"],
                str(g["open_buys"]),
                str(g["open_sells"]),
                str(g["filled_orders"]),
                g["filled_quantity"],
                _money(g["fees"]),
                g["last_fill_at"] or "-",
            )
        console.print(grids)
    for block in data.get("candidates", []):
        table = Table(
            title=(
                f"last cycle's best candidates: {block['account']} {block['mode']} {block['config_name']} "
                f"(run {block['run_id']}, {str(block['at'])[:19]})"
            ),
            box=box.SIMPLE_HEAD,
            pad_edge=False,
        )
        for col in ("symbol", "long", "short", "signal APR", "exp. net APR", "t-stat", "why not entered"):
            table.add_column(col)
        for c in block["candidates"]:
            table.add_row(
                c["symbol"],
                c["long_venue"],
                c["short_venue"],
                _pct_or_dash(c.get("signal_apr")),
                _pct_or_dash(c.get("expected_net_apr")),
                "-" if c.get("tstat") is None else f"{float(c['tstat']):.2f}",
                c["reason"] or "[green]entered[/]",
            )
        console.print(table)
    if data["events"]:
        events = Table(title="recent events (newest first)", box=box.SIMPLE_HEAD, pad_edge=False)
        for col in ("at", "run", "level", "kind", "message"):
            events.add_column(col)
        for e in data["events"]:
            colour = {"error": "red", "warn": "yellow"}.get(e["level"])
            level = f"[{colour}]{e['level']}[/]" if colour else e["level"]
            events.add_row(e["at"][:19], str(e["run_id"]), level, e["kind"], e["message"])
        console.print(events)


@app.command()
def status(
    as_json: bool = typer.Option(False, "--json", help="print everything as JSON"),
    account: str | None = typer.Option(None, "--account", help="only this account"),
    events: int = typer.Option(20, "--events", min=0, help="most recent events to show"),
) -> None:
    """Strategy runs (stale heartbeats flagged), positions with PnL decomposition, grids, recent events."""
    settings = _settings()
    configure_logging(settings, quiet=True)
    from strategies.status import gather_status

    async def main() -> dict[str, Any]:
        async with open_engine(settings) as engine, engine.connect() as conn:
            return await gather_status(conn, account=account, events=events)

    data = asyncio.run(main())
    if as_json:
        _print_json(data)
    else:
        _print_status(data)


# ------------------------------------------------------------------------------- strategies: run commands


def _issued_by() -> str:
    """Who issued a command from this shell: user@host (pid), for the run's events and alerts."""
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "?"
    return f"cli {user}@{socket.gethostname()} (pid {os.getpid()})"


def _run_command(
    command: str, account: str, mode: str | None, reason: str | None, wait: float, as_json: bool
) -> None:
    """Issue `command` to the run of `account` through the database and wait for it to be carried out (see
    `database.commands`). Exit 0 when done, 1 when no run picked it up within `wait` seconds, 2 on bad input."""
    settings = _settings()
    configure_logging(settings, quiet=True)
    if mode not in (None, "live", "paper"):
        die(f"--mode: {mode!r} is not live or paper")
    from database import commands
    from database.accounts import list_accounts

    async def main() -> tuple[int, dict[str, Any]]:
        async with open_engine(settings) as engine:
            names = {a.name for a in await list_accounts(engine)}
            if account not in names:
                raise ConfigError(
                    f"--account: unknown account {account!r}; `perparb accounts list-accounts` shows them"
                )
            running = await commands.running_runs(engine, account, mode)
            if not running and command in commands.ACT_NOW:
                raise ConfigError(
                    f"no running run of {account!r}{'' if mode is None else f' in {mode} mode'}: nothing to "
                    f"{command} (`perparb status --account {account}`)"
                )
            if len({r.mode for r in running}) > 1 and mode is None:
                raise ConfigError(
                    f"{account!r} has a live and a paper run: say which with --mode live or --mode paper"
                )
            cmd = await commands.issue_command(
                engine, account, command, issued_by=_issued_by(), reason=reason, mode=mode
            )
            data: dict[str, Any] = {
                "command_id": cmd.id,
                "account": account,
                "command": command,
                "mode": mode,
                "status": cmd.status,
                "run_id": None,
                "result": None,
            }
            if not running:
                data["result"] = f"recorded: no run of {account} is running; its next run starts " + (
                    "paused" if command == "pause" else "with entries on"
                )
                return 0, data
            loop = asyncio.get_running_loop()
            deadline = loop.time() + wait
            while loop.time() < deadline:
                cmd = await commands.get_command(engine, cmd.id)
                if cmd.status != "pending":
                    break
                await asyncio.sleep(0.2)
            data.update(status=cmd.status, run_id=cmd.run_id, result=cmd.result)
            if cmd.status == "pending":
                data["result"] = (
                    f"not picked up within {wait:g} s: run {running[0].id} may be dead or mid-cycle "
                    f"(heartbeat {running[0].heartbeat_at.isoformat()}); the command stays pending"
                    + (f" until {cmd.expires_at.isoformat()}" if command in commands.ACT_NOW else "")
                )
                return 1, data
            if command == "flatten" and cmd.run_id is not None:
                while loop.time() < deadline:
                    run = await commands.run_status(engine, cmd.run_id)
                    if run.status != "running":
                        data["run_status"], data["stop_reason"] = run.status, run.stop_reason
                        break
                    await asyncio.sleep(0.2)
                else:
                    data["run_status"] = "running"
                    data["result"] += f"; run {cmd.run_id} still closing after {wait:g} s"
            return 0, data

    code, data = asyncio.run(main())
    if as_json:
        _print_json(data)
    else:
        console.print(
            f"{command} {account}: {data['result']}"
            + (f" (run {data['run_id']})" if data.get("run_id") else "")
            + (f"; run {data['run_status']}: {data.get('stop_reason')}" if data.get("run_status") else ""),
            highlight=False,
        )
    raise typer.Exit(code)


_ACCOUNT = typer.Option(..., "--account", help="the account whose run receives the command")
_MODE = typer.Option(None, "--mode", help="live or paper (needed only when both run)")
_REASON = typer.Option(None, "--reason", help="why (shown in the run's events and alerts)")
_JSON = typer.Option(False, "--json", help="print the outcome as JSON")


@app.command()
def pause(
    account: str = _ACCOUNT,
    mode: str | None = _MODE,
    reason: str | None = _REASON,
    wait: float = typer.Option(30.0, "--wait", min=0, help="seconds to wait for the run to act"),
    as_json: bool = _JSON,
) -> None:
    """Stop new entries of the account's run (positions stay watched; a grid places only take-profit orders).
    Works from any machine sharing the database; with no run running, its next run starts paused."""
    _run_command("pause", account, mode, reason, wait, as_json)


@app.command()
def resume(
    account: str = _ACCOUNT,
    mode: str | None = _MODE,
    reason: str | None = _REASON,
    wait: float = typer.Option(30.0, "--wait", min=0, help="seconds to wait for the run to act"),
    as_json: bool = _JSON,
) -> None:
    """Allow new entries again (lifts a pause, including one the risk guardian set)."""
    _run_command("resume", account, mode, reason, wait, as_json)


@app.command()
def flatten(
    account: str = _ACCOUNT,
    mode: str | None = _MODE,
    reason: str | None = _REASON,
    wait: float = typer.Option(120.0, "--wait", min=0, help="seconds to wait for the run to close and stop"),
    as_json: bool = _JSON,
) -> None:
    """Close every position of the account's run (reduce-only, bounded) and stop it; waits until it stopped."""
    _run_command("flatten", account, mode, reason, wait, as_json)


# ------------------------------------------------------------------------------------------------------ soak


@app.command()
def soak(
    accounts: int = typer.Option(12, "--accounts", min=2, help="runner processes, one account each"),
    simulated_hours: float = typer.Option(
        6.0, "--simulated-hours", min=0.01, help="venue time covered (hours)"
    ),
    seed: int = typer.Option(1, "--seed", help="seeds the chaos schedule, funding phases and price moves"),
    venues: str | None = typer.Option(
        None,
        "--venues",
        help="comma-separated simulated venues (default: every installed venue with a simulator)",
    ),
    speed: float = typer.Option(60.0, "--speed", min=1.0, help="simulated seconds per real second"),
    workdir: Path | None = typer.Option(
        None, "--workdir", help="configs, logs, database, PNG (default: /tmp/ppsoak*)"
    ),
    png: Path | None = typer.Option(None, "--png", help="timeline PNG (default: WORKDIR/timeline.png)"),
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
) -> None:
    """Many accounts under chaos: one simulator, N runner processes on one database, a seeded fault schedule,
    invariant checks; exit 1 when an invariant is broken.

    The runners trade the simulator as a live venue (`perparb run`), funding arbitrage and grid alternating, while
    the schedule injects every simulator fault (rejects, partial fills, latency, 429 / 5xx, WebSocket drops and
    skips, venue down, price moves) and process faults (SIGKILL at random and between the legs of an entry,
    SIGTERM with on_stop close, a database restart, a lease connection killed). DATABASE_URL: that server is
    shared (never restarted: its sessions are terminated instead); else an embedded one in the work folder."""
    from perparb.soak.harness import run_soak, soak_venues
    from perparb.soak.plan import SoakPlan

    settings = _settings()
    configure_logging(settings, quiet=True)
    try:
        chosen = soak_venues(_split(venues))
        plan = SoakPlan(
            accounts=accounts, simulated_hours=simulated_hours, seed=seed, venues=tuple(chosen), speed=speed
        )
    except ValueError as exc:
        die(str(exc))
        return
    if workdir is not None and len(str(workdir.expanduser().resolve())) > 60:
        die(
            f"--workdir: {str(workdir)!r} is too long for the embedded PostgreSQL socket (keep it under 60 bytes)"
        )
    total = plan.wall_seconds + plan.settle_seconds
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f} s"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=as_json or not err_console.is_terminal,
    ) as bar:
        task = bar.add_task(f"soak seed {seed}: {accounts} accounts, {simulated_hours:g} h", total=total)
        try:
            report = asyncio.run(
                run_soak(
                    plan,
                    database_url=settings.database_url,
                    workdir=workdir,
                    progress=lambda done, _total: bar.update(task, completed=done),
                    png=png,
                )
            )
        except PerparbError as exc:
            die(str(exc))
            return
        except (KeyboardInterrupt, asyncio.CancelledError):
            die("soak interrupted: its runners, simulator and database were stopped; no report")
            return
    if as_json:
        _print_json(report.to_json())
    else:
        console.print(report.to_text(), highlight=False, markup=False)
    if not report.ok:
        raise typer.Exit(1)


def main() -> None:
    """Entry point of `perparb`: every error raised on purpose (`PerparbError`: settings, config files, the
    database, the vault, a venue) ends the command with one line on stderr and exit code 2; anything else is a
    bug and keeps its traceback."""
    try:
        app()
    except PerparbError as exc:
        die(" ".join(str(exc).split()))


if __name__ == "__main__":
    main()


__all__ = ["app", "main", "print_opportunities"]
