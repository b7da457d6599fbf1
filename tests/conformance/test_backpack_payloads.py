"""Backpack conformance: EVERY recorded payload in ../shared/venue-data/backpack/ goes through this project's parsers,
pinned to exact normalised values: rates per the market's `fundingInterval` (ms), the 8 h -> 1 h change of
2025-08-20T08:00Z, the in-progress first row of `fundingRates` (skipped), caps in basis points, open interest in base
units, signs (+ = longs pay; funding payments + received), orders, fills, positions, balances, depth and the
WebSocket frames. A payload perparb does not consume is listed in NOT_CONSUMED with the reason, so a new recording
cannot be silently ignored. Skips with a reason when ../shared is absent.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from exchange_clients.backpack.client.utils.converters import (
    fill_from_update,
    order_from_update,
    parse_fill,
    parse_funding_payment,
    parse_order,
    parse_position,
    position_from_update,
)
from exchange_clients.backpack.common import BackpackRejectedError, normalize_symbol
from exchange_clients.backpack.funding_adapter.fetchers import (
    SOURCE_FUNDING_RATES,
    SOURCE_FUNDING_RATES_8H,
    RateBounds,
    parse_funding_rates,
    parse_mark_prices,
    parse_markets,
    parse_open_interest,
    parse_tickers,
    parse_ws_mark_price,
    predicted_from_marks,
    with_stats,
)
from exchange_clients.backpack.http import decode_response, error_code
from exchange_clients.backpack.websocket.order_book import DepthSync, parse_depth_delta, parse_depth_snapshot
from exchange_clients.base.order_book import OrderBook
from exchange_clients.base.trading import OrderStatus, OrderType, Side, TimeInForce
from perparb_core.models import MarketInfo
from tests.shared_data import VENUE_DATA, load_payload

pytestmark = pytest.mark.conformance
D = Decimal
UTC = timezone.utc
NOW = datetime(2026, 9, 23, 3, 23, tzinfo=UTC)


def ident(x: str) -> str:
    return normalize_symbol(x) if x.endswith("_PERP") else x


def cid(x: Any) -> str | None:
    return None if x is None else str(x)


def perp(symbol: str, period: str = "1") -> MarketInfo:
    return MarketInfo(
        venue="backpack",
        venue_symbol=symbol,
        symbol=normalize_symbol(symbol),
        venue_market_id=symbol,
        funding_period_hours=D(period),
    )


CONSUMED: set[str] = set()


def load(name: str) -> Any:
    CONSUMED.add(name)
    return load_payload("backpack", name)


NOT_CONSUMED = {
    "rest_klines_ETH_USDC_1m": "candles: perparb reads no klines",
    "rest_status_ok": "system status: not read by the collector (a venue error is enough)",
    "rest_trades_ETH_USDC_2026-06": "public trades: not read",
    "ws_bookTicker_BTC_USDC_PERP_2026-09": "bookTicker: books come from depth deltas",
    "ws_bookTicker_ETH_USDC_2025-08": "bookTicker: books come from depth deltas",
    "ws_ticker_BTC_USDC_PERP_2026-09": "ticker stream: 24 h volume is read from REST tickers",
    "ws_ticker_ETH_USDC_2025-08": "ticker stream: 24 h volume is read from REST tickers",
    "ws_trade_ETH_USDC_PERP_2025-08": "public trades: not read",
    "rest_capital_balances_2025-09": "spot balances: margin is read from /api/v1/capital/collateral (the simulator serves both)",
}


def test_markets_hourly_and_8h_era_intervals_and_caps_in_bps() -> None:
    hourly = parse_markets([load("rest_markets_SOL_USDC_PERP_hourly_fixture")])
    (m,) = hourly.markets
    assert (m.venue_symbol, m.symbol, m.quote, m.funding_period_hours) == (
        "SOL_USDC_PERP",
        "SOL",
        "USDC",
        D(1),
    )
    assert (m.tick_size, m.size_step, m.min_size, m.max_leverage) == (D("0.01"), D("0.01"), D("0.01"), D(50))
    assert hourly.bounds["SOL_USDC_PERP"] == RateBounds(floor=D("-0.01"), cap=D("0.01"))  # "-100"/"100" bps
    older = parse_markets(load("rest_markets_SOL_spot_and_perp_2025"))
    (p,) = older.markets  # the SPOT row is not a perp
    assert p.funding_period_hours == D(8)  # fundingInterval "28800000" (a string on this row)
    assert older.rejections == []


def test_mark_prices_8h_era_rate_is_per_8_hours() -> None:
    marks, rej = parse_mark_prices(load("rest_markPrices_BTC_USDC_PERP_2025-07-21_8h_era"))
    assert rej == [] and marks["BTC_USDC_PERP"].funding_rate == D("0.0001")
    assert marks["BTC_USDC_PERP"].next_funding == datetime(2025, 7, 21, 16, tzinfo=UTC)
    markets = with_stats([perp("BTC_USDC_PERP", "8")], marks, {}, {}, NOW)
    (s,) = predicted_from_marks(markets, marks, {}, NOW).samples
    assert (s.raw_rate, s.raw_period_hours, s.rate_hourly) == (D("0.0001"), D(8), D("0.0000125"))
    assert s.mark_price == D("118343.51853741") and s.index_price == D("118333.18643195")
    # the same number in an hourly market would be 8 times the hourly rate: the interval decides
    (h,) = predicted_from_marks([perp("BTC_USDC_PERP")], marks, {}, NOW).samples
    assert h.rate_hourly == D("0.0001")


def test_a_rate_beyond_the_cap_is_rejected() -> None:
    marks, _ = parse_mark_prices(load("rest_markPrices_BTC_USDC_PERP_2025-07-21_8h_era"))
    bounds = {"BTC_USDC_PERP": RateBounds(floor=D("-0.00005"), cap=D("0.00005"))}
    result = predicted_from_marks([perp("BTC_USDC_PERP", "8")], marks, bounds, NOW)
    assert result.samples == [] and result.rejections[0].field == "fundingRate"


def test_funding_rates_in_progress_row_is_skipped() -> None:
    body = load("rest_fundingRates_BTC_USDC_PERP_2026-09-23_in_progress")
    result = parse_funding_rates(body, perp("BTC_USDC_PERP"), now=NOW)
    (s,) = result.samples  # 04:00 is still in progress at 03:23
    assert s.ts == datetime(2026, 9, 23, 3, tzinfo=UTC) and s.rate_hourly == D("0.000010077")
    assert s.source == SOURCE_FUNDING_RATES and s.raw_period_hours == D(1)
    later = parse_funding_rates(body, perp("BTC_USDC_PERP"), now=datetime(2026, 9, 23, 4, tzinfo=UTC))
    assert [x.ts.hour for x in later.samples] == [3, 4]  # once settled, the row counts


def test_funding_rates_hourly_rows_oldest_first() -> None:
    result = parse_funding_rates(
        load("rest_fundingRates_ETH_USDC_PERP_limit3_2025-09-11"), perp("ETH_USDC_PERP"), now=NOW
    )
    assert [(s.ts.hour, s.rate_hourly) for s in result.samples] == [
        (10, D("0.000006196")),
        (11, D("0.0000125")),
        (12, D("0.0000125")),
    ]


def test_funding_rates_8h_era_rows_are_per_8_hours() -> None:
    (s,) = parse_funding_rates(
        load("rest_fundingRates_BTC_USDC_PERP_2025-07-22_8h_era_fragment"), perp("BTC_USDC_PERP"), now=NOW
    ).samples
    assert (s.ts, s.raw_period_hours, s.rate_hourly, s.source) == (
        datetime(2025, 7, 22, tzinfo=UTC),
        D(8),
        D("0.0000125"),
        SOURCE_FUNDING_RATES_8H,
    )


def test_the_change_at_2025_08_20_08z() -> None:
    rows = [
        {
            "symbol": "ETH_USDC_PERP",
            "fundingRate": "0.0000125",
            "intervalEndTimestamp": "2025-08-20T09:00:00",
        },
        {"symbol": "ETH_USDC_PERP", "fundingRate": "0.0001", "intervalEndTimestamp": "2025-08-20T08:00:00"},
        {"symbol": "ETH_USDC_PERP", "fundingRate": "0.0001", "intervalEndTimestamp": "2025-08-20T00:00:00"},
    ]
    samples = parse_funding_rates(rows, perp("ETH_USDC_PERP"), now=NOW).samples
    assert [(s.ts.hour, s.raw_period_hours, s.rate_hourly) for s in samples] == [
        (0, D(8), D("0.0000125")),
        (8, D(8), D("0.0000125")),
        (9, D(1), D("0.0000125")),
    ]


def test_open_interest_is_base_units_times_mark() -> None:
    oi, rej = parse_open_interest(load("rest_openInterest_ETH_USDC_PERP_2025-08-12"))
    assert rej == [] and oi == {"ETH_USDC_PERP": D("27481.6232")}
    oi2, _ = parse_open_interest(load("rest_openInterest_BTC_USDC_PERP_2025-07"))
    assert oi2 == {"BTC_USDC_PERP": D("1273.85214")}
    marks, _ = parse_mark_prices(load("rest_markPrices_BTC_USDC_PERP_2025-07-21_8h_era"))
    (m,) = with_stats([perp("BTC_USDC_PERP", "8")], marks, oi2, {}, NOW)
    assert m.stats.open_interest_usd == D("1273.85214") * D("118343.51853741")


def test_tickers_quote_volume() -> None:
    vol, _ = parse_tickers(load("rest_tickers_2025-08_fragment"))
    assert vol == {"ETH_USDC": D("27673235.445972")}
    vol1, _ = parse_tickers([load("rest_ticker_ETH_USDC_2025-08")])
    assert vol1 == {"ETH_USDC": D("28695174.189628")}


def test_orders() -> None:
    kw = {"symbol_of": ident, "client_id_of": cid}
    new = parse_order(load("rest_order_execute_limit_new_perp_2025-09"), **kw)
    assert (new.status, new.side, new.order_type, new.time_in_force, new.price, new.quantity) == (
        OrderStatus.OPEN,
        Side.BUY,
        OrderType.LIMIT,
        TimeInForce.GTC,
        D(4000),
        D("0.001"),
    )
    assert new.symbol == "ETH" and new.updated_at == datetime(2025, 9, 11, 20, 10, 58, 290000, tzinfo=UTC)
    filled = parse_order(load("rest_order_execute_market_filled_perp_2025-09"), **kw)
    assert (filled.status, filled.filled_quantity, filled.order_type) == (
        OrderStatus.FILLED,
        D("0.001"),
        OrderType.MARKET,
    )
    ada = parse_order(load("rest_order_execute_market_clientId_ADA_perp_2025-09"), **kw)
    assert ada.client_order_id == "55555" and ada.symbol == "ADA"
    trig = parse_order(load("rest_order_execute_trigger_pending_perp_2025-09"), **kw)
    assert (trig.status, trig.quantity) == (OrderStatus.OPEN, D("0.001"))  # quantity "0": triggerQuantity
    cancelled = parse_order(load("rest_order_cancel_cancelled_spot_2025-09"), **kw)
    assert cancelled.status is OrderStatus.CANCELED and cancelled.symbol == "ETH_USDC"


def test_fills_and_funding_payments_signs() -> None:
    fills = [parse_fill(r, symbol_of=ident, client_id_of=cid) for r in load("rest_history_fills_2025-08")]
    assert [(f.side, f.price, f.fee, f.liquidity, f.fill_id) for f in fills[:2]] == [
        (Side.BUY, D("4732.9"), D("0.000001"), "taker", "2959284"),
        (Side.SELL, D("4732.5"), D("0.0047325"), "taker", "2959285"),
    ]
    assert fills[0].ts == datetime(2025, 8, 13, 17, 26, 1, 197000, tzinfo=UTC)
    (received,) = [
        parse_funding_payment(r, symbol_of=ident)
        for r in load("rest_history_funding_user_ETH_USDC_PERP_2025-09-11")
    ]
    assert (received.amount, received.rate, received.symbol) == (D("0.000022"), D("-0.0000048"), "ETH")
    paid = parse_funding_payment(load("rest_history_funding_user_ETH_2025-08-01_8h_era"), symbol_of=ident)
    assert (paid.amount, paid.rate, paid.ts) == (
        D("-0.001301"),
        D("0.0001"),
        datetime(2025, 8, 1, 16, tzinfo=UTC),
    )


def test_position_long() -> None:
    (row,) = load("rest_position_ETH_USDC_PERP_long_2025-09")
    p = parse_position(row, symbol_of=ident, leverage=D(10))
    assert (p.symbol, p.quantity, p.entry_price, p.funding_accrued, p.unrealized_pnl) == (
        "ETH",
        D("0.002"),
        D("4447.065"),
        D("-0.022061"),
        D("0.000776"),
    )
    assert p.liquidation_price is None  # "0": no liquidation price
    assert p.margin == D("8.84047289588") * D("0.02")


def test_depth_snapshot_and_deltas() -> None:
    last, bids, asks = parse_depth_snapshot(load("rest_depth_SOL_fixture"))
    assert (last, bids, asks) == (94978271, [(D("18.67"), D("0.832"))], [(D("18.70"), D(0))])
    for name in (
        "ws_depth_BTC_USDC_PERP_2026-09",
        "ws_depth_200ms_ETH_USDC_PERP_2026-09_trimmed",
        "ws_depth_AAPL_US_USDC_PERP_delete_2026-09",
        "ws_depth_ETH_USDC_2025-08_empty",
    ):
        frame = load(name)
        symbol, first, final, b, a = parse_depth_delta(frame["data"])
        assert first <= final and frame["stream"].endswith(symbol)
    symbol, first, final, b, a = parse_depth_delta(load("ws_depth_BTC_USDC_PERP_2025-10_data"))
    assert (first, final, b) == (1662976171, 1662976171, [(D("117357.0"), D(0))])  # size 0 deletes
    # sequence rule on the recorded 200 ms delta: it must straddle the snapshot, then continue it
    _, first, final, b, a = parse_depth_delta(load("ws_depth_200ms_ETH_USDC_PERP_2026-09_trimmed")["data"])
    sync = DepthSync(OrderBook("ETH_USDC_PERP"))
    assert sync.on_delta(first, final, b, a)  # buffered before the snapshot
    assert sync.on_snapshot(first + 5, [(D(2750), D(1))], [(D(2770), D(1))])
    assert sync.book.sequence == final and sync.book.best_ask() == (D("2766.95"), D("6.9498"))
    assert not sync.on_delta(final + 2, final + 3, [], [])  # a gap: out of sync until a new snapshot
    assert not sync.book.is_synced


def test_ws_mark_price_frames() -> None:
    frame = load("ws_markPrice_AAPL_US_USDC_PERP_2026-09")
    (s,) = parse_ws_mark_price(frame, perp("AAPL.US_USDC_PERP"), NOW).samples
    assert (s.symbol, s.rate_hourly, s.mark_price) == ("AAPL.US", D("0.00000625"), D("340.43"))
    assert s.ts == datetime(2026, 9, 23, 3, 32, 37, 847601, tzinfo=UTC)  # E in µs
    old = load("ws_markPrice_SOL_USDC_PERP_2025-05_data")
    (o,) = parse_ws_mark_price(old, perp("SOL_USDC_PERP", "8"), NOW).samples
    assert o.rate_hourly == D("-0.0000039641039274236048482914") / 8


def test_ws_order_and_position_updates() -> None:
    kw = {"symbol_of": ident, "client_id_of": cid}
    a = order_from_update(load("ws_orderUpdate_orderAccepted_2025-08")["data"], **kw)
    assert (a.status, a.order_type, a.quantity, a.order_id) == (
        OrderStatus.OPEN,
        OrderType.MARKET,
        D("0.0010"),
        "5406825793",
    )
    b = order_from_update(load("ws_orderUpdate_orderAccepted_2025-05_data"), **kw)
    assert (b.side, b.price, b.quantity) == (Side.SELL, D("178.15"), D("20.03"))
    c = order_from_update(load("ws_orderUpdate_orderCancelled_trigger_pct_2025-05_data"), **kw)
    assert c.status is OrderStatus.CANCELED
    t = order_from_update(load("ws_orderUpdate_triggerPlaced_2025-05_data"), **kw)
    assert t.status is OrderStatus.OPEN
    with pytest.raises(ValueError, match="orderFill without t"):
        fill_from_update(load("ws_orderUpdate_orderAccepted_2025-08")["data"], **kw)
    p = position_from_update(load("ws_positionUpdate_positionOpened_2025-08")["data"], symbol_of=ident)
    assert (p.symbol, p.quantity, p.entry_price, p.mark_price, p.unrealized_pnl, p.liquidation_price) == (
        "ETH",
        D("0.0010"),
        D("4238.479"),
        D("4235.88650933"),
        D("-0.000473"),
        None,
    )


def test_error_bodies() -> None:
    body = load("rest_error_invalid_market_symbol")
    import json

    raw = json.dumps(body).encode()
    assert error_code(raw) == ("INVALID_CLIENT_REQUEST", "Invalid market symbol")
    with pytest.raises(BackpackRejectedError, match="INVALID_CLIENT_REQUEST: Invalid market symbol") as info:
        decode_response("GET /api/v1/depth", 400, {}, raw, market="NOPE")
    assert info.value.code == "INVALID_CLIENT_REQUEST"
    for name in ("ws_error_invalid_depth_window_4008", "ws_error_invalid_stream_4006", "ws_error_parse_4002"):
        frame = load(name)
        assert frame["id"] is None and isinstance(frame["error"]["code"], int)


def test_every_recorded_payload_is_consumed() -> None:
    names = (
        {p.stem for p in (VENUE_DATA / "backpack").glob("*.json")}
        if (VENUE_DATA / "backpack").exists()
        else set()
    )
    if not names:
        pytest.skip("../shared/venue-data/backpack is absent")
    for name in NOT_CONSUMED:
        assert name in names, f"NOT_CONSUMED names {name}, which is not recorded"
    missing = names - set(NOT_CONSUMED) - CONSUMED
    assert not missing, f"recorded but not parsed by any test: {sorted(missing)}"
