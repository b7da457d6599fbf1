"""Opportunity finder: exact hand-computed rankings, filters, staleness, fees, persistence and properties.

The maths is DESIGN.md "Opportunity maths": spread = rate(short) - rate(long), C = 2 (fee_long + fee_short)
+ 4 slippage + cross spread, net_apr = (spread H - C) / H * 8760, break_even = C / spread.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D
from decimal import localcontext
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from funding_rate_service import cost_model as cm
from funding_rate_service.opportunity_finder import (
    MarketSnapshot,
    Opportunity,
    OpportunityQuery,
    OpportunityResult,
    find_opportunities,
    spread_persistence,
)

NOW = datetime(2025, 6, 1, 12, 30, tzinfo=timezone.utc)
HOUR0 = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)  # the bucket in progress at NOW


def snap(
    venue: str,
    rate: str,
    symbol: str = "ETH",
    *,
    age: float = 60.0,
    taker: str | None = None,
    maker: str | None = None,
    volume: str | None = "1000000",
    oi: str | None = "500000",
) -> MarketSnapshot:
    return MarketSnapshot(
        venue=venue,
        symbol=symbol,
        venue_symbol=f"{symbol}-USD-PERP" if venue == "paradex" else symbol,
        rate_hourly=D(rate),
        ts=NOW - timedelta(seconds=age),
        mark_price=D("2500"),
        open_interest_usd=None if oi is None else D(oi),
        volume_24h_usd=None if volume is None else D(volume),
        taker_fee=None if taker is None else D(taker),
        maker_fee=None if maker is None else D(maker),
    )


def example() -> list[MarketSnapshot]:
    """The brief's example: A = +0.00001/h (taker 2 bps), B = +0.00005/h (taker 5 bps)."""
    return [snap("alpha", "0.00001", taker="0.0002"), snap("beta", "0.00005", taker="0.0005")]


def query(**kwargs: Any) -> OpportunityQuery:
    return OpportunityQuery(now=NOW, **kwargs)


def only(result: OpportunityResult, long_venue: str, short_venue: str, symbol: str = "ETH") -> Opportunity:
    found = [
        o
        for o in result.opportunities
        if (o.symbol, o.long_venue, o.short_venue) == (symbol, long_venue, short_venue)
    ]
    assert len(found) == 1, f"expected one {symbol} {long_venue}->{short_venue}, got {found}"
    return found[0]


def directions(result: OpportunityResult) -> list[tuple[str, str, str]]:
    return [(o.symbol, o.long_venue, o.short_venue) for o in result.opportunities]


# ----------------------------------------------------------------------------------------------- maths


def test_hand_computed_example_long_low_rate_short_high_rate() -> None:
    result = find_opportunities(example(), query())
    opp = only(result, "alpha", "beta")
    assert opp.long_rate_hourly == D("0.00001")
    assert opp.short_rate_hourly == D("0.00005")
    assert opp.spread_hourly == D("0.00004")
    assert opp.gross_apr == D("0.3504")  # 0.00004 * 8760
    assert (opp.long_fee, opp.short_fee, opp.fee_kind) == (D("0.0002"), D("0.0005"), "taker")
    assert opp.round_trip_cost == D("0.0014")  # 2 * (0.0002 + 0.0005)
    # (0.00004 * 168 - 0.0014) / 168 * 8760 = 0.00532 * 8760 / 168 = 46.6032 / 168
    assert opp.net_apr == D("0.2774")
    assert opp.break_even_hours == D(35)  # 0.0014 / 0.00004
    assert opp.horizon_hours == D(168)
    assert opp.data_age_seconds == 60.0
    assert (opp.long_venue_symbol, opp.short_venue_symbol) == ("ETH", "ETH")


def test_whole_round_trip_is_amortised_over_the_horizon_not_one_funding_period() -> None:
    """Some tools charge C against a single funding period. That turns this +27.74 % opportunity into a large
    loss; the finder must amortise C over H."""
    opp = only(find_opportunities(example(), query()), "alpha", "beta")
    spread, cost = D("0.00004"), D("0.0014")
    wrong_one_hour = (spread * 1 - cost) / 1 * 8760  # Lighter's 1 h period: -11.9136
    wrong_eight_hours = (spread * 8 - cost) / 8 * 8760  # an 8 h period: -1.1826
    assert wrong_one_hour == D("-11.9136")
    assert wrong_eight_hours == D("-1.1826")
    assert opp.net_apr == D("0.2774")
    assert opp.net_apr not in (wrong_one_hour, wrong_eight_hours)
    assert opp.net_apr > 0


