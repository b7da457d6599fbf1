"""`BackpackMarketDataStream`: one public WebSocket for many markets: `depth.<symbol>` books (REST snapshot +
deltas, gap resync: `order_book.DepthSync`) and `markPrice.<symbol>` (mark, index, the interval's funding estimate).

Protocol (docs "Streams"; recorded frames venue-data/backpack/ws_*.json): `{"method": "SUBSCRIBE", "params":
[streams]}` (no acknowledgement), pushes `{"stream": name, "data": {...}}`, errors `{"id": null, "error": {"code",
"message"}}` (4002 parse error, 4006 invalid stream, 4008 invalid depth window). The server pings; the `websockets`
library answers. On every (re)connect all streams are subscribed again and every book is re-seeded from REST; a
gap re-seeds that book only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from websockets.asyncio.client import ClientConnection

from exchange_clients.backpack.common import BackpackError
from exchange_clients.backpack.funding_adapter.funding_client import BackpackFundingClient
from exchange_clients.backpack.websocket.order_book import DepthSync, parse_depth_delta, parse_depth_snapshot
from exchange_clients.base.order_book import OrderBook
from exchange_clients.base.order_book_manager import OrderBookManager
from exchange_clients.base.websocket import ReconnectingWebSocket

log = logging.getLogger("perparb.backpack.ws")


class BackpackMarketDataStream:
    """Books and marks of the subscribed markets (venue symbols).

    Args:
        url: the WebSocket URL; reader: the REST reader (depth snapshots); symbols: markets at start;
        ws_options: `ReconnectingWebSocket` options.

    Attributes:
        books: `OrderBookManager` of the markets; marks: symbol -> last `markPrice` data; errors: venue error
        frames seen; frames: frames handled.
    """

    def __init__(
        self, url: str, reader: BackpackFundingClient, symbols: list[str], **ws_options: Any
    ) -> None:
        self.reader = reader
        self.books = OrderBookManager(on_gap=self._on_gap)
        self.syncs: dict[str, DepthSync] = {}
        self.marks: dict[str, dict[str, Any]] = {}
        self.errors: list[dict[str, Any]] = []
        self.frames = 0
        self.symbols: list[str] = list(symbols)
        self.ws = ReconnectingWebSocket(
            url,
            name="backpack market data",
            on_message=self._on_message,
            on_connect=self._on_connect,
            on_disconnect=self._on_disconnect,
            **ws_options,
        )
        self._task: asyncio.Task[None] | None = None
        self._resyncing: dict[str, asyncio.Task[None]] = {}

    def sync(self, symbol: str) -> DepthSync:
        found = self.syncs.get(symbol)
        if found is None:
            found = self.syncs[symbol] = DepthSync(self.books.book(symbol))
        return found

    def book(self, symbol: str) -> OrderBook:
        return self.sync(symbol).book

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.ws.run())

    async def stop(self) -> None:
        for task in list(self._resyncing.values()):
            task.cancel()
        self._resyncing.clear()
        await self.ws.stop()
        running, self._task = self._task, None
        if running is not None:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running

    async def subscribe(self, symbol: str) -> None:
        """Add a market (subscribed now when connected, else at connect)."""
        if symbol in self.symbols:
            return
        self.symbols.append(symbol)
        self.sync(symbol)
        if self.ws.connected.is_set():
            with contextlib.suppress(ConnectionError):
                await self.ws.send(
                    {"method": "SUBSCRIBE", "params": [f"depth.{symbol}", f"markPrice.{symbol}"]}
                )
                self._resync(symbol)

    async def _on_connect(self, ws: ClientConnection) -> None:
        if not self.symbols:
            return
        for symbol in self.symbols:
            self.sync(symbol).reset()
        streams = [s for symbol in self.symbols for s in (f"depth.{symbol}", f"markPrice.{symbol}")]
        await self.ws.send({"method": "SUBSCRIBE", "params": streams})
        for symbol in self.symbols:
            self._resync(symbol)

    def _on_disconnect(self) -> None:
        for sync in self.syncs.values():
            sync.reset()

    def _on_gap(self, symbol: str) -> None:
        self._resync(symbol)

    def _resync(self, symbol: str) -> None:
        """Fetch a REST snapshot of `symbol` in the background (one at a time per market)."""
        running = self._resyncing.get(symbol)
        if running is not None and not running.done():
            return
        self._resyncing[symbol] = asyncio.create_task(self._snapshot(symbol))

    async def _snapshot(self, symbol: str) -> None:
        sync = self.sync(symbol)
        try:
            last, bids, asks = parse_depth_snapshot(await self.reader.depth(symbol))
        except (BackpackError, ValueError) as exc:
            log.warning("backpack %s: depth snapshot failed: %s", symbol, exc)
            return
        if not sync.on_snapshot(last, bids, asks):
            log.info("backpack %s: gap in the buffered deltas; fetching a new snapshot", symbol)
            asyncio.get_running_loop().call_soon(self._resync_later, symbol)

    async def confirm(self, symbol: str) -> None:
        """Confirm a quiet book with a REST snapshot: Backpack sends depth deltas only on change, so a synced book
        that has not changed ages although it is right. The snapshot replaces the book when it is at least as new
        (its `lastUpdateId` not below the book's sequence); a book out of sync is left to its resynchronisation.

        Raises:
            BackpackError / ValueError: the snapshot request or its body failed (the book is left as it was)."""
        sync = self.sync(symbol)
        if sync.waiting or not sync.book.is_synced:
            return
        last, bids, asks = parse_depth_snapshot(await self.reader.depth(symbol))
        seq = sync.book.sequence
        if sync.waiting or not sync.book.is_synced or seq is None or last < seq:
            return
        sync.book.apply_snapshot(bids, asks, sequence=last)

    def _resync_later(self, symbol: str) -> None:
        self._resyncing.pop(symbol, None)
        self._resync(symbol)

    def _on_message(self, msg: dict[str, Any]) -> None:
        self.frames += 1
        if "error" in msg:
            self.errors.append(msg)
            log.warning("backpack ws error: %s", msg.get("error"))
            return
        stream = msg.get("stream")
        data = msg.get("data")
        if not isinstance(stream, str) or not isinstance(data, dict):
            return
        if stream.startswith("depth."):
            try:
                symbol, first, last, bids, asks = parse_depth_delta(data)
            except ValueError as exc:
                log.warning("backpack ws: depth frame skipped: %s", exc)
                return
            if not self.sync(symbol).on_delta(first, last, bids, asks):
                log.info(
                    "backpack %s: depth gap (U %d after %s); resync",
                    symbol,
                    first,
                    self.book(symbol).sequence,
                )
                self.books.gap(symbol)
        elif stream.startswith("markPrice."):
            name = data.get("s")
            if isinstance(name, str):
                self.marks[name] = data
