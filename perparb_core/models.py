"""Venue-neutral models produced by the funding adapters.

They are frozen dataclasses with slots rather than pydantic models: they sit on the collector's hot path
(hundreds per cycle) and are only ever built by this project's parsers, which validate every field and
reject bad rows with a `Rejection` (field, value, reason) before a model exists.

Units: rates are fractions per hour (`rate_hourly`), prices in quote currency (USD/USDC), sizes in base
units, `*_usd` in USD, periods in hours, timestamps timezone-aware UTC. See `perparb_core.units`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from enum import Enum
from typing import Any

from perparb_core import units

log = logging.getLogger("perparb.normalise")


class FundingKind(str, Enum):
    """`predicted`: the rate for the funding period in progress (current/next). `settled`: a paid rate."""

    PREDICTED = "predicted"
    SETTLED = "settled"


@dataclass(frozen=True, slots=True)
class MarketStats:
    """Market statistics at `ts`: mark and index price (quote), open interest and 24 h volume in USD."""

    mark_price: Decimal | None = None
    index_price: Decimal | None = None
    open_interest_usd: Decimal | None = None
    volume_24h_usd: Decimal | None = None
    ts: datetime | None = None


@dataclass(frozen=True, slots=True)
class MarketInfo:
    """A tradeable (or listed) perpetual market of one venue.

    Attributes:
        venue: "lighter" | "paradex" | ...
        venue_symbol: the venue's own name ("ETH", "BTC-USD-PERP").
        symbol: canonical base asset ("ETH", "BTC").
        venue_market_id: the venue's market identifier as text (Lighter's integer `market_id`, Paradex's symbol).
        quote: quote currency ("USD", "USDC").
        tick_size: price increment (quote units); size_step: size increment (base units).
        min_size: minimum order size (base); min_notional: minimum order notional (USD).
        max_leverage: maximum leverage (x); default_leverage: the leverage the venue applies to a new position
            when none was set (x), None when the venue does not say; funding_period_hours: the period the venue
            quotes rates for.
        maker_fee / taker_fee: fractions of notional (0.0002 = 2 bps), None when the venue does not say.
        status: "active" or the venue's status word.
        stats: market statistics observed with the metadata (may be empty).
    """

    venue: str
    venue_symbol: str
    symbol: str
    venue_market_id: str
    quote: str = "USD"
    tick_size: Decimal | None = None
    size_step: Decimal | None = None
    min_size: Decimal | None = None
    min_notional: Decimal | None = None
    max_leverage: Decimal | None = None
    funding_period_hours: Decimal = Decimal(1)
    default_leverage: Decimal | None = None
    maker_fee: Decimal | None = None
    taker_fee: Decimal | None = None
    status: str = "active"
    stats: MarketStats = field(default_factory=MarketStats)

    @property
    def is_active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True, slots=True)
class FundingRateSample:
    """One funding-rate observation, normalised.

    Attributes:
        venue, venue_symbol, symbol: as in `MarketInfo`.
        kind: predicted (current period) or settled (paid).
        ts: the time the rate refers to (venue timestamp when given, else collection time), UTC.
        raw_rate: the number as the venue sent it, in `raw_period_hours` units (Lighter `fundings`: signed
            percent per hour, see `raw_unit`).
        raw_period_hours: the period `raw_rate` is quoted for.
        rate_hourly: signed fraction per hour, positive when longs pay shorts. The canonical number.
        mark_price, index_price: quote units; open_interest_usd, volume_24h_usd: USD.
        source: the endpoint or channel it came from ("lighter:funding-rates").
    """

    venue: str
    venue_symbol: str
    symbol: str
    kind: FundingKind
    ts: datetime
    raw_rate: Decimal
    raw_period_hours: Decimal
    rate_hourly: Decimal
    mark_price: Decimal | None = None
    index_price: Decimal | None = None
    open_interest_usd: Decimal | None = None
    volume_24h_usd: Decimal | None = None
    source: str = ""

    @property
    def rate_8h(self) -> Decimal:
        return units.rate_8h(self.rate_hourly)

    @property
    def apr(self) -> Decimal:
        return units.apr(self.rate_hourly)


@dataclass(frozen=True, slots=True)
class ReferenceRate:
    """Another venue's funding rate as republished by a venue (Lighter's `funding-rates` rows for binance,
    bybit, hyperliquid). Never tradeable and never mixed with `FundingRateSample`s: stored apart.

    Attributes:
        source_venue: who published it ("lighter"); venue: whose rate it is ("binance").
        symbol: canonical base asset; raw_rate per `raw_period_hours`; rate_hourly: fraction per hour.
    """

    source_venue: str
    venue: str
    symbol: str
    ts: datetime
    raw_rate: Decimal
    raw_period_hours: Decimal
    rate_hourly: Decimal

    @property
    def apr(self) -> Decimal:
        return units.apr(self.rate_hourly)


@dataclass(frozen=True, slots=True)
class Rejection:
    """A payload row that was not stored, and why. Logged at WARNING when created via `reject`."""

    venue: str
    source: str
    venue_symbol: str | None
    field: str
    value: str
    reason: str

    def __str__(self) -> str:
        sym = f" {self.venue_symbol}" if self.venue_symbol else ""
        return f"{self.venue}{sym} [{self.source}] rejected: {self.field}={self.value}: {self.reason}"


def reject(
    venue: str, source: str, venue_symbol: str | None, field_name: str, value: Any, reason: str
) -> Rejection:
    """Build a `Rejection` and log it (WARNING) with its reason. Values are truncated to 80 characters."""
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    rej = Rejection(venue, source, venue_symbol, field_name, text, reason)
    log.warning("%s", rej)
    return rej


def reject_unit_error(venue: str, source: str, venue_symbol: str | None, exc: units.UnitError) -> Rejection:
    """`reject` from a `UnitError` raised while parsing a row."""
    return reject(venue, source, venue_symbol, exc.field, exc.value, exc.reason)


@dataclass(slots=True)
class MarketDataResult:
    """What `fetch_market_data` returns: the venue's markets and the rows it refused."""

    markets: list[MarketInfo] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


@dataclass(slots=True)
class FundingRatesResult:
    """What `fetch_funding_rates` / `fetch_funding_history` return."""

    samples: list[FundingRateSample] = field(default_factory=list)
    reference_rates: list[ReferenceRate] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


def utc_from_ms(ms: int | float) -> datetime:
    """Epoch milliseconds -> aware UTC datetime."""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def utc_from_s(s: int | float) -> datetime:
    """Epoch seconds -> aware UTC datetime."""
    return datetime.fromtimestamp(s, tz=timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