def test_net_apr_depends_on_the_horizon() -> None:
    at = {
        h: only(find_opportunities(example(), query(horizon_hours=h)), "alpha", "beta").net_apr
        for h in (24, 35)
    }
    assert at[24] == D("-0.1606")  # (0.00096 - 0.0014) * 8760 / 24
    assert at[35] == D(0)  # the break-even horizon nets exactly zero
    # the gross APR does not depend on H
    assert only(find_opportunities(example(), query(horizon_hours=24)), "alpha", "beta").gross_apr == D(
        "0.3504"
    )


def test_both_directions_kept_and_ranked_by_net_apr() -> None:
    result = find_opportunities(example(), query())
    assert directions(result) == [("ETH", "alpha", "beta"), ("ETH", "beta", "alpha")]
    wrong_way = result.opportunities[1]
    assert wrong_way.spread_hourly == D("-0.00004")
    assert wrong_way.gross_apr == D("-0.3504")
    assert wrong_way.round_trip_cost == D("0.0014")
    assert wrong_way.net_apr == D("-0.4234")  # (-0.00672 - 0.0014) * 8760 / 168
    assert wrong_way.break_even_hours is None


def test_ranking_across_assets_with_deterministic_ties() -> None:
    snaps = [
        *example(),
        # BTC: same spread and fees as ETH -> same net APR; ties keep (symbol, long, short) order
        snap("alpha", "0.00001", "BTC", taker="0.0002"),
        snap("beta", "0.00005", "BTC", taker="0.0005"),
        # SOL: a larger spread ranks first
        snap("alpha", "-0.0001", "SOL", taker="0.0002"),
        snap("beta", "0.0001", "SOL", taker="0.0005"),
    ]
    result = find_opportunities(snaps, query())
    assert directions(result)[:3] == [
        ("SOL", "alpha", "beta"),
        ("BTC", "alpha", "beta"),
        ("ETH", "alpha", "beta"),
    ]
    nets = [o.net_apr for o in result.opportunities]
    assert nets == sorted(nets, reverse=True)
    assert result.considered_assets == 3
    # SOL: spread 0.0002, net = (0.0336 - 0.0014) * 8760 / 168 = 1.679
    assert result.opportunities[0].net_apr == D("1.679")


def test_three_venues_give_six_ordered_pairs() -> None:
    snaps = [*example(), snap("gamma", "-0.00002", taker="0.0003")]
    result = find_opportunities(snaps, query())
    assert len(result.opportunities) == 6
    gb = only(result, "gamma", "beta")
    assert gb.spread_hourly == D("0.00007")
    assert gb.round_trip_cost == D("0.0016")  # 2 * (0.0003 + 0.0005)
    assert gb.net_apr == cm.net_apr(D("0.00007"), D("0.0016"), D(168))


def test_single_venue_assets_are_ignored() -> None:
    snaps = [*example(), snap("alpha", "0.001", "SOL"), snap("beta", "0.002", "DOGE")]
    result = find_opportunities(snaps, query())
    assert {o.symbol for o in result.opportunities} == {"ETH"}
    assert result.considered_assets == 1


def test_no_snapshots_gives_an_empty_result() -> None:
    result = find_opportunities([], query())
    assert (result.opportunities, result.stale, result.considered_assets, result.as_of) == ([], [], 0, NOW)


def test_newest_snapshot_per_market_wins() -> None:
    old = snap("alpha", "0.0009", age=300, taker="0.0002")
    result = find_opportunities([old, *example()], query())
    assert only(result, "alpha", "beta").long_rate_hourly == D("0.00001")
    assert len(result.opportunities) == 2


def test_slippage_and_cross_spread_costs() -> None:
    result = find_opportunities(example(), query(slippage_bps=1, cross_spread_bps=2))
    opp = only(result, "alpha", "beta")
    assert opp.round_trip_cost == D("0.0020")  # 0.0014 + 4 * 0.0001 + 0.0002
    assert opp.net_apr == D("41.3472") / D(168)  # (0.00672 - 0.002) * 8760 / 168
    assert opp.break_even_hours == D(50)  # 0.002 / 0.00004


