"""Every recorded Aster payload (../shared/venue-data/aster/) parsed by the project's parsers to exact values: units
(every rate per the symbol's `fundingIntervalHours`), signs, markets, filters, orders, positions, balances, error
bodies, stream frames. `test_every_recorded_payload_is_covered` fails when a new recording has no test here."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from exchange_clients.aster.client.utils.converters import (
    parse_balance,
    parse_income,
    parse_order,
    parse_position,
)
from exchange_clients.aster.client.websocket_handlers import AccountEventDecoder
from exchange_clients.aster.common import AsterRejectedError, normalize_symbol
from exchange_clients.aster.funding_adapter.fetchers import (
    parse_exchange_info,
    parse_funding_history,
    parse_funding_info,
    parse_mark_price_frame,
    parse_premium_index,
    parse_ticker_volumes,
    settled_source,
)
from exchange_clients.aster.http import decode_response
from exchange_clients.aster.spec import FEES, SETTLEMENT
from exchange_clients.aster.websocket.order_book import DepthSync
from exchange_clients.base.order_book import OrderBook
from exchange_clients.base.trading import EventKind, OrderStatus, OrderType, Side, TimeInForce
from perparb_core.models import FundingKind, MarketInfo
from tests.shared_data import VENUE_DATA, load_payload

pytestmark = pytest.mark.conformance


def load(name: str) -> Any:
    return load_payload("aster", name)


def market(symbol: str, interval: int = 8) -> MarketInfo:
    return MarketInfo(
        "aster", symbol, normalize_symbol(symbol), symbol, "USDT", funding_period_hours=D(interval)
    )


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)  # type: ignore[misc]


def symbol_of(name: str) -> str:
    return normalize_symbol(name)


def same(value: str | None) -> str | None:
    return value


# ------------------------------------------------------------------------------------------- funding units


def test_premium_index_rate_is_per_the_symbols_interval() -> None:
    body = load("rest_premiumIndex_BTCUSDT_2025-06")
    (s,) = parse_premium_index(body, {"BTCUSDT": market("BTCUSDT", 8)}).samples
    assert (s.kind, s.raw_rate, s.raw_period_hours, s.rate_hourly) == (
        FundingKind.PREDICTED,
        D("0.00010000"),
        D(8),
        D("0.0000125"),
    )
    assert (s.mark_price, s.index_price, s.ts) == (
        D("106630.71786957"),
        D("106678.52086957"),
        utc(2025, 6, 17, 8, 0, 24),
    )
    assert s.open_interest_usd is None  # Aster publishes no open interest: never 0
    assert s.apr == D("0.0000125") * 8760


def test_the_same_raw_rate_on_a_4_hour_symbol_is_twice_the_hourly_rate() -> None:
    """fundingInfo's docs example lists ZORAUSDT at 4 h: the same `lastFundingRate` is per 4 h there (no 4-hour
    premiumIndex was recorded: the recorded BTCUSDT row is read as if it were ZORAUSDT's)."""
    intervals, rej = parse_funding_info(load("rest_fundingInfo_docexample"))
    assert (intervals, rej) == ({"INJUSDT": 8, "ZORAUSDT": 4}, [])
    row = {**load("rest_premiumIndex_BTCUSDT_2025-06"), "symbol": "ZORAUSDT"}
    (s,) = parse_premium_index(row, {"ZORAUSDT": market("ZORAUSDT", intervals["ZORAUSDT"])}).samples
    assert (s.raw_period_hours, s.rate_hourly) == (D(4), D("0.000025"))


def test_premium_index_array_fragment() -> None:
    body = load("rest_premiumIndex_all_BTCUSDT_2025-06_fragment")
    result = parse_premium_index(body, {"BTCUSDT": market("BTCUSDT")})
    (s,) = result.samples
    assert (s.rate_hourly, s.mark_price, s.ts) == (
        D("0.0000125"),
        D("106729.84047826"),
        utc(2025, 6, 17, 7, 56, 10),
    )
    assert result.rejections == []


def test_premium_index_of_an_unknown_market_is_rejected_not_ranked() -> None:
    result = parse_premium_index(load("rest_premiumIndex_BTCUSDT_2025-06"), {})
    assert result.samples == [] and [r.reason for r in result.rejections] == ["unknown market"]


def test_funding_info_btcusdt_is_8_hours() -> None:
    assert parse_funding_info(load("rest_fundingInfo_BTCUSDT_2025-10")) == ({"BTCUSDT": 8}, [])


@pytest.mark.parametrize(
    ("name", "ts"),
    [
        ("rest_fundingRate_BTCUSDT_2025-05_fragment", utc(2025, 5, 14, 8)),
        ("rest_fundingRate_BTCUSDT_limit1_2025-06", utc(2025, 6, 16, 8)),
    ],
)
def test_settled_funding_rate_rows(name: str, ts: datetime) -> None:
    page = parse_funding_history(load(name), market("BTCUSDT", 8))
    (s,) = page.samples
    assert (s.kind, s.ts, s.raw_rate, s.raw_period_hours, s.rate_hourly, s.source) == (
        FundingKind.SETTLED,
        ts,
        D("0.00010000"),
        D(8),
        D("0.0000125"),
        "aster:fundingRate",
    )
    assert SETTLEMENT.interval_for(s.source) == D(8)


