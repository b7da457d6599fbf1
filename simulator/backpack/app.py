"""The Backpack-compatible server of the simulator (`build_backpack_app`): public REST `/api/v1/...`, signed REST
`/api/v1/...` and `/wapi/v1/...` (ED25519 signatures VERIFIED, `simulator.backpack.auth`), the WebSocket at `/ws`,
and the `/_sim/` admin API, on one aiohttp application. bpx-py's signed requests (as perparb's Backpack client sends
them) and plain public GETs are answered as by api.backpack.exchange (`simulator/README.md`, "Backpack").

Public endpoints: `markets`, `market?symbol`, `markPrices[?symbol]`, `openInterest[?symbol]`, `tickers`,
`ticker?symbol`, `fundingRates?symbol&limit&offset`, `depth?symbol`, `status`, `ping`, `time`
(`simulator.backpack.bodies`). Signed endpoints: `INSTRUCTIONS` of `simulator.backpack.auth`. Errors: Backpack's
`{"code", "message"}` bodies (`simulator.backpack.errors`); anything else -> 404 RESOURCE_NOT_FOUND.
"""

from __future__ import annotations

import json
import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from simulator.backpack.admin import add_trading_admin_routes
from simulator.backpack.auth import INSTRUCTIONS, verify
from simulator.backpack.errors import BackpackApiError, invalid, not_found
from simulator.backpack.feeds import Feeds, StreamSession
from simulator.backpack.trading import BackpackTrading, BackpackTradingConfig
from simulator.faults import FaultInjector, add_admin_routes, fault_middleware
from simulator.formats import json_response
from simulator.protocol import ENGINE_KEY
from simulator.scenario import Scenario, SimClock

log = logging.getLogger("perparb.simulator")

BACKPACK_TRADING = web.AppKey("backpack_trading", BackpackTrading)
BACKPACK_FEEDS = web.AppKey("backpack_feeds", Feeds)
Builder = Callable[[web.Request], Any]