def test_caller_decimal_context_does_not_change_results() -> None:
    with localcontext() as ctx:
        ctx.prec = 3
        opp = only(find_opportunities(example(), query(slippage_bps=1, cross_spread_bps=2)), "alpha", "beta")
    assert opp.net_apr == D("41.3472") / D(168)


# ------------------------------------------------------------------------------------------------ fees


def test_venue_without_published_fee_uses_default_taker_fee() -> None:
    snaps = [snap("alpha", "0.00001"), snap("beta", "0.00005", taker="0.0005")]
    opp = only(find_opportunities(snaps, query()), "alpha", "beta")
    assert opp.long_fee == D("0.0005")  # DEFAULT_TAKER_FEE
    assert opp.round_trip_cost == D("0.0020")
    custom = only(find_opportunities(snaps, query(default_taker_fee="0.0001")), "alpha", "beta")
    assert custom.long_fee == D("0.0001")
    assert custom.round_trip_cost == D("0.0012")


def test_fee_override_beats_the_venue_fee() -> None:
    opp = only(
        find_opportunities(example(), query(fee_overrides={("beta", "taker"): "0.0001"})), "alpha", "beta"
    )
    assert (opp.long_fee, opp.short_fee) == (D("0.0002"), D("0.0001"))
    assert opp.round_trip_cost == D("0.0006")
    assert opp.net_apr == D("53.6112") / D(168)  # (0.00672 - 0.0006) * 8760 / 168
    assert opp.break_even_hours == D(15)


def test_maker_mode_uses_maker_fees_and_maker_resolution() -> None:
    snaps = [
        snap("alpha", "0.00001", taker="0.0002", maker="0.0001"),
        snap("beta", "0.00005", taker="0.0005"),  # no maker fee published -> default maker 0.0002
    ]
    opp = only(find_opportunities(snaps, query(use_maker_fees=True)), "alpha", "beta")
    assert (opp.long_fee, opp.short_fee, opp.fee_kind) == (D("0.0001"), D("0.0002"), "maker")
    assert opp.round_trip_cost == D("0.0006")
    assert opp.net_apr == D("53.6112") / D(168)
    # a taker override does not apply in maker mode; a maker override (string key form) does
    q = query(use_maker_fees=True, fee_overrides={("beta", "taker"): 0, "beta:maker": 0})
    opp = only(find_opportunities(snaps, q), "alpha", "beta")
    assert (opp.long_fee, opp.short_fee) == (D("0.0001"), D(0))
    assert opp.round_trip_cost == D("0.0002")


def test_maker_rebates_give_negative_cost_and_immediate_break_even() -> None:
    snaps = [snap("alpha", "0.00001", maker="-0.0001"), snap("beta", "0.00005", maker="-0.0001")]
    opp = only(find_opportunities(snaps, query(use_maker_fees=True)), "alpha", "beta")
    assert opp.round_trip_cost == D("-0.0004")
    assert opp.break_even_hours == D(0)
    assert opp.net_apr == D("62.3712") / D(168)  # (0.00672 + 0.0004) * 8760 / 168
    assert opp.net_apr > opp.gross_apr  # rebates: the only case where net exceeds gross


def test_fee_overrides_from_settings_floats_are_read_as_15_digit_decimals() -> None:
    noisy = 0.0001 * 3  # 0.00030000000000000003 as a float
    q = query(fee_overrides={("alpha", "taker"): 0.0002, ("beta", "taker"): noisy})
    assert q.fee_overrides == {("alpha", "taker"): D("0.0002"), ("beta", "taker"): D("0.0003")}


# ------------------------------------------------------------------------------------------- staleness


def test_stale_snapshots_are_reported_not_ranked() -> None:
    snaps = [
        *example(),
        snap("gamma", "0.009", age=901),
        snap("alpha", "0.0001", "BTC"),
        snap("beta", "0.0002", "BTC", age=3600),
    ]
    result = find_opportunities(snaps, query())
    assert directions(result) == [("ETH", "alpha", "beta"), ("ETH", "beta", "alpha")]
    assert [(s.venue, s.symbol, s.age_seconds) for s in result.stale] == [
        ("beta", "BTC", 3600.0),
        ("gamma", "ETH", 901.0),
    ]
    assert result.considered_assets == 1  # BTC has one fresh venue left


