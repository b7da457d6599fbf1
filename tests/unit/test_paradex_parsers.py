"""Paradex parsers on hand-built bad input: each bad row is rejected with a logged reason, the rest kept."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange_clients.paradex.common import ParadexDataError, is_perp_symbol, normalize_symbol
from exchange_clients.paradex.funding_adapter.fetchers import (
    FundingDataRow,
    HourlyFundingBuckets,
    bucket_hourly,
    ceil_hour,
    epoch_ms,
    floor_hour,
    parse_funding_data,
    parse_funding_data_frame,
    parse_markets,
    parse_markets_summary,
    parse_markets_summary_frame,
    utc_from_epoch_ms,
)
from perparb_core.errors import VenueDataError
from perparb_core.models import FundingKind, MarketInfo

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=timezone.utc)
NOW_MS = epoch_ms(NOW)
T0 = datetime(2025, 1, 1, 9, 0, tzinfo=timezone.utc)


def perp(symbol: str, period: str = "8") -> MarketInfo:
    return MarketInfo(
        venue="paradex",
        venue_symbol=symbol,
        symbol=symbol.split("-")[0],
        venue_market_id=symbol,
        funding_period_hours=D(period),
    )


MARKETS = {
    m.venue_symbol: m for m in (perp("BTC-USD-PERP"), perp("ETH-USD-PERP"), perp("HYPER-USD-PERP", "1"))
}


def summary_row(symbol: str = "BTC-USD-PERP", **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "symbol": symbol,
        "mark_price": "100000",
        "underlying_price": "99990",
        "open_interest": "2.5",
        "volume_24h": "1234.5",
        "funding_rate": "0.0008",
        "created_at": NOW_MS,
        "price_change_rate_24h": "",
    }
    row.update(over)
    return {k: v for k, v in row.items() if v is not DROP}


DROP = object()


def market_row(symbol: str = "BTC-USD-PERP", **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "symbol": symbol,
        "asset_kind": "PERP",
        "quote_currency": "USD",
        "price_tick_size": "0.1",
        "order_size_increment": "0.001",
        "min_notional": "10",
        "open_at": 0,
        "expiry_at": 0,
        "delta1_cross_margin_params": {"imf_base": "0.05"},
    }
    row.update(over)
    return {k: v for k, v in row.items() if v is not DROP}


def rejected_fields(result: Any) -> dict[str | None, str]:
    return {r.venue_symbol: r.field for r in result.rejections}


# -------------------- summary


def test_summary_bad_rows_rejected_with_field_named_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    body = {
        "results": [
            summary_row("BTC-USD-PERP"),
            summary_row("ETH-USD-PERP", funding_rate=DROP),
            summary_row("SOL-USD-PERP"),  # unknown market
            summary_row("HYPER-USD-PERP", funding_rate="0.0000125"),  # 1-hour market
            summary_row("BTC-USD-100000-C", funding_rate="0.5"),  # option: skipped silently
        ]
    }
    result = parse_markets_summary(body, MARKETS, NOW)
    assert [s.venue_symbol for s in result.samples] == ["BTC-USD-PERP", "HYPER-USD-PERP"]
    btc, hyper = result.samples
    assert btc.rate_hourly == D("0.0001")
    assert btc.open_interest_usd == D("250000.0")
    assert btc.index_price == D("99990")
    assert btc.volume_24h_usd == D("1234.5")
    assert btc.ts == NOW
    # 1-hour market: the raw rate is already per hour
    assert hyper.raw_period_hours == D(1)
    assert hyper.rate_hourly == hyper.raw_rate == D("0.0000125")
    assert hyper.rate_8h == D("0.0001")
    assert rejected_fields(result) == {"ETH-USD-PERP": "funding_rate", "SOL-USD-PERP": "symbol"}
    assert "ETH-USD-PERP [paradex:markets/summary] rejected: funding_rate=None: missing" in caplog.text
    assert (
        "SOL-USD-PERP [paradex:markets/summary] rejected: symbol='SOL-USD-PERP': unknown market"
        in caplog.text
    )
    assert "BTC-USD-100000-C" not in caplog.text


@pytest.mark.parametrize(
    ("over", "field", "reason"),
    [
        ({"funding_rate": ""}, "funding_rate", "empty string"),
        ({"funding_rate": "NaN"}, "funding_rate", "not a finite number"),
        ({"funding_rate": "abc"}, "funding_rate", "not a number"),
        ({"open_interest": "-1"}, "open_interest", "negative"),
        ({"volume_24h": "-5"}, "volume_24h", "negative"),
        ({"mark_price": ""}, "mark_price", "empty string"),
        ({"mark_price": DROP}, "mark_price", "missing"),
        ({"mark_price": "0"}, "mark_price", "zero"),
        ({"underlying_price": "0"}, "underlying_price", "zero"),
        ({"created_at": "soon"}, "created_at", "not a number"),
    ],
)
def test_summary_single_bad_field_rejects_only_that_row(
    over: dict[str, Any], field: str, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    body = {"results": [summary_row("ETH-USD-PERP", **over), summary_row("BTC-USD-PERP")]}
    result = parse_markets_summary(body, MARKETS, NOW)
    assert [s.venue_symbol for s in result.samples] == ["BTC-USD-PERP"]
    (rej,) = result.rejections
    assert (rej.venue_symbol, rej.field, rej.reason) == ("ETH-USD-PERP", field, reason)
    assert f"ETH-USD-PERP [paradex:markets/summary] rejected: {field}=" in caplog.text


def test_summary_optional_stats_absent_give_none_not_zero() -> None:
    body = {
        "results": [summary_row(underlying_price="", open_interest=DROP, volume_24h=None, created_at=DROP)]
    }
    (s,) = parse_markets_summary(body, MARKETS, NOW).samples
    assert (s.index_price, s.open_interest_usd, s.volume_24h_usd) == (None, None, None)
    assert s.ts == NOW  # no created_at -> collection time


def test_summary_zero_open_interest_is_a_real_zero() -> None:
    (s,) = parse_markets_summary({"results": [summary_row(open_interest="0")]}, MARKETS, NOW).samples
    assert s.open_interest_usd == D(0)


def test_summary_market_with_invalid_period_rejected() -> None:
    result = parse_markets_summary(
        {"results": [summary_row()]}, {"BTC-USD-PERP": perp("BTC-USD-PERP", "0")}, NOW
    )
    assert result.samples == []
    assert rejected_fields(result) == {"BTC-USD-PERP": "funding_period_hours"}


def test_summary_non_object_row_and_missing_symbol_rejected() -> None:
    result = parse_markets_summary({"results": ["x", {"funding_rate": "0.1"}, summary_row()]}, MARKETS, NOW)
    assert len(result.samples) == 1
    assert [(r.venue_symbol, r.field) for r in result.rejections] == [(None, "results[]"), (None, "symbol")]


@pytest.mark.parametrize("body", [None, [], {"results": None}, {"results": {}}, {"data": []}, "text"])
def test_summary_unusable_envelope_raises_data_error(body: Any) -> None:
    with pytest.raises(ParadexDataError) as info:
        parse_markets_summary(body, MARKETS, NOW)
    assert isinstance(info.value, VenueDataError)
    assert info.value.venue == "paradex"


def test_summary_frame_rows_follow_the_same_rules() -> None:
    frame = {
        "jsonrpc": "2.0",
        "method": "subscription",
        "params": {
            "channel": "markets_summary",
            "data": [summary_row(), summary_row("ETH-USD-PERP", mark_price="")],
        },
    }
    result = parse_markets_summary_frame(frame, MARKETS, now=NOW)
    assert [s.source for s in result.samples] == ["paradex:ws:markets_summary"]
    assert rejected_fields(result) == {"ETH-USD-PERP": "mark_price"}


# -------------------- markets


def test_markets_rules_and_rejections(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    body = {
        "results": [
            market_row("BTC-USD-PERP"),
            market_row("HYPER-USD-PERP", funding_period_hours=1),
            market_row("ETH-USD-PERP", funding_period_hours=0),
            market_row("SOL-USD-PERP", funding_period_hours=""),
            market_row("DOGE-USD-PERP", funding_period_hours="NaN"),
            market_row("OLD-USD-PERP", expiry_at=NOW_MS - 1),
            market_row("NEW-USD-PERP", open_at=NOW_MS + 1),
            market_row("BTC-USD-100000-C", asset_kind="OPTION"),
            market_row("ETH-USD", asset_kind="SPOT"),
            market_row("XRP-USD-PERP", asset_kind=DROP),
            market_row("ADA-USD-PERP", price_tick_size="0"),
            market_row("BNB-USD-PERP", delta1_cross_margin_params={"imf_base": "0"}),
            market_row("AVAX-USD-PERP", fee_config={"api_fee": {"maker_fee": {"fee": "abc"}}}),
            market_row("LINK-USD-PERP", min_notional="-1"),
            market_row("BTC-USD-PERP"),  # duplicate
        ]
    }
    result = parse_markets(body, NOW)
    by_symbol = {m.venue_symbol: m for m in result.markets}
    assert list(by_symbol) == ["BTC-USD-PERP", "HYPER-USD-PERP", "OLD-USD-PERP", "NEW-USD-PERP"]
    btc = by_symbol["BTC-USD-PERP"]
    assert btc.funding_period_hours == D(8)  # absent -> default 8
    assert btc.max_leverage == D(20)  # 1 / 0.05
    assert btc.maker_fee is None and btc.taker_fee is None
    assert by_symbol["HYPER-USD-PERP"].funding_period_hours == D(1)
    assert by_symbol["OLD-USD-PERP"].status == "expired"
    assert by_symbol["NEW-USD-PERP"].status == "not_open"
    assert [(r.venue_symbol, r.field) for r in result.rejections] == [
        ("ETH-USD-PERP", "funding_period_hours"),
        ("SOL-USD-PERP", "funding_period_hours"),
        ("DOGE-USD-PERP", "funding_period_hours"),
        ("XRP-USD-PERP", "asset_kind"),
        ("ADA-USD-PERP", "price_tick_size"),
        ("BNB-USD-PERP", "delta1_cross_margin_params.imf_base"),
        ("AVAX-USD-PERP", "fee_config.api_fee.maker_fee.fee"),
        ("LINK-USD-PERP", "min_notional"),
        ("BTC-USD-PERP", "symbol"),
    ]
    assert "ETH-USD-PERP [paradex:markets] rejected: funding_period_hours=0: zero" in caplog.text
    assert "SOL-USD-PERP [paradex:markets] rejected: funding_period_hours='': empty string" in caplog.text
    assert "BTC-USD-100000-C" not in caplog.text  # options are skipped, not rejected


def test_markets_fee_levels_and_negative_maker_rebate() -> None:
    fee_config = {"api_fee": {"maker_fee": {"fee": "-0.00005"}, "taker_fee": {"fee": "0.0002"}}}
    (m,) = parse_markets({"results": [market_row(fee_config=fee_config)]}, NOW).markets
    assert (m.maker_fee, m.taker_fee) == (D("-0.00005"), D("0.0002"))
    (m,) = parse_markets(
        {"results": [market_row(fee_config={"api_fee": {"taker_fee": {"fee": "0.0003"}}})]}, NOW
    ).markets
    assert (m.maker_fee, m.taker_fee) == (None, D("0.0003"))


# -------------------- funding/data


def fd_row(at: datetime, rate: str, period: Any = 8, rate_8h: Any = "", **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "market": "BTC-USD-PERP",
        "funding_index": "1",
        "funding_premium": "0",
        "funding_rate": rate,
        "funding_rate_8h": rate_8h,
        "funding_period_hours": period,
        "created_at": epoch_ms(at),
    }
    row.update(over)
    return {k: v for k, v in row.items() if v is not DROP}


def test_funding_data_period_0_without_market_fallback_rejected(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    body = {"next": None, "results": [fd_row(T0, "0.0008", period=0), fd_row(T0, "0.0008", period=8)]}
    page = parse_funding_data(body, perp("BTC-USD-PERP", "0"))
    assert [r.rate_hourly for r in page.rows] == [D("0.0001")]
    (rej,) = page.rejections
    assert (rej.field, rej.value) == ("funding_period_hours", "0")
    assert "no valid market period" in rej.reason
    assert "BTC-USD-PERP [paradex:funding/data] rejected: funding_period_hours=0" in caplog.text


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"funding_rate": ""}, "funding_rate"),
        ({"funding_rate": "NaN"}, "funding_rate"),
        ({"funding_rate": DROP}, "funding_rate"),
        ({"created_at": DROP}, "created_at"),
        ({"created_at": 1.5}, "created_at"),
        ({"funding_period_hours": -8}, "funding_period_hours"),
        ({"funding_period_hours": "eight"}, "funding_period_hours"),
        ({"market": "ETH-USD-PERP"}, "market"),
    ],
)
def test_funding_data_bad_rows(over: dict[str, Any], field: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    body = {"next": "abc", "results": [fd_row(T0, "0.0008", **over), fd_row(T0, "0.0016")]}
    page = parse_funding_data(body, perp("BTC-USD-PERP"))
    assert [r.rate_hourly for r in page.rows] == [D("0.0002")]
    assert [r.field for r in page.rejections] == [field]
    assert f"[paradex:funding/data] rejected: {field}=" in caplog.text
    assert page.next_cursor == "abc"
    assert page.result_count == 2


def test_funding_data_row_period_used_and_rate_8h_cross_checked(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    body = {
        "results": [
            # 1 h market as recorded (PROTOCOL_NOTES §2.4): 0.0000125 per 1 h, rate_8h "0.00010001" -> agrees
            fd_row(T0, "0.0000125", period=1, rate_8h="0.00010001"),
            # rate_8h disagrees by far more than truncation: kept, warned, rate from funding_rate
            fd_row(T0, "0.0008", period=8, rate_8h="0.0016"),
        ]
    }
    page = parse_funding_data(body, perp("BTC-USD-PERP"))
    assert [(r.raw_period_hours, r.rate_hourly) for r in page.rows] == [
        (D(1), D("0.0000125")),
        (D(8), D("0.0001")),
    ]
    assert page.rejections == []
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert "funding_rate_8h=0.0016 disagrees with funding_rate=0.0008" in warnings[0]


def test_funding_data_unreadable_rate_8h_is_ignored_with_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    page = parse_funding_data({"results": [fd_row(T0, "0.0008", rate_8h="n/a")]}, perp("BTC-USD-PERP"))
    assert [r.rate_hourly for r in page.rows] == [D("0.0001")]
    assert "unreadable funding_rate_8h ignored" in caplog.text


def test_funding_data_bad_cursor_type_is_a_data_error() -> None:
    with pytest.raises(ParadexDataError, match="next"):
        parse_funding_data({"next": 5, "results": []}, perp("BTC-USD-PERP"))


def test_ws_funding_data_frame_period_0_with_market_fallback_and_bad_frames() -> None:
    frame = {
        "jsonrpc": "2.0",
        "method": "subscription",
        "params": {"channel": "funding_data.BTC-USD-PERP", "data": fd_row(T0, "0.0008", period=0)},
    }
    (s,) = parse_funding_data_frame(frame, {"BTC-USD-PERP": perp("BTC-USD-PERP")}).samples
    assert (s.raw_period_hours, s.rate_hourly, s.kind) == (D(8), D("0.0001"), FundingKind.PREDICTED)
    bad = parse_funding_data_frame(frame, {"BTC-USD-PERP": perp("BTC-USD-PERP", "0")})
    assert bad.samples == [] and [r.field for r in bad.rejections] == ["funding_period_hours"]
    with pytest.raises(ParadexDataError, match="not a subscription push"):
        parse_funding_data_frame({"jsonrpc": "2.0", "id": 1, "result": {"channel": "funding_data"}}, {})
    with pytest.raises(ParadexDataError, match="not JSON"):
        parse_funding_data_frame("{oops", {})
    assert (
        parse_funding_data_frame(
            '{"method":"subscription","params":{"channel":"funding_data","data":{"market":"BTC-USD-1000-C"}}}',
            {},
        ).rejections
        == []
    )


# -------------------- hourly bucketing


def row(ts: datetime, rate: str, period: str = "8") -> FundingDataRow:
    raw, per = D(rate), D(period)
    return FundingDataRow("BTC-USD-PERP", epoch_ms(ts), ts, raw, per, raw / per)


def test_hourly_bucketing_exact_means_over_three_hours() -> None:
    market = perp("BTC-USD-PERP")
    rows = [
        # hour 09:00-10:00: mean (0.0001 + 0.0002 + 0.0006) / 3 = 0.0003
        row(T0, "0.0001"),
        row(T0 + timedelta(minutes=30), "0.0002"),
        row(T0 + timedelta(minutes=59, seconds=59, microseconds=999000), "0.0006"),
        # hour 10:00-11:00: mean (-0.0004 + 0.0000) / 2 = -0.0002; the 10:00:00.000 row belongs here
        row(T0 + timedelta(hours=1), "-0.0004"),
        row(T0 + timedelta(hours=1, minutes=5), "0"),
        # hour 11:00-12:00: one row quoted per 1 h (0.00005 per 1 h = 0.0004 per 8 h) and one per 8 h
        # (0.0008): mean in the market's 8 h units = 0.0006
        row(T0 + timedelta(hours=2, minutes=1), "0.00005", period="1"),
        row(T0 + timedelta(hours=2, minutes=2), "0.0008"),
    ]
    samples = bucket_hourly(reversed(rows), market, T0, T0 + timedelta(hours=5))  # newest first, as served
    assert [(s.ts, s.raw_rate, s.rate_hourly) for s in samples] == [
        (T0 + timedelta(hours=1), D("0.0003"), D("0.0000375")),
        (T0 + timedelta(hours=2), D("-0.0002"), D("-0.000025")),
        (T0 + timedelta(hours=3), D("0.0006"), D("0.000075")),
    ]
    for s in samples:
        assert s.kind == FundingKind.SETTLED
        assert s.raw_period_hours == D(8)
        assert (s.venue, s.venue_symbol, s.symbol, s.source) == (
            "paradex",
            "BTC-USD-PERP",
            "BTC",
            "paradex:funding/data",
        )


def test_hourly_bucketing_window_is_on_hour_end() -> None:
    rows = [row(T0 + timedelta(hours=h, minutes=10), "0.0008") for h in range(3)]
    buckets = HourlyFundingBuckets(perp("BTC-USD-PERP"))
    buckets.add_all(rows)
    # ts are 10:00, 11:00, 12:00; [10:00, 12:00) keeps the first two
    assert [s.ts.hour for s in buckets.samples(T0 + timedelta(hours=1), T0 + timedelta(hours=3))] == [10, 11]
    assert [
        s.ts.hour for s in buckets.samples(T0 + timedelta(hours=1, minutes=1), T0 + timedelta(hours=4))
    ] == [
        11,
        12,
    ]


def test_hourly_buckets_refuse_market_without_period() -> None:
    with pytest.raises(ValueError, match="funding_period_hours"):
        HourlyFundingBuckets(perp("BTC-USD-PERP", "0"))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=5 * 3_600_000 - 1),
            st.decimals(min_value=D("-0.01"), max_value=D("0.01"), places=10, allow_nan=False),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_hourly_bucketing_properties(points: list[tuple[int, D]]) -> None:
    market = perp("BTC-USD-PERP")
    rows = [row(T0 + timedelta(milliseconds=offset), str(rate)) for offset, rate in points]
    samples = bucket_hourly(rows, market, T0, T0 + timedelta(hours=6))
    hours = sorted({offset // 3_600_000 for offset, _ in points})
    assert [s.ts for s in samples] == [T0 + timedelta(hours=h + 1) for h in hours]
    for hour, sample in zip(hours, samples, strict=True):
        rates = [rate for offset, rate in points if offset // 3_600_000 == hour]
        assert min(rates) <= sample.raw_rate <= max(rates)
        # rate_hourly = raw / 8 up to Decimal's 28-digit rounding
        assert abs(sample.rate_hourly * 8 - sample.raw_rate) <= abs(sample.raw_rate) * D("1e-26")


# -------------------- symbols and time


@given(st.from_regex(r"[A-Za-z0-9]{1,10}", fullmatch=True))
def test_normalize_symbol_takes_base_before_first_dash(base: str) -> None:
    assert normalize_symbol(f"{base}-USD-PERP") == base.upper()
    assert is_perp_symbol(f"{base}-USD-PERP")
    assert not is_perp_symbol(f"{base}-USD-100000-C")


def test_normalize_symbol_examples_and_errors() -> None:
    assert normalize_symbol("BTC-USD-PERP") == "BTC"
    assert normalize_symbol("kBONK-USD-PERP") == "KBONK"
    assert normalize_symbol("BTC-USD-100000-C") == "BTC"
    for bad in ("", "  ", "-USD-PERP"):
        with pytest.raises(ValueError, match="no base asset"):
            normalize_symbol(bad)


def test_time_helpers_are_exact() -> None:
    assert utc_from_epoch_ms(1718377962698) == datetime(2024, 6, 14, 15, 12, 42, 698000, tzinfo=timezone.utc)
    assert epoch_ms(datetime(2024, 6, 14, 15, 12, 42, 698999, tzinfo=timezone.utc)) == 1718377962698
    ts = datetime(2025, 1, 1, 10, 30, tzinfo=timezone.utc)
    assert floor_hour(ts) == datetime(2025, 1, 1, 10, tzinfo=timezone.utc)
    assert ceil_hour(ts) == datetime(2025, 1, 1, 11, tzinfo=timezone.utc)
    assert ceil_hour(floor_hour(ts)) == floor_hour(ts)
    with pytest.raises(ValueError, match="naive"):
        epoch_ms(datetime(2025, 1, 1))
