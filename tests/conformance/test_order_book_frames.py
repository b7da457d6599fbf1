"""Recorded WebSocket order-book frames through the order-book manager: exact books, chain and gap."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from exchange_clients.base.order_book import BookState
from exchange_clients.base.order_book_manager import OrderBookManager
from exchange_clients.lighter.websocket import order_book as lighter_ob
from exchange_clients.paradex.websocket import order_book as paradex_ob
from tests.shared_data import load_payload

pytestmark = pytest.mark.conformance


def test_lighter_snapshot_then_chained_updates_then_gap() -> None:
    gaps: list[str] = []
    manager = OrderBookManager(on_gap=gaps.append)
    assert lighter_ob.apply_frame(
        manager, load_payload("lighter", "ws_subscribed_order_book_market0_truncated")
    )
    book = manager.books["0"]
    assert book.best_bid() == (D("1914.22"), D("0.1900")) and book.best_ask() == (D("1914.28"), D("0.1021"))
    for n in (1, 2, 3):
        assert (
            lighter_ob.apply_frame(manager, load_payload("lighter", f"ws_update_order_book_market0_{n}"))
            is True
        )
    assert book.sequence == 17926043048
    bids, asks = book.depth(100)
    assert bids == [
        (D("1914.25"), D("0.4622")),
        (D("1914.24"), D("0.5488")),
        (D("1914.18"), D("8.5318")),
        (D("1914.11"), D("10.2437")),
        (D("1914.07"), D("88.0308")),
        (D("1914.04"), D("199.7482")),
        (D("1913.90"), D("13.3579")),
        (D("1913.57"), D("0.0522")),
        (D("1912.64"), D("127.6970")),
        (D("1912.61"), D("0.1045")),
        (D("1910.70"), D("0.2093")),
    ]
    assert [p for p, _ in asks] == [
        D(x)
        for x in (
            "1914.28",
            "1914.42",
            "1914.54",
            "1914.68",
            "1914.93",
            "1915.49",
            "1915.52",
            "1916.44",
            "1918.36",
        )
    ]
    assert not book.is_crossed()
    # the recorded lost batch: does not chain -> out of sync, no price served, resubscription requested
    assert (
        lighter_ob.apply_frame(manager, load_payload("lighter", "ws_update_order_book_market0_gap_delete"))
        is False
    )
    assert book.state is BookState.OUT_OF_SYNC and gaps == ["0"]
    assert book.best_bid() is None and book.best_ask() is None and book.depth(5) == ([], [])
    assert book.worst_price_for("buy", D(1)) is None
    # a new snapshot resynchronises
    lighter_ob.apply_frame(manager, load_payload("lighter", "ws_subscribed_order_book_market0_truncated"))
    assert book.is_synced and book.best_ask() == (D("1914.28"), D("0.1021"))


def test_lighter_non_book_frames_are_ignored() -> None:
    manager = OrderBookManager()
    assert lighter_ob.apply_frame(manager, load_payload("lighter", "ws_update_market_stats_market0")) is None
    assert manager.books == {}


def test_paradex_snapshot_push() -> None:
    manager = OrderBookManager()
    assert paradex_ob.apply_frame(manager, load_payload("paradex", "ws_order_book_btc_snapshot")) is True
    book = manager.books["BTC-USD-PERP"]
    assert book.sequence == 14127815
    assert book.best_bid() == (D("67629.7"), D("0.992")) and book.best_ask() == (D("69378.6"), D("3.137"))
