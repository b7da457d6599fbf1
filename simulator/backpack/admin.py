"""The Backpack admin API of the simulator (`/_sim/...`, loopback only), on the shared bodies of `simulator.admin`.

```
POST /_sim/accounts {"api_key": "<base64 ED25519 public key>", "collateral": "10000"}   register the key (its
                              requests are then verified against it) and/or deposit USDC -> the account view
GET  /_sim/accounts           every account: api_key, engine_account_id
GET  /_sim/accounts/{id}      engine account id, or ?api_key= : collateral, equity, margins, leverage, positions
                              (`size` signed), open orders, fills, funding payments (the venue's shapes)
GET  /_sim/markets, GET /_sim/markets/{symbol}     mark, best bid/ask, rate_hourly, funding_source
POST /_sim/markets/{symbol}/mark {"price": "3600"} | {"random_walk": {...}}
POST /_sim/markets/{symbol}/funding {"rate_hourly": "0.0001"} | {"funding_rate": ...} (per the market's interval)
GET|POST /_sim/engine/faults  (shared EngineFaultSpec)
POST /_sim/ws/faults {"drop_connections": true} | {"skip_depth_update": true}
POST /_sim/venue/down, /_sim/venue/up      503 MAINTENANCE to everything but /_sim/ while down; sockets dropped
```
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, ClassVar

from aiohttp import web
from pydantic import field_validator

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
from simulator.backpack.auth import public_key
from simulator.backpack.feeds import Feeds
from simulator.backpack.markets import num
from simulator.backpack.trading import BackpackTrading
from simulator.engine import Account, ConstantRate, EngineError, RandomWalkMid
from simulator.faults import FaultInjector, FaultSpec
from simulator.formats import json_response

DropSockets = Callable[[], Awaitable[int]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class AccountSpec(DepositSpec):
    """Body of `POST /_sim/accounts`: the account's API key (base64 ED25519 public key) and USDC to deposit."""

    api_key: str

    @field_validator("api_key")
    @classmethod
    def _check(cls, value: str) -> str:
        public_key(value.strip())
        return value.strip()


class BackpackWsFaultSpec(WsFaultSpec):
    """`drop_connections` closes every WebSocket; `skip_depth_update` makes the next depth delta skip an id."""

    ACTIONS: ClassVar[tuple[str, ...]] = ("drop_connections", "skip_depth_update")
    skip_depth_update: bool = False


def account_view(trading: BackpackTrading, account: Account) -> dict[str, Any]:
    engine = trading.engine
    account_id = account.account_id
    return {
        "api_key": trading.owners.get(account_id),
        "engine_account_id": account_id,
        "collateral": num(account.collateral),
        "equity": num(engine.equity(account_id)),
        "initial_margin": num(engine.initial_margin(account_id)),
        "maintenance_margin": num(engine.maintenance_margin(account_id)),
        "leverage_limit": num(trading.leverage.get(account_id)),
        "fees_paid": num(account.fees_paid),
        "realized_pnl": num(account.realized_pnl),
        "funding": num(account.funding),
        "positions": [
            {"symbol": m, "size": num(p.size), "entry_price": num(p.entry_price), "funding": num(p.funding)}
            for m, p in sorted(account.positions.items())
            if p.size
        ],
        "open_orders": [
            trading.order_body(o) for o in sorted(account.open_orders.values(), key=lambda o: o.order_id)
        ],
        "fills": [trading.fill_body(account, f) for f in account.fills],
        "funding_payments": [trading.funding_body(p, account_id) for p in account.funding_payments],
    }


