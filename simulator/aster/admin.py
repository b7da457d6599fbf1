"""The Aster admin API of the simulator (`add_aster_admin_routes`, loopback only, like `/_sim/faults`).

    POST /_sim/aster/agents   {"user": "0x..", "signer": "0x.."}         register a V3 API wallet of a user
    GET  /_sim/aster/agents                                               registered API wallets
    POST /_sim/aster/apikeys  {"api_key", "api_secret", "user"?}          register a V1 key pair -> {"user"}
    POST /_sim/accounts       {"user": "0x..", "collateral": "10000"}    create / add USDT
    GET  /_sim/accounts, GET /_sim/accounts/{user}                        accounts; one account's exact state
    GET  /_sim/markets, GET /_sim/markets/{m}                             mark, best bid/ask, rate and its source
    POST /_sim/markets/{m}/mark      {"price"} | {"random_walk": {...}}   `simulator.admin.MarkSpec`
    POST /_sim/markets/{m}/funding   {"rate_hourly"} | {"funding_rate"}   `FundingSpec` (funding_rate: per the
                                                                          market's interval)
    GET|POST /_sim/engine/faults                                          `EngineFaultSpec`
    POST /_sim/ws/faults {"drop_connections": true} | {"skip_depth_update": true}
    POST /_sim/venue/down, /_sim/venue/up                                 503 (-1001) to everything but /_sim/

Markets are named by Aster symbol ("ETHUSDT") or canonical base asset ("ETH" -> "ETHUSDT"). A bad body answers
400 `{"error": ...}`; the registered secrets are never logged nor echoed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, ClassVar

from aiohttp import web
from pydantic import Field, field_validator

from simulator.admin import (
    ADMIN_PREFIX,
    AdminModel,
    DepositSpec,
    FundingSpec,
    MarkSpec,
    WsFaultSpec,
    add_engine_fault_routes,
    admin_spec,
    local_only,
)
from simulator.aster.auth import ADDRESS
from simulator.aster.feeds import AsterFeeds
from simulator.aster.trading import AsterTrading
from simulator.aster.wire import dec_text, order_json
from simulator.engine import ConstantRate, EngineError, RandomWalkMid
from simulator.faults import FaultInjector, FaultSpec
from simulator.formats import json_response

log = logging.getLogger("perparb.simulator")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class AccountSpec(DepositSpec):
    """Body of `POST /_sim/accounts`: the user address and the USDT to deposit (0 = create only)."""

    user: str

    @field_validator("user")
    @classmethod
    def _address(cls, value: str) -> str:
        if not ADDRESS.match(value):
            raise ValueError("user must be an address: 0x followed by 40 hex digits")
        return value.lower()


class AgentSpec(AdminModel):
    """Body of `POST /_sim/aster/agents`."""

    user: str
    signer: str


class ApiKeySpec(AdminModel):
    """Body of `POST /_sim/aster/apikeys` (`user` default: derived from the key)."""

    api_key: str = Field(repr=False)
    api_secret: str = Field(repr=False)
    user: str | None = None


class AsterWsFaultSpec(WsFaultSpec):
    """Body of `POST /_sim/ws/faults`: `drop_connections` closes every WebSocket now; `skip_depth_update` makes the
    next depthUpdate's `pu` one no client saw (a sequence gap)."""

    ACTIONS: ClassVar[tuple[str, ...]] = ("drop_connections", "skip_depth_update")

    skip_depth_update: bool = False


def market_of(trading: AsterTrading, name: str) -> str:
    """Aster symbol of an admin market name ("ETH" or "ETHUSDT"). Raises web.HTTPNotFound."""
    key = name.upper()
    for candidate in (key, key + "USDT"):
        if candidate in trading.engine.markets:
            return candidate
    raise web.HTTPNotFound(
        text=f'{{"error": "market {name} is not traded by the simulator"}}', content_type="application/json"
    )


