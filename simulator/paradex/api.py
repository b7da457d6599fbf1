"""Paradex-compatible server (REST under `/v1`, JSON-RPC WebSocket at `/v1`): market data here, trading in
`simulator.paradex.trading` (mounted by `build_paradex_app`).

Speaks the protocol of `../shared/reference/PROTOCOL_NOTES.md` §2.2 and §2.5 and of the official OpenAPI /
OpenRPC files (`reference/specs/`), so paradex-py 0.8.2 (`ParadexApiClient(env="prod", api_base_url=url)`,
`ParadexWebsocketClient(env="prod", ws_url_override=ws_url)`) talks to it as to the venue.

REST (bodies from the scenario's `paradex/` folder, see `simulator.scenario`):

| path | params | answer |
|---|---|---|
| `GET /v1/system/config` | – | the file verbatim |
| `GET /v1/system/time`, `/v1/system/state` | – | `{server_time: "<ms>"}` (clock), `{status: "ok"}` |
| `GET /v1/markets` | `market?` | the file, filtered |
| `GET /v1/markets/summary` | `market` REQUIRED (`ALL` or a symbol) | the file, filtered, `created_at` restamped |
| `GET /v1/funding/data` | `market` REQUIRED, `start_at?`, `end_at?` (ms), `page_size?` (1..5000, default 100), `cursor?` | newest first, paged |
| `GET /v1/orderbook/{market}` | `depth?` (default 20) | the trading engine's book for a traded market, else the file; `depth` levels a side, `last_updated_at` restamped |
| `GET /v1/bbo/{market}` | – | best levels of the engine's book (traded market), else of the order book file (or the summary's bid/ask) |

For a market the trading engine trades, `markets/summary` rows (REST and WebSocket) take `mark_price`, `bid`,
`ask`, `bid_size`, `ask_size` from the engine, and `funding_rate` once it was changed through the admin API.

Errors (`{"error": <ErrorCode>, "message": str, "data": null}`; status from the OpenAPI's declared error response,
code from its `responses.ErrorCode` enum; the venue's exact messages are not recorded): `market` missing ->
400 `VALIDATION_ERROR`; unknown market -> 400 `MARKET_NOT_FOUND` (404 on `/markets`, whose spec declares 404);
bad `page_size`/`start_at`/`end_at`/`cursor`/`depth` -> 400 `INVALID_REQUEST_PARAMETER`; no `system_config.json`
-> 404 `NOT_FOUND`. A known market without a `funding_data_<M>.json` or `orderbook_<M>.json` answers empty.

Pagination of `/funding/data`: `next`/`prev` are opaque cursors (base64url of JSON `{m, o, s, e}`: market,
offset, window); a cursor carries its window, so `start_at`/`end_at` are ignored when a cursor is given.
`next` is null on the last page, `prev` null on the first.

WebSocket `/v1` (JSON-RPC 2.0): `auth` -> `result {node_id}`; a JWT issued by this server authenticates the
session for the private channels, any other bearer is still answered `result` (market-data clients send any
token) but leaves the session unauthenticated: private subscriptions then fail with 40111 "Invalid bearer
token" (40300 "Permission denied — authentication required" when no `auth` was sent; codes of
`specs/paradex_ws_openrpc.json`, the venue's behaviour here is not recorded).
`subscribe {channel}` for `funding_data.{M}` / `funding_data.ALL` / `funding_data`, `markets_summary`,
`markets_summary.ALL`, `markets_summary.{M}`, `bbo.{M}` -> `result {channel}` echoing the name exactly, then a
`subscription` push at once and every `push_interval_seconds`; `unsubscribe`; any other channel -> error
-32600 "invalid subscribe request" / data "invalid channel" (`venue-data/paradex/ws_error_invalid_subscribe.json`).
Pushed `funding_data` is the newest history row and `markets_summary` the summary row, both with `created_at`
restamped to the clock (they describe the present). Trading channels (`orders.*`, `fills.*`,
`funding_payments.*`, `positions`, `account`, `order_book.{M}.snapshot@15@{50ms|100ms}`): see
`simulator.paradex.trading`; they are pushed on events through the session's outbox, in order.

Authentication (`POST /v1/onboarding`, `POST /v1/auth/{public_key}` -> JWT, admin `/_sim/paradex/subkeys`):
`simulator.paradex.auth`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import uuid
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from simulator.faults import FaultInjector, add_admin_routes, fault_middleware
from simulator.formats import dumps, json_response
from simulator.paradex.auth import ParadexAuth, add_paradex_auth_routes
from simulator.paradex.scenario import paradex_data
from simulator.paradex.trading import (
    PARADEX_TRADING,
    PRIVATE_EXACT,
    PRIVATE_PREFIXES,
    ParadexApiError,
    ParadexTrading,
    ParadexTradingConfig,
    add_paradex_trading_routes,
    auth_clock_for,
)
from simulator.protocol import ENGINE_KEY
from simulator.scenario import Scenario, SimClock

log = logging.getLogger("perparb.simulator")

PAGE_SIZE_DEFAULT = 100
PAGE_SIZE_MAX = 5000
ORDERBOOK_DEPTH_DEFAULT = 20

_FAULT_CODES = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED_ERROR",
    403: "REQUEST_NOT_ALLOWED",
    404: "NOT_FOUND",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}


def paradex_error_body(status: int) -> dict[str, Any]:
    """Paradex-shaped error body (`responses.ApiError`) for an injected HTTP status.

    Codes come from the OpenAPI `responses.ErrorCode` enum except 429's `TOO_MANY_REQUESTS`: the enum has no
    rate-limit code and the 429 body is not recorded (paradex-py raises "Rate limit exceeded" on 429 without
    reading the body).
    """
    code = _FAULT_CODES.get(status, "INTERNAL_ERROR" if status >= 500 else "INVALID_REQUEST_PARAMETER")
    return {"error": code, "message": f"simulated fault: HTTP {status}", "data": None}


def _opt_int(query: Any, name: str) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ParadexApiError(
            400, "INVALID_REQUEST_PARAMETER", f"{name} must be an integer, got {raw!r}"
        ) from None


def encode_cursor(market: str, offset: int, start_at: int | None, end_at: int | None) -> str:
    """Opaque page cursor of `/funding/data` (base64url JSON)."""
    raw = dumps({"m": market, "o": offset, "s": start_at, "e": end_at})
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[str, int, int | None, int | None]:
    """(market, offset, start_at, end_at) of a cursor made by `encode_cursor`.

    Raises:
        ParadexApiError: 400 INVALID_REQUEST_PARAMETER for anything else.
    """
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode()).decode())
        market, offset, start, end = data["m"], data["o"], data["s"], data["e"]
    except (binascii.Error, ValueError, UnicodeDecodeError, KeyError, TypeError):
        raise ParadexApiError(400, "INVALID_REQUEST_PARAMETER", "invalid cursor") from None
    if (
        not isinstance(market, str)
        or not isinstance(offset, int)
        or offset < 0
        or not all(v is None or isinstance(v, int) for v in (start, end))
    ):
        raise ParadexApiError(400, "INVALID_REQUEST_PARAMETER", "invalid cursor")
    return market, offset, start, end


class ParadexMarketData:
    """Paradex response bodies from a scenario and the clock. Pure (no I/O); shared by REST and WebSocket."""

    def __init__(self, scenario: Scenario, clock: SimClock, trading: ParadexTrading | None = None) -> None:
        self.scenario = scenario
        self.data = paradex_data(scenario)
        self.clock = clock
        self.restamp = scenario.settings.restamp
        self.trading = trading

    def _require_known(self, market: str, *, status: int = 400) -> None:
        if market not in self.data.known_markets():
            raise ParadexApiError(status, "MARKET_NOT_FOUND", f"market {market} not found")

    def system_config(self) -> dict[str, Any]:
        """`GET /v1/system/config` body. Raises `ParadexApiError` 404 when the scenario has none."""
        if self.data.system_config is None:
            raise ParadexApiError(
                404, "NOT_FOUND", "system config not in the scenario (paradex/system_config.json)"
            )
        return self.data.system_config

    def system_time(self) -> dict[str, Any]:
        """`GET /v1/system/time` body: `server_time` as a string of epoch ms (as the venue sends it)."""
        return {"server_time": str(self.clock.now_ms())}

    def system_state(self) -> dict[str, Any]:
        """`GET /v1/system/state` body."""
        return {"status": "ok"}

    def markets(self, market: str | None) -> dict[str, Any]:
        """`GET /v1/markets` body, filtered by `market`. Raises `ParadexApiError` 404 for an unknown market."""
        body = self.data.markets if self.data.markets is not None else {"results": []}
        if not market:
            return body
        rows = [row for row in body["results"] if row.get("symbol") == market]
        if not rows:
            raise ParadexApiError(404, "MARKET_NOT_FOUND", f"market {market} not found")
        return {**body, "results": rows}

    def _stamp(self, row: dict[str, Any]) -> dict[str, Any]:
        return {**row, "created_at": self.clock.now_ms()} if self.restamp else dict(row)

    def summary_rows(self, market: str) -> list[dict[str, Any]]:
        """Summary rows for `market` (`ALL` = every row), `created_at` restamped. [] when none.

        For a market the trading engine trades, `mark_price`, `bid`/`ask` (+ sizes) come from the engine, and
        `funding_rate` too once changed through the admin API (`ParadexTrading.summary_overrides`).
        """
        body = self.data.markets_summary or {"results": []}
        rows = [self._stamp(r) for r in body["results"] if market == "ALL" or r.get("symbol") == market]
        if self.trading is not None:
            for row in rows:
                symbol = row.get("symbol")
                if isinstance(symbol, str):
                    row.update(self.trading.summary_overrides(symbol))
        return rows

    def markets_summary(self, market: str | None) -> dict[str, Any]:
        """`GET /v1/markets/summary` body.

        Raises:
            ParadexApiError: 400 VALIDATION_ERROR without `market`; 400 MARKET_NOT_FOUND for an unknown one.
        """
        if not market:
            raise ParadexApiError(400, "VALIDATION_ERROR", "market is required (a symbol or ALL)")
        if market != "ALL":
            self._require_known(market)
        body = self.data.markets_summary or {"results": []}
        return {**body, "results": self.summary_rows(market)}

    def funding_data(
        self,
        market: str | None,
        start_at: int | None,
        end_at: int | None,
        page_size: int | None,
        cursor: str | None,
    ) -> dict[str, Any]:
        """`GET /v1/funding/data` body: rows with `start_at <= created_at <= end_at` (ms, each bound optional),
        newest first, `page_size` per page (default 100, 1..5000), opaque `next`/`prev` cursors.

        Rows are served as recorded (`funding_rate` per the market's `funding_period_hours`).

        Raises:
            ParadexApiError: 400 VALIDATION_ERROR without `market`; 400 MARKET_NOT_FOUND for an unknown market;
                400 INVALID_REQUEST_PARAMETER for a bad page size, window or cursor.
        """
        if not market:
            raise ParadexApiError(400, "VALIDATION_ERROR", "market is required")
        self._require_known(market)
        size = PAGE_SIZE_DEFAULT if page_size is None else page_size
        if not 1 <= size <= PAGE_SIZE_MAX:
            raise ParadexApiError(400, "INVALID_REQUEST_PARAMETER", f"page_size must be 1..{PAGE_SIZE_MAX}")
        offset = 0
        if cursor:
            cur_market, offset, start_at, end_at = decode_cursor(cursor)
            if cur_market != market:
                raise ParadexApiError(400, "INVALID_REQUEST_PARAMETER", "cursor belongs to another market")
        if start_at is not None and end_at is not None and start_at > end_at:
            raise ParadexApiError(400, "INVALID_REQUEST_PARAMETER", "start_at is after end_at")
        body = self.data.funding_data.get(market)
        rows = [] if body is None else body["results"]
        selected = [
            r
            for r in rows
            if (start_at is None or r["created_at"] >= start_at)
            and (end_at is None or r["created_at"] <= end_at)
        ]
        selected.sort(key=lambda r: r["created_at"], reverse=True)
        page = selected[offset : offset + size]
        nxt = (
            encode_cursor(market, offset + size, start_at, end_at) if offset + size < len(selected) else None
        )
        prev = encode_cursor(market, max(0, offset - size), start_at, end_at) if offset > 0 else None
        return {"next": nxt, "prev": prev, "results": page}

    def latest_funding(self, market: str) -> dict[str, Any] | None:
        """Newest funding-data row of `market`, `created_at` restamped (WS `funding_data` push), or None."""
        body = self.data.funding_data.get(market)
        if body is None or not body["results"]:
            return None
        return self._stamp(max(body["results"], key=lambda r: r["created_at"]))

    def orderbook(self, market: str, depth: int | None) -> dict[str, Any]:
        """`GET /v1/orderbook/{market}` body: `depth` levels a side, `last_updated_at` restamped. A market the
        trading engine trades answers the engine's book (`ParadexTrading.book_body`), others the scenario file.

        Raises:
            ParadexApiError: 400 MARKET_NOT_FOUND for an unknown market; 400 INVALID_REQUEST_PARAMETER for
                depth < 1.
        """
        self._require_known(market)
        depth = ORDERBOOK_DEPTH_DEFAULT if depth is None else depth
        if depth < 1:
            raise ParadexApiError(400, "INVALID_REQUEST_PARAMETER", "depth must be positive")
        if self.trading is not None and (live := self.trading.book_body(market, depth)) is not None:
            return live
        body = self.data.orderbooks.get(market)
        now = self.clock.now_ms()
        if body is None:
            return {"market": market, "seq_no": 0, "last_updated_at": now, "asks": [], "bids": []}
        out = {**body, "asks": body["asks"][:depth], "bids": body["bids"][:depth]}
        if self.restamp:
            out["last_updated_at"] = now
        return out

    def bbo(self, market: str) -> dict[str, Any]:
        """`GET /v1/bbo/{market}` body (`responses.BBOResp`): the engine's best levels for a traded market, else
        the book file's best levels, else the summary's bid/ask (sizes "0" when unknown).

        Raises:
            ParadexApiError: 400 MARKET_NOT_FOUND for an unknown market.
        """
        self._require_known(market)
        if self.trading is not None and (live := self.trading.bbo_body(market)) is not None:
            return live
        book = self.orderbook(market, 1)
        out: dict[str, Any] = {"market": market, "seq_no": book.get("seq_no", 0)}
        summary = next(iter(self.summary_rows(market)), {})
        for side, key in (("asks", "ask"), ("bids", "bid")):
            if book[side]:
                out[key], out[f"{key}_size"] = str(book[side][0][0]), str(book[side][0][1])
            else:
                out[key], out[f"{key}_size"] = str(summary.get(key, "")), str(summary.get(f"{key}_size", "0"))
        out["last_updated_at"] = self.clock.now_ms()
        return out


# ----------------------------------------------------------------------------------------------- HTTP


Producer = Callable[[], list[dict[str, Any]]]


class _ParadexSession:
    """One `/v1` WebSocket connection: JSON-RPC requests, subscriptions, push tasks and the outbox of event
    pushes (private channels, order book) written by a writer task in order."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        md: ParadexMarketData,
        interval: float,
        auth: ParadexAuth,
        trading: ParadexTrading,
    ) -> None:
        self.ws = ws
        self.md = md
        self.interval = interval
        self.auth = auth
        self.trading = trading
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.send_lock = asyncio.Lock()
        self.node_id = uuid.uuid4().hex[:16]
        self.account: int | None = None  # address bound by a valid `auth`
        self.auth_failed = False
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.writer: asyncio.Task[None] | None = None
        self.closed = False

    async def send(self, frame: dict[str, Any]) -> None:
        async with self.send_lock:
            await self.ws.send_str(dumps(frame))

    def push_nowait(self, frame: dict[str, Any]) -> None:
        """Queue a push (called synchronously by the trading engine's fan-out); sent in order by the writer."""
        if self.closed:
            return
        self.outbox.put_nowait(frame)
        if self.writer is None:
            self.writer = asyncio.create_task(self._write())

    async def _write(self) -> None:
        while True:
            frame = await self.outbox.get()
            try:
                await self.send(frame)
            except (ConnectionError, RuntimeError) as exc:
                log.info("paradex ws push failed: %s", exc)
                return

    async def reply(
        self, req_id: Any, us_in: int, *, result: Any = None, error: dict[str, Any] | None = None
    ) -> None:
        frame: dict[str, Any] = {"jsonrpc": "2.0", "id": req_id}
        if error is not None:
            frame["error"] = error
        else:
            frame["result"] = result
        us_out = self.md.clock.now_us()
        frame.update({"usIn": us_in, "usDiff": us_out - us_in, "usOut": us_out})
        await self.send(frame)

    def producer(self, channel: Any) -> Producer | None:
        """A function returning the list of `data` payloads to push on `channel`, or None when invalid."""
        if not isinstance(channel, str):
            return None
        known = self.md.data.known_markets()
        name, _, market = channel.partition(".")
        if name == "funding_data":
            if market in ("", "ALL"):
                return lambda: [
                    d for m in sorted(self.md.data.funding_data) if (d := self.md.latest_funding(m))
                ]
            if market in known:
                return lambda: [d for d in [self.md.latest_funding(market)] if d]
        elif name == "markets_summary":
            if market in ("", "ALL"):
                return lambda: self.md.summary_rows("ALL")
            if market in known:
                return lambda: self.md.summary_rows(market)
        elif name == "bbo" and market in known:
            return lambda: [self.md.bbo(market)]
        return None

    async def handle(self, text: str) -> None:
        us_in = self.md.clock.now_us()
        try:
            msg = json.loads(text)
        except json.JSONDecodeError:
            await self.reply(None, us_in, error={"code": -32700, "message": "Parse error"})
            return
        if not isinstance(msg, dict) or not isinstance(msg.get("method"), str):
            await self.reply(None, us_in, error={"code": -32600, "message": "Invalid request"})
            return
        req_id = msg.get("id")
        params = msg.get("params") if isinstance(msg.get("params"), dict) else {}
        method = msg["method"]
        if method == "auth":
            bearer = params.get("bearer")
            address = self.auth.account_for_token(bearer) if isinstance(bearer, str) else None
            if address is not None:
                self.account, self.auth_failed = address, False
            else:
                # Answered like a success, as before trading existed (market-data clients send any token);
                # the session stays unauthenticated and private subscriptions fail with 40111.
                self.auth_failed = True
            await self.reply(req_id, us_in, result={"node_id": self.node_id})
        elif method == "subscribe":
            await self.subscribe(req_id, us_in, params.get("channel"))
        elif method == "unsubscribe":
            channel = params.get("channel")
            task = self.tasks.pop(channel, None) if isinstance(channel, str) else None
            if task is not None:
                task.cancel()
            if isinstance(channel, str):
                self.trading.unsubscribe(self, channel)
            await self.reply(req_id, us_in, result={"channel": channel})
        else:
            await self.reply(req_id, us_in, error={"code": -32601, "message": "Method not found"})

    async def subscribe(self, req_id: Any, us_in: int, channel: Any) -> None:
        invalid = {"code": -32600, "message": "invalid subscribe request", "data": "invalid channel"}
        if isinstance(channel, str) and (channel in PRIVATE_EXACT or channel.startswith(PRIVATE_PREFIXES)):
            if self.account is None:
                error = (
                    {"code": 40111, "message": "Invalid bearer token"}
                    if self.auth_failed
                    else {"code": 40300, "message": "Permission denied — authentication required"}
                )
                await self.reply(req_id, us_in, error=error)
                return
            if not self.trading.subscribe_private(self, self.account, channel):
                await self.reply(req_id, us_in, error=invalid)
                return
            await self.reply(req_id, us_in, result={"channel": channel})
            return
        if isinstance(channel, str) and channel.startswith("order_book."):
            # reply first, then the snapshot (the subscription frame follows the result, as for every channel)
            if not self.trading.books.valid(channel):
                await self.reply(req_id, us_in, error=invalid)
                return
            await self.reply(req_id, us_in, result={"channel": channel})
            self.trading.books.subscribe(self, channel)
            return
        produce = self.producer(channel)
        if produce is None:
            await self.reply(req_id, us_in, error=invalid)
            return
        await self.reply(req_id, us_in, result={"channel": channel})
        old = self.tasks.pop(channel, None)
        if old is not None:
            old.cancel()
        self.tasks[channel] = asyncio.create_task(self._push(channel, produce))

    async def _push(self, channel: str, produce: Producer) -> None:
        while True:
            for data in produce():
                await self.send(
                    {"jsonrpc": "2.0", "method": "subscription", "params": {"channel": channel, "data": data}}
                )
            await asyncio.sleep(self.interval)

    async def close(self) -> None:
        self.closed = True
        self.trading.drop_sink(self)
        tasks = list(self.tasks.values())
        if self.writer is not None:
            tasks.append(self.writer)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, RuntimeError):
                await task
        self.tasks.clear()
        self.writer = None


PARADEX_MARKET_DATA = web.AppKey("paradex_market_data", ParadexMarketData)
PARADEX_AUTH = web.AppKey("paradex_auth", ParadexAuth)


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
            _opt_int(q, "start_at"),
            _opt_int(q, "end_at"),
            _opt_int(q, "page_size"),
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
        session = _ParadexSession(ws, md, push_interval_seconds, auth, trading)
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
        rest(lambda q: md.orderbook(q.match_info["market"], _opt_int(q.query, "depth"))),
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
