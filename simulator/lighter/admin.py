"""The Lighter trading admin API of the simulator (`AdminMixin` of `LighterTrading`, `add_trading_admin_routes`).

Admin (loopback only, `/_sim/...`; bodies in `simulator/README.md`, "Trading: Lighter"): `POST /_sim/accounts`,
`GET /_sim/accounts/{index}`, `GET /_sim/markets`, `GET /_sim/markets/{m}` (mark, funding rate and its source
label), `POST /_sim/markets/{m}/mark`, `POST /_sim/markets/{m}/funding`, `GET|POST /_sim/engine/faults`,
`POST /_sim/ws/faults`, `POST /_sim/venue/down|up`.

The bodies are the shared admin models (`simulator.admin`: `MarkSpec`, `FundingSpec`, `EngineFaultSpec`); the
account and WebSocket-fault bodies extend the shared bases with Lighter's fields.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from aiohttp import web
from pydantic import Field

from simulator.admin import (
    ADMIN_PREFIX,
    DepositSpec,
    FundingSpec,
    MarkSpec,
    WsFaultSpec,
    add_engine_fault_routes,
    admin_spec,
    local_only,
)
from simulator.engine import INSURANCE_ACCOUNT_ID, ConstantRate, EngineError, RandomWalkMid, SeriesMid
from simulator.engine import accounts as margin
from simulator.faults import FaultInjector, FaultSpec
from simulator.lighter.markets import MAKER_ACCOUNT_BASE, LighterMarket
from simulator.lighter.state import LighterState

if TYPE_CHECKING:
    from simulator.lighter.trading import LighterTrading

log = logging.getLogger("perparb.simulator")


class AdminMixin(LighterState):
    """The engine's exact state and the admin actions behind `/_sim/...` (module docstring)."""

    def admin_account(self, account_index: int) -> dict[str, Any]:
        """`GET /_sim/accounts/{index}`: exact engine state (decimal strings at full precision)."""
        self.sync()
        account = self.engine.account(account_index)
        markets = self.engine.markets
        positions = []
        for market in self._account_markets(account):
            pos = account.positions.get(market.symbol)
            if pos is None:
                continue
            state = markets[market.symbol]
            positions.append(
                {
                    "market_id": market.market_id,
                    "symbol": market.symbol,
                    "size": str(pos.size),
                    "entry_price": str(pos.entry_price),
                    "mark_price": str(state.mark_price),
                    "unrealized_pnl": str(pos.unrealized_pnl(state.mark_price)),
                    "realized_pnl": str(pos.realized_pnl),
                    "funding": str(pos.funding),
                }
            )
        fills = [
            {
                "fill_id": f.fill_id,
                "trade_id": f.trade_id,
                "market_id": self.by_symbol[f.market].market_id,
                "order_index": self.index_of_id(f.order_id),
                "side": f.side.value,
                "liquidity": f.liquidity.value,
                "kind": f.kind.value,
                "price": str(f.price),
                "size": str(f.size),
                "fee": str(f.fee),
                "realized_pnl": str(f.realized_pnl),
                "position_after": str(f.position_after),
                "ts_ms": f.ts_ms,
            }
            for f in account.fills
            if f.market in self.by_symbol
        ]
        payments = [
            {
                "payment_id": p.payment_id,
                "market_id": self.by_symbol[p.market].market_id,
                "ts_ms": p.ts_ms,
                "amount": str(p.amount),
                "position_size": str(p.position_size),
                "rate_hourly": str(p.rate_hourly),
                "mark_price": str(p.mark_price) if p.mark_price is not None else None,
            }
            for p in account.funding_payments
            if p.market in self.by_symbol
        ]
        return {
            "account_index": account.account_id,
            "l1_address": self.l1_address(account.account_id),
            "collateral": str(account.collateral),
            "equity": str(margin.equity(account, markets)),
            "available_balance": str(
                margin.equity(account, markets) - margin.initial_margin(account, markets)
            ),
            "initial_margin": str(margin.initial_margin(account, markets)),
            "maintenance_margin": str(margin.maintenance_margin(account, markets)),
            "deposits": str(account.deposits),
            "fees_paid": str(account.fees_paid),
            "realized_pnl": str(account.realized_pnl),
            "funding": str(account.funding),
            "liquidations": account.liquidations,
            "positions": positions,
            "open_orders": [
                self.order_json(o) for o in sorted(account.open_orders.values(), key=lambda o: o.order_id)
            ],
            "fills": fills,
            "funding_payments": payments,
        }

    def admin_fund(self, account_index: int, collateral: Decimal, l1_address: str | None) -> dict[str, Any]:
        """`POST /_sim/accounts`: create the account (or add `collateral` to an existing one).

        Raises:
            ValueError: a reserved index (market makers, insurance fund) or collateral < 0.
        """
        if account_index >= MAKER_ACCOUNT_BASE or account_index == INSURANCE_ACCOUNT_ID:
            raise ValueError(f"account index {account_index} is reserved for the simulator's market makers")
        self.sync()
        account = self.engine.accounts.get(account_index)
        if account is None:
            self.engine.create_account(account_index, collateral)
            self.created_ms[account_index] = self.engine.now_ms()
        elif collateral > 0:
            self.engine.deposit(account_index, collateral)
        elif collateral < 0:
            raise ValueError("collateral must be >= 0")
        if l1_address:
            self.l1_addresses[account_index] = l1_address
        self.hub.touch(account_index)
        return self.admin_account(account_index)

    def admin_mark(self, market: LighterMarket, price: Decimal | None, walk: RandomWalkMid | None) -> None:
        """`POST /_sim/markets/{m}/mark`: pin the mark at `price`, or let it follow `walk`."""
        self.sync()
        now = self.engine.now_ms()
        maker = self.makers.get(market.market_id)
        if maker is not None:
            maker.path = (
                walk if walk is not None else SeriesMid([(now, price if price is not None else market.mark0)])
            )
            maker.refresh(now)
        elif walk is not None:
            self.engine.set_mid_path(market.symbol, walk)
        elif price is not None:
            self.engine.set_mark_price(market.symbol, price)

    def admin_market(self, market: LighterMarket) -> dict[str, Any]:
        """`GET /_sim/markets/{m}`: the engine's view of one market: mark, best bid/ask, the funding rate in
        force (fraction per hour, Lighter settles it hourly) and `funding_source`, the rate provider's label
        (e.g. "replay of binance BTCUSDT history under lighter's protocol", "scenario.json: constant 0.00001/h",
        "lighter funding-rates ETH / 8" for the recorded rate, "admin: ..." after `POST .../funding`)."""
        self.sync()
        state = self.engine.market(market.symbol)
        ask, bid = state.book.best_ask(), state.book.best_bid()
        return {
            "market_id": market.market_id,
            "symbol": market.symbol,
            "mark_price": str(state.mark_price),
            "best_bid": str(bid) if bid is not None else None,
            "best_ask": str(ask) if ask is not None else None,
            "funding_style": "hourly settlement",
            "rate_hourly": str(state.rate_hourly),
            "funding_source": state.funding.label,
            "funding_from_settings": self.scenario.funding_provider(
                "lighter", market.symbol, str(market.market_id)
            )
            is state.funding,
            "recorded_book": market.market_id in self.makers,
        }

    def admin_funding(self, market: LighterMarket, rate_hourly: Decimal) -> None:
        """`POST /_sim/markets/{m}/funding`: a constant hourly rate from now (the hour in progress settles at
        it)."""
        self.sync()
        state = self.engine.market(market.symbol)
        state.funding = ConstantRate(rate_hourly, label=f"admin: {rate_hourly}/h")
        state.rate_hourly = rate_hourly
        market.funding_overridden = True


