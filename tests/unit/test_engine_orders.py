"""Engine order handling: priority, partial fills, order types, validation reasons, client ids, cancels,
reduce-only on both venues' policies, self-trade prevention, fault hooks and events."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from simulator.engine import (
    Engine,
    EngineEvent,
    MarketSpec,
    OrderEvent,
    OrderNotFoundError,
    OrderNotOpenError,
    OrderStatus,
    OrderType,
    Reason,
    ScaledClock,
    Side,
    TimeInForce,
    TradeEvent,
    UnknownAccountError,
    VenueRules,
)
from simulator.engine.spec import FundingMode
from simulator.lighter.markets import LIGHTER_RULES
from simulator.lighter.wire import lighter_status
from simulator.paradex.markets import PARADEX_RULES
from simulator.paradex.wire import paradex_cancel_reason

NOW_MS = 1_800_000_000_000
BUY, SELL = Side.BUY, Side.SELL


def make_engine(rules: VenueRules = LIGHTER_RULES, **overrides: object) -> Engine:
    fields: dict[str, object] = {
        "symbol": "ETH",
        "tick_size": D("0.01"),
        "size_step": D("0.001"),
        "min_size": D("0.01"),
        "min_notional": D(10),
        "initial_margin_fraction": D("0.05"),
        "maintenance_margin_fraction": D("0.012"),
        "max_size": D(100),
        "mark_price": D(3000),
        "funding_mode": FundingMode.SETTLE_EVERY_INTERVAL
        if rules is LIGHTER_RULES
        else FundingMode.CONTINUOUS_INDEX,
    }
    fields.update(overrides)
    engine = Engine(rules, clock=ScaledClock(frozen_ms=NOW_MS))
    engine.add_market(MarketSpec(**fields))  # type: ignore[arg-type]
    return engine


def rich(engine: Engine) -> int:
    return engine.create_account(collateral=D(1_000_000)).account_id


def give_position(engine: Engine, account: int, side: Side, size: str, price: str = "3000") -> None:
    """`account` trades `size` at `price` on `side` against a fresh counterparty."""
    other = rich(engine)
    maker = engine.place(other, "ETH", side.opposite, D(size), D(price))
    taker = engine.place(account, "ETH", side, D(size), D(price), tif=TimeInForce.IOC)
    assert maker.status is OrderStatus.FILLED and taker.status is OrderStatus.FILLED


# ------------------------------------------------------------------------------------------------ matching


def test_price_then_time_priority_and_average_price() -> None:
    engine = make_engine()
    m1, m2, m3, taker = (rich(engine) for _ in range(4))
    o1 = engine.place(m1, "ETH", SELL, D(1), D(3001))
    o2 = engine.place(m2, "ETH", SELL, D(1), D(3000))
    o3 = engine.place(m3, "ETH", SELL, D(1), D(3000))
    t = engine.place(taker, "ETH", BUY, D("2.5"), D(3001))
    fills = engine.account(taker).fills
    assert [(f.price, f.size) for f in fills] == [(D(3000), D(1)), (D(3000), D(1)), (D(3001), D("0.5"))]
    assert [engine.market("ETH").trades[i].maker_order_id for i in range(3)] == [
        o2.order_id,
        o3.order_id,
        o1.order_id,
    ]
    assert t.status is OrderStatus.FILLED and t.avg_fill_price == D("3000.2")
    assert o1.status is OrderStatus.PARTIALLY_FILLED and o1.remaining == D("0.5") and o1.resting
    assert o2.status is OrderStatus.FILLED and not o2.resting
    assert engine.position(taker, "ETH").size == D("2.5")  # type: ignore[union-attr]
    assert engine.position(m1, "ETH").size == D("-0.5")  # type: ignore[union-attr]


def test_partial_fill_rests_the_remainder_at_its_limit() -> None:
    engine = make_engine()
    maker, taker = rich(engine), rich(engine)
    engine.place(maker, "ETH", SELL, D(1), D(3000))
    t = engine.place(taker, "ETH", BUY, D(3), D(3000))
    assert t.status is OrderStatus.PARTIALLY_FILLED and t.filled == D(1) and t.remaining == D(2)
    assert t.resting and engine.account(taker).open_orders == {t.order_id: t}
    book = engine.market("ETH").book
    assert book.levels(BUY) == [(D(3000), D(2))] and book.best_ask() is None
    assert engine.position(taker, "ETH").open_buy == D(2)  # type: ignore[union-attr]
    assert lighter_status(t) == "open"


def test_post_only_rejected_when_it_would_cross_and_rests_otherwise() -> None:
    engine = make_engine()
    maker, trader = rich(engine), rich(engine)
    engine.place(maker, "ETH", SELL, D(1), D(3000))
    crossing = engine.place(trader, "ETH", BUY, D(1), D(3000), tif=TimeInForce.POST_ONLY)
    assert crossing.status is OrderStatus.REJECTED and crossing.reason is Reason.POST_ONLY_WOULD_CROSS
    assert crossing.filled == 0 and engine.account(trader).fills == []
    assert lighter_status(crossing) == "canceled-post-only"
    resting = engine.place(trader, "ETH", BUY, D(1), D("2999.99"), tif=TimeInForce.POST_ONLY)
    assert resting.status is OrderStatus.OPEN and resting.resting
    sell_cross = engine.place(maker, "ETH", SELL, D(1), D("2999.99"), tif=TimeInForce.POST_ONLY)
    assert sell_cross.reason is Reason.POST_ONLY_WOULD_CROSS
    assert engine.market("ETH").book.levels(SELL) == [(D(3000), D(1))]


def test_ioc_remainder_is_cancelled_never_rests() -> None:
    engine = make_engine()
    maker, taker = rich(engine), rich(engine)
    engine.place(maker, "ETH", SELL, D(1), D(3000))
    engine.place(maker, "ETH", SELL, D(1), D(3005))
    ioc = engine.place(taker, "ETH", BUY, D(2), D(3000), tif=TimeInForce.IOC)
    assert ioc.filled == D(1) and ioc.status is OrderStatus.CANCELLED and ioc.reason is Reason.IOC_REMAINDER
    assert not ioc.resting and ioc.remaining == 0
    assert engine.market("ETH").book.best_bid() is None
    assert engine.position(taker, "ETH").open_buy == 0  # type: ignore[union-attr]


def test_market_order_stops_at_its_worst_price_or_when_liquidity_runs_out() -> None:
    engine = make_engine()
    maker, taker = rich(engine), rich(engine)
    engine.place(maker, "ETH", SELL, D(1), D(3000))
    engine.place(maker, "ETH", SELL, D(1), D(3010))
    bounded = engine.place(taker, "ETH", BUY, D(3), D(3005), type=OrderType.MARKET)
    assert bounded.filled == D(1) and bounded.reason is Reason.PRICE_BOUND
    assert lighter_status(bounded) == "canceled-too-much-slippage"
    unbounded = engine.place(taker, "ETH", BUY, D(5), None, type=OrderType.MARKET)
    assert unbounded.filled == D(1) and unbounded.avg_fill_price == D(3010)
    assert (
        unbounded.reason is Reason.NO_LIQUIDITY
        and lighter_status(unbounded) == "canceled-not-enough-liquidity"
    )
    assert engine.position(taker, "ETH").size == D(2)  # type: ignore[union-attr]


# ------------------------------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"size": D(1), "price": D("3000.005")}, Reason.TICK_SIZE),
        ({"size": D("0.0105"), "price": D(3000)}, Reason.LOT_SIZE),
        ({"size": D("0.009"), "price": D(3000)}, Reason.MIN_SIZE),
        ({"size": D("0.01"), "price": D(900)}, Reason.MIN_NOTIONAL),  # 0.01 x 900 = 9 USD < 10
        ({"size": D(101), "price": D(3000)}, Reason.MAX_SIZE),
        ({"size": D(0), "price": D(3000)}, Reason.INVALID_SIZE),
        ({"size": D(-1), "price": D(3000)}, Reason.INVALID_SIZE),
        ({"size": D(1), "price": None}, Reason.INVALID_PRICE),
        ({"size": D(1), "price": D(-3000)}, Reason.INVALID_PRICE),
        (
            {"size": D(1), "price": D(3000), "type": OrderType.MARKET, "tif": TimeInForce.POST_ONLY},
            Reason.INVALID_TYPE,
        ),
        ({"market": "NOPE", "size": D(1), "price": D(3000)}, Reason.UNKNOWN_MARKET),
    ],
)
def test_invalid_orders_are_rejected_with_their_reason_and_change_nothing(
    kwargs: dict[str, object], reason: Reason
) -> None:
    engine = make_engine()
    trader = engine.create_account(collateral=D(100_000)).account_id
    args: dict[str, object] = {"market": "ETH", "side": BUY, "client_id": "c1", **kwargs}
    order = engine.place(trader, **args)  # type: ignore[arg-type]
    assert order.status is OrderStatus.REJECTED and order.reason is reason
    assert order.remaining == 0 and not order.resting
    assert len(engine.market("ETH").book) == 0
    assert engine.account(trader).client_ids == {}  # a rejected order does not reserve its client id
    assert engine.account(trader).collateral == D(100_000)


def test_min_notional_uses_order_price_on_lighter_and_mark_on_paradex() -> None:
    # 0.01 at 900 = 9 USD (below 10) but 0.01 at mark 3000 = 30 USD
    lighter = make_engine(LIGHTER_RULES)
    paradex = make_engine(PARADEX_RULES)
    a = lighter.place(rich(lighter), "ETH", BUY, D("0.01"), D(900))
    b = paradex.place(rich(paradex), "ETH", BUY, D("0.01"), D(900))
    assert a.reason is Reason.MIN_NOTIONAL
    assert b.status is OrderStatus.OPEN


def test_paradex_reduce_only_closing_the_whole_position_may_be_below_min_notional() -> None:
    engine = make_engine(PARADEX_RULES, min_size=D("0.001"))  # Paradex: min size = one size step
    trader = rich(engine)
    give_position(engine, trader, BUY, "0.004")  # 12 USD at 3000
    engine.set_mark_price("ETH", D(2000))  # now 8 USD < 10
    bidder = rich(engine)
    engine.place(bidder, "ETH", BUY, D(1), D(1990))
    partial = engine.place(trader, "ETH", SELL, D("0.003"), D(1990), reduce_only=True)
    plain = engine.place(trader, "ETH", SELL, D("0.004"), D(1990))
    closing = engine.place(trader, "ETH", SELL, D("0.004"), D(1990), reduce_only=True)
    assert partial.reason is Reason.MIN_NOTIONAL and plain.reason is Reason.MIN_NOTIONAL
    assert paradex_cancel_reason(plain.reason) == "ORDER_SIZE_BELOW_MIN"
    assert closing.status is OrderStatus.FILLED
    assert engine.position(trader, "ETH").size == 0  # type: ignore[union-attr]


# ------------------------------------------------------------------------------------------------ client ids, cancels


def test_client_order_ids_are_unique_per_account_forever() -> None:
    engine = make_engine()
    a, b = rich(engine), rich(engine)
    first = engine.place(a, "ETH", BUY, D(1), D(2900), client_id="x1")
    engine.cancel_by_client_id(a, "x1")
    again = engine.place(a, "ETH", BUY, D(1), D(2900), client_id="x1")
    assert again.status is OrderStatus.REJECTED and again.reason is Reason.DUPLICATE_CLIENT_ID
    other_account = engine.place(b, "ETH", BUY, D(1), D(2900), client_id="x1")
    assert other_account.status is OrderStatus.OPEN
    assert engine.account(a).client_ids == {"x1": first.order_id}
    bad = engine.place(a, "ETH", BUY, D(1), D("2900.001"), client_id=7)
    good = engine.place(a, "ETH", BUY, D(1), D(2900), client_id=7)
    assert bad.reason is Reason.TICK_SIZE and good.status is OrderStatus.OPEN


def test_cancel_by_id_client_id_and_all() -> None:
    engine = make_engine()
    a = rich(engine)
    o1 = engine.place(a, "ETH", BUY, D(1), D(2900), client_id="one")
    o2 = engine.place(a, "ETH", BUY, D(1), D(2890))
    o3 = engine.place(a, "ETH", SELL, D(1), D(3100))
    assert engine.cancel(a, o2.order_id) is o2
    assert o2.status is OrderStatus.CANCELLED and o2.reason is Reason.USER_CANCELLED
    assert paradex_cancel_reason(o2.reason) == "USER_CANCELED" and lighter_status(o2) == "canceled"
    with pytest.raises(OrderNotOpenError):
        engine.cancel(a, o2.order_id)
    with pytest.raises(OrderNotFoundError):
        engine.cancel(a, 987654)
    with pytest.raises(OrderNotFoundError):
        engine.cancel_by_client_id(a, "nope")
    assert engine.cancel_all(a) == [o1, o3]
    assert engine.account(a).open_orders == {}
    pos = engine.position(a, "ETH")
    assert pos is not None and pos.open_buy == 0 and pos.open_sell == 0
    assert len(engine.market("ETH").book) == 0
    with pytest.raises(UnknownAccountError):
        engine.cancel_all(424242)


def test_self_trade_cancels_the_resting_order_of_the_same_account() -> None:
    engine = make_engine()
    a = rich(engine)
    ask = engine.place(a, "ETH", SELL, D(1), D(3000))
    bid = engine.place(a, "ETH", BUY, D(1), D(3000))
    assert ask.status is OrderStatus.CANCELLED and ask.reason is Reason.SELF_TRADE
    assert lighter_status(ask) == "canceled-self-trade"
    assert bid.status is OrderStatus.OPEN and bid.resting and bid.filled == 0
    assert engine.account(a).fills == []


# ------------------------------------------------------------------------------------------------ reduce-only


def test_reduce_only_without_position_or_on_the_same_side_is_rejected() -> None:
    for rules in (LIGHTER_RULES, PARADEX_RULES):
        engine = make_engine(rules)
        a = rich(engine)
        flat = engine.place(a, "ETH", SELL, D(1), D(3000), reduce_only=True)
        assert flat.reason is Reason.REDUCE_ONLY_WOULD_INCREASE
        give_position(engine, a, BUY, "1")
        same_side = engine.place(a, "ETH", BUY, D(1), D(2900), reduce_only=True)
        assert same_side.reason is Reason.REDUCE_ONLY_WOULD_INCREASE
        assert lighter_status(same_side) == "canceled-reduce-only"


def test_lighter_reduce_only_taker_is_clamped_to_the_position_and_never_flips() -> None:
    engine = make_engine(LIGHTER_RULES)
    a, bidder = rich(engine), rich(engine)
    give_position(engine, a, BUY, "1")
    engine.place(bidder, "ETH", BUY, D(5), D(2990))
    ro = engine.place(a, "ETH", SELL, D(3), D(2990), reduce_only=True)
    assert ro.filled == D(1) and ro.status is OrderStatus.CANCELLED
    assert ro.reason is Reason.REDUCE_ONLY_POSITION_CHANGED
    assert engine.position(a, "ETH").size == 0  # type: ignore[union-attr]


def test_lighter_resting_reduce_only_maker_is_clamped_then_cancelled() -> None:
    engine = make_engine(LIGHTER_RULES)
    a, b = rich(engine), rich(engine)
    give_position(engine, a, BUY, "1")
    ro = engine.place(a, "ETH", SELL, D(2), D(3010), reduce_only=True)
    assert ro.status is OrderStatus.OPEN
    buy = engine.place(b, "ETH", BUY, D(2), D(3010))
    assert ro.filled == D(1) and ro.status is OrderStatus.CANCELLED
    assert ro.reason is Reason.REDUCE_ONLY_POSITION_CHANGED
    assert engine.position(a, "ETH").size == 0  # type: ignore[union-attr]
    assert buy.filled == D(1) and buy.resting and buy.remaining == D(1)


def test_paradex_reduce_only_larger_than_position_is_rejected() -> None:
    engine = make_engine(PARADEX_RULES)
    a = rich(engine)
    give_position(engine, a, BUY, "1")
    too_big = engine.place(a, "ETH", SELL, D(3), D(3100), reduce_only=True)
    assert too_big.reason is Reason.REDUCE_ONLY_EXCEEDS_POSITION
    ok = engine.place(a, "ETH", SELL, D(1), D(3100), reduce_only=True)
    assert ok.status is OrderStatus.OPEN


@pytest.mark.parametrize(("rules", "cancelled"), [(PARADEX_RULES, True), (LIGHTER_RULES, False)])
def test_resting_reduce_only_when_the_position_shrinks(rules: VenueRules, cancelled: bool) -> None:
    engine = make_engine(rules)
    a, bidder = rich(engine), rich(engine)
    give_position(engine, a, BUY, "2")
    ro = engine.place(a, "ETH", SELL, D(2), D(3100), reduce_only=True)
    engine.place(bidder, "ETH", BUY, D(1), D(2990))
    engine.place(a, "ETH", SELL, D(1), D(2990), tif=TimeInForce.IOC)  # position 2 -> 1
    assert engine.position(a, "ETH").size == D(1)  # type: ignore[union-attr]
    if cancelled:  # Paradex: remaining 2 > position 1
        assert ro.status is OrderStatus.CANCELLED and ro.reason is Reason.REDUCE_ONLY_POSITION_CHANGED
    else:  # Lighter: stays, clamped when it trades
        assert ro.status is OrderStatus.OPEN and ro.resting


def test_resting_reduce_only_cancelled_when_position_flips_on_both_venues() -> None:
    for rules in (LIGHTER_RULES, PARADEX_RULES):
        engine = make_engine(rules)
        a, bidder = rich(engine), rich(engine)
        give_position(engine, a, BUY, "1")
        ro = engine.place(a, "ETH", SELL, D(1), D(3100), reduce_only=True)
        engine.place(bidder, "ETH", BUY, D(3), D(2990))
        engine.place(a, "ETH", SELL, D(3), D(2990), tif=TimeInForce.IOC)  # long 1 -> short 2
        assert engine.position(a, "ETH").size == D(-2)  # type: ignore[union-attr]
        assert ro.status is OrderStatus.CANCELLED and ro.reason is Reason.REDUCE_ONLY_POSITION_CHANGED
        assert engine.position(a, "ETH").reduce_only_orders == 0  # type: ignore[union-attr]


# ------------------------------------------------------------------------------------------------ faults, events


def test_reject_next_n_orders_fault() -> None:
    engine = make_engine()
    a = rich(engine)
    engine.faults.reject_next(2)
    first = engine.place(a, "ETH", BUY, D(1), D(2900), client_id=1)
    second = engine.place(a, "ETH", BUY, D(1), D(2900), client_id=1)
    third = engine.place(a, "ETH", BUY, D(1), D(2900), client_id=1)
    assert [o.reason for o in (first, second)] == [Reason.FAULT_INJECTED, Reason.FAULT_INJECTED]
    assert third.status is OrderStatus.OPEN
    assert engine.faults.snapshot() == {
        "reject_next": 0,
        "fill_fraction": None,
        "fill_fraction_remaining": None,
    }


def test_fill_fraction_fault_caps_immediate_execution_and_cancels_the_rest() -> None:
    engine = make_engine()
    maker, taker = rich(engine), rich(engine)
    engine.place(maker, "ETH", SELL, D(10), D(3000))
    engine.faults.fill_fraction(D("0.5"), count=1)
    capped = engine.place(taker, "ETH", BUY, D(4), D(3000))
    assert capped.filled == D(2) and capped.status is OrderStatus.CANCELLED
    assert capped.reason is Reason.PARTIAL_FILL_FAULT and not capped.resting
    normal = engine.place(taker, "ETH", BUY, D(4), D(3000))
    assert normal.filled == D(4) and normal.status is OrderStatus.FILLED
    engine.faults.fill_fraction(D("0.3"))  # until cleared; 0.3 x 0.5 = 0.15 exactly
    assert engine.place(taker, "ETH", BUY, D("0.5"), D(3000)).filled == D("0.15")
    assert engine.place(taker, "ETH", BUY, D("0.1"), D(3000)).filled == D("0.03")
    engine.faults.clear()
    assert engine.place(taker, "ETH", BUY, D("0.5"), D(3000)).filled == D("0.5")
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        engine.faults.fill_fraction(D(1))


def test_listeners_receive_order_and_trade_events() -> None:
    engine = make_engine()
    events: list[EngineEvent] = []
    engine.listeners.append(events.append)
    maker, taker = rich(engine), rich(engine)
    ask = engine.place(maker, "ETH", SELL, D(1), D(3000))
    bid = engine.place(taker, "ETH", BUY, D(1), D(3000))
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["OrderEvent", "OrderEvent", "TradeEvent", "OrderEvent", "OrderEvent"]
    trade_event = events[2]
    assert isinstance(trade_event, TradeEvent)
    assert (
        trade_event.trade.maker_order_id == ask.order_id and trade_event.trade.taker_order_id == bid.order_id
    )
    assert trade_event.maker_fill.side is SELL and trade_event.taker_fill.side is BUY
    assert isinstance(events[-1], OrderEvent) and events[-1].order is bid


def test_unknown_account_raises() -> None:
    engine = make_engine()
    with pytest.raises(UnknownAccountError):
        engine.place(999, "ETH", BUY, D(1), D(3000))
