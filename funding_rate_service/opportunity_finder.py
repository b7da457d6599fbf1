"""Cross-venue funding-rate opportunities, ranked by net APR (DESIGN.md "Opportunity maths").

Pure code: no I/O, no database. The repository builds `MarketSnapshot`s (latest state per market) and,
when persistence figures are wanted, an hourly history; `find_opportunities` ranks every (long, short)
ordered venue pair of every base asset quoted on two or more venues.

Maths (see `funding_rate_service.cost_model` for the cost C and the fee resolution order):

    spread_hourly    = rate_hourly(short venue) - rate_hourly(long venue)     fraction per hour
    gross_apr        = spread_hourly * 8760
    net_apr          = (spread_hourly * H - C) / H * 8760                      C amortised over the horizon H
    break_even_hours = C / spread_hourly                                       None when spread_hourly <= 0

Both directions of a pair are kept: the wrong-way direction has the opposite spread and, after costs, a
net APR below minus the right way's gross APR. `OpportunityQuery.min_net_apr` (e.g. 0) is how callers keep
only the interesting ones.

Units: rates are signed fractions per hour, positive when longs pay shorts; APRs, costs and fees are fractions
(0.105 = 10.5 %); USD amounts in USD; ages in seconds; timestamps aware UTC. All arithmetic is `Decimal`
(28 significant digits, half-even), run in a local decimal context so a caller's context cannot change it.
"""

from __future__ import annotations

import heapq
import logging
import math
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from operator import attrgetter, itemgetter, mul, sub
from typing import Any, Final, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from funding_rate_service.cost_model import (
    DEFAULT_MAKER_FEE,
    DEFAULT_TAKER_FEE,
    HOURS_PER_YEAR,
    fixed_cost,
    resolve_fee,
)
from perparb_core import units
from perparb_core.settings import FeeSide

log = logging.getLogger("perparb.opportunities")

HistoryKey = tuple[str, str]
"""(venue, canonical symbol)."""
HourlyHistory = Mapping[HistoryKey, Sequence[tuple[datetime, Decimal]]]
"""(venue, symbol) -> [(hour start UTC, mean rate_hourly over that hour)], any order."""

MAX_ABS_FEE = Decimal("0.01")
"""|fee| above 1 % of notional per fill is refused: almost surely a percent or bps given as a fraction."""

_SECONDS_PER_HOUR = 3600
_SECONDS_24H = 24 * 3600
_SECONDS_7D = 7 * 24 * 3600
_TWO = Decimal(2)
_ZERO = Decimal(0)
_NO_PERSISTENCE: tuple[None, None, None, None, None] = (None, None, None, None, None)


def _check_aware(name: str, value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name}={value!r}: must be timezone-aware (UTC)")
    return value


# --------------------------------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class MarketSnapshot:
    """The latest known state of one market, as the finder needs it.

    Attributes:
        venue: "lighter" | "paradex" | ...
        symbol: canonical base asset ("ETH"); pairs are formed across venues on this name (exact match).
        venue_symbol: the venue's own market name ("ETH", "ETH-USD-PERP").
        rate_hourly: signed fraction per hour, positive when longs pay shorts.
        ts: when the rate was observed (aware; compared with the query's `now` for staleness).
        mark_price: quote units. open_interest_usd, volume_24h_usd: USD. None when unknown.
        taker_fee, maker_fee: the venue's published fee per fill, fractions of notional; None when unknown
            (the query's default then applies). A negative maker fee is a rebate.

    Raises:
        TypeError: when `rate_hourly` or a present number is not a `Decimal`.
        ValueError: naming the field and value, for a naive `ts`, an empty venue/symbol, a non-finite number,
            or a negative open interest / volume / mark price.
    """

    venue: str
    symbol: str
    venue_symbol: str
    rate_hourly: Decimal
    ts: datetime
    mark_price: Decimal | None = None
    open_interest_usd: Decimal | None = None
    volume_24h_usd: Decimal | None = None
    taker_fee: Decimal | None = None
    maker_fee: Decimal | None = None

    def __post_init__(self) -> None:
        if not self.venue or not self.symbol:
            raise ValueError(f"venue={self.venue!r}, symbol={self.symbol!r}: both must be non-empty")
        _check_aware("ts", self.ts)
        for name in (
            "rate_hourly",
            "mark_price",
            "open_interest_usd",
            "volume_24h_usd",
            "taker_fee",
            "maker_fee",
        ):
            value = getattr(self, name)
            if value is None and name != "rate_hourly":
                continue
            if not isinstance(value, Decimal):
                raise TypeError(f"{self.venue} {self.venue_symbol}: {name}={value!r} must be a Decimal")
            if not value.is_finite():
                raise ValueError(f"{self.venue} {self.venue_symbol}: {name}={value!r} is not finite")
            if name in ("mark_price", "open_interest_usd", "volume_24h_usd") and value < 0:
                raise ValueError(f"{self.venue} {self.venue_symbol}: {name}={value!r} is negative")


