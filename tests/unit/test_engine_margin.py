"""Engine accounts: fees, average entry and realised PnL, equity, margin refusal, withdrawals and liquidation,
all against hand-computed values."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from simulator.engine import (
    INSURANCE_ACCOUNT_ID,
    Engine,
    EngineError,
    EngineEvent,
    InsufficientMarginError,
    LiquidationEvent,
    Liquidity,
    MarketSpec,
    OrderStatus,
    Reason,
    ScaledClock,
    Side,
    TimeInForce,
    TradeKind,
    VenueRules,
)
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
        "min_size": D("0.001"),
        "min_notional": D(0),
        "initial_margin_fraction": D("0.05"),
        "maintenance_margin_fraction": D("0.012"),
        "liquidation_fee": D("0.01"),
        "mark_price": D(3000),
    }
    fields.update(overrides)
    engine = Engine(rules, clock=ScaledClock(frozen_ms=NOW_MS))
    engine.add_market(MarketSpec(**fields))  # type: ignore[arg-type]
    return engine


def trade(engine: Engine, buyer: int, seller: int, size: str, price: str) -> None:
    """`seller` rests an ask, `buyer` takes it (buyer = taker)."""
    ask = engine.place(seller, "ETH", SELL, D(size), D(price))
    bid = engine.place(buyer, "ETH", BUY, D(size), D(price), tif=TimeInForce.IOC)
    assert ask.status is OrderStatus.FILLED and bid.status is OrderStatus.FILLED, (ask, bid)


def test_maker_and_taker_fees_are_fractions_of_notional() -> None:
    engine = make_engine(maker_fee=D("0.00004"), taker_fee=D("0.00028"))
    maker = engine.create_account(collateral=D(10_000)).account_id
    taker = engine.create_account(collateral=D(10_000)).account_id
    trade(engine, buyer=taker, seller=maker, size="2", price="3000")
    # notional 6000: maker 6000 x 0.004 % = 0.24, taker 6000 x 0.028 % = 1.68
    assert engine.account(maker).collateral == D("9999.76")
    assert engine.account(taker).collateral == D("9998.32")
    maker_fill, taker_fill = engine.account(maker).fills[0], engine.account(taker).fills[0]
    assert (maker_fill.liquidity, maker_fill.fee) == (Liquidity.MAKER, D("0.24"))
    assert (taker_fill.liquidity, taker_fill.fee) == (Liquidity.TAKER, D("1.68"))
    assert engine.account(taker).fees_paid == D("1.68")


def test_negative_maker_fee_is_a_rebate() -> None:
    engine = make_engine(maker_fee=D("-0.00005"), taker_fee=D("0.0003"))
    maker = engine.create_account(collateral=D(10_000)).account_id
    taker = engine.create_account(collateral=D(10_000)).account_id
    trade(engine, buyer=taker, seller=maker, size="1", price="2000")
    assert engine.account(maker).collateral == D("10000.1")  # +2000 x 0.005 %
    assert engine.account(taker).collateral == D("9999.4")  # -2000 x 0.03 %


def test_average_entry_realised_pnl_and_flip() -> None:
    engine = make_engine()
    a = engine.create_account(collateral=D(10_000)).account_id
    b = engine.create_account(collateral=D(10_000)).account_id
    trade(engine, buyer=a, seller=b, size="1", price="3000")
    trade(engine, buyer=a, seller=b, size="1", price="3010")
    pos = engine.position(a, "ETH")
    assert pos is not None and pos.size == D(2) and pos.entry_price == D(3005)
    trade(engine, buyer=b, seller=a, size="0.5", price="3020")  # realise 0.5 x (3020 - 3005) = 7.5
    assert pos.size == D("1.5") and pos.entry_price == D(3005) and pos.realized_pnl == D("7.5")
    trade(engine, buyer=b, seller=a, size="2", price="2990")  # close 1.5 x -15 = -22.5, flip to short 0.5
    assert pos.size == D("-0.5") and pos.entry_price == D(2990) and pos.realized_pnl == D("-15")
    account = engine.account(a)
    assert account.collateral == D(10_000) - D(15)
    assert [f.realized_pnl for f in account.fills] == [D(0), D(0), D("7.5"), D("-22.5")]
    assert [f.position_after for f in account.fills] == [D(1), D(2), D("1.5"), D("-0.5")]
    # mark 3000: short 0.5 from 2990 loses 5
    assert pos.unrealized_pnl(D(3000)) == D(-5)
    assert engine.equity(a) == D(10_000) - D(15) - D(5)
    # b is the mirror image: short 0.5 from 3010 via 3005 average... its realised + a's realised == 0
    assert engine.account(b).realized_pnl == -account.realized_pnl


def test_margin_refusal_and_offsetting_orders() -> None:
    engine = make_engine()
    a = engine.create_account(collateral=D(100)).account_id
    # IMR = open size x mark 3000 x 5 %: 0.7 -> 105 > 100, 0.6 -> 90
    too_big = engine.place(a, "ETH", BUY, D("0.7"), D(2990))
    assert too_big.status is OrderStatus.REJECTED and too_big.reason is Reason.INSUFFICIENT_MARGIN
    assert lighter_status(too_big) == "canceled-margin-not-allowed"
    assert paradex_cancel_reason(too_big.reason) == "NOT_ENOUGH_MARGIN"
    ok = engine.place(a, "ETH", BUY, D("0.6"), D(2990))
    assert ok.status is OrderStatus.OPEN
    assert engine.initial_margin(a) == D(90) and engine.available_margin(a) == D(10)
    # a sell of 0.5 does not raise the open size (max(0.6, 0.5) = 0.6): accepted
    sell = engine.place(a, "ETH", SELL, D("0.5"), D(3100))
    assert sell.status is OrderStatus.OPEN and engine.initial_margin(a) == D(90)
    # 0.2 more makes the sell side 0.7 -> IMR 105 > equity 100
    more = engine.place(a, "ETH", SELL, D("0.2"), D(3100))
    assert more.reason is Reason.INSUFFICIENT_MARGIN


def test_order_reducing_a_position_is_accepted_below_initial_margin() -> None:
    # Paradex "Paradex Risk Checks" example: collateral 100, IMF 10 %, long 10 at 100, mark drops to 98
    engine = make_engine(
        PARADEX_RULES,
        initial_margin_fraction=D("0.1"),
        maintenance_margin_fraction=D("0.05"),
        mark_price=D(100),
        tick_size=D("0.01"),
    )
    alice = engine.create_account(collateral=D(100)).account_id
    bob = engine.create_account(collateral=D(10_000)).account_id
    trade(engine, buyer=alice, seller=bob, size="10", price="100")
    engine.set_mark_price("ETH", D(98))
    assert engine.equity(alice) == D(80) and engine.initial_margin(alice) == D("98.0")
    assert engine.account(alice).liquidations == 0  # MMR 49 < 80
    sell5 = engine.place(alice, "ETH", SELL, D(5), D(105))
    assert sell5.status is OrderStatus.OPEN
    buy = engine.place(alice, "ETH", BUY, D(1), D(90))
    assert buy.reason is Reason.INSUFFICIENT_MARGIN  # open size 11 > 10 while equity < IMR


def test_withdrawal_is_limited_to_free_collateral() -> None:
    engine = make_engine()
    a = engine.create_account(collateral=D(1000)).account_id
    engine.place(a, "ETH", BUY, D(2), D(2900))  # IMR 2 x 3000 x 5 % = 300
    with pytest.raises(InsufficientMarginError, match="exceeds free collateral 700"):
        engine.withdraw(a, D(701))
    assert engine.withdraw(a, D(700)) == D(300)
    account = engine.account(a)
    assert account.deposits == D(300)
    with pytest.raises(EngineError):
        engine.deposit(a, D(0))


def test_liquidation_below_maintenance_closes_at_mark_with_penalty_to_insurance_fund() -> None:
    engine = make_engine()
    events: list[EngineEvent] = []
    engine.listeners.append(events.append)
    a = engine.create_account(collateral=D(200)).account_id
    b = engine.create_account(collateral=D(10_000)).account_id
    trade(engine, buyer=a, seller=b, size="1", price="3000")  # IMR 150 <= 200
    resting = engine.place(a, "ETH", SELL, D("0.5"), D(3500))
    # mark 2840: equity 200 - 160 = 40 >= MMR 2840 x 1.2 % = 34.08 -> safe
    engine.set_mark_price("ETH", D(2840))
    assert engine.account(a).liquidations == 0
    # mark 2830: equity 30 < MMR 33.96 -> liquidated at 2830, penalty 1 % x 2830 = 28.3
    engine.set_mark_price("ETH", D(2830))
    account = engine.account(a)
    assert account.liquidations == 1
    assert engine.position(a, "ETH").size == 0  # type: ignore[union-attr]
    assert account.collateral == D(200) - D(170) - D("28.3")
    assert resting.status is OrderStatus.CANCELLED and resting.reason is Reason.LIQUIDATION
    assert lighter_status(resting) == "canceled-liquidation"
    liq_fill = account.fills[-1]
    assert (liq_fill.kind, liq_fill.price, liq_fill.size, liq_fill.fee) == (
        TradeKind.LIQUIDATION,
        D(2830),
        D(1),
        D("28.3"),
    )
    assert liq_fill.realized_pnl == D(-170)
    fund = engine.account(INSURANCE_ACCOUNT_ID)
    fund_pos = engine.position(INSURANCE_ACCOUNT_ID, "ETH")
    assert fund_pos is not None and fund_pos.size == D(1) and fund_pos.entry_price == D(2830)
    assert fund.collateral == D("28.3") and fund.fees_paid == D("-28.3")
    assert engine.market("ETH").trades[-1].kind is TradeKind.LIQUIDATION
    liquidations = [e for e in events if isinstance(e, LiquidationEvent)]
    assert len(liquidations) == 1 and liquidations[0].fills == (liq_fill,)
    # the counterparty is untouched
    assert engine.position(b, "ETH").size == D(-1)  # type: ignore[union-attr]


def test_liquidation_can_leave_a_negative_balance() -> None:
    engine = make_engine()
    a = engine.create_account(collateral=D(200)).account_id
    b = engine.create_account(collateral=D(10_000)).account_id
    trade(engine, buyer=a, seller=b, size="1", price="3000")
    engine.set_mark_price("ETH", D(2500))  # gap through the liquidation price
    account = engine.account(a)
    assert account.liquidations == 1
    assert account.collateral == D(200) - D(500) - D(25)  # bad debt is not socialised
    assert account.collateral == account.deposits - account.fees_paid + account.realized_pnl + account.funding


def test_exempt_accounts_are_never_margin_checked_nor_liquidated() -> None:
    engine = make_engine()
    mm = engine.create_account(exempt=True).account_id  # no collateral at all
    b = engine.create_account(collateral=D(10_000)).account_id
    big = engine.place(mm, "ETH", SELL, D(10), D(3000))
    assert big.status is OrderStatus.OPEN
    bid = engine.place(b, "ETH", BUY, D(1), D(3000), tif=TimeInForce.IOC)
    assert bid.filled == D(1) and big.remaining == D(9)
    engine.set_mark_price("ETH", D(6000))
    assert engine.account(mm).liquidations == 0
    assert engine.equity(mm) < 0
