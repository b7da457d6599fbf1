"""The Hyperliquid admin API of the simulator (`AdminMixin` of `HyperliquidTrading`, `add_trading_admin_routes`);
loopback only, like `/_sim/faults`:

    POST /_sim/accounts {"address": "0x<40 hex>", "collateral": "10000", "dex": ""}  create and/or deposit USDC on a
                                                     perp dex ("" = the first) -> the account view
    GET  /_sim/accounts, GET /_sim/accounts/{address}?dex=    collateral, equity, margins, positions, open orders,
                                                     fills and funding payments (lists in the venue's shapes)
    POST /_sim/hyperliquid/agents {"user": "0x...", "agent": "0x...", "name": ""}   approve an agent (API wallet)
                                                     for an account (as `approveAgent` does); the user is created
                                                     on the first perp dex with 0 USDC when unknown
    GET  /_sim/hyperliquid/agents                    every approved agent and its account
    GET  /_sim/markets, GET /_sim/markets/{coin}     mark, best bid / ask, funding rate in force and its source label
    POST /_sim/markets/{coin}/mark {"price": "3600"} | {"random_walk": {"vol_bps": "5", "step_ms": 1000, "seed": 7}}
    POST /_sim/markets/{coin}/funding {"rate_hourly": "0.0001"} (or {"funding_rate": ...}: the same, 1 h period)
    GET|POST /_sim/engine/faults {"reject_next": 2} | {"fill_fraction": "0.5", "fill_fraction_count": 1} | {"clear": true}
    POST /_sim/ws/faults {"drop_connections": true}
    POST /_sim/venue/down, /_sim/venue/up            HTTP 503 to everything but /_sim/ while down; sockets dropped

The bodies are the shared admin models (`simulator.admin`); the account and agent bodies extend `DepositSpec` /
`AdminModel` with Hyperliquid's addresses. Errors: HTTP 400 `{"error"}` for a bad body, 404 for an unknown coin or
account.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import web
from pydantic import field_validator

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
from simulator.engine import ConstantRate, EngineError, RandomWalkMid
from simulator.faults import FaultInjector, FaultSpec
from simulator.formats import json_response
from simulator.hyperliquid.scenario import VENUE
from simulator.hyperliquid.state import HyperliquidState, parse_address
from simulator.hyperliquid.wire import fill_body, funding_row, num, order_body, usd

if TYPE_CHECKING:
    from simulator.hyperliquid.trading import HyperliquidTrading

log = logging.getLogger("perparb.simulator")

DropSockets = Callable[[], Awaitable[int]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class AdminError(Exception):
    """An admin call refused: HTTP `status` with `{"error": message}`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _address(value: str) -> str:
    parse_address(value, "address")
    return value


class AccountSpec(DepositSpec):
    """Body of `POST /_sim/accounts`: the address, the perp dex ("" = first) and the USDC to deposit."""

    address: str
    dex: str = ""

    @field_validator("address")
    @classmethod
    def _check(cls, value: str) -> str:
        return _address(value)


class AgentSpec(AdminModel):
    """Body of `POST /_sim/hyperliquid/agents`: approve `agent` for the account `user` (addresses)."""

    user: str
    agent: str
    name: str = ""

    @field_validator("user", "agent")
    @classmethod
    def _check(cls, value: str) -> str:
        return _address(value)


