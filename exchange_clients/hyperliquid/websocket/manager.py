"""Hyperliquid market-data stream: `l2Book`, `trades` and `activeAssetCtx` of many coins over one connection.

Protocol (docs for-developers/api/websocket.md, websocket/subscriptions.md, websocket/timeouts-and-heartbeats.md):
* connect to `wss://api.hyperliquid.xyz/ws`; subscribe with `{"method":"subscribe","subscription":{"type":
  "l2Book","coin":"BTC"}}` (same for `trades` and `activeAssetCtx`); the server acknowledges with a
  `subscriptionResponse` echoing the subscription (ws_subscriptionResponse_*.json) and pushes
  `{"channel":"l2Book"|"trades"|"activeAssetCtx","data":...}`; a duplicate subscription answers
  `{"channel":"error","data":"Already subscribed: ..."}` and keeps the socket open;
* the server closes a connection it has not heard from in 60 s: the stream sends `{"method":"ping"}` every
  `ping_seconds` (default 30 s, < 60 s) and the server answers `{"channel":"pong"}` (ws_pong.json);
* on disconnect every book is invalidated (`OrderBookManager.invalidate_all`); after reconnecting every
  subscription is sent again (`on_connect`), and the first `l2Book` push re-syncs each book (pushes are snapshots).

Subscriptions are per coin ("BTC", "xyz:XYZ100" on a HIP-3 dex). `trades` pushes go to `on_trades` (a list of
trades per push); `activeAssetCtx` pushes keep the latest ctx per coin in `asset_ctx` (funding, mark, oracle).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection

from exchange_clients.base.order_book import OrderBook
from exchange_clients.base.websocket import ReconnectingWebSocket
from exchange_clients.hyperliquid.common import HyperliquidDataError
from exchange_clients.hyperliquid.websocket.order_book import apply_l2book, new_book_manager

log = logging.getLogger("perparb.hyperliquid.ws")
PING_SECONDS = 30.0


def subscription(kind: str, **fields: str) -> dict[str, Any]:
    """`{"method":"subscribe","subscription":{"type": kind, **fields}}`."""
    return {"method": "subscribe", "subscription": {"type": kind, **fields}}


class HyperliquidMarketDataStream:
    """Order books (and optionally trades and asset contexts) of `coins`, kept from `ws_url`.

    Args:
        ws_url: e.g. "wss://api.hyperliquid.xyz/ws"; coins: books subscribed at start (more with `add`);
        venue: the venue id (named in errors and logs); trades / asset_ctxs: also subscribe `trades` /
        `activeAssetCtx` of each coin; on_trades: receives each `trades` push's list; ping_seconds: heartbeat
        period (< 60 s); ws_options: `ReconnectingWebSocket` keyword arguments (backoff, ...).

    Attributes:
        books: the `OrderBookManager`; asset_ctx: coin -> latest `activeAssetCtx` ctx; acks: subscriptions the
        server acknowledged on the current connection; errors: `error` frames received; pongs: pongs received.
    """

    def __init__(
        self,
        ws_url: str,
        coins: list[str] | None = None,
        *,
        venue: str = "hyperliquid",
        trades: bool = False,
        asset_ctxs: bool = False,
        on_trades: Callable[[list[dict[str, Any]]], None] | None = None,
        ping_seconds: float = PING_SECONDS,
        **ws_options: Any,
    ) -> None:
        self.venue = venue
        self.coins: list[str] = list(dict.fromkeys(coins or []))
        self.want_trades = trades
        self.want_asset_ctxs = asset_ctxs
        self.on_trades = on_trades
        self.books = new_book_manager()
        self.asset_ctx: dict[str, dict[str, Any]] = {}
        self.acks: list[dict[str, Any]] = []
        self.errors: list[Any] = []
        self.pongs = 0
        self._ping = ping_seconds
        self.ws = ReconnectingWebSocket(
            ws_url,
            name=f"{venue} market data",
            on_message=self._on_message,
            on_connect=self._on_connect,
            on_disconnect=self._on_disconnect,
            **ws_options,
        )
        self._task: asyncio.Task[None] | None = None
        self._pinger: asyncio.Task[None] | None = None

    def book(self, coin: str) -> OrderBook:
        return self.books.book(coin)

    def _subscriptions(self, coin: str) -> list[dict[str, Any]]:
        subs = [subscription("l2Book", coin=coin)]
        if self.want_trades:
            subs.append(subscription("trades", coin=coin))
        if self.want_asset_ctxs:
            subs.append(subscription("activeAssetCtx", coin=coin))
        return subs

    async def add(self, coin: str) -> None:
        """Subscribe `coin` (kept for every reconnect); sent now when connected."""
        if coin in self.coins:
            return
        self.coins.append(coin)
        if self.ws.connected.is_set():
            with contextlib.suppress(ConnectionError):
                for sub in self._subscriptions(coin):
                    await self.ws.send(sub)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.ws.run())
            self._pinger = asyncio.create_task(self._ping_loop())

    async def stop(self) -> None:
        await self.ws.stop()
        tasks, self._task, self._pinger = (self._task, self._pinger), None, None
        for task in tasks:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _on_connect(self, ws: ClientConnection) -> None:
        self.acks.clear()
        for coin in list(self.coins):
            for sub in self._subscriptions(coin):
                await self.ws.send(sub)

    def _on_disconnect(self) -> None:
        self.books.invalidate_all()

    def on_frame(self, msg: dict[str, Any]) -> None:
        """Handle one decoded frame (synchronous; exposed for tests and benches)."""
        channel = msg.get("channel")
        if channel == "l2Book":
            try:
                apply_l2book(self.books, msg, venue=self.venue)
            except HyperliquidDataError as exc:
                log.warning("%s", exc)
        elif channel == "trades":
            data = msg.get("data")
            if self.on_trades is not None and isinstance(data, list):
                self.on_trades(data)
        elif channel == "activeAssetCtx":
            data = msg.get("data")
            if (
                isinstance(data, dict)
                and isinstance(data.get("coin"), str)
                and isinstance(data.get("ctx"), dict)
            ):
                self.asset_ctx[data["coin"]] = data["ctx"]
        elif channel == "subscriptionResponse":
            data = msg.get("data")
            if isinstance(data, dict):
                self.acks.append(data)
        elif channel == "pong":
            self.pongs += 1
        elif channel == "error":
            log.warning("%s stream error: %s", self.venue, str(msg.get("data"))[:200])
            self.errors.append(msg.get("data"))

    async def _on_message(self, msg: dict[str, Any]) -> None:
        self.on_frame(msg)

    async def _ping_loop(self) -> None:
        while True:
            await asyncio.sleep(self._ping)
            with contextlib.suppress(ConnectionError):
                await self.ws.send({"method": "ping"})