class AccountSpec(DepositSpec):
    """Body of `POST /_sim/accounts`: `collateral` USDC (created with it, or added to an existing account) of the
    account `account_index`; `l1_address` (optional) is what `GET /api/v1/account` answers for it."""

    account_index: int = Field(ge=0)
    l1_address: str | None = None


class LighterWsFaultSpec(WsFaultSpec):
    """Body of `POST /_sim/ws/faults`: `drop_connections` now, and/or `skip_nonce` of `market_id` (None = all),
    and/or `stall_accounts`: for `stall_seconds` the account connections go silent (a half-open connection: no
    `account_all` / `user_stats` frame and no pong reaches any connection subscribed to an account channel; the
    frames of that time are lost, as they would be)."""

    ACTIONS: ClassVar[tuple[str, ...]] = ("drop_connections", "skip_nonce", "stall_accounts")

    skip_nonce: bool = False
    market_id: int | None = None
    stall_accounts: bool = False
    stall_seconds: float = Field(default=5.0, gt=0, le=600)


SocketCloser = Callable[[], Awaitable[int]]


def add_trading_admin_routes(
    app: web.Application, trading: LighterTrading, faults: FaultInjector, close_sockets: SocketCloser
) -> None:
    """Register the trading admin API (`/_sim/...`, loopback only) on the Lighter `app`.

    Args:
        close_sockets: closes every open `/stream` connection, returns how many (WS drop fault, venue down).

    Also applies `scenario.json` `faults.lighter.http` to `faults` (the venue's HTTP faults from start-up).
    """
    trading.apply_http_faults(faults)

    async def post_account(request: web.Request) -> web.Response:
        spec = await admin_spec(request, AccountSpec)
        try:
            body = trading.admin_fund(spec.account_index, spec.collateral, spec.l1_address)
        except (ValueError, EngineError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(body)

    async def get_account(request: web.Request) -> web.Response:
        raw = request.match_info["index"]
        if not raw.isdigit():
            return web.json_response({"error": f"account index {raw!r} is not an integer"}, status=400)
        try:
            return web.json_response(trading.admin_account(int(raw)))
        except EngineError:
            return web.json_response({"error": f"no account {raw}"}, status=404)

    def _market(request: web.Request) -> LighterMarket:
        try:
            return trading.resolve_market(request.match_info["market"])
        except KeyError:
            raise web.HTTPNotFound(
                text=json.dumps({"error": f"no traded market {request.match_info['market']!r}"}),
                content_type="application/json",
            ) from None

    async def post_mark(request: web.Request) -> web.Response:
        market = _market(request)
        spec = await admin_spec(request, MarkSpec)
        walk = None
        if spec.random_walk is not None:
            state = trading.engine.market(market.symbol)
            walk = RandomWalkMid(
                state.mark_price,
                start_ms=trading.engine.now_ms(),
                seed=spec.random_walk.seed,
                step_ms=spec.random_walk.step_ms,
                vol_bps=spec.random_walk.vol_bps,
            )
        trading.admin_mark(market, spec.price, walk)
        state = trading.engine.market(market.symbol)
        return web.json_response(
            {"market_id": market.market_id, "symbol": market.symbol, "mark_price": str(state.mark_price)}
        )

    async def post_funding(request: web.Request) -> web.Response:
        market = _market(request)
        spec = await admin_spec(request, FundingSpec)
        rate_hourly = spec.hourly(market.spec.funding_period_hours)
        trading.admin_funding(market, rate_hourly)
        return web.json_response(
            {"market_id": market.market_id, "symbol": market.symbol, "rate_hourly": str(rate_hourly)}
        )

    async def get_markets(request: web.Request) -> web.Response:
        rows = [trading.admin_market(m) for m in sorted(trading.markets.values(), key=lambda m: m.market_id)]
        return web.json_response({"markets": rows})

    async def get_market(request: web.Request) -> web.Response:
        return web.json_response(trading.admin_market(_market(request)))

    async def post_ws_faults(request: web.Request) -> web.Response:
        spec = await admin_spec(request, LighterWsFaultSpec)
        out: dict[str, Any] = {}
        if spec.skip_nonce:
            if spec.market_id is not None and spec.market_id not in trading.markets:
                return web.json_response({"error": f"no traded market {spec.market_id}"}, status=404)
            out["skipped_nonce_markets"] = trading.hub.skip_nonce(spec.market_id)
        if spec.stall_accounts:
            trading.hub.stall_accounts(spec.stall_seconds)
            out["accounts_stalled_seconds"] = spec.stall_seconds
        if spec.drop_connections:
            out["dropped_connections"] = await close_sockets()
        log.info("lighter ws faults: %s", out)
        return web.json_response(out)

    async def venue_down(request: web.Request) -> web.Response:
        faults.configure(FaultSpec(http_status=503))
        dropped = await close_sockets()
        return web.json_response(
            {"venue": "down", "dropped_connections": dropped, "faults": faults.snapshot()}
        )

    async def venue_up(request: web.Request) -> web.Response:
        if faults.status_fault is not None and faults.status_fault.status == 503:
            faults.status_fault = None
        return web.json_response({"venue": "up", "faults": faults.snapshot()})

    app.router.add_post(ADMIN_PREFIX + "accounts", local_only(post_account))
    app.router.add_get(ADMIN_PREFIX + "accounts/{index}", local_only(get_account))
    app.router.add_get(ADMIN_PREFIX + "markets", local_only(get_markets))
    app.router.add_get(ADMIN_PREFIX + "markets/{market}", local_only(get_market))
    app.router.add_post(ADMIN_PREFIX + "markets/{market}/mark", local_only(post_mark))
    app.router.add_post(ADMIN_PREFIX + "markets/{market}/funding", local_only(post_funding))
    app.router.add_post(ADMIN_PREFIX + "ws/faults", local_only(post_ws_faults))
    app.router.add_post(ADMIN_PREFIX + "venue/down", local_only(venue_down))
    app.router.add_post(ADMIN_PREFIX + "venue/up", local_only(venue_up))
    add_engine_fault_routes(app, trading.engine, venue="lighter", response_key="faults")
