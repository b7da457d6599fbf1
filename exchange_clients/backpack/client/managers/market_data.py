"""Markets and live order books of the Backpack client.

Markets come from `GET /api/v1/markets` through the venue's one reader and parser (shared with the funding
adapter), cached by symbol and reloaded when an unknown symbol is asked for (at most every
`refresh_min_interval_seconds`). Books come from one `BackpackMarketDataStream` (REST snapshot + `depth` deltas):
markets named at construction are subscribed at start, others on first use. Prices are served only from a synced
book younger than `max_book_age_seconds`; otherwise `StaleBookError`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from exchange_clients.backpack.client.utils.caching import BackpackMarket, MarketCache
from exchange_clients.backpack.common import VENUE, BackpackRejectedError
from exchange_clients.backpack.funding_adapter.fetchers import parse_markets
from exchange_clients.backpack.funding_adapter.funding_client import BackpackFundingClient
from exchange_clients.backpack.http import BackpackHttp
from exchange_clients.backpack.websocket.manager import BackpackMarketDataStream
from exchange_clients.base.book_freshness import confirm_if_quiet, require_fresh
from exchange_clients.base.client import StaleBookError
from exchange_clients.base.order_book import Level, OrderBook
from exchange_clients.base.trading import ContractAttributes

log = logging.getLogger("perparb.backpack.client")


class MarketDataManager:
    """Market specs and order books.

    Args:
        http: the venue's HTTP stack; ws_url: the public WebSocket; symbols: markets subscribed at `start()`;
        max_book_age_seconds: freshness limit of prices served; book_wait_seconds: how long a first read of a newly
        subscribed market waits for its snapshot; refresh_min_interval_seconds: unknown symbols reload the list at
        most this often; ws_options: `ReconnectingWebSocket` options.
    """

    def __init__(
        self,
        http: BackpackHttp,
        ws_url: str,
        symbols: list[str] | None = None,
        *,
        max_book_age_seconds: float = 10.0,
        book_wait_seconds: float = 3.0,
        refresh_min_interval_seconds: float = 5.0,
        **ws_options: Any,
    ) -> None:
        self.http = http
        self.venue = VENUE
        self.reader = BackpackFundingClient(http)
        self.markets = MarketCache()
        self.symbols = [s.strip() for s in symbols or []]
        self.max_book_age = max_book_age_seconds
        self.book_wait = book_wait_seconds
        self.refresh_min_interval = refresh_min_interval_seconds
        self.stream = BackpackMarketDataStream(ws_url, self.reader, [], **ws_options)
        self._refresh_lock = asyncio.Lock()

    async def load_markets(self) -> None:
        """(Re)load every perp. Raises BackpackError subclasses."""
        parsed = parse_markets(await self.reader.markets())
        self.markets.replace([BackpackMarket.from_info(m) for m in parsed.markets])
        log.info("%s: %d markets loaded", self.venue, len(self.markets.by_symbol))

    async def market(self, symbol: str) -> BackpackMarket:
        """The market of `symbol` ("SOL" or "SOL_USDC_PERP"), reloading the list once if it is unknown.

        Raises:
            BackpackRejectedError: unknown symbol, or a market whose book is not open.
        """
        found = self.markets.get(symbol)
        if found is None:
            async with self._refresh_lock:
                found = self.markets.get(symbol)
                loaded = self.markets.loaded_at
                if found is None and (
                    loaded is None or time.monotonic() - loaded >= self.refresh_min_interval
                ):
                    await self.load_markets()
                    found = self.markets.get(symbol)
        if found is None:
            raise BackpackRejectedError(
                f"unknown market {symbol!r}; known: {sorted(self.markets.by_symbol)[:20]}", symbol
            )
        if found.status != "active":
            raise BackpackRejectedError(
                f"market {found.venue_symbol} is not tradeable: orderBookState {found.status!r}",
                found.venue_symbol,
            )
        return found

    async def contract_attributes(self, symbol: str) -> ContractAttributes:
        """Tick, step, minimum size and maximum leverage of `symbol`. Raises BackpackRejectedError."""
        m = await self.market(symbol)
        return ContractAttributes(
            venue=self.venue,
            symbol=m.symbol,
            venue_market_id=m.venue_symbol,
            tick_size=m.tick_size,
            size_step=m.size_step,
            min_size=m.min_size,
            min_notional=None,
            max_leverage=m.max_leverage,
        )

    async def start(self) -> None:
        """Start the stream with the markets named at construction (unknown names raise)."""
        for symbol in self.symbols:
            m = await self.market(symbol)
            await self.stream.subscribe(m.venue_symbol)
        await self.stream.start()

    async def stop(self) -> None:
        await self.stream.stop()
        await self.reader.close()

    async def book(self, symbol: str) -> tuple[BackpackMarket, OrderBook]:
        """The market and its live book, subscribing on first use and waiting up to `book_wait_seconds` for it. A
        synced book older than `max_book_age_seconds` (a quiet market) is first confirmed with a REST snapshot
        (`BackpackMarketDataStream.confirm`)."""
        m = await self.market(symbol)
        if m.venue_symbol not in self.stream.symbols:
            await self.stream.subscribe(m.venue_symbol)
        book = self.stream.book(m.venue_symbol)
        for _ in range(max(int(self.book_wait / 0.02), 1)):
            if book.is_synced:
                break
            await asyncio.sleep(0.02)
        # a quiet market sends no deltas: confirm the book with a REST snapshot (`BackpackMarketDataStream.confirm`)
        # rather than refuse every market order on it (exchange_clients.base.book_freshness)
        await confirm_if_quiet(book, self.max_book_age, self._read_snapshot, venue=self.venue)
        return m, book

    async def _read_snapshot(self, book: OrderBook) -> None:
        """The venue's `SnapshotReader`: `GET /api/v1/depth`, applied when at least as new as the book."""
        await self.stream.confirm(book.market)

    async def fresh_book(self, symbol: str) -> tuple[BackpackMarket, OrderBook]:
        """Like `book`, but refuses a book that is out of sync or older than `max_book_age_seconds`.

        Raises:
            StaleBookError."""
        m, book = await self.book(symbol)
        return m, require_fresh(book, self.max_book_age, venue=self.venue, market=m.venue_symbol)

    async def bbo(self, symbol: str) -> tuple[Level, Level]:
        """(best bid, best ask) of a fresh book. Raises StaleBookError (also for an empty side)."""
        m, book = await self.fresh_book(symbol)
        bid, ask = book.best_bid(), book.best_ask()
        if bid is None or ask is None:
            raise StaleBookError(self.venue, "empty book side", market=m.venue_symbol)
        return bid, ask

    async def depth(self, symbol: str, levels: int) -> tuple[list[Level], list[Level]]:
        """Top `levels` bids and asks of a fresh book. Raises StaleBookError."""
        _m, book = await self.fresh_book(symbol)
        return book.depth(levels)
