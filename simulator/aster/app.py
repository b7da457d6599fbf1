"""The Aster-compatible server of the simulator (`build_aster_app`): public REST, signed trading REST (V1 HMAC under
`/fapi/v1` and `/fapi/v2`, V3 EIP-712 under `/fapi/v3`, both verified: `simulator.aster.auth`), the market and
user-data WebSockets (`simulator.aster.feeds`) and the `/_sim/` admin API on one aiohttp application, so the
project's Aster client (`exchange_clients/aster/`) talks to it as to `https://fapi.asterdex.com` /
`wss://fstream.asterdex.com`.

Signed endpoints (asterdex/api-docs@265e024; `*` = v1 paths also under v2, as Aster serves them):

| endpoint                        | method            | answer                                                   |
|---------------------------------|-------------------|----------------------------------------------------------|
| `order`                         | POST, GET, DELETE | order object (`simulator.aster.trading`)                 |
| `openOrders`, `allOpenOrders`   | GET, DELETE       | open orders; `{"code":"200","msg":...}`                  |
| `positionRisk`*, `balance`*     | GET               | `simulator.aster.account`                                |
| `userTrades`, `income`          | GET               | fills (`symbol` required), FUNDING_FEE rows              |
| `leverage`, `commissionRate`    | POST, GET         |                                                          |
| `listenKey`                     | POST, PUT, DELETE | `{"listenKey": ...}` / `{}` (V1: API key header only)    |

Errors are Aster's `{"code","msg"}` with its HTTP status (`simulator.aster.errors`); an unknown path answers 404
`{"code": -1000, "msg": "... not served by the simulator"}`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from simulator.aster import account as bodies
from simulator.aster.admin import add_aster_admin_routes
from simulator.aster.auth import AsterAuth
from simulator.aster.errors import AsterApiError
from simulator.aster.feeds import AsterFeeds, valid_stream
from simulator.aster.market_data import AsterMarketData
from simulator.aster.scenario import aster_data
from simulator.aster.trading import AsterTrading, AsterTradingConfig
from simulator.engine import Account
from simulator.faults import FaultInjector, add_admin_routes, fault_middleware
from simulator.formats import json_response
from simulator.protocol import ENGINE_KEY
from simulator.scenario import Scenario, SimClock

log = logging.getLogger("perparb.simulator")

ASTER_TRADING = web.AppKey("aster_trading", AsterTrading)
ASTER_FEEDS = web.AppKey("aster_feeds", AsterFeeds)
ASTER_AUTH = web.AppKey("aster_auth", AsterAuth)

Private = Callable[[Account, dict[str, str]], Any]


def build_aster_app(
    scenario: Scenario,
    clock: SimClock,
    faults: FaultInjector,
    *,
    push_interval_seconds: float,
    trading_config: AsterTradingConfig | None = None,
) -> web.Application:
    """The Aster aiohttp application (module docstring). `app[ENGINE_KEY]` is its engine."""
    app = web.Application(middlewares=[fault_middleware(faults)])
    auth = AsterAuth()
    trading = AsterTrading(scenario, clock, auth, trading_config)
    trading.apply_http_faults(faults)
    feeds = AsterFeeds(trading, push_interval_seconds)
    md = AsterMarketData(aster_data(scenario), trading)
    app[ASTER_AUTH], app[ASTER_TRADING], app[ASTER_FEEDS], app[ENGINE_KEY] = (
        auth,
        trading,
        feeds,
        trading.engine,
    )

    def public(build: Callable[[dict[str, str]], Any]) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(request: web.Request) -> web.Response:
            try:
                return json_response(build(dict(request.query)))
            except AsterApiError as exc:
                return json_response(exc.body, status=exc.status)

        return handler

    async def authenticate(request: web.Request, version: str) -> tuple[str, dict[str, str]]:
        body = (await request.text()) if request.can_read_body else ""
        if version == "v3":
            return auth.verify_v3(body or request.query_string)
        return auth.verify_v1(request.headers, request.query_string, body)

    def private(fn: Private) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(request: web.Request) -> web.Response:
            try:
                user, params = await authenticate(request, request.match_info["version"])
                return json_response(fn(trading.ensure_account(user), params))
            except AsterApiError as exc:
                log.info("aster %s %s -> %s", request.method, request.path, exc)
                return json_response(exc.body, status=exc.status)

        return handler

    async def listen_key(request: web.Request) -> web.Response:
        try:
            if request.match_info["version"] == "v3":
                user, _ = await authenticate(request, "v3")
            else:
                user = auth.user_of_key(request.headers)
            trading.ensure_account(user)
            if request.method == "POST":
                return json_response({"listenKey": trading.new_listen_key(user)})
            key = next((k for k, u in trading.listen_keys.items() if u == user), None)
            if key is None:
                raise AsterApiError(400, -1125)
            if request.method == "DELETE":
                del trading.listen_keys[key]
            return json_response({})
        except AsterApiError as exc:
            return json_response(exc.body, status=exc.status)

    async def ws_raw(request: web.Request) -> web.StreamResponse:
        name = request.match_info.get("name", "")
        user = trading.listen_keys.get(name)
        if user is not None:
            return await feeds.serve(request, combined=False, streams=[], user=user)
        if name and not valid_stream(name, list(trading.engine.markets)):
            return json_response({"code": -1125, "msg": "This listenKey does not exist."}, status=400)
        return await feeds.serve(request, combined=False, streams=[name] if name else [], user=None)

    async def ws_combined(request: web.Request) -> web.StreamResponse:
        streams = [s for s in request.query.get("streams", "").split("/") if s]
        return await feeds.serve(request, combined=True, streams=streams, user=None)

    async def not_found(request: web.Request) -> web.Response:
        return json_response(
            {"code": -1000, "msg": f"{request.path} is not served by the simulator"}, status=404
        )

    r = app.router
    for v in ("v1", "v3"):
        base = f"/fapi/{v}/"
        r.add_get(base + "ping", public(lambda q: {}))
        r.add_get(base + "time", public(lambda q: md.time()))
        r.add_get(base + "exchangeInfo", public(lambda q: md.exchange_info()))
        r.add_get(base + "fundingInfo", public(lambda q: md.funding_info(q.get("symbol"))))
        r.add_get(base + "premiumIndex", public(lambda q: md.premium_index(q.get("symbol"))))
        r.add_get(base + "ticker/24hr", public(lambda q: md.ticker(q.get("symbol"))))
        r.add_get(base + "fundingRate", public(md.funding_rate))
        r.add_get(base + "depth", public(md.depth))
    version = "/fapi/{version:v1|v2|v3}/"
    r.add_post(version + "order", private(trading.place))
    r.add_get(version + "order", private(trading.query))
    r.add_delete(version + "order", private(trading.cancel))
    r.add_get(version + "openOrders", private(trading.open_orders))
    r.add_delete(version + "allOpenOrders", private(trading.cancel_all))
    r.add_get(version + "positionRisk", private(lambda a, q: bodies.position_rows(trading, a, q)))
    r.add_get(version + "balance", private(lambda a, q: bodies.balance_rows(trading, a)))
    r.add_get(version + "userTrades", private(lambda a, q: bodies.user_trades(trading, a, q)))
    r.add_get(version + "income", private(lambda a, q: bodies.income(trading, a, q)))
    r.add_post(version + "leverage", private(lambda a, q: bodies.set_leverage(trading, a, q)))
    r.add_get(version + "commissionRate", private(lambda a, q: bodies.commission_rate(trading, q)))
    for method in ("POST", "PUT", "DELETE"):
        r.add_route(method, version + "listenKey", listen_key)
    r.add_get("/ws", ws_raw)
    r.add_get("/ws/{name}", ws_raw)
    r.add_get("/stream", ws_combined)
    add_aster_admin_routes(app, trading, feeds, faults)
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
    r.add_route("*", "/{tail:.*}", not_found)
    app.on_startup.append(trading.start)
    app.on_startup.append(feeds.start)
    app.on_cleanup.append(feeds.stop)
    app.on_cleanup.append(trading.stop)
    return app


__all__ = ["build_aster_app"]
