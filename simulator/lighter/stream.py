"""The Lighter `/stream` WebSocket sessions of the simulator (`StreamSession`).

WebSocket `/stream`): market data and trading.

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
`market_stats/{m}`, `order_book/{m}`, `account_all/{a}`, `user_stats/{a}`; app-level ping -> pong; errors 30005 (invalid channel /
market), 30003 (already subscribed), 21100 (unknown account), shapes as `venue-data/lighter/ws_error_*.json`.
Request channels use `/`, response channels `:`. `market_stats` frames are built by
`LighterMarketData.market_stats` (units documented there) with the engine's prices laid over
(`LighterTrading.overlay_market_stats`); `order_book` and `account_all` frames come from the trading engine
(`simulator.lighter.stream_hub.LighterStreamHub`); a market the engine does not trade answers a snapshot aggregated
from `orderBookOrders_<m>.json`, then empty `update/order_book` heartbeats whose `begin_nonce` chains to the
previous `nonce`. Every frame of a connection goes through one queue, in the order it was built.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from aiohttp import WSCloseCode, web

from simulator.formats import dumps
from simulator.lighter.errors import INVALID_PARAM_BODY, LighterRequestError
from simulator.lighter.market_data import LighterMarketData

if TYPE_CHECKING:
    from simulator.lighter.trading import LighterTrading

log = logging.getLogger("perparb.simulator")


class StreamSession:
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
        """Queue `frame` for sending (the hub's `Subscriber` protocol). While the `stall_accounts` WS fault lasts,
        account frames, and pongs to a connection with an account channel, are lost."""
        if self.trading.hub.accounts_stalled():
            kind = str(frame.get("type", ""))
            account_session = any(c.startswith(("account_all:", "user_stats:")) for c in self.channels)
            if kind.endswith(("/account_all", "/user_stats")) or (kind == "pong" and account_session):
                return
        self.queue.put_nowait(frame)

    async def send(self, frame: dict[str, Any]) -> None:
        self.enqueue(frame)

    async def error(self, code: int, message: str) -> None:
        await self.send({"error": {"code": code, "message": message}})

    async def handle(self, text: str) -> None:
        try:
            msg = json.loads(text)
        except json.JSONDecodeError:
            await self.send({"error": dict(INVALID_PARAM_BODY)})
            return
        if not isinstance(msg, dict):
            await self.send({"error": dict(INVALID_PARAM_BODY)})
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
            await self.send({"error": dict(INVALID_PARAM_BODY)})

    def _parse(self, channel: Any) -> tuple[str, str] | None:
        """('market_stats'|'order_book'|'account_all'|'user_stats', 'all'|id text) or None for an unsupported
        channel."""
        if not isinstance(channel, str) or channel.count("/") != 1:
            return None
        name, arg = channel.split("/")
        if name == "market_stats" and (arg == "all" or arg.isdigit()):
            return name, arg
        if name in ("order_book", "account_all", "user_stats") and arg.isdigit():
            return name, arg
        return None

    async def subscribe(self, channel: Any) -> None:
        parsed = self._parse(channel)
        if parsed is None:
            await self.error(30005, "Invalid Channel")
            return
        name, arg = parsed
        if (
            name not in ("account_all", "user_stats")
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
        elif name == "user_stats":
            try:
                self.trading.hub.subscribe_stats(int(arg), self)
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
        elif name == "user_stats":
            self.trading.hub.unsubscribe_stats(int(arg), self)
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


async def close_all(sockets: Iterable[web.WebSocketResponse]) -> int:
    """Close every WebSocket in `sockets` (GOING_AWAY); returns how many were open."""
    count = 0
    for ws in list(sockets):
        if not ws.closed:
            count += 1
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.close(code=WSCloseCode.GOING_AWAY, message=b"simulator fault: connection dropped")
    return count
