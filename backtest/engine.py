"""The backtest event loop: settled funding history replayed through the funding-arbitrage decision code.

Decisions use `strategies.funding_arbitrage.decision` (`choose_entries`, `exit_decision`: the objects the live
strategy uses), signals from `strategies.funding_arbitrage.signals` (the module the live strategy uses) and the
pricing of `funding_rate_service.opportunity_finder.find_opportunities`; nothing here re-implements an entry or
exit rule.

Time and knowledge (no look-ahead):

* Decision times t run every hour on the hour, from `--from` (default: the first settlement, rounded up to the
  hour) to `--to` (default: the last settlement, rounded down).
* A settlement belongs to its effective hour E = ceil((ts - 60 s) / 1 h) (`signals.settlement_hour`): stamps
  on the hour and a few milliseconds after it are the same hour, on every venue. The decision at t is taken
  just after the settlements of hour t: a settlement is known at t iff E <= t, and paid to the positions
  opened before E and not closed before E (opened_at < E <= closed_at).
* The snapshot of a market at t (what the finder prices: fees, filters, the last paid rate) is its latest known
  settlement. A market whose last settlement is older than its own interval (of that row) +
  `entry.max_data_age_seconds` is stale and left out of the pricing (an 8 h venue is fresh for 8 h 15 min after
  a settlement with the default 900 s). The finder's own age check is widened accordingly.
* Signals (`signals` module docstring): each leg's hourly earnings (a settlement of interval I pays for the
  I hours before E, known from E on); a direction's estimate at t is taken at the end hour k = the older of its
  legs' last known hours, from the window of hours before k. Series are computed once per (pair, signal
  settings) over the whole history (`PreparedHistory`) and read at k(t), so a window can start before
  `--from` (that history is the past at t, not look-ahead).
* Spread persistence (`entry.min_spread_persistence_hours`) comes from an hourly history built as the loop
  advances: the bucket of hour h holds the known rate at h (fresh markets only), so the finder at t only sees
  hours before t.

At each decision time, in order:

1. settlements with E <= t are paid to the open positions of their market (see "Cash");
2. the candidates: directions whose signal could pass the entry rules (a vectorised pre-selection on the
   signal arrays that only ever keeps MORE directions than the rules accept; the rules themselves are applied
   by `decision.choose_entries`), priced by `find_opportunities(opportunity_query(config, t))` on the fresh
   snapshots of their assets (with persistence history when the config asks for it);
3. each open position gets `exit_decision(position, signal, best_alternative, t, config)`: its own direction's
   estimate at t, and the first candidate on an unheld asset that `choose_entries` would open;
4. `choose_entries` on the candidates; an entry that does not fit the capital budget is skipped (recorded in
   `blocked_entries`) and `choose_entries` is asked again without it. No entry at the last decision time. A
   position closed at t (e.g. by `max_hold`) may be re-entered at t when it still qualifies;
5. equity = budget + realised + accrued cash is recorded.

Positions still open after the last decision time are closed at it with reason "end_of_data".

Cash (USD, Decimal): a leg of notional N pays `N * rate_raw` at each settlement of ITS venue's market with
opened_at < E <= closed_at: the long leg pays it, the short leg receives it (negative rate: the reverse). An
8-hourly settlement is paid in one lump to whoever holds at E. Each settlement's own `rate_raw` is used (never
`rate_hourly * hours`), so 1 h, 4 h and 8 h venues and a market changing interval mid-series are each paid in
their own amounts at their own times. Every fill pays `N * (fee + slippage_bps / 1e4)`: four fills per round
trip; the fee per leg is the one the pricing used (`costs.fee_overrides` > venue metadata (none in history
files) > the finder's default, 5 bps taker / 2 bps maker). Notional is `sizing.target_notional_usd` per leg.

Lumps (a diagnostic, not a decision input): at an exit, the part of each interval leg's NEXT settlement that
accrued while the position held it (pro rata over that settlement's hours) is recorded as
`exit_forgone_usd` (> 0: receipts given up by closing before the settlement); at an entry, the part of the
next settlement accrued before the position opened, which it receives or pays in full, as `entry_unearned_usd`.

Capital: each venue has a budget (`--budget-usd-per-venue`, else `sizing.max_exposure_per_venue_usd`, else
10 x target notional). A leg uses margin N / leverage on its venue; an entry needs, on both venues, margin
used + new margin <= budget x (1 - `sizing.margin_buffer`).

Basis: modelled only when both legs have a mark price (the `mark_price` of their latest settlement at or
before t) at entry and at exit: quantity per leg = N / entry mark, basis PnL = q_long (exit_long - entry_long)
+ q_short (entry_short - exit_short), realised at exit. Otherwise the position's basis is None and the report
says "basis PnL not modelled: no price series".

Not modelled: liquidation (`exit_decision` gets no `liquidation_distance`: the history has no margin model),
re-hedging of leg drift, partial fills.

Filters the data set cannot evaluate at all (no 24 h volume, or no open interest, anywhere in the history)
are disabled with a note; a data set that has the field applies the filter as the finder does.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from backtest.loader import (
    US_PER_HOUR,
    US_PER_SECOND,
    FundingHistory,
    MarketHistory,
    us_from_utc,
    utc_from_us,
)
from funding_rate_service.cost_model import BPS, HOURS_PER_YEAR, resolve_fee, round_trip_cost
from funding_rate_service.opportunity_finder import (
    MarketSnapshot,
    Opportunity,
    find_opportunities,
)
from perparb_core.errors import ConfigError
from perparb_core.settings import FeeSide
from strategies.config import FundingArbitrageConfig, parse_config
from strategies.funding_arbitrage.decision import (
    EntryCandidate,
    OpenPosition,
    choose_entries,
    could_switch,
    exit_decision,
    opportunity_query,
    rank,
    signal_params,
)
from strategies.funding_arbitrage.signals import (
    LegSeries,
    PairSeries,
    SignalEstimate,
    SignalParams,
    leg_from_settlements,
    make_estimate,
    pair_series,
    settlement_hour,
)

DEFAULT_BUDGET_MULTIPLE = Decimal(10)
"""Budget per venue without `--budget-usd-per-venue` or `sizing.max_exposure_per_venue_usd`: 10 x target."""
NO_PRICE_NOTE = "basis PnL not modelled: no price series"
END_OF_DATA = "end_of_data"
PREFILTER_TOLERANCE = 1e-9
"""Slack of the vectorised candidate pre-selection (APR and statistics): it may only keep more directions."""

_ZERO = Decimal(0)
_YEAR = float(HOURS_PER_YEAR)
Int64Array = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class BacktestError(ConfigError):
    """A backtest that cannot run: no common asset on two venues, an empty time range, a bad option."""


@dataclass(frozen=True, slots=True)
class BacktestOptions:
    """Run options (the CLI's flags).

    Attributes:
        start, end: decision-time range (aware UTC; inclusive); None = the history's own range.
        venues: replace the config's venues (validated like the config; >= 2); None = the config's.
        budget_usd_per_venue: capital per venue in USD; None = `max_exposure_per_venue_usd` or 10 x target.
    """

    start: datetime | None = None
    end: datetime | None = None
    venues: Sequence[str] | None = None
    budget_usd_per_venue: Decimal | None = None


@dataclass(slots=True)
class FundingPayment:
    """One leg's cash at one settlement: `amount_usd` > 0 received, < 0 paid (= -/+ notional x rate_raw).
    `ts` is the settlement's own stamp (its effective hour decides who holds it). Treat as read-only (not
    frozen: a run creates hundreds of thousands and a frozen dataclass costs ~3x to build)."""

    ts: datetime
    venue: str
    side: Literal["long", "short"]
    rate_raw: Decimal
    interval_hours: Decimal
    amount_usd: Decimal


@dataclass(frozen=True, slots=True)
class TradeDecision:
    """An entry, exit or budget-blocked entry at decision time `ts`.

    `action`: "enter" | "exit" | "blocked"; `reason`: "entry", an exit reason of `decision.EXIT_REASONS`, or
    "budget"; `detail`: human text (the signal at entry, the exit rule's figures, the margin missing)."""

    ts: datetime
    action: Literal["enter", "exit", "blocked"]
    symbol: str
    long_venue: str
    short_venue: str
    reason: str
    detail: str

    def key(self) -> tuple[datetime, str, str, str, str, str]:
        return (self.ts, self.action, self.symbol, self.long_venue, self.short_venue, self.reason)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "ts": self.ts.isoformat(),
            "action": self.action,
            "symbol": self.symbol,
            "long_venue": self.long_venue,
            "short_venue": self.short_venue,
            "reason": self.reason,
            "detail": self.detail,
        }


