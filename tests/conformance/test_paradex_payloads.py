"""Paradex parsers against recorded payloads in ../shared/venue-data/paradex (skipped without ../shared).

Each test pins a normalisation rule of DESIGN.md "Units" on a real payload with exact expected values.
"""

from __future__ import annotations

import copy
import logging
from datetime import datetime, timezone
from decimal import Decimal as D
from typing import Any

import pytest

from exchange_clients.paradex.common import ParadexDataError
from exchange_clients.paradex.funding_adapter.fetchers import (
    parse_funding_data,
    parse_funding_data_frame,
    parse_markets,
    parse_markets_summary,
    parse_markets_summary_frame,
)
from perparb_core.models import FundingKind, MarketInfo
from tests.shared_data import load_payload

pytestmark = pytest.mark.conformance

NOW = datetime(2024, 6, 14, 15, 13, tzinfo=timezone.utc)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def perp(symbol: str, period: str = "8") -> MarketInfo:
    return MarketInfo(
        venue="paradex",
        venue_symbol=symbol,
        symbol=symbol.split("-")[0],
        venue_market_id=symbol,
        funding_period_hours=D(period),
    )


def btc_market_body_with_fees() -> dict[str, Any]:
    """rest_markets_btc.json with the fee_config of rest_markets_fee_config.json merged into its BTC row."""
    body = copy.deepcopy(load_payload("paradex", "rest_markets_btc"))
    fees = load_payload("paradex", "rest_markets_fee_config")["results"][0]
    assert fees["symbol"] == body["results"][0]["symbol"] == "BTC-USD-PERP"
    body["results"][0]["fee_config"] = fees["fee_config"]
    return body


def btc_market() -> MarketInfo:
    return parse_markets(btc_market_body_with_fees(), NOW).markets[0]


# -------------------- markets


def test_markets_btc_metadata_without_fee_config() -> None:
    result = parse_markets(load_payload("paradex", "rest_markets_btc"), NOW)
    assert result.rejections == []
    assert len(result.markets) == 1
    m = result.markets[0]
    assert (m.venue, m.venue_symbol, m.symbol, m.venue_market_id, m.quote) == (
        "paradex",
        "BTC-USD-PERP",
        "BTC",
        "BTC-USD-PERP",
        "USD",
    )
    assert m.tick_size == D("0.1")
    assert m.size_step == D("0.001")
    assert m.min_notional == D("500")
    assert m.min_size is None
    # imf_base "0.02" -> 1 / 0.02 = 50x
    assert m.max_leverage == D("50")
    assert str(m.max_leverage) == "50"
    # funding_period_hours absent from the 2024 recording -> documented default 8
    assert m.funding_period_hours == D(8)
    assert m.maker_fee is None and m.taker_fee is None
    # open_at 1698756879745 (2023-10-31) is past, expiry_at 0 -> active
    assert m.status == "active" and m.is_active


def test_markets_btc_fees_from_fee_config() -> None:
    m = btc_market()
    assert m.maker_fee == D("0.000075")
    assert m.taker_fee == D("0.000125")
    assert m.max_leverage == D("50")


def test_markets_btc_not_open_before_open_at() -> None:
    before_open = utc(2023, 10, 31, 12, 54)  # open_at is 12:54:39.745
    assert (
        parse_markets(load_payload("paradex", "rest_markets_btc"), before_open).markets[0].status
        == "not_open"
    )


# -------------------- summary

SUMMARY_CASES = [
    # name, raw funding_rate, rate_hourly = raw / 8, ts, mark, index (underlying), OI base, volume USD
    (
        "rest_markets_summary_btc_1",
        "0.00749938923192",
        "0.00093742365399",
        utc(2024, 6, 14, 15, 12, 42, 698000),
        "67307.7225876",
        "66806.71304318",
        "152.777",
        "2611476.262600002",
    ),
    (
        "rest_markets_summary_btc_2",
        "0.00689938923192",
        "0.00086242365399",
        utc(2024, 6, 14, 15, 12, 57, 698000),
        "67275.25940213",
        "66814.28166666",
        "152.777",
        "2611476.262600002",
    ),
    (
        "rest_markets_summary_btc_3",
        "0.00789938923192",
        "0.00098742365399",
        utc(2024, 6, 14, 15, 13, 32, 699000),
        "67301.22184172",
        "66773.75",
        "152.803",
        "2611549.0808000015",
    ),
    (
        "rest_markets_summary_btc_ccxtdoc",
        "0.01629574927887",
        "0.00203696865985875",
        utc(2024, 6, 12, 5, 29, 16, 580000),
        "68465.17449906",
        "67367.37268422",
        "162.272",
        "5815541.397939004",
    ),
]


