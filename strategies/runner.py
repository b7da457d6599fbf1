"""The strategy runner behind `perparb run FILE --account NAME [--paper]`.

Order of work (each step fails with a clear message and leaves nothing half-done):

1. validate the config (`strategies.config.load_config`) and load the account from the vault: an unknown account,
   or one without credentials for a venue the config trades, is refused before anything else;
2. take the lease: one advisory lock per (mode, account, venue) on a dedicated connection
   (`strategies.state.Lease`); a second run of the same account on any machine sharing the database is refused
   with a message naming the holder's run id, host and pid;
3. record the run in `strategy_runs` (earlier `running` rows of the account are marked `crashed`: with the lease
   held they cannot be alive);
4. paper mode only: positions an earlier paper run left are closed (`paper_session_ended`: their simulator
   ended with that run); start the simulator in process (`strategies.paper`), register the account's keys there
   and fund it, so the same strategy code trades simulated venues;
5. build and connect the clients (`exchange_clients.registry.create_client`), the funding adapters for the scan;
6. the run's supervisor (`strategies.control.RunSupervisor`) applies pending operator commands (a pause issued
   while nothing ran makes the run start paused); `strategy.start()` reconciles the database with the venues,
   then `strategy.step()` every `loop_interval_seconds`, with a heartbeat and a lease check after each cycle; a
   cycle that fails on a venue error is recorded (`cycle_failed`) and the next cycle tries again (open positions
   stay watched through an outage); `MAX_CONSECUTIVE_FAILURES` in a row end the run. After every cycle, fills the
   venue reported but the database lacks (their read failed when the order's outcome was written) are stored
   (`strategies.fills`, event `fills_backfilled`). After every cycle the
   supervisor exports the book to the metrics, records the equity curve, raises liquidation warnings and judges
   the risk limits (`risk:`); while waiting for the next cycle it reads commands every second;
7. on SIGINT/SIGTERM (`stop` event) or after `max_cycles`: `strategy.stop(close=config.on_stop == "close")`,
   run `stopped`; on a flatten (`perparb flatten`, the dashboard, a risk limit with action `flatten`):
   `strategy.stop(close=True)`, a `flattened` event saying what is left open, run `stopped` with the reason; on
   an exception: run `failed` with the reason and a `run_crashed` (or `lease_lost`) alert; clients disconnected
   and the lease released in every case.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from database.accounts import AccountCredentials, AccountNotFoundError, load_account
from database.alerts import raise_alert
from database.vault import Vault
from exchange_clients.base.client import BaseExchangeClient
from exchange_clients.registry import create_client, create_funding_adapter
from perparb_core import metrics
from perparb_core.errors import ConfigError, PerparbError, VenueError
from perparb_core.logcontext import log_context
from perparb_core.settings import TradingConfig
from strategies import state
from strategies.base import RunContext, Strategy, wall_clock
from strategies.config import FundingArbitrageConfig, GridConfig, StrategyConfig
from strategies.control import RunSupervisor, StopRequest
from strategies.fills import FillBackfill
from strategies.state import Lease, OrderIds

log = logging.getLogger(__name__)

MAX_CONSECUTIVE_FAILURES = 30  # cycles in a row failing on venue errors before the run gives up


class RunError(PerparbError):
    """A run that cannot start (unknown account, missing credentials, ...); the message says why."""


@dataclass(frozen=True)
class RunOptions:
    """How to run. `paper`: trade the in-process simulator (scenario folder `scenario`, default the demo one, at
    `speed` simulated seconds per second, each venue account funded with `paper_collateral_usd`).
    `max_cycles`: stop after this many steps (None = until signalled). `client_options`: extra keyword arguments
    for every client (tests use them for short backoffs)."""

    paper: bool = False
    scenario: Path | None = None
    speed: float = 1.0
    paper_collateral_usd: Decimal = Decimal(100_000)
    max_cycles: int | None = None
    interval_seconds: float | None = None
    client_options: dict[str, Any] | None = None


@dataclass(frozen=True)
class RunSummary:
    run_id: int
    status: str
    cycles: int
    reason: str


def build_strategy(ctx: RunContext) -> Strategy:
    """The strategy object for `ctx.config`."""
    if isinstance(ctx.config, FundingArbitrageConfig):
        from strategies.funding_arbitrage.strategy import FundingArbitrageStrategy

        return FundingArbitrageStrategy(ctx)
    if isinstance(ctx.config, GridConfig):
        from strategies.grid.strategy import GridStrategy

        return GridStrategy(ctx)
    raise ConfigError(f"no strategy for config {type(ctx.config).__name__}")


def check_account(config: StrategyConfig, account: AccountCredentials) -> None:
    """Raises RunError when the account lacks credentials for a venue the config trades (`traded_venues`: a
    history-only venue the backtester replays is not traded)."""
    missing = [v for v in config.traded_venues if v not in account.venues]
    if missing:
        raise RunError(
            f"account {account.name!r} has no credentials for {missing} (it has {sorted(account.venues)}); "
            f"add them with `perparb accounts update-credentials` or change the config's venues"
        )


async def open_account(engine: AsyncEngine, vault: Vault, name: str) -> AccountCredentials:
    try:
        return await load_account(engine, vault, name)
    except AccountNotFoundError:
        raise RunError(
            f"unknown account {name!r}: `perparb accounts list-accounts` shows the accounts"
        ) from None


async def connect_clients(
    account: AccountCredentials,
    venues: list[str],
    settings: TradingConfig,
    symbols: list[str] | None,
    options: dict[str, Any] | None,
    stack: AsyncExitStack,
) -> dict[str, BaseExchangeClient]:
    """Create and connect one client per venue (concurrently); each is disconnected when `stack` closes."""
    clients: dict[str, BaseExchangeClient] = {}
    for venue in venues:
        kwargs: dict[str, Any] = dict(options or {})
        if symbols:
            kwargs.setdefault("markets", symbols)
        clients[venue] = create_client(account.venues[venue], settings.venue(venue), **kwargs)
    results = await asyncio.gather(*(c.connect() for c in clients.values()), return_exceptions=True)
    for client in clients.values():
        stack.push_async_callback(client.disconnect)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return clients


async def _end_paper_session(engine: AsyncEngine, account: str, run_id: int) -> None:
    """Record the end of a paper run's simulator: its positions `paper_session_ended`, orders canceled."""
    try:
        ended = await state.end_paper_session(engine, account)
        if ended:
            await state.record_event(
                engine,
                run_id,
                "paper_session_ended",
                f"{ended} paper position(s) ended with the run's simulator",
                level="warn",
            )
    except (
        Exception
    ):  # a database outage at shutdown must not hide the run's own outcome; the next start ends it
        log.exception("could not record the end of the paper session of run %s", run_id)


