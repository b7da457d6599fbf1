"""The Paradex trading admin API of the simulator (`AdminMixin` of `ParadexTrading`, `add_trading_admin_routes`).

Admin (loopback only, like `/_sim/faults`): `POST /_sim/accounts`, `GET /_sim/accounts[/{address}]`,
`GET /_sim/markets`, `GET /_sim/markets/{m}` (mark, BBO, funding rate and its source label, funding index),
`POST /_sim/markets/{m}/mark`, `POST /_sim/markets/{m}/funding`, `GET|POST /_sim/engine/faults`,
`POST /_sim/ws/faults`, `POST /_sim/venue/down|up` (bodies in `simulator/README.md`, "Trading: Paradex").

The bodies are the shared admin models (`simulator.admin`: `MarkSpec`, `FundingSpec`, `EngineFaultSpec`); the
account and WebSocket-fault bodies extend the shared bases with Paradex's fields.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from aiohttp import web
from pydantic import field_validator

from simulator.admin import (
    ADMIN_PREFIX,
    DepositSpec,
    FundingSpec,
    MarkSpec,
    RandomWalkSpec,
    WsFaultSpec,
    add_engine_fault_routes,
    admin_spec,
    local_only,
)
from simulator.engine import ConstantRate, EngineError, RandomWalkMid
from simulator.faults import FaultInjector, FaultSpec
from simulator.formats import json_response
from simulator.paradex.auth import parse_felt
from simulator.paradex.errors import ParadexApiError
from simulator.paradex.state import ParadexState
from simulator.paradex.wire import dec_text

if TYPE_CHECKING:
    from simulator.paradex.trading import ParadexTrading

log = logging.getLogger("perparb.simulator")


class AdminMixin(ParadexState):
    """The engine's views and the admin actions behind `/_sim/...` (module docstring)."""

    def market_view(self, market: str) -> dict[str, Any]:
        """`GET /_sim/markets/{m}`: the engine's view of one market: mark, best bid/ask, the funding rate in force
        (fraction per hour and per the market's period), the funding index, and `funding_source`, the rate
        provider's label (e.g. "replay of binance BTCUSDT history under paradex's protocol",
        "scenario.json: constant 0.00001/h", "markets_summary funding_rate ... constant" for the recorded rate,
        "admin: ..." after `POST .../funding`).

        Raises:
            ParadexApiError: 404 NOT_FOUND for a market the engine does not trade.
        """
        state = self.engine.markets.get(market)
        if state is None:
            raise ParadexApiError(404, "NOT_FOUND", f"market {market} is not traded by the simulator")
        self.engine.sync()
        ask, bid = state.book.best_ask(), state.book.best_bid()
        period = state.spec.funding_period_hours
        return {
            "market": market,
            "mark_price": dec_text(state.mark_price),
            "best_bid": dec_text(bid) if bid is not None else None,
            "best_ask": dec_text(ask) if ask is not None else None,
            "funding_style": "continuous index",
            "rate_hourly": dec_text(state.rate_hourly),
            "funding_rate": dec_text(state.rate_hourly * period),
            "funding_period_hours": dec_text(period),
            "funding_index": dec_text(state.funding_index),
            "funding_source": state.funding.label,
            "funding_from_settings": market in self._funding_from_settings
            and market not in self._funding_overrides,
        }

    def set_mark(self, market: str, price: Decimal) -> None:
        """Pin `market`'s mid (and mark) at `price` (`Engine.set_mark_price`).

        Raises:
            ParadexApiError: 404 NOT_FOUND for a market the engine does not trade; 400 for price <= 0.
        """
        if market not in self.engine.markets:
            raise ParadexApiError(404, "NOT_FOUND", f"market {market} is not traded by the simulator")
        try:
            self.engine.set_mark_price(market, price)
        except EngineError as exc:
            raise ParadexApiError(400, "INVALID_REQUEST_PARAMETER", str(exc)) from None

    def set_mid_walk(self, market: str, walk: RandomWalkSpec) -> None:
        """Let `market`'s mid (and mark) follow a seeded random walk from the current mark
        (`Engine.set_mid_path`).

        Raises:
            ParadexApiError: 404 NOT_FOUND for a market the engine does not trade.
        """
        state = self.engine.markets.get(market)
        if state is None:
            raise ParadexApiError(404, "NOT_FOUND", f"market {market} is not traded by the simulator")
        self.engine.sync()
        path = RandomWalkMid(
            state.mark_price,
            start_ms=self.engine.now_ms(),
            seed=walk.seed,
            step_ms=walk.step_ms,
            vol_bps=walk.vol_bps,
        )
        self.engine.set_mid_path(market, path)

    def set_funding(self, market: str, rate_hourly: Decimal) -> None:
        """Hold `market`'s funding rate at `rate_hourly` (fraction per hour) from now on; the index is accrued at
        the previous rate up to now first.

        Raises:
            ParadexApiError: 404 NOT_FOUND for a market the engine does not trade.
        """
        state = self.engine.markets.get(market)
        if state is None:
            raise ParadexApiError(404, "NOT_FOUND", f"market {market} is not traded by the simulator")
        self.engine.sync()
        state.funding = ConstantRate(rate_hourly, label=f"admin: constant {rate_hourly}/h")
        state.rate_hourly = rate_hourly
        self._funding_overrides[market] = rate_hourly

    def account_view(self, address: int) -> dict[str, Any]:
        """Admin view of an account: money, margin, positions, open orders, fills and funding payments (the
        lists in the venue's shapes, oldest first).

        Raises:
            ParadexApiError: 404 NOT_FOUND for an address never seen.
        """
        account_id = self.accounts.get(address)
        if account_id is None:
            raise ParadexApiError(404, "NOT_FOUND", f"no account {hex(address)}")
        account = self.engine.account(account_id)
        equity = self.engine.equity(account_id)
        imr = self.engine.initial_margin(account_id)
        return {
            "address": hex(address),
            "engine_account_id": account_id,
            "collateral": dec_text(account.collateral),
            "equity": dec_text(equity),
            "initial_margin": dec_text(imr),
            "maintenance_margin": dec_text(self.engine.maintenance_margin(account_id)),
            "free_collateral": dec_text(equity - imr),
            "deposits": dec_text(account.deposits),
            "fees_paid": dec_text(account.fees_paid),
            "realized_pnl": dec_text(account.realized_pnl),
            "funding": dec_text(account.funding),
            "liquidations": account.liquidations,
            "positions": self._position_rows(account),
            "open_orders": [
                self.order_json(o) for o in sorted(account.open_orders.values(), key=lambda o: o.order_id)
            ],
            "fills": [self.fill_json(f) for f in account.fills],
            "funding_payments": [self.payment_json(p) for p in account.funding_payments],
        }


