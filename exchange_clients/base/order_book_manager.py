"""Order books of many markets at once, fed by a venue's frame parser; reports gaps for resynchronisation."""

from __future__ import annotations

from collections.abc import Callable

from exchange_clients.base.order_book import OrderBook


class OrderBookManager:
    """`books[market]` for every subscribed market. `on_gap(market)` is called once per detected gap so the
    WebSocket layer can resubscribe (Lighter: unsubscribe + subscribe; Paradex: resubscribe) for a snapshot."""

    def __init__(
        self,
        on_gap: Callable[[str], None] | None = None,
        *,
        factory: Callable[[str], OrderBook] = OrderBook,
    ) -> None:
        self.books: dict[str, OrderBook] = {}
        self.on_gap = on_gap
        self.factory = factory

    def book(self, market: str) -> OrderBook:
        """The book of `market`, created by `factory(market)` (default `OrderBook`; `SnapshotOrderBook` for venues
        that push whole snapshots) on first use."""
        found = self.books.get(market)
        if found is None:
            found = self.books[market] = self.factory(market)
        return found

    def gap(self, market: str) -> None:
        if self.on_gap is not None:
            self.on_gap(market)

    def invalidate_all(self) -> None:
        """Connection lost: every book is out of sync until its next snapshot."""
        for b in self.books.values():
            b.mark_out_of_sync()
