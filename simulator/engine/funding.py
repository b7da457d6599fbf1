"""Funding in the simulator's trading engine: rate providers and the two funding modes (`FundingMode`).

Rates are always the canonical signed **fraction per hour** (`rate_hourly`, DESIGN.md "Units"), positive when
longs pay shorts. A rate provider is any callable `provider(market, ts_ms) -> Decimal | None` (None = no rate
known: treated as 0); the ones here also expose `change_points` so continuous accrual can integrate a step
function exactly, and a `label` saying where the numbers come from.

`FundingMode.SETTLE_EVERY_INTERVAL` (Lighter's mechanics, PROTOCOL_NOTES §1.4, docs.lighter.xyz "Funding"):
settled at the end of every interval (`SETTLEMENT_INTERVAL_MS`: every hour on the hour), peer to peer. At each
HH:00 the engine pays, for every open position,

    payment = -size x mark x rate_hourly            (size signed: longs pay when the rate is positive)

with `rate_hourly` the rate in force during the hour that ends at HH:00 (`provider(market, HH:00 - 1 ms)`)
and `mark` the mark price at settlement. `settlement_payment` computes it.

`FundingMode.CONTINUOUS_INDEX` (Paradex's mechanics, PROTOCOL_NOTES §2.4, docs "Funding Mechanism"): a funding
index per market accrues continuously,

    index += mark x rate_per_period x dt / period  (= mark x rate_hourly x dt_hours)

and a position accrues `-size x (index_now - index_at_last_realisation)`, realised into collateral only when
the position changes (a fill, a liquidation). `accrue_index` integrates the index over a time span, splitting it
at the provider's rate changes; the mark is the engine's mark over the span (the engine accrues before every
mark change, so a piecewise-constant mark is integrated exactly; a mid path is sampled at the engine's syncs).

Money amounts are rounded to `MONEY_QUANTUM` (1e-12 USDC) so that balances add up exactly.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import pairwise
from pathlib import Path
from typing import Protocol, runtime_checkable

from perparb_core import units
from simulator.engine.orders import ZERO

HOUR_MS = 3_600_000
SETTLEMENT_INTERVAL_MS = (
    HOUR_MS  # the engine walks hour boundaries; a market settles on those its interval divides
)
MONEY_QUANTUM = Decimal("1e-12")
_HOUR_MS_DEC = Decimal(HOUR_MS)


def money(amount: Decimal) -> Decimal:
    """`amount` (USDC) rounded half-even to `MONEY_QUANTUM`."""
    return amount.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_EVEN)


@runtime_checkable
class RateProvider(Protocol):
    """Funding rate source: `provider(market, ts_ms)` -> signed fraction per hour, or None when unknown."""

    label: str

    def __call__(self, market: str, ts_ms: int) -> Decimal | None: ...


class ConstantRate:
    """The same hourly rate for every market at every time.

    Args:
        rate_hourly: signed fraction per hour (0.0001 = 0.01 %/h, longs pay).
    """

    def __init__(self, rate_hourly: Decimal, *, label: str | None = None) -> None:
        self.rate_hourly = rate_hourly
        self.label = label or f"constant {rate_hourly}/h"

    def __call__(self, market: str, ts_ms: int) -> Decimal | None:
        return self.rate_hourly

    def change_points(self, market: str, start_ms: int, end_ms: int) -> list[int]:
        """Times in (start, end) where the rate changes: none."""
        return []


class SeriesRate:
    """A step function of time per market: `(ts_ms, rate_hourly)` points, each in force from its time until the
    next point. Before the first point the rate is None (unknown -> no funding).

    Args:
        series: `{market: [(ts_ms, rate_hourly), ...]}`; the key "*" applies to markets not listed.
        label: where the numbers come from (shown by the admin API).

    Raises:
        ValueError: a market's points are not in strictly increasing time order.
    """

    def __init__(self, series: Mapping[str, Sequence[tuple[int, Decimal]]], *, label: str = "series") -> None:
        self.label = label
        self._times: dict[str, list[int]] = {}
        self._rates: dict[str, list[Decimal]] = {}
        for market, points in series.items():
            times = [int(t) for t, _ in points]
            if any(b <= a for a, b in pairwise(times)):
                raise ValueError(f"funding series for {market}: timestamps must strictly increase")
            self._times[market] = times
            self._rates[market] = [rate for _, rate in points]

    def _key(self, market: str) -> str | None:
        if market in self._times:
            return market
        return "*" if "*" in self._times else None

    def __call__(self, market: str, ts_ms: int) -> Decimal | None:
        key = self._key(market)
        if key is None:
            return None
        i = bisect_right(self._times[key], ts_ms) - 1
        return self._rates[key][i] if i >= 0 else None

    def change_points(self, market: str, start_ms: int, end_ms: int) -> list[int]:
        """Point times strictly inside (start_ms, end_ms)."""
        key = self._key(market)
        if key is None:
            return []
        times = self._times[key]
        lo = bisect_right(times, start_ms)
        return [t for t in times[lo:] if t < end_ms]


class FundingHistoryReplay(SeriesRate):
    """Another venue's settled funding history replayed as a step series (e.g. `../shared/funding-history`).

    A settled row `(settlement_ts T, rate_raw r, interval_hours I)` covers the interval [T - I, T): the replay
    applies `r / I` per hour over it (`units.hourly_from_period`). `shift_ms` moves the whole history in time
    (e.g. so that it starts at the simulation's start). The label says what it is, e.g.
    "hyperliquid BTC settled history, replayed" – never the simulated venue's own data.

    Args:
        rows: `(settlement_ts_ms, rate_raw, interval_hours)` in any order.
        market: engine market key the rates are served for ("*" = every market).
    """

    def __init__(
        self,
        rows: Iterable[tuple[int, Decimal, Decimal]],
        *,
        market: str = "*",
        label: str,
        shift_ms: int = 0,
    ) -> None:
        points: list[tuple[int, Decimal]] = []
        for settle_ms, rate_raw, interval_hours in sorted(rows, key=lambda r: r[0]):
            start = settle_ms - int(interval_hours * _HOUR_MS_DEC) + shift_ms
            if points and start <= points[-1][0]:
                start = points[-1][0] + 1  # overlapping intervals: the later row wins from the next ms
            points.append((start, units.hourly_from_period(rate_raw, interval_hours)))
        super().__init__({market: points}, label=label)
        self.rows = len(points)

    @classmethod
    def from_parquet(
        cls,
        path: Path,
        *,
        venue_symbol: str,
        market: str = "*",
        shift_ms: int = 0,
        start_at_ms: int | None = None,
    ) -> FundingHistoryReplay:
        """Read one symbol of a funding-history parquet (`../shared/funding-history/SOURCES.md` schema:
        `venue`, `venue_symbol`, `settlement_ts`, `rate_raw` fraction per `interval_hours`).

        Args:
            start_at_ms: when given, shift the history so that its first interval starts at this time
                (overrides `shift_ms`).

        Settlement stamps are rounded to whole seconds (recorded ones jitter by a few ms: 05:00:00.055).

        Raises:
            ValueError: the symbol has no rows in the file.
            units.UnitError: a row's rate or interval is not a number / not positive.
        """
        import pyarrow.parquet as pq

        table = pq.read_table(
            path,
            columns=["venue", "venue_symbol", "settlement_ts", "rate_raw", "interval_hours"],
            filters=[("venue_symbol", "=", venue_symbol)],
        )
        rows: list[tuple[int, Decimal, Decimal]] = []
        venue = ""
        for rec in table.to_pylist():
            venue = str(rec["venue"])
            ts = rec["settlement_ts"]
            if isinstance(ts, datetime):
                aware = ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)
                ts_ms = round(aware.timestamp()) * 1000  # settlement stamps jitter by ms: whole seconds
            else:
                ts_ms = int(ts)
            rate = units.to_decimal(rec["rate_raw"], "rate_raw")
            interval = units.to_decimal(
                rec["interval_hours"], "interval_hours", allow_negative=False, allow_zero=False
            )
            rows.append((ts_ms, rate, interval))
        if not rows:
            raise ValueError(f"{path}: no funding rows for venue_symbol {venue_symbol!r}")
        if start_at_ms is not None:
            first = min(ts - int(interval * _HOUR_MS_DEC) for ts, _, interval in rows)
            shift_ms = start_at_ms - first
        label = f"{venue} {venue_symbol} settled funding history ({path.name}), replayed"
        return cls(rows, market=market, label=label, shift_ms=shift_ms)


class CallableRate:
    """Wraps a plain function `fn(market, ts_ms) -> Decimal | None` as a labelled provider (no change points:
    continuous accrual samples it at the engine's syncs)."""

    def __init__(self, fn: Callable[[str, int], Decimal | None], *, label: str) -> None:
        self._fn = fn
        self.label = label

    def __call__(self, market: str, ts_ms: int) -> Decimal | None:
        return self._fn(market, ts_ms)


def rate_at(provider: RateProvider, market: str, ts_ms: int) -> Decimal:
    """The provider's rate, 0 when it has none."""
    rate = provider(market, ts_ms)
    return rate if rate is not None else ZERO


def change_points(provider: RateProvider, market: str, start_ms: int, end_ms: int) -> list[int]:
    """The provider's rate changes strictly inside (start_ms, end_ms), [] when it cannot tell."""
    fn = getattr(provider, "change_points", None)
    return fn(market, start_ms, end_ms) if fn is not None else []


def settlement_payment(size: Decimal, mark: Decimal, rate_hourly: Decimal) -> Decimal:
    """Funding of one position at an hourly settlement (Lighter's formula): `-size x mark x rate_hourly` (USDC, rounded to 1e-12).

    Example: long 2 ETH, mark 3000, rate 0.0001/h -> -0.6 (the long pays 0.6 USDC).
    """
    return money(-size * mark * rate_hourly)


def accrue_index(
    index: Decimal, provider: RateProvider, market: str, mark: Decimal, start_ms: int, end_ms: int
) -> Decimal:
    """Funding index (Paradex's `funding_index`) after accruing over [start_ms, end_ms) at a constant `mark`.

    `index + sum over rate steps of mark x rate_hourly x dt_hours`, the steps taken at the provider's change
    points. Returns `index` unchanged when `end_ms <= start_ms`.
    """
    if end_ms <= start_ms:
        return index
    inner = change_points(provider, market, start_ms, end_ms)
    if not inner:
        rate = provider(market, start_ms)
        return index + mark * rate * (end_ms - start_ms) / _HOUR_MS_DEC if rate else index
    cuts = [start_ms, *inner, end_ms]
    acc = ZERO
    for a, b in pairwise(cuts):
        rate = rate_at(provider, market, a)
        if rate:
            acc += rate * (b - a)
    if not acc:
        return index
    return index + mark * acc / _HOUR_MS_DEC


def index_payment(size: Decimal, index_now: Decimal, index_then: Decimal) -> Decimal:
    """Funding of a position between two funding-index values (Paradex's formula): `-size x (index_now - index_then)` (USDC)."""
    return money(-size * (index_now - index_then))


@dataclass(frozen=True, slots=True)
class FundingPayment:
    """One funding cash flow of one account (Lighter `positionFunding` row, Paradex `funding/payments` row).

    Attributes:
        amount: USDC added to collateral (negative = paid).
        position_size: signed position the payment was computed on (base units).
        rate_hourly: the rate applied (SETTLE_EVERY_INTERVAL); for CONTINUOUS_INDEX the rate in force at
            realisation (reporting).
        mark_price: the mark used (SETTLE_EVERY_INTERVAL); None for CONTINUOUS_INDEX.
        index: the market's funding index at realisation (CONTINUOUS_INDEX); None for SETTLE_EVERY_INTERVAL.
        fill_id: the fill that triggered the realisation (CONTINUOUS_INDEX), None otherwise.
    """

    payment_id: int
    account_id: int
    market: str
    ts_ms: int
    amount: Decimal
    position_size: Decimal
    rate_hourly: Decimal
    mark_price: Decimal | None = None
    index: Decimal | None = None
    fill_id: int | None = None