def test_settled_rows_take_their_interval_from_the_spacing_of_settlements() -> None:
    """Two recorded rows 4 h apart (the 2025-06 row moved to 12:00): the second covers 4 h (source
    "aster:fundingRate:4h", replayed as 4 hours), whatever the symbol's current interval."""
    first = load("rest_fundingRate_BTCUSDT_limit1_2025-06")[0]
    second = {**first, "fundingTime": first["fundingTime"] + 4 * 3_600_000}
    page = parse_funding_history([first, second], market("BTCUSDT", 8))
    assert [(s.raw_period_hours, s.rate_hourly, s.source) for s in page.samples] == [
        (D(8), D("0.0000125"), "aster:fundingRate"),
        (D(4), D("0.000025"), settled_source(4)),
    ]
    assert SETTLEMENT.interval_for(settled_source(4)) == D(4)


def test_funding_fee_income_is_signed_from_the_users_view() -> None:
    (row,) = load("rest_income_FUNDING_FEE_ETHUSDT")
    pay = parse_income(row, venue="aster", symbol_of=symbol_of)
    assert (pay.symbol, pay.amount, pay.ts) == ("ETH", D("0.00134317"), utc(2021, 5, 21, 8))


def test_mark_price_stream_frames() -> None:
    markets = {"BTCUSDT": market("BTCUSDT")}
    (s,) = parse_mark_price_frame(load("ws_markPriceUpdate_BTCUSDT_2025-08"), markets).samples
    assert (s.raw_rate, s.rate_hourly, s.mark_price, s.index_price, s.source) == (
        D("0.00010000"),
        D("0.0000125"),
        D("116809.60000000"),
        D("116836.93534884"),
        "aster:ws:markPrice",
    )
    (doc,) = parse_mark_price_frame(load("ws_markPriceUpdate_docexample"), markets).samples
    assert doc.rate_hourly == D("0.00038167") / 8
    (arr,) = parse_mark_price_frame(load("ws_markPriceUpdate_arr_docexample"), markets).samples
    assert (arr.rate_hourly, arr.mark_price) == (D("0.00003750"), D("11185.87786614"))


# ------------------------------------------------------------------------------------------- markets


def test_exchange_info_docexample_filters() -> None:
    result = parse_exchange_info(load("rest_exchangeInfo_docexample"), intervals={"DOGEUSDT": 4})
    (m,) = result.markets
    assert (m.venue_symbol, m.symbol, m.quote, m.status) == ("DOGEUSDT", "DOGE", "USDT", "active")
    assert (m.tick_size, m.size_step, m.min_size, m.min_notional, m.max_leverage, m.funding_period_hours) == (
        D("0.0001"),
        D("1"),
        D("1"),
        D("1"),
        D(20),
        D(4),
    )


def test_exchange_info_skeleton_has_no_symbol() -> None:
    result = parse_exchange_info(load("rest_exchangeInfo_skeleton_2026-05"))
    assert result.markets == [] and result.rejections == []


def test_ticker_quote_volume_is_the_24h_volume_in_usdt() -> None:
    volumes, rej = parse_ticker_volumes(load("rest_ticker_24hr_BTCUSDT_2025-06"))
    assert (volumes, rej) == ({"BTCUSDT": D("918896966.74")}, [])


def test_standard_fees_are_the_recorded_commission_rates() -> None:
    body = load("rest_commissionRate_BTCUSDT")
    assert (D(body["takerCommissionRate"]), D(body["makerCommissionRate"])) == (FEES.taker, FEES.maker)


def test_public_bodies_without_a_parser_have_the_documented_shape() -> None:
    """Bodies perparb does not read (server time, public trades, klines, stream tickers): their documented fields
    and types, so a change in them is noticed."""
    assert load("rest_time_2025-06") == {"serverTime": 1749806368527}
    (trade,) = load("rest_trades_BTCUSDT_2025-06")
    assert (D(trade["price"]) * D(trade["qty"])).quantize(D("0.1")) == D(trade["quoteQty"])
    (kline,) = load("rest_klines_BTCUSDT_5m_2025-06")
    assert len(kline) == 12 and kline[6] - kline[0] == 299_999
    assert load("ws_24hrTicker_CAKEUSDT_2025-08")["e"] == "24hrTicker"
    assert load("ws_aggTrade_BTCUSDT_2025-08")["e"] == "aggTrade"
    book = load("ws_bookTicker_BTCUSDT_2025-08")
    assert D(book["b"]) < D(book["a"])
    assert load("ws_kline_BTCUSDT_2025-08")["k"]["i"] == "1m"
    assert load("rest_positionSideDual_get") == {"dualSidePosition": True}


