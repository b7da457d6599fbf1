"""The signal's leg rule (strategies/funding_arbitrage/signals.py) on recorded payloads of the live venues
(../shared/venue-data, skipped when absent): a leg enters a signal as what a holder earns per hour, in the hour
it is earned. A settled sample fills the hour before its settlement hour; the hour in progress takes the current
(predicted) rate; the same settlements replayed as history rows give the same hourly values."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

import pytest

from exchange_clients.lighter.funding_adapter.fetchers import (
    parse_fundings,
    parse_market_stats_frame,
    parse_order_book_details,
)
from exchange_clients.paradex.funding_adapter.fetchers import (
    HourlyFundingBuckets,
    parse_funding_data,
    parse_funding_data_frame,
)
from perparb_core.models import FundingKind, MarketInfo
from strategies.funding_arbitrage.signals import (
    epoch_hour,
    hourly_points,
    leg_from_hourly,
    leg_from_settlements,
)
from tests.shared_data import load_payload

pytestmark = pytest.mark.conformance

NOW = datetime(2025, 11, 20, 12, 0, tzinfo=timezone.utc)


def lighter_eth() -> MarketInfo:
    (market,) = parse_order_book_details(
        load_payload("lighter", "rest_orderBookDetails_market0"), NOW
    ).markets
    return market


def paradex_btc() -> MarketInfo:
    return MarketInfo(
        venue="paradex",
        venue_symbol="BTC-USD-PERP",
        symbol="BTC",
        venue_market_id="BTC-USD-PERP",
        funding_period_hours=D(8),
    )


def test_lighter_hourly_settlements_fill_the_hour_before_them() -> None:
    """`fundings` rows at 1790665200 (+0.0012 %/h) and one hour later (-0.0006 %/h): they pay for the hours
    starting one hour earlier; replayed as 1-hour history rows they give the same leg."""
    settled = parse_fundings(
        load_payload("lighter", "rest_fundings_market_1h_fragment"), lighter_eth()
    ).samples
    first, second = settled
    now = second.ts + timedelta(minutes=30)
    points = hourly_points([(s.kind.value, s.ts, s.rate_hourly) for s in settled], now)
    assert points == [
        (epoch_hour(first.ts) - 1, D("0.000012")),
        (epoch_hour(second.ts) - 1, D("-0.000006")),
    ]
    live = leg_from_hourly(points)
    replayed = leg_from_settlements(
        [(s.ts - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1) for s in settled],
        [s.rate_hourly for s in settled],
        [D(1), D(1)],
        [s.rate_hourly for s in settled],
    )
    assert live is not None
    assert (live.first_hour, live.values.tolist()) == (replayed.first_hour, replayed.values.tolist())


def test_lighter_stream_settled_and_current_rate() -> None:
    """`market_stats`: the last settled rate (stamped 15:00) is the hour 14:00-15:00; the current rate
    (-0.0012 %/h, frame at 15:28:50) is what a holder earns in the hour in progress."""
    result = parse_market_stats_frame(load_payload("lighter", "ws_update_market_stats_market0"), NOW)
    predicted, settled = result.samples
    assert (predicted.kind, settled.kind) == (FundingKind.PREDICTED, FundingKind.SETTLED)
    points = hourly_points([(s.kind.value, s.ts, s.rate_hourly) for s in (predicted, settled)], predicted.ts)
    hour = epoch_hour(datetime(2026, 7, 28, 15, tzinfo=timezone.utc))
    assert points == [(hour - 1, D("-0.000011")), (hour, D("-0.000012"))]


def test_paradex_hourly_accrual_bucket_and_current_rate() -> None:
    """Paradex funds continuously: `funding/data` rows of an hour give one settled sample stamped at the hour's
    end, the hour itself in the leg; a `funding_data` push is the current rate of its hour. Both per hour:
    the 8-hour rate / 8."""
    market = paradex_btc()
    page = parse_funding_data(load_payload("paradex", "rest_funding_data_btc_ccxt"), market)
    buckets = HourlyFundingBuckets(market)
    buckets.add_all(page.rows)
    (sample,) = buckets.samples(
        datetime(2025, 11, 26, tzinfo=timezone.utc), datetime(2025, 11, 27, tzinfo=timezone.utc)
    )
    assert sample.ts == datetime(2025, 11, 26, 13, tzinfo=timezone.utc)  # row at 12:32:07 -> hour 12:00-13:00
    later = datetime(2025, 11, 26, 14, 5, tzinfo=timezone.utc)
    (point,) = hourly_points([("settled", sample.ts, sample.rate_hourly)], later)
    assert point == (epoch_hour(datetime(2025, 11, 26, 12, tzinfo=timezone.utc)), D("-0.0000087407486575"))
    push = parse_funding_data_frame(load_payload("paradex", "ws_funding_data_btc"), {"BTC-USD-PERP": market})
    (current,) = push.samples
    (now_point,) = hourly_points([(current.kind.value, current.ts, current.rate_hourly)], current.ts)
    assert now_point == (epoch_hour(current.ts), D("0.00000896614810125"))
