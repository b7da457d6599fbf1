"""Lighter trading protocol of the simulator (issue #4 item 3), on top of the venue-neutral engine.

`LighterTrading` owns one `simulator.engine.Engine` (`LIGHTER_RULES`, hourly funding) built from the scenario's
`lighter/` files, turns the venue's transactions (`sendTx` / `sendTxBatch`) into engine calls and engine state
back into the venue's bodies, so that lighter-sdk 1.1.8 (`SignerClient`, `ApiClient`, `WsClient`) trades against
it as against the venue. Shapes: `../shared/reference/PROTOCOL_NOTES.md` §1.2-1.5, the SDK's models
(`lighter/models/*.py`, strictly validated by the tests), recorded `venue-data/lighter/rest_*.json`; error codes:
Lighter's table (apidocs.lighter.xyz "Data Structures, Constants and Errors"). `build_lighter_app`
(`simulator.lighter.app`) mounts it. The concerns live in one module each (`simulator.lighter.state` lists them).

Engine set-up (`LighterTrading.__init__`), per `orderBookDetails` perp row (`lighter_market_spec`: tick
10^-price_decimals, step 10^-size_decimals, `min_base_amount`, `min_quote_amount`, margin fractions in 1e-4,
fees and liquidation fee in percent): the initial mark is `mark_price` (else `last_trade_price`); the funding
rate is Lighter's own `funding-rates` row (`exchange == "lighter"`, fraction per 8 h) / 8, held constant
(`ConstantRate`, fraction per hour; no row -> 0). Liquidity:

* a market with a recorded book (`orderBookOrders_<id>.json`) is seeded with those very orders (same order
  indexes, owners, sizes, time priority), quoted by an exempt "book" account around a mid path that starts at the
  recorded mark and stays there (`RecordedBookMaker`): consumed orders are put back `replenish_ms` (simulated) after
  a hit, and the whole recorded shape moves with the mid when the mark is moved (admin) or follows a random walk
  (admin, opt-in). The market-data contract of the recorded scenario (book, best bid/ask, mark) therefore holds
  until someone trades;
* a market without one gets the engine's synthetic liquidity (`Engine.add_liquidity`): `LiquidityConfig` levels
  of about `synthetic_level_notional` USD each around a seeded `RandomWalkMid` starting at the mark.
A market whose row is unusable is skipped with a logged reason (`perparb_core.models.reject`) and keeps
its market-data-only behaviour.

Scenario settings (`scenario.json`, `simulator.scenario.ScenarioSettings`): without an explicit `config`,
`trading.lighter` overrides `LighterTradingConfig` fields (`lighter_config_from_settings`) and
`trading.lighter.random_walk: true` moves recorded books along the config's random walk from start-up;
`funding.lighter` replaces a market's rate provider (then `funding-rates` / `market_stats` show the engine's rate,
as after the admin `funding` call); `faults.lighter` sets engine faults at construction and HTTP faults when the
admin routes are added (`simulator.lighter.admin.add_trading_admin_routes`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from decimal import Decimal
from typing import Any

from aiohttp import web

from perparb_core import units
from perparb_core.errors import PerparbError
from perparb_core.models import reject, reject_unit_error
from simulator.engine import (
    ConstantRate,
    Engine,
    EngineEvent,
    Fill,
    FundingEvent,
    FundingPayment,
    LiquidationEvent,
    LiquidityConfig,
    OrderEvent,
    RandomWalkMid,
    RateProvider,
    Side,
    TradeEvent,
    TradeKind,
)
from simulator.engine import accounts as margin
from simulator.faults import FaultInjector
from simulator.formats import decimal_or_none
from simulator.lighter.accounts import AccountBodiesMixin
from simulator.lighter.admin import AdminMixin
from simulator.lighter.auth import LighterApiKeys
from simulator.lighter.config import LighterTradingConfig, lighter_config_from_settings
from simulator.lighter.markets import (
    LIGHTER_MARGIN_TICK,
    LIGHTER_RULES,
    MAKER_ACCOUNT_BASE,
    LighterMarket,
    lighter_market_spec,
)
from simulator.lighter.recorded_book import RecordedBookMaker, RecordedQuote
from simulator.lighter.scenario import VENUE, LighterTradingSettings, lighter_data
from simulator.lighter.state import LighterState
from simulator.lighter.stream_hub import LighterStreamHub
from simulator.lighter.transactions import TransactionsMixin
from simulator.lighter.wire import ORDER_INDEX_BASE, OrderMeta, hash_tx, plain, sign_of, usdc
from simulator.scenario import Scenario, SimClock

log = logging.getLogger("perparb.simulator")


ZERO = Decimal(0)


class LighterTrading(TransactionsMixin, AccountBodiesMixin, AdminMixin, LighterState):
    """The Lighter trading venue: engine, order ids, nonces, transaction handling and response bodies.

    Args:
        scenario: the loaded scenario (its `lighter/` bodies); clock: the simulator clock (shared);
        api_keys: the API-key registry of `simulator.lighter.auth` (its slots' `nonce` is the transaction nonce);
        config: tunables.

    Not thread-safe: used from the server's event loop only.
    """

    def __init__(
        self,
        scenario: Scenario,
        clock: SimClock,
        api_keys: LighterApiKeys,
        config: LighterTradingConfig | None = None,
    ) -> None:
        self.scenario = scenario
        self.clock = clock
        self.api_keys = api_keys
        settings = scenario.settings.venue_trading(VENUE) or LighterTradingSettings()
        self.config = config or lighter_config_from_settings(settings)
        self.random_walk_recorded = settings.random_walk
        self.engine = Engine(LIGHTER_RULES, clock=clock)
        self.engine.listeners.append(self._on_event)
        self.markets: dict[int, LighterMarket] = {}
        self.by_symbol: dict[str, LighterMarket] = {}
        self.makers: dict[int, RecordedBookMaker] = {}
        self.meta: dict[int, OrderMeta] = {}  # engine order id -> meta
        self.by_index: dict[int, int] = {}  # Lighter order index -> engine order id
        self.l1_addresses: dict[int, str] = {}
        self.created_ms: dict[int, int] = {}
        self.cancel_all_at: dict[int, int] = {}  # account -> scheduled cancel-all time (ms)
        self.trades: dict[int, list[dict[str, Any]]] = {}  # user account -> trades, oldest first
        self.market_trades: dict[int, deque[dict[str, Any]]] = {}
        self.funding: dict[int, list[dict[str, Any]]] = {}  # user account -> payments, oldest first
        self.entry_before: dict[tuple[int, str], Decimal] = {}
        self.block_height = 1
        self.hub = LighterStreamHub(self)
        self._task: asyncio.Task[None] | None = None
        self._build_markets()
        self._apply_engine_faults()

    def _lighter_rates(self) -> dict[int, Decimal]:
        body = lighter_data(self.scenario).funding_rates or {}
        out: dict[int, Decimal] = {}
        for row in body.get("funding_rates") or []:
            if not isinstance(row, dict) or row.get("exchange") != "lighter":
                continue
            market_id = row.get("market_id")
            if not isinstance(market_id, int) or isinstance(market_id, bool):
                continue
            try:
                out[market_id] = units.hourly_from_8h(units.to_decimal(row.get("rate"), "rate"))
            except units.UnitError as exc:
                reject_unit_error("lighter-sim", "funding-rates", str(row.get("symbol")), exc)
        return out

    def _build_markets(self) -> None:
        rates = self._lighter_rates()
        for row in lighter_data(self.scenario).perp_details():
            market_id = row["market_id"]
            symbol = str(row["symbol"])
            try:
                spec = lighter_market_spec(row)
            except units.UnitError as exc:
                reject_unit_error("lighter-sim", "orderBookDetails", symbol, exc)
                continue
            except ValueError as exc:
                reject("lighter-sim", "orderBookDetails", symbol, "market", market_id, str(exc))
                continue
            if spec.mark_price is None or symbol in self.by_symbol:
                reject(
                    "lighter-sim",
                    "orderBookDetails",
                    symbol,
                    "mark_price",
                    row.get("mark_price"),
                    "no usable mark price or duplicate symbol",
                )
                continue
            configured = self.scenario.funding_provider("lighter", symbol, str(market_id))
            funding: RateProvider
            if configured is not None:
                funding = configured
            else:
                rate = rates.get(market_id)
                funding = ConstantRate(
                    rate if rate is not None else ZERO,
                    label=f"lighter funding-rates {symbol} / 8"
                    if rate is not None
                    else "no lighter funding-rates row",
                )
            self.engine.add_market(spec, funding=funding)
            index = decimal_or_none(
                row.get("index_price"), "index_price", context=f"orderBookDetails {symbol}"
            )
            market = LighterMarket(
                market_id=market_id,
                symbol=symbol,
                size_decimals=row["size_decimals"],
                price_decimals=row["price_decimals"],
                spec=spec,
                mark0=spec.mark_price,
                index0=index if index is not None and index > 0 else spec.mark_price,
                funding_overridden=configured is not None,
            )
            self.markets[market_id] = market
            self.by_symbol[symbol] = market
            self.market_trades[market_id] = deque(maxlen=1000)
            self._add_liquidity(market)

    def _recorded_quotes(self, market: LighterMarket) -> list[RecordedQuote] | None:
        body = lighter_data(self.scenario).order_book_orders.get(market.market_id)
        if body is None:
            return None
        quotes: list[RecordedQuote] = []
        for side, key in ((Side.SELL, "asks"), (Side.BUY, "bids")):
            for row in body[key]:
                ctx = f"orderBookOrders {market.symbol}"
                price = decimal_or_none(row.get("price"), "price", context=ctx)
                size = decimal_or_none(row.get("remaining_base_amount"), "remaining_base_amount", context=ctx)
                if price is None or size is None or price <= 0 or size <= 0:
                    reject(
                        "lighter-sim", "orderBookOrders", market.symbol, "order", row, "no usable price/size"
                    )
                    continue
                index = row.get("order_index")
                owner = row.get("owner_account_index")
                expiry = row.get("order_expiry")
                ttime = row.get("transaction_time")
                initial = decimal_or_none(row.get("initial_base_amount"), "initial_base_amount", context=ctx)
                quotes.append(
                    RecordedQuote(
                        side=side,
                        offset=price - market.mark0,
                        size=size,
                        owner=owner if isinstance(owner, int) else MAKER_ACCOUNT_BASE + market.market_id,
                        order_index=index if isinstance(index, int) and index >= ORDER_INDEX_BASE else None,
                        initial_size=initial if initial is not None and initial >= size else None,
                        order_expiry=expiry if isinstance(expiry, int) else 0,
                        transaction_time_us=ttime if isinstance(ttime, int) else None,
                    )
                )
        return quotes

    def _add_liquidity(self, market: LighterMarket) -> None:
        account_id = MAKER_ACCOUNT_BASE + market.market_id
        quotes = self._recorded_quotes(market)
        if quotes is not None:
            self.engine.create_account(account_id, exempt=True).keep_order_history = False
            maker = RecordedBookMaker(self, market, account_id, quotes, self.config.replenish_ms)
            if self.random_walk_recorded:
                maker.path = self._walk(market)
            self.makers[market.market_id] = maker
            maker.seed()
            return
        cfg = self.config
        size = cfg.level_notional / market.mark0
        config = LiquidityConfig(
            levels=cfg.levels,
            spread_bps=cfg.spread_bps,
            level_step_bps=cfg.level_step_bps,
            size_per_level=size,
            replenish_ms=cfg.replenish_ms,
        )
        self.engine.add_liquidity(market.symbol, self._walk(market), config, account_id=account_id)

    def _walk(self, market: LighterMarket) -> RandomWalkMid:
        """The config's random walk of `market`'s mid from now, starting at the recorded mark."""
        cfg = self.config
        return RandomWalkMid(
            market.mark0,
            start_ms=self.engine.now_ms(),
            seed=cfg.seed + market.market_id,
            step_ms=cfg.walk_step_ms,
            vol_bps=cfg.walk_vol_bps,
        )

    def _apply_engine_faults(self) -> None:
        """`scenario.json` `faults.lighter.engine`, active from start-up (after the recorded books are seeded)."""
        spec = self.scenario.settings.venue_faults(VENUE).engine
        if spec is None:
            return
        spec.apply(self.engine.faults)
        log.info("lighter engine faults from scenario.json: %s", self.engine.faults.snapshot())

    def apply_http_faults(self, faults: FaultInjector) -> None:
        """`scenario.json` `faults.lighter.http` (a `POST /_sim/faults` body) applied to this venue's injector."""
        spec = self.scenario.settings.venue_faults(VENUE).http
        if spec is not None:
            faults.configure(spec)

    def sync(self) -> None:
        """Bring the engine to the clock (funding, marks, synthetic liquidity), keep the recorded books and run
        scheduled cancel-alls."""
        engine = self.engine
        engine.sync()
        now = engine.now_ms()
        for maker in self.makers.values():
            maker.refresh(now)
        for account_id, at in list(self.cancel_all_at.items()):
            if now >= at:
                del self.cancel_all_at[account_id]
                engine.cancel_all(account_id)

    async def run(self) -> None:
        """Background loop: sync and push WebSocket frames every `sync_interval_seconds` until cancelled.
        Errors of one round are logged and do not stop the loop."""
        while True:
            try:
                self.sync()
                self.hub.tick(time.monotonic())
            except (ArithmeticError, LookupError, ValueError, PerparbError):
                log.exception("lighter trading sync failed")
            await asyncio.sleep(self.config.sync_interval_seconds)

    async def start(self, app: web.Application) -> None:
        """aiohttp `on_startup`: start the background loop."""
        self._task = asyncio.create_task(self.run())

    async def stop(self, app: web.Application) -> None:
        """aiohttp `on_cleanup`: stop the background loop."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _on_event(self, event: EngineEvent) -> None:
        if isinstance(event, TradeEvent):
            self._record_trade(event)
        elif isinstance(event, OrderEvent):
            order = event.order
            account = self.engine.accounts.get(order.account_id)
            if account is not None and not account.exempt:
                self.hub.on_order(order)
        elif isinstance(event, FundingEvent):
            self._record_funding(event.payment)
        elif isinstance(event, LiquidationEvent):
            self.hub.touch(event.account_id)

    def _entry_shift(self, fill: Fill) -> Decimal:
        """Average entry price before `fill` (0 when flat), and remember the one after it."""
        key = (fill.account_id, fill.market)
        before = self.entry_before.get(key, ZERO) if fill.position_before else ZERO
        pos = self.engine.accounts[fill.account_id].positions.get(fill.market)
        self.entry_before[key] = pos.entry_price if pos is not None else ZERO
        return before

    def _record_trade(self, event: TradeEvent) -> None:
        trade = event.trade
        market = self.by_symbol.get(trade.market)
        if market is None:
            return
        maker, taker = event.maker_fill, event.taker_fill
        maker_entry = self._entry_shift(maker)
        taker_entry = self._entry_shift(taker)
        for fill in (maker, taker):
            book_maker = self.makers.get(market.market_id)
            if book_maker is not None and fill.account_id == book_maker.account_id:
                book_maker.on_hit(trade.ts_ms)
        ask, bid = (maker, taker) if maker.side is Side.SELL else (taker, maker)
        ask_index, bid_index = self.index_of_id(ask.order_id), self.index_of_id(bid.order_id)
        taker_meta = self.meta.get(taker.order_id) if taker.order_id else None
        spec = market.spec
        state = self.engine.market(market.symbol)

        def imf(fill: Fill) -> int:
            account = self.engine.accounts.get(fill.account_id)
            fraction = (
                margin.initial_margin_fraction(account, state)
                if account is not None
                else state.spec.initial_margin_fraction
            )
            return int(fraction * LIGHTER_MARGIN_TICK)

        row: dict[str, Any] = {
            "trade_id": trade.trade_id,
            "trade_id_str": str(trade.trade_id),
            "tx_hash": taker_meta.tx_hash
            if taker_meta and taker_meta.tx_hash
            else hash_tx(f"trade:{trade.trade_id}"),
            "type": "liquidation" if trade.kind is TradeKind.LIQUIDATION else "trade",
            "market_id": market.market_id,
            "size": market.size_text(trade.size),
            "price": market.price_text(trade.price),
            "usd_amount": usdc(trade.size * trade.price),
            "ask_id": ask_index,
            "ask_id_str": str(ask_index),
            "bid_id": bid_index,
            "bid_id_str": str(bid_index),
            "ask_client_id": int(ask.client_id) if isinstance(ask.client_id, int) else 0,
            "ask_client_id_str": str(ask.client_id if isinstance(ask.client_id, int) else 0),
            "bid_client_id": int(bid.client_id) if isinstance(bid.client_id, int) else 0,
            "bid_client_id_str": str(bid.client_id if isinstance(bid.client_id, int) else 0),
            "ask_account_id": self._owner(ask),
            "bid_account_id": self._owner(bid),
            "is_maker_ask": maker.side is Side.SELL,
            "block_height": self.block_height,
            "timestamp": trade.ts_ms,
            "taker_position_size_before": market.size_text(taker.position_before),
            "taker_entry_quote_before": usdc(abs(taker.position_before) * taker_entry),
            "taker_initial_margin_fraction_before": imf(taker),
            "taker_position_sign_changed": sign_of(taker.position_before) != sign_of(taker.position_after),
            "maker_position_size_before": market.size_text(maker.position_before),
            "maker_entry_quote_before": usdc(abs(maker.position_before) * maker_entry),
            "maker_initial_margin_fraction_before": imf(maker),
            "maker_position_sign_changed": sign_of(maker.position_before) != sign_of(maker.position_after),
            "transaction_time": trade.ts_ms * 1000,
            "bid_account_pnl": usdc(bid.realized_pnl),
            "ask_account_pnl": usdc(ask.realized_pnl),
            "integrator_maker_fee": 0,
            "integrator_maker_fee_collector_index": 0,
            "integrator_taker_fee": 0,
            "integrator_taker_fee_collector_index": 0,
            "taker_allocated_margin_usdc_before": 0,
            "taker_allocated_margin_usdc_after": 0,
            "maker_allocated_margin_usdc_before": 0,
            "maker_allocated_margin_usdc_after": 0,
            "bid_order_version": 0,
            "ask_order_version": 0,
            "market_symbol": market.symbol,
            "market_kind": "perps",
        }
        if trade.kind is TradeKind.TRADE:
            if spec.taker_fee:
                row["taker_fee"] = int(spec.taker_fee * 1_000_000)
            if spec.maker_fee:
                row["maker_fee"] = int(spec.maker_fee * 1_000_000)
        self.market_trades[market.market_id].append(row)
        for fill in (maker, taker):
            account = self.engine.accounts[fill.account_id]
            if account.exempt:
                continue
            self.trades.setdefault(fill.account_id, []).append(row)
            self.hub.on_trade(fill.account_id, market.market_id, row)

    def _owner(self, fill: Fill) -> int:
        """Account index the venue shows for a fill's side (a recorded order keeps its recorded owner)."""
        meta = self.meta.get(fill.order_id) if fill.order_id else None
        return meta.owner if meta is not None else fill.account_id

    def _record_funding(self, payment: FundingPayment) -> None:
        market = self.by_symbol.get(payment.market)
        account = self.engine.accounts.get(payment.account_id)
        if market is None or account is None or account.exempt:
            return
        row = {
            "timestamp": payment.ts_ms // 1000,
            "market_id": market.market_id,
            "funding_id": payment.payment_id,
            "change": usdc(payment.amount),
            "discount": usdc(ZERO),
            "rate": plain(payment.rate_hourly),
            "position_size": market.size_text(abs(payment.position_size)),
            "position_side": "long" if payment.position_size > 0 else "short",
        }
        self.funding.setdefault(payment.account_id, []).append(row)
        self.hub.on_funding(payment.account_id, market.market_id, row)