class AdminMixin(HyperliquidState):
    """The engine's views and the admin actions behind `/_sim/...` (module docstring)."""

    def _state_of(self, coin: str) -> Any:
        state = self.engine.markets.get(coin)
        if state is None:
            raise AdminError(404, f"hyperliquid: coin {coin!r} is not traded by the simulator")
        return state

    def market_view(self, coin: str) -> dict[str, Any]:
        """`GET /_sim/markets/{coin}`: mark, best bid / ask, `rate_hourly` in force and `funding_source` (the rate
        provider's label: "metaAndAssetCtxs funding ... constant" for the recorded rate, "scenario.json: ...",
        "admin: ..." after `POST .../funding`), `funding_from_settings`.

        Raises:
            AdminError: 404 for a coin the engine does not trade."""
        state = self._state_of(coin)
        self.engine.sync()
        bid, ask = state.book.best_bid(), state.book.best_ask()
        return {
            "market": coin,
            "asset": self.coins[coin].asset,
            "dex": self.coins[coin].dex,
            "mark_price": num(state.mark_price),
            "best_bid": num(bid) if bid is not None else None,
            "best_ask": num(ask) if ask is not None else None,
            "funding_style": "hourly settlement",
            "rate_hourly": num(state.rate_hourly),
            "funding_source": state.funding.label,
            "funding_from_settings": coin in self._funding_from_settings
            and coin not in self._funding_overrides,
        }

    def set_mark(self, coin: str, price: Decimal) -> None:
        """Pin `coin`'s mid (and mark) at `price`. Raises AdminError (404 unknown coin, 400 price <= 0)."""
        self._state_of(coin)
        try:
            self.engine.set_mark_price(coin, price)
        except EngineError as exc:
            raise AdminError(400, str(exc)) from None

    def set_funding(self, coin: str, rate_hourly: Decimal) -> None:
        """Hold `coin`'s funding rate at `rate_hourly` (fraction per hour) from now on. Raises AdminError 404."""
        state = self._state_of(coin)
        self.engine.sync()
        state.funding = ConstantRate(rate_hourly, label=f"admin: constant {rate_hourly}/h")
        state.rate_hourly = rate_hourly
        self._funding_overrides[coin] = rate_hourly

    def account_view(self, address: str, dex: str = "") -> dict[str, Any]:
        """Admin view of (address, dex): money, margin, positions (`size` signed), open orders, fills and funding
        payments (the venue's shapes), the agents approved for the address.

        Raises:
            AdminError: 404 for an address without an account on `dex`."""
        account = self.account_of(address, dex)
        if account is None:
            raise AdminError(404, f"hyperliquid: no account {address} on dex {dex!r}")
        account_id = account.account_id
        equity = self.engine.equity(account_id)
        imr = self.engine.initial_margin(account_id)
        return {
            "address": address,
            "dex": dex,
            "engine_account_id": account_id,
            "collateral": usd(account.collateral),
            "equity": usd(equity),
            "initial_margin": usd(imr),
            "maintenance_margin": usd(self.engine.maintenance_margin(account_id)),
            "withdrawable": usd(max(equity - imr, Decimal(0))),
            "deposits": usd(account.deposits),
            "fees_paid": usd(account.fees_paid),
            "realized_pnl": usd(account.realized_pnl),
            "funding": usd(account.funding),
            "liquidations": account.liquidations,
            "agents": self.agents.of_user(address),
            "positions": [
                {"market": c, "size": num(p.size), "entry_price": num(p.entry_price)}
                for c, p in sorted(account.positions.items())
                if p.size
            ],
            "open_orders": [
                order_body(o, self.cloid_of(o.order_id), frontend=True)
                for o in sorted(account.open_orders.values(), key=lambda o: o.order_id)
            ],
            "fills": [fill_body(f, self.cloid_of(f.order_id) if f.order_id else None) for f in account.fills],
            "funding_payments": [funding_row(p) for p in account.funding_payments],
        }


class HyperliquidWsFaultSpec(WsFaultSpec):
    """Body of `POST /_sim/ws/faults`: `drop_connections` closes every `/ws` WebSocket now."""


