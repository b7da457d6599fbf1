"""The Lighter-compatible server of the simulator (`build_lighter_app`): REST `/api/v1/...`, the `/stream`
WebSocket, authentication, trading and the `/_sim/` admin API on one aiohttp application.

Speaks the protocol of `../shared/reference/PROTOCOL_NOTES.md` §1.2-1.5 so that lighter-sdk 1.1.8
(`lighter.ApiClient(lighter.Configuration(host=url))`, `SignerClient`, `WsClient`) talks to it as to the venue.
Market data: `simulator.lighter.market_data`; WebSocket sessions: `simulator.lighter.stream`; trading:
`simulator.lighter.trading`; authentication (`GET /api/v1/apikeys`, `GET /api/v1/nextNonce`, admin
`/_sim/lighter/apikeys`): `simulator.lighter.auth`.
"""

from __future__ import annotations

import logging
import uuid
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from simulator.faults import FaultInjector, add_admin_routes, fault_middleware
from simulator.formats import json_response
from simulator.lighter.admin import add_trading_admin_routes
from simulator.lighter.auth import LighterApiKeys, add_lighter_auth_routes
from simulator.lighter.config import LighterTradingConfig
from simulator.lighter.errors import INVALID_PARAM_BODY, InvalidParam
from simulator.lighter.market_data import LighterMarketData, opt_int, req_int
from simulator.lighter.routes import add_trading_routes
from simulator.lighter.scenario import lighter_data
from simulator.lighter.stream import StreamSession, close_all
from simulator.lighter.trading import LighterTrading
from simulator.protocol import ENGINE_KEY
from simulator.scenario import Scenario, SimClock

log = logging.getLogger("perparb.simulator")


def _rest_handler(
    build: Callable[[web.Request], dict[str, Any]],
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        try:
            body = build(request)
        except InvalidParam as exc:
            log.info("lighter %s -> 400 invalid param (%s)", request.path_qs, exc.reason)
            return json_response(INVALID_PARAM_BODY, status=400)
        return json_response(body)

    return handler


LIGHTER_MARKET_DATA = web.AppKey("lighter_market_data", LighterMarketData)
LIGHTER_API_KEYS = web.AppKey("lighter_api_keys", LighterApiKeys)
LIGHTER_TRADING = web.AppKey("lighter_trading", LighterTrading)


def build_lighter_app(
    scenario: Scenario,
    clock: SimClock,
    faults: FaultInjector,
    *,
    push_interval_seconds: float,
    trading_config: LighterTradingConfig | None = None,
) -> web.Application:
    """The Lighter aiohttp application (REST, `/stream`, `/_sim/` admin) with its trading engine.

    Args:
        scenario: loaded scenario; clock: simulator clock (shared with the engine); faults: this venue's
        `FaultInjector`; push_interval_seconds: period of WebSocket `update/*` heartbeats and market stats;
        trading_config: engine tunables (`LighterTradingConfig`; default documented in `simulator/README.md`).

    The engine runs in the background between `on_startup` and `on_cleanup`; `app[LIGHTER_TRADING]` /
    `app[ENGINE_KEY]` reach it.

    A scenario row the engine cannot trade never raises: it is skipped with a logged reason and keeps its
    market-data-only behaviour.
    """
    md = LighterMarketData(scenario, clock)
    app = web.Application(middlewares=[fault_middleware(faults)])
    sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
    app[LIGHTER_MARKET_DATA] = md
    api_keys = LighterApiKeys(clock)
    data = lighter_data(scenario)
    if data.api_keys is not None:
        api_keys.load_body(data.api_keys)
    app[LIGHTER_API_KEYS] = api_keys
    trading = LighterTrading(scenario, clock, api_keys, trading_config)
    trading.hub.push_interval = push_interval_seconds
    app[LIGHTER_TRADING] = trading
    app[ENGINE_KEY] = trading.engine

    def details(request: web.Request) -> dict[str, Any]:
        return md.order_book_details(opt_int(request.query, "market_id"), request.query.get("filter"))

    def fundings(request: web.Request) -> dict[str, Any]:
        q = request.query
        return md.fundings(
            req_int(q, "market_id"),
            q.get("resolution", ""),
            req_int(q, "start_timestamp"),
            req_int(q, "end_timestamp"),
            req_int(q, "count_back"),
        )

    def book(request: web.Request) -> dict[str, Any]:
        market_id, limit = req_int(request.query, "market_id"), req_int(request.query, "limit")
        recorded = md.order_book_orders(market_id, limit)  # checks `limit` as the venue does
        served = trading.order_book_orders(market_id, limit)
        return served if served is not None else recorded

    async def stream(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        sockets.add(ws)
        session = StreamSession(ws, md, trading, push_interval_seconds)
        try:
            await session.send({"session_id": str(uuid.uuid4()), "type": "connected"})
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await session.handle(msg.data)
                elif msg.type == WSMsgType.ERROR:
                    log.info("lighter ws error: %s", ws.exception())
        except (ConnectionError, RuntimeError) as exc:
            log.info("lighter ws closed: %s", exc)
        finally:
            await session.close()
        return ws

    async def not_found(request: web.Request) -> web.Response:
        return json_response({"code": 404, "message": "Not Found"}, status=404)

    async def close_sockets(app: web.Application) -> None:
        for ws in list(sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"simulator shutting down")

    async def drop_sockets() -> int:
        return await close_all(sockets)

    app.router.add_get("/", _rest_handler(lambda r: md.status()))
    app.router.add_get("/api/v1/orderBookDetails", _rest_handler(details))
    app.router.add_get(
        "/api/v1/funding-rates", _rest_handler(lambda r: trading.overlay_funding_rates(md.funding_rates()))
    )
    app.router.add_get("/api/v1/fundings", _rest_handler(fundings))
    app.router.add_get("/api/v1/orderBookOrders", _rest_handler(book))
    app.router.add_get("/stream", stream)
    add_lighter_auth_routes(app, api_keys)
    add_trading_routes(app, trading)
    add_trading_admin_routes(app, trading, faults, drop_sockets)
    add_admin_routes(
        app,
        faults,
        lambda: {
            "scenario": str(scenario.path),
            "description": scenario.settings.description,
            "synthetic": scenario.settings.synthetic,
            "markets": len(data.perp_details()),
            "traded_markets": len(trading.markets),
        },
    )
    app.router.add_route("*", "/{tail:.*}", not_found)
    app.on_startup.append(trading.start)
    app.on_shutdown.append(close_sockets)
    app.on_cleanup.append(trading.stop)
    return app
