"""Funding-arbitrage signals: what the strategy expects a direction to pay, from history known at decision time.

One pure module (no I/O) used by live trading, paper trading and the backtester. Floats are used for the
statistics (they are estimates, never money); every number below is a fraction per hour unless it says APR
(a fraction per year, `8760 x` the hourly figure).

Leg rule (settlement-aware; DESIGN.md "Signals"): a leg enters a signal as what a holder of it EARNS PER HOUR,
assigned to the hour in which it is earned, never as a last payment treated as a fresh hourly flow.

* A settlement stamped `ts` with interval I hours belongs to its *effective hour* E = ceil((ts - 60 s) / 1 h):
  stamps on the hour and a few milliseconds after it (one venue stamps 08:00:00.000, another 08:00:00.024)
  are the same settlement hour (`settlement_hour`). A decision at hour t is taken just after the settlements
  of hour t: they are known at t and paid to positions held before t (the backtester's cash rule).
* It pays for the hours [max(E - I, E_prev), E) (E_prev = the previous settlement of the market), each
  `rate_raw / that many hours`: `rate_hourly` normally, more per hour when a row arrives early (a row saying
  8 h four hours after the previous one pays its whole `rate_raw` for those four hours). Those hours become
  known at E: an 8-hourly leg is known through E_last - 1, up to 8 h behind a 1-hourly one
  (`leg_from_settlements`, used by the backtester on replayed rows).
* Live and paper runs build the same hourly buckets from stored samples (`hourly_points`): a settled sample
  fills the hour before its effective hour; a finished hour without one takes the mean of the predicted
  (current) rates observed during it, and the hour in progress the latest of them: what a holder is earning
  now at the venue's current rate. Future hours are never filled.

A pair's spread in hour h (long A, short B) is rate_B(h) - rate_A(h), defined only when both legs know hour h.
The estimate at decision time t is taken at the END HOUR k = the older of the two legs' last known hours, so a
fresh 1-hourly leg is compared with an 8-hourly one on the same hours, never with a stale value.

Estimators over the window of hours ending at k (missing hours carry no weight):

* `instantaneous`: the spread in hour k;
* `mean`: arithmetic mean over the last `window_hours` hours;
* `ewma`: sum_j w^j s(k - j) / sum_j w^j over the last `window_hours` hours (default 4 half-lives), with
  w = 0.5 ** (1 / half_life_hours): the newest hour weighs 1, one half-life earlier 1/2.

Stability statistics over the last `stability_days` x 24 hours ending at k:

* `tstat`: t-statistic of the daily means (24-hour blocks ending at k; a block with fewer than 12 known hours
  is left out; at least 3 blocks): mean / (sample standard deviation / sqrt(days)); +-inf for a constant
  non-zero spread;
* `cv`: population standard deviation of the hourly spreads / |their mean|;
* `sign_share`: share of the known hours whose spread is positive in the direction's sense.

Exactness: every statistic is computed by element-wise array operations in a fixed order, oldest hour first,
vectorised across end hours (`pair_series`). The value for an end hour therefore depends only on the hours in
its window and is bit-identical whether computed for one end hour (live) or for a year of them (backtest).

Staleness: a leg's freshness at t is the end of its last known hour whose rate is not exactly zero; a leg whose
fresh end is more than `exit.max_stale_hours` before t (no settlement, no current rate, or a series of exact
zeros, which is what a venue publishes after it stops listing a market) is stale: never entered, and a held
position on it is closed (`decision.exit_decision`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

Estimator = Literal["instantaneous", "mean", "ewma"]
ESTIMATORS: tuple[Estimator, ...] = ("instantaneous", "mean", "ewma")

HOURS_PER_YEAR = 8760.0
US_PER_SECOND = 1_000_000
US_PER_HOUR = 3600 * US_PER_SECOND
SETTLEMENT_GRACE_US = 60 * US_PER_SECOND
"""A settlement stamped up to 60 s after the hour belongs to that hour (real stamps are 0-261 ms late)."""
MIN_HOURS_PER_DAY = 12
"""A daily block of the t-statistic needs at least this many known hours."""
MIN_DAYS = 3
"""The t-statistic needs at least this many daily blocks."""
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


# ------------------------------------------------------------------------------------------------ time rules


def settlement_hour(ts_us: int) -> int:
    """Effective hour (epoch hours) of a settlement stamped `ts_us` (epoch µs): ceil((ts - 60 s) / 1 h).

    08:00:00.000 and 08:00:00.024 both give the hour starting 08:00; 08:01:30 gives 09:00 (settled after the
    decision of 08:00)."""
    return -((SETTLEMENT_GRACE_US - ts_us) // US_PER_HOUR)


def epoch_hour(when: datetime) -> int:
    """The epoch hour containing `when` (aware). Raises ValueError for a naive datetime."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{when!r}: must be timezone-aware (UTC)")
    return (when - EPOCH) // timedelta(hours=1)


