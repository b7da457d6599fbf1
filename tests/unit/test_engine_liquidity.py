"""Synthetic liquidity (quotes, mid paths, refresh, replenish) and the engine clock (speed factor)."""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal as D

import pytest

from simulator.engine import (
    ConstantRate,
    Engine,
    LiquidityConfig,
    MarketSpec,
    OrderStatus,
    OrderType,
    RandomWalkMid,
    ScaledClock,
    SeriesMid,
    Side,
)
from simulator.engine.liquidity import quotes
from simulator.lighter.markets import LIGHTER_RULES
from simulator.scenario import SimClock

HOUR = 3_600_000
NOW_MS = 1_800_000_000_000
BUY, SELL = Side.BUY, Side.SELL
SPEC = MarketSpec("ETH", D("0.01"), D("0.001"), D("0.01"), D(0), D("0.05"), D("0.012"), mark_price=D(2000))


def test_quotes_hand_computed() -> None:
    cfg = LiquidityConfig(levels=3, spread_bps=D(4), level_step_bps=D(2), size_per_level=D("1.2345"))
    bids, asks = quotes(D(3000), SPEC, cfg)
    assert bids == [(D("2999.40"), D("1.234")), (D("2998.80"), D("1.234")), (D("2998.20"), D("1.234"))]
    assert asks == [(D("3000.60"), D("1.234")), (D("3001.20"), D("1.234")), (D("3001.80"), D("1.234"))]
    # off-grid mid: bids round down, asks up: 3000.005 x 0.9998 = 2999.404999, x 1.0002 = 3000.605001
    bids, asks = quotes(D("3000.005"), SPEC, cfg)
    assert bids[0][0] == D("2999.40") and asks[0][0] == D("3000.61")


def test_quotes_stay_one_tick_apart_and_never_cross_on_a_coarse_tick() -> None:
    coarse = MarketSpec("X", D(1), D(1), D(5), D(0), D("0.1"), D("0.05"))
    cfg = LiquidityConfig(levels=3, spread_bps=D(0), level_step_bps=D(0), size_per_level=D(2))
    bids, asks = quotes(D(100), coarse, cfg)
    assert [p for p, _ in bids] == [D(99), D(98), D(97)]
    assert [p for p, _ in asks] == [D(100), D(101), D(102)]
    assert {s for _, s in bids + asks} == {D(5)}  # size raised to the market's minimum


def test_random_walk_is_seeded_and_deterministic() -> None:
    a = RandomWalkMid(D(3000), start_ms=NOW_MS, seed=7, step_ms=1000, vol_bps=D(10))
    b = RandomWalkMid(D(3000), start_ms=NOW_MS, seed=7, step_ms=1000, vol_bps=D(10))
    c = RandomWalkMid(D(3000), start_ms=NOW_MS, seed=8, step_ms=1000, vol_bps=D(10))
    times = [NOW_MS - 5, NOW_MS, NOW_MS + 999, NOW_MS + 1000, NOW_MS + 60_000]
    assert [a(t) for t in reversed(times)][::-1] == [b(t) for t in times]  # order of queries irrelevant
    assert a(NOW_MS - 5) == a(NOW_MS) == a(NOW_MS + 999) == D(3000)
    assert a(NOW_MS + 1000) != D(3000)
    assert [a(NOW_MS + i * 1000) for i in range(1, 20)] != [c(NOW_MS + i * 1000) for i in range(1, 20)]
    assert all(D(2500) < a(NOW_MS + i * 1000) < D(3500) for i in range(100))
    with pytest.raises(ValueError):
        RandomWalkMid(D(0), start_ms=0, seed=1)


def test_series_mid_validation() -> None:
    mid = SeriesMid([(10, D(1)), (20, D(2))])
    assert (mid(0), mid(10), mid(19), mid(20)) == (D(1), D(1), D(1), D(2))
    with pytest.raises(ValueError):
        SeriesMid([])
    with pytest.raises(ValueError):
        SeriesMid([(10, D(1)), (10, D(2))])


def _engine_with_maker(path: SeriesMid, **cfg: object) -> tuple[Engine, ScaledClock, int]:
    clock = ScaledClock(frozen_ms=NOW_MS)
    engine = Engine(LIGHTER_RULES, clock=clock)
    engine.add_market(SPEC)
    config = LiquidityConfig(
        levels=2,
        spread_bps=D(4),
        level_step_bps=D(2),
        size_per_level=D(1),
        **cfg,  # type: ignore[arg-type]
    )
    liq = engine.add_liquidity("ETH", path, config)
    return engine, clock, liq.account_id


def test_maker_quotes_around_the_mid_and_moves_the_mark() -> None:
    path = SeriesMid([(NOW_MS, D(3000)), (NOW_MS + 1000, D(3010))])
    engine, clock, mm = _engine_with_maker(path)
    book = engine.market("ETH").book
    assert engine.market("ETH").mark_price == D(3000)
    assert book.levels(BUY) == [(D("2999.40"), D(1)), (D("2998.80"), D(1))]
    assert book.levels(SELL) == [(D("3000.60"), D(1)), (D("3001.20"), D(1))]
    assert engine.account(mm).exempt
    clock.freeze(NOW_MS + 1000)
    engine.sync()
    assert engine.market("ETH").mark_price == D(3010)
    # 3010 x 0.9998 = 3009.398 -> 3009.39; x 0.9996 = 3008.796 -> 3008.79; x 1.0002 = 3010.602 -> 3010.61
    assert book.levels(BUY) == [(D("3009.39"), D(1)), (D("3008.79"), D(1))]
    assert book.levels(SELL) == [(D("3010.61"), D(1)), (D("3011.21"), D(1))]
    assert len(engine.account(mm).orders) == 4  # replaced quotes are not kept


