"""Supervision of one run between its cycles: operator commands, the risk guardian, metrics and the equity curve.

The runner (`strategies.runner`) owns a `RunSupervisor` per run and calls it:

* `start()` once, before the first cycle: a pause issued while no run traded the account (the latest handled
  `pause` not followed by a `resume`, `database.commands.entries_paused_at_start`) makes the run start paused;
  pending commands are applied;
* `gate()` before every entry (installed as `RunContext.entry_gate`): applies pending commands, then says why
  entries are paused, if they are;
* `after_cycle(failed_cycles, error)` after every cycle, failed or not: applies pending commands, builds the
  book (`Strategy.book()`), exports it (`perparb_core.metrics`), records the equity curve (`run_equity`, at most
  one row per `EQUITY_EVERY` of the run's clock), raises `liquidation_warning` alerts, evaluates the risk limits
  and carries out their actions; returns a `StopRequest` when the run must flatten and stop;
* `wait(stop, seconds)` between cycles: sleeps, reading pending commands every `COMMAND_POLL_SECONDS`, so a
  `flatten` acts within about a second, not at the next cycle;
* `close()` at the end: removes the run's series from the metrics.

Command semantics (`database.commands`): `pause` / `resume` switch entries off / on (the strategies check
`RunContext.may_enter()` before each entry; a grid then places only take-profit orders); `reduce` closes the
riskiest position (`Strategy.reduce`); `flatten` closes every position and stops the run (the runner calls
`strategy.stop(close=True)`). Each handled command is marked `done` with what was done, and raises a
`command_handled` alert. Risk actions reuse the same paths: `pause_entries` records a `pause` command issued by
"risk guardian" (so `perparb resume` lifts it and a restart keeps it), `reduce` and `flatten` act directly.

Venue trouble while building the book (a grid reads its position from the venue) skips that cycle's book, never
the run; the failed-cycle limit is still judged.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.dialects.postgresql import insert as pg_insert

from database import commands
from database.alerts import raise_alert
from database.models import RunEquity, table_of
from perparb_core import metrics
from perparb_core.errors import VenueError
from strategies import state
from strategies.base import RunContext, Strategy
from strategies.book import RunBook, legs_of
from strategies.risk import Breach, RiskGuardian

log = logging.getLogger(__name__)

RUN_EQUITY = table_of(RunEquity)
EQUITY_EVERY = timedelta(minutes=1)
"""At most one `run_equity` row per this much of the run's clock."""
OUTAGE_CYCLES = 3
"""Cycles in a row failing on one venue before a `venue_outage` alert (and `venue_recovered` after it)."""


@dataclass(frozen=True, slots=True)
class StopRequest:
    """The run must close every position and stop: `reason` says who asked and why."""

    reason: str


