"""Hyperliquid trading protocol of the simulator (issue #13 part 4), on top of the venue-neutral engine.

`HyperliquidTrading` owns one `simulator.engine.Engine` (`HYPERLIQUID_RULES`, `FundingMode.SETTLE_EVERY_INTERVAL`:
hourly settlement on the hour) built from the scenario's Hyperliquid files, keeps Hyperliquid's accounts (one per
address and perp dex), its approved agents and the nonces of every signer, and answers `POST /info`,
`POST /exchange` and the `/ws` channels in the venue's shapes. `build_hyperliquid_app` (`simulator.hyperliquid.app`)
mounts it. The concerns live in one module each (`simulator.hyperliquid.state` lists them).

Engine set-up: every universe row of every `metaAndAssetCtxs*.json` that is not `isDelisted` becomes a market
(`hyperliquid_market_spec`, keyed by coin: "BTC", "xyz:XYZ100"); the initial mark is its ctx `markPx`; the funding
rate its ctx `funding` (fraction per hour: docs trading/funding.md, ../shared/reference/hyperliquid_funding_units.md),
held constant (`ConstantRate`) unless `scenario.json` `funding.hyperliquid` gives one. A market maker quotes
`HyperliquidTradingConfig` depth around a seeded random walk starting at the mark. A row that cannot be read is
skipped with a logged reason (`perparb_core.models.reject`), never given zeros. `faults.hyperliquid` sets engine
faults at construction and HTTP faults when the routes are added.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from decimal import ROUND_FLOOR
from typing import Any

from aiohttp import web

from perparb_core import units
from perparb_core.models import reject, reject_unit_error
from simulator.engine import CallableRate, ConstantRate, Engine, LiquidityConfig, RandomWalkMid, RateProvider
from simulator.faults import FaultInjector
from simulator.hyperliquid.account import AccountMixin
from simulator.hyperliquid.actions import ActionsMixin
from simulator.hyperliquid.admin import AdminMixin
from simulator.hyperliquid.auth import Agents, NonceBook
from simulator.hyperliquid.config import HyperliquidTradingConfig, hyperliquid_config_from_settings
from simulator.hyperliquid.feeds import FeedsMixin
from simulator.hyperliquid.info import InfoMixin
from simulator.hyperliquid.markets import HYPERLIQUID_RULES, asset_id, hyperliquid_market_spec
from simulator.hyperliquid.scenario import VENUE, HyperliquidTradingSettings, hyperliquid_data
from simulator.hyperliquid.state import Coin, HyperliquidState, Pending
from simulator.scenario import Scenario, SimClock

log = logging.getLogger("perparb.simulator")


class HyperliquidTrading(ActionsMixin, InfoMixin, AccountMixin, FeedsMixin, AdminMixin, HyperliquidState):
    """The Hyperliquid venue's trading state (module docstring). Used from the server's event loop only.

    Args:
        scenario: the loaded scenario; clock: the simulator clock (shared with the engine);
        config: liquidity and background-sync settings (default: `scenario.json` `trading.hyperliquid`).
    """

    def __init__(
        self, scenario: Scenario, clock: SimClock, config: HyperliquidTradingConfig | None = None
    ) -> None:
        self.scenario = scenario
        self.config = config or hyperliquid_config_from_settings(
            scenario.settings.venue_trading(VENUE) or HyperliquidTradingSettings()
        )
        self.clock = clock
        self.data = hyperliquid_data(scenario)
        self.engine = Engine(HYPERLIQUID_RULES, clock=clock)
        self.coins = {}
        self.assets = {}
        self.accounts = {}
        self.owners = {}
        self.agents = Agents()
        self.nonces = NonceBook()
        self._orders = {}
        self._cloids = {}
        self._funding_overrides = {}
        self._funding_from_settings = set()
        self._subscribers = {}
        self._trade_sinks = {}
        self._pending = Pending()
        self._pending_trades = []
        self._flush_scheduled = False
        self._funding_marks = {}
        self._task: asyncio.Task[None] | None = None
        self._build_markets()
        self._apply_engine_faults()
        self.engine.listeners.append(self._on_event)

    def _build_markets(self) -> None:
        cfg = self.config
        index = 0
        for dex in self.data.dexes():
            dex_index = self.data.dex_index(dex)
            for position, (row, ctx) in enumerate(
                zip(self.data.universe(dex), self.data.ctxs(dex), strict=True)
            ):
                coin = str(row["name"])
                index += 1
                if row.get("isDelisted") is True:
                    log.info("hyperliquid engine: %s is delisted, not traded", coin)
                    continue
                asset = asset_id(dex_index, position)
                try:
                    spec = hyperliquid_market_spec(row, ctx, asset=asset)
                except units.UnitError as exc:
                    reject_unit_error(VENUE, "simulator metaAndAssetCtxs", coin, exc)
                    continue
                except ValueError as exc:
                    reject(VENUE, "simulator metaAndAssetCtxs", coin, "universe", row, str(exc))
                    continue
                configured = self.scenario.funding_provider(VENUE, coin)
                if configured is not None:
                    self._funding_from_settings.add(coin)
                self.engine.add_market(spec, funding=configured or self._scenario_rate(coin, ctx))
                found = Coin(coin, dex, asset, -spec.size_step.adjusted())
                self.coins[coin] = found
                self.assets[asset] = found
                mark = spec.mark_price
                assert mark is not None
                size = (cfg.notional_per_level / mark / spec.size_step).to_integral_value(
                    ROUND_FLOOR
                ) * spec.size_step
                liquidity = LiquidityConfig(
                    levels=cfg.levels,
                    spread_bps=cfg.spread_bps,
                    level_step_bps=cfg.level_step_bps,
                    size_per_level=max(size, spec.min_size),
                    replenish_ms=cfg.replenish_ms,
                )
                walk = RandomWalkMid(
                    mark,
                    start_ms=self.engine.now_ms(),
                    seed=cfg.seed + index,
                    step_ms=cfg.walk_step_ms,
                    vol_bps=cfg.vol_bps,
                )
                self.engine.add_liquidity(coin, walk, liquidity)
        log.info("hyperliquid engine: %d markets traded", len(self.engine.markets))

    @staticmethod
    def _scenario_rate(coin: str, ctx: dict[str, Any]) -> RateProvider:
        try:
            hourly = units.to_decimal(ctx.get("funding"), "funding")
        except units.UnitError as exc:
            reject_unit_error(VENUE, "simulator metaAndAssetCtxs", coin, exc)
            return CallableRate(lambda market, ts: None, label=f"{coin}: no usable funding, no funding")
        return ConstantRate(hourly, label=f"metaAndAssetCtxs funding {hourly} per hour, constant")

    def _apply_engine_faults(self) -> None:
        """`scenario.json` `faults.hyperliquid.engine`, active from start-up."""
        spec = self.scenario.settings.venue_faults(VENUE).engine
        if spec is not None:
            spec.apply(self.engine.faults)
            log.info("hyperliquid engine faults from scenario.json: %s", self.engine.faults.snapshot())

    def apply_http_faults(self, faults: FaultInjector) -> None:
        """`scenario.json` `faults.hyperliquid.http` applied to this venue's injector."""
        spec = self.scenario.settings.venue_faults(VENUE).http
        if spec is not None:
            faults.configure(spec)

    async def start(self, app: web.Application) -> None:
        """aiohttp `on_startup`: run `Engine.run_forever` in the background."""
        self._task = asyncio.create_task(self.engine.run_forever(self.config.sync_interval_seconds))

    async def stop(self, app: web.Application) -> None:
        """aiohttp `on_cleanup`: stop the background sync."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
