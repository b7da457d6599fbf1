"""Backpack trading protocol of the simulator, on top of the venue-neutral engine.

`BackpackTrading` owns one `simulator.engine.Engine` (`BACKPACK_RULES`, `FundingMode.SETTLE_EVERY_INTERVAL`: hourly
settlement on the hour) built from the scenario's Backpack files, keeps Backpack's accounts (one per API key: the
base64 ED25519 public key the requests are signed with) and answers the signed REST endpoints in the venue's shapes
(recorded payloads ../shared/venue-data/backpack/rest_order_*.json, rest_position_*.json, rest_history_*.json).
`build_backpack_app` (`simulator.backpack.app`) mounts it; WebSocket feeds: `simulator.backpack.feeds`; admin:
`simulator.backpack.admin`; account bodies: `simulator.backpack.bodies`.

Engine set-up: every perp row of `markets.json` becomes a market (`backpack_market_spec`); the initial mark is its
`markPrices.json` `markPrice`; the funding rate its `fundingRate` / the market's interval hours (fraction per hour),
held constant unless `scenario.json` `funding.backpack` gives one. A market maker quotes `BackpackTradingConfig`
depth around a seeded random walk starting at the mark. A row that cannot be read is skipped with a logged reason.

Orders (`POST /api/v1/order`, body as bpx-py `execute_order` sends it): `orderType` "Limit" (`price` required) or
"Market" (no bound, `quantity` only), `timeInForce` GTC / IOC (FOK refused: not simulated), `postOnly`,
`reduceOnly`, `clientId` (u32; reuse refused). Answers the order object in its state after matching (New,
PartiallyFilled, Filled; an IOC remainder Expired). Refusals 400: unknown symbol INVALID_CLIENT_REQUEST "Invalid
market symbol" (recorded), off-grid price INVALID_PRICE, size off step / below minimum INVALID_QUANTITY, a post-only
that would take INVALID_ORDER "Order would immediately match and take", a reduce-only that would not reduce
INVALID_ORDER "Reduce only order not reduced", not enough margin INSUFFICIENT_MARGIN, an injected engine fault
INVALID_ORDER "Order rejected (simulated fault)", a reused clientId INVALID_ORDER "Duplicate client id" (texts are
guesses). A refused order is not an order: `GET /api/v1/order` does not find it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, replace
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from perparb_core import units
from perparb_core.models import reject, reject_unit_error
from simulator.backpack.bodies import BodiesMixin, page
from simulator.backpack.errors import BackpackApiError, invalid, not_found
from simulator.backpack.markets import BACKPACK_RULES, DEFAULT_LEVERAGE, WORD_SIDES, backpack_market_spec
from simulator.backpack.scenario import VENUE, BackpackData, BackpackTradingSettings, backpack_data
from simulator.engine import (
    Account,
    CallableRate,
    ConstantRate,
    Engine,
    EngineError,
    LiquidityConfig,
    Order,
    OrderStatus,
    OrderType,
    RandomWalkMid,
    RateProvider,
    Reason,
    TimeInForce,
)
from simulator.faults import FaultInjector
from simulator.scenario import Scenario, SimClock

log = logging.getLogger("perparb.simulator")

REJECT_TEXT = {
    Reason.UNKNOWN_MARKET: ("INVALID_CLIENT_REQUEST", "Invalid market symbol"),
    Reason.INVALID_SIZE: ("INVALID_QUANTITY", "Quantity must be positive"),
    Reason.INVALID_PRICE: ("INVALID_PRICE", "Price must be positive"),
    Reason.INVALID_TYPE: ("INVALID_ORDER", "Invalid order type"),
    Reason.TICK_SIZE: ("INVALID_PRICE", "Price does not match the tick size"),
    Reason.LOT_SIZE: ("INVALID_QUANTITY", "Quantity does not match the step size"),
    Reason.MIN_SIZE: ("INVALID_QUANTITY", "Quantity is below the minimum"),
    Reason.MAX_SIZE: ("INVALID_QUANTITY", "Quantity is above the maximum"),
    Reason.MIN_NOTIONAL: ("INVALID_QUANTITY", "Order value is below the minimum"),
    Reason.DUPLICATE_CLIENT_ID: ("INVALID_ORDER", "Duplicate client id"),
    Reason.POST_ONLY_WOULD_CROSS: ("INVALID_ORDER", "Order would immediately match and take"),
    Reason.REDUCE_ONLY_WOULD_INCREASE: ("INVALID_ORDER", "Reduce only order not reduced"),
    Reason.REDUCE_ONLY_EXCEEDS_POSITION: ("INVALID_ORDER", "Reduce only order not reduced"),
    Reason.INSUFFICIENT_MARGIN: ("INSUFFICIENT_MARGIN", "Insufficient margin"),
    Reason.FAULT_INJECTED: ("INVALID_ORDER", "Order rejected (simulated fault)"),
}


@dataclass(frozen=True)
class BackpackTradingConfig:
    """Engine set-up (`scenario.json` `trading.backpack` overrides any field).

    Attributes:
        levels, spread_bps, level_step_bps, replenish_ms: the market maker's depth (`LiquidityConfig`).
        notional_per_level: USD per level (size = notional / initial mark, floored to the step).
        vol_bps, walk_step_ms, seed: each mid's random walk (market i uses seed + i).
        sync_interval_seconds: real seconds between background engine syncs; depth_interval_seconds: between two
            `depth` deltas of a changed book (Backpack's realtime stream; the venue also has 200 ms windows).
    """

    levels: int = 10
    spread_bps: Decimal = Decimal(4)
    level_step_bps: Decimal = Decimal(2)
    replenish_ms: int = 1000
    notional_per_level: Decimal = Decimal(100_000)
    vol_bps: Decimal = Decimal("2.5")
    walk_step_ms: int = 10_000
    seed: int = 17
    sync_interval_seconds: float = 0.05
    depth_interval_seconds: float = 0.05


def _decimal(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise invalid(f"{name} must be a decimal string")
    try:
        out = Decimal(str(value))
    except InvalidOperation:
        raise invalid(f"{name} is not a number: {value!r}") from None
    if not out.is_finite():
        raise invalid(f"{name} is not finite")
    return out


def _client_id(value: Any) -> int | None:
    if value is None:
        return None
    try:
        number = int(str(value))
    except ValueError:
        raise invalid(f"clientId must be a u32, got {value!r}") from None
    if not 0 <= number < 2**32:
        raise invalid(f"clientId must be a u32, got {value!r}")
    return number


class BackpackTrading(BodiesMixin):
    """The Backpack venue's trading state (module docstring). Used from the server's event loop only.

    Attributes:
        engine: the engine; keys: API key -> engine account id (an account is created by the admin API);
        owners: engine account id -> API key; leverage: engine account id -> leverage limit (x).
    """

    def __init__(
        self, scenario: Scenario, clock: SimClock, config: BackpackTradingConfig | None = None
    ) -> None:
        self.scenario = scenario
        settings = scenario.settings.venue_trading(VENUE) or BackpackTradingSettings()
        self.config = config or replace(BackpackTradingConfig(), **settings.config_overrides())
        self.clock = clock
        self.data: BackpackData = backpack_data(scenario)
        self.engine = Engine(BACKPACK_RULES, clock=clock)
        self.keys: dict[str, int] = {}
        self.owners: dict[int, str] = {}
        self.leverage: dict[int, Decimal] = {}
        self.funding_overrides: dict[str, Decimal] = {}
        self.funding_from_settings: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._build_markets()
        spec = scenario.settings.venue_faults(VENUE).engine
        if spec is not None:
            spec.apply(self.engine.faults)

    def _build_markets(self) -> None:
        cfg = self.config
        for index, row in enumerate(self.data.perps()):
            symbol = str(row["symbol"])
            mark_row = self.data.mark_row(symbol)
            try:
                mark = units.to_decimal(
                    mark_row.get("markPrice"), "markPrice", allow_negative=False, allow_zero=False
                )
                spec = backpack_market_spec(row, mark)
            except units.UnitError as exc:
                reject_unit_error(VENUE, "simulator markets/markPrices", symbol, exc)
                continue
            except ValueError as exc:
                reject(VENUE, "simulator markets", symbol, "imfFunction", row.get("imfFunction"), str(exc))
                continue
            configured = self.scenario.funding_provider(VENUE, symbol)
            if configured is not None:
                self.funding_from_settings.add(symbol)
            self.engine.add_market(
                spec, funding=configured or self._scenario_rate(symbol, mark_row, spec.funding_period_hours)
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
            self.engine.add_liquidity(symbol, walk, liquidity)
        log.info("backpack engine: %d markets traded", len(self.engine.markets))

    @staticmethod
    def _scenario_rate(symbol: str, mark_row: dict[str, Any], period: Decimal) -> RateProvider:
        try:
            raw = units.to_decimal(mark_row.get("fundingRate"), "fundingRate")
        except units.UnitError as exc:
            reject_unit_error(VENUE, "simulator markPrices", symbol, exc)
            return CallableRate(lambda market, ts: None, label=f"{symbol}: no usable fundingRate, no funding")
        return ConstantRate(
            units.hourly_from_period(raw, period),
            label=f"markPrices fundingRate {raw} per {period} h, constant",
        )

    def apply_http_faults(self, faults: FaultInjector) -> None:
        """`scenario.json` `faults.backpack.http` applied to this venue's injector."""
        spec = self.scenario.settings.venue_faults(VENUE).http
        if spec is not None:
            faults.configure(spec)

    async def start(self, app: web.Application) -> None:
        self._task = asyncio.create_task(self.engine.run_forever(self.config.sync_interval_seconds))

    async def stop(self, app: web.Application) -> None:
        running, self._task = self._task, None
        if running is not None:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running

    # ------------------------------------------------------------------------------------------------ accounts

    def fund(self, api_key: str, amount: Decimal) -> Account:
        """The account of `api_key` (created on first use, at `DEFAULT_LEVERAGE`), plus `amount` USDC."""
        account_id = self.keys.get(api_key)
        if account_id is None:
            account = self.engine.create_account()
            account_id = account.account_id
            self.keys[api_key] = account_id
            self.owners[account_id] = api_key
            self.leverage[account_id] = DEFAULT_LEVERAGE
            log.info("backpack account for key %s -> engine account %d", api_key, account_id)
        if amount > 0:
            self.engine.deposit(account_id, amount)
        return self.engine.account(account_id)

    def account_of(self, api_key: str) -> Account:
        return self.engine.account(self.keys[api_key])

    def _symbol(self, params: dict[str, Any], *, required: bool = True) -> str | None:
        symbol = params.get("symbol")
        if symbol is None or symbol == "":
            if required:
                raise invalid("symbol is required")
            return None
        if not isinstance(symbol, str) or symbol not in self.engine.markets:
            raise invalid("Invalid market symbol")
        return symbol

    # ------------------------------------------------------------------------------------------------ orders

    def execute_order(self, api_key: str, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /api/v1/order` (module docstring). Raises BackpackApiError."""
        account = self.account_of(api_key)
        symbol = self._symbol(body)
        assert symbol is not None
        side = WORD_SIDES.get(str(body.get("side")))
        if side is None:
            raise invalid("side must be Bid or Ask")
        otype = str(body.get("orderType", ""))
        if otype not in ("Limit", "Market"):
            raise invalid("orderType must be Limit or Market")
        if body.get("triggerPrice") is not None or body.get("quoteQuantity") is not None:
            raise BackpackApiError(
                400, "INVALID_ORDER", "trigger and quote-quantity orders are not simulated"
            )
        tif_text = str(body.get("timeInForce") or "GTC")
        if tif_text not in ("GTC", "IOC"):
            raise BackpackApiError(400, "INVALID_ORDER", f"timeInForce {tif_text} is not simulated")
        post_only = body.get("postOnly") is True
        quantity = _decimal(body.get("quantity"), "quantity")
        price = _decimal(body["price"], "price") if body.get("price") is not None else None
        if otype == "Limit" and price is None:
            raise invalid("price is required for a Limit order")
        client_id = _client_id(body.get("clientId"))
        if client_id is not None and client_id in account.client_ids:
            raise BackpackApiError(400, "INVALID_ORDER", "Duplicate client id")
        tif = (
            TimeInForce.POST_ONLY
            if post_only
            else (TimeInForce.IOC if tif_text == "IOC" else TimeInForce.GTC)
        )
        order = self.engine.place(
            account.account_id,
            symbol,
            side,
            quantity,
            price if otype == "Limit" else None,
            type=OrderType.LIMIT if otype == "Limit" else OrderType.MARKET,
            tif=tif,
            reduce_only=body.get("reduceOnly") is True,
            client_id=client_id,
        )
        if order.status is OrderStatus.REJECTED:
            code, text = REJECT_TEXT.get(
                order.reason or Reason.INVALID_TYPE, ("INVALID_ORDER", "Order rejected")
            )
            if order.client_id is not None:
                account.client_ids.pop(order.client_id, None)
            raise BackpackApiError(400, code, text)
        return self.order_body(order)

    def _find(self, account: Account, symbol: str, params: dict[str, Any]) -> Order | None:
        order_id, client_id = params.get("orderId"), _client_id(params.get("clientId"))
        if order_id is not None:
            try:
                order = account.orders.get(int(str(order_id)))
            except ValueError:
                return None
        elif client_id is not None:
            found = account.client_ids.get(client_id)
            order = account.orders.get(found) if found is not None else None
        else:
            raise invalid("orderId or clientId is required")
        return order if order is not None and order.market == symbol else None

    def order_query(self, api_key: str, params: dict[str, Any]) -> dict[str, Any]:
        """`GET /api/v1/order`: an OPEN order by `orderId` or `clientId`; 404 RESOURCE_NOT_FOUND otherwise."""
        account = self.account_of(api_key)
        symbol = self._symbol(params)
        assert symbol is not None
        order = self._find(account, symbol, params)
        if order is None or not order.is_open:
            raise not_found()
        return self.order_body(order)

    def cancel_order(self, api_key: str, body: dict[str, Any]) -> dict[str, Any]:
        """`DELETE /api/v1/order`: cancel an open order; answers it (status Cancelled); 404 when not open."""
        account = self.account_of(api_key)
        symbol = self._symbol(body)
        assert symbol is not None
        order = self._find(account, symbol, body)
        if order is None or not order.is_open:
            raise not_found()
        try:
            self.engine.cancel(account.account_id, order.order_id)
        except EngineError:
            raise not_found() from None
        return self.order_body(order)

    def cancel_all(self, api_key: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        """`DELETE /api/v1/orders {symbol}`: every open order of the market cancelled; answers them."""
        account = self.account_of(api_key)
        symbol = self._symbol(body)
        return [self.order_body(o) for o in self.engine.cancel_all(account.account_id, symbol)]

    def open_orders(self, api_key: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """`GET /api/v1/orders[?symbol]`: open orders, oldest first."""
        account = self.account_of(api_key)
        symbol = self._symbol(params, required=False)
        rows = sorted(account.open_orders.values(), key=lambda o: o.order_id)
        return [self.order_body(o) for o in rows if symbol is None or o.market == symbol]

    def order_history(self, api_key: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """`GET /wapi/v1/history/orders[?symbol&orderId&limit&offset]`: accepted orders, newest first."""
        account = self.account_of(api_key)
        symbol = self._symbol(params, required=False)
        order_id = params.get("orderId")
        rows = [
            o
            for o in sorted(account.orders.values(), key=lambda o: -o.order_id)
            if o.status is not OrderStatus.REJECTED
            and (symbol is None or o.market == symbol)
            and (order_id is None or str(o.order_id) == str(order_id))
        ]
        return [self.order_body(o) for o in page(rows, params)]

    def update_account(self, api_key: str, body: dict[str, Any]) -> None:
        """`PATCH /api/v1/account {leverageLimit}`: the account's leverage in every market (engine leverage per
        market, capped at each market's maximum). Refused: below 1 or above every market's maximum."""
        account_id = self.keys[api_key]
        if body.get("leverageLimit") is None:
            return
        leverage = _decimal(body["leverageLimit"], "leverageLimit")
        maxima = [s.spec.max_leverage for s in self.engine.markets.values()]
        if leverage < 1 or (maxima and leverage > max(maxima)):
            raise invalid(f"leverageLimit {leverage} is outside 1..{max(maxima) if maxima else '?'}")
        self.leverage[account_id] = leverage
        for name, state in self.engine.markets.items():
            self.engine.set_leverage(account_id, name, min(leverage, state.spec.max_leverage))
