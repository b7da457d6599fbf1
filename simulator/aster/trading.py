"""Aster trading protocol of the simulator, on the venue-neutral engine: engine set-up from the scenario, accounts by
user address, order entry, cancels and order queries (the account bodies: `simulator.aster.account`).

Engine set-up: every PERPETUAL row of `aster/exchangeInfo.json` becomes a market (`aster_market_spec`) with its
`fundingInfo` interval (8 when absent) as `settlement_interval_hours` (`FundingMode.SETTLE_EVERY_INTERVAL`: paid
every N hours on the UTC hours divisible by N). The initial mark is `premiumIndex.json` `markPrice`; the funding
rate is `lastFundingRate` / N, held constant, unless `scenario.json` `funding.aster.<SYMBOL>` sets it. A market
maker quotes `AsterTradingConfig` depth around a seeded random walk from the mark. A row that cannot be read is
skipped with a logged reason, never given zeros.

Orders (`POST order`, asterdex/api-docs V1 / V3 "New Order"): `symbol`, `side` BUY/SELL, `type` LIMIT/MARKET,
`timeInForce` GTC/IOC/GTX (post-only)/FOK (treated as IOC), `quantity`, `price` (LIMIT), `reduceOnly`,
`newClientOrderId` (`^[.A-Z:/a-z0-9_-]{1,36}$`, default generated). Refusals are HTTP 400 `{"code","msg"}`
(`REJECT_CODES`); a GTX that would take is accepted and EXPIRED (Binance behaviour), as is the unfilled part of an
IOC. An injected engine rejection (`reject_next`) answers -2010 NEW_ORDER_REJECTED.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass, replace
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from perparb_core import units
from perparb_core.models import reject, reject_unit_error
from simulator.aster.auth import AsterAuth
from simulator.aster.errors import AsterApiError, bad_param
from simulator.aster.helpers import CLIENT_ID, new_client_id
from simulator.aster.markets import ASTER_RULES, DEFAULT_INTERVAL_HOURS, aster_market_spec
from simulator.aster.scenario import AsterTradingSettings, aster_data
from simulator.aster.wire import WIRE_TIF, order_json
from simulator.engine import (
    Account,
    ConstantRate,
    Engine,
    LiquidityConfig,
    Order,
    OrderNotFoundError,
    OrderNotOpenError,
    OrderRequest,
    OrderStatus,
    OrderType,
    RandomWalkMid,
    RateProvider,
    Reason,
    Side,
    TimeInForce,
)
from simulator.faults import FaultInjector
from simulator.scenario import Scenario, SimClock

log = logging.getLogger("perparb.simulator")

VENUE = "aster"

REJECT_CODES: dict[Reason, tuple[int, str]] = {
    Reason.UNKNOWN_MARKET: (-1121, "Invalid symbol."),
    Reason.INVALID_SIZE: (-4003, "Quantity less than zero."),
    Reason.INVALID_PRICE: (-4001, "Price less than 0."),
    Reason.INVALID_TYPE: (-1116, "Invalid orderType."),
    Reason.TICK_SIZE: (-4014, "Price not increased by tick size."),
    Reason.LOT_SIZE: (-4023, "Qty not increased by step size."),
    Reason.MIN_SIZE: (-4004, "Quantity less than min quantity."),
    Reason.MAX_SIZE: (-4005, "Quantity greater than max quantity."),
    Reason.MIN_NOTIONAL: (
        -4164,
        "Order's notional must be no smaller than {min} (unless you choose reduce only)",
    ),
    Reason.DUPLICATE_CLIENT_ID: (-4116, "ClientOrderId is duplicated."),
    Reason.REDUCE_ONLY_WOULD_INCREASE: (-2022, "ReduceOnly Order is rejected."),
    Reason.REDUCE_ONLY_EXCEEDS_POSITION: (-2022, "ReduceOnly Order is rejected."),
    Reason.INSUFFICIENT_MARGIN: (-2019, "Margin is insufficient."),
    Reason.FAULT_INJECTED: (-2010, "NEW_ORDER_REJECTED"),
}


@dataclass(frozen=True)
class AsterTradingConfig:
    """Engine set-up for the Aster venue (`scenario.json` `trading.aster` overrides any field).

    Attributes:
        levels, spread_bps, level_step_bps, replenish_ms: the market maker's depth; notional_per_level: USD a
        level; vol_bps, walk_step_ms, seed: each mid's random walk (market i: seed + i); sync_interval_seconds:
        real seconds between background engine syncs.
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