_DECIMAL_FIELDS = (
    "horizon_hours",
    "min_net_apr",
    "default_taker_fee",
    "default_maker_fee",
    "slippage_bps",
    "cross_spread_bps",
    "min_volume_24h_usd",
    "min_open_interest_usd",
)


LIMITS: dict[str, tuple[Decimal, Decimal]] = {
    "horizon_hours": (Decimal("0.01"), Decimal(87_600)),  # 36 s .. 10 years
    "min_net_apr": (Decimal(-100), Decimal(100)),  # fractions: +-10,000 %
    "slippage_bps": (Decimal(0), Decimal(1_000)),  # per fill: 10 %
    "cross_spread_bps": (Decimal(0), Decimal(1_000)),
    "min_volume_24h_usd": (Decimal(0), Decimal(10) ** 15),
    "min_open_interest_usd": (Decimal(0), Decimal(10) ** 15),
    "max_data_age_seconds": (Decimal(0), Decimal(10) ** 8),
    "limit": (Decimal(1), Decimal(100_000)),
}
"""Sane ranges of the ranking options, shared by the CLI and the REST API (both build an `OpportunityQuery`):
a value outside is a unit mistake (percent for a fraction, seconds for hours), refused naming the field."""


class OpportunityQuery(BaseModel):
    """What to rank and how. Unknown keys are refused; every error names the field and the value.

    Attributes:
        horizon_hours: holding horizon H over which the round trip is amortised (> 0, default 168 = 7 days).
        min_net_apr: keep only opportunities with net_apr >= this fraction (None = keep all, both directions).
        use_maker_fees: False (default): taker fees on both legs; True: maker fees on both legs.
        fee_overrides: {(venue, "taker"|"maker"): fee fraction}; also accepts "venue:side" string keys.
            Wins over the venue's published fee, which wins over the defaults below.
        venue_default_fees: {(venue, side): fee}: a venue's documented standard-tier fee (`VenueSpec.fees`), for
            a market whose metadata carries none; wins over the generic defaults below.
        default_taker_fee: 0.0005 (5 bps), for a venue that publishes no taker fee.
        default_maker_fee: 0.0002 (2 bps), for a venue that publishes no maker fee.
            Fees must lie in [-0.01, 0.01]: a larger value is a percent or bps mistaken for a fraction.
        slippage_bps: expected slippage per fill in bps (>= 0, four fills per round trip).
        cross_spread_bps: expected cross-venue bid/ask spread paid per round trip in bps (>= 0).
        min_volume_24h_usd, min_open_interest_usd: USD thresholds applied to the SMALLER of the two legs; a
            leg whose figure is unknown (None) fails a threshold that is set.
        venues_include: only these venues are used (None = all); venues_exclude: these are never used.
        venues_required: every opportunity has at least one leg (long or short) on one of these venues.
        symbols: only these canonical base assets (exact, case-sensitive match; None = all).
        max_data_age_seconds: a snapshot whose `ts` is more than this before `now` (or, a clock/units error,
            more than this after it) is stale: it never enters the ranking and is reported in `stale`.
        now: the reference time for staleness and the history windows (aware; None = current UTC time).
        limit: at most this many opportunities (None = all), the best net APR first.

    Raises:
        pydantic.ValidationError: naming the field and value, for out-of-range numbers, naive `now`, unknown
            keys, empty venue/symbol sets, or contradictions (a venue both included and excluded, a required
            venue that is excluded or outside `venues_include`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    horizon_hours: Decimal = Field(
        default=Decimal(168), ge=LIMITS["horizon_hours"][0], le=LIMITS["horizon_hours"][1]
    )
    min_net_apr: Decimal | None = Field(
        default=None, ge=LIMITS["min_net_apr"][0], le=LIMITS["min_net_apr"][1]
    )
    use_maker_fees: bool = False
    fee_overrides: dict[tuple[str, FeeSide], Decimal] = Field(default_factory=dict)
    venue_default_fees: dict[tuple[str, FeeSide], Decimal] = Field(default_factory=dict)
    default_taker_fee: Decimal = DEFAULT_TAKER_FEE
    default_maker_fee: Decimal = DEFAULT_MAKER_FEE
    slippage_bps: Decimal = Field(default=Decimal(0), ge=0, le=LIMITS["slippage_bps"][1])
    cross_spread_bps: Decimal = Field(default=Decimal(0), ge=0, le=LIMITS["cross_spread_bps"][1])
    min_volume_24h_usd: Decimal | None = Field(default=None, ge=0, le=LIMITS["min_volume_24h_usd"][1])
    min_open_interest_usd: Decimal | None = Field(default=None, ge=0, le=LIMITS["min_open_interest_usd"][1])
    venues_include: frozenset[str] | None = None
    venues_exclude: frozenset[str] = frozenset()
    venues_required: frozenset[str] | None = None
    symbols: frozenset[str] | None = None
    max_data_age_seconds: float = Field(
        default=900.0, gt=0, le=float(LIMITS["max_data_age_seconds"][1]), allow_inf_nan=False
    )
    now: datetime | None = None
    limit: int | None = Field(default=None, ge=1, le=int(LIMITS["limit"][1]))

    @field_validator(*_DECIMAL_FIELDS, mode="before")
    @classmethod
    def _read_decimal(cls, value: Any, info: Any) -> Any:
        if value is None:
            return None
        try:
            return units.to_decimal(value, info.field_name)
        except units.UnitError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("default_taker_fee", "default_maker_fee")
    @classmethod
    def _fee_range(cls, value: Decimal, info: Any) -> Decimal:
        if abs(value) > MAX_ABS_FEE:
            raise ValueError(
                f"{info.field_name}={value}: outside [-0.01, 0.01]; fees are fractions (5 bps = 0.0005)"
            )
        return value

    @field_validator("fee_overrides", "venue_default_fees", mode="before")
    @classmethod
    def _read_overrides(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        out: dict[tuple[Any, ...], Decimal] = {}
        for key, fee in value.items():
            if isinstance(key, str):
                venue, sep, side = key.partition(":")
                if not sep:
                    raise ValueError(f"fee_overrides key {key!r}: expected (venue, side) or 'venue:side'")
                parsed: tuple[Any, ...] = (venue.strip(), side.strip())
            elif isinstance(key, (tuple, list)):
                parsed = tuple(key)
            else:
                raise ValueError(f"fee_overrides key {key!r}: expected (venue, side) or 'venue:side'")
            if len(parsed) != 2 or parsed[1] not in ("taker", "maker") or not parsed[0]:
                raise ValueError(f"fee_overrides key {key!r}: expected (venue, 'taker'|'maker')")
            try:
                dec = units.to_decimal(fee, f"fee_overrides[{key!r}]")
            except units.UnitError as exc:
                raise ValueError(str(exc)) from None
            if abs(dec) > MAX_ABS_FEE:
                raise ValueError(
                    f"fee_overrides[{key!r}]={dec}: outside [-0.01, 0.01]; "
                    "fees are fractions (5 bps = 0.0005)"
                )
            out[parsed] = dec
        return out

    @field_validator("venues_include", "venues_required", "symbols")
    @classmethod
    def _not_empty(cls, value: frozenset[str] | None, info: Any) -> frozenset[str] | None:
        if value is not None and not value:
            raise ValueError(f"{info.field_name}=[]: an empty set would match nothing; use None for 'all'")
        return value

    @field_validator("now")
    @classmethod
    def _now_aware(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return _check_aware("now", value).astimezone(timezone.utc)

    @model_validator(mode="after")
    def _consistent_venues(self) -> OpportunityQuery:
        include, exclude, required = self.venues_include, self.venues_exclude, self.venues_required
        if include is not None and include & exclude:
            raise ValueError(
                f"venues {sorted(include & exclude)} are in both venues_include and venues_exclude"
            )
        if required is not None:
            if required & exclude:
                raise ValueError(f"venues_required {sorted(required & exclude)} are also in venues_exclude")
            if include is not None and not required <= include:
                raise ValueError(f"venues_required {sorted(required - include)} are not in venues_include")
        return self


# --------------------------------------------------------------------------------------------------- outputs


def _f(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True, slots=True)
class SpreadPersistence:
    """How steady a pair's spread (short rate - long rate, fraction per hour) has been, from hourly history.

    Attributes:
        sign_persistence_hours: consecutive most-recent aligned hours whose spread has the sign of the current
            spread (0 when the newest aligned hour already differs); a missing hour ends the run.
        spread_mean_24h / spread_mean_7d: mean hourly spread over the buckets starting in [now - 24 h, now) /
            [now - 7 d, now) (fraction per hour); None without data in the window.
        spread_cv_24h / spread_cv_7d: population standard deviation / |mean|; None with fewer than 2 points
            or a zero mean.
        points_24h / points_7d: aligned hours in each window.
    """

    sign_persistence_hours: int
    spread_mean_24h: Decimal | None
    spread_cv_24h: Decimal | None
    spread_mean_7d: Decimal | None
    spread_cv_7d: Decimal | None
    points_24h: int
    points_7d: int

    def figures(self) -> tuple[int, Decimal | None, Decimal | None, Decimal | None, Decimal | None]:
        """(sign_persistence_hours, spread_mean_24h, spread_cv_24h, spread_mean_7d, spread_cv_7d)."""
        return (
            self.sign_persistence_hours,
            self.spread_mean_24h,
            self.spread_cv_24h,
            self.spread_mean_7d,
            self.spread_cv_7d,
        )

    def reversed(self) -> SpreadPersistence:
        """The figures for the opposite direction (long and short swapped): means negate, the rest stay."""
        return SpreadPersistence(
            self.sign_persistence_hours,
            None if self.spread_mean_24h is None else -self.spread_mean_24h,
            self.spread_cv_24h,
            None if self.spread_mean_7d is None else -self.spread_mean_7d,
            self.spread_cv_7d,
            self.points_24h,
            self.points_7d,
        )


@dataclass(slots=True)
class Opportunity:
    """One ranked direction: long `symbol` on `long_venue`, short it on `short_venue`, same notional.

    Treat as read-only. It is not a frozen dataclass on purpose: a frozen dataclass's `__init__` sets each of
    the 26 fields through `object.__setattr__` and costs ~3.7 µs against ~0.9 µs here (measured), which alone
    would be ~33 ms of the 50 ms budget when all 9000 directions of 300 assets x 6 venues are returned.

    Attributes:
        long_rate_hourly, short_rate_hourly, spread_hourly: fractions per hour (spread = short - long).
        gross_apr, net_apr: fractions per year (8760 h); net of `round_trip_cost` amortised over
            `horizon_hours`.
        long_fee, short_fee: fee per fill used for each leg (fractions); fee_kind: "taker" or "maker".
        round_trip_cost: C, fraction of one leg's notional.
        break_even_hours: C / spread_hourly; None when spread_hourly <= 0, 0 when C <= 0.
        min_volume_24h_usd, min_open_interest_usd: the smaller leg's figure in USD (None if either is
            unknown).
        data_age_seconds: age of the older leg's snapshot at `now`.
        long_ts, short_ts: when each leg's rate was observed.
        sign_persistence_hours, spread_mean_24h, spread_cv_24h, spread_mean_7d, spread_cv_7d: see
            `SpreadPersistence`; None when no history was given or the pair has no aligned hours.
    """

    symbol: str
    long_venue: str
    short_venue: str
    long_venue_symbol: str
    short_venue_symbol: str
    long_rate_hourly: Decimal
    short_rate_hourly: Decimal
    spread_hourly: Decimal
    gross_apr: Decimal
    long_fee: Decimal
    short_fee: Decimal
    fee_kind: FeeSide
    round_trip_cost: Decimal
    net_apr: Decimal
    break_even_hours: Decimal | None
    horizon_hours: Decimal
    min_volume_24h_usd: Decimal | None
    min_open_interest_usd: Decimal | None
    data_age_seconds: float
    long_ts: datetime
    short_ts: datetime
    sign_persistence_hours: int | None = None
    spread_mean_24h: Decimal | None = None
    spread_cv_24h: Decimal | None = None
    spread_mean_7d: Decimal | None = None
    spread_cv_7d: Decimal | None = None

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-safe dict: rates, APRs, fees and costs as float FRACTIONS (never percent), hours and ages as
        floats, USD as floats, timestamps as ISO-8601 UTC strings, None as null."""
        return {
            "symbol": self.symbol,
            "long_venue": self.long_venue,
            "short_venue": self.short_venue,
            "long_venue_symbol": self.long_venue_symbol,
            "short_venue_symbol": self.short_venue_symbol,
            "long_rate_hourly": float(self.long_rate_hourly),
            "short_rate_hourly": float(self.short_rate_hourly),
            "spread_hourly": float(self.spread_hourly),
            "gross_apr": float(self.gross_apr),
            "long_fee": float(self.long_fee),
            "short_fee": float(self.short_fee),
            "fee_kind": self.fee_kind,
            "round_trip_cost": float(self.round_trip_cost),
            "net_apr": float(self.net_apr),
            "break_even_hours": _f(self.break_even_hours),
            "horizon_hours": float(self.horizon_hours),
            "min_volume_24h_usd": _f(self.min_volume_24h_usd),
            "min_open_interest_usd": _f(self.min_open_interest_usd),
            "data_age_seconds": float(self.data_age_seconds),
            "long_ts": self.long_ts.astimezone(timezone.utc).isoformat(),
            "short_ts": self.short_ts.astimezone(timezone.utc).isoformat(),
            "sign_persistence_hours": (
                None if self.sign_persistence_hours is None else float(self.sign_persistence_hours)
            ),
            "spread_mean_24h": _f(self.spread_mean_24h),
            "spread_cv_24h": _f(self.spread_cv_24h),
            "spread_mean_7d": _f(self.spread_mean_7d),
            "spread_cv_7d": _f(self.spread_cv_7d),
        }


