"""Markets and live order books of a Paradex client (many markets at once).

* Markets: `GET /markets` parsed by the funding adapter's `parse_markets` (tick `price_tick_size`, step
  `order_size_increment`, `min_notional` USD, max leverage 1 / `imf_base`, status from `open_at`/`expiry_at`),
  cached for `markets_ttl_seconds`. A symbol is the canonical base asset ("ETH") or the Paradex symbol
  ("ETH-USD-PERP").
* Books: one `ParadexMarketDataStream` (`order_book.{m}.snapshot@15@100ms`, exchange_clients/paradex/websocket)
  for every market in use; a market is added on first use and subscribed on the open connection. A book is
  fresh when synced and younger than `max_book_age_seconds`. The snapshot feed pushes only when the top 15 levels
  change, so a synced book of a quiet market ages although it is right: past the limit it is confirmed with one
  REST snapshot (`GET /orderbook/{market}?depth=15`, recorded in ../shared/venue-data/paradex/rest_orderbook_btc.json)
  before a read refuses it; refusing instead would refuse every exit leg for as long as the market is quiet (a
  naked leg: the runner's outage test left a Paradex short open for minutes). Every venue does the same through
  exchange_clients.base.book_freshness.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

from exchange_clients.base.book_freshness import confirmed_fresh
from exchange_clients.base.client import StaleBookError
from exchange_clients.base.order_book import Level, OrderBook
from exchange_clients.base.trading import ContractAttributes
from exchange_clients.paradex.client.session import ParadexSession
from exchange_clients.paradex.client.utils.caching import TtlCache
from exchange_clients.paradex.common import PERP_SUFFIX, VENUE, ParadexRejectedError
from exchange_clients.paradex.funding_adapter.fetchers import parse_markets
from exchange_clients.paradex.websocket.manager import ParadexMarketDataStream, book_channel
from perparb_core.models import MarketInfo, utcnow

log = logging.getLogger("perparb.paradex.client")


class MarketDataManager:
    """Contract attributes and order books.

    Args:
        session: the account's SDK session (public reads go through it too).
        ws_url: Paradex WebSocket URL (".../v1").
        markets: symbols to stream from `start()` (more are added on use).
        max_book_age_seconds: older books are stale (StaleBookError).
        first_book_wait_seconds: how long a read waits for the first snapshot of a newly added market.
    """

    def __init__(
        self,
        session: ParadexSession,
        ws_url: str,
        *,
        markets: list[str] | None = None,
        max_book_age_seconds: float = 30.0,
        first_book_wait_seconds: float = 5.0,
        markets_ttl_seconds: float = 3600.0,
        backoff_initial_seconds: float = 0.5,
    ) -> None:
        self.session = session
        self.max_book_age_seconds = max_book_age_seconds
        self.first_book_wait_seconds = first_book_wait_seconds
        self._initial = list(markets or [])
        self._markets = TtlCache(self._load_markets, markets_ttl_seconds)
        self.stream = ParadexMarketDataStream(ws_url, [], backoff_initial_seconds=backoff_initial_seconds)
        self._started = False

    # ------------------------------------------------------------------------------------------ markets

    async def _load_markets(self) -> dict[str, MarketInfo]:
        body = await self.session.read("GET /markets", lambda api: api.fetch_markets())
        parsed = parse_markets(body, utcnow())
        return {m.venue_symbol: m for m in parsed.markets}

    async def market_info(self, symbol: str) -> MarketInfo:
        """The `MarketInfo` of `symbol`: a canonical base asset ("ETH", "KBONK") or a Paradex symbol
        ("ETH-USD-PERP", anything with a "-"). An unknown symbol reloads the market list once.

        Raises:
            ParadexRejectedError: unknown market, or not tradeable (expired / not open yet / no grid).
        """
        info = self._find(await self._markets.get(), symbol)
        if info is None:
            self._markets.invalidate()
            info = self._find(await self._markets.get(), symbol)
        if info is None:
            raise ParadexRejectedError(f"unknown market {symbol!r} (no Paradex perpetual of that name)")
        if not info.is_active:
            raise ParadexRejectedError(
                f"market {info.venue_symbol} is not tradeable (status {info.status})", info.venue_symbol
            )
        if info.tick_size is None or info.size_step is None:
            raise ParadexRejectedError(
                f"market {info.venue_symbol} publishes no tick size / size step", info.venue_symbol
            )
        return info

    @staticmethod
    def _find(markets: dict[str, MarketInfo], symbol: str) -> MarketInfo | None:
        text = symbol.strip()
        if "-" in text:
            return markets.get(text) or markets.get(text.upper())
        wanted = text.upper()
        for info in markets.values():
            if info.symbol == wanted and info.venue_symbol.endswith(PERP_SUFFIX):
                return info
        return None

    async def contract_attributes(self, symbol: str) -> ContractAttributes:
        """Grid and limits of `symbol`; `min_size` None (Paradex has only `min_notional`, USD).

        Raises:
            ParadexRejectedError: unknown or untradeable market.
        """
        info = await self.market_info(symbol)
        assert info.tick_size is not None and info.size_step is not None
        return ContractAttributes(
            venue=VENUE,
            symbol=info.symbol,
            venue_market_id=info.venue_symbol,
            tick_size=info.tick_size,
            size_step=info.size_step,
            min_size=info.min_size,
            min_notional=info.min_notional,
            max_leverage=info.max_leverage,
        )

    # ------------------------------------------------------------------------------------------ books

    async def start(self) -> None:
        """Open the market-data stream for the initial markets (unknown ones raise ParadexRejectedError)."""
        for symbol in self._initial:
            info = await self.market_info(symbol)
            if info.venue_symbol not in self.stream.markets:
                self.stream.markets.append(info.venue_symbol)
        await self.stream.start()
        self._started = True

    async def stop(self) -> None:
        if self._started:
            self._started = False
            await self.stream.stop()

    async def _ensure_streamed(self, venue_symbol: str) -> bool:
        """Add `venue_symbol` to the stream; True when it was new."""
        if venue_symbol in self.stream.markets:
            return False
        self.stream.markets.append(venue_symbol)
        if self.stream.ws.connected.is_set():
            try:
                await self.stream.ws.send(
                    {
                        "jsonrpc": "2.0",
                        "method": "subscribe",
                        "params": {"channel": book_channel(venue_symbol)},
                        "id": 1_000_000 + len(self.stream.markets),
                    }
                )
            except ConnectionError:
                pass  # the reconnect subscribes every market in `stream.markets`
        return True

    async def book(self, symbol: str) -> OrderBook:
        """The live book of `symbol` (added to the stream on first use, waiting up to
        `first_book_wait_seconds` for its first snapshot). The book may still be stale: see `fresh_book`."""
        info = await self.market_info(symbol)
        new = await self._ensure_streamed(info.venue_symbol)
        book = self.stream.book(info.venue_symbol)
        if new or book.updated_at is None:
            loop = asyncio.get_running_loop()
            end = loop.time() + self.first_book_wait_seconds
            while not book.is_synced and loop.time() < end:  # noqa: ASYNC110  (OrderBook has no event)
                await asyncio.sleep(0.02)
        return book

    async def fresh_book(self, symbol: str) -> OrderBook:
        """The live book of `symbol`, synced and younger than `max_book_age_seconds`; a synced book past the limit
        (a quiet market) is first confirmed with one REST snapshot (`_read_snapshot`,
        exchange_clients.base.book_freshness).

        Raises:
            StaleBookError: out of sync (gap, connection lost), never received, or too old and not confirmed.
        """
        book = await self.book(symbol)
        return await confirmed_fresh(
            book, self.max_book_age_seconds, self._read_snapshot, venue=VENUE, market=book.market
        )

    async def _read_snapshot(self, book: OrderBook) -> None:
        """The venue's `SnapshotReader`: replace a synced but old book with a REST snapshot of its top 15 levels
        (module docstring). The stream's sequence is kept (the REST `seq_no` counts another thing). Left as it was
        when the stream moved during the request (its push is the newer book).

        Raises:
            ParadexError, KeyError, TypeError, ValueError, ArithmeticError: the request or its body failed."""
        before = book.updated_at
        body = await self.session.read(
            "GET /orderbook",
            lambda api: api.fetch_orderbook(book.market, params={"depth": 15}),
            book.market,
        )
        bids = [(Decimal(p), Decimal(q)) for p, q in body["bids"]]
        asks = [(Decimal(p), Decimal(q)) for p, q in body["asks"]]
        if book.updated_at != before or not book.is_synced or book.sequence is None:
            return
        book.apply_snapshot(bids, asks, sequence=book.sequence)

    async def bbo(self, symbol: str) -> tuple[Decimal, Decimal]:
        """(best bid, best ask) of the fresh book. Raises StaleBookError (also for an empty side)."""
        book = await self.fresh_book(symbol)
        bid, ask = book.best_bid(), book.best_ask()
        if bid is None or ask is None:
            raise StaleBookError(VENUE, "empty book side", market=book.market)
        return bid[0], ask[0]

    async def depth(self, symbol: str, levels: int) -> tuple[list[Level], list[Level]]:
        """Top `levels` (price, size) bids and asks, best first, from the fresh book. Raises StaleBookError."""
        if levels <= 0:
            raise ValueError(f"levels must be positive, got {levels}")
        book = await self.fresh_book(symbol)
        return book.depth(levels)
