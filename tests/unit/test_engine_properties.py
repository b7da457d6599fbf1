"""Hypothesis properties of the engine over random order sequences, on both venues' rules:

* no negative (or zero) resting size, level totals equal their live orders, the book is never crossed;
* positions equal the sum of fills, and all positions sum to zero across accounts;
* collateral == deposits - fees + realised PnL + funding for every account (conservation), with each term equal
  to the sum of its records (fills, funding payments);
* resting-order bookkeeping (open buy/sell sizes, reduce-only counts) matches the book;
* a reduce-only fill never grows or flips a position.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal as D
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.engine import (
    ConstantRate,
    Engine,
    FundingMode,
    LiquidityConfig,
    MarketSpec,
    OrderType,
    ScaledClock,
    SeriesMid,
    Side,
    TimeInForce,
    TradeKind,
    VenueRules,
)
from simulator.engine.orders import ZERO
from simulator.lighter.markets import LIGHTER_RULES
from simulator.paradex.markets import PARADEX_RULES

NOW_MS = 1_800_000_000_000
TRADERS = 4

place_op = st.tuples(
    st.just("place"),
    st.integers(0, TRADERS - 1),  # trader
    st.sampled_from([Side.BUY, Side.SELL]),
    st.integers(-8, 8),  # price offset from mark, ticks of 1
    st.integers(1, 40),  # size in steps of 0.1
    st.sampled_from([OrderType.LIMIT, OrderType.LIMIT, OrderType.MARKET]),
    st.sampled_from([TimeInForce.GTC, TimeInForce.IOC, TimeInForce.POST_ONLY]),
    st.booleans(),  # reduce-only
    st.one_of(st.none(), st.integers(1, 6)),  # client id (reuse happens)
)
cancel_op = st.tuples(st.just("cancel"), st.integers(0, TRADERS - 1), st.integers(0, 10))
cancel_all_op = st.tuples(st.just("cancel_all"), st.integers(0, TRADERS - 1))
mark_op = st.tuples(st.just("mark"), st.integers(-300, 300))  # new mark = 1000 + n
time_op = st.tuples(st.just("time"), st.integers(0, 150))  # minutes
fault_op = st.tuples(st.just("fault"), st.sampled_from(["reject", "fraction"]))
ops = st.lists(
    st.one_of(place_op, place_op, place_op, cancel_op, cancel_all_op, mark_op, time_op, fault_op),
    min_size=1,
    max_size=60,
)


def build(rules: VenueRules) -> tuple[Engine, ScaledClock, list[int]]:
    clock = ScaledClock(frozen_ms=NOW_MS + 7 * 60_000)
    engine = Engine(rules, clock=clock)
    style = FundingMode.SETTLE_EVERY_INTERVAL if rules is LIGHTER_RULES else FundingMode.CONTINUOUS_INDEX
    spec = MarketSpec(
        "ETH",
        tick_size=D(1),
        size_step=D("0.1"),
        min_size=D("0.1"),
        min_notional=D(50),
        initial_margin_fraction=D("0.1"),
        maintenance_margin_fraction=D("0.05"),
        maker_fee=D("-0.0001"),
        taker_fee=D("0.0005"),
        liquidation_fee=D("0.01"),
        funding_mode=style,
        mark_price=D(1000),
    )
    engine.add_market(spec, funding=ConstantRate(D("0.0007")))
    engine.add_liquidity(
        "ETH",
        SeriesMid([(0, D(1000))]),
        LiquidityConfig(
            levels=3, spread_bps=D(20), level_step_bps=D(10), size_per_level=D(2), replenish_ms=0
        ),
    )
    collaterals = [D(1_000_000), D(50_000), D(2_000), D(300)]  # the small ones get liquidated
    traders = [engine.create_account(collateral=c).account_id for c in collaterals]
    return engine, clock, traders


def apply(engine: Engine, clock: ScaledClock, traders: list[int], op: tuple[Any, ...]) -> None:
    kind = op[0]
    if kind == "place":
        _, who, side, offset, lots, otype, tif, reduce_only, client_id = op
        mark = engine.market("ETH").mark_price
        price = mark + offset
        if otype is OrderType.MARKET:
            price = None if offset % 2 else price
        engine.place(
            traders[who],
            "ETH",
            side,
            D(lots) / 10,
            price if (price is None or price > 0) else D(1),
            type=otype,
            tif=tif,
            reduce_only=reduce_only,
            client_id=client_id,
        )
    elif kind == "cancel":
        _, who, index = op
        opens = list(engine.account(traders[who]).open_orders)
        if opens:
            engine.cancel(traders[who], opens[index % len(opens)])
    elif kind == "cancel_all":
        engine.cancel_all(traders[op[1]])
    elif kind == "mark":
        engine.set_mark_price("ETH", D(1000 + op[1]))
    elif kind == "time":
        clock.advance(op[1] * 60_000)
        engine.sync()
    elif kind == "fault":
        if op[1] == "reject":
            engine.faults.reject_next(1)
        else:
            engine.faults.fill_fraction(D("0.5"), count=1)


def check_invariants(engine: Engine) -> None:
    market = engine.market("ETH")
    book = market.book
    # book: positive sizes, totals consistent, never crossed, mirrors accounts' open orders
    assert not book.is_crossed()
    resting_ids: set[int] = set()
    for side in (Side.BUY, Side.SELL):
        levels = dict(book.levels(side))
        per_level: dict[D, D] = defaultdict(lambda: ZERO)
        for order in book.orders(side):
            assert order.remaining > 0 and order.resting and order.side is side
            per_level[order.price] += order.remaining  # type: ignore[index]
            resting_ids.add(order.order_id)
        assert levels == dict(per_level)
        assert all(size > 0 for size in levels.values())
    open_ids = {oid for acc in engine.accounts.values() for oid in acc.open_orders}
    assert open_ids == resting_ids
    total_position = ZERO
    for acc in engine.accounts.values():
        fills = acc.fills
        # positions equal the sum of fills
        signed = sum((f.size if f.side is Side.BUY else -f.size for f in fills), ZERO)
        size = acc.position_size("ETH")
        assert size == signed
        total_position += size
        # conservation: collateral = deposits - fees + realised PnL + funding, each = sum of its records
        assert acc.collateral == acc.deposits - acc.fees_paid + acc.realized_pnl + acc.funding
        assert acc.fees_paid == sum((f.fee for f in fills), ZERO)
        assert acc.realized_pnl == sum((f.realized_pnl for f in fills), ZERO)
        assert acc.funding == sum((p.amount for p in acc.funding_payments), ZERO)
        # resting bookkeeping
        pos = acc.positions.get("ETH")
        if pos is not None:
            opens = list(acc.open_orders.values())
            assert pos.open_buy == sum(
                (o.remaining for o in opens if o.side is Side.BUY and not o.reduce_only), ZERO
            )
            assert pos.open_sell == sum(
                (o.remaining for o in opens if o.side is Side.SELL and not o.reduce_only), ZERO
            )
            assert pos.reduce_only_orders == sum(1 for o in opens if o.reduce_only)
            assert (pos.entry_price == 0) == (pos.size == 0)
        # orders: sizes add up; reduce-only fills never grow or flip the position
        by_order: dict[int, D] = defaultdict(lambda: ZERO)
        for f in fills:
            if f.kind is TradeKind.TRADE:
                by_order[f.order_id] += f.size
            order = acc.orders.get(f.order_id)
            if order is not None and order.reduce_only:
                assert abs(f.position_after) < abs(f.position_before)
                assert f.position_after == 0 or (f.position_after > 0) == (f.position_before > 0)
        for order in acc.orders.values():
            assert order.remaining >= 0 and order.filled + order.remaining <= order.size
            assert order.filled == by_order.get(order.order_id, ZERO)
            if order.resting:
                assert order.remaining == order.size - order.filled
    assert total_position == 0


@pytest.mark.parametrize("rules", [LIGHTER_RULES, PARADEX_RULES], ids=["lighter", "paradex"])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequence=ops)
def test_invariants_hold_over_random_order_sequences(
    rules: VenueRules, sequence: list[tuple[Any, ...]]
) -> None:
    engine, clock, traders = build(rules)
    check_invariants(engine)
    for op in sequence:
        apply(engine, clock, traders, op)
        check_invariants(engine)


def test_a_long_seeded_session_keeps_the_invariants_and_exercises_every_path() -> None:
    """One long deterministic run (hypothesis examples are short) that must reach fills, funding, liquidations
    and reduce-only clamps, so the properties above are not vacuous."""
    import random

    for rules in (LIGHTER_RULES, PARADEX_RULES):
        engine, clock, traders = build(rules)
        rng = random.Random(11)
        for _ in range(1500):
            roll = rng.random()
            if roll < 0.75:
                op: tuple[Any, ...] = (
                    "place",
                    rng.randrange(TRADERS),
                    rng.choice([Side.BUY, Side.SELL]),
                    rng.randint(-8, 8),
                    rng.randint(1, 40),
                    rng.choice([OrderType.LIMIT, OrderType.LIMIT, OrderType.MARKET]),
                    rng.choice([TimeInForce.GTC, TimeInForce.IOC, TimeInForce.POST_ONLY]),
                    rng.random() < 0.2,
                    None,
                )
            elif roll < 0.85:
                op = ("cancel", rng.randrange(TRADERS), rng.randrange(10))
            elif roll < 0.93:
                op = ("mark", rng.randint(-300, 300))
            else:
                op = ("time", rng.randint(0, 90))
            apply(engine, clock, traders, op)
        check_invariants(engine)
        accounts = [engine.account(t) for t in traders]
        assert sum(len(a.fills) for a in accounts) > 100
        assert sum(a.liquidations for a in accounts) > 0
        assert all(a.funding_payments for a in accounts[:2])
        assert any(o.reduce_only and o.filled for a in accounts for o in a.orders.values())