def market_view(trading: AsterTrading, market: str) -> dict[str, Any]:
    """`GET /_sim/markets/{m}`: mark, best bid/ask, the rate in force (per hour and per interval) and its source."""
    engine = trading.engine
    engine.sync()
    state = engine.markets[market]
    bid, ask = state.book.best_bid(), state.book.best_ask()
    interval = state.spec.settlement_interval_hours
    return {
        "market": market,
        "mark_price": dec_text(state.mark_price),
        "best_bid": dec_text(bid) if bid is not None else None,
        "best_ask": dec_text(ask) if ask is not None else None,
        "funding_style": f"settled every {interval} h",
        "settlement_interval_hours": interval,
        "rate_hourly": dec_text(state.rate_hourly),
        "funding_rate": dec_text(state.rate_hourly * interval),
        "funding_source": state.funding.label,
        "funding_from_settings": market in trading.funding_from_settings
        and market not in trading.funding_overrides,
    }


def account_view(trading: AsterTrading, user: str) -> dict[str, Any]:
    """Admin view of an account: money, margin, positions, open orders, fills, funding payments."""
    account_id = trading.accounts.get(user.lower())
    if account_id is None:
        raise web.HTTPNotFound(text=f'{{"error": "no account {user}"}}', content_type="application/json")
    engine = trading.engine
    account = engine.account(account_id)
    equity = engine.equity(account_id)
    imr = engine.initial_margin(account_id)
    return {
        "user": user.lower(),
        "engine_account_id": account_id,
        "collateral": dec_text(account.collateral),
        "equity": dec_text(equity),
        "initial_margin": dec_text(imr),
        "maintenance_margin": dec_text(engine.maintenance_margin(account_id)),
        "available": dec_text(equity - imr),
        "fees_paid": dec_text(account.fees_paid),
        "realized_pnl": dec_text(account.realized_pnl),
        "funding": dec_text(account.funding),
        "liquidations": account.liquidations,
        "positions": [
            {
                "symbol": m,
                "size": dec_text(p.size),
                "entry_price": dec_text(p.entry_price),
                "funding": dec_text(p.funding),
            }
            for m, p in sorted(account.positions.items())
            if p.size
        ],
        "open_orders": [
            order_json(o) for o in sorted(account.open_orders.values(), key=lambda o: o.order_id)
        ],
        "fills": [
            {
                "trade_id": f.trade_id,
                "symbol": f.market,
                "side": f.side.value,
                "price": dec_text(f.price),
                "size": dec_text(f.size),
                "fee": dec_text(f.fee),
                "ts_ms": f.ts_ms,
            }
            for f in account.fills
        ],
        "funding_payments": [
            {
                "symbol": p.market,
                "amount": dec_text(p.amount),
                "rate_hourly": dec_text(p.rate_hourly),
                "ts_ms": p.ts_ms,
            }
            for p in account.funding_payments
        ],
    }