class AccountSpec(DepositSpec):
    """Body of `POST /_sim/accounts`: a Paradex account address and the USDC to deposit (0 = create only)."""

    address: str

    @field_validator("address")
    @classmethod
    def _felt(cls, value: str) -> str:
        parse_felt(value, "address")
        return value


class ParadexWsFaultSpec(WsFaultSpec):
    """Body of `POST /_sim/ws/faults`: `drop_connections` closes every `/v1` WebSocket now;
    `skip_order_book_seq_no` makes the next order-book push skip one `seq_no`."""

    ACTIONS: ClassVar[tuple[str, ...]] = ("drop_connections", "skip_order_book_seq_no")

    skip_order_book_seq_no: bool = False


DropSockets = Callable[[], Awaitable[int]]


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def add_trading_admin_routes(
    app: web.Application, trading: ParadexTrading, faults: FaultInjector, drop_sockets: DropSockets
) -> None:
    engine = trading.engine

    def guarded(fn: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            try:
                return await fn(request)
            except ParadexApiError as exc:
                return web.json_response(exc.body, status=exc.status)

        return local_only(handler)

    async def post_account(request: web.Request) -> web.StreamResponse:
        spec = await admin_spec(request, AccountSpec)
        address = parse_felt(spec.address, "address")
        trading.fund(address, spec.collateral)
        return json_response(trading.account_view(address))

    async def list_accounts(request: web.Request) -> web.StreamResponse:
        rows = [{"address": hex(a), "engine_account_id": i} for a, i in sorted(trading.accounts.items())]
        return json_response({"results": rows})

    async def get_account(request: web.Request) -> web.StreamResponse:
        try:
            address = parse_felt(request.match_info["address"], "address")
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return json_response(trading.account_view(address))

    async def post_mark(request: web.Request) -> web.StreamResponse:
        spec = await admin_spec(request, MarkSpec)
        market = request.match_info["market"]
        if spec.random_walk is not None:
            trading.set_mid_walk(market, spec.random_walk)
        else:
            assert spec.price is not None  # MarkSpec: exactly one of price / random_walk
            trading.set_mark(market, spec.price)
        return json_response({"market": market, "mark_price": dec_text(engine.markets[market].mark_price)})

    async def post_funding(request: web.Request) -> web.StreamResponse:
        spec = await admin_spec(request, FundingSpec)
        market = request.match_info["market"]
        state = engine.markets.get(market)
        if state is None:
            raise ParadexApiError(404, "NOT_FOUND", f"market {market} is not traded by the simulator")
        period = state.spec.funding_period_hours
        hourly = spec.hourly(period)
        trading.set_funding(market, hourly)
        return json_response(
            {
                "market": market,
                "rate_hourly": dec_text(hourly),
                "funding_rate": dec_text(hourly * period),
                "funding_period_hours": dec_text(period),
            }
        )

    async def get_markets(request: web.Request) -> web.StreamResponse:
        return json_response({"markets": [trading.market_view(m) for m in engine.markets]})

    async def get_market(request: web.Request) -> web.StreamResponse:
        return json_response(trading.market_view(request.match_info["market"]))

    async def post_ws_faults(request: web.Request) -> web.StreamResponse:
        spec = await admin_spec(request, ParadexWsFaultSpec)
        dropped = await drop_sockets() if spec.drop_connections else 0
        if spec.skip_order_book_seq_no:
            trading.books.skip_pending += 1
        return json_response({"dropped": dropped, "skip_order_book_seq_no": trading.books.skip_pending})

    async def venue_down(request: web.Request) -> web.StreamResponse:
        faults.configure(FaultSpec(http_status=503))
        dropped = await drop_sockets()
        log.info("paradex venue down (%d WebSocket connections dropped)", dropped)
        return json_response({"venue": "down", "dropped": dropped, "faults": faults.snapshot()})

    async def venue_up(request: web.Request) -> web.StreamResponse:
        faults.status_fault = None
        log.info("paradex venue up")
        return json_response({"venue": "up", "faults": faults.snapshot()})

    r = app.router
    r.add_post(ADMIN_PREFIX + "accounts", guarded(post_account))
    r.add_get(ADMIN_PREFIX + "accounts", guarded(list_accounts))
    r.add_get(ADMIN_PREFIX + "accounts/{address}", guarded(get_account))
    r.add_get(ADMIN_PREFIX + "markets", guarded(get_markets))
    r.add_get(ADMIN_PREFIX + "markets/{market}", guarded(get_market))
    r.add_post(ADMIN_PREFIX + "markets/{market}/mark", guarded(post_mark))
    r.add_post(ADMIN_PREFIX + "markets/{market}/funding", guarded(post_funding))
    r.add_post(ADMIN_PREFIX + "ws/faults", guarded(post_ws_faults))
    r.add_post(ADMIN_PREFIX + "venue/down", guarded(venue_down))
    r.add_post(ADMIN_PREFIX + "venue/up", guarded(venue_up))
    add_engine_fault_routes(app, engine, venue="paradex", response_key="engine_faults")