# ------------------------------------------------------------------------------------------- orders, account


def test_order_objects() -> None:
    doc = parse_order(
        load("rest_order_post_docexample"), venue="aster", symbol_of=symbol_of, client_id_of=same
    )
    assert (doc.order_id, doc.client_order_id, doc.side, doc.status, doc.quantity, doc.filled_quantity) == (
        "22542179",
        "testOrder",
        Side.BUY,
        OrderStatus.OPEN,
        D(10),
        D(0),
    )
    (row,) = load("rest_batchOrders_post_market_2026-04")
    o = parse_order(row, venue="aster", symbol_of=symbol_of, client_id_of=same)
    assert (o.symbol, o.order_type, o.time_in_force, o.status, o.quantity, o.price) == (
        "ETH",
        OrderType.MARKET,
        TimeInForce.GTC,
        OrderStatus.OPEN,
        D("0.010"),
        None,
    )


def test_positions() -> None:
    (flat,) = load("rest_positionRisk_BTCUSDT_flat_cross")
    p = parse_position(flat, venue="aster", symbol_of=symbol_of)
    assert (p.quantity, p.liquidation_price, p.entry_price, p.leverage) == (D(0), None, None, D(20))
    (inj,) = load("rest_positionRisk_INJUSDT_flat")
    assert parse_position(inj, venue="aster", symbol_of=symbol_of).symbol == "INJ"
    long, short = (
        parse_position(r, venue="aster", symbol_of=symbol_of)
        for r in load("rest_positionRisk_v2_hedge_docexample")
    )
    assert (long.quantity, long.liquidation_price, long.margin) == (
        D("20.000"),
        D("5930.78"),
        D("15517.54150468"),
    )
    assert (short.quantity, short.liquidation_price, short.unrealized_pnl) == (
        D("-10.000"),
        D("7189.95"),
        D("-1156.46711780"),
    )


def test_balance_sums_the_margin_assets() -> None:
    b = parse_balance(load("rest_balance_v2_2026-04"), venue="aster")
    assert (b.equity, b.available, b.collateral) == (D("1.11341089"), D("0.81341089"), D("1.11341089"))


def test_leverage_answer() -> None:
    assert load("rest_leverage_post_BTCUSDT_21x") == {
        "symbol": "BTCUSDT",
        "leverage": 21,
        "maxNotionalValue": "5000000",
    }


def test_success_and_error_bodies() -> None:
    ok = load("rest_allOpenOrders_delete_success")
    assert decode_response("DELETE allOpenOrders", 200, {}, _raw(ok)) == ok
    assert decode_response(
        "POST positionSide/dual", 200, {}, _raw(load("rest_positionSideDual_post_success"))
    )
    (error,) = load("rest_batchOrders_delete_unknown_order")
    with pytest.raises(AsterRejectedError, match="Unknown order sent") as info:
        decode_response("DELETE order", 400, {}, _raw(error), market="BTCUSDT")
    assert info.value.code == -2011  # the recording sends the code as text


def _raw(body: Any) -> bytes:
    import json

    return json.dumps(body).encode()


# ------------------------------------------------------------------------------------------- streams


def test_depth_snapshot_then_the_recorded_diff() -> None:
    snap = load("rest_depth_BTCUSDT_limit5_2025-06")
    sync = DepthSync(OrderBook("BTCUSDT"))
    assert sync.on_snapshot(snap) is False
    assert sync.book.best_bid() == (D("106626.8"), D("8.266"))
    assert sync.book.best_ask() == (D("106626.9"), D("8.092"))
    event = load("ws_depthUpdate_BTCUSDT_2025-08")
    # the diff is from another day (sequence 156391349814 > the snapshot's 148964776071): it does not bridge the
    # snapshot, so the book resynchronises instead of applying it
    assert sync.on_event(event) is True and not sync.book.is_synced
    bridged = {**snap, "lastUpdateId": event["U"]}
    assert sync.on_snapshot(bridged) is False
    assert sync.book.best_bid() == (D("114988.3"), D("0.147")) and sync.book.sequence == event["u"]


def test_account_update_frame_gives_position_events() -> None:
    decoder = AccountEventDecoder("aster", symbol_of, same)
    (event,) = decoder.decode(load("ws_ACCOUNT_UPDATE_2026-01"))
    assert event.kind is EventKind.POSITION and event.position is not None
    assert (event.symbol, event.position.quantity, event.position.margin) == ("ETH", D(0), D(0))


def test_every_recorded_payload_is_covered() -> None:
    folder = VENUE_DATA / "aster"
    if not folder.exists():
        pytest.skip("../shared is absent")
    source = Path(__file__).read_text()
    names = {p.stem for p in folder.glob("*.json")}
    assert {n for n in names if f'"{n}"' not in source} == set(), (
        "recorded payloads without a conformance test"
    )