def add_aster_admin_routes(
    app: web.Application, trading: AsterTrading, feeds: AsterFeeds, faults: FaultInjector
) -> None:
    engine = trading.engine
    auth = trading.auth

    def guarded(fn: Handler) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            try:
                return await fn(request)
            except ValueError as exc:
                return web.json_response({"error": str(exc)}, status=400)

        return local_only(handler)

    async def post_agent(request: web.Request) -> web.StreamResponse:
        spec = await admin_spec(request, AgentSpec)
        auth.add_agent(spec.user, spec.signer)
        trading.ensure_account(spec.user)
        return json_response({"user": spec.user.lower(), "signer": spec.signer.lower()})

    async def get_agents(request: web.Request) -> web.StreamResponse:
        return json_response({"agents": auth.agents()})

    async def post_api_key(request: web.Request) -> web.StreamResponse:
        spec = await admin_spec(request, ApiKeySpec)
        user = auth.add_api_key(spec.api_key, spec.api_secret, spec.user)
        trading.ensure_account(user)
        return json_response({"user": user})

    async def post_account(request: web.Request) -> web.StreamResponse:
        spec = await admin_spec(request, AccountSpec)
        trading.fund(spec.user, spec.collateral)
        return json_response(account_view(trading, spec.user))

    async def list_accounts(request: web.Request) -> web.StreamResponse:
        return json_response(
            {"results": [{"user": u, "engine_account_id": i} for u, i in sorted(trading.accounts.items())]}
        )

    async def get_account(request: web.Request) -> web.StreamResponse:
        return json_response(account_view(trading, request.match_info["user"]))

    async def get_markets(request: web.Request) -> web.StreamResponse:
        return json_response({"markets": [market_view(trading, m) for m in engine.markets]})

    async def get_market(request: web.Request) -> web.StreamResponse:
        return json_response(market_view(trading, market_of(trading, request.match_info["market"])))

    async def post_mark(request: web.Request) -> web.StreamResponse:
        spec = await admin_spec(request, MarkSpec)
        market = market_of(trading, request.match_info["market"])
        if spec.random_walk is not None:
            engine.sync()
            walk = spec.random_walk
            engine.set_mid_path(
                market,
                RandomWalkMid(
                    engine.markets[market].mark_price,
                    start_ms=engine.now_ms(),
                    seed=walk.seed,
                    step_ms=walk.step_ms,
                    vol_bps=walk.vol_bps,
                ),
            )
        else:
            assert spec.price is not None
            try:
                engine.set_mark_price(market, spec.price)
            except EngineError as exc:
                return web.json_response({"error": str(exc)}, status=400)
        return json_response({"market": market, "mark_price": dec_text(engine.markets[market].mark_price)})

    async def post_funding(request: web.Request) -> web.StreamResponse:
        spec = await admin_spec(request, FundingSpec)
        market = market_of(trading, request.match_info["market"])
        state = engine.markets[market]
        interval = Decimal(state.spec.settlement_interval_hours)
        hourly = spec.hourly(interval)
        engine.sync()
        state.funding = ConstantRate(hourly, label=f"admin: constant {hourly}/h")
        state.rate_hourly = hourly
        trading.funding_overrides[market] = hourly
        return json_response(
            {
                "market": market,
                "rate_hourly": dec_text(hourly),
                "funding_rate": dec_text(hourly * interval),
                "settlement_interval_hours": state.spec.settlement_interval_hours,
            }
        )

    async def post_ws_faults(request: web.Request) -> web.StreamResponse:
        spec = await admin_spec(request, AsterWsFaultSpec)
        dropped = await feeds.drop_all() if spec.drop_connections else 0
        if spec.skip_depth_update:
            feeds.skip_depth += 1
        return json_response({"dropped": dropped, "skip_depth_update": feeds.skip_depth})

    async def venue_down(request: web.Request) -> web.StreamResponse:
        faults.configure(FaultSpec(http_status=503))
        dropped = await feeds.drop_all()
        log.info("aster venue down (%d WebSocket connections dropped)", dropped)
        return json_response({"venue": "down", "dropped": dropped, "faults": faults.snapshot()})

    async def venue_up(request: web.Request) -> web.StreamResponse:
        faults.status_fault = None
        return json_response({"venue": "up", "faults": faults.snapshot()})

    r = app.router
    r.add_post(ADMIN_PREFIX + "aster/agents", guarded(post_agent))
    r.add_get(ADMIN_PREFIX + "aster/agents", guarded(get_agents))
    r.add_post(ADMIN_PREFIX + "aster/apikeys", guarded(post_api_key))
    r.add_post(ADMIN_PREFIX + "accounts", guarded(post_account))
    r.add_get(ADMIN_PREFIX + "accounts", guarded(list_accounts))
    r.add_get(ADMIN_PREFIX + "accounts/{user}", guarded(get_account))
    r.add_get(ADMIN_PREFIX + "markets", guarded(get_markets))
    r.add_get(ADMIN_PREFIX + "markets/{market}", guarded(get_market))
    r.add_post(ADMIN_PREFIX + "markets/{market}/mark", guarded(post_mark))
    r.add_post(ADMIN_PREFIX + "markets/{market}/funding", guarded(post_funding))
    r.add_post(ADMIN_PREFIX + "ws/faults", guarded(post_ws_faults))
    r.add_post(ADMIN_PREFIX + "venue/down", guarded(venue_down))
    r.add_post(ADMIN_PREFIX + "venue/up", guarded(venue_up))
    add_engine_fault_routes(app, engine, venue="aster", response_key="engine_faults")