class RunSupervisor:
    """See the module docstring. One per run; not shared between runs."""

    def __init__(self, ctx: RunContext, strategy: Strategy, guardian: RiskGuardian | None = None) -> None:
        self.ctx = ctx
        self.strategy = strategy
        self.guardian = guardian if guardian is not None else RiskGuardian(ctx.config.risk)
        self.labels = {"account": ctx.account, "config": ctx.config.name}
        self.last_book: RunBook | None = None
        self.stop_request: StopRequest | None = None
        self._last_equity_at: datetime | None = None
        self._outage: dict[str, bool] = {}
        self._failures: dict[str, int] = {}

    # ------------------------------------------------------------------------------------------- commands

    async def start(self) -> None:
        async with self.ctx.engine.connect() as conn:
            paused = await commands.entries_paused_at_start(conn, self.ctx.account, self.ctx.mode)
        if paused is not None:
            self._set_paused(_pause_reason(paused))
            await self.ctx.event(
                "paused", f"starting with entries paused: {self.ctx.entries_paused}", level="warn"
            )
        await self.apply_commands()

    def _set_paused(self, reason: str | None) -> None:
        self.ctx.entries_paused = reason
        metrics.RUN_ENTRIES_PAUSED.labels(**self.labels).set(0 if reason is None else 1)

    async def apply_commands(self) -> None:
        """Carry out the account's pending commands, oldest first (see the module docstring)."""
        ctx = self.ctx
        async with ctx.engine.begin() as conn:
            pending = await commands.claim_pending(conn, ctx.account, ctx.mode, now=ctx.now())
            for cmd in pending:
                result = await self._carry_out(cmd)
                await commands.complete(conn, cmd.id, ctx.run.id, result)
                await state.insert_event(
                    conn,
                    ctx.run.id,
                    "command",
                    f"{cmd.command} from {cmd.issued_by}: {result}",
                    level="warn" if cmd.command in ("flatten", "reduce") else "info",
                    detail={"command_id": cmd.id, "command": cmd.command, "reason": cmd.reason},
                )
                await raise_alert(
                    conn,
                    ctx.settings.alerts,
                    "command_handled",
                    f"{ctx.account}/command {cmd.id}",
                    f"{cmd.command} from {cmd.issued_by}"
                    + (f" ({cmd.reason})" if cmd.reason else "")
                    + f": {result}",
                    account=ctx.account,
                    run_id=ctx.run.id,
                )

    async def _carry_out(self, cmd: commands.CommandRow) -> str:
        if cmd.command == "pause":
            self._set_paused(_pause_reason(cmd))
            return "entries paused"
        if cmd.command == "resume":
            self._set_paused(None)
            return "entries resumed"
        if cmd.command == "reduce":
            try:
                return await self.strategy.reduce(f"reduce command from {cmd.issued_by}")
            except VenueError as exc:
                return f"reduce failed: {exc}"
        self.stop_request = StopRequest(
            f"flatten from {cmd.issued_by}" + (f": {cmd.reason}" if cmd.reason else "")
        )
        return "flattening: closing every position and stopping the run"

    async def gate(self) -> str | None:
        """`RunContext.entry_gate`: pending commands applied, then why entries are paused (or None)."""
        await self.apply_commands()
        if self.stop_request is not None:
            return self.stop_request.reason
        return self.ctx.entries_paused

    async def wait(self, stop: asyncio.Event, seconds: float) -> None:
        """Sleep up to `seconds` or until `stop`, applying commands every `commands.COMMAND_POLL_SECONDS`; returns
        early when a flatten arrives."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not stop.is_set() and self.stop_request is None:
            left = deadline - loop.time()
            if left <= 0:
                return
            try:
                await asyncio.wait_for(stop.wait(), timeout=min(left, commands.COMMAND_POLL_SECONDS))
            except asyncio.TimeoutError:
                pass
            try:
                await self.apply_commands()
            except Exception as exc:  # a database blip must not end the wait loop; the next poll retries
                log.warning("run %s: commands not read: %s: %s", self.ctx.run.id, type(exc).__name__, exc)

    # --------------------------------------------------------------------------------------------- cycles

    async def after_cycle(self, failed_cycles: int, error: BaseException | None = None) -> StopRequest | None:
        """Commands, book, metrics, equity, liquidation warnings, risk limits (module docstring)."""
        ctx = self.ctx
        await self._venue_health(error)
        await self.apply_commands()
        if self.stop_request is not None:
            return self.stop_request
        try:
            book = await self.strategy.book()
        except VenueError as exc:
            log.warning("run %s: book not read this cycle: %s", ctx.run.id, exc)
            book = None
        if book is not None:
            self.last_book = book
            self.export(book)
            await self._record_equity(book)
            await self._liquidation_warnings(book)
        judged = book or self.last_book
        if judged is None:
            return None
        for breach in self.guardian.evaluate(judged, failed_cycles):
            stop = await self._act(breach)
            if stop is not None:
                self.stop_request = stop
                return stop
        return None

    async def _venue_health(self, error: BaseException | None) -> None:
        ctx = self.ctx
        failing = error.venue if isinstance(error, VenueError) else None
        for venue in list(ctx.clients):
            if venue == failing:
                count = self._failures.get(venue, 0) + 1
                self._failures[venue] = count
                if count == OUTAGE_CYCLES and not self._outage.get(venue):
                    self._outage[venue] = True
                    await ctx.event(
                        "venue_outage",
                        f"{venue}: {count} cycles in a row failed: {error}",
                        level="error",
                        alert="venue_outage",
                        subject=f"{ctx.account}/{venue}",
                    )
            else:
                self._failures[venue] = 0
                if self._outage.pop(venue, False):
                    await ctx.event(
                        "venue_recovered",
                        f"{venue}: answering again",
                        alert="venue_recovered",
                        subject=f"{ctx.account}/{venue}",
                    )

    def export(self, book: RunBook) -> None:
        """Set the run's and its legs' series from `book`."""
        labels = self.labels
        metrics.RUN_OPEN_POSITIONS.labels(**labels).set(book.open_positions)
        metrics.RUN_FUNDING_USD.labels(**labels).set(float(book.funding_usd))
        metrics.RUN_REALISED_PNL_USD.labels(**labels).set(float(book.realised_usd))
        metrics.RUN_UNREALISED_PNL_USD.labels(**labels).set(float(book.unrealised_usd))
        metrics.RUN_EQUITY_USD.labels(**labels).set(float(book.equity_usd))
        metrics.RUN_NET_DELTA_USD.labels(**labels).set(float(book.net_delta_usd))
        metrics.RUN_ENTRIES_PAUSED.labels(**labels).set(0 if self.ctx.entries_paused is None else 1)
        by_venue = book.notional_by_venue()
        for venue in self.ctx.config.venues:
            metrics.RUN_NOTIONAL_USD.labels(venue=venue, **labels).set(float(by_venue.get(venue, 0)))
        for leg in book.legs:
            where = {"account": self.ctx.account, "venue": leg.venue, "symbol": leg.symbol}
            if leg.margin_ratio is not None:
                metrics.LEG_MARGIN_RATIO.labels(**where).set(float(leg.margin_ratio))
            if leg.liquidation_distance is not None:
                metrics.LEG_LIQUIDATION_DISTANCE.labels(**where).set(float(leg.liquidation_distance))
        metrics.clear_legs(self.ctx.account, keep=legs_of(book))

    async def _record_equity(self, book: RunBook) -> None:
        if self._last_equity_at is not None and book.at - self._last_equity_at < EQUITY_EVERY:
            return
        self._last_equity_at = book.at
        async with self.ctx.engine.begin() as conn:
            await conn.execute(
                pg_insert(RUN_EQUITY)
                .values(
                    run_id=self.ctx.run.id,
                    at=book.at,
                    funding_usd=book.funding_usd,
                    realised_usd=book.realised_usd,
                    unrealised_usd=book.unrealised_usd,
                    equity_usd=book.equity_usd,
                    open_positions=book.open_positions,
                    notional_usd=book.gross_notional_usd,
                    net_delta_usd=book.net_delta_usd,
                )
                .on_conflict_do_nothing()
            )

    async def _liquidation_warnings(self, book: RunBook) -> None:
        ctx = self.ctx
        level = ctx.config.risk.liquidation_warning or ctx.settings.alerts.liquidation_warning
        for leg in book.legs:
            if leg.liquidation_distance is not None and leg.liquidation_distance < level:
                await ctx.event(
                    "liquidation_warning",
                    f"{leg.symbol} on {leg.venue}: {leg.liquidation_distance:.4f} of the mark from liquidation "
                    f"(warning below {level})",
                    level="warn",
                    detail={
                        "venue": leg.venue,
                        "symbol": leg.symbol,
                        "liquidation_distance": str(leg.liquidation_distance),
                        "position_id": leg.position_id,
                    },
                    alert="liquidation_warning",
                    subject=f"{ctx.account}/{leg.venue}/{leg.symbol}",
                )

    async def _act(self, breach: Breach) -> StopRequest | None:
        ctx = self.ctx
        if breach.new:
            metrics.RISK_TRIGGERS.labels(account=ctx.account, limit=breach.limit, action=breach.action).inc()
            await ctx.event(
                "risk",
                breach.message,
                level="error",
                detail={
                    "limit": breach.limit,
                    "action": breach.action,
                    "value": str(breach.value),
                    "threshold": str(breach.threshold),
                },
                alert="risk_triggered",
                subject=f"{ctx.account}/{breach.limit}",
            )
        if breach.action == "pause_entries" and ctx.entries_paused is None:
            await commands.issue_command(
                ctx.engine,
                ctx.account,
                "pause",
                issued_by="risk guardian",
                reason=breach.message,
                mode=ctx.mode,
                now=ctx.now(),
            )
            await self.apply_commands()
        elif breach.action == "reduce":
            try:
                done = await self.strategy.reduce(breach.message)
            except VenueError as exc:
                done = f"reduce failed: {exc}"
            await ctx.event("risk", f"reduce: {done}", level="warn", detail={"limit": breach.limit})
        elif breach.action == "flatten":
            return StopRequest(f"risk guardian: {breach.message}")
        return None

    def close(self) -> None:
        """Remove this run's series from the metrics."""
        metrics.clear_run(self.ctx.account, self.ctx.config.name)


def _pause_reason(cmd: commands.CommandRow) -> str:
    return f"paused by {cmd.issued_by}" + (f": {cmd.reason}" if cmd.reason else "")
