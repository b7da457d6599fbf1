"""Funding in the engine: Lighter hourly settlement and Paradex continuous index, against hand-computed
amounts; rate providers (constant, series, replayed history)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from simulator.engine import (
    CallableRate,
    ConstantRate,
    Engine,
    EngineEvent,
    FundingEvent,
    FundingHistoryReplay,
    FundingMode,
    MarketSpec,
    OrderStatus,
    RateProvider,
    ScaledClock,
    SeriesRate,
    Side,
    TimeInForce,
    VenueRules,
)
from simulator.engine.funding import accrue_index, index_payment, settlement_payment
from simulator.lighter.markets import LIGHTER_RULES
from simulator.paradex.markets import PARADEX_RULES
from tests.shared_data import shared_path

HOUR = 3_600_000
NOW_MS = 1_800_000_000_000  # a whole hour (2027-01-15T08:00:00Z)
BUY, SELL = Side.BUY, Side.SELL


def make_engine(
    rules: VenueRules, funding: RateProvider, *, start_ms: int = NOW_MS, **overrides: object
) -> tuple[Engine, ScaledClock]:
    style = FundingMode.SETTLE_EVERY_INTERVAL if rules is LIGHTER_RULES else FundingMode.CONTINUOUS_INDEX
    fields: dict[str, object] = {
        "symbol": "ETH",
        "tick_size": D("0.01"),
        "size_step": D("0.001"),
        "min_size": D("0.001"),
        "min_notional": D(0),
        "initial_margin_fraction": D("0.05"),
        "maintenance_margin_fraction": D("0.012"),
        "liquidation_fee": D("0.01"),
        "mark_price": D(3000),
        "funding_mode": style,
        "funding_period_hours": D(1) if style is FundingMode.SETTLE_EVERY_INTERVAL else D(8),
    }
    fields.update(overrides)
    clock = ScaledClock(frozen_ms=start_ms)
    engine = Engine(rules, clock=clock)
    engine.add_market(MarketSpec(**fields), funding=funding)  # type: ignore[arg-type]
    return engine, clock


def trade(engine: Engine, buyer: int, seller: int, size: str, price: str) -> None:
    ask = engine.place(seller, "ETH", SELL, D(size), D(price))
    bid = engine.place(buyer, "ETH", BUY, D(size), D(price), tif=TimeInForce.IOC)
    assert ask.status is OrderStatus.FILLED and bid.status is OrderStatus.FILLED


def at(clock: ScaledClock, engine: Engine, ms: int) -> None:
    clock.freeze(ms)
    engine.sync()


# ------------------------------------------------------------------------------------------------ formulas


def test_payment_formulas() -> None:
    assert settlement_payment(D(2), D(3000), D("0.0001")) == D("-0.6")  # long pays
    assert settlement_payment(D(-2), D(3000), D("0.0001")) == D("0.6")  # short receives
    assert settlement_payment(D(2), D(3000), D("-0.0001")) == D("0.6")
    assert index_payment(D(2), D("0.305"), D(0)) == D("-0.61")
    assert index_payment(D(-1), D("0.615"), D("0.305")) == D("0.31")
    # index over 30 min at mark 3000, 0.01 %/h: 3000 x 0.0001 x 0.5 = 0.15
    assert accrue_index(D(0), ConstantRate(D("0.0001")), "ETH", D(3000), 0, HOUR // 2) == D("0.15")
    assert accrue_index(D(1), ConstantRate(D("0.0001")), "ETH", D(3000), 5, 5) == D(1)


# ------------------------------------------------------------------------------------------------ Lighter


def test_lighter_settles_every_hour_on_the_hour_at_the_rate_of_the_hour_that_ended() -> None:
    rates = SeriesRate({"ETH": [(NOW_MS, D("0.0001")), (NOW_MS + HOUR, D("-0.0002"))]})
    engine, clock = make_engine(LIGHTER_RULES, rates, start_ms=NOW_MS + 10 * 60_000)
    a = engine.create_account(collateral=D(10_000)).account_id
    b = engine.create_account(collateral=D(10_000)).account_id
    trade(engine, buyer=a, seller=b, size="2", price="3000")
    at(clock, engine, NOW_MS + HOUR - 1)
    assert engine.account(a).funding_payments == []
    # HH:00: rate of the hour that ended = 0.01 %/h: long 2 x 3000 x 0.0001 = 0.6 paid
    at(clock, engine, NOW_MS + HOUR)
    assert engine.account(a).collateral == D("9999.4")
    assert engine.account(b).collateral == D("10000.6")
    pay = engine.account(a).funding_payments[0]
    assert (pay.ts_ms, pay.amount, pay.rate_hourly, pay.mark_price, pay.position_size) == (
        NOW_MS + HOUR,
        D("-0.6"),
        D("0.0001"),
        D(3000),
        D(2),
    )
    engine.set_mark_price("ETH", D(3100))
    # next hours: -0.02 %/h at mark 3100: the long receives 2 x 3100 x 0.0002 = 1.24 per hour; 4 hours jumped
    at(clock, engine, NOW_MS + 5 * HOUR + 123)
    a_pays = engine.account(a).funding_payments
    assert [p.ts_ms for p in a_pays] == [NOW_MS + h * HOUR for h in range(1, 6)]
    assert [p.amount for p in a_pays] == [D("-0.6")] + [D("1.24")] * 4
    assert engine.account(a).collateral == D(10_000) - D("0.6") + 4 * D("1.24")
    assert engine.account(b).collateral == D(10_000) + D("0.6") - 4 * D("1.24")
    assert engine.account(a).funding == D("4.36") and engine.position(a, "ETH").funding == D("4.36")  # type: ignore[union-attr]


def test_lighter_pays_nothing_on_a_zero_rate_or_to_flat_accounts() -> None:
    engine, clock = make_engine(LIGHTER_RULES, ConstantRate(D(0)))
    a = engine.create_account(collateral=D(10_000)).account_id
    b = engine.create_account(collateral=D(10_000)).account_id
    trade(engine, buyer=a, seller=b, size="1", price="3000")
    at(clock, engine, NOW_MS + 3 * HOUR)
    assert engine.account(a).funding_payments == [] and engine.account(a).collateral == D(10_000)
    engine2, clock2 = make_engine(LIGHTER_RULES, ConstantRate(D("0.001")))
    c = engine2.create_account(collateral=D(10_000)).account_id
    at(clock2, engine2, NOW_MS + 3 * HOUR)
    assert engine2.account(c).funding_payments == []


def test_lighter_funding_at_3600x_speed_pays_one_hour_per_real_second() -> None:
    real_ns = [0]
    clock = ScaledClock(start_ms=NOW_MS + 1, speed=3600, monotonic_ns=lambda: real_ns[0])
    engine = Engine(LIGHTER_RULES, clock=clock)
    engine.add_market(
        MarketSpec("ETH", D("0.01"), D("0.001"), D("0.001"), D(0), D("0.05"), D("0.012"), mark_price=D(3000)),
        funding=ConstantRate(D("0.0001")),
    )
    a = engine.create_account(collateral=D(10_000)).account_id
    b = engine.create_account(collateral=D(10_000)).account_id
    trade(engine, buyer=a, seller=b, size="1", price="3000")
    for second in range(1, 4):
        real_ns[0] = second * 1_000_000_000
        engine.sync()
        assert len(engine.account(a).funding_payments) == second
    assert engine.account(a).collateral == D(10_000) - 3 * D("0.3")
    assert engine.now_ms() == NOW_MS + 1 + 3 * HOUR


def test_lighter_funding_can_liquidate() -> None:
    engine, clock = make_engine(LIGHTER_RULES, ConstantRate(D("0.06")))
    a = engine.create_account(collateral=D(200)).account_id
    b = engine.create_account(collateral=D(100_000)).account_id
    trade(engine, buyer=a, seller=b, size="1", price="3000")
    events: list[EngineEvent] = []
    engine.listeners.append(events.append)
    at(clock, engine, NOW_MS + HOUR)  # pays 180: equity 20 < MMR 36 -> liquidated, penalty 30
    account = engine.account(a)
    assert account.liquidations == 1 and account.collateral == D(200) - D(180) - D(30)
    assert [e.payment.amount for e in events if isinstance(e, FundingEvent)] == [D(-180), D(180)]


# ------------------------------------------------------------------------------------------------ Paradex


def test_paradex_index_accrues_continuously_and_is_realised_when_the_position_changes() -> None:
    engine, clock = make_engine(PARADEX_RULES, ConstantRate(D("0.0001")))  # 0.08 % per 8 h period
    a = engine.create_account(collateral=D(10_000)).account_id
    b = engine.create_account(collateral=D(10_000)).account_id
    trade(engine, buyer=a, seller=b, size="2", price="3000")
    market = engine.market("ETH")
    pos_a, pos_b = engine.position(a, "ETH"), engine.position(b, "ETH")
    assert pos_a is not None and pos_b is not None
    # 30 min at mark 3000: index = 3000 x 0.0001 x 0.5 = 0.15
    at(clock, engine, NOW_MS + HOUR // 2)
    assert market.funding_index == D("0.15")
    assert pos_a.unrealized_funding(market) == D("-0.3") and pos_b.unrealized_funding(market) == D("0.3")
    assert engine.account(a).collateral == D(10_000)  # nothing paid yet
    assert engine.equity(a) == D("9999.7")
    # mark to 3100, 30 more minutes: index += 3100 x 0.0001 x 0.5 = 0.155
    engine.set_mark_price("ETH", D(3100))
    at(clock, engine, NOW_MS + HOUR)
    assert market.funding_index == D("0.305")
    # a sells 1 to b at 3100: both positions change -> funding realised
    trade(engine, buyer=b, seller=a, size="1", price="3100")
    acc_a, acc_b = engine.account(a), engine.account(b)
    assert acc_a.collateral == D(10_000) - D("0.61") + D(100)  # funding + realised PnL 1 x 100
    assert acc_b.collateral == D(10_000) + D("0.61") - D(100)
    pay = acc_a.funding_payments[0]
    assert (pay.amount, pay.index, pay.position_size) == (D("-0.61"), D("0.305"), D(2))
    assert pay.fill_id == acc_a.fills[-1].fill_id and acc_a.fills[-1].realized_funding == D("-0.61")
    assert pos_a.funding_index == D("0.305") and pos_a.unrealized_funding(market) == 0
    # one more hour at 3100: index += 0.31
    at(clock, engine, NOW_MS + 2 * HOUR)
    assert market.funding_index == D("0.615")
    assert pos_a.unrealized_funding(market) == D("-0.31") and pos_b.unrealized_funding(market) == D("0.31")
    assert acc_a.funding_payments == [pay]  # no hourly payment on a continuous market


def test_paradex_accrual_splits_at_rate_changes() -> None:
    rates = SeriesRate({"*": [(NOW_MS, D("0.0001")), (NOW_MS + HOUR // 4, D("0.0003"))]})
    engine, clock = make_engine(PARADEX_RULES, rates)
    # one sync over 30 min: 3000 x (0.0001 x 0.25 + 0.0003 x 0.25) = 0.3
    at(clock, engine, NOW_MS + HOUR // 2)
    assert engine.market("ETH").funding_index == D("0.3")
    assert engine.funding_rate("ETH") == D("0.0003")


# ------------------------------------------------------------------------------------------------ providers


def test_series_rate_step_function_and_errors() -> None:
    series = SeriesRate({"ETH": [(100, D("0.1")), (200, D("0.2"))], "*": [(0, D(0))]}, label="test")
    assert series("ETH", 99) is None
    assert (
        series("ETH", 100) == D("0.1") and series("ETH", 199) == D("0.1") and series("ETH", 250) == D("0.2")
    )
    assert series("BTC", 5) == D(0)
    assert series.change_points("ETH", 100, 300) == [200]
    assert series.change_points("ETH", 0, 200) == [100]
    with pytest.raises(ValueError, match="strictly increase"):
        SeriesRate({"ETH": [(5, D(1)), (5, D(2))]})
    fn = CallableRate(lambda market, ts: D("0.5") if market == "ETH" else None, label="fn")
    assert fn("ETH", 0) == D("0.5") and fn("BTC", 0) is None
    assert isinstance(fn, RateProvider)


def test_history_replay_turns_settled_rows_into_hourly_steps() -> None:
    rows = [(NOW_MS + 9 * HOUR, D("-0.0008"), D(8)), (NOW_MS + HOUR, D("0.0008"), D(8))]
    replay = FundingHistoryReplay(rows, label="binance ETH settled history, replayed", shift_ms=HOUR)
    # first row covers [NOW-7h, NOW+1h) shifted by 1 h -> [NOW-6h, NOW+2h) at 0.0008/8 = 0.0001 per hour
    assert replay("ETH", NOW_MS - 6 * HOUR) == D("0.0001")
    assert replay("ETH", NOW_MS + 2 * HOUR - 1) == D("0.0001")
    assert replay("ETH", NOW_MS + 2 * HOUR) == D("-0.0001")
    assert replay("ETH", NOW_MS - 6 * HOUR - 1) is None
    assert replay.label == "binance ETH settled history, replayed"


def test_recorded_hyperliquid_history_replayed_under_lighter_hourly_settlement() -> None:
    path = shared_path("funding-history", "hyperliquid.parquet")
    replay = FundingHistoryReplay.from_parquet(path, venue_symbol="BTC", start_at_ms=NOW_MS)
    assert replay.label == "hyperliquid BTC settled funding history (hyperliquid.parquet), replayed"
    # first recorded BTC row: 1.25e-05 per 1 h interval, settled 2025-08-21T05:00:00.055Z
    assert replay("BTC", NOW_MS) == D("0.0000125")
    assert replay.change_points("BTC", NOW_MS, NOW_MS + 3 * HOUR) == [NOW_MS + HOUR, NOW_MS + 2 * HOUR]
    engine, clock = make_engine(
        LIGHTER_RULES, replay, symbol="BTC", mark_price=D(100_000), tick_size=D("0.1")
    )
    a = engine.create_account(collateral=D(100_000)).account_id
    b = engine.create_account(collateral=D(100_000)).account_id
    ask = engine.place(b, "BTC", SELL, D(1), D(100_000))
    engine.place(a, "BTC", BUY, D(1), D(100_000), tif=TimeInForce.IOC)
    assert ask.status is OrderStatus.FILLED
    at(clock, engine, NOW_MS + HOUR)
    assert engine.account(a).funding_payments[0].amount == D("-1.25")  # 1 x 100000 x 0.0000125
    with pytest.raises(ValueError, match="no funding rows"):
        FundingHistoryReplay.from_parquet(path, venue_symbol="NOPE-NOT-A-SYMBOL")


def test_interval_settlement_pays_every_n_hours_the_sum_of_the_hourly_rates() -> None:
    """`settlement_interval_hours`: an 8-hour market settles at 00/08/16 UTC only, the interval's hourly rates
    summed (a rate change inside the interval counts for the hours it was in force); a 4-hour market every 4 h."""
    day = NOW_MS - NOW_MS % (24 * HOUR)  # 00:00 UTC; NOW_MS is 08:00
    rates = SeriesRate({"ETH": [(day, D("0.0001")), (day + 6 * HOUR, D("0.0003"))]})
    engine, clock = make_engine(LIGHTER_RULES, rates, start_ms=day + 60_000, settlement_interval_hours=8)
    a = engine.create_account(collateral=D(10_000)).account_id
    b = engine.create_account(collateral=D(10_000)).account_id
    trade(engine, buyer=a, seller=b, size="1", price="3000")
    at(clock, engine, day + 7 * HOUR)
    assert engine.account(a).funding_payments == []
    at(clock, engine, day + 8 * HOUR)
    (pay,) = engine.account(a).funding_payments
    # 6 h at 0.0001 + 2 h at 0.0003 = 0.0012 of 3000 notional = 3.6 paid by the long, mean 0.00015 / h
    assert (pay.ts_ms, pay.amount, pay.rate_hourly) == (day + 8 * HOUR, D("-3.6"), D("0.00015"))
    assert engine.account(b).collateral == D("10003.6")
    engine4, clock4 = make_engine(
        LIGHTER_RULES, ConstantRate(D("0.0001")), start_ms=day + 1, settlement_interval_hours=4
    )
    c = engine4.create_account(collateral=D(10_000)).account_id
    e = engine4.create_account(collateral=D(10_000)).account_id
    trade(engine4, buyer=c, seller=e, size="1", price="3000")
    at(clock4, engine4, day + 12 * HOUR)
    assert [(p.ts_ms - day) // HOUR for p in engine4.account(c).funding_payments] == [4, 8, 12]
    assert {p.amount for p in engine4.account(c).funding_payments} == {D("-1.2")}
    with pytest.raises(ValueError, match="divide 24"):
        make_engine(LIGHTER_RULES, ConstantRate(D(0)), settlement_interval_hours=5)
