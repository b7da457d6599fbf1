"""Aster market-data stream: diff depth and mark price / funding of many symbols over one combined connection.

Protocol (asterdex/api-docs@265e024 V3 "Websocket Market Streams"):
* connect to `<ws base>/stream` (combined payloads `{"stream": "<name>", "data": {...}}`) and send
  `{"method":"SUBSCRIBE","params":["btcusdt@depth@100ms","btcusdt@markPrice@1s"],"id":N}`; the server answers
  `{"result":null,"id":N}`; stream names are lower-case;
* `<symbol>@depth@100ms` pushes `depthUpdate` diffs kept by `order_book.DepthSync` with REST snapshots
  (`GET /fapi/v1/depth?limit=1000`) at start and after every gap;
* `<symbol>@markPrice@1s` pushes `markPriceUpdate` (`p` mark, `i` index, `r` funding rate per the symbol's
  interval, `T` next funding time): the latest per symbol is kept in `marks`;
* the server pings; the `websockets` library answers. On disconnect every book is invalidated; after reconnecting
  every stream is subscribed again and each book resynchronises from a new snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.client import ClientConnection

from exchange_clients.aster.common import AsterDataError, AsterError
from exchange_clients.aster.websocket.order_book import DepthSync, levels
from exchange_clients.base.order_book import OrderBook
from exchange_clients.base.order_book_manager import OrderBookManager
from exchange_clients.base.websocket import ReconnectingWebSocket

log = logging.getLogger("perparb.aster.ws")
SnapshotFetcher = Callable[[str], Awaitable[Any]]


def stream_names(venue_symbol: str) -> list[str]:
    """The streams of one symbol: diff depth every 100 ms and the mark price every second."""
    low = venue_symbol.lower()
    return [f"{low}@depth@100ms", f"{low}@markPrice@1s"]


class AsterMarketDataStream:
    """Order books and mark prices of `symbols` (Aster symbols, "BTCUSDT"), kept from `<ws_base>/stream`.

    Args:
        ws_base: e.g. "wss://fstream.asterdex.com"; fetch_snapshot: `symbol -> depth body` (REST, weight 20);
        symbols: subscribed at start (more with `add`); venue: for logs; snapshot_retry_seconds: pause before
        asking again after a failed snapshot; ws_options: `ReconnectingWebSocket` keyword arguments.

    Attributes:
        books: the `OrderBookManager`; syncs: symbol -> `DepthSync`; marks: symbol -> the latest markPriceUpdate;
        acks: subscription answers on the current connection; errors: error frames.
    """

    def __init__(
        self,
        ws_base: str,
        fetch_snapshot: SnapshotFetcher,
        symbols: list[str] | None = None,
        *,
        venue: str = "aster",
        snapshot_retry_seconds: float = 0.5,
        **ws_options: Any,
    ) -> None:
        self.venue = venue
        self.symbols: list[str] = list(dict.fromkeys(symbols or []))
        self.fetch_snapshot = fetch_snapshot
        self.books = OrderBookManager()
        self.syncs: dict[str, DepthSync] = {}
        self.marks: dict[str, dict[str, Any]] = {}
        self.acks: list[Any] = []
        self.errors: list[Any] = []
        self.snapshot_retry = snapshot_retry_seconds
        self._ids = 0
        self._fetching: dict[str, asyncio.Task[None]] = {}
        self.ws = ReconnectingWebSocket(
            ws_base.rstrip("/") + "/stream",
            name=f"{venue} market data",
            on_message=self._on_message,
            on_connect=self._on_connect,
            on_disconnect=self._on_disconnect,
            **ws_options,
        )
        self._task: asyncio.Task[None] | None = None

    def book(self, venue_symbol: str) -> OrderBook:
        return self.books.book(venue_symbol)

    def sync_of(self, venue_symbol: str) -> DepthSync:
        found = self.syncs.get(venue_symbol)
        if found is None:
            found = self.syncs[venue_symbol] = DepthSync(self.book(venue_symbol))
        return found

    def _subscribe_frame(self, symbols: list[str]) -> dict[str, Any]:
        self._ids += 1
        return {
            "method": "SUBSCRIBE",
            "params": [n for s in symbols for n in stream_names(s)],
            "id": self._ids,
        }

    async def add(self, venue_symbol: str) -> None:
        """Subscribe `venue_symbol` (kept for every reconnect); sent now when connected."""
        if venue_symbol in self.symbols:
            return
        self.symbols.append(venue_symbol)
        self.sync_of(venue_symbol)
        if self.ws.connected.is_set():
            with contextlib.suppress(ConnectionError):
                await self.ws.send(self._subscribe_frame([venue_symbol]))
            self._want_snapshot(venue_symbol)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.ws.run())

    async def stop(self) -> None:
        await self.ws.stop()
        tasks = [t for t in (self._task, *self._fetching.values()) if t is not None]
        self._task = None
        self._fetching.clear()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _on_connect(self, ws: ClientConnection) -> None:
        self.acks.clear()
        if self.symbols:
            await self.ws.send(self._subscribe_frame(list(self.symbols)))
        for symbol in self.symbols:
            self._want_snapshot(symbol)

    def _on_disconnect(self) -> None:
        self.books.invalidate_all()
        for sync in self.syncs.values():
            sync.buffer.clear()
            sync.waiting = False

    def _want_snapshot(self, venue_symbol: str) -> None:
        task = self._fetching.get(venue_symbol)
        if task is None or task.done():
            self._fetching[venue_symbol] = asyncio.get_running_loop().create_task(
                self._snapshot(venue_symbol)
            )

    async def confirm(self, venue_symbol: str) -> None:
        """Confirm a quiet book with a REST snapshot: Aster pushes depth only on change, so a synced book that has
        not changed ages although it is right. The snapshot replaces the book when it is at least as new (its
        `lastUpdateId` not below the book's sequence); a book out of sync is left to its resynchronisation.

        Raises:
            AsterError subclasses: the snapshot request failed (the book is left as it was)."""
        book = self.book(venue_symbol)
        sync = self.sync_of(venue_symbol)
        if not book.is_synced or sync.waiting:
            return
        body = await self.fetch_snapshot(venue_symbol)
        last = body.get("lastUpdateId") if isinstance(body, dict) else None
        if not isinstance(last, int) or not book.is_synced or book.sequence is None or last < book.sequence:
            return
        book.apply_snapshot(
            levels(body.get("bids"), "depth bids", book.market),
            levels(body.get("asks"), "depth asks", book.market),
            sequence=last,
        )

    async def _snapshot(self, venue_symbol: str) -> None:
        sync = self.sync_of(venue_symbol)
        while True:
            try:
                body = await self.fetch_snapshot(venue_symbol)
                if not sync.on_snapshot(body):
                    return
            except AsterError as exc:
                log.warning("%s %s: depth snapshot failed: %s", self.venue, venue_symbol, exc)
            await asyncio.sleep(self.snapshot_retry)
            if sync.book.is_synced:
                return

    def on_frame(self, msg: Any) -> None:
        """Handle one decoded frame (synchronous; exposed for tests and benches)."""
        if isinstance(msg, dict) and "stream" in msg:
            data = msg.get("data")
        else:
            data = msg
        if isinstance(data, dict):
            kind = data.get("e")
            if kind == "depthUpdate":
                symbol = str(data.get("s", ""))
                if symbol not in self.symbols:
                    return
                try:
                    if self.sync_of(symbol).on_event(data):
                        self._want_snapshot(symbol)
                except AsterDataError as exc:
                    log.warning("%s", exc)
            elif kind == "markPriceUpdate":
                self._mark(data)
            elif "result" in data and "id" in data:
                self.acks.append(data)
            elif "error" in data or ("code" in data and "msg" in data):
                log.warning("%s stream error: %s", self.venue, str(data)[:200])
                self.errors.append(data)
        elif isinstance(data, list):
            for row in data:
                if isinstance(row, dict) and row.get("e") == "markPriceUpdate":
                    self._mark(row)

    def _mark(self, data: dict[str, Any]) -> None:
        """Keep the latest markPriceUpdate; it also proves the connection alive, so a synced book of the symbol is
        as fresh as it (diff depth is pushed only on change: a quiet book is not a stale one)."""
        symbol = str(data.get("s", ""))
        self.marks[symbol] = data
        book = self.books.books.get(symbol)
        if book is not None and book.is_synced:
            book.updated_at = time.monotonic()

    async def _on_message(self, msg: Any) -> None:
        self.on_frame(msg)
