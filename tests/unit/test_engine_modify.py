"""Engine `modify` (Lighter tx type 17): in place, same ids, time priority lost, re-matched when crossing."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from simulator.engine import (
    Engine,
    InvalidModifyError,
    OrderNotOpenError,
    OrderStatus,
    OrderType,
    ScaledClock,
    Side,
    TimeInForce,
)
from simulator.engine.spec import FundingMode, MarketSpec
from simulator.lighter.markets import LIGHTER_RULES


def engine() -> Engine:
    e = Engine(LIGHTER_RULES, clock=ScaledClock(frozen_ms=1_790_000_000_000))
    spec = MarketSpec(
        symbol="ETH",
        tick_size=D("0.01"),
        size_step=D("0.001"),
        min_size=D("0.001"),
        min_notional=D(0),
        initial_margin_fraction=D("0.05"),
        maintenance_margin_fraction=D("0.03"),
        liquidation_fee=D("0.01"),
        funding_mode=FundingMode.SETTLE_EVERY_INTERVAL,
        market_id=0,
    )
    e.add_market(spec, mark_price=D(3000))
    for acct in (1, 2, 3):
        e.create_account(acct, D(100_000))
    return e


def test_modify_moves_to_the_back_of_the_queue_and_keeps_ids() -> None:
    e = engine()
    a = e.place(1, "ETH", Side.BUY, D(1), D(2999), client_id=11)
    b = e.place(2, "ETH", Side.BUY, D(1), D(2999), client_id=22)
    m = e.modify(1, a.order_id, price=D(2999), size=D(2))
    assert (m.order_id, m.client_id, m.size, m.remaining) == (a.order_id, 11, D(2), D(2))
    taker = e.place(3, "ETH", Side.SELL, D(1), D(2999), type=OrderType.LIMIT, tif=TimeInForce.IOC)
    assert taker.filled == D(1)
    assert e.order(2, b.order_id).status is OrderStatus.FILLED  # b now has priority
    assert e.order(1, a.order_id).remaining == D(2)


def test_modify_that_crosses_matches_and_post_only_is_cancelled() -> None:
    e = engine()
    e.place(2, "ETH", Side.SELL, D(1), D(3001))
    a = e.place(1, "ETH", Side.BUY, D(1), D(2990))
    m = e.modify(1, a.order_id, price=D(3001), size=D(1))
    assert m.status is OrderStatus.FILLED and m.filled == D(1)
    e.place(2, "ETH", Side.SELL, D(1), D(3002))
    p = e.place(1, "ETH", Side.BUY, D(1), D(2990), tif=TimeInForce.POST_ONLY)
    m = e.modify(1, p.order_id, price=D(3002), size=D(1))
    assert m.status is OrderStatus.CANCELLED and m.reason.value == "post_only_would_cross"
    with pytest.raises(OrderNotOpenError):
        e.modify(1, p.order_id, price=D(2990), size=D(1))


def test_modify_validates_and_shrinks_below_filled() -> None:
    e = engine()
    a = e.place(1, "ETH", Side.BUY, D(2), D(2999))
    with pytest.raises(InvalidModifyError, match="tick"):
        e.modify(1, a.order_id, price=D("2999.005"), size=D(2))
    assert e.order(1, a.order_id).price == D(2999)  # unchanged
    e.place(3, "ETH", Side.SELL, D(1), D(2999), tif=TimeInForce.IOC)
    m = e.modify(1, a.order_id, price=D(2999), size=D(1))
    assert m.status is OrderStatus.FILLED and m.remaining == 0
    assert e.account(1).position_size("ETH") == D(1)
