"""Paradex market-data stream: order books of several markets over one JSON-RPC WebSocket.

Protocol (PROTOCOL_NOTES §2.5): `{"jsonrpc":"2.0","method":"subscribe","params":{"channel":...},"id":n}`, pushes
`{"method":"subscription","params":{"channel":<exact name>,"data":{...}}}`. The default feed
`order_book.{m}.snapshot@15@100ms` sends the top 15 levels each time with `seq_no` increasing by one: a skipped
`seq_no` is counted and healed by the push itself. On a deltas feed a gap marks the book out of sync and the
market is resubscribed (unsubscribe + subscribe) for a new snapshot.
On disconnect every book is invalidated; `on_connect` subscribes again after each reconnect. Keepalive: the server
pings every 55 s and the `websockets` library answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from typing import Any

from websockets.asyncio.client import ClientConnection

from exchange_clients.base.order_book import OrderBook
from exchange_clients.base.order_book_manager import OrderBookManager
from exchange_clients.base.websocket import ReconnectingWebSocket
from exchange_clients.paradex.websocket.order_book import apply_frame

log = logging.getLogger("perparb.paradex.ws")


def book_channel(market: str, feed: str = "snapshot@15@100ms") -> str:
    return f"order_book.{market}.{feed}"


class ParadexMarketDataStream:
    """Order books of `markets` (e.g. ["BTC-USD-PERP"]) kept in sync from `ws_url` (".../v1")."""

    def __init__(self, ws_url: str, markets: list[str], **ws_options: Any) -> None:
        self.markets = list(markets)
        self.books = OrderBookManager(on_gap=self._on_gap)
        self.errors: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._pending: set[asyncio.Task[None]] = set()
        self.ws = ReconnectingWebSocket(
            ws_url,
            name="paradex market data",
            on_message=self._on_message,
            on_connect=self._on_connect,
            on_disconnect=self.books.invalidate_all,
            **ws_options,
        )
        self._task: asyncio.Task[None] | None = None

    def book(self, market: str) -> OrderBook:
        return self.books.book(market)

    async def start(self) -> None:
        self._task = asyncio.create_task(self.ws.run())

    async def stop(self) -> None:
        await self.ws.stop()
        for task in (self._task, *self._pending):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _rpc(self, method: str, channel: str) -> None:
        await self.ws.send(
            {"jsonrpc": "2.0", "method": method, "params": {"channel": channel}, "id": next(self._ids)}
        )

    async def _on_connect(self, ws: ClientConnection) -> None:
        for m in self.markets:
            await self._rpc("subscribe", book_channel(m))

    async def _on_message(self, msg: dict[str, Any]) -> None:
        if "error" in msg:
            log.warning("paradex stream error: %s", msg["error"])
            self.errors.append(msg["error"])
            return
        apply_frame(self.books, msg)

    def _on_gap(self, market: str) -> None:
        log.warning("paradex order book %s: seq_no gap, resubscribing", market)
        task = asyncio.get_running_loop().create_task(self._resubscribe(market))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _resubscribe(self, market: str) -> None:
        with contextlib.suppress(ConnectionError):
            await self._rpc("unsubscribe", book_channel(market))
            await self._rpc("subscribe", book_channel(market))
