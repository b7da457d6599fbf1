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
from operator import gt, lt

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


class SnapshotOrderBook(OrderBook):
    """The book of a venue that pushes WHOLE snapshots of its top levels, best first, with no deltas (Hyperliquid
    `l2Book`): each push replaces both sides, kept as parallel price / size lists in the venue's order instead of
    a dict and a sorted index (no per-level insert: a push costs its parsing plus one ordering check per side).
    Reads are those of `OrderBook`; `apply_update` (deltas) is refused: such a venue has none.
    """

    __slots__ = ("_ask_px", "_ask_sz", "_bid_px", "_bid_sz")

    def __init__(self, market: str, *, clock: object = time.monotonic) -> None:
        super().__init__(market, clock=clock)
        self._bid_px: list[Decimal] = []
        self._bid_sz: list[Decimal] = []
        self._ask_px: list[Decimal] = []
        self._ask_sz: list[Decimal] = []

    def replace(
        self,
        bid_px: list[Decimal],
        bid_sz: list[Decimal],
        ask_px: list[Decimal],
        ask_sz: list[Decimal],
        *,
        sequence: int,
    ) -> bool:
        """Replace the book with a snapshot: bids best (highest) first, asks best (lowest) first, sizes > 0 (the
        caller checks sizes), price and size lists of equal length per side. Returns False, leaving the book
        OUT_OF_SYNC (and counting a gap), when a side is not strictly ordered or the lists differ in length."""
        if (
            len(bid_px) != len(bid_sz)
            or len(ask_px) != len(ask_sz)
            or not all(map(gt, bid_px, bid_px[1:]))
            or not all(map(lt, ask_px, ask_px[1:]))
        ):
            self.state = BookState.OUT_OF_SYNC
            self.gaps += 1
            return False
        self._bid_px, self._bid_sz, self._ask_px, self._ask_sz = bid_px, bid_sz, ask_px, ask_sz
        self.sequence = sequence
        self.state = BookState.SYNCED
        self.updated_at = self._clock()  # type: ignore[operator]
        return True

    def apply_snapshot(self, bids: Iterable[Level], asks: Iterable[Level], *, sequence: int) -> None:
        """Replace the book from (price, size) levels in any order (sorted here; size 0 ignored)."""
        b = sorted(((p, q) for p, q in bids if q != 0), reverse=True)
        a = sorted((p, q) for p, q in asks if q != 0)
        self.replace(
            [p for p, _ in b], [q for _, q in b], [p for p, _ in a], [q for _, q in a], sequence=sequence
        )

    def apply_update(
        self,
        bids: Iterable[Level],
        asks: Iterable[Level],
        *,
        sequence: int,
        prev_sequence: int | None = None,
    ) -> bool:
        """Refused: a snapshot venue sends no deltas. Marks the book OUT_OF_SYNC and returns False."""
        self.state = BookState.OUT_OF_SYNC
        self.gaps += 1
        return False

    def best_bid(self) -> Level | None:
        if self.state is not BookState.SYNCED or not self._bid_px:
            return None
        return self._bid_px[0], self._bid_sz[0]

    def best_ask(self) -> Level | None:
        if self.state is not BookState.SYNCED or not self._ask_px:
            return None
        return self._ask_px[0], self._ask_sz[0]

    def depth(self, levels: int) -> tuple[list[Level], list[Level]]:
        if self.state is not BookState.SYNCED:
            return [], []
        return (
            list(zip(self._bid_px[:levels], self._bid_sz[:levels], strict=True)),
            list(zip(self._ask_px[:levels], self._ask_sz[:levels], strict=True)),
        )

    def worst_price_for(self, side: str, quantity: Decimal) -> Decimal | None:
        if self.state is not BookState.SYNCED:
            return None
        prices, sizes = (self._ask_px, self._ask_sz) if side == "buy" else (self._bid_px, self._bid_sz)
        remaining = quantity
        for price, size in zip(prices, sizes, strict=True):
            remaining -= size
            if remaining <= 0:
                return price
        return None

    def is_crossed(self) -> bool:
        return bool(self._bid_px and self._ask_px and self._bid_px[0] >= self._ask_px[0])