def test_staleness_limit_is_inclusive_and_configurable() -> None:
    snaps = [snap("alpha", "0.00001", age=900), snap("beta", "0.00005", age=30)]
    result = find_opportunities(snaps, query())
    assert len(result.opportunities) == 2
    # the older leg, whichever side it is on
    assert [o.data_age_seconds for o in result.opportunities] == [900.0, 900.0]
    tight = find_opportunities(snaps, query(max_data_age_seconds=899.5))
    assert tight.opportunities == []
    assert [(s.venue, s.age_seconds) for s in tight.stale] == [("alpha", 900.0)]


def test_future_timestamps_beyond_the_limit_are_stale() -> None:
    snaps = [snap("alpha", "0.00001", age=-1000), snap("beta", "0.00005"), snap("gamma", "0", age=-30)]
    result = find_opportunities(snaps, query())
    assert [(s.venue, s.age_seconds) for s in result.stale] == [("alpha", -1000.0)]
    assert {o.long_venue for o in result.opportunities} == {"beta", "gamma"}


def test_now_defaults_to_current_time() -> None:
    fresh = [
        MarketSnapshot("alpha", "ETH", "ETH", D("0.00001"), datetime.now(timezone.utc)),
        MarketSnapshot("beta", "ETH", "ETH", D("0.00005"), datetime.now(timezone.utc)),
    ]
    result = find_opportunities(fresh)
    assert len(result.opportunities) == 2 and result.stale == []
    assert abs((datetime.now(timezone.utc) - result.as_of).total_seconds()) < 60


# --------------------------------------------------------------------------------------------- filters


def test_min_net_apr_filter() -> None:
    result = find_opportunities(example(), query(min_net_apr=0))
    assert directions(result) == [("ETH", "alpha", "beta")]
    assert find_opportunities(example(), query(min_net_apr="0.2774")).opportunities != []  # inclusive
    assert find_opportunities(example(), query(min_net_apr="0.2775")).opportunities == []


def test_min_volume_applies_to_the_smaller_leg() -> None:
    snaps = [snap("alpha", "0.00001", volume="1000000"), snap("beta", "0.00005", volume="500000")]
    assert only(find_opportunities(snaps, query()), "alpha", "beta").min_volume_24h_usd == D(500000)
    assert len(find_opportunities(snaps, query(min_volume_24h_usd=500000)).opportunities) == 2
    assert find_opportunities(snaps, query(min_volume_24h_usd="500000.01")).opportunities == []


def test_min_open_interest_applies_to_the_smaller_leg() -> None:
    snaps = [snap("alpha", "0.00001", oi="200000"), snap("beta", "0.00005", oi="900000")]
    assert only(find_opportunities(snaps, query()), "beta", "alpha").min_open_interest_usd == D(200000)
    assert len(find_opportunities(snaps, query(min_open_interest_usd=200000)).opportunities) == 2
    assert find_opportunities(snaps, query(min_open_interest_usd=200001)).opportunities == []


def test_unknown_volume_or_open_interest_fails_a_set_threshold_only() -> None:
    snaps = [snap("alpha", "0.00001", volume=None, oi=None), snap("beta", "0.00005")]
    result = find_opportunities(snaps, query())
    assert len(result.opportunities) == 2
    assert result.opportunities[0].min_volume_24h_usd is None
    assert result.opportunities[0].min_open_interest_usd is None
    assert find_opportunities(snaps, query(min_volume_24h_usd=0)).opportunities == []
    assert find_opportunities(snaps, query(min_open_interest_usd=0)).opportunities == []


def three_venues() -> list[MarketSnapshot]:
    return [*example(), snap("gamma", "-0.00002", taker="0.0003")]


def test_venues_include() -> None:
    result = find_opportunities(three_venues(), query(venues_include=["alpha", "gamma"]))
    assert sorted(directions(result)) == [("ETH", "alpha", "gamma"), ("ETH", "gamma", "alpha")]


def test_venues_exclude() -> None:
    result = find_opportunities(three_venues(), query(venues_exclude=["alpha"]))
    assert sorted(directions(result)) == [("ETH", "beta", "gamma"), ("ETH", "gamma", "beta")]


