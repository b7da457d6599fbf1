"""Recorded order books kept in the Lighter engine (`RecordedBookMaker`).

* a market with a recorded book (`orderBookOrders_<id>.json`) is seeded with those very orders (same order
  indexes, owners, sizes, time priority), quoted by an exempt "book" account around a mid path that starts at the
  recorded mark and stays there (`RecordedBookMaker`): consumed orders are put back `replenish_ms` (simulated) after
  a hit, and the whole recorded shape moves with the mid when the mark is moved (admin) or follows a random walk
  (admin, opt-in). The market-data contract of the recorded scenario (book, best bid/ask, mark) therefore holds
  until someone trades;
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING

from simulator.engine import MidPath, Order, OrderStatus, SeriesMid, Side
from simulator.lighter.markets import LighterMarket
from simulator.lighter.wire import ORDER_INDEX_BASE, OrderMeta

if TYPE_CHECKING:
    from simulator.lighter.trading import LighterTrading

log = logging.getLogger("perparb.simulator")


@dataclass
class RecordedQuote:
    """One order of a recorded book, relative to the recorded mark: `price = mid + offset` (tick-rounded away
    from the mid), `size` base units."""

    side: Side
    offset: Decimal
    size: Decimal
    owner: int
    order_index: int | None
    initial_size: Decimal | None
    order_expiry: int
    transaction_time_us: int | None
    order: Order | None = None


class RecordedBookMaker:
    """Keeps a market's recorded order book in the engine (see the module docstring).

    Args:
        trading: the venue (engine access and order metadata); market: the market;
        account_id: the exempt account quoting the book; quotes: the recorded orders in priority order;
        replenish_ms: simulated ms after a hit before consumed orders are put back.
    """

    def __init__(
        self,
        trading: LighterTrading,
        market: LighterMarket,
        account_id: int,
        quotes: list[RecordedQuote],
        replenish_ms: int,
    ) -> None:
        self.trading = trading
        self.market = market
        self.account_id = account_id
        self.quotes = quotes
        self.replenish_ms = replenish_ms
        self.path: MidPath = SeriesMid([(0, market.mark0)])
        self.last_mid: Decimal | None = None
        self.hit_ms: int | None = None
        self.refreshes = 0

    def _price(self, quote: RecordedQuote, mid: Decimal) -> Decimal:
        tick = self.market.spec.tick_size
        raw = (mid + quote.offset) / tick
        rounding = ROUND_FLOOR if quote.side is Side.BUY else ROUND_CEILING
        return raw.to_integral_value(rounding=rounding) * tick

    def _place(self, quote: RecordedQuote, mid: Decimal, *, first: bool) -> None:
        engine = self.trading.engine
        old = quote.order
        if old is not None:
            if old.resting:
                engine.cancel(self.account_id, old.order_id)
            self.trading.forget_order_meta(old)  # trades were recorded when they happened
        quote.order = None
        price = self._price(quote, mid)
        if price <= 0:
            return
        order = engine.place(self.account_id, self.market.symbol, quote.side, quote.size, price)
        if order.status is OrderStatus.REJECTED:
            log.debug(
                "lighter market %d: recorded order at %s refused by the engine (%s)",
                self.market.market_id,
                price,
                order.reason.value if order.reason else "?",
            )
            return
        meta = OrderMeta(
            order_index=quote.order_index
            if first and quote.order_index is not None
            else ORDER_INDEX_BASE + order.order_id,
            owner=quote.owner,
            order_expiry=quote.order_expiry,
            initial_size=quote.initial_size if first else None,
            transaction_time_us=quote.transaction_time_us if first else None,
        )
        if order.resting:
            self.trading.register_order_meta(order, meta)
            quote.order = order

    def seed(self) -> None:
        """Place every recorded order at its recorded price (the mid is the recorded mark)."""
        mid = self.path(self.trading.engine.now_ms())
        for quote in self.quotes:
            self._place(quote, mid, first=True)
        self.last_mid = mid
        self.refreshes += 1

    def on_hit(self, now_ms: int) -> None:
        """One of the maker's orders traded."""
        if self.hit_ms is None:
            self.hit_ms = now_ms

    def refresh(self, now_ms: int) -> None:
        """Follow the mid path (moving the mark and the whole book) and put back consumed orders."""
        engine = self.trading.engine
        mid = self.path(now_ms)
        state = engine.market(self.market.symbol)
        if mid != self.last_mid:
            if mid != state.mark_price:
                engine.set_mark_price(self.market.symbol, mid)
            self.last_mid = mid
            self.hit_ms = None
            for quote in self.quotes:
                self._place(quote, mid, first=False)
            self.refreshes += 1
            return
        if self.hit_ms is None or now_ms - self.hit_ms < self.replenish_ms:
            return
        self.hit_ms = None
        for quote in self.quotes:
            order = quote.order
            if order is None or not order.resting or order.remaining != quote.size:
                self._place(quote, mid, first=False)
        self.refreshes += 1
