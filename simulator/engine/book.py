"""Per-market limit order book with price-time priority.

Structure: per side a sorted list of price keys (`bisect`) and a dict price -> `Level`; a level holds a deque of
orders in arrival order plus its total size and live-order count. Keys are arranged so that the BEST price is
always the LAST element of the list (bids: the price, ascending; asks: the negated price, ascending), so
consuming the best level is `list.pop()` (O(1)); inserting a new level is a `bisect.insort` (O(levels) memmove,
microseconds for the few hundred levels a simulated book holds). Cancels are O(1): the order leaves the
book's id index at once and is skipped lazily when it reaches the head of its level's deque (a level whose
deque fills with dead entries is compacted).

Why no library: `sortedcontainers` is not a dependency of the project (it is only present in the dev
environment through hypothesis), and a book needs just "best level" and "insert/delete a level", which
`bisect` on a plain list does with no extra dependency and no per-operation Python-level tree walk.

The book knows nothing of accounts, fees or margin: `OrderBook.best_order` / `OrderBook.fill` /
`OrderBook.remove` are the primitives the engine's matching loop uses; `OrderBook.match` is plain
price-time matching built on them. Prices and sizes are `Decimal` (quote per base, base units).

Every change (add, fill, removal) increments `seq`: the venues' order-book nonces / `seq_no` map onto it.
Levels whose total changed since the last `drain_changes()` are tracked for incremental (delta) pushes.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from dataclasses import dataclass
from decimal import Decimal

from simulator.engine.orders import ZERO, Order, Side

_COMPACT_SLACK = 16


class Level:
    """One price level: orders in time priority, their total remaining size and live-order count."""

    __slots__ = ("count", "orders", "price", "total")

    def __init__(self, price: Decimal) -> None:
        self.price = price
        self.orders: deque[Order] = deque()
        self.total = ZERO
        self.count = 0


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """Aggregated depth: `bids` best (highest) first, `asks` best (lowest) first, `(price, size)` pairs."""

    seq: int
    bids: list[tuple[Decimal, Decimal]]
    asks: list[tuple[Decimal, Decimal]]


@dataclass(frozen=True, slots=True)
class Match:
    """One fill produced by `OrderBook.match`: the maker order, the size taken and the (maker's) price."""

    maker: Order
    size: Decimal
    price: Decimal


class OrderBook:
    """Price-time-priority book of one market.

    Orders are `simulator.engine.orders.Order` objects; the book reads `order_id`, `side`, `price` and
    `remaining`, and sets `remaining` (in `fill`) and `resting`.
    """

    __slots__ = ("_dirty", "_index", "_keys", "_levels", "market", "seq")

    def __init__(self, market: str = "") -> None:
        self.market = market
        self.seq = 0
        # index 0 = bids, 1 = asks
        self._keys: tuple[list[Decimal], list[Decimal]] = ([], [])
        self._levels: tuple[dict[Decimal, Level], dict[Decimal, Level]] = ({}, {})
        self._index: dict[int, Order] = {}
        self._dirty: tuple[set[Decimal], set[Decimal]] = (set(), set())

    # ------------------------------------------------------------------------------------------ changes

    def add(self, order: Order) -> None:
        """Rest `order` (limit price, remaining > 0) at the back of its price level.

        The book does not check that the order does not cross: the engine matches first.

        Raises:
            ValueError: the order has no price, no remaining size, or is already in the book.
        """
        price = order.price
        if price is None or order.remaining <= 0:
            raise ValueError(f"order {order.order_id}: needs a price and a remaining size to rest")
        if order.order_id in self._index:
            raise ValueError(f"order {order.order_id} is already in the book")
        side = 0 if order.side is Side.BUY else 1
        levels = self._levels[side]
        level = levels.get(price)
        if level is None:
            level = Level(price)
            levels[price] = level
            insort(self._keys[side], price if side == 0 else -price)
        level.orders.append(order)
        level.total += order.remaining
        level.count += 1
        self._index[order.order_id] = order
        order.resting = True
        self._dirty[side].add(price)
        self.seq += 1

    def remove(self, order: Order, *, purge: bool = False) -> bool:
        """Take `order` out of the book (cancel). Returns False when it was not resting here.

        Removal is lazy (the entry stays in its level's queue and is skipped); `purge=True` drops the entry at
        once (O(level size)), needed when the same order object will rest again (a modify), which would otherwise
        revive its old place in the queue.
        """
        if self._index.get(order.order_id) is not order:
            return False
        del self._index[order.order_id]
        order.resting = False
        side = 0 if order.side is Side.BUY else 1
        price = order.price
        assert price is not None
        level = self._levels[side][price]
        level.total -= order.remaining
        level.count -= 1
        if level.count == 0:
            self._drop_level(side, price)
        elif purge:
            level.orders = deque(o for o in level.orders if o is not order)
        elif len(level.orders) > 2 * level.count + _COMPACT_SLACK:
            index = self._index
            level.orders = deque(o for o in level.orders if index.get(o.order_id) is o)
        self._dirty[side].add(price)
        self.seq += 1
        return True

    def fill(self, order: Order, size: Decimal) -> None:
        """Execute `size` of resting `order`: its `remaining` and its level's total shrink; an order with
        nothing left leaves the book.

        Raises:
            ValueError: `order` is not resting here, or `size` is not in (0, remaining].
        """
        if self._index.get(order.order_id) is not order:
            raise ValueError(f"order {order.order_id} is not resting in the book")
        if size <= 0 or size > order.remaining:
            raise ValueError(f"fill size {size} outside (0, {order.remaining}] for order {order.order_id}")
        side = 0 if order.side is Side.BUY else 1
        price = order.price
        assert price is not None
        level = self._levels[side][price]
        order.remaining -= size
        level.total -= size
        if order.remaining == 0:
            del self._index[order.order_id]
            order.resting = False
            level.count -= 1
            if level.count == 0:
                self._drop_level(side, price)
            elif level.orders and level.orders[0] is order:
                level.orders.popleft()
        self._dirty[side].add(price)
        self.seq += 1

    def _drop_level(self, side: int, price: Decimal) -> None:
        del self._levels[side][price]
        keys = self._keys[side]
        key = price if side == 0 else -price
        if keys[-1] == key:
            keys.pop()
        else:
            del keys[bisect_left(keys, key)]

    # ------------------------------------------------------------------------------------------ queries

    def best_bid(self) -> Decimal | None:
        """Highest bid price, None when there are no bids."""
        keys = self._keys[0]
        return keys[-1] if keys else None

    def best_ask(self) -> Decimal | None:
        """Lowest ask price, None when there are no asks."""
        keys = self._keys[1]
        return -keys[-1] if keys else None

    def best_price(self, side: Side) -> Decimal | None:
        """Best price of `side` (the bid for BUY, the ask for SELL)."""
        return self.best_bid() if side is Side.BUY else self.best_ask()

    def best_order(self, side: Side) -> Order | None:
        """The order with priority on `side` (first in time at the best price), None when the side is empty.

        A taker of side S matches `best_order(S.opposite)`.
        """
        s = 0 if side is Side.BUY else 1
        keys = self._keys[s]
        if not keys:
            return None
        key = keys[-1]
        level = self._levels[s][key if s == 0 else -key]
        orders = level.orders
        index = self._index
        while True:
            head = orders[0]
            if index.get(head.order_id) is head:
                return head
            orders.popleft()

    def get(self, order_id: int) -> Order | None:
        """The resting order with this id, or None."""
        return self._index.get(order_id)

    def __contains__(self, order: Order) -> bool:
        return self._index.get(order.order_id) is order

    def __len__(self) -> int:
        """Number of resting orders."""
        return len(self._index)

    def is_crossed(self) -> bool:
        """True when the best bid is at or above the best ask (never true after the engine matched)."""
        bid, ask = self.best_bid(), self.best_ask()
        return bid is not None and ask is not None and bid >= ask

    def levels(self, side: Side, depth: int | None = None) -> list[tuple[Decimal, Decimal]]:
        """Aggregated levels of `side`, best first: `[(price, total size)]`, at most `depth` of them."""
        s = 0 if side is Side.BUY else 1
        keys = self._keys[s]
        levels = self._levels[s]
        n = len(keys) if depth is None else min(depth, len(keys))
        out: list[tuple[Decimal, Decimal]] = []
        for i in range(1, n + 1):
            key = keys[-i]
            level = levels[key if s == 0 else -key]
            out.append((level.price, level.total))
        return out

    def orders(self, side: Side, limit: int | None = None) -> list[Order]:
        """Individual resting orders of `side` in priority order (Lighter `orderBookOrders`), at most `limit`."""
        s = 0 if side is Side.BUY else 1
        keys = self._keys[s]
        levels = self._levels[s]
        index = self._index
        out: list[Order] = []
        for i in range(1, len(keys) + 1):
            key = keys[-i]
            for order in levels[key if s == 0 else -key].orders:
                if index.get(order.order_id) is order:
                    out.append(order)
                    if limit is not None and len(out) >= limit:
                        return out
        return out

    def snapshot(self, depth: int | None = None) -> BookSnapshot:
        """Both sides aggregated (best first), with the current `seq`."""
        return BookSnapshot(self.seq, self.levels(Side.BUY, depth), self.levels(Side.SELL, depth))

    def drain_changes(self) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        """Levels changed since the previous call: `(bids, asks)`, each `[(price, new total size)]` sorted
        best first; size 0 means the level is gone (Lighter's absolute-size updates, Paradex deltas)."""
        out: list[list[tuple[Decimal, Decimal]]] = []
        for s in (0, 1):
            levels = self._levels[s]
            changed = [(p, levels[p].total if p in levels else ZERO) for p in self._dirty[s]]
            changed.sort(key=lambda pair: pair[0], reverse=(s == 0))
            self._dirty[s].clear()
            out.append(changed)
        return out[0], out[1]

    # ------------------------------------------------------------------------------------------ matching

    def match(self, side: Side, size: Decimal, limit_price: Decimal | None = None) -> list[Match]:
        """Plain price-time matching of an incoming order of `side` for up to `size`.

        Takes the best opposite orders while their price is acceptable (buy: <= limit, sell: >= limit; no
        limit = any price), each at the maker's price, partially filling the last one. The incoming order is
        not rested: the caller decides what happens to the remainder. No self-trade or reduce-only logic
        (that is `Engine.submit`'s job).

        Returns:
            The fills in execution order.
        """
        out: list[Match] = []
        remaining = size
        opposite = side.opposite
        while remaining > 0:
            maker = self.best_order(opposite)
            if maker is None:
                break
            price = maker.price
            assert price is not None
            if limit_price is not None and (price > limit_price if side is Side.BUY else price < limit_price):
                break
            qty = min(remaining, maker.remaining)
            self.fill(maker, qty)
            remaining -= qty
            out.append(Match(maker, qty, price))
        return out