def test_venues_required_means_at_least_one_leg_on_them() -> None:
    result = find_opportunities(three_venues(), query(venues_required=["gamma"]))
    assert sorted(directions(result)) == [
        ("ETH", "alpha", "gamma"),
        ("ETH", "beta", "gamma"),
        ("ETH", "gamma", "alpha"),
        ("ETH", "gamma", "beta"),
    ]
    both = find_opportunities(three_venues(), query(venues_required=["gamma", "beta"]))
    assert len(both.opportunities) == 6  # every pair touches beta or gamma


def test_symbols_filter() -> None:
    snaps = [*example(), snap("alpha", "0.0001", "BTC"), snap("beta", "0.0002", "BTC")]
    result = find_opportunities(snaps, query(symbols=["BTC"]))
    assert {o.symbol for o in result.opportunities} == {"BTC"}
    assert result.considered_assets == 1
    assert find_opportunities(snaps, query(symbols=["btc"])).opportunities == []  # exact match


def test_limit_keeps_the_best() -> None:
    snaps = [*three_venues(), snap("alpha", "-0.0001", "SOL"), snap("beta", "0.0001", "SOL")]
    full = find_opportunities(snaps, query())
    top = find_opportunities(snaps, query(limit=3))
    assert directions(top) == directions(full)[:3]
    assert [o.net_apr for o in top.opportunities] == [o.net_apr for o in full.opportunities[:3]]
    assert len(find_opportunities(snaps, query(limit=100)).opportunities) == len(full.opportunities) == 8


# ------------------------------------------------------------------------------------ query validation


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"horizon_hours": 0}, "horizon_hours"),
        ({"horizon_hours": "abc"}, "horizon_hours"),
        ({"slippage_bps": -1}, "slippage_bps"),
        ({"default_taker_fee": "0.05"}, "default_taker_fee=0.05"),
        ({"fee_overrides": {("lighter", "taker"): "0.05"}}, "0.05"),
        ({"fee_overrides": {("lighter", "both"): "0.0001"}}, "both"),
        ({"fee_overrides": {"lighter": "0.0001"}}, "'lighter'"),
        ({"venues_include": []}, "venues_include"),
        ({"venues_include": ["a"], "venues_exclude": ["a"]}, "['a']"),
        ({"venues_required": ["a"], "venues_exclude": ["a"]}, "venues_required ['a']"),
        ({"venues_required": ["b"], "venues_include": ["a"]}, "venues_required ['b']"),
        ({"limit": 0}, "limit"),
        ({"max_data_age_seconds": 0}, "max_data_age_seconds"),
        ({"now": datetime(2025, 1, 1)}, "now=datetime.datetime(2025, 1, 1, 0, 0)"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_query_errors_name_the_field_and_value(kwargs: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValidationError) as info:
        OpportunityQuery(**kwargs)
    assert needle in str(info.value)


def test_query_defaults() -> None:
    q = OpportunityQuery()
    assert q.horizon_hours == D(168)
    assert q.min_net_apr is None and q.limit is None and q.now is None
    assert (q.default_taker_fee, q.default_maker_fee) == (D("0.0005"), D("0.0002"))
    assert (q.slippage_bps, q.cross_spread_bps) == (D(0), D(0))
    assert q.max_data_age_seconds == 900.0
    assert q.use_maker_fees is False


def test_snapshot_validation() -> None:
    with pytest.raises(ValueError, match="ts=datetime"):
        MarketSnapshot("alpha", "ETH", "ETH", D("0.0001"), datetime(2025, 1, 1))
    with pytest.raises(TypeError, match=r"rate_hourly=0\.0001 must be a Decimal"):
        MarketSnapshot("alpha", "ETH", "ETH", 0.0001, NOW)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="volume_24h_usd=Decimal\\('-1'\\) is negative"):
        MarketSnapshot("alpha", "ETH", "ETH", D("0.0001"), NOW, volume_24h_usd=D(-1))
    with pytest.raises(ValueError, match="rate_hourly=Decimal\\('NaN'\\) is not finite"):
        MarketSnapshot("alpha", "ETH", "ETH", D("NaN"), NOW)