@pytest.mark.parametrize(("name", "raw", "hourly", "ts", "mark", "index", "oi", "volume"), SUMMARY_CASES)
def test_markets_summary_btc(
    name: str, raw: str, hourly: str, ts: datetime, mark: str, index: str, oi: str, volume: str
) -> None:
    market = btc_market()
    result = parse_markets_summary(load_payload("paradex", name), {market.venue_symbol: market}, NOW)
    assert result.rejections == []
    assert result.reference_rates == []
    assert len(result.samples) == 1
    s = result.samples[0]
    assert (s.venue, s.venue_symbol, s.symbol, s.kind) == (
        "paradex",
        "BTC-USD-PERP",
        "BTC",
        FundingKind.PREDICTED,
    )
    assert s.raw_rate == D(raw)
    assert s.raw_period_hours == D(8)
    assert s.rate_hourly == D(hourly)
    assert s.rate_8h == D(raw)
    assert s.apr == D(hourly) * 8760
    assert s.ts == ts
    assert s.mark_price == D(mark)
    assert s.index_price == D(index)
    assert s.open_interest_usd == D(oi) * D(mark)
    assert s.volume_24h_usd == D(volume)
    assert s.source == "paradex:markets/summary"


def test_markets_summary_btc_1_headline_numbers() -> None:
    """The numbers quoted in the brief, written out: 0.00749938923192 per 8 h."""
    market = btc_market()
    s = parse_markets_summary(
        load_payload("paradex", "rest_markets_summary_btc_1"), {market.venue_symbol: market}, NOW
    ).samples[0]
    assert s.rate_hourly == D("0.00093742365399")
    assert s.apr == D("8.21183120895240")
    assert s.open_interest_usd == D("10283071.9337657652")  # 152.777 × 67307.7225876


