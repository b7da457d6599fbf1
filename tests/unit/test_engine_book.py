"""OrderBook: price-time priority, partial fills, cancels (lazy deletion), depth, deltas and sequence numbers."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from simulator.engine.book import OrderBook
from simulator.engine.orders import Order, OrderType, Side, TimeInForce

_ids = iter(range(1, 1_000_000))


def order(side: Side, price: str, size: str, account: int = 1) -> Order:
    oid = next(_ids)
    return Order(
        order_id=oid,
        account_id=account,
        market="ETH",
        side=side,
        type=OrderType.LIMIT,
        tif=TimeInForce.GTC,
        price=D(price),
        size=D(size),
        reduce_only=False,
        client_id=None,
        created_ms=0,
        updated_ms=0,
        remaining=D(size),
    )


def test_best_prices_and_levels_sorted_best_first() -> None:
    book = OrderBook("ETH")
    for p in ("99", "101", "100", "98"):
        book.add(order(Side.BUY, p, "1"))
    for p in ("103", "102", "105"):
        book.add(order(Side.SELL, p, "2"))
    book.add(order(Side.BUY, "100", "0.5"))
    assert book.best_bid() == D(101)
    assert book.best_ask() == D(102)
    assert book.levels(Side.BUY) == [(D(101), D(1)), (D(100), D("1.5")), (D(99), D(1)), (D(98), D(1))]
    assert book.levels(Side.SELL, depth=2) == [(D(102), D(2)), (D(103), D(2))]
    assert len(book) == 8
    assert not book.is_crossed()


def test_match_takes_price_then_time_priority_and_partially_fills_last() -> None:
    book = OrderBook("ETH")
    first_at_100 = order(Side.SELL, "100", "1", account=1)
    second_at_100 = order(Side.SELL, "100", "1", account=2)
    better = order(Side.SELL, "99.5", "0.5", account=3)
    worse = order(Side.SELL, "101", "5", account=4)
    for o in (first_at_100, second_at_100, better, worse):
        book.add(o)
    fills = book.match(Side.BUY, D("2"), D("100"))
    assert [(f.maker.account_id, f.size, f.price) for f in fills] == [
        (3, D("0.5"), D("99.5")),
        (1, D("1"), D("100")),
        (2, D("0.5"), D("100")),
    ]
    assert second_at_100.remaining == D("0.5") and second_at_100.resting
    assert not first_at_100.resting and first_at_100.remaining == 0
    assert book.levels(Side.SELL) == [(D(100), D("0.5")), (D(101), D(5))]


def test_match_stops_at_limit_and_when_book_is_empty() -> None:
    book = OrderBook("ETH")
    book.add(order(Side.BUY, "100", "1"))
    book.add(order(Side.BUY, "99", "1"))
    fills = book.match(Side.SELL, D(5), D("99.5"))
    assert [(f.size, f.price) for f in fills] == [(D(1), D(100))]
    assert book.best_bid() == D(99)
    fills = book.match(Side.SELL, D(5))  # no limit: takes everything left
    assert [(f.size, f.price) for f in fills] == [(D(1), D(99))]
    assert book.best_bid() is None
    assert book.match(Side.SELL, D(1)) == []


def test_cancel_middle_of_queue_keeps_time_priority_of_the_rest() -> None:
    book = OrderBook("ETH")
    a, b, c = (order(Side.SELL, "100", "1", account=i) for i in (1, 2, 3))
    for o in (a, b, c):
        book.add(o)
    assert book.remove(b) is True
    assert book.remove(b) is False  # already gone
    assert book.levels(Side.SELL) == [(D(100), D(2))]
    assert book.best_order(Side.SELL) is a
    book.remove(a)
    assert book.best_order(Side.SELL) is c  # dead entries skipped lazily
    assert [o.account_id for o in book.orders(Side.SELL)] == [3]
    book.remove(c)
    assert book.best_ask() is None and book.levels(Side.SELL) == []


def test_many_cancels_compact_the_level_queue() -> None:
    book = OrderBook("ETH")
    keeper = order(Side.BUY, "100", "1")
    book.add(keeper)
    for _ in range(200):
        tmp = order(Side.BUY, "100", "1")
        book.add(tmp)
        book.remove(tmp)
    level = book._levels[0][D(100)]
    assert level.count == 1 and level.total == D(1)
    assert len(level.orders) <= 2 * level.count + 16 + 1
    assert book.best_order(Side.BUY) is keeper


def test_sequence_increments_on_every_change_and_changes_drain_as_absolute_sizes() -> None:
    book = OrderBook("ETH")
    a = order(Side.BUY, "100", "2")
    book.add(a)
    book.add(order(Side.SELL, "101", "1"))
    assert book.seq == 2
    book.fill(a, D("0.5"))
    assert book.seq == 3
    bids, asks = book.drain_changes()
    assert bids == [(D(100), D("1.5"))] and asks == [(D(101), D(1))]
    assert book.drain_changes() == ([], [])
    book.remove(a)
    assert book.seq == 4
    assert book.drain_changes() == ([(D(100), D(0))], [])  # 0 = level deleted


def test_snapshot_individual_orders_and_get() -> None:
    book = OrderBook("ETH")
    a = order(Side.BUY, "100", "1")
    b = order(Side.BUY, "100", "2")
    c = order(Side.BUY, "101", "3")
    for o in (a, b, c):
        book.add(o)
    snap = book.snapshot(depth=1)
    assert snap.seq == 3 and snap.bids == [(D(101), D(3))] and snap.asks == []
    assert book.orders(Side.BUY) == [c, a, b]
    assert book.orders(Side.BUY, limit=2) == [c, a]
    assert book.get(b.order_id) is b and b in book
    assert book.get(999_999_999) is None


def test_invalid_operations_raise() -> None:
    book = OrderBook("ETH")
    a = order(Side.BUY, "100", "1")
    book.add(a)
    with pytest.raises(ValueError, match="already in the book"):
        book.add(a)
    with pytest.raises(ValueError, match=r"outside \(0, 1\]"):
        book.fill(a, D(2))
    stray = order(Side.SELL, "100", "1")
    with pytest.raises(ValueError, match="not resting"):
        book.fill(stray, D(1))
    no_size = order(Side.SELL, "100", "1")
    no_size.remaining = D(0)
    with pytest.raises(ValueError, match="remaining size"):
        book.add(no_size)