def test_to_json_dict_gives_float_fractions_and_nulls() -> None:
    result = find_opportunities(example(), query())
    best, worst = (o.to_json_dict() for o in result.opportunities)
    assert best["net_apr"] == 0.2774 and isinstance(best["net_apr"], float)  # a fraction, not 27.74
    assert best["gross_apr"] == 0.3504
    assert best["spread_hourly"] == 4e-05
    assert best["round_trip_cost"] == 0.0014
    assert best["break_even_hours"] == 35.0 and isinstance(best["break_even_hours"], float)
    assert best["horizon_hours"] == 168.0 and isinstance(best["horizon_hours"], float)
    assert best["data_age_seconds"] == 60.0
    assert best["long_ts"] == "2025-06-01T12:29:00+00:00"
    assert best["sign_persistence_hours"] is None and best["spread_cv_7d"] is None
    assert worst["break_even_hours"] is None
    text = json.dumps(result.to_json_dict())
    assert json.loads(text)["considered_assets"] == 1
    assert set(best) >= {
        "symbol", "long_venue", "short_venue", "long_venue_symbol", "short_venue_symbol", "long_rate_hourly",
        "short_rate_hourly", "spread_hourly", "gross_apr", "round_trip_cost", "net_apr", "break_even_hours",
        "horizon_hours", "min_volume_24h_usd", "min_open_interest_usd", "data_age_seconds",
        "sign_persistence_hours", "spread_mean_24h", "spread_cv_24h", "spread_mean_7d", "spread_cv_7d",
    }  # fmt: skip


def test_stale_entries_to_json() -> None:
    result = find_opportunities([*example(), snap("gamma", "0", age=1000)], query())
    assert result.to_json_dict()["stale"] == [
        {
            "venue": "gamma",
            "symbol": "ETH",
            "venue_symbol": "ETH",
            "ts": "2025-06-01T12:13:20+00:00",
            "age_seconds": 1000.0,
        }
    ]


# ----------------------------------------------------------------------------------------- persistence


def hourly(values: Sequence[str | None], base: str = "0") -> list[tuple[datetime, D]]:
    """values[i] is the rate of the bucket starting i hours before HOUR0 (newest first); None = missing."""
    return [(HOUR0 - timedelta(hours=i), D(base) + D(v)) for i, v in enumerate(values) if v is not None]


def spreads_history(spreads_e5: Sequence[int]) -> dict[tuple[str, str], list[tuple[datetime, D]]]:
    """alpha's rate varies (0, 1e-5, 2e-5, ...); beta = alpha + spread: beta - alpha is the given spread."""
    alpha = [(HOUR0 - timedelta(hours=i), D(i % 3) * D("0.00001")) for i in range(len(spreads_e5))]
    beta = [(t, r + D(s) * D("0.00001")) for (t, r), s in zip(alpha, spreads_e5, strict=True)]
    return {("alpha", "ETH"): alpha[::-1], ("beta", "ETH"): beta}  # any order


# newest first: 3 positive hours, one negative, then positive; 30 hours in all
SPREADS = [2, 2, 2, -1] + [2] * 26


def test_persistence_figures_from_hand_built_history() -> None:
    result = find_opportunities(example(), query(), history=spreads_history(SPREADS))
    opp = only(result, "alpha", "beta")  # current spread +0.00004
    assert opp.sign_persistence_hours == 3
    # last 24 h = buckets starting 13:00 yesterday .. 12:00 today = SPREADS[:24]: 23 x 2 and one -1 (x 1e-5)
    # mean 45/24 = 1.875; population variance (23 x 0.125^2 + 2.875^2) / 24 = 0.359375
    assert opp.spread_mean_24h == D("0.00001875")
    assert opp.spread_cv_24h == D("0.359375").sqrt() / D("1.875")
    assert float(opp.spread_cv_24h) == pytest.approx(0.31972210155418)
    # last 7 d = all 30 buckets: mean 57/30 = 1.9; variance (29 x 0.1^2 + 2.9^2) / 30 = 0.29
    assert opp.spread_mean_7d == D("0.000019")
    assert opp.spread_cv_7d == D("0.29").sqrt() / D("1.9")


def test_persistence_of_the_reverse_direction() -> None:
    result = find_opportunities(example(), query(), history=spreads_history(SPREADS))
    fwd, rev = only(result, "alpha", "beta"), only(result, "beta", "alpha")
    assert rev.sign_persistence_hours == 3  # current spread -0.00004 and hourly spreads all negated
    assert rev.spread_mean_24h == -D("0.00001875")
    assert rev.spread_mean_7d == -D("0.000019")
    assert (rev.spread_cv_24h, rev.spread_cv_7d) == (fwd.spread_cv_24h, fwd.spread_cv_7d)