def test_markets_summary_row_without_market_is_rejected(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    result = parse_markets_summary(load_payload("paradex", "rest_markets_summary_btc_1"), {}, NOW)
    assert result.samples == []
    assert len(result.rejections) == 1
    rej = result.rejections[0]
    assert (rej.venue_symbol, rej.field) == ("BTC-USD-PERP", "symbol")
    assert "unknown market" in rej.reason
    assert "unknown market" in caplog.text


def test_markets_summary_envelope_without_results_is_a_data_error() -> None:
    body = load_payload("paradex", "rest_markets_summary_btc_1")
    with pytest.raises(ParadexDataError, match="results"):
        parse_markets_summary(body["results"][0], {}, NOW)


# -------------------- funding/data


def test_funding_data_btc_ccxt_period_0_and_empty_8h_use_market_period(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    body = load_payload("paradex", "rest_funding_data_btc_ccxt")
    page = parse_funding_data(body, btc_market())
    assert page.rejections == []
    assert page.result_count == 1
    assert page.next_cursor == body["next"]
    assert len(page.rows) == 1
    row = page.rows[0]
    assert row.venue_symbol == "BTC-USD-PERP"
    assert row.created_at_ms == 1764160327843
    assert row.ts == utc(2025, 11, 26, 12, 32, 7, 843000)
    assert row.raw_rate == D("-0.00006992598926")
    assert row.raw_period_hours == D(8)  # row says 0 -> market's 8
    assert row.rate_hourly == D("-0.0000087407486575")
    assert caplog.text == ""  # funding_rate_8h "" is not a disagreement


def test_funding_data_market_with_1h_period_falls_back_to_1h() -> None:
    page = parse_funding_data(
        load_payload("paradex", "rest_funding_data_btc_ccxt"), perp("BTC-USD-PERP", "1")
    )
    assert page.rows[0].raw_period_hours == D(1)
    assert page.rows[0].rate_hourly == D("-0.00006992598926")


# -------------------- WebSocket


def test_ws_funding_data_btc(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    result = parse_funding_data_frame(
        load_payload("paradex", "ws_funding_data_btc"), {"BTC-USD-PERP": btc_market()}
    )
    assert result.rejections == []
    (s,) = result.samples
    assert (s.venue_symbol, s.symbol, s.kind) == ("BTC-USD-PERP", "BTC", FundingKind.PREDICTED)
    assert s.raw_rate == D("0.00007172918481")
    assert s.raw_period_hours == D(8)
    assert s.rate_hourly == D("0.00000896614810125")
    assert s.rate_8h == D("0.00007172918481")
    assert s.ts == utc(2026, 9, 4, 2, 6, 37, 60000)
    assert s.mark_price is None and s.open_interest_usd is None
    assert s.source == "paradex:ws:funding_data"
    # funding_rate_8h "0.00007172" is the same rate truncated to 8 decimals: no warning
    assert caplog.text == ""


def test_ws_funding_data_trump(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    frame = load_payload("paradex", "ws_funding_data_trump")
    assert frame["params"]["channel"] == "funding_data"
    result = parse_funding_data_frame(frame, {"TRUMP-USD-PERP": perp("TRUMP-USD-PERP")})
    assert result.rejections == []
    (s,) = result.samples
    assert (s.venue_symbol, s.symbol) == ("TRUMP-USD-PERP", "TRUMP")
    assert s.raw_rate == D("-0.00014969570582")
    assert s.raw_period_hours == D(8)
    assert s.rate_hourly == D("-0.0000187119632275")
    assert s.ts == utc(2026, 2, 19, 13, 10, 36, 154000)
    assert caplog.text == ""


def test_ws_funding_data_row_period_wins_over_market_period() -> None:
    # the frame says 8 h; a (stale) market record saying 1 h must not change the unit
    result = parse_funding_data_frame(
        load_payload("paradex", "ws_funding_data_trump"), {"TRUMP-USD-PERP": perp("TRUMP-USD-PERP", "1")}
    )
    assert result.samples[0].raw_period_hours == D(8)
    assert result.samples[0].rate_hourly == D("-0.0000187119632275")


def test_ws_funding_data_unknown_market_rejected() -> None:
    result = parse_funding_data_frame(load_payload("paradex", "ws_funding_data_trump"), {})
    assert result.samples == []
    assert [(r.venue_symbol, r.field) for r in result.rejections] == [("TRUMP-USD-PERP", "market")]


def test_ws_markets_summary_ordi() -> None:
    frame = load_payload("paradex", "ws_markets_summary")
    result = parse_markets_summary_frame(frame, {"ORDI-USD-PERP": perp("ORDI-USD-PERP")}, now=NOW)
    # price_change_rate_24h "" does not reject the row; volume_24h "0" is a real zero
    assert result.rejections == []
    (s,) = result.samples
    assert (s.venue_symbol, s.symbol, s.kind) == ("ORDI-USD-PERP", "ORDI", FundingKind.PREDICTED)
    assert s.raw_rate == D("0.03919997509811")
    assert s.rate_hourly == D("0.00489999688726375")
    assert s.ts == utc(2024, 6, 14, 3, 5, 7, 698000)
    assert s.mark_price == D("49.80885481")
    assert s.index_price == D("47.93")
    assert s.open_interest_usd == D("6999.5") * D("49.80885481") == D("348637.079242595")
    assert s.volume_24h_usd == D(0)
    assert s.source == "paradex:ws:markets_summary"


def test_ws_frames_of_another_channel_are_data_errors() -> None:
    with pytest.raises(ParadexDataError, match="funding_data"):
        parse_funding_data_frame(load_payload("paradex", "ws_markets_summary"), {})
    with pytest.raises(ParadexDataError, match="markets_summary"):
        parse_markets_summary_frame(load_payload("paradex", "ws_funding_data_btc"), {})
