"""The Paradex-compatible server of the simulator (`build_paradex_app`): REST under `/v1`, the JSON-RPC WebSocket at
`/v1`, onboarding and JWTs, trading and the `/_sim/` admin API on one aiohttp application.

Speaks the protocol of `../shared/reference/PROTOCOL_NOTES.md` §2.2-2.5 and of the official OpenAPI / OpenRPC files
(`reference/specs/`), so paradex-py 0.8.2 (`ParadexApiClient(env="prod", api_base_url=url)`,
`ParadexWebsocketClient(env="prod", ws_url_override=ws_url)`) talks to it as to the venue. Market data:
`simulator.paradex.market_data`; WebSocket sessions: `simulator.paradex.stream`; trading: `simulator.paradex.trading`;
authentication (`POST /v1/onboarding`, `POST /v1/auth/{public_key}` -> JWT, admin `/_sim/paradex/subkeys`):
`simulator.paradex.auth`.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from simulator.faults import FaultInjector, add_admin_routes, fault_middleware
from simulator.formats import json_response
from simulator.paradex.auth import ParadexAuth, add_paradex_auth_routes, auth_clock_for
from simulator.paradex.config import ParadexTradingConfig
from simulator.paradex.errors import ParadexApiError
from simulator.paradex.market_data import ParadexMarketData, opt_int
from simulator.paradex.routes import add_paradex_trading_routes
from simulator.paradex.scenario import paradex_data
from simulator.paradex.stream import StreamSession
from simulator.paradex.trading import ParadexTrading
from simulator.protocol import ENGINE_KEY
from simulator.scenario import Scenario, SimClock

log = logging.getLogger("perparb.simulator")


PARADEX_MARKET_DATA = web.AppKey("paradex_market_data", ParadexMarketData)
PARADEX_AUTH = web.AppKey("paradex_auth", ParadexAuth)
PARADEX_TRADING = web.AppKey("paradex_trading", ParadexTrading)


def build_paradex_app(
    scenario: Scenario,
    clock: SimClock,
    faults: FaultInjector,
    *,
    push_interval_seconds: float,
    trading_config: ParadexTradingConfig | None = None,
) -> web.Application:
    """The Paradex aiohttp application (REST `/v1/...`, WebSocket `/v1`, trading, `/_sim/` admin).

    The trading engine is built here from the scenario (`ParadexTrading`) and reachable as
    `app[ENGINE_KEY]` / `app[PARADEX_TRADING]`; `on_startup` starts its background sync, `on_cleanup` stops it.

    Args:
        scenario: loaded scenario; clock: simulator clock (shared with the engine); faults: this venue's
        `FaultInjector`; push_interval_seconds: period of the polled WebSocket pushes (`funding_data`,
        `markets_summary`, `bbo`); trading_config: engine set-up (default `ParadexTradingConfig()`).
    """
    app = web.Application(middlewares=[fault_middleware(faults)])
    auth = ParadexAuth(auth_clock_for(clock))
    data = paradex_data(scenario)
    if data.subkeys is not None:
        auth.load_body(data.subkeys)
    app[PARADEX_AUTH] = auth
    trading = ParadexTrading(scenario, clock, auth, trading_config)
    app[PARADEX_TRADING] = trading
    app[ENGINE_KEY] = trading.engine
    md = ParadexMarketData(scenario, clock, trading)
    app[PARADEX_MARKET_DATA] = md
    sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()

    def rest(
        build: Callable[[web.Request], dict[str, Any]],
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(request: web.Request) -> web.Response:
            try:
                body = build(request)
            except ParadexApiError as exc:
                log.info("paradex %s -> %s", request.path_qs, exc)
                return json_response(exc.body, status=exc.status)
            return json_response(body)

        return handler

    def funding(request: web.Request) -> dict[str, Any]:
        q = request.query
        return md.funding_data(
            q.get("market"),
            opt_int(q, "start_at"),
            opt_int(q, "end_at"),
            opt_int(q, "page_size"),
            q.get("cursor"),
        )

    async def websocket(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)
        if not ws.can_prepare(request).ok:
            return json_response(
                {"error": "NOT_FOUND", "message": "WebSocket endpoint", "data": None}, status=404
            )
        await ws.prepare(request)
        sockets.add(ws)
        session = StreamSession(ws, md, push_interval_seconds, auth, trading)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await session.handle(msg.data)
                elif msg.type == WSMsgType.ERROR:
                    log.info("paradex ws error: %s", ws.exception())
        except (ConnectionError, RuntimeError) as exc:
            log.info("paradex ws closed: %s", exc)
        finally:
            await session.close()
        return ws

    async def not_found(request: web.Request) -> web.Response:
        body = {
            "error": "NOT_FOUND",
            "message": f"{request.path} is not served by the simulator",
            "data": None,
        }
        return json_response(body, status=404)

    async def close_sockets(app: web.Application) -> None:
        for ws in list(sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"simulator shutting down")

    async def drop_sockets() -> int:
        victims = [ws for ws in list(sockets) if not ws.closed]
        for ws in victims:
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"simulated connection drop")
        return len(victims)

    r = app.router
    r.add_get("/v1/system/config", rest(lambda q: md.system_config()))
    r.add_get("/v1/system/time", rest(lambda q: md.system_time()))
    r.add_get("/v1/system/state", rest(lambda q: md.system_state()))
    r.add_get("/v1/markets", rest(lambda q: md.markets(q.query.get("market"))))
    r.add_get("/v1/markets/summary", rest(lambda q: md.markets_summary(q.query.get("market"))))
    r.add_get("/v1/funding/data", rest(funding))
    r.add_get(
        "/v1/orderbook/{market}",
        rest(lambda q: md.orderbook(q.match_info["market"], opt_int(q.query, "depth"))),
    )
    r.add_get("/v1/bbo/{market}", rest(lambda q: md.bbo(q.match_info["market"])))
    r.add_get("/v1", websocket)
    add_paradex_auth_routes(app, auth)
    add_paradex_trading_routes(app, trading, faults, drop_sockets)
    add_admin_routes(
        app,
        faults,
        lambda: {
            "scenario": str(scenario.path),
            "description": scenario.settings.description,
            "synthetic": scenario.settings.synthetic,
            "markets": len(data.known_markets()),
        },
    )
    r.add_route("*", "/{tail:.*}", not_found)
    app.on_startup.append(trading.start)
    app.on_shutdown.append(close_sockets)
    app.on_cleanup.append(trading.stop)
    return app
