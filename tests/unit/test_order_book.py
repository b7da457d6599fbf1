"""OrderBook: absolute updates, sequence rules for both venues, staleness, market-order worst price; a
hypothesis model check against a plain dict."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from exchange_clients.base.order_book import BookState, OrderBook
from exchange_clients.base.order_book_manager import OrderBookManager
from exchange_clients.paradex.websocket import order_book as paradex_ob


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_updates_before_snapshot_are_refused() -> None:
    book = OrderBook("X")
    assert book.apply_update([(D(1), D(1))], [], sequence=1) is False
    assert book.state is BookState.EMPTY and book.best_bid() is None


def test_lighter_chain_and_paradex_increment() -> None:
    book = OrderBook("X")
    book.apply_snapshot([(D(10), D(1))], [(D(11), D(1))], sequence=100)
    assert book.apply_update([(D("10.5"), D(2))], [], sequence=130, prev_sequence=100)
    assert book.best_bid() == (D("10.5"), D(2))
    assert not book.apply_update([], [], sequence=170, prev_sequence=140)  # does not chain
    assert book.state is BookState.OUT_OF_SYNC and book.gaps == 1
    p = OrderBook("Y")
    p.apply_snapshot([(D(10), D(1))], [], sequence=5)
    assert p.apply_update([(D(10), D(0))], [], sequence=6)
    assert p.best_bid() is None
    assert not p.apply_update([], [], sequence=8)  # skipped 7


def test_paradex_deltas_and_gap_request_resubscription() -> None:
    asked: list[str] = []
    manager = OrderBookManager(on_gap=asked.append)

    def push(kind: str, seq: int, inserts=(), updates=(), deletes=()):  # type: ignore[no-untyped-def]
        return {
            "jsonrpc": "2.0",
            "method": "subscription",
            "params": {
                "channel": "order_book.ETH-USD-PERP.deltas@15@50ms",
                "data": {
                    "seq_no": seq,
                    "market": "ETH-USD-PERP",
                    "last_updated_at": 1,
                    "update_type": kind,
                    "inserts": list(inserts),
                    "updates": list(updates),
                    "deletes": list(deletes),
                },
            },
        }

    lvl = lambda side, p, s: {"side": side, "price": p, "size": s}  # noqa: E731
    assert paradex_ob.apply_frame(manager, push("s", 10, [lvl("BUY", "100", "1"), lvl("SELL", "101", "2")]))
    assert paradex_ob.apply_frame(
        manager, push("d", 11, [lvl("BUY", "100.5", "3")], [lvl("SELL", "101", "5")])
    )
    book = manager.books["ETH-USD-PERP"]
    assert book.best_bid() == (D("100.5"), D(3)) and book.best_ask() == (D(101), D(5))
    assert paradex_ob.apply_frame(manager, push("d", 12, deletes=[lvl("BUY", "100.5", "0")]))
    assert book.best_bid() == (D(100), D(1))
    assert paradex_ob.apply_frame(manager, push("d", 14)) is False
    assert asked == ["ETH-USD-PERP"] and book.best_bid() is None


def test_age_and_invalidation() -> None:
    clock = FakeClock()
    book = OrderBook("X", clock=clock)
    assert book.age_seconds() is None
    book.apply_snapshot([(D(1), D(1))], [(D(2), D(1))], sequence=1)
    clock.t += 2.5
    assert book.age_seconds() == 2.5
    manager = OrderBookManager()
    manager.books["X"] = book
    manager.invalidate_all()
    assert book.best_ask() is None


def test_worst_price_for_a_market_order() -> None:
    book = OrderBook("X")
    book.apply_snapshot(
        [(D(99), D(1)), (D(98), D(2))], [(D(101), D(1)), (D(102), D(2)), (D(105), D(5))], sequence=1
    )
    assert book.worst_price_for("buy", D("0.5")) == D(101)
    assert book.worst_price_for("buy", D("2.5")) == D(102)
    assert book.worst_price_for("sell", D(3)) == D(98)
    assert book.worst_price_for("sell", D("3.01")) is None  # too thin: refuse rather than guess


prices = st.integers(min_value=1, max_value=60).map(lambda i: D(i) / 4)
sizes = st.sampled_from([D(0), D("0.1"), D(1), D("2.5")])
ops = st.lists(st.tuples(st.booleans(), prices, sizes), max_size=200)


@given(ops)
def test_book_matches_a_dict_model(operations: list[tuple[bool, D, D]]) -> None:
    book = OrderBook("X")
    book.apply_snapshot([], [], sequence=0)
    model: dict[bool, dict[D, D]] = {True: {}, False: {}}
    for seq, (is_bid, price, size) in enumerate(operations, start=1):
        book.apply_update([(price, size)] if is_bid else [], [] if is_bid else [(price, size)], sequence=seq)
        if size == 0:
            model[is_bid].pop(price, None)
        else:
            model[is_bid][price] = size
    bids, asks = book.depth(10_000)
    assert bids == sorted(model[True].items(), reverse=True)
    assert asks == sorted(model[False].items())
    assert all(s > 0 for _, s in bids + asks)


def test_paradex_snapshot_feed_counts_a_skipped_seq_no_and_heals() -> None:
    manager = OrderBookManager()

    def snap(seq: int, bid: str):  # type: ignore[no-untyped-def]
        return {
            "jsonrpc": "2.0",
            "method": "subscription",
            "params": {
                "channel": "order_book.BTC-USD-PERP.snapshot@15@100ms",
                "data": {
                    "seq_no": seq,
                    "market": "BTC-USD-PERP",
                    "update_type": "s",
                    "inserts": [{"side": "BUY", "price": bid, "size": "1"}],
                    "updates": [],
                    "deletes": [],
                },
            },
        }

    paradex_ob.apply_frame(manager, snap(1, "100"))
    paradex_ob.apply_frame(manager, snap(2, "101"))
    paradex_ob.apply_frame(manager, snap(4, "103"))
    book = manager.books["BTC-USD-PERP"]
    assert book.gaps == 1 and book.is_synced and book.best_bid() == (D(103), D(1))
