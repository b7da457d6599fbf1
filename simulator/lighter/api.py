"""Lighter-compatible server (REST `/api/v1/...` and WebSocket `/stream`): market data and trading.

Speaks the protocol of `../shared/reference/PROTOCOL_NOTES.md` §1.2 and §1.5 so that lighter-sdk 1.1.8
(`lighter.ApiClient(lighter.Configuration(host=url))`, `SignerClient`, `WsClient`) talks to it as to the venue.
Trading (`sendTx`, `sendTxBatch`, `account`, orders, trades, `positionFunding`, the engine's order book, the
`account_all` channel, the trading admin API) lives in `simulator.lighter.trading`; this module serves the
scenario's market data and mounts both.

REST (bodies from the scenario's `lighter/` folder, see `simulator.scenario`):

| path | params | answer |
|---|---|---|
| `GET /` | – | `{status:200, network_id, timestamp (s, clock)}` |
| `GET /api/v1/orderBookDetails` | `market_id?`, `filter?` (`all`/`perp`/`spot`) | the file, filtered |
| `GET /api/v1/funding-rates` | – | the file verbatim (a Lighter row whose rate the admin API changed shows the engine's rate) |
| `GET /api/v1/fundings` | `market_id, resolution=1h, start_timestamp, end_timestamp (s), count_back` | rows with timestamp in [start, end], newest `count_back`, ascending |
| `GET /api/v1/orderBookOrders` | `market_id`, `limit` (1..250) | the engine's book (first `limit` orders per side); a market the engine does not trade: the file, `total_*` recounted |

Errors, as the venue answers them (`venue-data/lighter/rest_orderBookOrders_errors.json`): a missing or
malformed parameter, `limit=0`, or an unknown market on `fundings`/`orderBookDetails` -> HTTP 400
`{"code":20001,"message":"invalid param "}`. An unknown market on `orderBookOrders` -> HTTP 200 with empty sides
(recorded venue behaviour). A market listed in orderBookDetails without a `fundings_<id>.json` has no history
(empty `fundings`). Fault bodies: `lighter_error_body`.

WebSocket `/stream`: `{"session_id", "type":"connected"}` first; `subscribe` to `market_stats/all`,
`market_stats/{m}`, `order_book/{m}`, `account_all/{a}`; app-level ping -> pong; errors 30005 (invalid channel /
market), 30003 (already subscribed), 21100 (unknown account), shapes as `venue-data/lighter/ws_error_*.json`.
Request channels use `/`, response channels `:`. `market_stats` frames are built by
`LighterMarketData.market_stats` (units documented there) with the engine's prices laid over
(`LighterTrading.overlay_market_stats`); `order_book` and `account_all` frames come from the trading engine
(`simulator.lighter.trading.LighterStreamHub`); a market the engine does not trade answers a snapshot aggregated
from `orderBookOrders_<m>.json`, then empty `update/order_book` heartbeats whose `begin_nonce` chains to the
previous `nonce`. Every frame of a connection goes through one queue, in the order it was built.

Authentication (`GET /api/v1/apikeys`, `GET /api/v1/nextNonce`, admin `/_sim/lighter/apikeys`): `simulator.lighter.auth`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
import weakref
from collections.abc import Awaitable, Callable
from decimal import Decimal
from http import HTTPStatus
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from simulator.faults import FaultInjector, add_admin_routes, fault_middleware
from simulator.formats import aggregate_levels, decimal_or_none, dumps, fixed, json_response
from simulator.lighter.auth import LighterApiKeys, add_lighter_auth_routes
from simulator.lighter.scenario import NETWORK_ID_SETTING, lighter_data
from simulator.lighter.trading import (
    LighterRequestError,
    LighterTrading,
    LighterTradingConfig,
    add_trading_admin_routes,
    add_trading_routes,
    close_all,
)
from simulator.protocol import ENGINE_KEY
from simulator.scenario import HOUR_MS, Scenario, SimClock

log = logging.getLogger("perparb.simulator")

INVALID_PARAM: dict[str, Any] = {"code": 20001, "message": "invalid param "}
TOO_MANY_REQUESTS: dict[str, Any] = {"code": 23000, "message": "Too Many Requests!"}
ORDER_BOOK_LIMIT_MAX = 250  # lighter-sdk OrderApi.order_book_orders: Field(le=250, ge=1)
OPEN_INTEREST_LIMIT = "72057594037927936.000000"  # 2^56, as in ws_update_market_stats_market0.json
DEFAULT_CLAMP_SMALL = "0.0500"
DEFAULT_CLAMP_BIG = "4.0000"
DEFAULT_BASE_INTEREST = "0.0100"
PERCENT = Decimal(100)
EIGHT = Decimal(8)


def lighter_error_body(status: int) -> dict[str, Any]:
    """Lighter-shaped error body (`ResultCode {code, message}`) for an injected HTTP status.

    400 -> code 20001 "invalid param " (recorded); 429 -> code 23000 "Too Many Requests!" (quoted from a real
    api.rh.lighter.xyz answer in a public adapter's notes); other statuses are not recorded: `code` repeats the
    HTTP status and `message` is its reason phrase.
    """
    if status == 400:
        return dict(INVALID_PARAM)
    if status == 429:
        return dict(TOO_MANY_REQUESTS)
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "error"
    return {"code": status, "message": phrase}


class InvalidParam(Exception):
    """A request Lighter would refuse with HTTP 400 code 20001. `reason` is for the simulator's log only."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def _opt_int(query: Any, name: str) -> int | None:
    """Integer query parameter, None when absent/empty. Raises `InvalidParam` when not an integer."""
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise InvalidParam(f"{name}={raw!r} is not an integer") from None


def _req_int(query: Any, name: str) -> int:
    """Required integer query parameter. Raises `InvalidParam` when absent or not an integer."""
    value = _opt_int(query, name)
    if value is None:
        raise InvalidParam(f"{name} is required")
    return value


class LighterMarketData:
    """Lighter response bodies from a scenario and the clock. Pure (no I/O); shared by REST and WebSocket.

    Args:
        scenario: the loaded scenario (its `lighter` bodies are never mutated).
        clock: the simulator clock (restamps, `funding_timestamp`).
    """

    def __init__(self, scenario: Scenario, clock: SimClock) -> None:
        self.scenario = scenario
        self.data = lighter_data(scenario)
        self.clock = clock

    # ------------------------------------------------------------------------------------------ REST

    def status(self) -> dict[str, Any]:
        """`GET /` body: `{status, network_id, timestamp}` (timestamp in seconds, from the clock)."""
        return {
            "status": 200,
            "network_id": self.scenario.settings.venue_setting(NETWORK_ID_SETTING, 1),
            "timestamp": self.clock.now_s(),
        }

    def order_book_details(self, market_id: int | None, filter_: str | None) -> dict[str, Any]:
        """`GET /api/v1/orderBookDetails` body.

        Raises:
            InvalidParam: unknown `filter`, or a `market_id` that no perp/spot row has.
        """
        if filter_ not in (None, "", "all", "perp", "spot"):
            raise InvalidParam(f"filter={filter_!r}")
        body = dict(self.data.order_book_details or {"code": 200, "order_book_details": []})
        for key, kind in (("order_book_details", "perp"), ("spot_order_book_details", "spot")):
            if key not in body:
                continue
            rows = list(body[key] or [])
            if filter_ not in (None, "", "all", kind):
                rows = []
            if market_id is not None:
                rows = [row for row in rows if row.get("market_id") == market_id]
            body[key] = rows
        if market_id is not None and not any(
            body.get(k) for k in ("order_book_details", "spot_order_book_details")
        ):
            raise InvalidParam(f"market_id={market_id} unknown")
        return body

    def funding_rates(self) -> dict[str, Any]:
        """`GET /api/v1/funding-rates` body (the file verbatim; no file = no rows)."""
        return (
            self.data.funding_rates
            if self.data.funding_rates is not None
            else {"code": 200, "funding_rates": []}
        )

    def fundings(
        self, market_id: int, resolution: str, start_s: int, end_s: int, count_back: int
    ) -> dict[str, Any]:
        """`GET /api/v1/fundings` body: rows with `start_s <= timestamp <= end_s`, the newest `count_back` of
        them, ascending by timestamp (as the venue answers). Rows are served as recorded (`rate` percent per
        hour, unsigned; `direction` gives the sign).

        Raises:
            InvalidParam: resolution other than "1h", `count_back < 1`, `start > end`, or a market that is
                neither in orderBookDetails nor has a fundings file.
        """
        if resolution != "1h":
            raise InvalidParam(f"resolution={resolution!r} (the simulator serves hourly history only)")
        if count_back < 1 or start_s > end_s:
            raise InvalidParam(f"count_back={count_back} start={start_s} end={end_s}")
        body = self.data.fundings.get(market_id)
        if body is None:
            if market_id not in self.data.known_market_ids():
                raise InvalidParam(f"market_id={market_id} unknown")
            return {"code": 200, "resolution": resolution, "fundings": []}
        rows = sorted(
            (r for r in body["fundings"] if start_s <= r["timestamp"] <= end_s), key=lambda r: r["timestamp"]
        )
        return {**body, "resolution": resolution, "fundings": rows[-count_back:]}

    def order_book_orders(self, market_id: int, limit: int) -> dict[str, Any]:
        """`GET /api/v1/orderBookOrders` body: the first `limit` orders of each side, `total_*` = rows sent.

        Unknown market -> code 200 and empty sides (recorded in `rest_orderBookOrders_errors.json`).

        Raises:
            InvalidParam: `limit` outside 1..250 (`limit=0` -> 20001 is recorded).
        """
        if not 1 <= limit <= ORDER_BOOK_LIMIT_MAX:
            raise InvalidParam(f"limit={limit}")
        body = self.data.order_book_orders.get(market_id)
        if body is None:
            return {"code": 200, "total_asks": 0, "asks": [], "total_bids": 0, "bids": []}
        asks = body["asks"][:limit]
        bids = body["bids"][:limit]
        out = {"code": 200, **body, "asks": asks, "bids": bids}
        out["total_asks"] = len(asks)
        out["total_bids"] = len(bids)
        return out

    # ------------------------------------------------------------------------------------------ WS

    def _size_places(self, market_id: int) -> int | None:
        detail = self.data.detail(market_id)
        places = detail.get("size_decimals") if detail else None
        return places if isinstance(places, int) and not isinstance(places, bool) else None

    def book_levels(self, market_id: int) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
        """(asks, bids) price levels aggregated from `orderBookOrders_<market_id>.json` ([] when absent)."""
        body = self.data.order_book_orders.get(market_id)
        if body is None:
            return [], []
        places = self._size_places(market_id)
        return (
            aggregate_levels(body["asks"], ascending=True, size_places=places),
            aggregate_levels(body["bids"], ascending=False, size_places=places),
        )

    def _current_rate_percent(self, market_id: int) -> Decimal | None:
        """Lighter's own `funding-rates` row (fraction per 8 h) as percent per hour: rate / 8 * 100."""
        for row in self.funding_rates().get("funding_rates", []):
            if (
                isinstance(row, dict)
                and row.get("exchange") == "lighter"
                and row.get("market_id") == market_id
            ):
                rate = decimal_or_none(row.get("rate"), "rate", context=f"funding-rates market {market_id}")
                if rate is not None:
                    return rate / EIGHT * PERCENT
        return None

    def _last_settled_percent(self, market_id: int) -> Decimal | None:
        """Newest well-formed `fundings` row as signed percent per hour (direction "short" -> negative)."""
        body = self.data.fundings.get(market_id)
        if body is None:
            return None
        for row in sorted(body["fundings"], key=lambda r: r["timestamp"], reverse=True):
            rate = decimal_or_none(row.get("rate"), "rate", context=f"fundings market {market_id}")
            direction = row.get("direction")
            if rate is None or direction not in ("long", "short"):
                continue
            return rate if direction == "long" else -rate
        return None

    def market_stats(self, market_id: int) -> dict[str, Any] | None:
        """One `market_stats` entry (shape of `venue-data/lighter/ws_update_market_stats_market0.json`).

        Built from the orderBookDetails row, the `lighter` row of funding-rates, the fundings history and the
        order book file:
        - prices (text, `price_decimals`): `mark_price`/`index_price` from the row, else `last_trade_price`;
          best bid/ask from the aggregated book (else the mark price), `mid_price` = their mean;
        - `current_funding_rate`: funding-rates `rate` (fraction per 8 h) / 8 * 100 = percent per hour, 4 dp;
          `funding_rate` (last settled): newest fundings row, signed percent per hour; falls back to current;
          `funding_timestamp`: the last hour boundary + 1 ms (Lighter settles at HH:00:00.001);
        - `open_interest`: open interest in USD = orderBookDetails `open_interest` (base units) * mark price,
          6 dp. Inferred from recordings: WS ETH `86574362.97` at mark 1914 (= 45k ETH) against REST ETH
          `open_interest` 39559 (base) — the WS value is quote notional, the REST value base units;
        - 24 h volumes and price range: the row's floats.

        Returns None when the market is unknown or has no usable price.
        """
        detail = self.data.detail(market_id)
        if detail is None:
            return None
        ctx = f"orderBookDetails market {market_id}"
        places = detail.get("price_decimals") if isinstance(detail.get("price_decimals"), int) else 2
        last = decimal_or_none(detail.get("last_trade_price"), "last_trade_price", context=ctx)
        mark = decimal_or_none(detail.get("mark_price"), "mark_price", context=ctx) or last
        if mark is None:
            return None
        index = decimal_or_none(detail.get("index_price"), "index_price", context=ctx) or mark
        asks, bids = self.book_levels(market_id)
        best_ask = Decimal(asks[0]["price"]) if asks else mark
        best_bid = Decimal(bids[0]["price"]) if bids else mark
        oi_base = decimal_or_none(detail.get("open_interest"), "open_interest", context=ctx)
        current = self._current_rate_percent(market_id)
        settled = self._last_settled_percent(market_id)
        if current is None:
            current = settled
        if settled is None:
            settled = current
        stats: dict[str, Any] = {
            "symbol": detail["symbol"],
            "market_id": market_id,
            "index_price": fixed(index, places),
            "mark_price": fixed(mark, places),
            "mid_price": fixed((best_ask + best_bid) / 2, places),
            "best_ask_price": fixed(best_ask, places),
            "best_bid_price": fixed(best_bid, places),
        }
        if oi_base is not None:
            stats["open_interest"] = fixed(oi_base * mark, 6)
        stats["open_interest_limit"] = OPEN_INTEREST_LIMIT
        stats["funding_clamp_small"] = detail.get("funding_clamp_small") or DEFAULT_CLAMP_SMALL
        stats["funding_clamp_big"] = detail.get("funding_clamp_big") or DEFAULT_CLAMP_BIG
        stats["last_trade_price"] = fixed(last if last is not None else mark, places)
        if current is not None and settled is not None:
            stats["current_funding_rate"] = fixed(current, 4)
            stats["funding_rate"] = fixed(settled, 4)
        stats["funding_timestamp"] = self.clock.now_ms() // HOUR_MS * HOUR_MS + 1
        for key in (
            "daily_base_token_volume",
            "daily_quote_token_volume",
            "daily_price_low",
            "daily_price_high",
            "daily_price_change",
        ):
            if key in detail:
                stats[key] = detail[key]
        stats["base_interest_rate"] = detail.get("base_interest_rate") or DEFAULT_BASE_INTEREST
        return stats

    def market_stats_all(self) -> dict[str, dict[str, Any]]:
        """`market_stats` map of `market_stats/all`: str(market_id) -> entry, for every perp with a price."""
        out: dict[str, dict[str, Any]] = {}
        for row in self.data.perp_details():
            stats = self.market_stats(row["market_id"])
            if stats is not None:
                out[str(row["market_id"])] = stats
        return out


# ----------------------------------------------------------------------------------------------- HTTP


def _rest_handler(
    build: Callable[[web.Request], dict[str, Any]],
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        try:
            body = build(request)
        except InvalidParam as exc:
            log.info("lighter %s -> 400 invalid param (%s)", request.path_qs, exc.reason)
            return json_response(INVALID_PARAM, status=400)
        return json_response(body)

    return handler


class _LighterSession:
    """One `/stream` connection: its subscriptions, push tasks and outgoing queue.

    Frames are queued (`enqueue`, never blocking) and written in order by one writer task, so frames built by the
    trading hub (`LighterStreamHub`) and by the session reach the client in the order they were built.
    """

    def __init__(
        self,
        ws: web.WebSocketResponse,
        md: LighterMarketData,
        trading: LighterTrading,
        interval: float,
    ) -> None:
        self.ws = ws
        self.md = md
        self.trading = trading
        self.interval = interval
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.channels: set[str] = set()
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.writer = asyncio.create_task(self._write())
        self.offset = 1
        self.nonce = md.clock.now_ms()

    async def _write(self) -> None:
        while True:
            frame = await self.queue.get()
            try:
                await self.ws.send_str(dumps(frame))
            except (ConnectionError, RuntimeError) as exc:
                log.info("lighter ws send failed: %s", exc)
                return

    def enqueue(self, frame: dict[str, Any]) -> None:
        """Queue `frame` for sending (the hub's `Subscriber` protocol)."""
        self.queue.put_nowait(frame)

    async def send(self, frame: dict[str, Any]) -> None:
        self.enqueue(frame)

    async def error(self, code: int, message: str) -> None:
        await self.send({"error": {"code": code, "message": message}})

    async def handle(self, text: str) -> None:
        try:
            msg = json.loads(text)
        except json.JSONDecodeError:
            await self.send({"error": dict(INVALID_PARAM)})
            return
        if not isinstance(msg, dict):
            await self.send({"error": dict(INVALID_PARAM)})
            return
        kind = msg.get("type")
        if kind == "ping":
            await self.send({"type": "pong"})
        elif kind == "pong":
            return
        elif kind == "subscribe":
            await self.subscribe(msg.get("channel"))
        elif kind == "unsubscribe":
            await self.unsubscribe(msg.get("channel"))
        else:
            await self.send({"error": dict(INVALID_PARAM)})

    def _parse(self, channel: Any) -> tuple[str, str] | None:
        """('market_stats'|'order_book'|'account_all', 'all'|id text) or None for an unsupported channel."""
        if not isinstance(channel, str) or channel.count("/") != 1:
            return None
        name, arg = channel.split("/")
        if name == "market_stats" and (arg == "all" or arg.isdigit()):
            return name, arg
        if name in ("order_book", "account_all") and arg.isdigit():
            return name, arg
        return None

    async def subscribe(self, channel: Any) -> None:
        parsed = self._parse(channel)
        if parsed is None:
            await self.error(30005, "Invalid Channel")
            return
        name, arg = parsed
        if (
            name != "account_all"
            and arg != "all"
            and int(arg) not in {r["market_id"] for r in self.md.data.perp_details()}
        ):
            await self.error(30005, "Invalid Channel:  (marketId)")
            return
        resp_channel = f"{name}:{arg}"
        if resp_channel in self.channels:
            await self.error(30003, f"Already Subscribed to : {resp_channel}")
            return
        if name == "market_stats":
            await self.send(self._market_stats_frame(arg, "subscribed/market_stats"))
            self.tasks[resp_channel] = asyncio.create_task(self._push_market_stats(arg))
        elif name == "account_all":
            try:
                self.trading.hub.subscribe_account(int(arg), self)
            except LighterRequestError as exc:
                await self.error(exc.code, exc.message)
                return
        elif self.trading.market(int(arg)) is not None:
            self.trading.hub.subscribe_book(int(arg), self)
        else:
            await self.send(self._order_book_frame(int(arg), snapshot=True))
            self.tasks[resp_channel] = asyncio.create_task(self._push_order_book(int(arg)))
        self.channels.add(resp_channel)

    async def unsubscribe(self, channel: Any) -> None:
        parsed = self._parse(channel)
        if parsed is None:
            await self.error(30005, "Invalid Channel")
            return
        name, arg = parsed
        resp_channel = f"{name}:{arg}"
        self.channels.discard(resp_channel)
        task = self.tasks.pop(resp_channel, None)
        if task is not None:
            task.cancel()
        if name == "order_book":
            self.trading.hub.unsubscribe_book(int(arg), self)
        elif name == "account_all":
            self.trading.hub.unsubscribe_account(int(arg), self)
        await self.send({"type": "unsubscribed", "channel": resp_channel})

    def _market_stats_frame(self, arg: str, kind: str) -> dict[str, Any]:
        trading = self.trading
        trading.sync()
        stats: Any
        if arg == "all":
            stats = {k: trading.overlay_market_stats(v) for k, v in self.md.market_stats_all().items()}
        else:
            stats = trading.overlay_market_stats(self.md.market_stats(int(arg)))
        return {
            "channel": f"market_stats:{arg}",
            "market_stats": stats,
            "timestamp": self.md.clock.now_ms(),
            "type": kind,
        }

    def _order_book_frame(self, market_id: int, *, snapshot: bool) -> dict[str, Any]:
        """Order book of a market the engine does not trade: the scenario's book, then empty heartbeats."""
        now_us = self.md.clock.now_us()
        begin_nonce = 0 if snapshot else self.nonce
        self.nonce += 1
        if snapshot:
            asks, bids = self.md.book_levels(market_id)
        else:
            asks, bids = [], []  # heartbeat: nothing changes in a market-data-only market
        return {
            "channel": f"order_book:{market_id}",
            "last_updated_at": now_us,
            "offset": self.offset,
            "order_book": {
                "code": 0,
                "asks": asks,
                "bids": bids,
                "offset": self.offset,
                "nonce": self.nonce,
                "last_updated_at": now_us,
                "begin_nonce": begin_nonce,
            },
            "timestamp": now_us // 1000,
            "type": "subscribed/order_book" if snapshot else "update/order_book",
        }

    async def _push_market_stats(self, arg: str) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.send(self._market_stats_frame(arg, "update/market_stats"))

    async def _push_order_book(self, market_id: int) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.offset += 1
            await self.send(self._order_book_frame(market_id, snapshot=False))

    async def close(self) -> None:
        self.trading.hub.remove(self)
        tasks = [*self.tasks.values(), self.writer]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, RuntimeError):
                await task
        self.tasks.clear()


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
        return md.order_book_details(_opt_int(request.query, "market_id"), request.query.get("filter"))

    def fundings(request: web.Request) -> dict[str, Any]:
        q = request.query
        return md.fundings(
            _req_int(q, "market_id"),
            q.get("resolution", ""),
            _req_int(q, "start_timestamp"),
            _req_int(q, "end_timestamp"),
            _req_int(q, "count_back"),
        )

    def book(request: web.Request) -> dict[str, Any]:
        market_id, limit = _req_int(request.query, "market_id"), _req_int(request.query, "limit")
        recorded = md.order_book_orders(market_id, limit)  # checks `limit` as the venue does
        served = trading.order_book_orders(market_id, limit)
        return served if served is not None else recorded

    async def stream(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        sockets.add(ws)
        session = _LighterSession(ws, md, trading, push_interval_seconds)
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
