"""Local order book of one market: snapshots, absolute-size level updates, gap detection, freshness.

Both venues publish ABSOLUTE level sizes (a size of 0 deletes the level): Lighter `order_book/{m}` updates
(PROTOCOL_NOTES §1.5) and Paradex `order_book.{m}` inserts/updates/deletes (§2.5). Continuity is checked by the
caller-supplied sequence numbers: an update is applied only if it continues the last one (`prev_sequence ==
last sequence` for Lighter's `begin_nonce`/`nonce` chain, `sequence == last + 1` for Paradex `seq_no`). Anything
else marks the book OUT OF SYNC: it refuses further updates and serves no prices until a new snapshot arrives,
so a consumer never reads a silently stale or corrupted best price.

Prices and sizes are `Decimal` (parsed from the venues' strings). Each side keeps a dict price -> size and a sorted
list of prices (bisect): O(log n) lookup, O(n) memmove on insert/delete, which for books of ~1-2k levels is far
cheaper than a tree in Python. Hand-written: the venue sequence rules and staleness are this project's own, and
the only candidate container (sortedcontainers) is not a dependency.
"""

from __future__ import annotations

import time
from bisect import bisect_left, insort
from collections.abc import Iterable
from decimal import Decimal
from enum import Enum

Level = tuple[Decimal, Decimal]


class BookState(str, Enum):
    EMPTY = "empty"  # no snapshot yet
    SYNCED = "synced"
    OUT_OF_SYNC = "out_of_sync"  # a gap was seen: waiting for a snapshot


class _Side:
    __slots__ = ("descending", "prices", "sizes")

    def __init__(self, descending: bool) -> None:
        self.descending = descending
        self.sizes: dict[Decimal, Decimal] = {}
        self.prices: list[Decimal] = []  # ascending

    def clear(self) -> None:
        self.sizes.clear()
        self.prices.clear()

    def set(self, price: Decimal, size: Decimal) -> None:
        sizes = self.sizes
        if size == 0:
            if sizes.pop(price, None) is not None:
                prices = self.prices
                del prices[bisect_left(prices, price)]
        else:
            if price not in sizes:
                insort(self.prices, price)
            sizes[price] = size

    def best(self) -> Level | None:
        if not self.prices:
            return None
        price = self.prices[-1] if self.descending else self.prices[0]
        return price, self.sizes[price]

    def levels(self, n: int) -> list[Level]:
        prices = self.prices[::-1][:n] if self.descending else self.prices[:n]
        return [(p, self.sizes[p]) for p in prices]


class OrderBook:
    """One market's book. Not thread-safe (owned by one event loop).

    Attributes:
        market: venue symbol.
        state: EMPTY, SYNCED or OUT_OF_SYNC.
        sequence: last applied sequence (Lighter nonce / Paradex seq_no).
        updated_at: `time.monotonic()` of the last snapshot/update applied (or heartbeat); for age checks.
        gaps: number of gaps detected so far.
    """

    __slots__ = ("_asks", "_bids", "_clock", "gaps", "market", "sequence", "state", "updated_at")

    def __init__(self, market: str, *, clock: object = time.monotonic) -> None:
        self.market = market
        self._bids = _Side(descending=True)
        self._asks = _Side(descending=False)
        self.state = BookState.EMPTY
        self.sequence: int | None = None
        self.updated_at: float | None = None
        self.gaps = 0
        self._clock = clock

    # ------------------------------------------------------------------------------------------- writes

    def apply_snapshot(self, bids: Iterable[Level], asks: Iterable[Level], *, sequence: int) -> None:
        """Replace the whole book (levels with size 0 are ignored) and mark it SYNCED at `sequence`."""
        self._bids.clear()
        self._asks.clear()
        for price, size in bids:
            self._bids.set(price, size)
        for price, size in asks:
            self._asks.set(price, size)
        self.sequence = sequence
        self.state = BookState.SYNCED
        self.updated_at = self._clock()  # type: ignore[operator]

    def apply_update(
        self,
        bids: Iterable[Level],
        asks: Iterable[Level],
        *,
        sequence: int,
        prev_sequence: int | None = None,
    ) -> bool:
        """Apply absolute level sizes if the update continues the book; return False (and mark the book
        OUT_OF_SYNC) on a gap.

        Continuity: with `prev_sequence` (Lighter `begin_nonce`), it must equal the last sequence; without it
        (Paradex `seq_no`), `sequence` must be the last + 1. An update to an EMPTY or OUT_OF_SYNC book is refused.
        """
        if self.state is not BookState.SYNCED:
            return False
        expected = self.sequence if prev_sequence is not None else (self.sequence or 0) + 1
        got = prev_sequence if prev_sequence is not None else sequence
        if got != expected:
            self.state = BookState.OUT_OF_SYNC
            self.gaps += 1
            return False
        set_bid, set_ask = self._bids.set, self._asks.set
        for price, size in bids:
            set_bid(price, size)
        for price, size in asks:
            set_ask(price, size)
        self.sequence = sequence
        self.updated_at = self._clock()  # type: ignore[operator]
        return True

    def mark_out_of_sync(self) -> None:
        """Invalidate the book (connection lost, resubscription pending)."""
        if self.state is BookState.SYNCED:
            self.state = BookState.OUT_OF_SYNC

    # -------------------------------------------------------------------------------------------- reads

    @property
    def is_synced(self) -> bool:
        return self.state is BookState.SYNCED

    def age_seconds(self) -> float | None:
        """Seconds since the book last changed (None before the first snapshot)."""
        return None if self.updated_at is None else self._clock() - self.updated_at  # type: ignore[operator]

    def best_bid(self) -> Level | None:
        """(price, size) of the best bid, or None when empty or NOT synced."""
        return self._bids.best() if self.state is BookState.SYNCED else None

    def best_ask(self) -> Level | None:
        """(price, size) of the best ask, or None when empty or NOT synced."""
        return self._asks.best() if self.state is BookState.SYNCED else None

    def depth(self, levels: int) -> tuple[list[Level], list[Level]]:
        """Top `levels` bids (best first) and asks (best first); empty when not synced."""
        if self.state is not BookState.SYNCED:
            return [], []
        return self._bids.levels(levels), self._asks.levels(levels)

    def worst_price_for(self, side: str, quantity: Decimal) -> Decimal | None:
        """The worst price a market order of `quantity` (base units) would reach when BUYing (walks the asks)
        or SELLing (walks the bids); None when the book is not synced or too thin."""
        if self.state is not BookState.SYNCED:
            return None
        book = self._asks if side == "buy" else self._bids
        prices = book.prices if not book.descending else reversed(book.prices)
        remaining = quantity
        for price in prices:
            remaining -= book.sizes[price]
            if remaining <= 0:
                return price
        return None

    def is_crossed(self) -> bool:
        bid, ask = self._bids.best(), self._asks.best()
        return bid is not None and ask is not None and bid[0] >= ask[0]
