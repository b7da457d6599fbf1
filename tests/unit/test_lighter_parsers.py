"""Lighter parsers on bad input: each bad row is rejected with a logged reason, the other rows are kept."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from exchange_clients.lighter.common import LighterDataError, LighterRejectedError, normalize_symbol
from exchange_clients.lighter.funding_adapter.fetchers import (
    parse_funding_rates,
    parse_fundings,
    parse_market_stats_frame,
    parse_order_book_details,
)
from perparb_core.models import FundingKind, MarketInfo, MarketStats, Rejection

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


def perp(**overrides: Any) -> dict[str, Any]:
    """A well-formed orderBookDetails perp row (shape of rest_orderBookDetails_market0.json)."""
    row: dict[str, Any] = {
        "symbol": "ETH",
        "market_id": 0,
        "status": "active",
        "taker_fee": "0.0000",
        "maker_fee": "0.0000",
        "min_base_amount": "0.0050",
        "min_quote_amount": "10.000000",
        "size_decimals": 4,
        "price_decimals": 2,
        "min_initial_margin_fraction": 200,
        "last_trade_price": 2000.5,
        "daily_quote_token_volume": 1000.25,
        "open_interest": 10.5,
    }
    row.update(overrides)
    return {key: value for key, value in row.items() if value is not ...}


def market(symbol: str, market_id: int, mark: str | None = "100") -> MarketInfo:
    return MarketInfo(
        venue="lighter",
        venue_symbol=symbol,
        symbol=symbol,
        venue_market_id=str(market_id),
        stats=MarketStats(mark_price=Decimal(mark) if mark else None, open_interest_usd=Decimal("5000")),
    )


def only(rejections: list[Rejection]) -> Rejection:
    assert len(rejections) == 1, rejections
    return rejections[0]


def assert_logged(caplog: pytest.LogCaptureFixture, *needles: str) -> None:
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    for needle in needles:
        assert any(needle in message for message in warnings), (needle, warnings)


# --- orderBookDetails ------------------------------------------------------------------------------------


def test_order_book_details_negative_open_interest_keeps_market_without_oi(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = {"code": 200, "order_book_details": [perp(open_interest=-1.5)], "spot_order_book_details": []}
    result = parse_order_book_details(body, NOW)
    (eth,) = result.markets
    assert eth.stats.open_interest_usd is None  # never a made-up 0
    assert eth.stats.mark_price == Decimal("2000.5")
    assert eth.stats.volume_24h_usd == Decimal("1000.25")
    rej = only(result.rejections)
    assert (rej.field, rej.reason, rej.venue_symbol) == ("open_interest", "negative", "ETH")
    assert_logged(caplog, "ETH [lighter:orderBookDetails] rejected: open_interest=-1.5: negative")


@pytest.mark.parametrize("field", ["symbol", "market_id", "price_decimals", "size_decimals"])
def test_order_book_details_market_missing_identity_is_dropped(
    field: str, caplog: pytest.LogCaptureFixture
) -> None:
    bad = perp(**{"symbol": "BTC", "market_id": 1, field: ...})
    body = {"code": 200, "order_book_details": [perp(), bad]}
    result = parse_order_book_details(body, NOW)
    assert [m.venue_symbol for m in result.markets] == ["ETH"]
    rej = only(result.rejections)
    assert (rej.field, rej.reason) == (field, "missing")
    assert_logged(caplog, f"rejected: {field}=None: missing")


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("min_base_amount", "", "empty string"),
        ("min_quote_amount", "NaN", "not a finite number"),
        ("maker_fee", "abc", "not a number"),
        ("min_initial_margin_fraction", 0, "zero"),
    ],
)
def test_order_book_details_bad_optional_field_is_none(
    field: str, value: Any, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    result = parse_order_book_details({"code": 200, "order_book_details": [perp(**{field: value})]}, NOW)
    (eth,) = result.markets
    attribute = {
        "min_base_amount": "min_size",
        "min_quote_amount": "min_notional",
        "maker_fee": "maker_fee",
        "min_initial_margin_fraction": "max_leverage",
    }[field]
    assert getattr(eth, attribute) is None
    assert eth.taker_fee == Decimal(0)
    rej = only(result.rejections)
    assert (rej.field, rej.reason) == (field, reason)
    assert_logged(caplog, f"rejected: {field}={value!r}: {reason}")


def test_order_book_details_units() -> None:
    row = perp(
        symbol=" 1000pepe ",
        market_id=7,
        taker_fee="0.0280",
        maker_fee="0.0040",
        size_decimals=0,
        price_decimals=6,
        min_initial_margin_fraction=300,
        mark_price="2001.25",
        index_price="2001.50",
        market_type="perp",
    )
    result = parse_order_book_details({"code": 200, "order_book_details": [row]}, NOW)
    assert result.rejections == []
    (pepe,) = result.markets
    assert (pepe.venue_symbol, pepe.symbol, pepe.venue_market_id) == ("1000pepe", "1000PEPE", "7")
    assert pepe.taker_fee == Decimal("0.00028")  # "0.0280" percent
    assert pepe.maker_fee == Decimal("0.00004")
    assert pepe.tick_size == Decimal("0.000001")
    assert pepe.size_step == Decimal(1)
    assert pepe.max_leverage == Decimal(10000) / Decimal(300)
    assert pepe.stats.mark_price == Decimal("2001.25")  # mark_price preferred over last_trade_price
    assert pepe.stats.index_price == Decimal("2001.50")
    assert pepe.stats.open_interest_usd == Decimal("10.5") * Decimal("2001.25")


def test_order_book_details_zero_mark_falls_back_and_missing_prices_leave_oi_none(
    caplog: pytest.LogCaptureFixture,
) -> None:
    zero_mark = perp(mark_price="0")
    no_price = perp(symbol="BTC", market_id=1, last_trade_price=...)
    result = parse_order_book_details({"code": 200, "order_book_details": [zero_mark, no_price]}, NOW)
    eth, btc = result.markets
    assert eth.stats.mark_price == Decimal("2000.5")
    assert btc.stats.mark_price is None
    assert btc.stats.open_interest_usd is None
    first, second = result.rejections
    assert (first.venue_symbol, first.field, first.reason) == ("ETH", "mark_price", "zero")
    assert (second.venue_symbol, second.field, second.reason) == (
        "BTC",
        "open_interest",
        "no mark price to convert to USD",
    )
    assert_logged(caplog, "no mark price to convert to USD")


def test_order_book_details_rows_not_objects_duplicates_non_perps_and_spot(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = {
        "code": 200,
        "order_book_details": [
            perp(),
            "junk",
            perp(symbol="ETH2"),
            perp(symbol="X", market_id=9, market_type="spot"),
        ],
        "spot_order_book_details": [perp(symbol="ETH/USDC", market_id=2048)],
    }
    result = parse_order_book_details(body, NOW)
    assert [m.venue_market_id for m in result.markets] == ["0"]
    reasons = [(r.field, r.reason) for r in result.rejections]
    assert reasons == [
        ("order_book_details[1]", "row is not an object"),
        ("market_id", "duplicate market"),
        ("market_type", "not a perpetual"),
    ]
    assert_logged(caplog, "row is not an object", "duplicate market", "not a perpetual")


def test_order_book_details_missing_status_is_unknown_not_active() -> None:
    result = parse_order_book_details({"code": 200, "order_book_details": [perp(status="")]}, NOW)
    (eth,) = result.markets
    assert eth.status == "unknown"
    assert not eth.is_active
    assert only(result.rejections).field == "status"


# --- funding-rates ---------------------------------------------------------------------------------------


def rate_row(
    rate: Any = 0.0008, market_id: Any = 0, symbol: str = "ETH", exchange: Any = "lighter"
) -> dict[str, Any]:
    return {"market_id": market_id, "exchange": exchange, "symbol": symbol, "rate": rate}


@pytest.mark.parametrize(
    ("rate", "reason"),
    [
        (..., "missing"),
        (None, "missing"),
        ("", "empty string"),
        ("NaN", "not a finite number"),
        ("abc", "not a number"),
    ],
)
def test_funding_rates_bad_rate_rejected_other_rows_kept(
    rate: Any, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    bad = rate_row(market_id=1, symbol="BTC")
    if rate is ...:
        del bad["rate"]
    else:
        bad["rate"] = rate
    markets = {"0": market("ETH", 0), "1": market("BTC", 1)}
    result = parse_funding_rates({"code": 200, "funding_rates": [rate_row(), bad]}, markets, NOW)
    (eth,) = result.samples
    assert eth.venue_symbol == "ETH"
    assert eth.rate_hourly == Decimal("0.0001")  # 0.0008 per 8 h
    assert eth.mark_price == Decimal("100")
    assert eth.open_interest_usd == Decimal("5000")
    rej = only(result.rejections)
    assert (rej.field, rej.reason, rej.venue_symbol) == ("rate", reason, "BTC")
    assert_logged(caplog, "lighter BTC [lighter:funding-rates] rejected: rate=")


def test_funding_rates_unknown_market_and_reference_rates(caplog: pytest.LogCaptureFixture) -> None:
    rows = [
        rate_row(),
        rate_row(market_id=5, symbol="SOL"),
        rate_row(rate=0.0001, exchange="hyperliquid"),
        rate_row(rate=-0.00004, exchange="Binance", market_id=5, symbol="sol"),
        rate_row(exchange=""),
        rate_row(market_id="x"),
        rate_row(symbol="BTC"),
        rate_row(),
        None,
    ]
    result = parse_funding_rates({"code": 200, "funding_rates": rows}, {"0": market("ETH", 0)}, NOW)
    assert [(s.venue_symbol, s.kind) for s in result.samples] == [("ETH", FundingKind.PREDICTED)]
    hl, binance = result.reference_rates
    assert (hl.source_venue, hl.venue, hl.symbol, hl.raw_period_hours) == (
        "lighter",
        "hyperliquid",
        "ETH",
        Decimal(8),
    )
    assert hl.rate_hourly == Decimal("0.0000125")
    assert (binance.venue, binance.symbol, binance.rate_hourly) == ("binance", "SOL", Decimal("-0.000005"))
    assert [(r.field, r.reason) for r in result.rejections] == [
        ("market_id", "unknown market"),
        ("exchange", "missing"),
        ("market_id", "not a number"),
        ("symbol", "market 0 is ETH"),
        ("market_id", "duplicate row"),
        ("funding_rates[8]", "row is not an object"),
    ]
    assert_logged(caplog, "unknown market", "duplicate row")


# --- fundings --------------------------------------------------------------------------------------------


def funding_row(ts: Any = 1790665200, rate: Any = "0.0012", direction: Any = "long") -> dict[str, Any]:
    return {"timestamp": ts, "value": "0.5", "rate": rate, "direction": direction}


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        (funding_row(rate=""), "rate", "empty string"),
        (funding_row(rate="NaN"), "rate", "not a finite number"),
        (funding_row(rate="-0.0012"), "rate", "an unsigned funding rate cannot be negative"),
        (funding_row(rate=None), "rate", "missing"),
        (funding_row(direction=None), "direction", "expected 'long' or 'short'"),
        (funding_row(ts=None), "timestamp", "missing"),
        (funding_row(ts=1790665200000), "timestamp", "out of range [1, 100000000000]"),
        (funding_row(ts=True), "timestamp", "not an integer"),
    ],
)
def test_fundings_bad_row_rejected_other_rows_kept(
    row: dict[str, Any], field: str, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    good = funding_row(ts=1790668800, rate="0.0006", direction="short")
    result = parse_fundings({"code": 200, "resolution": "1h", "fundings": [row, good]}, market("ETH", 0))
    (sample,) = result.samples
    assert sample.rate_hourly == Decimal("-0.000006")
    assert sample.raw_rate == Decimal("-0.0006")
    rej = only(result.rejections)
    assert (rej.field, rej.reason, rej.venue_symbol) == (field, reason, "ETH")
    assert_logged(caplog, f"[lighter:fundings] rejected: {field}=")


def test_fundings_zero_short_rate_is_zero_not_minus_zero() -> None:
    result = parse_fundings(
        {"code": 200, "fundings": [funding_row(rate="0.0000", direction="short")]}, market("ETH", 0)
    )
    (sample,) = result.samples
    assert sample.rate_hourly == 0
    assert str(sample.rate_hourly) == "0"
    assert str(sample.raw_rate) == "0"


def test_fundings_other_resolution_is_a_data_error(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(LighterDataError, match="resolution '1d'"):
        parse_fundings({"code": 200, "resolution": "1d", "fundings": []}, market("ETH", 0))
    assert_logged(caplog, "resolution='1d'")


# --- market_stats ----------------------------------------------------------------------------------------


def stats_entry(market_id: int, symbol: str | None, **overrides: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "market_id": market_id,
        "mark_price": "10.5",
        "index_price": "10.4",
        "open_interest": "2000.000000",
        "current_funding_rate": "0.0012",
        "funding_rate": "-0.0006",
        "funding_timestamp": 1785250800001,
        "daily_quote_token_volume": 123.5,
    }
    if symbol is not None:
        entry["symbol"] = symbol
    entry.update(overrides)
    return entry


def test_market_stats_all_bad_entries_rejected_others_kept(caplog: pytest.LogCaptureFixture) -> None:
    frame = {
        "channel": "market_stats:all",
        "type": "update/market_stats",
        "timestamp": 1785252530620,
        "market_stats": {
            "1": stats_entry(1, "BTC"),
            "2": "junk",
            "3": stats_entry(3, "SOL", current_funding_rate=""),
            "4": stats_entry(4, "DOGE", open_interest="-1", funding_timestamp=...),
            "5": stats_entry(6, "XRP"),
        },
    }
    frame["market_stats"]["4"] = {k: v for k, v in frame["market_stats"]["4"].items() if v is not ...}
    result = parse_market_stats_frame(frame, NOW)
    summary = [(s.venue_symbol, s.kind, s.rate_hourly) for s in result.samples]
    assert summary == [
        ("BTC", FundingKind.PREDICTED, Decimal("0.000012")),
        ("BTC", FundingKind.SETTLED, Decimal("-0.000006")),
        ("SOL", FundingKind.SETTLED, Decimal("-0.000006")),
        ("DOGE", FundingKind.PREDICTED, Decimal("0.000012")),
    ]
    doge = result.samples[3]
    assert doge.open_interest_usd is None
    assert result.samples[0].open_interest_usd == Decimal("2000.000000")
    assert [(r.venue_symbol, r.field, r.reason) for r in result.rejections] == [
        ("market_id=2", "market_stats[2]", "entry is not an object"),
        ("SOL", "current_funding_rate", "empty string"),
        ("DOGE", "open_interest", "negative"),
        ("DOGE", "funding_timestamp", "missing"),
        ("XRP", "market_id", "does not match its key '5'"),
    ]
    assert_logged(
        caplog, "entry is not an object", "current_funding_rate='': empty string", "does not match its key"
    )


def test_market_stats_single_frame_channel_must_match_market() -> None:
    frame = {"channel": "market_stats:3", "market_stats": stats_entry(0, "ETH")}
    result = parse_market_stats_frame(frame, NOW)
    assert result.samples == []
    assert only(result.rejections).field == "market_id"


# --- envelopes -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parse", "key"),
    [
        (lambda body: parse_order_book_details(body, NOW), "order_book_details"),
        (lambda body: parse_funding_rates(body, {}, NOW), "funding_rates"),
        (lambda body: parse_fundings(body, market("ETH", 0)), "fundings"),
    ],
)
def test_non_list_envelope_is_a_logged_data_error(
    parse: Any, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(LighterDataError, match=f"top-level '{key}' is a dict, expected a list"):
        parse({"code": 200, key: {"0": {}}})
    with pytest.raises(LighterDataError, match=f"top-level '{key}' is missing"):
        parse({"code": 200})
    with pytest.raises(LighterDataError, match="body is list, expected a JSON object"):
        parse([{"code": 200, key: []}])
    with pytest.raises(LighterRejectedError, match="code 20001: invalid param"):
        parse({"code": 20001, "message": "invalid param "})
    assert_logged(caplog, f"top-level '{key}' is a dict, expected a list", "body is list", "code=20001")


@pytest.mark.parametrize(
    "frame",
    [
        ["not", "an", "object"],
        {"channel": "order_book:0", "market_stats": {}},
        {"channel": "market_stats:0", "market_stats": []},
    ],
)
def test_market_stats_unusable_frame_is_a_data_error(frame: Any, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(LighterDataError):
        parse_market_stats_frame(frame, NOW)
    assert_logged(caplog, "[lighter:ws:market_stats] rejected")


def test_normalize_symbol() -> None:
    assert normalize_symbol(" eth ") == "ETH"
    assert normalize_symbol("1000PEPE") == "1000PEPE"
    with pytest.raises(ValueError, match="empty symbol"):
        normalize_symbol("  ")
