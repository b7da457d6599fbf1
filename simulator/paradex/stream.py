"""The Paradex `/v1` JSON-RPC WebSocket sessions of the simulator (`StreamSession`).

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
`simulator.paradex.feeds` and `simulator.paradex.books`; they are pushed on events through the session's outbox, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from simulator.formats import dumps
from simulator.paradex.auth import ParadexAuth
from simulator.paradex.market_data import ParadexMarketData
from simulator.paradex.wire import PRIVATE_EXACT, PRIVATE_PREFIXES

if TYPE_CHECKING:
    from simulator.paradex.trading import ParadexTrading

log = logging.getLogger("perparb.simulator")


Producer = Callable[[], list[dict[str, Any]]]


class StreamSession:
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
        raw_params = msg.get("params")
        params: dict[str, Any] = raw_params if isinstance(raw_params, dict) else {}
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