@dataclass(frozen=True, slots=True)
class StaleEntry:
    """A snapshot left out of the ranking because it is older (or newer) than `max_data_age_seconds`.

    `age_seconds` = now - ts (negative when ts is in the future: a clock or timestamp-unit error)."""

    venue: str
    symbol: str
    venue_symbol: str
    ts: datetime
    age_seconds: float

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "venue": self.venue,
            "symbol": self.symbol,
            "venue_symbol": self.venue_symbol,
            "ts": self.ts.astimezone(timezone.utc).isoformat(),
            "age_seconds": self.age_seconds,
        }


@dataclass(frozen=True, slots=True)
class OpportunityResult:
    """What `find_opportunities` returns.

    Attributes:
        opportunities: best net APR first (ties: symbol, long venue, short venue, alphabetical).
        stale: snapshots left out for age (among those that pass the venue and symbol filters; only the
            newest snapshot per (venue, symbol) is judged), sorted by (symbol, venue).
        considered_assets: base assets with fresh data on 2+ venues after the venue and symbol filters.
        as_of: the `now` used.
    """

    opportunities: list[Opportunity]
    stale: list[StaleEntry]
    considered_assets: int
    as_of: datetime

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "considered_assets": self.considered_assets,
            "opportunities": [o.to_json_dict() for o in self.opportunities],
            "stale": [s.to_json_dict() for s in self.stale],
        }


