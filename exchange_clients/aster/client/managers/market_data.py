"""Markets and live order books of the Aster client.

Markets come from `exchangeInfo` + `fundingInfo` through the venue's one parser (shared with the funding adapter),
cached by symbol and reloaded when an unknown symbol is asked for (at most every `refresh_min_interval_seconds`).
Books come from one `AsterMarketDataStream` (diff depth kept with the venue's sequence rules, REST snapshots at
start and after gaps): markets named at construction are subscribed at start, others on first use. Prices are
served only from a synced book younger than `max_book_age_seconds`; otherwise `StaleBookError`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from exchange_clients.aster.client.utils.caching import AsterMarket, MarketCache
from exchange_clients.aster.common import AsterRejectedError
from exchange_clients.aster.funding_adapter.fetchers import parse_exchange_info, parse_funding_info
from exchange_clients.aster.funding_adapter.funding_client import AsterFundingClient
from exchange_clients.aster.http import AsterHttp
from exchange_clients.aster.websocket.manager import AsterMarketDataStream
from exchange_clients.base.book_freshness import confirm_if_quiet, require_fresh
from exchange_clients.base.client import StaleBookError
from exchange_clients.base.order_book import BookState, Level, OrderBook
from exchange_clients.base.trading import ContractAttributes

log = logging.getLogger("perparb.aster.client")


class MarketDataManager:
    """Market specs and order books of Aster.

    Args:
        http: the venue's HTTP stack; ws_base: the WebSocket base; symbols: markets subscribed at `start()`;
        max_book_age_seconds: freshness limit of prices served (Aster pushes depth only on change: a quiet book
        may be older, raise it for illiquid markets); book_wait_seconds: how long a first read of a newly
        subscribed market waits for its snapshot; refresh_min_interval_seconds; ws_options.
    """

    def __init__(
        self,
        http: AsterHttp,
        ws_base: str,
        symbols: list[str] | None = None,
        *,
        max_book_age_seconds: float = 10.0,
        book_wait_seconds: float = 3.0,
        refresh_min_interval_seconds: float = 5.0,
        **ws_options: Any,
    ) -> None:
        self.http = http
        self.venue = http.config.venue
        self.reader = AsterFundingClient(http)
        self.markets = MarketCache()
        self.symbols = [s.strip() for s in symbols or []]
        self.max_book_age = max_book_age_seconds
        self.book_wait = book_wait_seconds
        self.refresh_min_interval = refresh_min_interval_seconds
        self.stream = AsterMarketDataStream(ws_base, self.reader.depth, venue=self.venue, **ws_options)
        self._started = False
        self._refresh_lock = asyncio.Lock()

    async def load_markets(self) -> None:
        """(Re)load every perpetual. Raises AsterError subclasses."""
        intervals, _ = parse_funding_info(await self.reader.funding_info())
        parsed = parse_exchange_info(await self.reader.exchange_info(), intervals=intervals)
        self.markets.replace([AsterMarket.from_info(m) for m in parsed.markets])
        log.info("%s: %d markets loaded", self.venue, len(self.markets.by_venue_symbol))

    async def market(self, symbol: str) -> AsterMarket:
        """The market of `symbol` ("BTC" or "BTCUSDT"), reloading the list once if it is unknown.

        Raises:
            AsterRejectedError: unknown symbol, or a market that is not TRADING.
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
            raise AsterRejectedError(
                f"unknown market {symbol!r}; known: {sorted(self.markets.by_symbol)[:20]}", symbol
            )
        if found.status != "active":
            raise AsterRejectedError(
                f"market {found.venue_symbol} is not tradeable: status {found.status!r}", found.venue_symbol
            )
        return found

    async def contract_attributes(self, symbol: str) -> ContractAttributes:
        """Tick, step, minimum quantity and notional, max leverage of `symbol`. Raises AsterRejectedError."""
        m = await self.market(symbol)
        return ContractAttributes(
            venue=self.venue,
            symbol=m.symbol,
            venue_market_id=m.venue_symbol,
            tick_size=m.tick,
            size_step=m.step,
            min_size=m.min_qty,
            min_notional=m.min_notional,
            max_leverage=m.max_leverage,
        )

    async def start(self) -> None:
        """Start the stream with the markets named at construction (unknown names raise)."""
        for symbol in self.symbols:
            m = await self.market(symbol)
            await self.stream.add(m.venue_symbol)
        await self.stream.start()
        self._started = True

    async def stop(self) -> None:
        if self._started:
            self._started = False
            await self.stream.stop()

    async def book(self, symbol: str) -> tuple[AsterMarket, OrderBook]:
        """The live book of `symbol`, subscribing on first use; a book that never synced is waited for up to
        `book_wait_seconds` (it may still be unsynced: callers check freshness). A synced book older than
        `max_book_age_seconds` (a quiet market) is first confirmed with a REST snapshot (`confirm`)."""
        m = await self.market(symbol)
        await self.stream.add(m.venue_symbol)
        book = self.stream.book(m.venue_symbol)
        if self._started and book.state is BookState.EMPTY:
            deadline = time.monotonic() + self.book_wait
            while book.state is BookState.EMPTY and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        # a quiet market pushes no depth: confirm the book with a REST snapshot (`AsterMarketDataStream.confirm`)
        # rather than refuse every market order on it (exchange_clients.base.book_freshness)
        await confirm_if_quiet(book, self.max_book_age, self._read_snapshot, venue=self.venue)
        return m, book

    async def _read_snapshot(self, book: OrderBook) -> None:
        """The venue's `SnapshotReader`: `GET /fapi/v1/depth`, applied when at least as new as the book."""
        await self.stream.confirm(book.market)

    async def fresh_book(self, symbol: str) -> tuple[AsterMarket, OrderBook]:
        """Like `book` but raises StaleBookError unless synced and younger than `max_book_age_seconds`."""
        m, book = await self.book(symbol)
        return m, require_fresh(book, self.max_book_age, venue=self.venue, market=m.venue_symbol)

    async def bbo(self, symbol: str) -> tuple[Level, Level]:
        """(best bid, best ask). Raises StaleBookError (stale, unsynced or a side empty)."""
        m, book = await self.fresh_book(symbol)
        bid, ask = book.best_bid(), book.best_ask()
        if bid is None or ask is None:
            raise StaleBookError(self.venue, "a side of the order book is empty", market=m.venue_symbol)
        return bid, ask

    async def depth(self, symbol: str, levels: int) -> tuple[list[Level], list[Level]]:
        """Top `levels` bids and asks, best first. Raises StaleBookError."""
        _m, book = await self.fresh_book(symbol)
        return book.depth(levels)
