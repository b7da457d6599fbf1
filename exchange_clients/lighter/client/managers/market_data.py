"""Markets and live order books of the Lighter client.

Markets come from `GET /api/v1/orderBookDetails` (PROTOCOL_NOTES §1.2), cached by symbol and market id and
reloaded when an unknown symbol is asked for. Order books come from one `LighterMarketDataStream` (WebSocket
`/stream`, `order_book/{m}` channels, nonce-chained, resubscribed on gaps and after reconnects) covering every
market in use: markets named at construction are subscribed at connect, others on first use. Prices are served
only from a SYNCED book younger than `max_book_age_seconds` (Lighter sends an empty update, a heartbeat, every
50 ms batch window it has nothing); a synced book past that age is first confirmed with one REST snapshot
(`GET /api/v1/orderBookOrders`, exchange_clients.base.book_freshness), otherwise `StaleBookError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import lighter

from exchange_clients.base.book_freshness import confirm_if_quiet, require_fresh
from exchange_clients.base.client import StaleBookError
from exchange_clients.base.order_book import BookState, Level, OrderBook
from exchange_clients.base.trading import ContractAttributes
from exchange_clients.lighter.client.utils.caching import LighterMarket, MarketCache
from exchange_clients.lighter.client.utils.converters import book_levels
from exchange_clients.lighter.common import VENUE, LighterDataError, LighterRejectedError
from exchange_clients.lighter.funding_adapter.fetchers import parse_order_book_details
from exchange_clients.lighter.funding_adapter.funding_client import LighterFundingClient
from exchange_clients.lighter.http import LighterRest
from exchange_clients.lighter.websocket.manager import LighterMarketDataStream
from perparb_core.models import utcnow

log = logging.getLogger("perparb.lighter.client")

REST_BOOK_ORDERS = 250
"""Orders a side asked of `orderBookOrders` when a quiet book is confirmed (the venue's largest `limit`)."""


class MarketDataManager:
    """Market specs and order books.

    Args:
        rest: REST reader; ws_url: the `/stream` URL; symbols: markets to subscribe at `start()`;
        max_book_age_seconds: freshness limit of prices served; book_wait_seconds: how long a first read of a
        newly subscribed market waits for its snapshot; refresh_min_interval_seconds: unknown symbols reload
        the market list at most this often.
    """

    def __init__(
        self,
        rest: LighterRest,
        ws_url: str,
        symbols: list[str] | None = None,
        *,
        max_book_age_seconds: float = 5.0,
        book_wait_seconds: float = 3.0,
        refresh_min_interval_seconds: float = 5.0,
    ) -> None:
        self.rest = rest
        self.markets = MarketCache()
        self.symbols = [s.strip().upper() for s in symbols or []]
        self.max_book_age = max_book_age_seconds
        self.book_wait = book_wait_seconds
        self.refresh_min_interval = refresh_min_interval_seconds
        self.stream = LighterMarketDataStream(ws_url, [])
        self._started = False
        self._refresh_lock = asyncio.Lock()

    # -------------------------------------------------------------------------------------- markets

    async def load_markets(self) -> None:
        """(Re)load every perp market through the venue's one `orderBookDetails` reader and parser (shared with
        the funding adapter). Raises LighterError subclasses."""
        body = await LighterFundingClient(self.rest).order_book_details()
        parsed = parse_order_book_details(body, utcnow())
        markets = []
        for info in parsed.markets:
            try:
                markets.append(LighterMarket.from_info(info))
            except LighterDataError as exc:
                log.warning("%s", exc)
        self.markets.replace(markets)
        log.info("lighter: %d markets loaded", len(self.markets.by_symbol))

    async def market(self, symbol: str) -> LighterMarket:
        """The market of `symbol` (canonical base asset, "ETH"), reloading the list once if it is unknown.

        Raises:
            LighterRejectedError: unknown symbol, or a market whose status is not "active".
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
            raise LighterRejectedError(
                f"unknown market {symbol!r}; known: {sorted(self.markets.by_symbol)[:20]}", symbol
            )
        if found.status != "active":
            raise LighterRejectedError(
                f"market {found.symbol} (id {found.market_id}) is not tradeable: status {found.status!r}",
                found.symbol,
            )
        return found

    async def contract_attributes(self, symbol: str) -> ContractAttributes:
        """Tick 10^-price_decimals, step 10^-size_decimals, `min_base_amount`, `min_quote_amount`, max leverage
        10000 / `min_initial_margin_fraction`. Raises LighterRejectedError (unknown / untradeable)."""
        m = await self.market(symbol)
        return ContractAttributes(
            venue=VENUE,
            symbol=m.symbol,
            venue_market_id=str(m.market_id),
            tick_size=m.tick_size,
            size_step=m.size_step,
            min_size=m.min_base_amount,
            min_notional=m.min_quote_amount,
            max_leverage=m.max_leverage,
        )

    # -------------------------------------------------------------------------------------- books

    async def start(self) -> None:
        """Start the stream with the markets named at construction (unknown names raise)."""
        for symbol in self.symbols:
            m = await self.market(symbol)
            if m.market_id not in self.stream.market_ids:
                self.stream.market_ids.append(m.market_id)
        await self.stream.start()
        self._started = True

    async def stop(self) -> None:
        if self._started:
            self._started = False
            await self.stream.stop()

    async def _subscribe(self, market_id: int) -> None:
        if market_id in self.stream.market_ids:
            return
        self.stream.market_ids.append(market_id)  # sent again by the stream after every reconnect
        if self.stream.ws.connected.is_set():
            with contextlib.suppress(ConnectionError):
                await self.stream.ws.send({"type": "subscribe", "channel": f"order_book/{market_id}"})

    async def book(self, symbol: str) -> tuple[LighterMarket, OrderBook]:
        """The live book of `symbol`, subscribing on first use; a book that never had a snapshot is waited for up
        to `book_wait_seconds`. The book may still be unsynced: callers check freshness (`fresh_book`). A synced book
        older than `max_book_age_seconds` is first confirmed with a REST snapshot (`_read_snapshot`)."""
        m = await self.market(symbol)
        await self._subscribe(m.market_id)
        book = self.stream.book(m.market_id)
        if self._started and book.state is BookState.EMPTY:
            # never had a snapshot (just subscribed, or the stream is still connecting); the stream exposes no
            # sync event: poll the book state until the snapshot lands or the wait is over
            deadline = time.monotonic() + self.book_wait
            while book.state is BookState.EMPTY and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        # a synced book past the limit is confirmed with one REST snapshot before it is refused: when Lighter's
        # heartbeats stop reaching us while the book is right, refusing would leave an exit leg naked
        # (exchange_clients.base.book_freshness)
        await confirm_if_quiet(book, self.max_book_age, self._read_snapshot, venue=VENUE)
        return m, book

    async def fresh_book(self, symbol: str) -> tuple[LighterMarket, OrderBook]:
        """Like `book` but raises StaleBookError unless SYNCED and younger than `max_book_age_seconds`."""
        m, book = await self.book(symbol)
        return m, require_fresh(book, self.max_book_age, venue=VENUE, market=m.symbol)

    async def _read_snapshot(self, book: OrderBook) -> None:
        """The venue's `SnapshotReader`: `GET /api/v1/orderBookOrders?market_id&limit=250` (the venue's largest
        page: 250 orders a side), summed into levels and applied to `book` unless the stream moved during the
        request (its update is the newer book). The stream's nonce is kept: the REST answer carries none, and the
        next `update/order_book` must chain to the stream's last nonce.

        Raises:
            LighterError subclasses: the request failed or its body is malformed."""
        before = book.updated_at
        market_id = int(book.market)
        api = lighter.OrderApi(self.rest.api)
        timeout = self.rest.timeout
        body = await self.rest.get(
            f"GET /api/v1/orderBookOrders?market_id={market_id}",
            "asks",
            lambda: api.order_book_orders_without_preload_content(
                market_id=market_id, limit=REST_BOOK_ORDERS, _request_timeout=timeout
            ),
            self.markets.symbol_of(market_id),
        )
        bids, asks = book_levels(body.get("bids")), book_levels(body.get("asks"))
        if book.updated_at != before or not book.is_synced or book.sequence is None:
            return
        book.apply_snapshot(bids, asks, sequence=book.sequence)

    async def bbo(self, symbol: str) -> tuple[tuple[Level, float], tuple[Level, float]]:
        """((best bid, age s), (best ask, age s)). Raises StaleBookError (stale, unsynced or a side empty)."""
        m, book = await self.fresh_book(symbol)
        bid, ask, age = book.best_bid(), book.best_ask(), book.age_seconds() or 0.0
        if bid is None or ask is None:
            raise StaleBookError(VENUE, "a side of the order book is empty", market=m.symbol)
        return (bid, age), (ask, age)

    async def depth(self, symbol: str, levels: int) -> tuple[list[Level], list[Level]]:
        """Top `levels` bids and asks, best first. Raises StaleBookError when not fresh."""
        _m, book = await self.fresh_book(symbol)
        return book.depth(levels)