def test_price_moving_through_a_resting_user_order_fills_it() -> None:
    path = SeriesMid([(NOW_MS, D(3000)), (NOW_MS + 1000, D(3010))])
    engine, clock, mm = _engine_with_maker(path)
    user = engine.create_account(collateral=D(10_000)).account_id
    ask = engine.place(user, "ETH", SELL, D("0.5"), D(3005))
    assert ask.resting
    clock.freeze(NOW_MS + 1000)
    engine.sync()
    assert ask.status is OrderStatus.FILLED and ask.avg_fill_price == D(3005)
    assert engine.position(user, "ETH").size == D("-0.5")  # type: ignore[union-attr]
    # the maker bought 0.5 as taker; its best bid keeps the other 0.5
    assert engine.position(mm, "ETH").size == D("0.5")  # type: ignore[union-attr]
    assert engine.market("ETH").book.levels(BUY)[0] == (D("3009.39"), D("0.5"))
    assert not engine.market("ETH").book.is_crossed()


def test_depleted_quotes_are_replenished_after_replenish_ms() -> None:
    path = SeriesMid([(NOW_MS, D(3000))])
    engine, clock, _ = _engine_with_maker(path, replenish_ms=1000)
    user = engine.create_account(collateral=D(10_000)).account_id
    order = engine.place(user, "ETH", BUY, D("1.5"), None, type=OrderType.MARKET)
    assert order.filled == D("1.5") and order.avg_fill_price == D("3000.8")  # (3000.6 + 0.5 x 3001.2) / 1.5
    book = engine.market("ETH").book
    assert book.levels(SELL) == [(D("3001.20"), D("0.5"))]
    kept = book.orders(SELL)[0]
    clock.freeze(NOW_MS + 999)
    engine.sync()
    assert book.levels(SELL) == [(D("3001.20"), D("0.5"))]  # not yet
    clock.freeze(NOW_MS + 1000)
    engine.sync()
    assert book.levels(SELL) == [(D("3000.60"), D(1)), (D("3001.20"), D(1))]
    # the partly consumed quote keeps its place; the top-up queues behind it
    at_3001_20 = [o for o in book.orders(SELL) if o.price == D("3001.20")]
    assert at_3001_20[0] is kept and kept.remaining == D("0.5") and at_3001_20[1].remaining == D("0.5")


def test_set_mark_price_moves_the_makers_quotes() -> None:
    engine, _, _ = _engine_with_maker(SeriesMid([(NOW_MS, D(3000))]))
    engine.set_mark_price("ETH", D(2000))
    assert engine.market("ETH").mark_price == D(2000)
    assert engine.market("ETH").book.best_bid() == D("1999.60")  # 2000 x 0.9998
    assert engine.market("ETH").book.best_ask() == D("2000.40")


# ------------------------------------------------------------------------------------------------ clock


def test_scaled_clock_speed_freeze_and_advance() -> None:
    real = [0]
    clock = ScaledClock(start_ms=NOW_MS, speed=3600, monotonic_ns=lambda: real[0])
    assert isinstance(clock, SimClock)
    assert clock.now_ms() == NOW_MS and clock.now_s() == NOW_MS // 1000
    real[0] = 1_000_000_000  # one real second = one simulated hour
    assert clock.now_ms() == NOW_MS + HOUR
    assert clock.now_us() == (NOW_MS + HOUR) * 1000
    clock.set_speed(1)
    real[0] = 2_000_000_000
    assert clock.now_ms() == NOW_MS + HOUR + 1000  # continuous across the speed change
    clock.freeze(clock.now_ms())
    real[0] = 9_000_000_000
    assert clock.now_ms() == NOW_MS + HOUR + 1000
    clock.advance(500)
    assert clock.now_ms() == NOW_MS + HOUR + 1500
    clock.freeze(None)  # runs again from the frozen time
    real[0] = 10_000_000_000
    assert clock.now_ms() == NOW_MS + HOUR + 2500
    clock.advance(HOUR)
    assert clock.now_ms() == NOW_MS + 2 * HOUR + 2500
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        ScaledClock(speed=0)


async def test_run_forever_keeps_settling_funding_in_the_background() -> None:
    clock = ScaledClock(start_ms=NOW_MS + 1, speed=36_000)  # one simulated hour per 0.1 real second
    engine = Engine(LIGHTER_RULES, clock=clock)
    engine.add_market(SPEC, funding=ConstantRate(D("0.0001")))
    engine.add_liquidity("ETH", SeriesMid([(0, D(2000))]))
    user = engine.create_account(collateral=D(10_000)).account_id
    engine.place(user, "ETH", BUY, D(1), None, type=OrderType.MARKET)
    task = asyncio.create_task(engine.run_forever(0.005))
    try:
        for _ in range(200):
            await asyncio.sleep(0.01)
            if engine.account(user).funding_payments:
                break
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    payment = engine.account(user).funding_payments[0]
    assert payment.ts_ms == NOW_MS + HOUR and payment.amount == D("-0.2")  # 1 x 2000 x 0.0001
