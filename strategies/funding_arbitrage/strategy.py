"""The delta-neutral funding-arbitrage strategy, driven by `strategies.runner`.

Each cycle (`step`):
1. **Scan**: the config's venues are fetched concurrently through their funding adapters and priced IN PROCESS
   by the opportunity finder (`decision.opportunity_query`: horizon, volume / open-interest minimums, maximum
   data age, costs). Each direction gets its signal (`signals.estimate_now`: the configured estimator over the
   legs' hourly history, stability statistics, staleness). Live runs store the cycle in the funding tables (it
   is real data) and read the legs' history from there (`history.load_legs`; `start()` backfills the settled
   history the signal needs); paper runs store nothing there (simulated rates must never mix with real ones) and
   keep the simulated venues' history in memory instead (`history.PaperHistory`), with the same bucket rule.
2. **Settle** positions left `opening` / `closing` (a naked leg from an earlier failure is retried first).
3. **Monitor** each open position: per-leg position snapshots (unrealised PnL, funding accrued, liquidation
   distance), funding payments stored, delta between legs, the spread now versus at entry; written to
   `positions.monitor`. Drift beyond `exit.max_leg_drift` is re-hedged (each leg restored to the position's
   quantity), not closed.
4. **Exits**: `decision.exit_decision` on the position's own signal and the best alternative (the same objects
   the backtester uses), executed with the two-leg executor in reverse (reduce-only).
5. **Entries**: `decision.choose_entries` on the candidates (finder pricing + signal), then the live checks the
   ranking cannot make: leverage
   (never above either venue's maximum; set on both venues), available margin on both venues with
   `sizing.margin_buffer`, order-book depth for the size within `max_slippage_bps` on both sides, price
   divergence between the venues' mids within `max_price_divergence_bps`; quantity = target notional / mid on
   the common grid of both venues' size steps (`common_quantity`). Then the atomic two-leg entry.

`start()` sets `sizing.leverage` on the configured symbols' markets (so entries make no leverage request) and
reconciles: interrupted positions are settled; orders of this account (any earlier run) not known final
are looked up by client order id; venue orders carrying one of the account's run ids but unknown to the
database are stray and cancelled; venue positions on assets without a live database position are reported (or
closed with `unknown_positions: close`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError

from exchange_clients.base.client import BPS, StaleBookError, market_order_limit_price
from exchange_clients.base.funding_adapter import BaseFundingAdapter
from exchange_clients.base.order_book import OrderBook
from exchange_clients.base.trading import RoundingError, Side, common_quantity
from funding_rate_service import repository
from funding_rate_service.backfill import backfill
from funding_rate_service.collector import fetch_venue, store_fetches
from funding_rate_service.opportunity_finder import (
    MarketSnapshot,
    Opportunity,
    OpportunityResult,
    find_opportunities,
)
from funding_rate_service.service import HISTORY_DAYS
from perparb_core import metrics
from perparb_core.errors import ConfigError, VenueError
from perparb_core.models import FundingRateSample, MarketInfo
from strategies import state
from strategies.base import RunContext, Strategy
from strategies.book import RunBook, funding_arbitrage_book
from strategies.config import FundingArbitrageConfig
from strategies.execution.margin import MarginLedger, MarginReservation
from strategies.execution.two_leg import Leg, OrderPlan, TwoLegExecutor
from strategies.funding_arbitrage import history
from strategies.funding_arbitrage.decision import (
    EntryCandidate,
    OpenPosition,
    choose_entries,
    entry_refusal,
    exit_decision,
    explain_entries,
    opportunity_query,
    rank,
    signal_params,
)
from strategies.funding_arbitrage.history import PaperHistory
from strategies.funding_arbitrage.signals import LegSeries, SignalEstimate, SignalParams, estimate_now

log = logging.getLogger(__name__)
ZERO = Decimal(0)


@dataclass
class ScanResult:
    """One scan: the finder's pricing of every direction, each direction's signal, the qualifying candidates
    (best first) and the legs' hourly history (to estimate directions the finder could not price)."""

    priced: OpportunityResult
    signals: dict[tuple[str, str, str], SignalEstimate]
    candidates: list[EntryCandidate]
    legs: dict[tuple[str, str], LegSeries]
    now: datetime
    considered: list[EntryCandidate] = field(
        default_factory=list
    )  # every priced direction, qualifying or not

    def signal_of(
        self, symbol: str, long_venue: str, short_venue: str, params: SignalParams
    ) -> SignalEstimate:
        """The direction's signal (computed from the legs when the finder did not price it, e.g. a stale leg)."""
        found = self.signals.get((symbol, long_venue, short_venue))
        if found is None:
            found = estimate_now(
                symbol,
                long_venue,
                short_venue,
                self.legs.get((long_venue, symbol)),
                self.legs.get((short_venue, symbol)),
                self.now,
                params,
            )
        return found