def add_trading_admin_routes(
    app: web.Application, trading: HyperliquidTrading, faults: FaultInjector, drop_sockets: DropSockets
) -> None:
    """Register the admin routes of the module docstring on `app` (before any catch-all route)."""
    engine = trading.engine

    def guarded(fn: Handler) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            try:
                return await fn(request)
            except AdminError as exc:
                return web.json_response({"error": str(exc)}, status=exc.status)

        return local_only(handler)

    async def post_account(request: web.Request) -> web.StreamResponse:
        spec = await admin_spec(request, AccountSpec)
        if spec.dex and spec.dex not in trading.data.meta_and_ctxs:
            raise AdminError(404, f"hyperliquid: no perp dex {spec.dex!r} in the scenario")
        address = parse_address(spec.address, "address")
        trading.fund(address, spec.dex, spec.collateral)
        return json_response(trading.account_view(address, spec.dex))

    async def list_accounts(request: web.Request) -> web.StreamResponse:
        rows = [
            {"address": a, "dex": d, "engine_account_id": i} for (a, d), i in sorted(trading.accounts.items())
        ]
        return json_response({"results": rows})

    async def get_account(request: web.Request) -> web.StreamResponse:
        try:
            address = parse_address(request.match_info["address"], "address")
        except ValueError as exc:
            raise AdminError(400, str(exc)) from None
        return json_response(trading.account_view(address, request.query.get("dex", "")))

    async def post_agent(request: web.Request) -> web.StreamResponse:
        spec = await admin_spec(request, AgentSpec)
        user, agent = spec.user.lower(), spec.agent.lower()
        if not trading.is_known(user):
            trading.ensure_account(user, "")
        try:
            trading.agents.approve(user, agent, spec.name)
        except ValueError as exc:
            raise AdminError(400, str(exc)) from None
        return json_response({"user": user, "agent": agent, "agents": trading.agents.of_user(user)})

    async def list_agents(request: web.Request) -> web.StreamResponse:
        rows = [{"agent": a, "user": u} for a, u in sorted(trading.agents.by_agent.items())]
        return json_response({"results": rows})

    async def post_mark(request: web.Request) -> web.StreamResponse:
        spec = await admin_spec(request, MarkSpec)
        coin = request.match_info["coin"]
        if spec.random_walk is not None:
            state = trading._state_of(coin)
            engine.sync()
            walk = spec.random_walk
            path = RandomWalkMid(
                state.mark_price,
                start_ms=engine.now_ms(),
                seed=walk.seed,
                step_ms=walk.step_ms,
                vol_bps=walk.vol_bps,
            )
            engine.set_mid_path(coin, path)
        else:
            assert spec.price is not None  # MarkSpec: exactly one of price / random_walk
            trading.set_mark(coin, spec.price)
        return json_response({"market": coin, "mark_price": num(engine.markets[coin].mark_price)})

    async def post_funding(request: web.Request) -> web.StreamResponse:
        spec = await admin_spec(request, FundingSpec)
        coin = request.match_info["coin"]
        hourly = spec.hourly(Decimal(1))
        trading.set_funding(coin, hourly)
        return json_response({"market": coin, "rate_hourly": num(hourly), "funding_period_hours": "1"})

    async def get_markets(request: web.Request) -> web.StreamResponse:
        return json_response({"markets": [trading.market_view(m) for m in engine.markets]})

    async def get_market(request: web.Request) -> web.StreamResponse:
        return json_response(trading.market_view(request.match_info["coin"]))

    async def post_ws_faults(request: web.Request) -> web.StreamResponse:
        spec = await admin_spec(request, HyperliquidWsFaultSpec)
        dropped = await drop_sockets() if spec.drop_connections else 0
        return json_response({"dropped": dropped})

    async def venue_down(request: web.Request) -> web.StreamResponse:
        faults.configure(FaultSpec(http_status=503))
        dropped = await drop_sockets()
        log.info("%s venue down (%d WebSocket connections dropped)", VENUE, dropped)
        return json_response({"venue": "down", "dropped": dropped, "faults": faults.snapshot()})

    async def venue_up(request: web.Request) -> web.StreamResponse:
        faults.status_fault = None
        log.info("%s venue up", VENUE)
        return json_response({"venue": "up", "faults": faults.snapshot()})

    r = app.router
    r.add_post(ADMIN_PREFIX + "accounts", guarded(post_account))
    r.add_get(ADMIN_PREFIX + "accounts", guarded(list_accounts))
    r.add_get(ADMIN_PREFIX + "accounts/{address}", guarded(get_account))
    r.add_post(ADMIN_PREFIX + "hyperliquid/agents", guarded(post_agent))
    r.add_get(ADMIN_PREFIX + "hyperliquid/agents", guarded(list_agents))
    r.add_get(ADMIN_PREFIX + "markets", guarded(get_markets))
    r.add_get(ADMIN_PREFIX + "markets/{coin}", guarded(get_market))
    r.add_post(ADMIN_PREFIX + "markets/{coin}/mark", guarded(post_mark))
    r.add_post(ADMIN_PREFIX + "markets/{coin}/funding", guarded(post_funding))
    r.add_post(ADMIN_PREFIX + "ws/faults", guarded(post_ws_faults))
    r.add_post(ADMIN_PREFIX + "venue/down", guarded(venue_down))
    r.add_post(ADMIN_PREFIX + "venue/up", guarded(venue_up))
    add_engine_fault_routes(app, engine, venue=VENUE, response_key="engine_faults")