def add_trading_admin_routes(
    app: web.Application,
    trading: BackpackTrading,
    feeds: Feeds,
    faults: FaultInjector,
    drop_sockets: DropSockets,
) -> None:
    """Register the admin routes of the module docstring on `app`."""
    engine = trading.engine

    def guarded(fn: Handler) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            try:
                return await fn(request)
            except AdminError as exc:
                return web.json_response({"error": str(exc)}, status=exc.status)

        return local_only(handler)

    def state_of(symbol: str) -> Any:
        state = engine.markets.get(symbol)
        if state is None:
            raise AdminError(404, f"backpack: market {symbol!r} is not traded by the simulator")
        return state

    def market_view(symbol: str) -> dict[str, Any]:
        state = state_of(symbol)
        engine.sync()
        bid, ask = state.book.best_bid(), state.book.best_ask()
        return {
            "market": symbol,
            "mark_price": num(state.mark_price),
            "best_bid": num(bid),
            "best_ask": num(ask),
            "funding_style": "settled every hour on the hour",
            "funding_period_hours": num(state.spec.funding_period_hours),
            "rate_hourly": num(state.rate_hourly),
            "funding_source": state.funding.label,
            "funding_from_settings": symbol in trading.funding_from_settings
            and symbol not in trading.funding_overrides,
        }

    async def post_account(request: web.Request) -> web.StreamResponse:
        try:
            spec = await admin_spec(request, AccountSpec)
        except ValueError as exc:
            raise AdminError(400, str(exc)) from None
        return json_response(account_view(trading, trading.fund(spec.api_key, spec.collateral)))

    async def list_accounts(request: web.Request) -> web.StreamResponse:
        rows = [
            {"api_key": k, "engine_account_id": i}
            for k, i in sorted(trading.keys.items(), key=lambda kv: kv[1])
        ]
        return json_response({"results": rows})

    async def get_account(request: web.Request) -> web.StreamResponse:
        ref = request.match_info["ref"]
        account_id = trading.keys.get(ref) if not ref.isdigit() else int(ref)
        if account_id is None or account_id not in trading.owners:
            raise AdminError(404, f"backpack: no account {ref!r}")
        return json_response(account_view(trading, engine.account(account_id)))

    async def get_markets(request: web.Request) -> web.StreamResponse:
        return json_response({"markets": [market_view(m) for m in sorted(engine.markets)]})

    async def get_market(request: web.Request) -> web.StreamResponse:
        return json_response(market_view(request.match_info["market"]))

    async def post_mark(request: web.Request) -> web.StreamResponse:
        symbol = request.match_info["market"]
        state = state_of(symbol)
        spec = await admin_spec(request, MarkSpec)
        try:
            if spec.price is not None:
                engine.set_mark_price(symbol, spec.price)
            else:
                assert spec.random_walk is not None
                walk = spec.random_walk
                engine.set_mid_path(
                    symbol,
                    RandomWalkMid(
                        state.mark_price,
                        start_ms=engine.now_ms(),
                        seed=walk.seed,
                        step_ms=walk.step_ms,
                        vol_bps=walk.vol_bps,
                    ),
                )
        except EngineError as exc:
            raise AdminError(400, str(exc)) from None
        return json_response(market_view(symbol))

    async def post_funding(request: web.Request) -> web.StreamResponse:
        symbol = request.match_info["market"]
        state = state_of(symbol)
        spec = await admin_spec(request, FundingSpec)
        rate = spec.hourly(state.spec.funding_period_hours)
        engine.sync()
        state.funding = ConstantRate(rate, label=f"admin: constant {rate}/h")
        state.rate_hourly = rate
        trading.funding_overrides[symbol] = rate
        return json_response(market_view(symbol))

    async def post_ws_faults(request: web.Request) -> web.StreamResponse:
        spec = await admin_spec(request, BackpackWsFaultSpec)
        dropped = await drop_sockets() if spec.drop_connections else 0
        if spec.skip_depth_update:
            feeds.skip_next = True
        return json_response({"dropped": dropped, "skip_depth_update": feeds.skip_next})

    async def venue_down(request: web.Request) -> web.StreamResponse:
        faults.configure(FaultSpec(http_status=503))
        dropped = await drop_sockets()
        return json_response({"down": True, "dropped": dropped})

    async def venue_up(request: web.Request) -> web.StreamResponse:
        faults.configure(FaultSpec(clear=True))
        return json_response({"down": False})

    r = app.router
    r.add_post(ADMIN_PREFIX + "accounts", guarded(post_account))
    r.add_get(ADMIN_PREFIX + "accounts", guarded(list_accounts))
    r.add_get(ADMIN_PREFIX + "accounts/{ref}", guarded(get_account))
    r.add_get(ADMIN_PREFIX + "markets", guarded(get_markets))
    r.add_get(ADMIN_PREFIX + "markets/{market}", guarded(get_market))
    r.add_post(ADMIN_PREFIX + "markets/{market}/mark", guarded(post_mark))
    r.add_post(ADMIN_PREFIX + "markets/{market}/funding", guarded(post_funding))
    r.add_post(ADMIN_PREFIX + "ws/faults", guarded(post_ws_faults))
    r.add_post(ADMIN_PREFIX + "venue/down", guarded(venue_down))
    r.add_post(ADMIN_PREFIX + "venue/up", guarded(venue_up))
    add_engine_fault_routes(app, engine, venue="backpack", response_key="engine_faults")


__all__ = ["AdminError", "Decimal", "add_trading_admin_routes"]
