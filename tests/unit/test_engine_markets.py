"""MarketSpec builders on the venues' own market payloads (demo scenario and recorded ../shared payloads)."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import pytest

from perparb_core.units import UnitError
from simulator.engine import (
    Engine,
    FundingMode,
    MarketSpec,
    OrderStatus,
    Reason,
    ScaledClock,
    Side,
)
from simulator.lighter.markets import LIGHTER_RULES, lighter_market_spec
from simulator.paradex.markets import PARADEX_RULES, paradex_market_spec
from tests.shared_data import load_payload

DEMO = Path(__file__).resolve().parents[2] / "simulator" / "scenarios" / "demo"


def test_lighter_spec_from_demo_order_book_details() -> None:
    body = json.loads((DEMO / "lighter" / "orderBookDetails.json").read_text())
    eth = next(r for r in body["order_book_details"] if r["symbol"] == "ETH")
    spec = lighter_market_spec(eth)
    assert spec == MarketSpec(
        symbol="ETH",
        tick_size=D("0.01"),
        size_step=D("0.0001"),
        min_size=D("0.0028"),
        min_notional=D("10.000000"),
        initial_margin_fraction=D("0.05"),  # 500 x 1e-4
        maintenance_margin_fraction=D("0.012"),  # 120 x 1e-4
        maker_fee=D(0),
        taker_fee=D(0),
        liquidation_fee=D("0.01"),  # "1.0000" percent
        funding_mode=FundingMode.SETTLE_EVERY_INTERVAL,
        funding_period_hours=D(1),
        market_id=0,
        mark_price=D("3600.25"),
        min_initial_margin_fraction=D("0.02"),  # 200 x 1e-4 (max leverage 50)
    )


def test_lighter_spec_from_recorded_mainnet_row_falls_back_to_last_trade_price() -> None:
    row = load_payload("lighter", "rest_orderBookDetails_market0")["order_book_details"][0]
    spec = lighter_market_spec(row)
    assert (spec.symbol, spec.market_id, spec.tick_size, spec.size_step) == ("ETH", 0, D("0.01"), D("0.0001"))
    assert (spec.min_size, spec.min_notional) == (D("0.0050"), D(10))
    assert spec.mark_price == D("3550.69")  # no mark_price in the 2025 recording: last_trade_price
    premium = dict(row, taker_fee="0.0280", maker_fee="0.0040")  # PROTOCOL_NOTES §1.6 premium tier
    assert (lighter_market_spec(premium).taker_fee, lighter_market_spec(premium).maker_fee) == (
        D("0.00028"),
        D("0.00004"),
    )


def test_lighter_spec_rejects_missing_fields() -> None:
    row = {"symbol": "X", "price_decimals": 2, "size_decimals": "4"}
    with pytest.raises(UnitError, match="size_decimals"):
        lighter_market_spec(row)
    with pytest.raises(UnitError, match="default_initial_margin_fraction"):
        lighter_market_spec({"symbol": "X", "price_decimals": 2, "size_decimals": 4})


def test_paradex_spec_from_demo_markets() -> None:
    body = json.loads((DEMO / "paradex" / "markets.json").read_text())
    eth = next(r for r in body["results"] if r["symbol"] == "ETH-USD-PERP")
    spec = paradex_market_spec(eth, mark_price=D(3600))
    assert spec == MarketSpec(
        symbol="ETH-USD-PERP",
        tick_size=D("0.01"),
        size_step=D("0.0001"),
        min_size=D("0.0001"),
        min_notional=D(10),
        max_size=D("138.8792"),
        initial_margin_fraction=D("0.02"),
        maintenance_margin_fraction=D("0.01"),  # imf 0.02 x mmf_factor 0.5
        maker_fee=D("0.00003"),
        taker_fee=D("0.0002"),
        liquidation_fee=D("0.007"),  # 70 % of the 1 % MMR
        funding_mode=FundingMode.CONTINUOUS_INDEX,
        funding_period_hours=D(8),
        mark_price=D(3600),
    )


def test_paradex_spec_from_recorded_btc_market() -> None:
    row = load_payload("paradex", "rest_markets_btc")["results"][0]
    spec = paradex_market_spec(row, liquidation_fee=D("0.2"), mark_price=D(100_000))
    assert (spec.tick_size, spec.size_step, spec.min_notional, spec.max_size) == (
        D("0.1"),
        D("0.001"),
        D(500),
        D(100),
    )
    assert (spec.initial_margin_fraction, spec.maintenance_margin_fraction) == (D("0.02"), D("0.01"))
    assert spec.liquidation_fee == D("0.002")
    assert (spec.maker_fee, spec.taker_fee, spec.funding_period_hours) == (D(0), D(0), D(8))  # not in the row


def test_specs_from_payloads_drive_an_engine() -> None:
    lighter_row = next(
        r
        for r in json.loads((DEMO / "lighter" / "orderBookDetails.json").read_text())["order_book_details"]
        if r["symbol"] == "ETH"
    )
    engine = Engine(LIGHTER_RULES, clock=ScaledClock(frozen_ms=1_800_000_000_000))
    engine.add_market(lighter_market_spec(lighter_row))
    trader = engine.create_account(collateral=D(1000)).account_id
    below = engine.place(trader, "ETH", Side.BUY, D("0.0027"), D(3600))
    odd_tick = engine.place(trader, "ETH", Side.BUY, D("0.01"), D("3600.001"))
    ok = engine.place(trader, "ETH", Side.BUY, D("0.0028"), D(3600))
    assert below.reason is Reason.MIN_SIZE and odd_tick.reason is Reason.TICK_SIZE
    assert ok.status is OrderStatus.OPEN
    paradex_row = next(
        r
        for r in json.loads((DEMO / "paradex" / "markets.json").read_text())["results"]
        if r["symbol"] == "ETH-USD-PERP"
    )
    pdx = Engine(PARADEX_RULES, clock=ScaledClock(frozen_ms=1_800_000_000_000))
    pdx.add_market(paradex_market_spec(paradex_row, mark_price=D(3600)))
    assert pdx.market("ETH-USD-PERP").spec.funding_mode is FundingMode.CONTINUOUS_INDEX


def test_market_spec_validates_its_parameters() -> None:
    with pytest.raises(ValueError, match="tick_size must be positive"):
        MarketSpec("X", D(0), D(1), D(1), D(0), D("0.1"), D("0.05"))
    with pytest.raises(ValueError, match="exceeds initial"):
        MarketSpec("X", D(1), D(1), D(1), D(0), D("0.01"), D("0.05"))