def test_sign_flip_gives_zero_persistence() -> None:
    # History: beta paid more than alpha for hours (beta - alpha > 0). Now alpha pays more: in both
    # directions the current spread has the opposite sign of the newest hours.
    snaps = [snap("alpha", "0.00005"), snap("beta", "0.00001")]
    result = find_opportunities(snaps, query(), history=spreads_history(SPREADS))
    assert only(result, "alpha", "beta").sign_persistence_hours == 0
    assert only(result, "beta", "alpha").sign_persistence_hours == 0
    # the 7 d figures do not depend on the current spread
    assert only(result, "alpha", "beta").spread_mean_7d == D("0.000019")


def test_windows_exclude_old_and_future_buckets() -> None:
    history = spreads_history([4] * 24 + [-100] * 144 + [1000] * 5)  # 24 h, then to 7 d, then older
    future = (HOUR0 + timedelta(hours=1), D(1))  # starts after NOW: ignored
    history[("beta", "ETH")].append(future)
    opp = only(find_opportunities(example(), query(), history=history), "alpha", "beta")
    assert opp.spread_mean_24h == D("0.00004")
    assert opp.spread_cv_24h == D(0)
    assert opp.spread_mean_7d == (D(4 * 24) - D(100 * 144)) / D(168) * D("0.00001")
    assert opp.sign_persistence_hours == 24


def test_run_stops_at_a_missing_hour_and_alignment_uses_common_hours() -> None:
    alpha = hourly(["0", "0", "0", "0", "0"])
    beta = hourly(["0.00001", "0.00002", None, "0.00003", "0.00004"])  # hour 2 missing on beta
    figures = spread_persistence(alpha, beta, D("0.00001"), NOW)
    assert figures is not None
    assert figures.sign_persistence_hours == 2  # hours 0 and 1; the gap ends the run
    assert figures.points_24h == figures.points_7d == 4
    assert figures.spread_mean_24h == D("0.000025")  # (1 + 2 + 3 + 4) / 4 x 1e-5


def test_zero_spread_run_and_zero_mean_cv() -> None:
    alpha = hourly(["0"] * 4)
    beta = hourly(["0.00001", "-0.00001", "0.00001", "-0.00001"])
    figures = spread_persistence(alpha, beta, D(0), NOW)
    assert figures is not None
    assert figures.sign_persistence_hours == 0  # newest spread is positive, current is exactly 0
    assert figures.spread_mean_24h == D(0)
    assert figures.spread_cv_24h is None  # mean 0
    flat = spread_persistence(hourly(["0"] * 3), hourly(["0"] * 3), D(0), NOW)
    assert flat is not None and flat.sign_persistence_hours == 3


def test_one_point_has_a_mean_but_no_cv() -> None:
    figures = spread_persistence(hourly(["0.00001"]), hourly(["0.00003"]), D("0.00002"), NOW)
    assert figures is not None
    assert (figures.spread_mean_24h, figures.spread_cv_24h) == (D("0.00002"), None)
    assert figures.sign_persistence_hours == 1


def test_no_history_or_no_overlap_gives_none_fields() -> None:
    only_alpha = {("alpha", "ETH"): hourly(["0.00001"])}
    opp = only(find_opportunities(example(), query(), history=only_alpha), "alpha", "beta")
    assert (opp.sign_persistence_hours, opp.spread_mean_24h, opp.spread_cv_7d) == (None, None, None)
    disjoint = {("alpha", "ETH"): hourly(["0.00001"]), ("beta", "ETH"): hourly([None, "0.00001"])}
    opp = only(find_opportunities(example(), query(), history=disjoint), "alpha", "beta")
    assert (opp.sign_persistence_hours, opp.spread_mean_7d) == (None, None)


def test_bad_history_points_are_dropped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    alpha = hourly(["0", "0", "0"])
    beta = [*hourly(["0.00001", "0.00002", "0.00003"]), (HOUR0, D("0.00009"))]  # hour 0 twice
    beta.append((datetime(2025, 6, 1, 9, 0), D("0.00001")))  # naive
    with caplog.at_level(logging.WARNING, logger="perparb.opportunities"):
        figures = spread_persistence(alpha, beta, D("0.00001"), NOW)
    assert figures is not None
    assert figures.points_7d == 2  # hour 0 dropped (never guessed), naive point dropped
    # the run starts at the newest ALIGNED hour (1): hours 1 and 2 are positive
    assert figures.sign_persistence_hours == 2
    assert figures.spread_mean_7d == D("0.000025")
    assert figures.spread_cv_7d == D("0.2")  # stdev 0.5e-5 / mean 2.5e-5
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "given 2 times, dropped" in messages and "naive timestamp" in messages