def snapshots_from(markets: list[MarketInfo], samples: list[FundingRateSample]) -> list[MarketSnapshot]:
    """The finder's input from one fetch: per market the newest predicted sample (else the newest settled one),
    with the market's fees and statistics. Markets not `active` are left out."""
    info = {(m.venue, m.venue_symbol): m for m in markets}
    best: dict[tuple[str, str], FundingRateSample] = {}
    for s in samples:
        key = (s.venue, s.venue_symbol)
        cur = best.get(key)
        rank = (s.kind == "predicted", s.ts)
        if cur is None or rank > (cur.kind == "predicted", cur.ts):
            best[key] = s
    out = []
    for key, s in best.items():
        m = info.get(key)
        if m is not None and m.status != "active":
            continue
        stats = m.stats if m is not None else None
        out.append(
            MarketSnapshot(
                venue=s.venue,
                symbol=s.symbol,
                venue_symbol=s.venue_symbol,
                rate_hourly=s.rate_hourly,
                ts=s.ts,
                mark_price=s.mark_price or (stats.mark_price if stats else None),
                open_interest_usd=s.open_interest_usd or (stats.open_interest_usd if stats else None),
                volume_24h_usd=s.volume_24h_usd or (stats.volume_24h_usd if stats else None),
                taker_fee=m.taker_fee if m is not None else None,
                maker_fee=m.maker_fee if m is not None else None,
            )
        )
    return out


GATE_MAX_AGE_SECONDS = 1.0
"""The entry gate (pauses, operator commands) read during the scan serves the cycle's entries only if read within
this time; a longer cycle reads it again before entering."""

TOP_CANDIDATES = 5
"""How many of the best candidates each cycle explains (events and `perparb status`)."""
NO_CANDIDATE = ("", "", "")