@dataclass(slots=True)
class PositionRecord:
    """One simulated two-leg position and its cash. USD amounts are Decimal; fees and slippage per fill are
    fractions of notional; rates fractions per hour; APRs fractions per year.

    `entry_spread_hourly` / `entry_net_apr`: the finder's pricing at entry (last paid rates); `entry_signal`:
    the estimate the entry was decided on. `exit_forgone_usd` / `entry_unearned_usd`: see "Lumps" in the
    module docstring."""

    id: int
    symbol: str
    long_venue: str
    short_venue: str
    long_venue_symbol: str
    short_venue_symbol: str
    opened_at: datetime
    notional_usd: Decimal
    margin_per_leg_usd: Decimal
    long_fee: Decimal
    short_fee: Decimal
    slippage_per_fill: Decimal
    entry_spread_hourly: Decimal
    entry_net_apr: Decimal
    round_trip_cost: Decimal
    decision: OpenPosition
    entry_signal: SignalEstimate | None = None
    entry_long_mark: Decimal | None = None
    entry_short_mark: Decimal | None = None
    closed_at: datetime | None = None
    exit_reason: str | None = None
    exit_detail: str = ""
    exit_long_mark: Decimal | None = None
    exit_short_mark: Decimal | None = None
    funding_received_usd: Decimal = _ZERO
    funding_paid_usd: Decimal = _ZERO
    fees_usd: Decimal = _ZERO
    slippage_usd: Decimal = _ZERO
    basis_pnl_usd: Decimal | None = None
    exit_forgone_usd: Decimal = _ZERO
    entry_unearned_usd: Decimal = _ZERO
    payments: list[FundingPayment] = field(default_factory=list)

    @property
    def net_funding_usd(self) -> Decimal:
        return self.funding_received_usd - self.funding_paid_usd

    @property
    def net_pnl_usd(self) -> Decimal:
        """Funding received - paid - fees - slippage + basis (when modelled)."""
        basis = self.basis_pnl_usd if self.basis_pnl_usd is not None else _ZERO
        return self.net_funding_usd - self.fees_usd - self.slippage_usd + basis

    @property
    def holding_hours(self) -> Decimal:
        """Hours from opening to closing (0 while open)."""
        if self.closed_at is None:
            return _ZERO
        return Decimal((self.closed_at - self.opened_at) // _ONE_SECOND) / 3600

    @property
    def entry_signal_apr(self) -> float | None:
        """Expected gross APR at entry (fraction per year)."""
        return None if self.entry_signal is None else self.entry_signal.apr

    @property
    def realised_spread_apr(self) -> float | None:
        """Net funding / notional / hours held x 8760 (fraction per year); None for a position held 0 h."""
        hours = self.holding_hours
        if hours <= 0:
            return None
        return float(self.net_funding_usd / self.notional_usd / hours * HOURS_PER_YEAR)

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-safe summary (floats; rates and APRs as fractions), without the payment list."""
        sig = self.entry_signal
        return {
            "id": self.id,
            "symbol": self.symbol,
            "long_venue": self.long_venue,
            "short_venue": self.short_venue,
            "long_venue_symbol": self.long_venue_symbol,
            "short_venue_symbol": self.short_venue_symbol,
            "opened_at": self.opened_at.isoformat(),
            "closed_at": None if self.closed_at is None else self.closed_at.isoformat(),
            "holding_hours": float(self.holding_hours),
            "exit_reason": self.exit_reason,
            "notional_usd": float(self.notional_usd),
            "entry_spread_hourly": float(self.entry_spread_hourly),
            "entry_net_apr": float(self.entry_net_apr),
            "entry_signal_apr": self.entry_signal_apr,
            "entry_signal": None if sig is None else sig.to_json_dict(),
            "realised_spread_apr": self.realised_spread_apr,
            "round_trip_cost": float(self.round_trip_cost),
            "settlements_paid": len(self.payments),
            "funding_received_usd": float(self.funding_received_usd),
            "funding_paid_usd": float(self.funding_paid_usd),
            "fees_usd": float(self.fees_usd),
            "slippage_usd": float(self.slippage_usd),
            "basis_pnl_usd": None if self.basis_pnl_usd is None else float(self.basis_pnl_usd),
            "exit_forgone_usd": float(self.exit_forgone_usd),
            "entry_unearned_usd": float(self.entry_unearned_usd),
            "net_pnl_usd": float(self.net_pnl_usd),
        }


_ONE_SECOND = utc_from_us(US_PER_SECOND) - utc_from_us(0)


@dataclass(slots=True)
class BacktestResult:
    """Everything a run produced; `backtest.report.build_report` turns it into figures.

    Attributes:
        config: the config used (venues possibly replaced by `--venues`).
        start, end: first and last decision time; decision_hours: number of decision times.
        markets: (venue, base asset) -> the market replayed for it.
        budget_by_venue: USD capital per venue.
        positions: every position, in opening order (all closed at the end).
        decisions: entries and exits in time order; blocked_entries: entries refused for lack of budget.
        equity: (decision time, budget + realised + accrued cash) per decision time, USD.
        hours_in_market: decision times after which at least one position was open.
        notes: caveats to show (filters disabled, venues without data, basis not modelled ...).
        history: the loader's summary (rows, rejections).
        max_data_age_seconds: the config's `entry.max_data_age_seconds` (staleness beyond each interval).
    """

    config: FundingArbitrageConfig
    start: datetime
    end: datetime
    decision_hours: int
    markets: dict[tuple[str, str], MarketHistory]
    budget_by_venue: dict[str, Decimal]
    positions: list[PositionRecord]
    decisions: list[TradeDecision]
    blocked_entries: list[TradeDecision]
    equity: list[tuple[datetime, Decimal]]
    hours_in_market: int
    notes: list[str]
    history: dict[str, Any]
    max_data_age_seconds: Decimal

    @property
    def total_budget_usd(self) -> Decimal:
        return sum(self.budget_by_venue.values(), _ZERO)


# --------------------------------------------------------------------------------------------------- helpers


def with_venues(config: FundingArbitrageConfig, venues: Sequence[str]) -> FundingArbitrageConfig:
    """The config with its `venues` replaced, validated as a config file would be.

    Raises:
        ConfigError: unknown or duplicate venues, fewer than two.
    """
    data = config.model_dump(mode="python")
    data["venues"] = list(venues)
    result: FundingArbitrageConfig = parse_config(data, source="--venues")
    return result


def ceil_hour_us(us: int) -> int:
    return -(-us // US_PER_HOUR) * US_PER_HOUR


def floor_hour_us(us: int) -> int:
    return us // US_PER_HOUR * US_PER_HOUR


def stale_limits_us(market: MarketHistory, max_age_seconds: Decimal) -> list[int]:
    """Per settlement i: the largest age (µs) at which its rate is still fresh = its interval + max age."""
    extra = int(max_age_seconds * US_PER_SECOND)
    cache: dict[Decimal, int] = {}
    out = []
    for hours in market.interval_hours:
        limit = cache.get(hours)
        if limit is None:
            limit = cache[hours] = int(hours * US_PER_HOUR) + extra
        out.append(limit)
    return out


def known_rates(
    market: MarketHistory, times: Sequence[datetime], max_age_seconds: Decimal
) -> list[Decimal | None]:
    """The last paid `rate_hourly` of `market` known at each time (ascending): its latest settlement with
    effective hour <= the time, None when there is none or it is stale (the engine's snapshot rule). For
    charts and checks."""
    limits = stale_limits_us(market, max_age_seconds)
    ends = [settlement_hour(t) * US_PER_HOUR for t in market.ts_us]
    ts = market.ts_us
    n = len(ts)
    p = 0
    out: list[Decimal | None] = []
    for when in times:
        t = us_from_utc(when)
        while p < n and ends[p] <= t:
            p += 1
        k = p - 1
        out.append(market.rate_hourly[k] if k >= 0 and t - ts[k] <= limits[k] else None)
    return out


# ---------------------------------------------------------------------------------------- prepared history


class PreparedHistory:
    """A `FundingHistory` prepared once for many runs (`backtest.sweep`): each market's hourly earnings
    (`signals.LegSeries`) and effective settlement hours, and each venue pair's signal series per
    `SignalParams`, computed over the whole history on first use and cached.

    Sharing one instance between runs changes no number: every cached value is a pure function of the history
    and the parameters. Worker processes inherit it (fork) instead of recomputing it."""

    def __init__(self, history: FundingHistory) -> None:
        self.history = history
        self._legs: dict[tuple[str, str], LegSeries] = {}
        self._ends: dict[tuple[str, str], list[int]] = {}
        self._times: dict[tuple[str, str], list[datetime]] = {}
        self._hour_times: dict[tuple[int, int], list[datetime]] = {}
        self._pairs: dict[tuple[tuple[str, str], tuple[str, str], SignalParams], PairSeries] = {}
        self._replay: dict[tuple[str, str, Decimal, int, int], tuple[list[int], list[bool]]] = {}
        self._fields: frozenset[str] | None = None
        self._figures: dict[tuple[str, str, str, str, SignalParams, int, int], _PairFigures] = {}
        self._snapshots: dict[tuple[str, str, int], MarketSnapshot] = {}
        self._priced: dict[tuple[str, int, str], list[Opportunity]] = {}

    def snapshot(self, market: MarketHistory, k: int) -> MarketSnapshot:
        """The finder's snapshot of settlement k of `market` (its last paid rate, stamp and statistics)."""
        key = (market.venue, market.venue_symbol, k)
        found = self._snapshots.get(key)
        if found is None:
            found = self._snapshots[key] = MarketSnapshot(
                venue=market.venue,
                symbol=market.symbol,
                venue_symbol=market.venue_symbol,
                rate_hourly=market.rate_hourly[k],
                ts=utc_from_us(market.ts_us[k]),
                mark_price=market.mark_price[k],
                open_interest_usd=market.open_interest_usd[k],
                volume_24h_usd=market.volume_24h_usd[k],
            )
        return found

    def priced(
        self,
        query_key: str,
        hour: int,
        symbol: str,
        compute: Callable[[], list[Opportunity]],
    ) -> list[Opportunity]:
        """`compute()` (the finder on one asset's fresh snapshots at `hour`), memoised: at a given hour the
        snapshots, and the persistence history, of an asset are fixed by the history, so equal queries
        (`query_key`: the query without its time, plus the persistence window) give equal results."""
        key = (query_key, hour, symbol)
        found = self._priced.get(key)
        if found is None:
            found = self._priced[key] = compute()
        return found

    def figures(
        self, a: MarketHistory, b: MarketHistory, params: SignalParams, hours: Int64Array
    ) -> _PairFigures:
        """The pair's figures at each of `hours` (a contiguous range of decision hours)."""
        key = (a.venue, a.venue_symbol, b.venue, b.venue_symbol, params, int(hours[0]), int(hours[-1]))
        found = self._figures.get(key)
        if found is None:
            found = self._figures[key] = _figures(
                a, b, self.leg(a), self.leg(b), self.pair(a, b, params), hours
            )
        return found

    def fields_present(self) -> frozenset[str]:
        """`FundingHistory.fields_present`, computed once."""
        if self._fields is None:
            self._fields = self.history.fields_present()
        return self._fields

    def replay_arrays(
        self, market: MarketHistory, max_age_seconds: Decimal, hours: Int64Array
    ) -> tuple[list[int], list[bool]]:
        """For each decision hour (a contiguous range): the number of settlements known (effective hour <= it),
        and whether the latest of them is fresh (age <= its interval + `max_age_seconds`). Cached."""
        key = (market.venue, market.venue_symbol, max_age_seconds, int(hours[0]), int(hours[-1]))
        found = self._replay.get(key)
        if found is not None:
            return found
        limits = np.asarray(stale_limits_us(market, max_age_seconds), dtype=np.int64)
        ends = np.asarray(self.settle_hours(market), dtype=np.int64)
        ptr = np.searchsorted(ends, hours, side="right")
        k = np.maximum(ptr - 1, 0)
        ts = np.asarray(market.ts_us, dtype=np.int64)
        fresh = (ptr > 0) & (hours * US_PER_HOUR - ts[k] <= limits[k])
        found = self._replay[key] = (ptr.tolist(), fresh.tolist())
        return found

    def leg(self, market: MarketHistory) -> LegSeries:
        key = (market.venue, market.venue_symbol)
        found = self._legs.get(key)
        if found is None:
            found = self._legs[key] = leg_from_settlements(
                market.ts_us, market.rate_raw, market.interval_hours, market.rate_hourly
            )
        return found

    def settle_times(self, market: MarketHistory) -> list[datetime]:
        """Each settlement's stamp as an aware datetime."""
        key = (market.venue, market.venue_symbol)
        found = self._times.get(key)
        if found is None:
            found = self._times[key] = [utc_from_us(t) for t in market.ts_us]
        return found

    def hour_times(self, first: int, last: int) -> list[datetime]:
        """Start of each epoch hour first..last (inclusive) as aware datetimes."""
        key = (first, last)
        found = self._hour_times.get(key)
        if found is None:
            found = self._hour_times[key] = [utc_from_us(h * US_PER_HOUR) for h in range(first, last + 1)]
        return found

    def settle_hours(self, market: MarketHistory) -> list[int]:
        """Effective hour (epoch hours) of each settlement."""
        key = (market.venue, market.venue_symbol)
        found = self._ends.get(key)
        if found is None:
            found = self._ends[key] = [settlement_hour(t) for t in market.ts_us]
        return found

    def pair(self, long: MarketHistory, short: MarketHistory, params: SignalParams) -> PairSeries:
        """The series of (long `long`, short `short`) for every end hour either leg can know."""
        key = ((long.venue, long.venue_symbol), (short.venue, short.venue_symbol), params)
        found = self._pairs.get(key)
        if found is None:
            a, b = self.leg(long), self.leg(short)
            first = min(a.first_hour, b.first_hour)
            last = max(a.last_hour, b.last_hour)
            found = self._pairs[key] = pair_series(a, b, params, first, last)
        return found


# ------------------------------------------------------------------------------------------- replay state


class _HourlyHistory(Mapping[tuple[str, str], Sequence[tuple[datetime, Decimal]]]):
    """The finder's `HourlyHistory` over what the loop has seen so far: (venue, symbol) -> the last
    `window` hourly buckets before the current hour (built incrementally, so no future hour can be in it)."""

    def __init__(self, markets: Mapping[tuple[str, str], _Market], window_hours: int) -> None:
        self._markets = markets
        self._window = window_hours
        self.hour = 0  # current decision hour index (epoch hours)

    def __getitem__(self, key: tuple[str, str]) -> Sequence[tuple[datetime, Decimal]]:
        mk = self._markets[key]
        lo = self.hour - self._window
        hours = mk.hours
        i = len(hours)
        while i > 0 and hours[i - 1] >= lo:
            i -= 1
        return mk.points[i:]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._markets)

    def __len__(self) -> int:
        return len(self._markets)


class _Market:
    """Replay state of one market: pointer to the next settlement, cached snapshot, open legs, hourly history."""

    __slots__ = (
        "ends",
        "fresh_at",
        "hist",
        "holders",
        "hours",
        "n",
        "points",
        "ptr",
        "ptr_at",
        "symbol",
        "times",
        "ts",
        "venue",
    )

    def __init__(self, hist: MarketHistory, ends: list[int], times: list[datetime]) -> None:
        self.hist = hist
        self.times = times
        self.venue = hist.venue
        self.symbol = hist.symbol
        self.ts = hist.ts_us
        self.ends = ends
        self.n = len(hist.ts_us)
        self.ptr = 0
        self.ptr_at: list[int] = []
        self.fresh_at: list[bool] = []
        self.holders: list[tuple[PositionRecord, bool]] = []  # (position, is_long)
        self.hours: list[int] = []
        self.points: list[tuple[datetime, Decimal]] = []

    def sync(self, j: int, run: _Run) -> None:
        """Advance to loop hour j: settlements now known are paid to the holders (backtest.engine "Cash")."""
        p_new = self.ptr_at[j]
        if p_new != self.ptr:
            if self.holders:
                for p in range(self.ptr, p_new):
                    run.pay_settlement(self, p)
            self.ptr = p_new

    def mark(self) -> Decimal | None:
        """Mark price of the latest known settlement (any age), None if unknown."""
        k = self.ptr - 1
        return self.hist.mark_price[k] if k >= 0 else None

    def lump_share(self, t_hour: int, since_hour: int) -> tuple[Decimal, Decimal] | None:
        """(rate_raw of the next settlement after t, the fraction of its interval in [since, t)), for an
        interval settlement (> 1 h) whose interval started before t; None otherwise."""
        p = self.ptr
        if p >= self.n:
            return None
        interval = self.hist.interval_hours[p]
        if interval <= 1:
            return None
        span = max(1, math.ceil(interval))
        start = self.ends[p] - span
        if p > 0:
            start = max(start, self.ends[p - 1])
        lo = max(start, since_hour)
        if lo >= t_hour:
            return None
        return self.hist.rate_raw[p], Decimal(t_hour - lo) / Decimal(self.ends[p] - start)


@dataclass(frozen=True, slots=True)
class _PairFigures:
    """A venue pair's signal figures at each decision hour of a run (lists, read once per estimate); cached per
    (pair, signal settings, decision hours) by `PreparedHistory.figures`."""

    ends: list[int | None]
    spread: list[float]
    instant: list[float]
    tstat: list[float]
    cv: list[float]
    pos: list[float]
    neg: list[float]
    hours: list[float]
    stale: list[float]
    stale_venue: list[str]
    end: Int64Array
    stale_hours: FloatArray
    series: PairSeries
    memo: dict[tuple[int, bool], SignalEstimate] = field(default_factory=dict)


def _figures(
    a: MarketHistory,
    b: MarketHistory,
    leg_a: LegSeries,
    leg_b: LegSeries,
    series: PairSeries,
    hours: Int64Array,
) -> _PairFigures:
    ka, kb = leg_a.known_hours_at(hours), leg_b.known_hours_at(hours)
    end = np.minimum(ka, kb)
    fa, fb = _fresh_ends(leg_a, ka), _fresh_ends(leg_b, kb)
    stale_hours = (hours - np.minimum(fa, fb)).astype(np.float64)
    idx = end - series.first_end
    valid = (idx >= 0) & (idx < len(series.spread))
    idx = np.clip(idx, 0, len(series.spread) - 1)
    return _PairFigures(
        ends=[int(e) if v else None for e, v in zip(end.tolist(), valid.tolist(), strict=True)],
        spread=series.spread[idx].tolist(),
        instant=series.instant[idx].tolist(),
        tstat=series.tstat[idx].tolist(),
        cv=series.cv[idx].tolist(),
        pos=series.pos_share[idx].tolist(),
        neg=series.neg_share[idx].tolist(),
        hours=series.hours[idx].tolist(),
        stale=stale_hours.tolist(),
        # the leg with the older fresh end; ties: the first venue by name (as signals.estimate_now)
        stale_venue=[a.venue if x <= y else b.venue for x, y in zip(fa.tolist(), fb.tolist(), strict=True)],
        end=end,
        stale_hours=stale_hours,
        series=series,
    )


class _Pair:
    """One unordered venue pair of an asset (long `a`, short `b` in the series' sense) in one run."""

    __slots__ = ("a", "b", "fig", "symbol")

    def __init__(self, symbol: str, a: _Market, b: _Market, fig: _PairFigures) -> None:
        self.symbol = symbol
        self.a = a
        self.b = b
        self.fig = fig

    def estimate(self, i: int, reverse: bool, estimator: str) -> SignalEstimate:
        f = self.fig
        found = f.memo.get((i, reverse))
        if found is not None:
            return found
        long, short = (self.b, self.a) if reverse else (self.a, self.b)
        found = f.memo[(i, reverse)] = make_estimate(
            symbol=self.symbol,
            long_venue=long.venue,
            short_venue=short.venue,
            estimator=estimator,
            end_hour=f.ends[i],
            spread=f.spread[i],
            instant=f.instant[i],
            tstat=f.tstat[i],
            cv=f.cv[i],
            share=f.neg[i] if reverse else f.pos[i],
            hours=f.hours[i],
            reverse=reverse,
            stale_hours=f.stale[i],
            stale_venue=f.stale_venue[i],
        )
        return found


def _pairs_for_run(
    markets: dict[tuple[str, str], _Market],
    prepared: PreparedHistory,
    params: SignalParams,
    hours: Int64Array,
) -> list[_Pair]:
    by_symbol: dict[str, list[_Market]] = {}
    for (_, symbol), mk in markets.items():
        by_symbol.setdefault(symbol, []).append(mk)
    out: list[_Pair] = []
    for symbol in sorted(by_symbol):
        group = sorted(by_symbol[symbol], key=lambda m: m.venue)
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                out.append(_Pair(symbol, a, b, prepared.figures(a.hist, b.hist, params, hours)))
    return out


def _fresh_ends(leg: LegSeries, known: Int64Array) -> Int64Array:
    idx = np.clip(known - leg.first_hour, 0, len(leg.values) - 1)
    return np.where(known >= leg.first_hour, leg.fresh_end[idx], leg.first_hour)


def _prefilter(pair: _Pair, reverse: bool, config: FundingArbitrageConfig, cost: float, n: int) -> BoolArray:
    """Decision hours at which this direction's signal could pass the entry rules (a superset: see
    PREFILTER_TOLERANCE); the rules themselves are `decision.entry_refusal`."""
    s = pair.fig.series
    idx = pair.fig.end - s.first_end
    ok = (idx >= 0) & (idx < len(s.spread))
    idx = np.clip(idx, 0, len(s.spread) - 1)
    sign = -1.0 if reverse else 1.0
    spread = sign * s.spread[idx]
    entry = config.entry
    tol = PREFILTER_TOLERANCE
    with np.errstate(invalid="ignore"):
        ok &= ~np.isnan(spread)
        ok &= pair.fig.stale_hours <= float(config.exit.max_stale_hours) + tol
        apr = spread * _YEAR
        if entry.min_signal_apr is not None:
            ok &= apr >= float(entry.min_signal_apr) - tol
        if entry.min_net_apr is not None:
            horizon = float(entry.horizon_hours)
            net = (spread * horizon - cost) / horizon * _YEAR
            ok &= net >= float(entry.min_net_apr) - tol
        if entry.min_stability is not None:
            ok &= sign * s.tstat[idx] >= float(entry.min_stability) - tol
        if entry.max_spread_cv is not None:
            ok &= s.cv[idx] <= float(entry.max_spread_cv) + tol
        if entry.min_sign_share is not None:
            share = (s.neg_share if reverse else s.pos_share)[idx]
            ok &= share >= float(entry.min_sign_share) - tol
    return ok


# ------------------------------------------------------------------------------------------------------ run


class _Run:
    """One backtest run's mutable state."""

    def __init__(
        self,
        config: FundingArbitrageConfig,
        markets: dict[tuple[str, str], _Market],
        budgets: dict[str, Decimal],
    ) -> None:
        self.config = config
        self.markets = markets
        self.budgets = budgets
        buffer = config.sizing.margin_buffer
        self.usable = {v: b * (1 - buffer) for v, b in budgets.items()}
        self.margin_used: dict[str, Decimal] = dict.fromkeys(budgets, _ZERO)
        self.slip = config.costs.slippage_bps / BPS
        self.notional = config.sizing.target_notional_usd
        self.margin = self.notional / config.sizing.leverage
        self.cash = _ZERO
        self.j = 0  # current loop hour index
        self._order = {id(mk): n for n, mk in enumerate(markets.values())}
        self._held: dict[int, _Market] = {}
        self.open: list[PositionRecord] = []
        self.positions: list[PositionRecord] = []
        self.decisions: list[TradeDecision] = []
        self.blocked: list[TradeDecision] = []

    def held_markets(self) -> list[_Market]:
        """Markets with open legs, in market order (payments keep a fixed order)."""
        return sorted(self._held.values(), key=lambda mk: self._order[id(mk)])

    # -- cash

    def pay_settlement(self, mk: _Market, i: int) -> None:
        hist = mk.hist
        rate = hist.rate_raw[i]
        when = mk.times[i]
        for pos, is_long in mk.holders:
            amount = pos.notional_usd * rate
            if is_long:
                amount = -amount
            if amount > 0:
                pos.funding_received_usd += amount
            else:
                pos.funding_paid_usd -= amount
            pos.payments.append(
                FundingPayment(
                    when, mk.venue, "long" if is_long else "short", rate, hist.interval_hours[i], amount
                )
            )
            self.cash += amount

    def _fills(self, pos: PositionRecord) -> None:
        """Charge one fill per leg (fee + slippage) to the position and the cash."""
        fee = pos.notional_usd * (pos.long_fee + pos.short_fee)
        slip = pos.notional_usd * pos.slippage_per_fill * 2
        pos.fees_usd += fee
        pos.slippage_usd += slip
        self.cash -= fee + slip

    def _lumps(self, pos: PositionRecord, t_hour: int, since_hour: int) -> Decimal:
        """Sum over the legs of the position's share of their next interval settlement accrued in
        [since, t) (+ = the position would receive it)."""
        total = _ZERO
        for venue, is_long in ((pos.long_venue, True), (pos.short_venue, False)):
            share = self.markets[(venue, pos.symbol)].lump_share(t_hour, since_hour)
            if share is not None:
                rate, frac = share
                amount = pos.notional_usd * rate * frac
                total += -amount if is_long else amount
        return total

    # -- entries and exits

    def fits(self, cand: EntryCandidate) -> tuple[bool, str]:
        for v in (cand.long_venue, cand.short_venue):
            used = self.margin_used.get(v, _ZERO)
            usable = self.usable.get(v, _ZERO)
            if used + self.margin > usable:
                return False, (
                    f"{v}: margin used {used} + {self.margin} > usable budget {usable} "
                    f"(budget {self.budgets.get(v, _ZERO)}, buffer {self.config.sizing.margin_buffer})"
                )
        return True, ""

    def enter(self, cand: EntryCandidate, now: datetime, t_hour: int) -> None:
        opp = cand.opportunity
        sig = cand.signal
        long_mk = self.markets[(opp.long_venue, opp.symbol)]
        short_mk = self.markets[(opp.short_venue, opp.symbol)]
        long_mk.sync(self.j, self)
        short_mk.sync(self.j, self)
        decision = OpenPosition(
            symbol=opp.symbol,
            long_venue=opp.long_venue,
            short_venue=opp.short_venue,
            opened_at=now,
            notional_usd=self.notional,
            entry_spread_hourly=opp.spread_hourly,
            round_trip_cost=opp.round_trip_cost,
            entry_signal_apr=sig.apr,
        )
        pos = PositionRecord(
            id=len(self.positions) + 1,
            symbol=opp.symbol,
            long_venue=opp.long_venue,
            short_venue=opp.short_venue,
            long_venue_symbol=opp.long_venue_symbol,
            short_venue_symbol=opp.short_venue_symbol,
            opened_at=now,
            notional_usd=self.notional,
            margin_per_leg_usd=self.margin,
            long_fee=opp.long_fee,
            short_fee=opp.short_fee,
            slippage_per_fill=self.slip,
            entry_spread_hourly=opp.spread_hourly,
            entry_net_apr=opp.net_apr,
            round_trip_cost=opp.round_trip_cost,
            decision=decision,
            entry_signal=sig,
            entry_long_mark=long_mk.mark(),
            entry_short_mark=short_mk.mark(),
        )
        pos.entry_unearned_usd = self._lumps(pos, t_hour, -(2**62))
        self._fills(pos)
        long_mk.holders.append((pos, True))
        short_mk.holders.append((pos, False))
        self._held[id(long_mk)] = long_mk
        self._held[id(short_mk)] = short_mk
        for v in (opp.long_venue, opp.short_venue):
            self.margin_used[v] = self.margin_used.get(v, _ZERO) + self.margin
        self.open.append(pos)
        self.positions.append(pos)
        net = cand.expected_net_apr(self.config.entry.horizon_hours)
        self.decisions.append(
            TradeDecision(
                now,
                "enter",
                opp.symbol,
                opp.long_venue,
                opp.short_venue,
                "entry",
                f"signal APR {sig.apr:.4f} ({sig.estimator}), expected net APR {net:.4f}, t-stat {sig.tstat}, "
                f"last paid spread {opp.spread_hourly} per hour, cost {opp.round_trip_cost}",
            )
        )

    def close(self, pos: PositionRecord, now: datetime, t_hour: int, reason: str, detail: str) -> None:
        long_mk = self.markets[(pos.long_venue, pos.symbol)]
        short_mk = self.markets[(pos.short_venue, pos.symbol)]
        self._fills(pos)
        pos.closed_at = now
        pos.exit_reason = reason
        pos.exit_detail = detail
        pos.exit_long_mark = long_mk.mark()
        pos.exit_short_mark = short_mk.mark()
        opened_hour = (us_from_utc(pos.opened_at)) // US_PER_HOUR
        pos.exit_forgone_usd = self._lumps(pos, t_hour, opened_hour)
        el, es, xl, xs = pos.entry_long_mark, pos.entry_short_mark, pos.exit_long_mark, pos.exit_short_mark
        if el is not None and es is not None and xl is not None and xs is not None:
            basis = pos.notional_usd / el * (xl - el) + pos.notional_usd / es * (es - xs)
            pos.basis_pnl_usd = basis
            self.cash += basis
        long_mk.holders = [h for h in long_mk.holders if h[0] is not pos]
        short_mk.holders = [h for h in short_mk.holders if h[0] is not pos]
        for mk in (long_mk, short_mk):
            if not mk.holders:
                self._held.pop(id(mk), None)
        for v in (pos.long_venue, pos.short_venue):
            self.margin_used[v] -= pos.margin_per_leg_usd
        self.open.remove(pos)
        pos.payments.sort(key=lambda pay: pay.ts)  # one decision step may pay several venues' settlements
        self.decisions.append(
            TradeDecision(now, "exit", pos.symbol, pos.long_venue, pos.short_venue, reason, detail)
        )

    def decide_exits(
        self,
        candidates: list[EntryCandidate],
        signal_of: Callable[[PositionRecord], SignalEstimate | None],
        now: datetime,
        t_hour: int,
    ) -> None:
        spreads = [c.signal.spread_hourly for c in candidates if c.signal.spread_hourly is not None]
        best_spread = max(spreads) if spreads else None
        cheapest = min((float(c.round_trip_cost) for c in candidates), default=0.0)
        for pos in list(self.open):

            def best(
                pos: PositionRecord = pos, signal: SignalEstimate | None = None
            ) -> EntryCandidate | None:
                if best_spread is None:
                    return None
                if not could_switch(pos.decision, signal, best_spread, cheapest, now, self.config):
                    return None  # no candidate can pass the switching rule: skip the search
                others = [p.decision for p in self.open if p is not pos]
                chosen = choose_entries(
                    [c for c in candidates if c.symbol != pos.symbol], others, self.config, ranked=True
                )
                return chosen[0] if chosen else None

            signal = signal_of(pos)
            verdict = exit_decision(
                pos.decision, signal, functools.partial(best, pos, signal), now, self.config
            )
            if verdict is not None:
                self.close(pos, now, t_hour, verdict.reason, verdict.detail)

    def decide_entries(self, candidates: list[EntryCandidate], now: datetime, t_hour: int) -> None:
        remaining = list(candidates)
        while remaining:
            chosen = choose_entries(remaining, [p.decision for p in self.open], self.config, ranked=True)
            blocked: EntryCandidate | None = None
            for cand in chosen:
                ok, why = self.fits(cand)
                if not ok:
                    blocked = cand
                    self.blocked.append(
                        TradeDecision(
                            now, "blocked", cand.symbol, cand.long_venue, cand.short_venue, "budget", why
                        )
                    )
                    break
                self.enter(cand, now, t_hour)
            if blocked is None:
                return
            remaining = [c for c in remaining if c is not blocked]


def signals_at(
    config: FundingArbitrageConfig,
    history: FundingHistory,
    when: datetime,
    *,
    prepared: PreparedHistory | None = None,
) -> dict[tuple[str, str, str], SignalEstimate]:
    """Every direction's signal at decision time `when` (on the hour), exactly as `run_backtest` reads it:
    (symbol, long venue, short venue) -> SignalEstimate. For checks and diagnostics.

    Raises:
        BacktestError: fewer than two of the config's venues in the history, or `when` not on the hour.
    """
    us = us_from_utc(when)
    if us % US_PER_HOUR:
        raise BacktestError(f"{when.isoformat()}: decisions are taken on the hour")
    prepared = prepared or PreparedHistory(history)
    venues = [v for v in config.venues if v in set(history.venues())]
    if len(venues) < 2:
        raise BacktestError(f"history has data for {history.venues()}; the config's venues {config.venues}")
    primary = history.primary_markets(venues, config.symbol_set)
    per_symbol = Counter(sym for _, sym in primary)
    markets = {
        k: _Market(m, prepared.settle_hours(m), prepared.settle_times(m))
        for k, m in sorted(primary.items())
        if per_symbol[k[1]] >= 2
    }
    params = signal_params(config)
    hours = np.asarray([us // US_PER_HOUR], dtype=np.int64)
    out: dict[tuple[str, str, str], SignalEstimate] = {}
    for pair in _pairs_for_run(markets, prepared, params, hours):
        for reverse in (False, True):
            est = pair.estimate(0, reverse, params.estimator)
            out[est.key()] = est
    return out


def pair_signal_history(
    result: BacktestResult, symbol: str, long_venue: str, short_venue: str
) -> tuple[list[datetime], list[float], list[float]]:
    """(decision times, spread of the last hour known on both legs, signal), both as APR fractions (NaN when
    unknown), of one direction over a finished run, read at each decision time as `run_backtest` reads it.
    For charts.

    Raises:
        KeyError: the run did not replay both markets.
    """
    long_m = result.markets[(long_venue, symbol)]
    short_m = result.markets[(short_venue, symbol)]
    a, b = sorted((long_m, short_m), key=lambda m: m.venue)
    prepared = PreparedHistory(FundingHistory())
    times = [t for t, _ in result.equity]
    hours = np.asarray([us_from_utc(t) // US_PER_HOUR for t in times], dtype=np.int64)
    if len(hours) == 0:
        return [], [], []
    hours = np.arange(int(hours[0]), int(hours[-1]) + 1, dtype=np.int64)
    fig = prepared.figures(a, b, signal_params(result.config), hours)
    sign = 1.0 if a is long_m else -1.0
    instant = [sign * x * _YEAR for x in fig.instant]
    signal = [sign * x * _YEAR for x in fig.spread]
    ok = [e is not None for e in fig.ends]
    nan = math.nan
    return (
        [utc_from_us(int(h) * US_PER_HOUR) for h in hours],
        [x if v else nan for x, v in zip(instant, ok, strict=True)],
        [x if v else nan for x, v in zip(signal, ok, strict=True)],
    )


def run_backtest(
    config: FundingArbitrageConfig,
    history: FundingHistory,
    options: BacktestOptions | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
    prepared: PreparedHistory | None = None,
) -> BacktestResult:
    """Replay `history` through the decision code of `config` (see the module docstring for every rule).

    Args:
        config: a funding-arbitrage config (its venues must have history; `options.venues` may replace them).
        history: from `backtest.loader`.
        options: time range, venues, budget.
        progress: called as progress(done, total) over decision times (about once a simulated day).
        prepared: a `PreparedHistory` of `history` to reuse (many runs over one history); None = a new one.

    Returns:
        A `BacktestResult` with every position closed.

    Raises:
        ConfigError: `options.venues` invalid.
        BacktestError: fewer than two venues with data, no base asset on two venues, an empty time range,
            a non-positive budget, a `prepared` of another history.
    """
    opts = options or BacktestOptions()
    if opts.venues is not None:
        config = with_venues(config, opts.venues)
    if prepared is None:
        prepared = PreparedHistory(history)
    elif prepared.history is not history:
        raise BacktestError("prepared history was built from another FundingHistory")
    notes: list[str] = []
    available = set(history.venues())
    missing = [v for v in config.venues if v not in available]
    if missing:
        notes.append(f"no history for venue(s) {missing}: ignored")
    venues = [v for v in config.venues if v in available]
    if len(venues) < 2:
        raise BacktestError(
            f"history has data for {sorted(available)}; the config's venues {config.venues} leave fewer than two"
        )
    primary = history.primary_markets(venues, config.symbol_set)
    per_symbol = Counter(sym for _, sym in primary)
    chosen = {k: m for k, m in primary.items() if per_symbol[k[1]] >= 2}
    if not chosen:
        raise BacktestError(f"no base asset has history on two or more of {venues}")
    used = {id(m) for m in chosen.values()}
    ignored = sorted(
        f"{m.venue}:{m.venue_symbol}"
        for m in history.markets.values()
        if (m.venue, m.symbol) in chosen and id(m) not in used
    )
    if ignored:
        notes.append(
            f"{len(ignored)} market(s) not replayed, their venue lists another market of the same asset "
            f"(USDT-margined preferred, see loader.QUOTE_PREFERENCE): {', '.join(ignored)}"
        )

    budget = opts.budget_usd_per_venue
    if budget is None:
        budget = (
            config.sizing.max_exposure_per_venue_usd
            or DEFAULT_BUDGET_MULTIPLE * config.sizing.target_notional_usd
        )
    if budget <= 0:
        raise BacktestError(f"budget per venue must be positive, got {budget}")
    budgets = {v: budget for v in venues}

    first_us = min(m.ts_us[0] for m in chosen.values())
    last_us = max(m.ts_us[-1] for m in chosen.values())
    start_us = ceil_hour_us(max(first_us, us_from_utc(opts.start)) if opts.start else first_us)
    end_us = floor_hour_us(min(last_us, us_from_utc(opts.end)) if opts.end else last_us)
    if end_us < start_us:
        raise BacktestError(
            f"empty time range: decisions from {utc_from_us(start_us).isoformat()} to {utc_from_us(end_us).isoformat()}"
        )

    max_age = config.entry.max_data_age_seconds
    markets = {
        k: _Market(m, prepared.settle_hours(m), prepared.settle_times(m)) for k, m in sorted(chosen.items())
    }
    longest = max(max(m.interval_hours) for m in chosen.values())
    finder_age = float(longest * 3600 + max_age)

    present = prepared.fields_present()
    adjust: dict[str, Any] = {"max_data_age_seconds": finder_age}
    if config.entry.min_volume_24h_usd > 0 and "volume_24h_usd" not in present:
        adjust["min_volume_24h_usd"] = None
        notes.append(
            f"entry.min_volume_24h_usd ({config.entry.min_volume_24h_usd}) not applied: the history has no 24 h volume"
        )
    if config.entry.min_open_interest_usd > 0 and "open_interest_usd" not in present:
        adjust["min_open_interest_usd"] = None
        notes.append(
            f"entry.min_open_interest_usd ({config.entry.min_open_interest_usd}) not applied: "
            "the history has no open interest"
        )

    need = config.entry.min_spread_persistence_hours
    window = math.ceil(need) if need > 0 else 0
    hourly = _HourlyHistory(markets, window) if window else None
    loop_from = start_us - window * US_PER_HOUR
    start_dt = utc_from_us(start_us)
    # The history carries no fee metadata and the backtest prices every leg at the query's blanket default
    # (5 bps taker / 2 bps maker) unless `costs.fee_overrides` say otherwise: deliberately conservative, and
    # the figures in docs/strategies.md are stated at it. The venues' documented tiers (which live ranking
    # falls back to) are not used, so `cost_of` below stays the exact cost the finder charges.
    adjust["venue_default_fees"] = {}
    query = opportunity_query(config, start_dt).model_copy(update=adjust)

    # Signals: every unordered venue pair of every asset, read at each decision hour (module docstring).
    params = signal_params(config)
    start_h, end_h = start_us // US_PER_HOUR, end_us // US_PER_HOUR
    hours = np.arange(start_h, end_h + 1, dtype=np.int64)
    pairs = _pairs_for_run(markets, prepared, params, hours)
    side: FeeSide = "maker" if query.use_maker_fees else "taker"
    overrides: dict[tuple[str, FeeSide], Decimal] = dict(query.fee_overrides)
    default_fee = query.default_maker_fee if query.use_maker_fees else query.default_taker_fee

    def cost_of(long_venue: str, short_venue: str) -> float:
        fl = resolve_fee(long_venue, side, None, overrides, default_fee)
        fs = resolve_fee(short_venue, side, None, overrides, default_fee)
        return float(round_trip_cost(fl, fs, query.slippage_bps, query.cross_spread_bps))

    # Directions whose signal could qualify, per decision hour (superset; the rules are applied by decision.py).
    n_hours = len(hours)
    maybe: list[list[tuple[_Pair, bool]]] = [[] for _ in range(n_hours)]
    for pair in pairs:
        for reverse in (False, True):
            long, short = (pair.b, pair.a) if reverse else (pair.a, pair.b)
            mask = _prefilter(pair, reverse, config, cost_of(long.venue, short.venue), n_hours)
            for i in np.flatnonzero(mask).tolist():
                maybe[i].append((pair, reverse))
    pair_of: dict[tuple[str, str, str], tuple[_Pair, bool]] = {}
    for pair in pairs:
        pair_of[(pair.symbol, pair.a.venue, pair.b.venue)] = (pair, False)
        pair_of[(pair.symbol, pair.b.venue, pair.a.venue)] = (pair, True)

    by_symbol: dict[str, list[_Market]] = {}
    for mk in markets.values():
        by_symbol.setdefault(mk.symbol, []).append(mk)
    query_key = f"{query.model_dump_json(exclude={'now'})}|persistence={window}"

    run = _Run(config, markets, budgets)
    equity: list[tuple[datetime, Decimal]] = []
    total_budget = sum(budgets.values(), _ZERO)
    hours_in_market = 0
    total_hours = (end_us - start_us) // US_PER_HOUR + 1
    done = 0
    market_list = list(markets.values())
    estimator = params.estimator
    # Per market and loop hour: settlements known (pointer past the last with E <= t) and snapshot freshness.
    loop_hours = np.arange(loop_from // US_PER_HOUR, end_h + 1, dtype=np.int64)
    for mk in market_list:
        mk.ptr_at, mk.fresh_at = prepared.replay_arrays(mk.hist, max_age, loop_hours)

    hour_list = loop_hours.tolist()
    hour_times = prepared.hour_times(hour_list[0], hour_list[-1])
    for j, hour in enumerate(hour_list):
        t_us = hour * US_PER_HOUR
        now = hour_times[j]
        run.j = j
        for mk in run.held_markets():  # only held markets pay; the others are synced when they are read
            mk.sync(j, run)
        if hourly is not None:
            for mk in market_list:
                if mk.fresh_at[j]:
                    mk.hours.append(hour)
                    mk.points.append((now, mk.hist.rate_hourly[mk.ptr_at[j] - 1]))
        if t_us < start_us:
            continue
        i = hour - start_h

        candidates: list[EntryCandidate] = []
        if maybe[i]:
            if hourly is not None:
                hourly.hour = hour
            by_key: dict[tuple[str, str, str], Opportunity] = {}
            for symbol in sorted({pair.symbol for pair, _ in maybe[i]}):

                def compute(symbol: str = symbol, j: int = j, now: datetime = now) -> list[Opportunity]:
                    snaps = [
                        prepared.snapshot(mk.hist, mk.ptr_at[j] - 1)
                        for mk in by_symbol[symbol]
                        if mk.fresh_at[j]
                    ]
                    q_now = query.model_copy(update={"now": now})
                    return find_opportunities(snaps, q_now, hourly).opportunities

                for o in prepared.priced(query_key, hour, symbol, compute):
                    by_key[(o.symbol, o.long_venue, o.short_venue)] = o
            for pair, reverse in maybe[i]:
                long, short = (pair.b, pair.a) if reverse else (pair.a, pair.b)
                opp = by_key.get((pair.symbol, long.venue, short.venue))
                if opp is not None:
                    candidates.append(EntryCandidate(opp, pair.estimate(i, reverse, estimator)))

        if candidates:
            # the entry rules once per hour; choose_entries re-ranks (and re-checks) these
            candidates = rank(candidates, config)
        if run.open:

            def signal_of(pos: PositionRecord, i: int = i) -> SignalEstimate | None:
                found = pair_of.get((pos.symbol, pos.long_venue, pos.short_venue))
                return None if found is None else found[0].estimate(i, found[1], estimator)

            run.decide_exits(candidates, signal_of, now, hour)
        if t_us < end_us and candidates:
            run.decide_entries(candidates, now, hour)
        if t_us == end_us:
            for pos in list(run.open):
                run.close(pos, now, hour, END_OF_DATA, "still open at the last decision time")
        if run.open:
            hours_in_market += 1
        equity.append((now, total_budget + run.cash))
        done += 1
        if progress is not None and (done % 24 == 0 or done == total_hours):
            progress(done, total_hours)

    if all(p.basis_pnl_usd is None for p in run.positions):
        notes.append(NO_PRICE_NOTE)
    elif any(p.basis_pnl_usd is None for p in run.positions):
        n_missing = sum(1 for p in run.positions if p.basis_pnl_usd is None)
        notes.append(f"basis PnL not modelled for {n_missing} position(s): no price series on a leg")

    return BacktestResult(
        config=config,
        start=utc_from_us(start_us),
        end=utc_from_us(end_us),
        decision_hours=total_hours,
        markets=chosen,
        budget_by_venue=budgets,
        positions=run.positions,
        decisions=run.decisions,
        blocked_entries=run.blocked,
        equity=equity,
        hours_in_market=hours_in_market,
        notes=notes,
        history=history.summary(),
        max_data_age_seconds=max_age,
    )


__all__ = [
    "END_OF_DATA",
    "NO_PRICE_NOTE",
    "BacktestError",
    "BacktestOptions",
    "BacktestResult",
    "ConfigError",
    "FundingPayment",
    "PositionRecord",
    "PreparedHistory",
    "TradeDecision",
    "known_rates",
    "pair_signal_history",
    "run_backtest",
    "signals_at",
    "with_venues",
]
