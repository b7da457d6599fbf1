"""The Hyperliquid-compatible server of the simulator (`build_hyperliquid_app`): `POST /info`, `POST /exchange`, the
`/ws` WebSocket and the `/_sim/` admin API on one aiohttp application.

Speaks the protocol of docs for-developers/api/ (info-endpoint.md, exchange-endpoint.md, websocket.md; the HL
gitbook mirror dzmbs/hyperliquid-docs@24c1248) and of the recordings in ../shared/venue-data/hyperliquid, so
hyperliquid-python-sdk 0.24.0 (`Info(base_url=url)`, `Exchange(wallet, base_url=url)`) and perparb's Hyperliquid
client talk to it as to the venue; the REST base is the server root ("http://127.0.0.1:P"), the WebSocket
"ws://127.0.0.1:P/ws" (the SDK's rule: base URL with http -> ws, + "/ws"). Bodies: `simulator.hyperliquid.info`,
`simulator.hyperliquid.actions` (signatures verified: `simulator.hyperliquid.auth`), `simulator.hyperliquid.stream`.

A body that is not JSON is answered HTTP 422 "Failed to deserialize the JSON body into the target type" (the
venue's plain text); other methods or paths HTTP 404 (plain text). Injected HTTP faults answer a JSON `null` body
(`hyperliquid_error_body`: the venue's 429 / 5xx bodies are not recorded; hyperliquid-python-sdk reads a JSON null
as "no error detail" and raises its `ClientError` / `ServerError`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from simulator.faults import FaultInjector, add_admin_routes, fault_middleware
from simulator.formats import json_response
from simulator.hyperliquid.admin import add_trading_admin_routes
from simulator.hyperliquid.config import HyperliquidTradingConfig
from simulator.hyperliquid.info import DESERIALIZE
from simulator.hyperliquid.stream import StreamSession
from simulator.hyperliquid.trading import HyperliquidTrading
from simulator.protocol import ENGINE_KEY
from simulator.scenario import Scenario, SimClock

log = logging.getLogger("perparb.simulator")

HYPERLIQUID_TRADING = web.AppKey("hyperliquid_trading", HyperliquidTrading)


def hyperliquid_error_body(status: int) -> Any:
    """The body of an injected HTTP fault: JSON null (module docstring)."""
    return None


def _answer(status: int, body: Any) -> web.Response:
    if status == 200:
        return json_response(body)
    return web.Response(status=status, text=str(body), content_type="text/plain")


def build_hyperliquid_app(
    scenario: Scenario,
    clock: SimClock,
    faults: FaultInjector,
    *,
    push_interval_seconds: float,
    trading_config: HyperliquidTradingConfig | None = None,
) -> web.Application:
    """The Hyperliquid aiohttp application (`POST /info`, `POST /exchange`, WebSocket `/ws`, `/_sim/` admin).

    The trading engine is built here from the scenario (`HyperliquidTrading`) and reachable as `app[ENGINE_KEY]` /
    `app[HYPERLIQUID_TRADING]`; `on_startup` starts its background sync, `on_cleanup` stops it.

    Args:
        scenario: loaded scenario; clock: simulator clock (shared with the engine); faults: this venue's
        `FaultInjector`; push_interval_seconds: the longest gap between two `l2Book` / `activeAssetCtx` pushes;
        trading_config: engine set-up (default `scenario.json` `trading.hyperliquid`).
    """
    app = web.Application(middlewares=[fault_middleware(faults)])
    trading = HyperliquidTrading(scenario, clock, trading_config)
    app[HYPERLIQUID_TRADING] = trading
    app[ENGINE_KEY] = trading.engine
    sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()

    async def read(request: web.Request) -> Any:
        try:
            return await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _UNREADABLE

    async def info(request: web.Request) -> web.Response:
        body = await read(request)
        if body is _UNREADABLE:
            return _answer(422, DESERIALIZE)
        return _answer(*trading.info(body))

    async def exchange(request: web.Request) -> web.Response:
        body = await read(request)
        if body is _UNREADABLE:
            return _answer(422, DESERIALIZE)
        signer = await asyncio.to_thread(trading.recover_signer, body)  # pure; the engine stays on this loop
        return _answer(*trading.exchange(body, signer))

    async def websocket(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)
        if not ws.can_prepare(request).ok:
            return web.Response(status=404, text="WebSocket endpoint", content_type="text/plain")
        await ws.prepare(request)
        sockets.add(ws)
        session = StreamSession(ws, trading, push_interval_seconds)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await session.handle(msg.data)
                elif msg.type == WSMsgType.ERROR:
                    log.info("hyperliquid ws error: %s", ws.exception())
        except (ConnectionError, RuntimeError) as exc:
            log.info("hyperliquid ws closed: %s", exc)
        finally:
            await session.close()
        return ws

    async def not_found(request: web.Request) -> web.Response:
        return web.Response(
            status=404, text=f"{request.method} {request.path} is not served", content_type="text/plain"
        )

    async def close_sockets(app: web.Application) -> None:
        for ws in list(sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"simulator shutting down")

    async def drop_sockets() -> int:
        victims = [ws for ws in list(sockets) if not ws.closed]
        for ws in victims:
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"simulated connection drop")
        return len(victims)

    r = app.router
    r.add_post("/info", info)
    r.add_post("/exchange", exchange)
    r.add_get("/ws", websocket)
    trading.apply_http_faults(faults)
    add_trading_admin_routes(app, trading, faults, drop_sockets)
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
    app.on_shutdown.append(close_sockets)
    app.on_cleanup.append(trading.stop)
    return app


_UNREADABLE: Any = object()
