"""Paradex private REST routes of the simulator (`add_paradex_trading_routes`): orders, positions, account,
balance, fills, funding payments and margin, behind `Authorization: Bearer <JWT>`; they mount the trading admin API
too (`simulator.paradex.admin`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from simulator.engine import Account
from simulator.faults import FaultInjector
from simulator.formats import json_response
from simulator.paradex.admin import DropSockets, Handler, add_trading_admin_routes
from simulator.paradex.errors import ParadexApiError

if TYPE_CHECKING:
    from simulator.paradex.trading import ParadexTrading

log = logging.getLogger("perparb.simulator")


def add_paradex_trading_routes(
    app: web.Application, trading: ParadexTrading, faults: FaultInjector, drop_sockets: DropSockets
) -> None:
    """Register the private REST endpoints and the trading admin API on `app` (before any catch-all route).

    Args:
        trading: the venue's trading state; faults: its HTTP fault injector (`venue/down` reuses it);
        drop_sockets: closes every `/v1` WebSocket, returns how many.

    Also applies `scenario.json` `faults.paradex.http` to `faults` (the venue's HTTP faults from start-up).
    """
    trading.apply_http_faults(faults)

    def private(
        build: Callable[[web.Request, Account], Awaitable[web.StreamResponse]],
    ) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            try:
                return await build(request, trading.account_for_request(request))
            except ParadexApiError as exc:
                log.info("paradex %s %s -> %s", request.method, request.path_qs, exc)
                return json_response(exc.body, status=exc.status)

        return handler

    def getter(fn: Callable[[web.Request, Account], dict[str, Any]]) -> Handler:
        async def build(request: web.Request, account: Account) -> web.StreamResponse:
            return json_response(fn(request, account))

        return private(build)

    async def post_order(request: web.Request, account: Account) -> web.StreamResponse:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            raise ParadexApiError(400, "VALIDATION_ERROR", "body is not JSON") from None
        return json_response(trading.submit(account, body), status=201)

    async def post_margin(request: web.Request, account: Account) -> web.StreamResponse:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            raise ParadexApiError(400, "VALIDATION_ERROR", "body is not JSON") from None
        return json_response(trading.set_account_margin(account, request.match_info["market"], body))

    async def cancel_all(request: web.Request, account: Account) -> web.StreamResponse:
        trading.cancel_all(account, request.query.get("market"))
        return web.Response(status=200)

    async def cancel(request: web.Request, account: Account) -> web.StreamResponse:
        trading.cancel(account, request.match_info["order_id"])
        return web.Response(status=204)

    async def cancel_by_client_id(request: web.Request, account: Account) -> web.StreamResponse:
        trading.cancel_by_client_id(account, request.match_info["client_id"], request.query.get("market"))
        return web.Response(status=204)

    async def not_served(request: web.Request) -> web.Response:
        body = {
            "error": "NOT_FOUND",
            "message": f"{request.path} is not served by the simulator",
            "data": None,
        }
        return json_response(body, status=404)

    r = app.router
    r.add_route("*", "/v1/orders/batch", not_served)
    r.add_get("/v1/orders", getter(lambda q, a: trading.open_orders(a, q.query.get("market"))))
    r.add_post("/v1/orders", private(post_order))
    r.add_delete("/v1/orders", private(cancel_all))
    r.add_get(
        "/v1/orders/by_client_id/{client_id}",
        getter(lambda q, a: trading.order_by_client_id(a, q.match_info["client_id"])),
    )
    r.add_delete("/v1/orders/by_client_id/{client_id}", private(cancel_by_client_id))
    r.add_get("/v1/orders/{order_id}", getter(lambda q, a: trading.order(a, q.match_info["order_id"])))
    r.add_delete("/v1/orders/{order_id}", private(cancel))
    r.add_get("/v1/orders-history", getter(lambda q, a: trading.orders_history(a, q.query)))
    r.add_get("/v1/positions", getter(lambda q, a: trading.positions(a)))
    r.add_get("/v1/account", getter(lambda q, a: _account(trading, q, a)))
    r.add_get("/v1/balance", getter(lambda q, a: trading.balance(a)))
    r.add_get("/v1/fills", getter(lambda q, a: trading.fills(a, q.query)))
    r.add_get("/v1/funding/payments", getter(lambda q, a: trading.funding_payments(a, q.query)))
    r.add_get("/v1/account/margin", getter(lambda q, a: trading.account_margin(a, q.query.get("market"))))
    r.add_post("/v1/account/margin/{market}", private(post_margin))
    add_trading_admin_routes(app, trading, faults, drop_sockets)


def _account(trading: ParadexTrading, request: web.Request, account: Account) -> dict[str, Any]:
    sub = request.query.get("subaccount_address")
    if sub and sub.lower() != trading.address_of(account):
        raise ParadexApiError(400, "INVALID_REQUEST_PARAMETER", "subaccounts are not simulated")
    return trading.account_summary(account)
