"""Paradex trading protocol of the simulator (issue #4 item 4), on top of the venue-neutral engine.

`ParadexTrading` owns one `simulator.engine.Engine` (`PARADEX_RULES`, continuous funding index) built from the
scenario's Paradex files, maps Paradex account addresses onto engine accounts, turns the venue's REST bodies into
engine calls and engine state back into the venue's bodies (shapes: `reference/specs/paradex_openapi_prod.json`,
`paradex-py 0.8.2` `api/generated/responses.py`, recorded `venue-data/paradex/rest_*.json` / `ws_*.json`), and feeds
the private WebSocket channels and the order-book channel from engine events. `build_paradex_app`
(`simulator.paradex.app`) mounts it. The concerns live in one module each (`simulator.paradex.state` lists them).

Engine set-up (`ParadexTrading.__init__`): every `asset_kind == "PERP"` row of `paradex/markets.json` becomes a
market (`paradex_market_spec`: tick, step, min notional, IMF `imf_base`, MMF `imf_base x mmf_factor`, API fees,
`liquidation_fee` from `system_config.json` as a fraction of the MMR). The initial mark is the
`markets_summary.json` `mark_price`; the funding rate is the summary's `funding_rate` (fraction per the market's
`funding_period_hours`) / period, held constant (`ConstantRate`, fraction per hour). A market maker quotes
`ParadexTradingConfig` depth around a seeded random walk starting at the mark. A market whose row or summary is
unusable is skipped with a logged reason (`perparb_core.models.reject`), never given zeros.

Scenario settings (`scenario.json`, `simulator.scenario.ScenarioSettings`): without an explicit `config`,
`trading.paradex` overrides `ParadexTradingConfig` fields (`paradex_config_from_settings`); `funding.paradex`
replaces a market's rate provider (then the summary's `funding_rate` is the engine's rate x the market's period,
as after the admin `funding` call); `faults.paradex` sets engine faults at construction and HTTP faults when the
routes are added (`simulator.paradex.routes.add_paradex_trading_routes`).

JWT lifetimes: paradex-py decides when to refresh its JWT with `time.time()`, so when the simulation clock runs
faster than real time the JWTs are issued and checked on a wall clock (see `simulator.paradex.auth.auth_clock_for`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from aiohttp import web

from perparb_core import units
from perparb_core.models import reject, reject_unit_error
from simulator.engine import CallableRate, ConstantRate, Engine, LiquidityConfig, RandomWalkMid, RateProvider
from simulator.faults import FaultInjector
from simulator.paradex.account import AccountMixin
from simulator.paradex.admin import AdminMixin
from simulator.paradex.auth import ParadexAuth
from simulator.paradex.books import BookFeeds, BooksMixin
from simulator.paradex.config import ParadexTradingConfig, paradex_config_from_settings
from simulator.paradex.feeds import FeedsMixin
from simulator.paradex.markets import DEFAULT_PARADEX_LIQUIDATION_FEE, PARADEX_RULES, paradex_market_spec
from simulator.paradex.orders import OrdersMixin
from simulator.paradex.scenario import ParadexTradingSettings, paradex_data
from simulator.paradex.state import FrameSink, OrderMeta, ParadexState, Pending, PositionMeta
from simulator.scenario import Scenario, SimClock

log = logging.getLogger("perparb.simulator")


VENUE = "paradex"


class ParadexTrading(OrdersMixin, AccountMixin, BooksMixin, FeedsMixin, AdminMixin, ParadexState):
    """The Paradex venue's trading state: engine, accounts by address, venue bodies, WebSocket fan-out.

    Args:
        scenario: the loaded scenario (its `paradex/` files build the markets).
        clock: the simulator clock (shared with the engine and the market-data server).
        auth: the venue's `ParadexAuth` (JWT checks).
        config: liquidity and background-sync settings.

    Used from the server's event loop only.
    """

    def __init__(
        self,
        scenario: Scenario,
        clock: SimClock,
        auth: ParadexAuth,
        config: ParadexTradingConfig | None = None,
    ) -> None:
        self.scenario = scenario
        self.config = config or paradex_config_from_settings(
            scenario.settings.venue_trading(VENUE) or ParadexTradingSettings()
        )
        self.clock = clock
        self.auth = auth
        self.engine = Engine(PARADEX_RULES, clock=clock)
        self.accounts: dict[int, int] = {}  # address -> engine account id
        self.addresses: dict[int, int] = {}  # engine account id -> address
        self.books = BookFeeds(self)
        self._orders: dict[int, OrderMeta] = {}
        self._client_orders: dict[tuple[int, str], int] = {}
        self._fill_remaining: dict[int, Decimal] = {}
        self._positions: dict[tuple[int, str], PositionMeta] = {}
        self._funding_overrides: dict[str, Decimal] = {}
        self._funding_from_settings: set[str] = set()  # markets whose rate provider comes from scenario.json
        self._subscribers: dict[int, dict[FrameSink, set[str]]] = {}
        self._pending = Pending()
        self._flush_scheduled = False
        self._seq = 0
        self._task: asyncio.Task[None] | None = None
        self._build_markets(scenario)
        self._apply_engine_faults()
        self.engine.listeners.append(self._on_event)

    def _build_markets(self, scenario: Scenario) -> None:
        data = paradex_data(scenario)
        config = data.system_config or {}
        liquidation_fee = DEFAULT_PARADEX_LIQUIDATION_FEE
        try:
            fee = units.optional_decimal(
                config.get("liquidation_fee"), "liquidation_fee", allow_negative=False
            )
            if fee is not None:
                liquidation_fee = fee
        except units.UnitError as exc:
            reject_unit_error(VENUE, "simulator system_config", None, exc)
        summaries = {row.get("symbol"): row for row in (data.markets_summary or {}).get("results", []) or []}
        rows = (data.markets or {}).get("results", []) or []
        cfg = self.config
        for index, row in enumerate(rows):
            symbol = row.get("symbol")
            if row.get("asset_kind", "PERP") != "PERP":
                log.info("paradex engine: %s is %s, not traded", symbol, row.get("asset_kind"))
                continue
            summary = summaries.get(symbol) or {}
            try:
                mark = units.to_decimal(
                    summary.get("mark_price"), "mark_price", allow_negative=False, allow_zero=False
                )
                spec = paradex_market_spec(row, liquidation_fee=liquidation_fee, mark_price=mark)
            except units.UnitError as exc:
                reject_unit_error(VENUE, "simulator markets/markets_summary", symbol, exc)
                continue
            except ValueError as exc:  # MarketSpec checks (e.g. maintenance above initial)
                reject(VENUE, "simulator markets", symbol, "delta1_cross_margin_params", row, str(exc))
                continue
            configured = scenario.funding_provider("paradex", str(symbol))
            if configured is not None:
                self._funding_from_settings.add(spec.symbol)
            self.engine.add_market(
                spec,
                funding=configured
                if configured is not None
                else self._scenario_rate(symbol, summary, spec.funding_period_hours),
            )
            size = (cfg.notional_per_level / mark / spec.size_step).to_integral_value(
                ROUND_FLOOR
            ) * spec.size_step
            liquidity = LiquidityConfig(
                levels=cfg.levels,
                spread_bps=cfg.spread_bps,
                level_step_bps=cfg.level_step_bps,
                size_per_level=max(size, spec.min_size, spec.size_step),
                replenish_ms=cfg.replenish_ms,
            )
            walk = RandomWalkMid(
                mark,
                start_ms=self.engine.now_ms(),
                seed=cfg.seed + index,
                step_ms=cfg.walk_step_ms,
                vol_bps=cfg.vol_bps,
            )
            self.engine.add_liquidity(spec.symbol, walk, liquidity)
        log.info("paradex engine: %d markets traded", len(self.engine.markets))

    @staticmethod
    def _scenario_rate(symbol: str, summary: dict[str, Any], period: Decimal) -> RateProvider:
        try:
            raw = units.to_decimal(summary.get("funding_rate"), "funding_rate")
        except units.UnitError as exc:
            reject_unit_error(VENUE, "simulator markets_summary", symbol, exc)
            return CallableRate(
                lambda market, ts: None, label=f"{symbol}: no usable funding_rate, no funding"
            )
        hourly = units.hourly_from_period(raw, period)
        return ConstantRate(hourly, label=f"markets_summary funding_rate {raw} per {period} h, constant")

    def _apply_engine_faults(self) -> None:
        """`scenario.json` `faults.paradex.engine`, active from start-up."""
        spec = self.scenario.settings.venue_faults(VENUE).engine
        if spec is None:
            return
        spec.apply(self.engine.faults)
        log.info("paradex engine faults from scenario.json: %s", self.engine.faults.snapshot())

    def apply_http_faults(self, faults: FaultInjector) -> None:
        """`scenario.json` `faults.paradex.http` (a `POST /_sim/faults` body) applied to this venue's injector."""
        spec = self.scenario.settings.venue_faults(VENUE).http
        if spec is not None:
            faults.configure(spec)

    async def start(self, app: web.Application) -> None:
        """aiohttp `on_startup`: run `Engine.run_forever` in the background."""
        self._task = asyncio.create_task(self.engine.run_forever(self.config.sync_interval_seconds))

    async def stop(self, app: web.Application) -> None:
        """aiohttp `on_cleanup`: stop the background sync and the order-book feeds."""
        tasks = [t for t in (self._task, *self.books.tasks()) if t is not None]
        self._task = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