# ------------------------------------------------------------------------------------------------ persistence


def _mean_cv(values: list[Decimal]) -> tuple[Decimal | None, Decimal | None]:
    """(mean, population stdev / |mean|) of `values`. (None, None) when empty; cv None with < 2 points or a
    zero mean. Two-pass (deviations from the mean), so no cancellation."""
    n = len(values)
    if n == 0:
        return None, None
    count = Decimal(n)
    mean = sum(values, _ZERO) / count
    if n < 2 or mean == 0:
        return mean, None
    deviations = list(map(mean.__rsub__, values))  # x - mean, mapped in C
    variance = sum(map(mul, deviations, deviations), _ZERO) / count
    return mean, variance.sqrt() / abs(mean)


@dataclass(frozen=True, slots=True)
class _Series:
    """One market's hourly history: hour indices (epoch seconds // 3600) ascending, rates, and a lookup."""

    hours: list[int]
    rates: list[Decimal]
    by_hour: dict[int, Decimal]


def _hour_series(label: str, points: Iterable[tuple[datetime, Decimal]], now: datetime) -> _Series:
    """Index one market's hourly buckets: timestamps floored to the hour, buckets starting at or after `now`
    ignored. A naive timestamp, or an hour given more than once, is dropped with a warning (never guessed)."""
    pts = list(points)
    if any(ts.tzinfo is None for ts, _ in pts):
        for ts, _ in pts:
            if ts.tzinfo is None:
                log.warning("history of %s: naive timestamp %r dropped", label, ts)
        pts = [p for p in pts if p[0].tzinfo is not None]
    first_future = math.ceil(now.timestamp() / _SECONDS_PER_HOUR)  # hours >= this start at or after now
    hours = [int(ts.timestamp() // _SECONDS_PER_HOUR) for ts, _ in pts]
    by_hour = dict(zip(hours, [rate for _, rate in pts], strict=True))
    if len(by_hour) != len(pts):
        counts = Counter(hours)
        for hour, n in counts.items():
            if n > 1:
                when = datetime.fromtimestamp(hour * _SECONDS_PER_HOUR, tz=timezone.utc).isoformat()
                log.warning("history of %s: hour %s given %d times, dropped", label, when, n)
                del by_hour[hour]
    ordered = sorted(by_hour)
    if ordered and ordered[-1] >= first_future:
        ordered = ordered[: bisect_left(ordered, first_future)]
    return _Series(
        ordered,
        [by_hour[h] for h in ordered],
        by_hour if len(ordered) == len(by_hour) else {h: by_hour[h] for h in ordered},
    )


def _persistence(
    long_s: _Series, short_s: _Series, current_spread: Decimal, now: datetime
) -> SpreadPersistence | None:
    if long_s.hours == short_s.hours:  # the usual case: both venues cover the same hours
        hours, long_rates, short_rates = long_s.hours, long_s.rates, short_s.rates
    else:
        hours = sorted(long_s.by_hour.keys() & short_s.by_hour.keys())
        long_rates = [long_s.by_hour[h] for h in hours]
        short_rates = [short_s.by_hour[h] for h in hours]
    n = len(hours)
    if n == 0:
        return None
    now_s = now.timestamp()
    week_from = bisect_left(hours, math.ceil((now_s - _SECONDS_7D) / _SECONDS_PER_HOUR))
    day_from = bisect_left(hours, math.ceil((now_s - _SECONDS_24H) / _SECONDS_PER_HOUR))
    week = list(map(sub, short_rates[week_from:], long_rates[week_from:]))
    day = week[day_from - week_from :]

    # Run of the current sign, newest hour first, within the newest stretch of consecutive hours.
    run_from = 0
    if hours[-1] - hours[0] != n - 1:  # there is a gap somewhere: find the newest one
        run_from = n - 1
        while run_from > 0 and hours[run_from - 1] == hours[run_from] - 1:
            run_from -= 1
    if current_spread > 0:
        same_sign = _ZERO.__lt__  # 0 < spread
    elif current_spread < 0:
        same_sign = _ZERO.__gt__  # 0 > spread
    else:
        same_sign = _ZERO.__eq__
    streak = 0
    for i in range(n - 1, run_from - 1, -1):
        spread = week[i - week_from] if i >= week_from else short_rates[i] - long_rates[i]
        if not same_sign(spread):
            break
        streak += 1
    mean_24h, cv_24h = _mean_cv(day)
    mean_7d, cv_7d = _mean_cv(week)
    return SpreadPersistence(streak, mean_24h, cv_24h, mean_7d, cv_7d, len(day), len(week))


def spread_persistence(
    long_history: Iterable[tuple[datetime, Decimal]],
    short_history: Iterable[tuple[datetime, Decimal]],
    current_spread: Decimal,
    now: datetime,
) -> SpreadPersistence | None:
    """Persistence figures of the spread `short - long` from two markets' hourly histories.

    Args:
        long_history, short_history: [(hour start, aware; mean rate_hourly in that hour)], any order.
            Timestamps are floored to the hour; buckets starting at or after `now` are ignored; a naive
            timestamp or an hour given twice is dropped with a warning.
        current_spread: the pair's current spread_hourly (short - long), whose sign the run must keep.
        now: reference time (aware).

    Only hours present in both histories count (aligned). `sign_persistence_hours` walks back from the newest
    aligned hour while the hourly spread has the sign of `current_spread` (0 counts as its own sign) and the
    hours are consecutive: a missing hour ends the run. Windows: bucket start in [now - 24 h, now) and
    [now - 7 d, now). CV = population stdev / |mean|, None with fewer than 2 points or a zero mean.

    Returns:
        None when no hour is aligned.
    """
    return _persistence(
        _hour_series("the long leg", long_history, now),
        _hour_series("the short leg", short_history, now),
        current_spread,
        now,
    )


class _HistoryIndex:
    """Lazily built hourly series per (venue, symbol), and persistence per unordered venue pair: both
    directions share it (the reverse direction negates the means; the run length and CVs are unchanged)."""

    __slots__ = ("_history", "_now", "_pairs", "_series")

    def __init__(self, history: HourlyHistory, now: datetime) -> None:
        self._history = history
        self._now = now
        self._series: dict[HistoryKey, _Series | None] = {}
        self._pairs: dict[tuple[str, str, str], SpreadPersistence | None] = {}

    def _get_series(self, key: HistoryKey) -> _Series | None:
        if key not in self._series:
            points = self._history.get(key)
            label = f"{key[0]} {key[1]}"
            self._series[key] = None if points is None else _hour_series(label, points, self._now)
        return self._series[key]

    def persistence(
        self, symbol: str, long_venue: str, short_venue: str, spread: Decimal
    ) -> SpreadPersistence | None:
        flipped = long_venue > short_venue
        first, second = (short_venue, long_venue) if flipped else (long_venue, short_venue)
        pair_key = (symbol, first, second)
        if pair_key not in self._pairs:
            s1 = self._get_series((first, symbol))
            s2 = self._get_series((second, symbol))
            if s1 is None or s2 is None:
                self._pairs[pair_key] = None
            else:
                self._pairs[pair_key] = _persistence(s1, s2, -spread if flipped else spread, self._now)
        found = self._pairs[pair_key]
        if found is None:
            return None
        return found.reversed() if flipped else found


# --------------------------------------------------------------------------------------------------- ranking


class _Leg(NamedTuple):
    """One fresh market as a pair leg. A tuple so the hot loops can unpack it in one step."""

    venue: str
    symbol: str
    venue_symbol: str
    rate_hourly: Decimal
    ts: datetime
    volume_24h_usd: Decimal | None
    open_interest_usd: Decimal | None
    fee: Decimal
    age: float
    two_fee: Decimal  # 2 * fee: entry + exit on this leg
    two_fee_fixed: Decimal  # 2 * fee + the fee-independent cost (counted once per pair, on the long leg)
    long_part: Decimal  # rate * H + 2 * fee + fixed: what the leg takes from (spread * H - C) as the long leg
    short_part: Decimal  # rate * H - 2 * fee: what it adds as the short leg


_SHORT_PART: Final = 12
"""Index of `short_part` in `_Leg` (the hot loop indexes the tuple; checked below)."""
assert _Leg._fields.index("short_part") == _SHORT_PART


def _smaller(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    if a is None or b is None:
        return None
    return a if a <= b else b


def find_opportunities(
    snapshots: Iterable[MarketSnapshot],
    query: OpportunityQuery | None = None,
    history: HourlyHistory | None = None,
) -> OpportunityResult:
    """Rank every (long venue, short venue) direction of every base asset quoted on 2+ venues by net APR.

    Steps: venue (include/exclude) and symbol filters; one snapshot per (venue, symbol), the newest `ts`;
    staleness (`max_data_age_seconds` around `now`) moves a snapshot to `stale`; then for each asset every
    ordered venue pair is costed (`cost_model`), filtered (`venues_required`, smaller-leg volume and open
    interest, `min_net_apr`), ranked by net APR descending and cut to `limit`. Persistence figures are
    computed from `history` only for the opportunities returned (cost O(returned x history hours)), once per
    unordered venue pair.

    Exactness: net APR is evaluated as
    `((r_short*H - 2*fee_short) - (r_long*H + 2*fee_long + fixed)) * 8760 / H` with per-leg parts computed
    once, which is `(spread*H - C) * 8760 / H` with the same single final rounding whenever the sums are
    exact in 28 digits (always, for rates and fees with realistic digit counts; a test pins it).

    Args:
        snapshots: latest market state, any order.
        query: the query (default `OpportunityQuery()`).
        history: optional hourly history, (venue, symbol) -> [(hour start UTC, mean rate_hourly)].

    Raises:
        Nothing for data: bad history points are dropped with a warning. Invalid inputs are refused earlier by
        `MarketSnapshot` and `OpportunityQuery`.
    """
    q = query if query is not None else OpportunityQuery()
    now = q.now if q.now is not None else datetime.now(timezone.utc)
    with localcontext() as ctx:
        ctx.prec = 28
        ctx.rounding = ROUND_HALF_EVEN
        return _find(snapshots, q, now, history)


def _find(
    snapshots: Iterable[MarketSnapshot], q: OpportunityQuery, now: datetime, history: HourlyHistory | None
) -> OpportunityResult:
    include, exclude, symbols = q.venues_include, q.venues_exclude, q.symbols
    newest: dict[tuple[str, str], MarketSnapshot] = {}
    for snap in snapshots:
        if include is not None and snap.venue not in include:
            continue
        if snap.venue in exclude or (symbols is not None and snap.symbol not in symbols):
            continue
        key = (snap.venue, snap.symbol)
        held = newest.get(key)
        if held is None or snap.ts > held.ts:
            newest[key] = snap

    horizon = q.horizon_hours
    side: FeeSide = "maker" if q.use_maker_fees else "taker"
    default_fee = q.default_maker_fee if q.use_maker_fees else q.default_taker_fee
    overrides = q.fee_overrides
    fixed = fixed_cost(q.slippage_bps, q.cross_spread_bps)
    max_age = q.max_data_age_seconds
    stale: list[StaleEntry] = []
    groups: dict[str, list[_Leg]] = {}
    for (venue, symbol), snap in newest.items():
        age = (now - snap.ts).total_seconds()
        if age > max_age or age < -max_age:
            stale.append(StaleEntry(venue, symbol, snap.venue_symbol, snap.ts, age))
            continue
        venue_fee = snap.maker_fee if q.use_maker_fees else snap.taker_fee
        fee = resolve_fee(venue, side, venue_fee, overrides, default_fee, q.venue_default_fees)
        rate_h = snap.rate_hourly * horizon
        two_fee = _TWO * fee
        two_fee_fixed = two_fee + fixed
        groups.setdefault(symbol, []).append(
            _Leg(
                venue,
                symbol,
                snap.venue_symbol,
                snap.rate_hourly,
                snap.ts,
                snap.volume_24h_usd,
                snap.open_interest_usd,
                fee,
                age,
                two_fee,
                two_fee_fixed,
                rate_h + two_fee_fixed,
                rate_h - two_fee,
            )
        )
    stale.sort(key=lambda s: (s.symbol, s.venue))

    required = q.venues_required if q.venues_required is not None else frozenset()
    min_vol, min_oi, min_net = q.min_volume_24h_usd, q.min_open_interest_usd, q.min_net_apr
    year = HOURS_PER_YEAR
    rows: list[tuple[Decimal, _Leg, _Leg]] = []
    append = rows.append
    considered = 0
    for symbol in sorted(groups):
        legs = groups[symbol]
        if len(legs) < 2:
            continue
        considered += 1
        legs.sort(key=attrgetter("venue"))
        for a in legs:
            a_part = a.long_part
            a_req = not required or a.venue in required
            for b in legs:
                if a is b:
                    continue
                if not a_req and b.venue not in required:
                    continue
                if min_vol is not None:
                    vol = _smaller(a.volume_24h_usd, b.volume_24h_usd)
                    if vol is None or vol < min_vol:
                        continue
                if min_oi is not None:
                    oi = _smaller(a.open_interest_usd, b.open_interest_usd)
                    if oi is None or oi < min_oi:
                        continue
                net = (b[_SHORT_PART] - a_part) * year / horizon
                if min_net is not None and net < min_net:
                    continue
                append((net, a, b))

    # Rows were generated in (symbol, long venue, short venue) order; the sort is stable, so ties keep it.
    if q.limit is not None and q.limit < len(rows):
        rows = heapq.nlargest(q.limit, rows, key=itemgetter(0))
    else:
        rows.sort(key=itemgetter(0), reverse=True)

    index = _HistoryIndex(history, now) if history is not None else None
    opportunities: list[Opportunity] = []
    add = opportunities.append
    for net, a, b in rows:
        # One unpack per leg (see `_Leg`); this loop runs once per returned direction.
        a_venue, symbol, a_vsym, a_rate, a_ts, a_vol, a_oi, a_fee, a_age, _, a_tff, _, _ = a
        b_venue, _, b_vsym, b_rate, b_ts, b_vol, b_oi, b_fee, b_age, b_tf, _, _, _ = b
        spread = b_rate - a_rate
        cost = a_tff + b_tf
        if index is None:
            p_run, p_m24, p_cv24, p_m7, p_cv7 = _NO_PERSISTENCE
        else:
            pers = index.persistence(symbol, a_venue, b_venue, spread)
            p_run, p_m24, p_cv24, p_m7, p_cv7 = _NO_PERSISTENCE if pers is None else pers.figures()
        # Positional, in field order (see `Opportunity`): keyword construction costs twice as much.
        add(
            Opportunity(
                symbol,
                a_venue,
                b_venue,
                a_vsym,
                b_vsym,
                a_rate,
                b_rate,
                spread,
                spread * year,
                a_fee,
                b_fee,
                side,
                cost,
                net,
                # cost_model.break_even_hours, inlined
                None if spread <= 0 else (_ZERO if cost <= 0 else cost / spread),
                horizon,
                None if a_vol is None or b_vol is None else (a_vol if a_vol <= b_vol else b_vol),
                None if a_oi is None or b_oi is None else (a_oi if a_oi <= b_oi else b_oi),
                a_age if a_age >= b_age else b_age,
                a_ts,
                b_ts,
                p_run,
                p_m24,
                p_cv24,
                p_m7,
                p_cv7,
            )
        )
    return OpportunityResult(opportunities, stale, considered, now)