def _decimal(params: dict[str, str], name: str, *, required: bool = True) -> Decimal | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise bad_param(name)
        return None
    try:
        out = Decimal(value)
    except InvalidOperation:
        raise AsterApiError(400, -1130, f"Data sent for parameter '{name}' is not valid.") from None
    if not out.is_finite():
        raise AsterApiError(400, -1130, f"Data sent for parameter '{name}' is not valid.")
    return out


class AsterTrading:
    """The Aster venue's trading state: engine, accounts by user address, order entry and queries.

    Args:
        scenario: the loaded scenario; clock: the simulator clock; auth: the venue's `AsterAuth`; config:
        liquidity and background-sync settings (default: `trading.aster` of `scenario.json` over the defaults).

    Attributes:
        accounts / users: user address -> engine account id and back; listen_keys: listenKey -> user;
        expired_post_only: (account id, client id) -> a GTX order the venue accepted and expired;
        funding_overrides / funding_from_settings: markets whose rate the admin API / `scenario.json` set.
    """

    def __init__(
        self, scenario: Scenario, clock: SimClock, auth: AsterAuth, config: AsterTradingConfig | None = None
    ) -> None:
        self.scenario = scenario
        self.clock = clock
        self.auth = auth
        settings = scenario.settings.venue_trading(VENUE) or AsterTradingSettings()
        self.config = config or replace(AsterTradingConfig(), **settings.config_overrides())
        self.engine = Engine(ASTER_RULES, clock=clock)
        self.accounts: dict[str, int] = {}
        self.users: dict[int, str] = {}
        self.listen_keys: dict[str, str] = {}
        self.expired_post_only: dict[tuple[int, str], Order] = {}
        self.funding_overrides: dict[str, Decimal] = {}
        self.funding_from_settings: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._build_markets()
        spec = scenario.settings.venue_faults(VENUE).engine
        if spec is not None:
            spec.apply(self.engine.faults)

    # ---------------------------------------------------------------------------------------- set-up

    def _build_markets(self) -> None:
        data = aster_data(self.scenario)
        intervals = data.intervals()
        cfg = self.config
        for index, row in enumerate((data.exchange_info or {}).get("symbols", [])):
            symbol = str(row.get("symbol"))
            if row.get("contractType", "PERPETUAL") != "PERPETUAL":
                continue
            premium = data.premium(symbol) or {}
            interval = intervals.get(symbol, DEFAULT_INTERVAL_HOURS)
            try:
                mark = units.to_decimal(
                    premium.get("markPrice"), "markPrice", allow_negative=False, allow_zero=False
                )
                spec = aster_market_spec(row, interval_hours=interval, mark_price=mark)
            except units.UnitError as exc:
                reject_unit_error(VENUE, "simulator exchangeInfo/premiumIndex", symbol, exc)
                continue
            except ValueError as exc:
                reject(VENUE, "simulator exchangeInfo", symbol, "symbols[]", symbol, str(exc))
                continue
            configured = self.scenario.funding_provider(VENUE, symbol)
            if configured is not None:
                self.funding_from_settings.add(symbol)
            self.engine.add_market(
                spec,
                funding=configured
                if configured is not None
                else self._scenario_rate(symbol, premium, interval),
            )
            step = spec.size_step
            size = (cfg.notional_per_level / mark / step).to_integral_value(ROUND_FLOOR) * step
            self.engine.add_liquidity(
                symbol,
                RandomWalkMid(
                    mark,
                    start_ms=self.engine.now_ms(),
                    seed=cfg.seed + index,
                    step_ms=cfg.walk_step_ms,
                    vol_bps=cfg.vol_bps,
                ),
                LiquidityConfig(
                    levels=cfg.levels,
                    spread_bps=cfg.spread_bps,
                    level_step_bps=cfg.level_step_bps,
                    size_per_level=max(size, spec.min_size, step),
                    replenish_ms=cfg.replenish_ms,
                ),
            )
        log.info("aster engine: %d markets traded", len(self.engine.markets))

    @staticmethod
    def _scenario_rate(symbol: str, premium: dict[str, Any], interval: int) -> RateProvider:
        try:
            raw = units.to_decimal(premium.get("lastFundingRate"), "lastFundingRate")
        except units.UnitError as exc:
            reject_unit_error(VENUE, "simulator premiumIndex", symbol, exc)
            return ConstantRate(Decimal(0), label=f"{symbol}: no usable lastFundingRate, no funding")
        return ConstantRate(
            units.hourly_from_period(raw, Decimal(interval)),
            label=f"premiumIndex lastFundingRate {raw} per {interval} h, constant",
        )

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

    def apply_http_faults(self, faults: FaultInjector) -> None:
        """`scenario.json` `faults.aster.http` applied to this venue's injector."""
        spec = self.scenario.settings.venue_faults(VENUE).http
        if spec is not None:
            faults.configure(spec)

    # ---------------------------------------------------------------------------------------- accounts

    def ensure_account(self, user: str) -> Account:
        """The engine account of a user address (lower-cased), created with 0 USDT on first use."""
        user = user.lower()
        account_id = self.accounts.get(user)
        if account_id is None:
            account = self.engine.create_account()
            self.accounts[user] = account.account_id
            self.users[account.account_id] = user
            log.info("aster account %s -> engine account %d", user, account.account_id)
            return account
        return self.engine.account(account_id)

    def fund(self, user: str, amount: Decimal) -> Account:
        """Create the account if needed and deposit `amount` USDT (0 = create only)."""
        account = self.ensure_account(user)
        if amount > 0:
            self.engine.deposit(account.account_id, amount)
        return account

    def market_symbol(self, params: dict[str, str]) -> str:
        """The `symbol` parameter of a traded market. Raises AsterApiError -1102 / -1121."""
        symbol = params.get("symbol")
        if not symbol:
            raise bad_param("symbol")
        if symbol.upper() not in self.engine.markets:
            raise AsterApiError(400, -1121)
        return symbol.upper()

    def new_listen_key(self, user: str) -> str:
        """`POST listenKey`: the user's active key (kept), or a new one."""
        for key, owner in self.listen_keys.items():
            if owner == user:
                return key
        key = secrets.token_hex(32)
        self.listen_keys[key] = user
        return key

    # ---------------------------------------------------------------------------------------- orders

    def place(self, account: Account, params: dict[str, str]) -> dict[str, Any]:
        """`POST order`: the order object after matching (module docstring).

        Raises:
            AsterApiError: a missing / bad parameter or a refusal (`REJECT_CODES`)."""
        symbol = self.market_symbol(params)
        side_word = params.get("side")
        if side_word not in ("BUY", "SELL"):
            raise AsterApiError(400, -1117, "Invalid side.")
        kind = params.get("type")
        if kind not in ("LIMIT", "MARKET"):
            raise AsterApiError(400, -1116, "Invalid orderType.")
        quantity = _decimal(params, "quantity")
        assert quantity is not None
        price = _decimal(params, "price", required=kind == "LIMIT")
        if kind == "LIMIT":
            tif_word = params.get("timeInForce")
            if tif_word not in WIRE_TIF:
                raise AsterApiError(400, -1115, "Invalid timeInForce.")
            tif = WIRE_TIF[tif_word]
        else:
            tif, price = TimeInForce.IOC, None
        reduce_word = params.get("reduceOnly", "false").lower()
        if reduce_word not in ("true", "false"):
            raise AsterApiError(400, -4062, "Invalid or improper reduceOnly value.")
        client_id = params.get("newClientOrderId") or new_client_id()
        if not CLIENT_ID.match(client_id):
            raise AsterApiError(400, -4015, "Client order id is not valid.")
        order = self.engine.submit(
            OrderRequest(
                account.account_id,
                symbol,
                Side.BUY if side_word == "BUY" else Side.SELL,
                quantity,
                price,
                OrderType.MARKET if kind == "MARKET" else OrderType.LIMIT,
                tif,
                reduce_word == "true",
                client_id,
            )
        )
        if order.status is OrderStatus.REJECTED:
            if order.reason is Reason.POST_ONLY_WOULD_CROSS:
                self.expired_post_only[(account.account_id, client_id)] = order
                return order_json(order)
            assert order.reason is not None
            code, msg = REJECT_CODES.get(order.reason, (-2010, "NEW_ORDER_REJECTED"))
            if code == -4164:
                msg = msg.format(min=self.engine.markets[symbol].spec.min_notional.normalize())
            raise AsterApiError(400, code, msg)
        return order_json(order)

    def find_order(self, account: Account, params: dict[str, str]) -> Order:
        """The order named by `orderId` or `origClientOrderId` (any state). Raises AsterApiError -2013 / -1102."""
        symbol = self.market_symbol(params)
        order: Order | None = None
        if params.get("orderId"):
            try:
                order = account.orders.get(int(params["orderId"]))
            except ValueError:
                raise bad_param("orderId") from None
        elif params.get("origClientOrderId"):
            cid = params["origClientOrderId"]
            found = account.client_ids.get(cid)
            order = (
                account.orders.get(found)
                if found is not None
                else self.expired_post_only.get((account.account_id, cid))
            )
        else:
            raise AsterApiError(
                400, -1102, "Param 'orderId' or 'origClientOrderId' must be sent, but both were empty/null!"
            )
        if (
            order is None
            or order.market != symbol
            or (order.status is OrderStatus.REJECTED and (order.reason is not Reason.POST_ONLY_WOULD_CROSS))
        ):
            raise AsterApiError(400, -2013)
        return order

    def query(self, account: Account, params: dict[str, str]) -> dict[str, Any]:
        """`GET order`. Raises AsterApiError -2013 for an unknown order."""
        self.engine.sync()
        return order_json(self.find_order(account, params), with_time=True)

    def cancel(self, account: Account, params: dict[str, str]) -> dict[str, Any]:
        """`DELETE order`: the cancelled order. Raises AsterApiError -2011 (not open) / -2013 (unknown)."""
        order = self.find_order(account, params)
        try:
            self.engine.cancel(account.account_id, order.order_id)
        except (OrderNotFoundError, OrderNotOpenError):
            raise AsterApiError(400, -2011, "Unknown order sent.") from None
        return order_json(order)

    def cancel_all(self, account: Account, params: dict[str, str]) -> dict[str, Any]:
        """`DELETE allOpenOrders` of a symbol (recorded body rest_allOpenOrders_delete_success.json)."""
        symbol = self.market_symbol(params)
        self.engine.cancel_all(account.account_id, symbol)
        return {"code": "200", "msg": "The operation of cancel all open order is done."}

    def open_orders(self, account: Account, params: dict[str, str]) -> list[dict[str, Any]]:
        """`GET openOrders` (of one symbol when given), oldest first."""
        self.engine.sync()
        symbol = self.market_symbol(params) if params.get("symbol") else None
        rows = sorted(account.open_orders.values(), key=lambda o: o.order_id)
        return [order_json(o, with_time=True) for o in rows if symbol is None or o.market == symbol]
