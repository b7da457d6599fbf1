"""Engine per-account, per-market leverage (issue #5): the chosen initial margin fraction drives that account's
initial-margin checks only; limits come from the market's minimum IMF. Values computed by hand."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from simulator.engine import (
    Engine,
    LeverageError,
    MarketSpec,
    OrderStatus,
    Reason,
    ScaledClock,
    Side,
    UnknownAccountError,
    UnknownMarketError,
)
from simulator.lighter.markets import LIGHTER_RULES, lighter_market_spec
from tests.shared_data import load_payload

NOW_MS = 1_800_000_000_000
BUY = Side.BUY


def make_engine(**overrides: object) -> Engine:
    fields: dict[str, object] = {
        "symbol": "ETH",
        "tick_size": D("0.01"),
        "size_step": D("0.001"),
        "min_size": D("0.001"),
        "min_notional": D(0),
        "initial_margin_fraction": D("0.05"),
        "maintenance_margin_fraction": D("0.012"),
        "min_initial_margin_fraction": D("0.02"),
        "mark_price": D(3000),
    }
    fields.update(overrides)
    engine = Engine(LIGHTER_RULES, clock=ScaledClock(frozen_ms=NOW_MS))
    engine.add_market(MarketSpec(**fields))  # type: ignore[arg-type]
    return engine


def test_default_leverage_and_limits() -> None:
    engine = make_engine()
    a = engine.create_account(collateral=D(1000)).account_id
    assert engine.leverage(a, "ETH") == D(20)  # 1 / 5 %
    assert engine.market("ETH").spec.max_leverage == D(50)  # 1 / 2 %
    with pytest.raises(LeverageError, match=r"leverage 51 outside 1\.\.50"):
        engine.set_leverage(a, "ETH", D(51))
    with pytest.raises(LeverageError, match="outside"):
        engine.set_leverage(a, "ETH", D("0.5"))
    with pytest.raises(UnknownMarketError):
        engine.set_leverage(a, "BTC", D(10))
    with pytest.raises(UnknownAccountError):
        engine.set_leverage(999, "ETH", D(10))
    assert engine.account(a).initial_margin_fractions == {}  # refusals change nothing
    assert engine.set_leverage(a, "ETH", D(50)) == D("0.02")
    assert engine.leverage(a, "ETH") == D(50)
    assert engine.set_leverage(a, "ETH", D(4)) == D("0.25")
    assert engine.leverage(a, "ETH") == D(4)


def test_min_imf_defaults_to_the_initial_fraction() -> None:
    engine = make_engine(min_initial_margin_fraction=None)
    a = engine.create_account(collateral=D(1000)).account_id
    assert engine.market("ETH").spec.max_leverage == D(20)
    with pytest.raises(LeverageError):
        engine.set_leverage(a, "ETH", D(21))


def test_min_imf_must_lie_between_maintenance_and_initial() -> None:
    with pytest.raises(ValueError, match="minimum initial fraction"):
        make_engine(min_initial_margin_fraction=D("0.06"))
    with pytest.raises(ValueError, match="minimum initial fraction"):
        make_engine(min_initial_margin_fraction=D("0.01"))


def test_order_that_fits_at_10x_is_refused_at_1x_and_only_for_that_account() -> None:
    engine = make_engine()
    a = engine.create_account(collateral=D(1000)).account_id
    b = engine.create_account(collateral=D(1000)).account_id
    engine.set_leverage(a, "ETH", D(10))
    # 3 ETH at mark 3000 = 9000 notional: IMR at 10x = 900 <= 1000
    ok = engine.place(a, "ETH", BUY, D(3), D(2900))
    assert ok.status is OrderStatus.OPEN
    assert engine.initial_margin(a) == D(900) and engine.available_margin(a) == D(100)
    engine.cancel(a, ok.order_id)
    engine.set_leverage(a, "ETH", D(1))
    refused = engine.place(a, "ETH", BUY, D(3), D(2900))
    assert refused.status is OrderStatus.REJECTED and refused.reason is Reason.INSUFFICIENT_MARGIN
    # at 1x 0.3 ETH uses 900 of margin
    small = engine.place(a, "ETH", BUY, D("0.3"), D(2900))
    assert small.status is OrderStatus.OPEN
    assert engine.initial_margin(a) == D(900) and engine.available_margin(a) == D(100)
    # b keeps the market default 20x: 3 ETH needs 450
    other = engine.place(b, "ETH", BUY, D(3), D(2900))
    assert other.status is OrderStatus.OPEN and engine.initial_margin(b) == D(450)


def test_changing_leverage_recomputes_the_requirement_of_resting_orders() -> None:
    engine = make_engine()
    a = engine.create_account(collateral=D(1000)).account_id
    engine.place(a, "ETH", BUY, D(1), D(2900))
    assert engine.initial_margin(a) == D(150)  # 3000 x 5 %
    engine.set_leverage(a, "ETH", D(40))
    assert engine.initial_margin(a) == D(75)  # 3000 x 2.5 %
    assert engine.available_margin(a) == D(925)


def test_set_initial_margin_fraction_bounds() -> None:
    engine = make_engine()
    a = engine.create_account(collateral=D(1000)).account_id
    assert engine.set_initial_margin_fraction(a, "ETH", D("0.0333")) == D("0.0333")
    with pytest.raises(LeverageError):
        engine.set_initial_margin_fraction(a, "ETH", D("0.0199"))
    with pytest.raises(LeverageError):
        engine.set_initial_margin_fraction(a, "ETH", D("1.0001"))
    assert engine.account(a).initial_margin_fractions == {"ETH": D("0.0333")}


def test_lighter_spec_reads_the_minimum_fraction() -> None:
    row = {
        "symbol": "ETH",
        "market_id": 0,
        "price_decimals": 2,
        "size_decimals": 4,
        "min_base_amount": "0.0028",
        "min_quote_amount": "10",
        "default_initial_margin_fraction": 500,
        "min_initial_margin_fraction": 200,
        "maintenance_margin_fraction": 120,
        "maker_fee": "0",
        "taker_fee": "0",
        "liquidation_fee": "1",
        "mark_price": "3600",
    }
    spec = lighter_market_spec(row)
    assert (spec.initial_margin_fraction, spec.min_imf, spec.max_leverage) == (D("0.05"), D("0.02"), D(50))
    del row["min_initial_margin_fraction"]
    assert lighter_market_spec(row).min_imf == D("0.05")


def test_recorded_mainnet_row_gives_max_leverage_50() -> None:
    row = load_payload("lighter", "rest_orderBookDetails_market0")["order_book_details"][0]
    spec = lighter_market_spec(row)  # min_initial_margin_fraction 200 (1e-4 units)
    assert (spec.min_imf, spec.max_leverage) == (D("0.02"), D(50))
