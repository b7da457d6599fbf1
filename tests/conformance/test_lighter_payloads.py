"""Lighter parsers on the recorded venue payloads of ../shared/venue-data/lighter (skipped when absent)."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from exchange_clients.lighter.common import LighterRejectedError
from exchange_clients.lighter.funding_adapter.fetchers import (
    envelope_rows,
    parse_funding_rates,
    parse_fundings,
    parse_market_stats_frame,
    parse_order_book_details,
)
from exchange_clients.lighter.http import decode_response
from perparb_core.models import FundingKind, MarketInfo
from tests.shared_data import load_payload

pytestmark = pytest.mark.conformance

NOW = datetime(2025, 11, 20, 12, 0, tzinfo=timezone.utc)


def utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def eth_market() -> MarketInfo:
    result = parse_order_book_details(load_payload("lighter", "rest_orderBookDetails_market0"), NOW)
    assert result.rejections == []
    (market,) = result.markets
    return market


# --- GET /api/v1/orderBookDetails --------------------------------------------------------------------------


def test_order_book_details_eth_metadata() -> None:
    market = eth_market()
    assert market.venue == "lighter"
    assert market.venue_symbol == "ETH"
    assert market.symbol == "ETH"
    assert market.venue_market_id == "0"
    assert market.tick_size == Decimal("0.01")
    assert market.size_step == Decimal("0.0001")
    assert market.min_size == Decimal("0.005")
    assert market.min_notional == Decimal("10")
    assert market.max_leverage == Decimal(50)  # 10000 / min_initial_margin_fraction 200
    assert market.maker_fee == Decimal(0)
    assert market.taker_fee == Decimal(0)
    assert market.funding_period_hours == Decimal(1)
    assert market.status == "active"
    assert market.is_active


def test_order_book_details_eth_stats() -> None:
    stats = eth_market().stats
    assert stats.mark_price == Decimal("3550.69")  # no mark_price in this payload: last_trade_price
    assert stats.index_price is None
    # open_interest 39559.3278 is in BASE units here -> USD with the mark price.
    assert stats.open_interest_usd == Decimal("39559.3278") * Decimal("3550.69")
    assert stats.open_interest_usd == Decimal("140462909.626182")
    # The payload's float 1671431095.263844 has 16 significant digits; units.to_decimal reads JSON floats
    # at 15 (DBL_DIG), so the 16th digit (4e-6 USD) is dropped by design.
    assert stats.volume_24h_usd == Decimal("1671431095.26384")
    assert abs(stats.volume_24h_usd - Decimal("1671431095.263844")) < Decimal("0.00001")
    assert stats.ts == NOW


# --- GET /api/v1/funding-rates -----------------------------------------------------------------------------


def test_funding_rates_eth_row_is_fraction_per_8h() -> None:
    market = eth_market()
    body = load_payload("lighter", "rest_funding-rates")
    assert body["funding_rates"][0]["rate"] == 0.00009599999999999999  # the float as recorded
    result = parse_funding_rates(body, {"0": market}, NOW)
    assert result.rejections == []
    assert result.reference_rates == []
    (sample,) = result.samples
    assert sample.kind is FundingKind.PREDICTED
    assert sample.ts == NOW
    assert sample.venue_symbol == "ETH"
    assert sample.symbol == "ETH"
    assert sample.raw_rate == Decimal("0.000096")
    assert sample.raw_period_hours == Decimal(8)
    assert sample.rate_hourly == Decimal("0.000012")
    assert sample.rate_8h == Decimal("0.000096")
    assert sample.apr == Decimal("0.10512")
    assert sample.source == "lighter:funding-rates"
    # stats copied from the market
    assert sample.mark_price == Decimal("3550.69")
    assert sample.open_interest_usd == Decimal("140462909.626182")
    assert sample.volume_24h_usd == Decimal("1671431095.26384")
    assert sample.index_price is None


def test_funding_rates_row_for_unknown_market_is_rejected() -> None:
    body = load_payload("lighter", "rest_funding-rates")
    result = parse_funding_rates(body, {}, NOW)
    assert result.samples == []
    (rej,) = result.rejections
    assert (rej.field, rej.reason, rej.venue_symbol) == ("market_id", "unknown market", "ETH")


def test_funding_rates_and_fundings_agree_on_units() -> None:
    """PROTOCOL_NOTES §1.4 cross-check: funding-rates 0.000096 per 8 h == fundings 0.0012 % per hour."""
    market = eth_market()
    predicted = parse_funding_rates(load_payload("lighter", "rest_funding-rates"), {"0": market}, NOW)
    settled = parse_fundings(load_payload("lighter", "rest_fundings_market_1h_fragment"), market)
    assert predicted.samples[0].rate_hourly == settled.samples[0].rate_hourly == Decimal("0.000012")


# --- GET /api/v1/fundings ----------------------------------------------------------------------------------


def test_fundings_fragment_percent_per_hour_signed_by_direction() -> None:
    market = eth_market()
    result = parse_fundings(load_payload("lighter", "rest_fundings_market_1h_fragment"), market)
    first, second = result.samples
    assert first.kind is FundingKind.SETTLED
    assert first.ts == utc(1790665200)
    assert first.raw_rate == Decimal("0.0012")  # signed percent per hour
    assert first.raw_period_hours == Decimal(1)
    assert first.rate_hourly == Decimal("0.000012")
    assert first.source == "lighter:fundings"
    assert second.ts == utc(1790668800)
    assert second.raw_rate == Decimal("-0.0006")
    assert second.rate_hourly == Decimal("-0.000006")
    assert second.apr == Decimal("-0.05256")
    (rej,) = result.rejections
    assert rej.field == "direction"
    assert rej.value == "'???'"
    assert rej.source == "lighter:fundings"


# --- WS market_stats ---------------------------------------------------------------------------------------


def test_market_stats_single_market_frame() -> None:
    frame = load_payload("lighter", "ws_update_market_stats_market0")
    result = parse_market_stats_frame(frame, NOW)
    assert result.rejections == []
    predicted, settled = result.samples
    assert predicted.kind is FundingKind.PREDICTED
    assert predicted.ts == datetime(2026, 7, 28, 15, 28, 50, 326000, tzinfo=timezone.utc)  # frame timestamp
    assert predicted.raw_rate == Decimal("-0.0012")
    assert predicted.raw_period_hours == Decimal(1)
    assert predicted.rate_hourly == Decimal("-0.000012")
    assert settled.kind is FundingKind.SETTLED
    assert settled.ts == datetime(2026, 7, 28, 15, 0, tzinfo=timezone.utc)  # 1785250800001 ms, floored
    assert settled.raw_rate == Decimal("-0.0011")
    assert settled.rate_hourly == Decimal("-0.000011")
    for sample in (predicted, settled):
        assert (sample.venue_symbol, sample.symbol) == ("ETH", "ETH")
        assert sample.mark_price == Decimal("1914.32")
        assert sample.index_price == Decimal("1915.31")
        assert sample.open_interest_usd == Decimal("86574362.972120")
        assert sample.volume_24h_usd == Decimal("418335825.404646")
        assert sample.source == "lighter:ws:market_stats"


def test_market_stats_all_frame() -> None:
    frame = load_payload("lighter", "ws_update_market_stats_all")
    result = parse_market_stats_frame(frame, NOW)
    assert result.rejections == []
    predicted, settled = result.samples
    assert (predicted.venue_symbol, predicted.kind) == ("GOOGL", FundingKind.PREDICTED)
    assert predicted.ts == datetime(2026, 7, 28, 15, 28, 50, 620000, tzinfo=timezone.utc)
    assert predicted.rate_hourly == Decimal("0.000004")
    assert (settled.kind, settled.ts) == (FundingKind.SETTLED, datetime(2026, 7, 28, 15, tzinfo=timezone.utc))
    assert settled.rate_hourly == Decimal("0.000004")
    assert predicted.mark_price == Decimal("332.80")
    assert predicted.open_interest_usd == Decimal("1580482.874880")
    assert predicted.volume_24h_usd == Decimal("617554.894807")  # float 617554.8948070001 at 15 digits


def test_market_stats_ccxt_frame_without_symbol_needs_the_market() -> None:
    frame = load_payload("lighter", "ws_ccxt_update_market_stats_market0")
    alone = parse_market_stats_frame(frame, NOW)
    assert alone.samples == []
    (rej,) = alone.rejections
    assert (rej.field, rej.reason) == ("symbol", "missing and market_id unknown")

    result = parse_market_stats_frame(frame, NOW, {"0": eth_market()})
    assert result.rejections == []
    predicted, settled = result.samples
    assert predicted.ts == NOW  # this capture has no frame timestamp
    assert predicted.rate_hourly == Decimal("0.000012")
    assert settled.ts == utc(1763532000)  # funding_timestamp 1763532000004 ms
    assert settled.rate_hourly == Decimal("0.000012")
    assert predicted.venue_symbol == "ETH"
    assert predicted.open_interest_usd == Decimal("122736286.659423")


def test_market_stats_open_interest_is_usd_not_base_units() -> None:
    """Pins the unit decision documented in `parse_market_stats_frame`.

    orderBookDetails `open_interest` is base units (39,559.3278 ETH, 4 decimals = size_decimals); the
    ccxt market_stats capture of the same period carries 122,736,286.659423 at mark 3013.91: only as USD
    does it match (40,723 ETH, +2.9 %). As base units the 2026 frame would be 86.6 M ETH, about 72 % of all
    ETH in existence.
    """
    rest_oi_base = Decimal("39559.3278")
    assert load_payload("lighter", "rest_orderBookDetails_market0")["order_book_details"][0][
        "open_interest"
    ] == float(rest_oi_base)
    ws = parse_market_stats_frame(
        load_payload("lighter", "ws_ccxt_update_market_stats_market0"), NOW, {"0": eth_market()}
    )
    sample = ws.samples[0]
    assert sample.open_interest_usd == Decimal("122736286.659423")  # taken as is, not multiplied by the mark
    assert sample.mark_price is not None
    implied_base = sample.open_interest_usd / sample.mark_price
    assert abs(implied_base / rest_oi_base - 1) < Decimal("0.05")

    frame = parse_market_stats_frame(load_payload("lighter", "ws_update_market_stats_market0"), NOW)
    oi_raw = Decimal("86574362.972120")
    assert frame.samples[0].open_interest_usd == oi_raw
    assert oi_raw > Decimal(50_000_000)  # as ETH this would exceed half of the ~120 M ETH supply: impossible


# --- error bodies ------------------------------------------------------------------------------------------


def test_recorded_error_body_is_rejected() -> None:
    ok_empty, invalid_param = load_payload("lighter", "rest_orderBookOrders_errors")
    assert envelope_rows(ok_empty, "asks", "GET /api/v1/orderBookOrders") == []
    with pytest.raises(LighterRejectedError, match="code 20001: invalid param"):
        envelope_rows(invalid_param, "asks", "GET /api/v1/orderBookOrders")
    raw = b'{"code":20001,"message":"invalid param "}'
    assert invalid_param == {"code": 20001, "message": "invalid param "}
    with pytest.raises(LighterRejectedError, match="HTTP 400 code 20001: invalid param"):
        decode_response("GET /api/v1/orderBookOrders", 400, {}, raw, "asks")