class FundingArbitrageStrategy(Strategy):
    """See the module docstring."""

    def __init__(self, ctx: RunContext) -> None:
        super().__init__(ctx)
        if not isinstance(ctx.config, FundingArbitrageConfig):
            raise ConfigError("FundingArbitrageStrategy needs a funding_arbitrage config")
        self.config: FundingArbitrageConfig = ctx.config
        self.executor = TwoLegExecutor(ctx, self.config.execution, self.config.sizing.max_slippage_bps)
        self.margin = MarginLedger()  # margin reserved per venue by the cycle's entries in flight
        self._fallback_noted: dict[str, str] = {}  # venue -> why its balance last came from REST
        self._gate_read_at = float("-inf")  # loop time the cycle's entry gate read started
        self._legs: dict[tuple[str, str], Leg] = {}
        self._leverage_done: set[tuple[str, str]] = set()
        self._max_leverage: dict[tuple[str, str], Decimal | None] = {}
        self.last_scan: ScanResult | None = None
        self.blocked_symbols: set[str] = set()  # assets with a reported unknown venue position: never entered
        self.paper_history = PaperHistory()
        self.db_history = history.DatabaseHistory()
        self.params = signal_params(self.config)
        self.scan_done_at: float = 0.0  # perf_counter() when the latest scan's market data was in hand
        self._last_reasons: dict[
            tuple[str, str, str], str
        ] = {}  # why each top candidate was skipped last cycle
        self._paused_noted: str | None = None  # the pause an entry_skipped event last reported

    # ------------------------------------------------------------------------------------------------ legs

    async def leg(self, venue: str, symbol: str) -> Leg:
        key = (venue, symbol)
        found = self._legs.get(key)
        if found is None:
            client = self.ctx.clients[venue]
            found = Leg(venue, symbol, client, await client.get_contract_attributes(symbol))
            self._legs[key] = found
        return found

    async def legs_of(self, p: state.PositionRow) -> tuple[Leg, Leg]:
        return await self.leg(p.long_venue, p.symbol), await self.leg(p.short_venue, p.symbol)

    # ----------------------------------------------------------------------------------------------- start

    async def check_leverage(self) -> None:
        """Raises ConfigError when `sizing.leverage` is above a venue's maximum for a configured symbol (checked
        at start for the listed symbols, and again before each entry)."""
        lev = self.config.sizing.leverage
        for symbol in sorted(self.config.symbol_set or ()):
            for venue in self.ctx.clients:
                try:
                    leg = await self.leg(venue, symbol)
                except VenueError:
                    continue  # not listed on this venue: never traded there
                await self._check_leg_leverage(leg, lev)

    async def set_leverage_ahead(self) -> None:
        """Set `sizing.leverage` at start on every venue market of the configured symbols, so an entry's path
        does no leverage request (configs without symbols set it at their first entry per market). A venue that
        refuses is reported (`leverage` event) and tried again at the entry."""
        for symbol in sorted(self.config.symbol_set or ()):
            for venue in self.ctx.clients:
                key = (venue, symbol)
                if key not in self._legs:
                    continue  # not listed on this venue (check_leverage found out)
                try:
                    await self._ensure_leverage(self._legs[key])
                except VenueError as exc:
                    await self.ctx.event(
                        "leverage", f"{venue} {symbol}: leverage not set at start: {exc}", level="warn"
                    )

    async def _ensure_leverage(self, leg: Leg) -> None:
        """`sizing.leverage` on the leg's market, set once per market and run (read first: set only if needed).

        Raises:
            VenueError: the read or the change failed."""
        key = (leg.venue, leg.symbol)
        if key in self._leverage_done:
            return
        lev = self.config.sizing.leverage
        current, _ = await leg.client.get_leverage_info(leg.symbol)
        if current != lev:
            await leg.client.set_leverage(leg.symbol, lev)
        self._leverage_done.add(key)

    async def _check_leg_leverage(self, leg: Leg, lev: Decimal) -> None:
        """Raises ConfigError above the venue's maximum for the market (read once per market and run: a
        market's maximum leverage is venue metadata, and the read costs a rate-limited request per entry)."""
        key = (leg.venue, leg.symbol)
        if key not in self._max_leverage:
            _, max_lev = await leg.client.get_leverage_info(leg.symbol)
            self._max_leverage[key] = max_lev or leg.attrs.max_leverage
        maximum = self._max_leverage[key]
        if maximum is not None and lev > maximum:
            raise ConfigError(
                f"sizing.leverage: {lev} is above {leg.venue}'s maximum {maximum} for {leg.symbol}"
            )

    async def backfill_history(self) -> None:
        """Live runs: store the settled history the signal reads (`history.history_hours`) for the config's
        symbols (all listed markets when the config names none) through the venues' funding adapters
        (`funding_rate_service.backfill`, idempotent). A venue that fails is reported; its legs then have no
        history and are not entered until the collector has stored enough."""
        ctx = self.ctx
        days = history.history_hours(self.params) / 24
        for adapter in ctx.adapters:
            try:
                summary = await backfill(ctx.engine, adapter, days=days, symbols=self.config.symbol_set)
            except VenueError as exc:
                await ctx.event("history", f"{adapter.venue}: backfill failed: {exc}", level="warn")
                continue
            await ctx.event(
                "history",
                f"{adapter.venue}: {summary.stored} settled rows stored ({summary.fetched} fetched, "
                f"{days:.1f} days, {summary.markets} markets) for the signals",
            )

    async def start(self) -> None:
        ctx = self.ctx
        await self.check_leverage()
        await self.set_leverage_ahead()
        if ctx.mode == "live":
            await self.backfill_history()
        async with ctx.engine.connect() as conn:
            positions = await state.live_positions(conn, ctx.account, ctx.mode)
            pending = await state.open_orders(conn, ctx.account, ctx.mode)
            runs = await state.run_ids_of(conn, ctx.account, ctx.mode)
        live_ids = {p.id for p in positions}
        # orders of closed/failed positions or without a position: resolve and cancel leftovers
        for row in pending:
            if row.position_id in live_ids or row.venue not in ctx.clients:
                continue
            await self.executor.resolve_order(row, await self.leg(row.venue, row.symbol))
        for p in positions:
            if p.status in ("opening", "closing"):
                long, short = await self.legs_of(p)
                await ctx.event("recover", f"position {p.id} found {p.status}: completing it")
                await self.executor.settle(p.id, long, short, p.status)
        async with ctx.engine.connect() as conn:
            known = {row.client_order_id for row in await state.open_orders(conn, ctx.account, ctx.mode)}
            positions = await state.live_positions(conn, ctx.account, ctx.mode)
        # stray orders: carry one of this account's run ids, unknown to the database as live
        for venue, client in ctx.clients.items():
            try:
                active = await client.get_active_orders()
            except VenueError as exc:
                await ctx.event("reconcile", f"{venue}: active orders unavailable: {exc}", level="warn")
                continue
            for order in active:
                run = state.run_of_client_order_id(order.client_order_id)
                if run in runs and order.client_order_id not in known:
                    await ctx.event(
                        "stray_order",
                        f"{venue}: cancelling stray order {order.client_order_id} (run {run})",
                        level="warn",
                    )
                    try:
                        await client.cancel_order(order.symbol, client_order_id=order.client_order_id)
                    except VenueError as exc:
                        await ctx.event(
                            "stray_order",
                            f"{venue}: cancel of {order.client_order_id} failed: {exc}",
                            level="error",
                        )
        await self._check_unknown_positions(positions)

    async def _check_unknown_positions(self, positions: list[state.PositionRow]) -> None:
        ctx = self.ctx
        held = {(p.symbol, v) for p in positions for v in (p.long_venue, p.short_venue)}
        for venue, client in ctx.clients.items():
            try:
                snaps = await client.get_positions()
            except VenueError as exc:
                await ctx.event("reconcile", f"{venue}: positions unavailable: {exc}", level="warn")
                continue
            for snap in snaps:
                if snap.quantity == 0 or (snap.symbol, venue) in held:
                    continue
                if self.config.symbol_set is not None and snap.symbol not in self.config.symbol_set:
                    continue
                what = f"{venue}: position {snap.quantity} {snap.symbol} is not in the database"
                if self.config.unknown_positions == "close":
                    leg = await self.leg(venue, snap.symbol)
                    side = Side.SELL if snap.quantity > 0 else Side.BUY
                    await ctx.event(
                        "unknown_position", what + "; closing it (unknown_positions: close)", level="warn"
                    )
                    await self._close_unknown(leg, side, abs(snap.quantity))
                else:
                    self.blocked_symbols.add(snap.symbol)
                    await ctx.event(
                        "unknown_position",
                        what + f"; reported, left alone, and {snap.symbol} is not entered by this run",
                        level="warn",
                    )

    async def _close_unknown(self, leg: Leg, side: Side, quantity: Decimal) -> None:
        plan = OrderPlan(leg, side, quantity, "close", True, self.config.execution.hedge_max_slippage_bps)
        await self.executor.send_orders(None, [plan])

    # ------------------------------------------------------------------------------------------------ step

    async def step(self) -> bool:
        """One cycle (module docstring). The database reads that do not depend on the scan (the live positions,
        and the entry gate: operator commands, pauses) run while the scan fetches, so the entries' path after
        the market data is in hand carries no read it could have done earlier."""
        ctx = self.ctx
        now = ctx.now()
        gate = asyncio.ensure_future(ctx.may_enter())
        self._gate_read_at = asyncio.get_running_loop().time()
        try:
            return await self._step(now, gate)
        finally:
            if not gate.done():
                gate.cancel()

    async def _step(self, now: datetime, gate: asyncio.Future[str | None]) -> bool:
        scan, positions = await asyncio.gather(self.scan(now), self._live_positions())
        settled = False
        for p in positions:
            if p.status in ("opening", "closing"):
                long, short = await self.legs_of(p)
                await self.executor.settle(p.id, long, short, p.status)
                settled = True
        if settled:
            positions = await self._live_positions()
        positions = [p for p in positions if p.status == "open"]
        still_open: list[state.PositionRow] = []
        for i, p in enumerate(positions):
            others = [self._open_position(q) for q in still_open + positions[i + 1 :]]
            if not await self.monitor_and_exit(p, scan, now, others):
                still_open.append(p)
        await self.enter(scan, still_open, now, gate=gate)
        return True

    async def _live_positions(self) -> list[state.PositionRow]:
        async with self.ctx.engine.connect() as conn:
            return await state.live_positions(conn, self.ctx.account, self.ctx.mode)

    async def scan(self, now: datetime) -> ScanResult:
        ctx = self.ctx
        fetches = await asyncio.gather(
            *(fetch_venue(a, timeout_seconds=ctx.settings.venue_timeout_seconds) for a in ctx.adapters)
        )
        for f in fetches:
            if not f.ok:
                await ctx.event("scan", f"{f.venue}: funding data unavailable: {f.error}", level="warn")
        persistence: Any = None
        since = now - timedelta(days=HISTORY_DAYS)
        symbols = sorted({s.symbol for f in fetches for s in f.samples} | set(self.config.symbol_set or ()))
        if ctx.mode == "live":
            await store_fetches(ctx.engine, fetches, kind="collect")
            async with ctx.engine.connect() as conn:
                persistence = await repository.hourly_history(conn, symbols=symbols, since=since)
                legs = await self.db_history.legs(
                    conn, venues=self.config.venues, symbols=symbols, now=now, params=self.params
                )
        else:
            if not self.paper_history.loaded:
                await self._load_paper_history(fetches, now)
            self.paper_history.add([s for f in fetches for s in f.samples])
            persistence = self.paper_history.view(since, now)
            legs = self.paper_history.legs(now, self.params)
        self.scan_done_at = time.perf_counter()
        snapshots = snapshots_from(
            [m for f in fetches for m in f.markets], [s for f in fetches for s in f.samples]
        )
        priced = find_opportunities(snapshots, opportunity_query(self.config, now), history=persistence)
        signals: dict[tuple[str, str, str], SignalEstimate] = {}
        candidates: list[EntryCandidate] = []
        for o in priced.opportunities:
            sig = estimate_now(
                o.symbol,
                o.long_venue,
                o.short_venue,
                legs.get((o.long_venue, o.symbol)),
                legs.get((o.short_venue, o.symbol)),
                now,
                self.params,
            )
            signals[sig.key()] = sig
            candidates.append(EntryCandidate(o, sig))
        self.last_scan = ScanResult(priced, signals, rank(candidates, self.config), legs, now, candidates)
        return self.last_scan

    async def _load_paper_history(self, fetches: Any, now: datetime) -> None:
        """Fetch the simulated venues' settled history of the config's assets (those listed on 2+ venues), as
        far back as the signal reads (at least `HISTORY_DAYS` for the persistence figures)."""
        since = now - max(timedelta(days=HISTORY_DAYS), timedelta(hours=history.history_hours(self.params)))
        wanted = self.config.symbol_set
        venues_of: dict[str, set[str]] = {}
        for f in fetches:
            for m in f.markets:
                venues_of.setdefault(m.symbol, set()).add(m.venue)
        adapters = {a.venue: a for a in self.ctx.adapters}
        jobs = [
            (adapters[m.venue], m)
            for f in fetches
            for m in f.markets
            if m.venue in adapters
            and len(venues_of.get(m.symbol, ())) >= 2
            and (wanted is None or m.symbol in wanted)
        ]
        gate = asyncio.Semaphore(8)

        async def one(adapter: BaseFundingAdapter, market: MarketInfo) -> list[FundingRateSample]:
            async with gate:
                try:
                    return (await adapter.fetch_funding_history(market, since, now)).samples
                except VenueError as exc:
                    log.warning(
                        "paper history of %s %s unavailable: %s", market.venue, market.venue_symbol, exc
                    )
                    return []

        for samples in await asyncio.gather(*(one(a, m) for a, m in jobs)):
            self.paper_history.add(samples)
        self.paper_history.loaded = True
        await self.ctx.event(
            "scan", f"paper: {len(jobs)} markets' simulated funding history loaded for the signals"
        )

    # --------------------------------------------------------------------------------------- monitor / exit

    async def monitor_and_exit(
        self, p: state.PositionRow, scan: ScanResult, now: datetime, others: list[OpenPosition] | None = None
    ) -> bool:
        """Monitor one open position, re-hedge drift, close it when an exit rule fires. True when closed.

        `others`: the run's other open positions (the switching alternative must fit beside them, as in the
        backtester)."""
        ctx = self.ctx
        long, short = await self.legs_of(p)
        try:
            snaps = await asyncio.gather(
                long.client.get_position_snapshot(p.symbol), short.client.get_position_snapshot(p.symbol)
            )
        except VenueError as exc:
            await ctx.event("monitor", f"position {p.id}: snapshots unavailable: {exc}", level="warn")
            return False
        ls, ss = snaps
        lq = ls.quantity if ls else ZERO
        sq = -(ss.quantity if ss else ZERO)
        if lq == 0 and sq == 0:
            await ctx.event(
                "closed_externally",
                f"position {p.id}: both legs are flat at the venues (closed outside this run); recorded as closed",
                level="warn",
            )
            # the closing trades are not ours: realised PnL is unknown (left NULL), never guessed
            async with ctx.engine.begin() as conn:
                await state.update_position(
                    conn,
                    p.id,
                    status="closed",
                    quantity=ZERO,
                    closed_at=ctx.now(),
                    exit_reason="closed_externally",
                    exit_detail="both legs flat at the venues; closing trades unknown to this run",
                )
            return True
        since = p.opened_at or p.created_at
        await self.executor.collect_funding(p.id, p.symbol, since, (long, short))
        current = self._find(scan.priced, p.symbol, p.long_venue, p.short_venue)
        signal = scan.signal_of(p.symbol, p.long_venue, p.short_venue, self.params)
        distances = [
            s.liquidation_distance for s in (ls, ss) if s is not None and s.liquidation_distance is not None
        ]
        liq = min(distances) if distances else None
        monitor: dict[str, Any] = {
            "at": now.isoformat(),
            "long": _snap_json(ls),
            "short": _snap_json(ss),
            "delta": str(lq - sq),
            "liquidation_distance": None if liq is None else str(liq),
            "spread_hourly_now": None if current is None else str(current.spread_hourly),
            "spread_hourly_entry": str(p.entry_spread_hourly),
            "signal": signal.to_json_dict(),
        }
        async with ctx.engine.begin() as conn:
            funding = await state.funding_of_position(conn, p.id)
            await state.update_position(
                conn,
                p.id,
                monitor=monitor,
                funding_long=funding.get(p.long_venue, ZERO),
                funding_short=funding.get(p.short_venue, ZERO),
            )
        drift = abs(lq - sq) / p.quantity if p.quantity > 0 else ZERO
        if drift > self.config.exit.max_leg_drift:
            await ctx.event(
                "drift", f"position {p.id}: legs {lq} / {sq} drift {drift:.4f}; re-hedging", level="warn"
            )
            await self._rehedge(p, long, short, lq, sq)
        held = self._open_position(p)

        def best() -> EntryCandidate | None:
            alternatives = [
                c
                for c in scan.candidates
                if c.symbol != p.symbol
                and c.symbol not in self.blocked_symbols
                and c.long_venue in self.ctx.clients
                and c.short_venue in self.ctx.clients
            ]
            chosen = choose_entries(alternatives, others or [], self.config, ranked=True)
            return chosen[0] if chosen else None

        decision = exit_decision(held, signal, best, now, self.config, liquidation_distance=liq)
        if decision is None:
            return False
        outcome = await self.executor.close_position(p.id, long, short, decision.reason, decision.detail)
        return outcome.status == "closed"

    async def _rehedge(self, p: state.PositionRow, long: Leg, short: Leg, lq: Decimal, sq: Decimal) -> None:
        plans = []
        bps = self.config.execution.hedge_max_slippage_bps
        for leg, have, grow, shrink in ((long, lq, Side.BUY, Side.SELL), (short, sq, Side.SELL, Side.BUY)):
            gap = p.quantity - have
            qty = self.executor.tradeable(leg, abs(gap))
            if qty is None:
                continue
            plans.append(OrderPlan(leg, grow if gap > 0 else shrink, qty, "rehedge", gap < 0, bps))
        if plans:
            await self.executor.send_orders(p.id, plans)

    def _open_position(self, p: state.PositionRow) -> OpenPosition:
        return OpenPosition(
            symbol=p.symbol,
            long_venue=p.long_venue,
            short_venue=p.short_venue,
            opened_at=p.opened_at or p.created_at,
            notional_usd=p.notional_usd,
            entry_spread_hourly=p.entry_spread_hourly,
            round_trip_cost=p.round_trip_cost,
        )

    @staticmethod
    def _find(
        result: OpportunityResult, symbol: str, long_venue: str, short_venue: str
    ) -> Opportunity | None:
        for o in result.opportunities:
            if (o.symbol, o.long_venue, o.short_venue) == (symbol, long_venue, short_venue):
                return o
        return None

    # ---------------------------------------------------------------------------------------------- entries

    async def enter(
        self,
        scan: ScanResult,
        open_rows: list[state.PositionRow],
        now: datetime,
        *,
        gate: asyncio.Future[str | None] | None = None,
    ) -> None:
        """Open this cycle's chosen entries CONCURRENTLY (one task each, started together): each runs its live
        checks, reserving its margin on both venues as it is chosen (`strategies.execution.margin`), then its
        atomic two-leg entry. A venue error skips that entry only (an `entry_skipped` event); any other error is
        raised once every entry of the cycle has finished. `gate`: the entry gate (`RunContext.may_enter`: operator
        commands applied, pauses) read during this cycle's scan; None = read it now."""
        held = [self._open_position(p) for p in open_rows]
        tradeable = [
            c
            for c in scan.candidates
            if c.long_venue in self.ctx.clients
            and c.short_venue in self.ctx.clients
            and c.symbol not in self.blocked_symbols
        ]
        chosen = choose_entries(tradeable, held, self.config)
        if gate is None:
            gate = asyncio.ensure_future(self.ctx.may_enter())
            self._gate_read_at = asyncio.get_running_loop().time()
        try:
            await self._enter_chosen(chosen, gate)
        finally:  # explained after the entries: its database writes are not on the entries' path
            await self._explain(scan, held, now)

    async def _enter_chosen(self, chosen: list[EntryCandidate], gate: asyncio.Future[str | None]) -> None:
        paused = await gate
        if not chosen:
            return
        if asyncio.get_running_loop().time() - self._gate_read_at > GATE_MAX_AGE_SECONDS:
            paused = (
                await self.ctx.may_enter()
            )  # a long cycle (exits, settling): the early reading is too old
        if paused is not None:
            if paused != self._paused_noted:
                cand = chosen[0]
                await self.ctx.event(
                    "entry_skipped",
                    f"{cand.symbol} long {cand.long_venue} / short {cand.short_venue}: entries paused ({paused})",
                )
            self._paused_noted = paused
            return
        self._paused_noted = None
        results = await asyncio.gather(
            *(self._enter_guarded(cand) for cand in chosen), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _enter_guarded(self, cand: EntryCandidate) -> None:
        try:
            await self.enter_one(cand.opportunity, cand.signal)
        except VenueError as exc:
            await self.ctx.event("entry_skipped", f"{cand.symbol}: {exc}", level="warn")

    async def _explain(self, scan: ScanResult, held: list[OpenPosition], now: datetime) -> None:
        """Say why the best candidates of this cycle are not entered: an `entry_skipped` event per candidate whose
        reason changed since the last cycle (the numbers in its detail), and the cycle's top candidates in the
        run's state for `perparb status`. Candidates on a venue the run cannot trade, or on a blocked asset, are
        named too."""
        ctx = self.ctx
        rows: list[dict[str, Any]] = []
        horizon = self.config.entry.horizon_hours

        def tradeable(c: EntryCandidate) -> bool:
            return (
                c.long_venue in ctx.clients
                and c.short_venue in ctx.clients
                and c.symbol not in self.blocked_symbols
            )

        untradeable = [
            c for c in scan.considered if not tradeable(c) and entry_refusal(c, self.config) is None
        ]
        explained = explain_entries(
            [c for c in scan.considered if tradeable(c)], held, self.config, limit=TOP_CANDIDATES
        )
        for cand in untradeable[: max(0, TOP_CANDIDATES - len(explained))]:
            blocked = cand.symbol in self.blocked_symbols
            explained.append(
                (
                    cand,
                    "asset blocked: an unknown position was found at start"
                    if blocked
                    else "venue not traded by this run",
                )
            )
        current: dict[tuple[str, str, str], str] = {}
        for cand, why in explained:
            net = cand.expected_net_apr(horizon)
            row = {
                "symbol": cand.symbol,
                "long_venue": cand.long_venue,
                "short_venue": cand.short_venue,
                "signal_apr": _number(cand.signal.apr),
                "expected_net_apr": _number(net),
                "tstat": _number(cand.signal.tstat),
                "persistence_hours": _number(cand.opportunity.sign_persistence_hours),
                "reason": why,
            }
            rows.append(row)
            if why is not None:
                current[cand.key()] = _reason_kind(why)
                if self._last_reasons.get(cand.key()) != current[cand.key()]:
                    await ctx.event(
                        "entry_skipped",
                        f"{cand.symbol} long {cand.long_venue} / short {cand.short_venue}: {why}",
                        detail={k: v for k, v in row.items() if k != "reason"} | {"reason": why},
                    )
        if not scan.considered and self._last_reasons.get(NO_CANDIDATE) is None:
            why = (
                f"no priced opportunity: {len(scan.priced.stale)} stale markets, "
                f"{len(scan.legs)} legs with history on {sorted(self.config.venues)}"
            )
            current[NO_CANDIDATE] = why
            await ctx.event("entry_skipped", why)
        elif not scan.considered:
            current[NO_CANDIDATE] = self._last_reasons[NO_CANDIDATE]
        self._last_reasons = current
        async with ctx.engine.begin() as conn:
            await state.save_state(
                conn,
                ctx.account,
                ctx.mode,
                state.CANDIDATES_STATE_PREFIX + self.config.name,
                {"at": now.isoformat(), "run_id": ctx.run.id, "candidates": rows},
            )

    async def enter_one(self, opp: Opportunity, signal: SignalEstimate | None = None) -> None:
        """Check and open one entry (see `check_entry`); the margin it reserved is released once its orders are
        done, whatever happened."""
        ctx = self.ctx
        entry_started = time.perf_counter()
        long = await self.leg(opp.long_venue, opp.symbol)
        short = await self.leg(opp.short_venue, opp.symbol)
        why = await self.check_entry(opp, long, short)
        if isinstance(why, InsufficientMargin):
            await ctx.event(
                "entry_skipped",
                f"{opp.symbol} {opp.long_venue}->{opp.short_venue}: {why}",
                level="warn",
                alert="insufficient_margin",
                subject=f"{ctx.account}/{why.venue}",
            )
            return
        if isinstance(why, str):
            await ctx.event("entry_skipped", f"{opp.symbol} {opp.long_venue}->{opp.short_venue}: {why}")
            return
        quantity, mid, prices, reservation = why
        try:
            await self._open(opp, signal, long, short, quantity, mid, prices, entry_started)
        finally:
            self.margin.release(reservation)

    async def _open(
        self,
        opp: Opportunity,
        signal: SignalEstimate | None,
        long: Leg,
        short: Leg,
        quantity: Decimal,
        mid: Decimal,
        prices: tuple[Decimal, Decimal] | None,
        entry_started: float,
    ) -> None:
        ctx = self.ctx
        try:
            position_id, plans, prepared = await self.executor.create_and_prepare(
                long=long,
                short=short,
                quantity=quantity,
                notional_usd=(quantity * mid).quantize(Decimal("0.01")),
                entry_spread_hourly=opp.spread_hourly,
                round_trip_cost=opp.round_trip_cost,
                post_only_prices=prices,
            )
        except IntegrityError:
            await ctx.event("entry_skipped", f"{opp.symbol}: a live position on this asset already exists")
            return
        # the entry event is written while the orders go out (the position and its orders are persisted already)
        noted = asyncio.ensure_future(
            ctx.event(
                "entry",
                f"position {position_id}: {quantity} {opp.symbol} long {opp.long_venue} / short "
                f"{opp.short_venue}, signal APR "
                f"{'-' if signal is None or signal.apr is None else f'{signal.apr:.4f}'}, "
                f"spread now {opp.spread_hourly}/h",
                detail=None if signal is None else {"signal": signal.to_json_dict()},
            )
        )
        try:
            outcome = await self.executor.open_position(position_id, plans, long, short, prepared=prepared)
        finally:
            await noted
        starts = outcome.submit_starts
        if len(starts) == 2:
            if outcome.submit_gap_ms is not None:
                metrics.LEG_GAP_SECONDS.observe(outcome.submit_gap_ms / 1000)
            # decision latency: market data in hand (scan done) -> both entry orders handed to the venues' clients
            await ctx.event(
                "entry_latency",
                f"position {position_id}: decision {(max(starts) - self.scan_done_at) * 1000:.1f} ms, "
                f"gap between legs {outcome.submit_gap_ms:.3f} ms",
                detail={
                    "position_id": position_id,
                    "decision_ms": (max(starts) - self.scan_done_at) * 1000,
                    "leg_gap_ms": outcome.submit_gap_ms,
                    "perf_scan_done": self.scan_done_at,
                    "perf_entry_start": entry_started,
                    "perf_leg_starts": starts,
                },
            )

    async def check_entry(
        self, opp: Opportunity, long: Leg, short: Leg
    ) -> str | tuple[Decimal, Decimal, tuple[Decimal, Decimal] | None, MarginReservation]:
        """The live checks before an entry; a reason (str; `InsufficientMargin` for want of margin) to skip, or
        (quantity, mid, post-only prices, the margin reserved on both venues). The caller releases the
        reservation (`self.margin.release`) once the entry's orders are done.

        Margin: each leg needs `quantity * mid / leverage` USD; a venue's usable margin is its available balance
        times (1 - `sizing.margin_buffer`) minus what the run's other entries in flight reserved there. The
        check and the reservation run without an await in between (so concurrent entries stay honest)."""
        sizing = self.config.sizing
        lev = sizing.leverage
        for leg in (long, short):
            await self._check_leg_leverage(leg, lev)
        try:
            (lb, la), (sb, sa) = await asyncio.gather(
                long.client.fetch_bbo_prices(long.symbol), short.client.fetch_bbo_prices(short.symbol)
            )
        except StaleBookError as exc:
            return f"no fresh book: {exc}"
        long_mid, short_mid = (lb + la) / 2, (sb + sa) / 2
        mid = (long_mid + short_mid) / 2
        divergence = abs(long_mid - short_mid) / mid * BPS
        if divergence > sizing.max_price_divergence_bps:
            return f"price divergence {divergence:.1f} bps > {sizing.max_price_divergence_bps}"
        try:
            quantity = common_quantity(
                sizing.target_notional_usd / mid,
                [long.attrs.size_step, short.attrs.size_step],
                [long.attrs.min_size, short.attrs.min_size],
            )
        except RoundingError as exc:
            return f"target notional too small for the markets: {exc}"
        for leg in (long, short):
            if leg.attrs.min_notional is not None and quantity * mid < leg.attrs.min_notional:
                return (
                    f"{leg.venue}: notional {quantity * mid:.2f} below the minimum {leg.attrs.min_notional}"
                )
        depths = await asyncio.gather(
            long.client.get_order_book_depth(long.symbol, 50),
            short.client.get_order_book_depth(short.symbol, 50),
        )
        for (leg, side), (bids, asks) in zip(((long, Side.BUY), (short, Side.SELL)), depths, strict=True):
            book = OrderBook(leg.symbol)
            book.apply_snapshot(bids, asks, sequence=0)
            try:
                market_order_limit_price(
                    book,
                    side,
                    quantity,
                    max_slippage_bps=sizing.max_slippage_bps,
                    tick=leg.attrs.tick_size,
                    max_age_seconds=60.0,
                    venue=leg.venue,
                )
            except StaleBookError as exc:
                return f"depth: {exc}"
        for leg in (long, short):
            await self._ensure_leverage(leg)
        need = quantity * mid / lev
        balances = await self.available_balances((long, short))
        usable = {leg.venue: balances[leg.venue] * (1 - sizing.margin_buffer) for leg in (long, short)}
        # no await from here to the reservation: concurrent entries see each other's reservations
        short_venue = self.margin.shortfall({long.venue: need, short.venue: need}, usable)
        if short_venue is not None:
            reserved = self.margin.reserved_on(short_venue)
            return InsufficientMargin(
                short_venue,
                f"{short_venue}: margin {need:.2f} needed, {usable[short_venue] - reserved:.2f} usable of "
                f"{balances[short_venue]:.2f} available ({reserved:.2f} reserved by entries in flight)",
            )
        reservation = self.margin.reserve({long.venue: need, short.venue: need})
        prices = None
        if self.config.execution.mode == "post_only":
            prices = (lb, sa)
        return quantity, mid, prices, reservation

    async def available_balances(self, legs: tuple[Leg, Leg]) -> dict[str, Decimal]:
        """Available balance (USD, the venue's free margin) of each leg's venue: from the account state the
        client keeps from its account streams (`BaseExchangeClient.cached_balance`: no request), else read from
        REST (concurrently), and then an `account_state_fallback` event says which venue and why (stream down,
        state older than its staleness bound, or a client that keeps no state; one event per venue each time
        the reason changes).

        Raises:
            VenueError: a venue's balance is unreadable."""
        out: dict[str, Decimal] = {}
        missing: list[tuple[Leg, str]] = []
        for leg in legs:
            cached, why = leg.client.cached_balance()
            if cached is not None:
                out[leg.venue] = cached.available
                self._fallback_noted.pop(leg.venue, None)
            else:
                missing.append((leg, why))
        if not missing:
            return out
        balances = await asyncio.gather(*(leg.client.get_account_balance() for leg, _ in missing))
        for (leg, why), balance in zip(missing, balances, strict=True):
            out[leg.venue] = balance.available
            if self._fallback_noted.get(leg.venue) != _reason_kind(why):
                self._fallback_noted[leg.venue] = _reason_kind(why)
                await self.ctx.event(
                    "account_state_fallback",
                    f"{why}; balance read from REST",
                    level="warn" if leg.client.account_state is not None else "info",
                    detail={"venue": leg.venue, "reason": why, "available": str(balance.available)},
                )
        return out

    # ------------------------------------------------------------------------------------------------ stop

    async def stop(self, *, close: bool) -> None:
        if not close:
            return
        async with self.ctx.engine.connect() as conn:
            positions = await state.live_positions(conn, self.ctx.account, self.ctx.mode)
        for p in positions:
            long, short = await self.legs_of(p)
            if p.status == "opening":
                await self.executor.settle(p.id, long, short, "opening")
            await self.executor.close_position(p.id, long, short, "stop", "run stopped with on_stop: close")

    # ------------------------------------------------------------------------------------------------ risk

    async def book(self) -> RunBook:
        """From the database alone (`strategies.book.funding_arbitrage_book`): no venue call."""
        async with self.ctx.engine.connect() as conn:
            return await funding_arbitrage_book(
                conn, self.ctx.run.id, self.ctx.account, self.ctx.mode, self.ctx.now()
            )

    async def reduce(self, reason: str) -> str:
        """Close the position whose leg is nearest liquidation (else the largest), through the two-leg
        executor's bounded reduce-only close (exit reason `risk`)."""
        book = await self.book()
        target = book.riskiest_position()
        if target is None:
            return "nothing to reduce: no open position"
        async with self.ctx.engine.connect() as conn:
            p = await state.get_position(conn, target)
        long, short = await self.legs_of(p)
        if p.status == "opening":
            await self.executor.settle(p.id, long, short, "opening")
        outcome = await self.executor.close_position(p.id, long, short, "risk", reason)
        return f"position {p.id} ({p.symbol} long {p.long_venue} / short {p.short_venue}): {outcome.status}"


class InsufficientMargin(str):
    """An entry refusal for lack of free margin on `venue` (the text says how much was needed and usable)."""

    venue: str

    def __new__(cls, venue: str, text: str) -> InsufficientMargin:
        made = super().__new__(cls, text)
        made.venue = venue
        return made


def _reason_kind(why: str) -> str:
    """A skip reason without its figures ("signal APR # < #"): a candidate's event is recorded when the rule that
    refuses it changes, not each cycle its numbers move."""
    return re.sub(r"-?\d+(?:\.\d+)?", "#", why)


def _number(value: Any) -> float | str | None:
    """A figure for JSON (jsonb): a float, "inf"/"-inf"/"nan" as text, None as null."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else str(number)


def _snap_json(s: Any) -> dict[str, Any] | None:
    if s is None:
        return None
    return {
        "quantity": str(s.quantity),
        "entry_price": None if s.entry_price is None else str(s.entry_price),
        "mark_price": None if s.mark_price is None else str(s.mark_price),
        "unrealized_pnl": None if s.unrealized_pnl is None else str(s.unrealized_pnl),
        "funding_accrued": None if s.funding_accrued is None else str(s.funding_accrued),
        "liquidation_price": None if s.liquidation_price is None else str(s.liquidation_price),
        "liquidation_distance": None if s.liquidation_distance is None else str(s.liquidation_distance),
        "leverage": None if s.leverage is None else str(s.leverage),
        "margin": None if s.margin is None else str(s.margin),
    }
