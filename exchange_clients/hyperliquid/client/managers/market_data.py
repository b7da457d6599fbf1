"""Markets and live order books of the Hyperliquid client.

Markets come from `metaAndAssetCtxs` of the client's dex through the venue's one reader and parser (shared with
the funding adapter), cached by symbol and coin and reloaded when an unknown symbol is asked for (at most every
`refresh_min_interval_seconds`); a HIP-3 dex's asset ids add the dex's offset (`perpDexs` index). Books come from
one `HyperliquidMarketDataStream` (`l2Book` pushes, whole snapshots): markets named at construction are subscribed
at start, others on first use. Prices are served only from a synced book younger than `max_book_age_seconds`; a
synced book past that age is first confirmed with one REST snapshot (`POST /info` `l2Book`,
exchange_clients.base.book_freshness), otherwise `StaleBookError`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from decimal import Decimal

from exchange_clients.base.book_freshness import confirm_if_quiet, require_fresh
from exchange_clients.base.client import StaleBookError
from exchange_clients.base.order_book import BookState, Level, OrderBook
from exchange_clients.base.trading import ContractAttributes, significant_price_step
from exchange_clients.hyperliquid.client.utils.caching import (
    HyperliquidMarket,
    MarketCache,
    dex_asset_offset,
    isolated_only_coins,
)
from exchange_clients.hyperliquid.common import HyperliquidDataError, HyperliquidRejectedError
from exchange_clients.hyperliquid.funding_adapter.fetchers import (
    PRICE_SIGNIFICANT_FIGURES,
    parse_meta_and_asset_ctxs,
)
from exchange_clients.hyperliquid.funding_adapter.funding_client import HyperliquidFundingClient
from exchange_clients.hyperliquid.http import HyperliquidHttp
from exchange_clients.hyperliquid.websocket.manager import HyperliquidMarketDataStream
from exchange_clients.hyperliquid.websocket.order_book import apply_l2book
from perparb_core.models import utcnow

log = logging.getLogger("perparb.hyperliquid.client")


def perp_dex_index(body: object, dex: str, *, venue: str) -> int:
    """The index of `dex` in a `perpDexs` answer `[null, {name, ...}, ...]` (0 for the first perp dex "").

    Raises:
        HyperliquidDataError: not a list, or `dex` not in it."""
    if not dex:
        return 0
    if not isinstance(body, list):
        raise HyperliquidDataError(f"perpDexs: body is {type(body).__name__}, expected a list", venue=venue)
    for i, entry in enumerate(body):
        if isinstance(entry, dict) and entry.get("name") == dex:
            return i
    raise HyperliquidDataError(f"perp dex {dex!r} is not listed by perpDexs", venue=venue)


class MarketDataManager:
    """Market specs and order books of one perp dex.

    Args:
        http: the venue's HTTP stack; dex: the perp dex ("" = first); ws_url: the `/ws` URL; symbols: markets to
        subscribe at `start()`; max_book_age_seconds: freshness limit of prices served; book_wait_seconds: how long
        a first read of a newly subscribed market waits for its first push; refresh_min_interval_seconds: unknown
        symbols reload the market list at most this often; ws_options: `ReconnectingWebSocket` options.
    """

    def __init__(
        self,
        http: HyperliquidHttp,
        dex: str,
        ws_url: str,
        symbols: list[str] | None = None,
        *,
        max_book_age_seconds: float = 10.0,
        book_wait_seconds: float = 3.0,
        refresh_min_interval_seconds: float = 5.0,
        **ws_options: object,
    ) -> None:
        self.http = http
        self.venue = http.venue
        self.dex = dex
        self.markets = MarketCache()
        self.symbols = [s.strip() for s in symbols or []]
        self.max_book_age = max_book_age_seconds
        self.book_wait = book_wait_seconds
        self.refresh_min_interval = refresh_min_interval_seconds
        self.stream = HyperliquidMarketDataStream(ws_url, [], venue=self.venue, **ws_options)  # type: ignore[arg-type]
        self._offset: int | None = None
        self._started = False
        self._refresh_lock = asyncio.Lock()

    async def load_markets(self) -> None:
        """(Re)load every perp of the dex. Raises HyperliquidError subclasses."""
        reader = HyperliquidFundingClient(self.http, self.dex)
        if self._offset is None:
            self._offset = (
                dex_asset_offset(perp_dex_index(await reader.perp_dexs(), self.dex, venue=self.venue))
                if self.dex
                else 0
            )
        body = await reader.meta_and_asset_ctxs()
        parsed = parse_meta_and_asset_ctxs(body, venue=self.venue, dex=self.dex, now=utcnow())
        isolated = isolated_only_coins(body)
        self.markets.replace(
            [
                HyperliquidMarket.from_info(m, self._offset, isolated_only=m.venue_symbol in isolated)
                for m in parsed.markets
            ]
        )
        log.info("%s: %d markets loaded", self.venue, len(self.markets.by_symbol))

    async def market(self, symbol: str) -> HyperliquidMarket:
        """The market of `symbol` (canonical base asset "BTC", or the coin "xyz:XYZ100"), reloading the list once
        if it is unknown.

        Raises:
            HyperliquidRejectedError: unknown symbol, or a delisted market.
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
            raise HyperliquidRejectedError(
                f"unknown market {symbol!r}; known: {sorted(self.markets.by_symbol)[:20]}",
                symbol,
                venue=self.venue,
            )
        if found.status != "active":
            raise HyperliquidRejectedError(
                f"market {found.coin} is not tradeable: status {found.status!r}", found.coin, venue=self.venue
            )
        return found

    async def contract_attributes(self, symbol: str) -> ContractAttributes:
        """Size step 10^-szDecimals, minimum notional $10, max leverage; `tick_size` is the price step AT the
        current price (best bid of a fresh book, else the mark at load) under the 5-significant-figure rule: the
        grid depends on the price (orders are rounded at their own price). Raises HyperliquidRejectedError."""
        m = await self.market(symbol)
        book = self.stream.book(m.coin)
        bid = book.best_bid() if book.is_synced else None
        ref = bid[0] if bid is not None else m.mark_price
        tick = (
            significant_price_step(
                ref, significant_figures=PRICE_SIGNIFICANT_FIGURES, max_decimals=m.max_price_decimals
            )
            if ref is not None
            else Decimal(1).scaleb(-m.max_price_decimals)
        )
        return ContractAttributes(
            venue=self.venue,
            symbol=m.symbol,
            venue_market_id=str(m.asset),
            tick_size=tick,
            size_step=m.size_step,
            min_size=None,
            min_notional=m.min_notional,
            max_leverage=m.max_leverage,
        )

    async def start(self) -> None:
        """Start the stream with the markets named at construction (unknown names raise)."""
        for symbol in self.symbols:
            m = await self.market(symbol)
            await self.stream.add(m.coin)
        await self.stream.start()
        self._started = True

    async def stop(self) -> None:
        if self._started:
            self._started = False
            await self.stream.stop()

    async def book(self, symbol: str) -> tuple[HyperliquidMarket, OrderBook]:
        """The live book of `symbol`, subscribing on first use; a book that never had a push is waited for up to
        `book_wait_seconds` (it may still be unsynced: callers check freshness). A synced book older than
        `max_book_age_seconds` (a quiet market) is first confirmed with a REST snapshot (`_read_snapshot`)."""
        m = await self.market(symbol)
        await self.stream.add(m.coin)
        book = self.stream.book(m.coin)
        if self._started and book.state is BookState.EMPTY:
            deadline = time.monotonic() + self.book_wait
            while book.state is BookState.EMPTY and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        # `l2Book` pushes come when the book changes (and with blocks): a synced book past the limit is confirmed
        # with one REST snapshot before it is refused (exchange_clients.base.book_freshness)
        await confirm_if_quiet(book, self.max_book_age, self._read_snapshot, venue=self.venue)
        return m, book

    async def fresh_book(self, symbol: str) -> tuple[HyperliquidMarket, OrderBook]:
        """Like `book` but raises StaleBookError unless synced and younger than `max_book_age_seconds`."""
        m, book = await self.book(symbol)
        return m, require_fresh(book, self.max_book_age, venue=self.venue, market=m.coin)

    async def _read_snapshot(self, book: OrderBook) -> None:
        """The venue's `SnapshotReader`: `POST /info {"type":"l2Book","coin"}` (weight 2; the same `{coin, time,
        levels}` body a push carries) applied like a push (`apply_l2book`: replaces the book unless its `time` is
        older than the book's). Left alone when the book went out of sync meanwhile (the stream re-syncs it).

        Raises:
            HyperliquidError subclasses: the request failed or the body is not an `l2Book` body (`null` for a
                coin the venue does not know)."""
        body = await self.http.info({"type": "l2Book", "coin": book.market}, market=book.market)
        if not book.is_synced:
            return
        if not isinstance(body, dict) or body.get("coin") != book.market:
            raise HyperliquidDataError(
                f"l2Book answer is not the book of {book.market}: {str(body)[:120]}",
                book.market,
                venue=self.venue,
            )
        apply_l2book(self.stream.books, {"channel": "l2Book", "data": body}, venue=self.venue)

    async def bbo(self, symbol: str) -> tuple[Level, Level]:
        """(best bid, best ask). Raises StaleBookError (stale, unsynced or a side empty)."""
        m, book = await self.fresh_book(symbol)
        bid, ask = book.best_bid(), book.best_ask()
        if bid is None or ask is None:
            raise StaleBookError(self.venue, "a side of the order book is empty", market=m.coin)
        return bid, ask

    async def depth(self, symbol: str, levels: int) -> tuple[list[Level], list[Level]]:
        """Top `levels` bids and asks, best first (at most 20 a side: what `l2Book` sends). Raises StaleBookError."""
        _m, book = await self.fresh_book(symbol)
        return book.depth(levels)