async def run_strategy(
    config: StrategyConfig,
    account_name: str,
    *,
    engine: AsyncEngine,
    vault: Vault,
    settings: TradingConfig,
    options: RunOptions = RunOptions(),
    stop: asyncio.Event | None = None,
    now: Callable[[], datetime] | None = None,
    on_started: Callable[[RunContext], Any] | None = None,
) -> RunSummary:
    """Run `config` on `account_name` until `stop` is set or `options.max_cycles` steps (see module docstring).

    Raises:
        RunError: unknown account, missing credentials.
        state.LeaseHeldError: another run trades the account (the message names it).
        ConfigError: the config does not fit the venues (e.g. leverage above a venue's maximum).
        VenueError subclasses: a venue refused the connection.
    """
    stop = stop or asyncio.Event()
    mode = "paper" if options.paper else "live"
    account = await open_account(engine, vault, account_name)
    check_account(config, account)
    venues = config.traded_venues
    if isinstance(config, FundingArbitrageConfig) and len(venues) < 2:
        raise RunError(
            f"config {config.name!r} trades fewer than two venues ({venues}): its other venues "
            f"{[v for v in config.venues if v not in venues]} are history-only (backtests)"
        )
    lease = await Lease.acquire(engine, account_name, venues, mode)
    run = None
    cycles = 0
    async with AsyncExitStack() as stack:
        stack.push_async_callback(lease.release)
        try:
            run = await state.create_run(
                engine,
                account=account_name,
                strategy=config.strategy,
                config_name=config.name,
                config=config.model_dump(mode="json"),
                mode=mode,
                venues=venues,
            )
            await lease.label(run.id)
            stack.enter_context(log_context(run=run.id, account=account_name))
            clock = now or wall_clock
            run_settings = settings
            if options.paper:
                from strategies.paper import start_paper_venues

                ended = await state.end_paper_session(engine, account_name)
                if ended:
                    await state.record_event(
                        engine,
                        run.id,
                        "paper_reset",
                        f"{ended} paper position(s) of an earlier paper run closed: their simulator is gone",
                        level="warn",
                    )

                paper = await start_paper_venues(
                    account,
                    venues,
                    settings,
                    scenario=options.scenario,
                    speed=options.speed,
                    collateral_usd=options.paper_collateral_usd,
                )
                # the paper session ends with this run, whatever the stop path (normal, SIGTERM, an error): the
                # simulator stops first, then the positions and orders it held are recorded as ended (LIFO)
                stack.push_async_callback(_end_paper_session, engine, account_name, run.id)
                stack.push_async_callback(paper.stop)
                run_settings = paper.settings
                clock = now or paper.now
            symbols = sorted(config.symbol_set) if config.symbol_set else None
            clients = await connect_clients(
                account, venues, run_settings, symbols, options.client_options, stack
            )
            adapters = []
            if isinstance(config, FundingArbitrageConfig):
                adapters = [create_funding_adapter(run_settings.venue(v)) for v in venues]
                for adapter in adapters:
                    closer = getattr(adapter, "close", None)
                    if closer is not None:
                        stack.push_async_callback(closer)
            async with engine.connect() as conn:
                seq = await state.max_seq(conn, run.id)
            ctx = RunContext(
                engine=engine,
                run=run,
                config=config,
                clients=clients,
                settings=run_settings,
                order_ids=OrderIds(run.id, seq),
                adapters=adapters,
                now=clock,
            )
            strategy = build_strategy(ctx)
            supervisor = RunSupervisor(ctx, strategy)
            ctx.entry_gate = supervisor.gate
            stack.callback(supervisor.close)
            await ctx.event(
                "start", f"{mode} run of {config.strategy} {config.name!r} on {account_name} {venues}"
            )
            await supervisor.start()
            await strategy.start()
            if on_started is not None:
                maybe = on_started(ctx)
                if asyncio.iscoroutine(maybe):
                    await maybe
            interval = (
                options.interval_seconds
                if options.interval_seconds is not None
                else float(config.loop_interval_seconds)
            )
            reason = "signal"
            failures = 0
            backfill = FillBackfill()
            flatten: StopRequest | None = None
            while not stop.is_set():
                error: VenueError | None = None
                try:
                    keep_going = await strategy.step()
                    failures = 0
                except VenueError as exc:
                    # a venue outage must not kill the run (it would leave open positions unwatched): record
                    # it and try again next cycle; only a persistent outage ends the run
                    failures += 1
                    error = exc
                    metrics.RUN_CYCLE_FAILURES.labels(account=account_name, config=config.name).inc()
                    metrics.count_venue_error(exc.venue, exc)
                    await ctx.event(
                        "cycle_failed",
                        f"cycle failed ({failures} in a row): {exc}",
                        level="error",
                    )
                    if failures >= MAX_CONSECUTIVE_FAILURES:
                        raise
                    keep_going = True
                cycles += 1
                try:
                    added = await backfill.run(ctx)
                    if added:
                        await ctx.event(
                            "fills_backfilled",
                            f"{added} fill(s) the venue reported but the database lacked were stored",
                            level="warn",
                        )
                except VenueError as exc:  # the venue's fill list unreadable now: the next cycle tries again
                    log.info("missing fills not read: %s", exc)
                await state.heartbeat(engine, run.id)
                await lease.check()
                flatten = await supervisor.after_cycle(failures, error)
                if flatten is not None:
                    reason = flatten.reason
                    break
                if not keep_going:
                    reason = "strategy finished"
                    break
                if options.max_cycles is not None and cycles >= options.max_cycles:
                    reason = f"max_cycles {options.max_cycles}"
                    break
                await supervisor.wait(stop, interval)
                if supervisor.stop_request is not None:
                    flatten = supervisor.stop_request
                    reason = flatten.reason
                    break
            close = config.on_stop == "close" or flatten is not None
            await ctx.event("stop", f"stopping ({reason}); open positions {'closed' if close else 'kept'}")
            await strategy.stop(close=close)
            if flatten is not None:
                try:
                    book = await strategy.book()
                except VenueError as exc:
                    await ctx.event(
                        "flattened",
                        f"{flatten.reason}: what is left open is unknown ({exc})",
                        level="error",
                        alert="leg_unbalanced",
                    )
                    await state.finish_run(engine, run.id, "stopped", reason)
                    return RunSummary(run.id, "stopped", cycles, reason)
                await ctx.event(
                    "flattened",
                    f"{flatten.reason}: {book.open_positions} position(s) left open"
                    + (
                        "" if not book.legs else f" ({', '.join(f'{g.venue} {g.symbol}' for g in book.legs)})"
                    ),
                    level="info" if not book.legs else "error",
                    alert=None if not book.legs else "leg_unbalanced",
                )
            await state.finish_run(engine, run.id, "stopped", reason)
            return RunSummary(run.id, "stopped", cycles, reason)
        except BaseException as exc:
            if run is not None:
                why = (
                    f"{type(exc).__name__}: {exc}"
                    if not isinstance(exc, asyncio.CancelledError)
                    else "cancelled"
                )
                try:
                    async with engine.begin() as conn:
                        await state.insert_event(conn, run.id, "failed", why, level="error")
                        await raise_alert(
                            conn,
                            settings.alerts,
                            "lease_lost" if isinstance(exc, state.LeaseLostError) else "run_crashed",
                            f"{account_name}/run {run.id}",
                            f"{mode} run {run.id} of {config.name!r} on {account_name} failed: {why}",
                            account=account_name,
                            run_id=run.id,
                        )
                    await state.finish_run(engine, run.id, "failed", why)
                except Exception:
                    log.exception("could not record the failure of run %s", run.id)
            raise
