"""Signals (strategies/funding_arbitrage/signals.py): the time rules, the settlement-aware leg rule, every
estimator and stability statistic against hand-computed values, exactness across one and many end hours, no
look-ahead, staleness."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategies.funding_arbitrage.signals import (
    LegSeries,
    SignalParams,
    epoch_hour,
    estimate_now,
    hour_start,
    hourly_points,
    leg_from_hourly,
    leg_from_settlements,
    pair_series,
    settlement_hour,
)

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
H0 = epoch_hour(T0)
US = 1_000_000


def us(when: datetime) -> int:
    return (when - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1)


def at(hours: float, ms: int = 0) -> datetime:
    return T0 + timedelta(hours=hours, milliseconds=ms)


def leg(values: list[float | None], first: int = H0) -> LegSeries:
    """A leg known through its last hour (as live history is)."""
    points = [(first + i, D(repr(v))) for i, v in enumerate(values) if v is not None]
    out = leg_from_hourly(points)
    assert out is not None
    return out


def zero_leg(n: int, first: int = H0) -> LegSeries:
    return LegSeries(
        first,
        np.zeros(n),
        np.asarray([first + n], dtype=np.int64),
        np.asarray([first + n - 1], dtype=np.int64),
        np.full(n, first, dtype=np.int64),
    )


# ---------------------------------------------------------------------------------------------- time rules


def test_settlement_hour_groups_stamps_of_the_same_hour() -> None:
    """One venue stamps 08:00:00.000, another 08:00:00.024 (up to 261 ms in the real history): same hour."""
    assert (
        settlement_hour(us(at(8)))
        == settlement_hour(us(at(8, 24)))
        == settlement_hour(us(at(8, 59_999)))
        == H0 + 8
    )
    assert settlement_hour(us(at(8, 60_001))) == H0 + 9  # after the decision of 08:00
    assert settlement_hour(us(at(7.5))) == H0 + 8
    assert hour_start(H0 + 8) == at(8) and epoch_hour(at(8, 999)) == H0 + 8


# ------------------------------------------------------------------------------------------------------ legs


def test_eight_hourly_settlements_pay_for_the_eight_hours_before_them() -> None:
    """Settlements at 08:00 (0.0008 per 8 h) and 16:00 (0.0016): hours 0..7 earn 0.0001/h, 8..15 0.0002/h; the
    second block is known only from 16:00 (the decision at 16:00 follows the settlement)."""
    leg8 = leg_from_settlements(
        [us(at(8, 5)), us(at(16))], [D("0.0008"), D("0.0016")], [D(8), D(8)], [D("0.0001"), D("0.0002")]
    )
    assert leg8.first_hour == H0 and leg8.values.tolist() == [0.0001] * 8 + [0.0002] * 8
    assert [leg8.known_hour_at(H0 + t) for t in (7, 8, 15, 16, 30)] == [
        None,
        H0 + 7,
        H0 + 7,
        H0 + 15,
        H0 + 15,
    ]


def test_early_row_pays_its_whole_rate_over_the_hours_it_covers() -> None:
    """A row saying 8 h four hours after the previous settlement (Binance ORDI, 2026-06-24): the holder received
    rate_raw 0.0008 over 4 hours, 0.0002 per hour, not rate_hourly 0.0001."""
    leg8 = leg_from_settlements(
        [us(at(8)), us(at(12))], [D("0.0008"), D("0.0008")], [D(8), D(8)], [D("0.0001"), D("0.0001")]
    )
    assert leg8.values.tolist() == [0.0001] * 8 + [0.0002] * 4


def test_gap_in_settlements_leaves_unknown_hours() -> None:
    leg1 = leg_from_settlements(
        [us(at(1)), us(at(2)), us(at(5))], [D("0.00001")] * 3, [D(1)] * 3, [D("0.00001")] * 3
    )
    got = leg1.values.tolist()
    assert got[:2] == [0.00001, 0.00001] and all(math.isnan(x) for x in got[2:4]) and got[4] == 0.00001


def test_hourly_points_from_stored_samples() -> None:
    """Settled samples fill the hour before their settlement hour; a finished hour without one takes the mean of
    its predicted samples; the hour in progress its latest predicted sample (one stamped after `now`, a venue
    clock ahead, counts as the latest); a settled sample after `now` is not known yet."""
    samples = [
        ("settled", at(1), D("0.00001")),  # hour 0
        ("predicted", at(0, 1000), D("0.9")),  # hour 0 has a settled value: ignored
        ("predicted", at(1.25), D("0.00002")),  # hour 1 (finished, no settlement): mean 0.00003
        ("predicted", at(1.75), D("0.00004")),
        ("predicted", at(2.25), D("0.00006")),  # hour 2 in progress: the latest
        ("predicted", at(2.75), D("0.00007")),
        ("settled", at(4), D("0.5")),  # covers hour 3: not known at 02:54
    ]
    assert hourly_points(samples, at(2.9)) == [
        (H0, D("0.00001")),
        (H0 + 1, D("0.00003")),
        (H0 + 2, D("0.00007")),
    ]
    ahead = [*samples, ("predicted", at(3.5), D("0.00008"))]
    assert hourly_points(ahead, at(2.9))[-1] == (H0 + 2, D("0.00008"))


# ------------------------------------------------------------------------------------------------ estimators


def params(estimator: str, **kw: float) -> SignalParams:
    return SignalParams(estimator=estimator, stability_days=3, **kw)  # type: ignore[arg-type]


def short_leg(values: list[float | None]) -> tuple[LegSeries, LegSeries]:
    """(long, short) legs whose spread short - long is `values` (long leg constant 0.00001)."""
    return leg([0.00001] * len(values)), leg([None if v is None else v + 0.00001 for v in values])


def one(long: LegSeries, short: LegSeries, p: SignalParams, end: int) -> dict[str, float]:
    s = pair_series(long, short, p, end, end)
    return {
        "spread": float(s.spread[0]),
        "instant": float(s.instant[0]),
        "hours": float(s.hours[0]),
        "tstat": float(s.tstat[0]),
        "cv": float(s.cv[0]),
        "pos": float(s.pos_share[0]),
        "neg": float(s.neg_share[0]),
    }


def test_instantaneous_mean_and_ewma_by_hand() -> None:
    """Spread 1, 2, 3, 4 (x 1e-5) in hours 0..3.
    mean over 4 h: 2.5e-5; over 2 h: 3.5e-5. EWMA half-life 1 h (w = 0.5) over 4 h:
    (4 + 0.5 x 3 + 0.25 x 2 + 0.125 x 1) / (1 + 0.5 + 0.25 + 0.125) = 6.125 / 1.875 = 3.2667e-5."""
    long, short = short_leg([1e-5, 2e-5, 3e-5, 4e-5])
    end = H0 + 3
    assert one(long, short, params("instantaneous"), end)["spread"] == pytest.approx(4e-5, rel=1e-9)
    assert one(long, short, params("mean", window_hours=4), end)["spread"] == pytest.approx(2.5e-5, rel=1e-9)
    assert one(long, short, params("mean", window_hours=2), end)["spread"] == pytest.approx(3.5e-5, rel=1e-9)
    ewma = one(long, short, params("ewma", half_life_hours=1, window_hours=4), end)
    assert ewma["spread"] == pytest.approx(6.125 / 1.875 * 1e-5, rel=1e-9)
    assert ewma["hours"] == 4


def test_missing_hours_carry_no_weight() -> None:
    """Hour 1 unknown: EWMA (4 + 1.5 + 0.125) / (1 + 0.5 + 0.125) = 3.4615e-5; mean (1 + 3 + 4) / 3."""
    long, short = short_leg([1e-5, None, 3e-5, 4e-5])
    end = H0 + 3
    ewma = one(long, short, params("ewma", half_life_hours=1, window_hours=4), end)
    assert ewma["spread"] == pytest.approx(5.625 / 1.625 * 1e-5, rel=1e-9) and ewma["hours"] == 3
    assert one(long, short, params("mean", window_hours=4), end)["spread"] == pytest.approx(
        8e-5 / 3, rel=1e-9
    )
    # not enough known hours: no estimate
    assert math.isnan(one(long, short, params("mean", window_hours=4, min_hours=4), end)["spread"])
    # the end hour itself unknown: no instantaneous value
    long2, short2 = short_leg([1e-5, 2e-5, None, 4e-5])
    assert math.isnan(one(long2, short2, params("instantaneous"), H0 + 2)["spread"])


def test_stability_statistics_by_hand() -> None:
    """Three days of spreads 1, 2, 3 (x 1e-5), constant within each day.
    Daily means 1, 2, 3: mean 2, sample sd 1, t = 2 / (1 / sqrt 3) = 3.4641.
    Hourly: mean 2, population sd sqrt((24 x 1 + 24 x 1) / 72) = 0.8165, CV 0.40825. All positive: share 1."""
    long, short = short_leg([1e-5] * 24 + [2e-5] * 24 + [3e-5] * 24)
    got = one(long, short, params("instantaneous"), H0 + 71)
    assert got["tstat"] == pytest.approx(2 * math.sqrt(3), rel=1e-9)
    assert got["cv"] == pytest.approx(math.sqrt(48 / 72) / 2, rel=1e-9)
    assert (got["pos"], got["neg"]) == (1.0, 0.0)
    # a day with fewer than 12 known hours is left out: only 2 days remain -> no t-stat (needs 3)
    thin = [1e-5] * 24 + [None] * 13 + [2e-5] * 11 + [3e-5] * 24
    long, short = short_leg(thin)
    assert math.isnan(one(long, short, params("instantaneous"), H0 + 71)["tstat"])
    # a constant spread has an infinite t-stat of its sign
    long, short = short_leg([-2e-5] * 72)
    flat = one(long, short, params("instantaneous"), H0 + 71)
    assert flat["tstat"] == -math.inf and flat["cv"] < 1e-12 and flat["neg"] == 1.0


def test_one_end_hour_and_a_range_are_bit_identical() -> None:
    """The live path computes one end hour, the backtester a range: identical floats (element-wise arithmetic,
    oldest hour first)."""
    rng = np.random.default_rng(7)
    values = [float(x) for x in rng.normal(2e-5, 3e-5, 400)]
    values[50] = None  # type: ignore[call-overload]
    long, short = short_leg(values)  # type: ignore[arg-type]
    for p in (
        params("instantaneous"),
        params("mean", window_hours=72, min_hours=10),
        params("ewma", half_life_hours=24, window_hours=96, min_hours=10),
    ):
        many = pair_series(long, short, p, H0 + 100, H0 + 399)
        for end in (H0 + 100, H0 + 251, H0 + 399):
            single = pair_series(long, short, p, end, end)
            i = end - many.first_end
            for name in ("spread", "instant", "hours", "tstat", "cv", "pos_share", "neg_share"):
                a, b = getattr(many, name)[i], getattr(single, name)[0]
                assert (a == b) or (math.isnan(a) and math.isnan(b)), (p.estimator, name, end)


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.integers(-50, 50), min_size=120, max_size=120),
    cut=st.integers(60, 110),
    estimator=st.sampled_from(["instantaneous", "mean", "ewma"]),
    noise=st.integers(-1000, 1000),
)
def test_no_look_ahead_every_estimator(values: list[int], cut: int, estimator: str, noise: int) -> None:
    """Changing every hour after the end hour changes no statistic at or before it."""
    p = {
        "instantaneous": params("instantaneous"),
        "mean": params("mean", window_hours=24, min_hours=1),
        "ewma": params("ewma", half_life_hours=12, window_hours=48, min_hours=1),
    }[estimator]
    spread = [v * 1e-6 for v in values]
    changed = spread[: cut + 1] + [v * 1e-6 + noise * 1e-7 for v in values[cut + 1 :]]
    a = pair_series(*short_leg(spread), p, H0 + 50, H0 + cut)  # type: ignore[arg-type]
    b = pair_series(*short_leg(changed), p, H0 + 50, H0 + cut)  # type: ignore[arg-type]
    for name in ("spread", "instant", "hours", "tstat", "cv", "pos_share", "neg_share"):
        assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name


def test_look_ahead_check_has_teeth() -> None:
    """The same comparison including the changed hour does see it."""
    spread = [1e-5] * 100
    changed = spread[:80] + [9e-5] * 20
    p = params("ewma", half_life_hours=12, window_hours=48, min_hours=1)
    a = pair_series(*short_leg(spread), p, H0 + 79, H0 + 80)  # type: ignore[arg-type]
    b = pair_series(*short_leg(changed), p, H0 + 79, H0 + 80)  # type: ignore[arg-type]
    assert a.spread[0] == b.spread[0] and a.spread[1] != b.spread[1]


# ------------------------------------------------------------------------------------------------ estimates


def test_estimate_now_aligns_legs_and_reports_staleness() -> None:
    """The 1-hourly leg knows hours 0..20, the 8-hourly one 0..15: the estimate ends at hour 15, on both legs'
    values of that hour. At 21:00 the 8-hourly leg's last fresh hour ended at 16:00: 5 h stale."""
    hourly = leg([0.00001] * 21)
    slow = leg([0.00004] * 16)
    p = params("instantaneous")
    est = estimate_now("BTC", "hyperliquid", "binance", hourly, slow, at(21), p)
    assert est.end_hour == at(15) and est.spread_hourly == pytest.approx(0.00003, rel=1e-9)
    assert (est.stale_hours, est.stale_venue) == (5.0, "binance")
    assert est.apr == pytest.approx(0.00003 * 8760, rel=1e-9)
    assert est.net_apr(0.0028, 168.0) == pytest.approx((0.00003 * 168 - 0.0028) / 168 * 8760, rel=1e-9)
    reverse = estimate_now("BTC", "binance", "hyperliquid", slow, hourly, at(21), p)
    assert reverse.spread_hourly == pytest.approx(-0.00003, rel=1e-9)
    missing = estimate_now("BTC", "binance", "hyperliquid", None, hourly, at(21), p)
    assert missing.spread_hourly is None and missing.stale_hours == math.inf
    # stored in jsonb (position monitor, events): strict JSON, no Infinity / NaN
    assert json.loads(json.dumps(missing.to_json_dict(), allow_nan=False))["stale_hours"] == "inf"


def test_zero_rates_are_not_fresh() -> None:
    """A leg publishing only zeros since hour 4 (a delisted market) is as stale as one that stopped."""
    delisted = leg([0.00002] * 4 + [0.0] * 30)
    est = estimate_now(
        "TON", "binance", "hyperliquid", leg([0.00001] * 34), delisted, at(34), params("instantaneous")
    )
    assert (est.stale_hours, est.stale_venue) == (30.0, "hyperliquid")
    assert zero_leg(5).fresh_end_at(H0 + 4) == H0
