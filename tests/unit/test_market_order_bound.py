"""Market orders are always bounded by the live book; without a fresh book they are refused."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from exchange_clients.base.client import StaleBookError, market_order_limit_price
from exchange_clients.base.order_book import OrderBook
from exchange_clients.base.trading import Side


class Clock:
    t = 0.0

    def __call__(self) -> float:
        return self.t


def book(clock: Clock) -> OrderBook:
    b = OrderBook("ETH", clock=clock)
    b.apply_snapshot(
        [(D("2999.5"), D(1)), (D("2999"), D(5))], [(D("3000.5"), D(1)), (D("3001"), D(5))], sequence=1
    )
    return b


def test_bound_from_touch_and_slippage() -> None:
    c = Clock()
    b = book(c)
    kw = {"tick": D("0.01"), "max_age_seconds": 5, "venue": "lighter"}
    # buy: 3000.5 * (1 + 10 bps) = 3003.5005 -> rounded down 3003.50
    assert market_order_limit_price(b, Side.BUY, D(2), max_slippage_bps=D(10), **kw) == D("3003.50")
    # sell: 2999.5 * (1 - 10 bps) = 2996.5005 -> rounded up 2996.51
    assert market_order_limit_price(b, Side.SELL, D(3), max_slippage_bps=D(10), **kw) == D("2996.51")
    with pytest.raises(StaleBookError, match="too thin"):
        market_order_limit_price(b, Side.BUY, D(2), max_slippage_bps=D(1), **kw)  # 3001 is beyond 1 bps
    with pytest.raises(StaleBookError, match="too thin"):
        market_order_limit_price(b, Side.BUY, D(7), max_slippage_bps=D(100), **kw)


def test_refused_without_a_fresh_book() -> None:
    c = Clock()
    b = book(c)
    kw = {"tick": D("0.01"), "max_age_seconds": 5, "venue": "lighter", "max_slippage_bps": D(50)}
    c.t = 6
    with pytest.raises(StaleBookError, match="no fresh order book"):
        market_order_limit_price(b, Side.BUY, D(1), **kw)
    c.t = 0
    b.mark_out_of_sync()
    with pytest.raises(StaleBookError, match="no fresh order book"):
        market_order_limit_price(b, Side.SELL, D(1), **kw)
    with pytest.raises(StaleBookError):
        market_order_limit_price(OrderBook("X", clock=c), Side.BUY, D(1), **kw)
