"""`bound_market_order`: the market-order decision shared by the venue order managers (size on the step grid,
minimum size, book bound with slippage on the tick, minimum notional, stale book)."""

from __future__ import annotations

from decimal import ROUND_FLOOR
from decimal import Decimal as D
from typing import Any

import pytest

from exchange_clients.base.client import (
    StaleBookError,
    bound_market_order,
    check_min_notional,
    round_order_size,
)
from exchange_clients.base.order_book import OrderBook
from exchange_clients.base.trading import Side
from perparb_core.errors import VenueRejectedError


class Clock:
    t = 0.0

    def __call__(self) -> float:
        return self.t


class DemoRejected(VenueRejectedError):
    pass


def rejected(message: str) -> DemoRejected:
    return DemoRejected("demo", message, market="ETH-PERP")


def book(clock: Clock) -> OrderBook:
    b = OrderBook("ETH", clock=clock)
    b.apply_snapshot(
        [(D("2999.5"), D(1)), (D("2999"), D(5))], [(D("3000.5"), D(1)), (D("3001"), D(5))], sequence=1
    )
    return b


def kw(**over: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "max_slippage_bps": D(10),
        "max_age_seconds": 5,
        "size_step": D("0.001"),
        "min_size": D("0.002"),
        "tick": D("0.01"),
        "min_notional": D(10),
        "reduce_only": False,
        "venue": "demo",
        "rejected": rejected,
    }
    args.update(over)
    return args


def test_rounds_the_size_down_and_bounds_the_price_by_the_slippage() -> None:
    b = book(Clock())
    # BUY: 2.0037 -> 2.003 (down to the step); 3000.5 * (1 + 10 bps) = 3003.5005 -> 3003.50 (down to the tick)
    assert bound_market_order(b, Side.BUY, D("2.0037"), **kw()) == (D("2.003"), D("3003.50"))
    # SELL: 2999.5 * (1 - 10 bps) = 2996.5005 -> 2996.51 (up to the tick: the bound never widens)
    assert bound_market_order(b, Side.SELL, D("3"), **kw()) == (D("3.000"), D("2996.51"))
    # a wider slippage moves the bound: 3000.5 * 1.005 = 3015.5025 -> 3015.50
    assert bound_market_order(b, Side.BUY, D("1"), **kw(max_slippage_bps=D(50))) == (D("1.000"), D("3015.50"))


def test_the_book_must_hold_the_quantity_within_the_bound() -> None:
    b = book(Clock())
    with pytest.raises(StaleBookError, match="too thin"):  # the second ask level (3001) is beyond 1 bps
        bound_market_order(b, Side.BUY, D(2), **kw(max_slippage_bps=D(1)))
    with pytest.raises(StaleBookError, match="too thin"):  # 7 > 6 on the ask side
        bound_market_order(b, Side.BUY, D(7), **kw(max_slippage_bps=D(100)))


def test_below_the_size_step_or_the_minimum_size_is_rejected_with_the_values() -> None:
    b = book(Clock())
    with pytest.raises(DemoRejected) as err:
        bound_market_order(b, Side.BUY, D("0.0019"), **kw())
    assert str(err.value) == (
        "demo ETH-PERP: quantity 0.0019 rounds to 0.001, below the minimum size 0.002 "
        "(size step 0.001, minimum size 0.002)"
    )
    with pytest.raises(
        DemoRejected, match=r"rounds to 0\.000, below the minimum size 0\.001 \(size step 0\.001\)$"
    ):
        bound_market_order(b, Side.BUY, D("0.0004"), **kw(min_size=None))
    assert round_order_size(D("0.0049"), size_step=D("0.001"), min_size=None, rejected=rejected) == D("0.004")


def test_minimum_notional_is_checked_at_the_bound_except_for_reduce_only() -> None:
    b = book(Clock())
    with pytest.raises(DemoRejected) as err:  # 0.003 x 3003.50 = 9.01 USD < 10
        bound_market_order(b, Side.BUY, D("0.003"), **kw())
    assert str(err.value) == "demo ETH-PERP: order notional 0.003 x 3003.50 = 9.01050 is below the minimum 10"
    assert bound_market_order(b, Side.BUY, D("0.003"), **kw(reduce_only=True)) == (D("0.003"), D("3003.50"))
    assert bound_market_order(b, Side.BUY, D("0.003"), **kw(min_notional=None)) == (D("0.003"), D("3003.50"))
    assert bound_market_order(b, Side.BUY, D("0.004"), **kw()) == (D("0.004"), D("3003.50"))  # 12.01 USD
    check_min_notional(
        D(1), D(10), min_notional=D(10), reduce_only=False, rejected=rejected
    )  # at the minimum


def test_stale_out_of_sync_or_empty_book_is_refused() -> None:
    c = Clock()
    b = book(c)
    c.t = 6  # older than max_age_seconds = 5
    with pytest.raises(StaleBookError, match="no fresh order book"):
        bound_market_order(b, Side.BUY, D(1), **kw())
    c.t = 0
    b.mark_out_of_sync()
    with pytest.raises(StaleBookError, match="no fresh order book"):
        bound_market_order(b, Side.SELL, D(1), **kw())
    with pytest.raises(StaleBookError):
        bound_market_order(OrderBook("ETH", clock=c), Side.BUY, D(1), **kw(tick=lambda touch: D(1)))


def test_price_dependent_tick_and_reprice() -> None:
    b = book(Clock())
    seen: list[D] = []

    def tick_at(price: D) -> D:
        seen.append(price)
        return D(1)

    # tick 1 at the touch 3000.5: 3003.5005 -> 3003; reprice puts it on a coarser grid (5), never wider: 3000
    def to_fives(price: D) -> D:
        return (price / 5).to_integral_value(rounding=ROUND_FLOOR) * 5

    size, bound = bound_market_order(b, Side.BUY, D("0.004"), **kw(tick=tick_at, reprice=to_fives))
    assert (size, bound, seen) == (D("0.004"), D(3000), [D("3000.5")])
    with pytest.raises(
        DemoRejected, match=r"= 9\.000 is below the minimum 10"
    ):  # notional at the repriced bound
        bound_market_order(b, Side.BUY, D("0.003"), **kw(tick=tick_at, reprice=lambda p: D(3000)))