def test_timestamps_within_the_hour_are_floored() -> None:
    alpha = [(HOUR0 + timedelta(milliseconds=1), D(0))]  # Lighter-style HH:00:00.001
    beta = [(HOUR0, D("0.00002"))]
    figures = spread_persistence(alpha, beta, D("0.00001"), NOW)
    assert figures is not None and figures.points_24h == 1


# ------------------------------------------------------------------------------------------ properties

rates = st.decimals(min_value=D("-0.001"), max_value=D("0.001"), places=10)
fees = st.decimals(min_value=D(0), max_value=D("0.001"), places=6)
horizons = st.integers(min_value=1, max_value=10_000)


def _pair(rate_a: D, rate_b: D, fee_a: D, fee_b: D) -> list[MarketSnapshot]:
    return [
        MarketSnapshot("alpha", "ETH", "ETH", rate_a, NOW, taker_fee=fee_a),
        MarketSnapshot("beta", "ETH", "ETH", rate_b, NOW, taker_fee=fee_b),
    ]


@given(rate_a=rates, rate_b=rates, fee_a=fees, fee_b=fees, horizon=horizons, slip=st.integers(0, 20))
def test_property_finder_matches_reference_formula_and_net_below_gross(
    rate_a: D, rate_b: D, fee_a: D, fee_b: D, horizon: int, slip: int
) -> None:
    q = query(horizon_hours=horizon, slippage_bps=slip)
    for opp in find_opportunities(_pair(rate_a, rate_b, fee_a, fee_b), q).opportunities:
        cost = cm.round_trip_cost(opp.long_fee, opp.short_fee, D(slip))
        assert opp.round_trip_cost == cost >= 0
        assert opp.net_apr == cm.net_apr(opp.spread_hourly, cost, D(horizon))  # exactly the DESIGN formula
        assert opp.net_apr <= opp.gross_apr


@given(rate_a=rates, rate_b=rates, fee_a=fees, fee_b=fees)
def test_property_swapping_legs_negates_the_spread(rate_a: D, rate_b: D, fee_a: D, fee_b: D) -> None:
    result = find_opportunities(_pair(rate_a, rate_b, fee_a, fee_b), query())
    ab, ba = only(result, "alpha", "beta"), only(result, "beta", "alpha")
    assert ab.spread_hourly == -ba.spread_hourly == rate_b - rate_a
    assert ab.gross_apr == -ba.gross_apr
    assert ab.round_trip_cost == ba.round_trip_cost


@given(
    rate_a=rates,
    rate_b=rates,
    fee_a=st.decimals(min_value=D("0.000001"), max_value=D("0.001"), places=6),
    fee_b=fees,
    h1=horizons,
    extra=st.integers(1, 1000),
)
def test_property_net_apr_increases_with_the_horizon(
    rate_a: D, rate_b: D, fee_a: D, fee_b: D, h1: int, extra: int
) -> None:
    snaps = _pair(rate_a, rate_b, fee_a, fee_b)
    short_h = only(find_opportunities(snaps, query(horizon_hours=h1)), "alpha", "beta")
    long_h = only(find_opportunities(snaps, query(horizon_hours=h1 + extra)), "alpha", "beta")
    assert long_h.net_apr > short_h.net_apr


@given(rate_a=rates, rate_b=rates, fee_a=fees, fee_b=fees)
def test_property_break_even_times_spread_is_cost(rate_a: D, rate_b: D, fee_a: D, fee_b: D) -> None:
    for opp in find_opportunities(_pair(rate_a, rate_b, fee_a, fee_b), query()).opportunities:
        if opp.spread_hourly <= 0:
            assert opp.break_even_hours is None
        else:
            assert opp.break_even_hours is not None
            assert abs(
                opp.break_even_hours * opp.spread_hourly - opp.round_trip_cost
            ) <= opp.round_trip_cost * D("1e-26")