def hour_start(hour: int) -> datetime:
    """Aware UTC start of epoch hour `hour`."""
    return EPOCH + timedelta(hours=hour)


def hours_since_epoch(when: datetime) -> float:
    """`when` (aware) in fractional epoch hours."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{when!r}: must be timezone-aware (UTC)")
    return (when - EPOCH) / timedelta(hours=1)


# ------------------------------------------------------------------------------------------------- parameters


@dataclass(frozen=True, slots=True)
class SignalParams:
    """Estimator settings (see the module docstring). Hashable: the backtester caches series per value.

    Attributes:
        estimator: "instantaneous" | "mean" | "ewma".
        half_life_hours: EWMA half-life in hours (ewma only; 0 otherwise).
        window_hours: hours in the estimator's window (1 for instantaneous).
        stability_days: daily blocks of the stability statistics.
        min_hours: known aligned hours needed in the estimator's window for an estimate.
    """

    estimator: Estimator = "instantaneous"
    half_life_hours: float = 0.0
    window_hours: int = 1
    stability_days: int = 7
    min_hours: int = 1

    def __post_init__(self) -> None:
        if self.estimator not in ESTIMATORS:
            raise ValueError(f"estimator: {self.estimator!r} is not one of {list(ESTIMATORS)}")
        if self.window_hours < 1 or self.stability_days < MIN_DAYS or self.min_hours < 1:
            raise ValueError(
                f"window_hours ({self.window_hours}) >= 1, stability_days ({self.stability_days}) >= "
                f"{MIN_DAYS} and min_hours ({self.min_hours}) >= 1 are required"
            )
        if self.estimator == "ewma" and not self.half_life_hours > 0:
            raise ValueError(f"half_life_hours: must be > 0 for ewma (got {self.half_life_hours})")
        if self.min_hours > self.window_hours:
            raise ValueError(f"min_hours ({self.min_hours}) exceeds window_hours ({self.window_hours})")

    @property
    def stability_hours(self) -> int:
        return 24 * self.stability_days

    @property
    def span_hours(self) -> int:
        """Hours of history before (and including) the end hour that any statistic reads."""
        return max(self.window_hours, self.stability_hours)


# ------------------------------------------------------------------------------------------------------- legs


@dataclass(frozen=True, slots=True)
class LegSeries:
    """One leg's hourly earnings.

    Attributes:
        first_hour: epoch hour of `values[0]`.
        values: fraction per hour earned by a holder in each hour [h, h + 1) (long pays / short receives when
            positive); NaN = unknown hour.
        known_at: epoch hours at which the hours become known, ascending (the settlements' effective hours
            for replayed history; hour + 1 of the last bucket for live history); one entry per settlement.
        known_through: for each entry of `known_at`, the last hour known from then on (= that entry - 1 for
            settlements).
        fresh_end: for each hour of `values`: 1 + the last hour <= it whose value is known and not exactly 0
            (a leg is fresh at t when t - fresh_end <= max_stale_hours); `first_hour` when there is none.
    """

    first_hour: int
    values: FloatArray
    known_at: IntArray
    known_through: IntArray
    fresh_end: IntArray

    @property
    def last_hour(self) -> int:
        return self.first_hour + len(self.values) - 1

    def known_hour_at(self, t_hour: int) -> int | None:
        """The last hour known at decision hour `t_hour`, None when nothing is known yet."""
        i = int(np.searchsorted(self.known_at, t_hour, side="right")) - 1
        return None if i < 0 else int(self.known_through[i])

    def known_hours_at(self, t_hours: IntArray) -> IntArray:
        """Vectorised `known_hour_at`; `first_hour - 1` where nothing is known."""
        i = np.searchsorted(self.known_at, t_hours, side="right") - 1
        out = np.where(i >= 0, self.known_through[np.maximum(i, 0)], self.first_hour - 1)
        return out.astype(np.int64)

    def fresh_end_at(self, k: int) -> int:
        """1 + the last hour <= k with a known non-zero rate (`first_hour` when none)."""
        if k < self.first_hour:
            return self.first_hour
        return int(self.fresh_end[min(k, self.last_hour) - self.first_hour])

    def dense(self, lo: int, hi: int) -> FloatArray:
        """Values for hours lo..hi inclusive, NaN outside the series."""
        out = np.full(hi - lo + 1, np.nan)
        a, b = max(lo, self.first_hour), min(hi, self.last_hour)
        if a <= b:
            out[a - lo : b - lo + 1] = self.values[a - self.first_hour : b - self.first_hour + 1]
        return out


def _fresh_end(first_hour: int, values: FloatArray) -> IntArray:
    hours = np.arange(first_hour, first_hour + len(values), dtype=np.int64)
    ok = ~np.isnan(values) & (values != 0.0)
    marks = np.where(ok, hours + 1, first_hour)
    return np.maximum.accumulate(marks).astype(np.int64) if len(marks) else marks.astype(np.int64)


def leg_from_settlements(
    ts_us: Sequence[int],
    rate_raw: Sequence[Decimal],
    interval_hours: Sequence[Decimal],
    rate_hourly: Sequence[Decimal],
) -> LegSeries:
    """The hourly earnings of a leg from its settlements (oldest first; see the module docstring's leg rule).

    Args:
        ts_us: settlement stamps, epoch µs, strictly increasing.
        rate_raw: fraction of notional paid at each settlement (+ = longs pay).
        interval_hours: the interval each row's rate covers (> 0).
        rate_hourly: rate_raw / interval_hours (the loader's canonical number; used when the row covers its
            whole interval, so both paths read the same value).

    Raises:
        ValueError: empty input, or arrays of different lengths.
    """
    n = len(ts_us)
    if n == 0 or not (len(rate_raw) == len(interval_hours) == len(rate_hourly) == n):
        raise ValueError(
            "leg_from_settlements: need one rate, interval and hourly rate per settlement (n > 0)"
        )
    ends = [settlement_hour(t) for t in ts_us]
    first = ends[0] - max(1, math.ceil(interval_hours[0]))
    values = np.full(ends[-1] - first, np.nan)
    known_at: list[int] = []
    prev: int | None = None
    for e, raw, interval, hourly in zip(ends, rate_raw, interval_hours, rate_hourly, strict=True):
        if prev is not None and e <= prev:
            continue  # a second row in the same settlement hour: paid, but it covers no hour of its own
        span = max(1, math.ceil(interval))
        start = e - span if prev is None else max(e - span, prev)
        hours = e - start
        per_hour = float(hourly) if hours == interval else float(raw / hours)
        values[start - first : e - first] = per_hour
        known_at.append(e)
        prev = e
    known = np.asarray(known_at, dtype=np.int64)
    return LegSeries(first, values, known, known - 1, _fresh_end(first, values))


def hourly_points(
    samples: Iterable[tuple[str, datetime, Decimal]], now: datetime
) -> list[tuple[int, Decimal]]:
    """Live and paper history as hourly buckets: (epoch hour, rate per hour), ascending, through the hour in
    progress.

    Args:
        samples: (kind "settled" | "predicted", ts aware, rate_hourly) of ONE market. Each settled sample of
            the live venues covers the one hour before its settlement hour (hourly settlement, or hourly buckets
            of continuous accrual); a predicted sample is the rate of the hour it was observed in.
        now: decision time.

    Rule: an hour with settled samples takes their mean; a finished hour without one the mean of the predicted
    samples observed in it; the hour in progress the LATEST predicted sample (the rate a holder is earning
    now). A predicted sample stamped after `now` (a venue clock ahead of ours) counts for the hour in progress;
    a settled one after it is not known yet and is dropped. Means are Decimal; `leg_from_hourly` converts once.
    """
    settled: dict[int, list[Decimal]] = {}
    predicted: dict[int, list[Decimal]] = {}
    latest: tuple[datetime, Decimal] | None = None
    limit = epoch_hour(now)
    for kind, ts, rate in samples:
        if kind == "settled":
            us = (ts - EPOCH) // timedelta(microseconds=1)
            end = settlement_hour(us)
            if end <= limit:  # known from its settlement hour on, as in the backtester
                settled.setdefault(end - 1, []).append(rate)
            continue
        hour = min(epoch_hour(ts), limit)
        if hour == limit:
            if latest is None or ts >= latest[0]:
                latest = (ts, rate)
        else:
            predicted.setdefault(hour, []).append(rate)
    if latest is not None:
        predicted[limit] = [latest[1]]
    out: list[tuple[int, Decimal]] = []
    for hour in sorted(set(settled) | set(predicted)):
        values = settled.get(hour) or predicted[hour]
        out.append((hour, sum(values, Decimal(0)) / len(values)))
    return out


def leg_from_hourly(points: Sequence[tuple[int, Decimal]]) -> LegSeries | None:
    """A leg from hourly buckets (`hourly_points`), every bucket known now. None when there is no bucket.

    A bucket whose value equals the settlement series' per-hour value gives the same float (one Decimal ->
    float conversion), so history stored in the database and the same rows replayed give identical signals."""
    if not points:
        return None
    first, last = points[0][0], points[-1][0]
    values = np.full(last - first + 1, np.nan)
    for hour, rate in points:
        values[hour - first] = float(rate)
    known = np.asarray([last + 1], dtype=np.int64)
    return LegSeries(first, values, known, known - 1, _fresh_end(first, values))


# ------------------------------------------------------------------------------------------------------ pairs


@dataclass(frozen=True, slots=True)
class PairSeries:
    """Statistics of the spread short - long of one venue pair for the end hours first_end..first_end + n - 1.

    Every array has one entry per end hour; NaN = no value. `spread` is the configured estimator; `hours` the
    known aligned hours in its window; `pos_share` / `neg_share` the share of known hours of the stability
    window with a positive / negative spread."""

    first_end: int
    spread: FloatArray
    instant: FloatArray
    hours: FloatArray
    tstat: FloatArray
    cv: FloatArray
    pos_share: FloatArray
    neg_share: FloatArray

    def index(self, end_hour: int) -> int | None:
        i = end_hour - self.first_end
        return i if 0 <= i < len(self.spread) else None


def pair_series(
    long: LegSeries, short: LegSeries, params: SignalParams, first_end: int, last_end: int
) -> PairSeries:
    """Every statistic of the spread (short leg - long leg) for end hours first_end..last_end (inclusive).

    Element-wise arithmetic only, oldest hour first (see "Exactness" in the module docstring).

    Raises:
        ValueError: last_end < first_end.
    """
    if last_end < first_end:
        raise ValueError(f"pair_series: empty end-hour range {first_end}..{last_end}")
    span = params.span_hours
    lo = first_end - span + 1
    n = last_end - first_end + 1
    raw = short.dense(lo, last_end) - long.dense(lo, last_end)
    present = ~np.isnan(raw)
    x = np.where(present, raw, 0.0)
    m = present.astype(np.float64)
    top = span - 1  # index in x of the first end hour

    def at(j: int, arr: FloatArray) -> FloatArray:
        """The hour j hours before each end hour."""
        return arr[top - j : top - j + n]

    instant = np.where(at(0, m) > 0, at(0, x), np.nan)
    window = params.window_hours
    num = np.zeros(n)
    den = np.zeros(n)
    cnt = np.zeros(n)
    if params.estimator == "ewma":
        w = 0.5 ** (1.0 / params.half_life_hours)
        for j in range(window - 1, -1, -1):
            np.multiply(num, w, out=num)
            np.add(num, at(j, x), out=num)
            np.multiply(den, w, out=den)
            np.add(den, at(j, m), out=den)
            np.add(cnt, at(j, m), out=cnt)
    else:
        for j in range(window - 1, -1, -1):
            np.add(num, at(j, x), out=num)
            np.add(cnt, at(j, m), out=cnt)
        den = cnt.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        if params.estimator == "instantaneous":
            spread = instant.copy()
        else:
            spread = np.where((cnt >= params.min_hours) & (den > 0), num / den, np.nan)
        if params.estimator == "instantaneous" and params.min_hours > 1:
            spread = np.where(cnt >= params.min_hours, spread, np.nan)
        tstat, cv, pos, neg = _stability(x, m, top, n, params.stability_days)
    return PairSeries(first_end, spread, instant, cnt, tstat, cv, pos, neg)


def _stability(
    x: FloatArray, m: FloatArray, top: int, n: int, days: int
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    hours = 24 * days
    day_sum = [np.zeros(n) for _ in range(days)]
    day_cnt = [np.zeros(n) for _ in range(days)]
    tot = np.zeros(n)
    cnt = np.zeros(n)
    pos = np.zeros(n)
    neg = np.zeros(n)
    for j in range(hours - 1, -1, -1):
        xs = x[top - j : top - j + n]
        ms = m[top - j : top - j + n]
        b = j // 24
        np.add(day_sum[b], xs, out=day_sum[b])
        np.add(day_cnt[b], ms, out=day_cnt[b])
        np.add(tot, xs, out=tot)
        np.add(cnt, ms, out=cnt)
        np.add(pos, (xs > 0.0).astype(np.float64), out=pos)
        np.add(neg, (xs < 0.0).astype(np.float64), out=neg)
    mean_h = np.where(cnt > 0, tot / np.where(cnt > 0, cnt, 1.0), 0.0)
    sq = np.zeros(n)
    for j in range(hours - 1, -1, -1):
        xs = x[top - j : top - j + n]
        ms = m[top - j : top - j + n]
        d = (xs - mean_h) * ms
        np.add(sq, d * d, out=sq)
    sd_h = np.sqrt(sq / np.where(cnt > 0, cnt, 1.0))
    cv = np.where((cnt >= 2) & (mean_h != 0.0), sd_h / np.abs(mean_h), np.nan)
    pos_share = np.where(cnt > 0, pos / np.where(cnt > 0, cnt, 1.0), np.nan)
    neg_share = np.where(cnt > 0, neg / np.where(cnt > 0, cnt, 1.0), np.nan)
    valid = [(c >= MIN_HOURS_PER_DAY).astype(np.float64) for c in day_cnt]
    means = [
        np.where(v > 0, s / np.where(c > 0, c, 1.0), 0.0)
        for s, c, v in zip(day_sum, day_cnt, valid, strict=True)
    ]
    n_days = np.zeros(n)
    total = np.zeros(n)
    for b in range(days - 1, -1, -1):
        np.add(n_days, valid[b], out=n_days)
        np.add(total, means[b] * valid[b], out=total)
    mean_d = np.where(n_days > 0, total / np.where(n_days > 0, n_days, 1.0), 0.0)
    var = np.zeros(n)
    for b in range(days - 1, -1, -1):
        d = (means[b] - mean_d) * valid[b]
        np.add(var, d * d, out=var)
    var = var / np.where(n_days > 1, n_days - 1, 1.0)
    se = np.sqrt(var / np.where(n_days > 0, n_days, 1.0))
    constant = np.where(mean_d > 0, np.inf, np.where(mean_d < 0, -np.inf, 0.0))
    t = np.where(se > 0, mean_d / np.where(se > 0, se, 1.0), constant)
    tstat = np.where(n_days >= MIN_DAYS, t, np.nan)
    return tstat, cv, pos_share, neg_share


# ------------------------------------------------------------------------------------------------- estimates


@dataclass(slots=True)
class SignalEstimate:
    """What the strategy expects one direction (long `long_venue`, short `short_venue`) to pay. Treat as
    read-only (not frozen only because a frozen dataclass costs ~3x to build; the backtester builds many).

    Attributes:
        spread_hourly: the estimator's expected spread, fraction per hour; None without enough history.
        instantaneous_hourly: the spread in the end hour (None when a leg does not know it).
        tstat, cv, sign_share: stability statistics in this direction (see the module docstring); None when
            undefined. tstat may be +-inf (a constant spread).
        hours: known aligned hours in the estimator's window.
        end_hour: start of the last hour the estimate covers (aligned on both legs); None when unknown.
        stale_hours: the larger of the legs' hours since their last fresh, non-zero rate.
        stale_venue: the venue of that leg.
    """

    symbol: str
    long_venue: str
    short_venue: str
    estimator: str
    spread_hourly: float | None
    instantaneous_hourly: float | None
    tstat: float | None
    cv: float | None
    sign_share: float | None
    hours: int
    end_hour: datetime | None
    stale_hours: float
    stale_venue: str

    def key(self) -> tuple[str, str, str]:
        return (self.symbol, self.long_venue, self.short_venue)

    @property
    def apr(self) -> float | None:
        """Expected gross APR (fraction per year) = spread_hourly x 8760."""
        return None if self.spread_hourly is None else self.spread_hourly * HOURS_PER_YEAR

    def net_apr(self, round_trip_cost: float, horizon_hours: float) -> float | None:
        """Expected net APR over the horizon: (spread x H - C) / H x 8760 (DESIGN.md opportunity maths)."""
        if self.spread_hourly is None:
            return None
        return (self.spread_hourly * horizon_hours - round_trip_cost) / horizon_hours * HOURS_PER_YEAR

    def to_json_dict(self) -> dict[str, object]:
        """JSON-safe (fractions; inf as the strings "inf" / "-inf")."""

        def f(v: float | None) -> float | str | None:
            if v is not None and math.isinf(v):
                return "inf" if v > 0 else "-inf"
            return v

        return {
            "symbol": self.symbol,
            "long_venue": self.long_venue,
            "short_venue": self.short_venue,
            "estimator": self.estimator,
            "spread_hourly": self.spread_hourly,
            "apr": self.apr,
            "instantaneous_hourly": self.instantaneous_hourly,
            "tstat": f(self.tstat),
            "cv": self.cv,
            "sign_share": self.sign_share,
            "hours": self.hours,
            "end_hour": None if self.end_hour is None else self.end_hour.isoformat(),
            "stale_hours": f(self.stale_hours),
            "stale_venue": self.stale_venue,
        }


def make_estimate(
    *,
    symbol: str,
    long_venue: str,
    short_venue: str,
    estimator: str,
    end_hour: int | None,
    spread: float,
    instant: float,
    tstat: float,
    cv: float,
    share: float,
    hours: float,
    reverse: bool,
    stale_hours: float,
    stale_venue: str,
) -> SignalEstimate:
    """A `SignalEstimate` from one end hour's raw statistics of a pair series (NaN = none; `end_hour` None =
    nothing known). `reverse`: the statistics were computed for the opposite direction: spread, instantaneous
    spread and t-stat change sign (`share` must already be the direction's own sign share)."""
    if end_hour is None:
        return SignalEstimate(
            symbol,
            long_venue,
            short_venue,
            estimator,
            None,
            None,
            None,
            None,
            None,
            0,
            None,
            stale_hours,
            stale_venue,
        )
    sign = -1.0 if reverse else 1.0
    return SignalEstimate(
        symbol=symbol,
        long_venue=long_venue,
        short_venue=short_venue,
        estimator=estimator,
        spread_hourly=None if spread != spread else sign * spread,
        instantaneous_hourly=None if instant != instant else sign * instant,
        tstat=None if tstat != tstat else sign * tstat,
        cv=None if cv != cv else cv,
        sign_share=None if share != share else share,
        hours=int(hours),
        end_hour=hour_start(end_hour),
        stale_hours=stale_hours,
        stale_venue=stale_venue,
    )


def estimate_from(
    series: PairSeries,
    end_hour: int,
    *,
    symbol: str,
    long_venue: str,
    short_venue: str,
    reverse: bool,
    estimator: str,
    stale_hours: float,
    stale_venue: str,
) -> SignalEstimate:
    """The `SignalEstimate` of one direction from a pair's series at `end_hour` (`make_estimate`).

    `reverse`: the series was computed for (long short_venue, short long_venue)."""
    i = series.index(end_hour)
    if i is None:
        nan = math.nan
        return make_estimate(
            symbol=symbol,
            long_venue=long_venue,
            short_venue=short_venue,
            estimator=estimator,
            end_hour=None,
            spread=nan,
            instant=nan,
            tstat=nan,
            cv=nan,
            share=nan,
            hours=0,
            reverse=reverse,
            stale_hours=stale_hours,
            stale_venue=stale_venue,
        )
    return make_estimate(
        symbol=symbol,
        long_venue=long_venue,
        short_venue=short_venue,
        estimator=estimator,
        end_hour=end_hour,
        spread=float(series.spread[i]),
        instant=float(series.instant[i]),
        tstat=float(series.tstat[i]),
        cv=float(series.cv[i]),
        share=float((series.neg_share if reverse else series.pos_share)[i]),
        hours=float(series.hours[i]),
        reverse=reverse,
        stale_hours=stale_hours,
        stale_venue=stale_venue,
    )


def estimate_now(
    symbol: str,
    long_venue: str,
    short_venue: str,
    long: LegSeries | None,
    short: LegSeries | None,
    now: datetime,
    params: SignalParams,
) -> SignalEstimate:
    """The estimate of one direction at `now` from live/paper legs (`leg_from_hourly`): end hour = the older
    of the legs' last known hours; staleness from each leg's own last fresh non-zero hour."""
    now_h = hours_since_epoch(now)
    if long is None or short is None:
        stale_venue = long_venue if long is None else short_venue
        return SignalEstimate(
            symbol,
            long_venue,
            short_venue,
            params.estimator,
            None,
            None,
            None,
            None,
            None,
            0,
            None,
            math.inf,
            stale_venue,
        )
    end = min(long.last_hour, short.last_hour)
    ages = [
        (now_h - long.fresh_end_at(long.last_hour), long_venue),
        (now_h - short.fresh_end_at(short.last_hour), short_venue),
    ]
    stale_hours = max(a for a, _ in ages)
    stale_venue = min(
        v for a, v in ages if a == stale_hours
    )  # ties: the first venue by name, as the backtester
    series = pair_series(long, short, params, end, end)
    return estimate_from(
        series,
        end,
        symbol=symbol,
        long_venue=long_venue,
        short_venue=short_venue,
        reverse=False,
        estimator=params.estimator,
        stale_hours=stale_hours,
        stale_venue=stale_venue,
    )


def estimates_now(
    legs: dict[tuple[str, str], LegSeries],
    directions: Iterable[tuple[str, str, str]],
    now: datetime,
    params: SignalParams,
) -> dict[tuple[str, str, str], SignalEstimate]:
    """`estimate_now` for each (symbol, long venue, short venue); `legs` maps (venue, symbol) -> LegSeries."""
    out: dict[tuple[str, str, str], SignalEstimate] = {}
    for symbol, long_venue, short_venue in directions:
        out[(symbol, long_venue, short_venue)] = estimate_now(
            symbol,
            long_venue,
            short_venue,
            legs.get((long_venue, symbol)),
            legs.get((short_venue, symbol)),
            now,
            params,
        )
    return out