def build_backpack_app(
    scenario: Scenario,
    clock: SimClock,
    faults: FaultInjector,
    *,
    push_interval_seconds: float,
    trading_config: BackpackTradingConfig | None = None,
) -> web.Application:
    """The Backpack aiohttp application (module docstring). The engine is `app[ENGINE_KEY]`; `on_startup` starts its
    background sync and the depth / markPrice pushes, `on_cleanup` stops them."""
    app = web.Application(middlewares=[fault_middleware(faults)])
    trading = BackpackTrading(scenario, clock, trading_config)
    feeds = Feeds(trading, push_interval_seconds)
    app[BACKPACK_TRADING] = trading
    app[BACKPACK_FEEDS] = feeds
    app[ENGINE_KEY] = trading.engine
    data = trading.data
    sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()

    def public(build: Builder) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(request: web.Request) -> web.Response:
            try:
                body = build(request)
            except BackpackApiError as exc:
                log.info("backpack %s -> %s", request.path_qs, exc)
                return json_response(exc.body, status=exc.status)
            return json_response(body)

        return handler

    async def signed(request: web.Request) -> web.StreamResponse:
        key = (request.method, request.path)
        instruction = INSTRUCTIONS.get(key)
        if instruction is None:
            return json_response(not_found().body, status=404)
        params: dict[str, Any]
        if request.method == "GET":
            params = dict(request.query)
        else:
            raw = await request.read()
            try:
                body = json.loads(raw) if raw.strip() else {}
            except ValueError:
                return web.Response(status=400, text="Failed to parse the request body as JSON")
            if not isinstance(body, dict):
                return json_response(invalid("body must be a JSON object").body, status=400)
            params = body
        try:
            api_key = verify(request.headers, instruction, params, trading.keys)
            answer = dispatch(instruction, api_key, params)
        except BackpackApiError as exc:
            log.info("backpack %s %s -> %s", request.method, request.path, exc)
            return json_response(exc.body, status=exc.status)
        if answer is None:
            return web.Response(status=200)
        return json_response(answer)

    def dispatch(instruction: str, api_key: str, params: dict[str, Any]) -> Any:
        account = trading.account_of(api_key)
        if instruction == "orderExecute":
            return trading.execute_order(api_key, params)
        if instruction == "orderCancel":
            return trading.cancel_order(api_key, params)
        if instruction == "orderQuery":
            return trading.order_query(api_key, params)
        if instruction == "orderQueryAll":
            return trading.open_orders(api_key, params)
        if instruction == "orderCancelAll":
            return trading.cancel_all(api_key, params)
        if instruction == "orderHistoryQueryAll":
            return trading.order_history(api_key, params)
        if instruction == "positionQuery":
            return trading.position_rows(account)
        if instruction == "collateralQuery":
            return trading.collateral_body(account)
        if instruction == "balanceQuery":
            return trading.capital_body(account)
        if instruction == "accountQuery":
            return trading.account_settings(account)
        if instruction == "accountUpdate":
            trading.update_account(api_key, params)
            return None
        if instruction == "fillHistoryQueryAll":
            return trading.fill_history(account, params)
        if instruction == "fundingHistoryQueryAll":
            return trading.funding_history(account, params)
        raise not_found()

    def by_symbol(rows: list[Any] | None, symbol: str | None) -> list[Any]:
        out = [r for r in rows or [] if symbol is None or r.get("symbol") == symbol]
        if symbol is not None and not out:
            raise invalid("Invalid market symbol")
        return out

    def one(rows: list[Any] | None, symbol: str | None) -> Any:
        if not symbol:
            raise invalid("symbol is required")
        return by_symbol(rows, symbol)[0]

    async def websocket(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True, heartbeat=None)
        if not ws.can_prepare(request).ok:
            return json_response(not_found("WebSocket endpoint").body, status=404)
        await ws.prepare(request)
        sockets.add(ws)
        session = StreamSession(ws, feeds)
        feeds.sessions.add(session)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    session.handle(msg.data)
        except (ConnectionError, RuntimeError) as exc:
            log.info("backpack ws closed: %s", exc)
        finally:
            await session.close()
        return ws

    async def drop_sockets() -> int:
        victims = [ws for ws in list(sockets) if not ws.closed]
        for ws in victims:
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"simulated connection drop")
        return len(victims)

    async def close_sockets(app: web.Application) -> None:
        for ws in list(sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"simulator shutting down")

    async def not_found_route(request: web.Request) -> web.Response:
        return json_response(not_found(f"{request.path} is not served by the simulator").body, status=404)

    r = app.router
    r.add_get("/api/v1/markets", public(lambda q: data.markets or []))
    r.add_get("/api/v1/market", public(lambda q: one(data.markets, q.query.get("symbol"))))
    r.add_get("/api/v1/markPrices", public(lambda q: trading.mark_prices(q.query.get("symbol"))))
    r.add_get("/api/v1/openInterest", public(lambda q: by_symbol(data.open_interest, q.query.get("symbol"))))
    r.add_get("/api/v1/tickers", public(lambda q: data.tickers or []))
    r.add_get("/api/v1/ticker", public(lambda q: one(data.tickers, q.query.get("symbol"))))
    r.add_get("/api/v1/fundingRates", public(lambda q: trading.funding_rates(dict(q.query))))
    r.add_get("/api/v1/depth", public(lambda q: trading.depth(q.query.get("symbol"))))
    r.add_get("/api/v1/status", public(lambda q: {"message": None, "status": "Ok"}))
    r.add_get("/api/v1/ping", public(lambda q: "pong"))
    r.add_get("/api/v1/time", public(lambda q: clock.now_ms()))
    for method, path in INSTRUCTIONS:
        r.add_route(method, path, signed)
    r.add_get("/ws", websocket)
    add_admin_routes(
        app,
        faults,
        lambda: {
            "scenario": str(scenario.path),
            "description": scenario.settings.description,
            "synthetic": scenario.settings.synthetic,
            "markets": len(trading.engine.markets),
        },
    )
    add_trading_admin_routes(app, trading, feeds, faults, drop_sockets)
    trading.apply_http_faults(faults)
    r.add_route("*", "/{tail:.*}", not_found_route)
    app.on_startup.append(trading.start)
    app.on_startup.append(feeds.start)
    app.on_shutdown.append(close_sockets)
    app.on_cleanup.append(feeds.stop)
    app.on_cleanup.append(trading.stop)
    return app
