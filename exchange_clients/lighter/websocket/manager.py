"""Lighter market-data stream: order books of several markets at once over one `/stream` connection.

Protocol (PROTOCOL_NOTES §1.5): the server greets with `{"type":"connected"}`; subscriptions are sent after it
(`{"type":"subscribe","channel":"order_book/{m}"}`), answered by a `subscribed/order_book` snapshot and then
`update/order_book` frames chained by nonces. On a gap the market is unsubscribed and subscribed again (a plain
re-subscribe is refused with error 30003 and brings no snapshot). On disconnect every book is invalidated; after
reconnecting, the greeting triggers the subscriptions again. The client sends an app-level `{"type":"ping"}` every
`app_ping_seconds` (the server wants a frame at least every 2 minutes).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from exchange_clients.base.order_book import OrderBook
from exchange_clients.base.order_book_manager import OrderBookManager
from exchange_clients.base.websocket import ReconnectingWebSocket
from exchange_clients.lighter.websocket.order_book import apply_frame

log = logging.getLogger("perparb.lighter.ws")


class LighterMarketDataStream:
    """Order books of `market_ids` kept in sync from `ws_url` (e.g. "wss://mainnet.zklighter.elliot.ai/stream")."""

    def __init__(
        self, ws_url: str, market_ids: list[int], *, app_ping_seconds: float = 60.0, **ws_options: Any
    ) -> None:
        self.market_ids = list(market_ids)
        self.books = OrderBookManager(on_gap=self._on_gap)
        self.errors: list[dict[str, Any]] = []
        self._app_ping = app_ping_seconds
        self._pending: set[asyncio.Task[None]] = set()
        self.ws = ReconnectingWebSocket(
            ws_url,
            name="lighter market data",
            on_message=self._on_message,
            on_disconnect=self.books.invalidate_all,
            **ws_options,
        )
        self._task: asyncio.Task[None] | None = None
        self._pinger: asyncio.Task[None] | None = None

    def book(self, market_id: int) -> OrderBook:
        return self.books.book(str(market_id))

    async def start(self) -> None:
        self._task = asyncio.create_task(self.ws.run())
        self._pinger = asyncio.create_task(self._ping_loop())

    async def stop(self) -> None:
        await self.ws.stop()
        for task in (self._task, self._pinger, *self._pending):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _on_message(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind == "connected":
            for m in self.market_ids:
                await self.ws.send({"type": "subscribe", "channel": f"order_book/{m}"})
            return
        if kind == "ping":
            await self.ws.send({"type": "pong"})
            return
        if "error" in msg:
            log.warning("lighter stream error: %s", msg["error"])
            self.errors.append(msg["error"])
            return
        apply_frame(self.books, msg)

    def _on_gap(self, market: str) -> None:
        log.warning("lighter order book %s: nonce gap, resubscribing", market)
        task = asyncio.get_running_loop().create_task(self._resubscribe(market))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _resubscribe(self, market: str) -> None:
        with contextlib.suppress(ConnectionError):
            await self.ws.send({"type": "unsubscribe", "channel": f"order_book/{market}"})
            await self.ws.send({"type": "subscribe", "channel": f"order_book/{market}"})

    async def _ping_loop(self) -> None:
        while True:
            await asyncio.sleep(self._app_ping)
            with contextlib.suppress(ConnectionError):
                await self.ws.send({"type": "ping"})
