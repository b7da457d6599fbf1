"""Pure parsers of Backpack's market and funding payloads: one per payload, decoded JSON in, models out.

A body whose top-level shape is unusable raises `BackpackDataError`; a bad ROW never raises: it becomes a
`Rejection` (logged at WARNING by `perparb_core.models.reject`, naming the field, value and reason) and the rest is
kept. Nothing is stored as zero for want of a value. Numbers are decimal strings on the wire; some recordings hold
JSON numbers (`fundingInterval`, `timestamp`, `nextFundingTimestamp`): both are read (`units.to_decimal`).

Units (../shared/reference/backpack_funding_units.md; recorded payloads in ../shared/venue-data/backpack/):

| payload                         | field                         | unit / rule                                          |
|---------------------------------|-------------------------------|------------------------------------------------------|
| `GET /api/v1/markets`           | `fundingInterval`             | ms (number or text): 3600000 = 1 h (every perp since 2025-08-20T08:00Z), 28800000 = 8 h before |
|                                 | `fundingRateUpperBound` / `LowerBound` | BASIS POINTS per interval ("100" = 1 %): cap / floor = bps / 10000 |
|                                 | `filters.price.tickSize`, `filters.quantity.stepSize` / `minQuantity` | quote / base units |
|                                 | `imfFunction.base`            | initial margin fraction at small size: max leverage = 1 / base |
| `GET /api/v1/markPrices`        | `fundingRate`                 | fraction per the market's `fundingInterval` (running estimate of the interval in progress); rate_hourly = raw / interval hours |
|                                 | `markPrice`, `indexPrice`     | USD(C)                                               |
| `GET /api/v1/fundingRates`      | `fundingRate`                 | fraction per the interval ENDING at `intervalEndTimestamp` (ISO, no zone = UTC); newest first; 8 h when the end is at or before 2025-08-20T08:00Z, else 1 h. The FIRST row can be the interval still IN PROGRESS (end after now): it is not settled and is skipped |
| `GET /api/v1/openInterest`      | `openInterest`                | BASE units (x mark -> USD)                           |
| `GET /api/v1/tickers`           | `quoteVolume`                 | USDC over 24 h                                       |
| WS `markPrice.<symbol>`         | `f`, `p`, `i`, `n`, `E`       | as markPrices; `n` ms, `E`/`T` µs                    |

Sign: positive = longs pay shorts ("If positive, longs pay shorts", support.backpack.exchange futures fees, quoted
by the reference notes). A published rate beyond the market's cap / floor cannot be the venue's (the formula clamps
it): such a row is rejected as a unit error rather than stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar

from exchange_clients.backpack.common import VENUE, BackpackDataError, is_perp_symbol, normalize_symbol
from perparb_core import units
from perparb_core.models import (
    FundingKind,
    FundingRateSample,
    FundingRatesResult,
    MarketInfo,
    MarketStats,
    Rejection,
    reject,
    reject_unit_error,
)
from perparb_core.units import UnitError

log = logging.getLogger("perparb.backpack")
T = TypeVar("T")

SOURCE_MARKETS = "backpack:markets"
SOURCE_MARK_PRICES = "backpack:markPrices"
SOURCE_FUNDING_RATES = "backpack:fundingRates"
SOURCE_FUNDING_RATES_8H = "backpack:fundingRates:8h"
SOURCE_WS_MARK_PRICE = "backpack:ws:markPrice"

HOURLY_PERIOD = Decimal(1)
LEGACY_PERIOD_HOURS = Decimal(8)
HOURLY_SINCE = datetime(2025, 8, 20, 8, tzinfo=timezone.utc)
"""Hourly funding on every perp from 2025-08-20 08:00 UTC (learn.backpack.exchange "hourly funding and real-time
yield": "Starting August 20th, 2025 at 08:00 UTC ... hourly funding"). A `fundingRates` row whose interval ENDS at
or before this instant is an 8-hour interval (00/08/16 UTC); the first hourly interval ends at 09:00."""


# ------------------------------------------------------------------------------------------------ helpers


def parse_utc(value: Any, name: str) -> datetime:
    """Backpack's zone-less ISO time ("2025-09-11T12:00:00", "2025-08-13T17:26:01.197"; UTC) or epoch ms (number
    or digits) -> aware UTC datetime.

    Raises:
        UnitError: missing or unreadable.
    """
    if isinstance(value, str) and value.strip() and not value.strip().isdigit():
        text = value.strip().replace("Z", "+00:00")
        try:
            ts = datetime.fromisoformat(text)
        except ValueError:
            raise UnitError(name, value, "not an ISO time") from None
        return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)
    ms = units.to_decimal(value, name, allow_negative=False, allow_zero=False)
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=int(ms))


def settled_period_hours(interval_end: datetime) -> Decimal:
    """The interval a settled `fundingRate` ending at `interval_end` covers: 8 h at or before 2025-08-20T08:00Z,
    else 1 h."""
    return LEGACY_PERIOD_HOURS if interval_end <= HOURLY_SINCE else HOURLY_PERIOD


def _leverage(imf_base: Decimal | None) -> Decimal | None:
    """1 / imfFunction.base, as an integer when it is one (0.02 -> 50)."""
    if not imf_base:
        return None
    lev = 1 / imf_base
    return Decimal(int(lev)) if lev == lev.to_integral_value() else lev


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str_field(row: Mapping[str, Any], name: str) -> str:
    value = row.get(name)
    if not isinstance(value, str) or not value.strip():
        raise UnitError(name, value, "missing" if value in (None, "") else "not a non-empty string")
    return value.strip()


def _price(row: Mapping[str, Any], name: str) -> Decimal | None:
    """A price: None when absent, null or ""; > 0 when present (0 is not a price)."""
    value = row.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return units.to_decimal(value, name, allow_negative=False, allow_zero=False)


def _try(
    rejections: list[Rejection], source: str, market: str, read: Callable[..., T], *args: Any, **kwargs: Any
) -> T | None:
    """`read(*args, **kwargs)`; on a `UnitError` record the rejection of that field and give None."""
    try:
        return read(*args, **kwargs)
    except UnitError as exc:
        rejections.append(reject_unit_error(VENUE, source, market, exc))
        return None


def _list_body(body: Any, what: str) -> list[Any]:
    if not isinstance(body, list):
        raise BackpackDataError(f"{what}: body is {type(body).__name__}, expected a list")
    return body


# ------------------------------------------------------------------------------------------------ markets


@dataclass(frozen=True, slots=True)
class RateBounds:
    """A market's funding cap and floor, fractions per funding interval (`fundingRateUpperBound` / `LowerBound`
    in basis points / 10000); None when the venue gives none."""

    floor: Decimal | None
    cap: Decimal | None

    def violation(self, raw: Decimal) -> str | None:
        """Why `raw` (fraction per interval) cannot be a published rate, or None when it lies within the bounds."""
        if self.cap is not None and raw > self.cap:
            return f"above the market's cap {self.cap} per interval (fundingRateUpperBound in bps)"
        if self.floor is not None and raw < self.floor:
            return f"below the market's floor {self.floor} per interval (fundingRateLowerBound in bps)"
        return None


@dataclass(slots=True)
class MarketsResult:
    """`parse_markets`'s output: perps (no stats yet), their rate bounds, rejections."""

    markets: list[MarketInfo] = field(default_factory=list)
    bounds: dict[str, RateBounds] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)


def _bps(row: Mapping[str, Any], name: str) -> Decimal | None:
    value = units.optional_decimal(row.get(name), name)
    return None if value is None else units.fraction_from_bps(value)


def parse_markets(body: Any) -> MarketsResult:
    """Parse `GET /api/v1/markets` into the PERP markets.

    Input: `[{symbol, baseSymbol, quoteSymbol, marketType, orderBookState, fundingInterval (ms, number or text),
    fundingRateUpperBound, fundingRateLowerBound (bps), filters{price{tickSize}, quantity{stepSize, minQuantity,
    maxQuantity}}, imfFunction{base, factor, type}, mmfFunction, openInterestLimit, visible?}]`
    (venue-data/backpack/rest_markets_SOL_spot_and_perp_2025.json: SPOT rows are skipped;
    rest_markets_SOL_USDC_PERP_hourly_fixture.json).

    Per perp: `venue_symbol` = `symbol`, `symbol` = `normalize_symbol` ("SOL"), `venue_market_id` = `symbol`,
    `quote` = `quoteSymbol`, tick / step / min size from the filters, `max_leverage` = 1 / `imfFunction.base`
    (None without one), `funding_period_hours` = `fundingInterval` / 3600000, `status` "active" when
    `orderBookState` is "Open" (else the state lower-cased, e.g. "closed", "postonly"); fees None (the spec's
    `FeeSchedule`). Bounds: `fundingRateUpperBound` / `LowerBound` / 10000 (fractions per interval).

    Rejections (market dropped, field named): not an object, no symbol, a perp without a usable
    `fundingInterval`, tick or step; a duplicate symbol. A bad `minQuantity`, `imfFunction` or bound drops only
    that field.

    Raises:
        BackpackDataError: the body is not a list.
    """
    src = SOURCE_MARKETS
    result = MarketsResult()
    seen: set[str] = set()
    for i, row in enumerate(_list_body(body, "GET /api/v1/markets")):
        if not isinstance(row, dict):
            result.rejections.append(reject(VENUE, src, None, f"[{i}]", row, "row is not an object"))
            continue
        label = row.get("symbol") if isinstance(row.get("symbol"), str) else f"[{i}]"
        market_type = row.get("marketType")
        if market_type is not None and market_type != "PERP":
            continue
        try:
            name = _str_field(row, "symbol")
            if market_type is None and not is_perp_symbol(name):
                continue
            symbol = normalize_symbol(name)
            hours = units.hours_from_ms(row.get("fundingInterval"), "fundingInterval")
            filters = _object(row.get("filters"))
            price_f, qty_f = _object(filters.get("price")), _object(filters.get("quantity"))
            tick = units.to_decimal(
                price_f.get("tickSize"), "filters.price.tickSize", allow_negative=False, allow_zero=False
            )
            step = units.to_decimal(
                qty_f.get("stepSize"), "filters.quantity.stepSize", allow_negative=False, allow_zero=False
            )
        except UnitError as exc:
            result.rejections.append(reject_unit_error(VENUE, src, label, exc))
            continue
        if name in seen:
            result.rejections.append(reject(VENUE, src, name, "symbol", name, "duplicate market"))
            continue
        seen.add(name)
        rej = result.rejections
        min_size = _try(
            rej,
            src,
            name,
            units.optional_decimal,
            qty_f.get("minQuantity"),
            "filters.quantity.minQuantity",
            allow_negative=False,
        )
        imf = row.get("imfFunction")
        imf_base = (
            _try(
                rej,
                src,
                name,
                units.to_decimal,
                imf.get("base"),
                "imfFunction.base",
                allow_negative=False,
                allow_zero=False,
            )
            if isinstance(imf, dict)
            else None
        )
        floor = _try(rej, src, name, _bps, row, "fundingRateLowerBound")
        cap = _try(rej, src, name, _bps, row, "fundingRateUpperBound")
        state = row.get("orderBookState")
        status = "active" if state in (None, "Open") else str(state).lower()
        quote_value = row.get("quoteSymbol")
        quote = quote_value if isinstance(quote_value, str) else "USDC"
        result.markets.append(
            MarketInfo(
                venue=VENUE,
                venue_symbol=name,
                symbol=symbol,
                venue_market_id=name,
                quote=quote,
                tick_size=tick,
                size_step=step,
                min_size=min_size,
                max_leverage=_leverage(imf_base),
                funding_period_hours=hours,
                status=status,
            )
        )
        result.bounds[name] = RateBounds(floor=floor, cap=cap)
    return result


# ------------------------------------------------------------------------------------------------ stats


def parse_open_interest(body: Any) -> tuple[dict[str, Decimal], list[Rejection]]:
    """`GET /api/v1/openInterest` (an array even for one symbol) -> symbol -> open interest in BASE units.

    Input: `[{symbol, openInterest, timestamp}]` (venue-data/backpack/rest_openInterest_*.json; `timestamp` a
    number or text). A row without a usable `openInterest` is rejected.

    Raises:
        BackpackDataError: the body is not a list.
    """
    out: dict[str, Decimal] = {}
    rejections: list[Rejection] = []
    for row in _list_body(body, "GET /api/v1/openInterest"):
        if not isinstance(row, dict) or not isinstance(row.get("symbol"), str):
            rejections.append(reject(VENUE, "backpack:openInterest", None, "row", row, "no symbol"))
            continue
        value = _try(
            rejections,
            "backpack:openInterest",
            row["symbol"],
            units.to_decimal,
            row.get("openInterest"),
            "openInterest",
            allow_negative=False,
        )
        if value is not None:
            out[row["symbol"]] = value
    return out, rejections


def parse_tickers(body: Any) -> tuple[dict[str, Decimal], list[Rejection]]:
    """`GET /api/v1/tickers` -> symbol -> 24 h volume in quote (USDC) = `quoteVolume`.

    Input: `[{symbol, firstPrice, lastPrice, high, low, volume (base), quoteVolume, trades, priceChange,
    priceChangePercent (a FRACTION)}]` (venue-data/backpack/rest_tickers_2025-08_fragment.json).

    Raises:
        BackpackDataError: the body is not a list.
    """
    out: dict[str, Decimal] = {}
    rejections: list[Rejection] = []
    for row in _list_body(body, "GET /api/v1/tickers"):
        if not isinstance(row, dict) or not isinstance(row.get("symbol"), str):
            rejections.append(reject(VENUE, "backpack:tickers", None, "row", row, "no symbol"))
            continue
        value = _try(
            rejections,
            "backpack:tickers",
            row["symbol"],
            units.to_decimal,
            row.get("quoteVolume"),
            "quoteVolume",
            allow_negative=False,
        )
        if value is not None:
            out[row["symbol"]] = value
    return out, rejections


@dataclass(frozen=True, slots=True)
class MarkRow:
    """One `markPrices` element, parsed: the raw rate per interval, prices, next funding time."""

    symbol: str
    funding_rate: Decimal | None
    mark_price: Decimal | None
    index_price: Decimal | None
    next_funding: datetime | None


def parse_mark_prices(body: Any) -> tuple[dict[str, MarkRow], list[Rejection]]:
    """`GET /api/v1/markPrices` (always an array; a single object is accepted too, as in the ccxt comment
    venue-data/backpack/rest_markPrices_BTC_USDC_PERP_2025-07-21_8h_era.json) -> symbol -> `MarkRow`.

    Input: `[{symbol, fundingRate, markPrice, indexPrice, nextFundingTimestamp (ms)}]`. A bad `fundingRate` /
    price / time is rejected (that field None, the row kept).

    Raises:
        BackpackDataError: neither a list nor an object.
    """
    rows = [body] if isinstance(body, dict) else _list_body(body, "GET /api/v1/markPrices")
    out: dict[str, MarkRow] = {}
    rejections: list[Rejection] = []
    src = SOURCE_MARK_PRICES
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("symbol"), str):
            rejections.append(reject(VENUE, src, None, "row", row, "no symbol"))
            continue
        name = row["symbol"]
        nxt = row.get("nextFundingTimestamp")
        out[name] = MarkRow(
            symbol=name,
            funding_rate=_try(rejections, src, name, units.to_decimal, row.get("fundingRate"), "fundingRate"),
            mark_price=_try(rejections, src, name, _price, row, "markPrice"),
            index_price=_try(rejections, src, name, _price, row, "indexPrice"),
            next_funding=None
            if nxt is None
            else _try(rejections, src, name, parse_utc, nxt, "nextFundingTimestamp"),
        )
    return out, rejections


def with_stats(
    markets: list[MarketInfo],
    marks: Mapping[str, MarkRow],
    open_interest: Mapping[str, Decimal],
    volumes: Mapping[str, Decimal],
    now: datetime,
) -> list[MarketInfo]:
    """Markets with `MarketStats`: mark and index from `markPrices`, open interest (base) x mark in USD, 24 h
    quote volume, ts = `now`. A market missing from a body keeps that stat None (never zero)."""
    out = []
    for m in markets:
        mark_row = marks.get(m.venue_symbol)
        mark = mark_row.mark_price if mark_row else None
        oi = open_interest.get(m.venue_symbol)
        stats = MarketStats(
            mark_price=mark,
            index_price=mark_row.index_price if mark_row else None,
            open_interest_usd=oi * mark if oi is not None and mark is not None else None,
            volume_24h_usd=volumes.get(m.venue_symbol),
            ts=now,
        )
        out.append(replace(m, stats=stats))
    return out


# ------------------------------------------------------------------------------------------------ current rates


def predicted_sample(
    market: MarketInfo, raw: Decimal, ts: datetime, source: str, stats: MarketStats | None = None
) -> FundingRateSample:
    """A PREDICTED sample of `market`: `raw` is a fraction per the market's funding interval
    (`funding_period_hours`), rate_hourly = raw / interval hours."""
    s = stats or market.stats
    period = market.funding_period_hours
    return FundingRateSample(
        venue=market.venue,
        venue_symbol=market.venue_symbol,
        symbol=market.symbol,
        kind=FundingKind.PREDICTED,
        ts=ts,
        raw_rate=raw,
        raw_period_hours=period,
        rate_hourly=units.hourly_from_period(raw, period),
        mark_price=s.mark_price,
        index_price=s.index_price,
        open_interest_usd=s.open_interest_usd,
        volume_24h_usd=s.volume_24h_usd,
        source=source,
    )


def predicted_from_marks(
    markets: list[MarketInfo],
    marks: Mapping[str, MarkRow],
    bounds: Mapping[str, RateBounds],
    now: datetime,
) -> FundingRatesResult:
    """One PREDICTED sample per active market with a `markPrices` rate: raw = `fundingRate` (per the market's
    `fundingInterval`), rate_hourly = raw / interval hours; mark / index from `markPrices`, open interest and
    volume from the market's stats. A market without a markPrices row, or whose rate lies beyond its cap / floor,
    is rejected."""
    result = FundingRatesResult()
    for m in markets:
        if not m.is_active:
            continue
        row = marks.get(m.venue_symbol)
        if row is None or row.funding_rate is None:
            result.rejections.append(
                reject(VENUE, SOURCE_MARK_PRICES, m.venue_symbol, "fundingRate", None, "no markPrices rate")
            )
            continue
        why = bounds.get(m.venue_symbol, RateBounds(None, None)).violation(row.funding_rate)
        if why is not None:
            result.rejections.append(
                reject(VENUE, SOURCE_MARK_PRICES, m.venue_symbol, "fundingRate", row.funding_rate, why)
            )
            continue
        stats = replace(
            m.stats,
            mark_price=row.mark_price or m.stats.mark_price,
            index_price=row.index_price or m.stats.index_price,
        )
        result.samples.append(predicted_sample(m, row.funding_rate, now, SOURCE_MARK_PRICES, stats))
    return result


# ------------------------------------------------------------------------------------------------ history


def parse_funding_rates(body: Any, market: MarketInfo, *, now: datetime) -> FundingRatesResult:
    """Parse `GET /api/v1/fundingRates?symbol=&limit=&offset=` into SETTLED samples, oldest first.

    Input: `[{symbol, fundingRate, intervalEndTimestamp}]`, NEWEST first
    (venue-data/backpack/rest_fundingRates_ETH_USDC_PERP_limit3_2025-09-11.json, hourly;
    ..._BTC_USDC_PERP_2025-07-22_8h_era_fragment.json, per 8 h; ..._2026-09-23_in_progress.json, whose first row
    is the interval still in progress).

    Per row: ts = `intervalEndTimestamp` (UTC; the settlement instant); period = 8 h when ts <= 2025-08-20T08:00Z
    (source "backpack:fundingRates:8h"), else 1 h (source "backpack:fundingRates"); raw_rate = `fundingRate`,
    rate_hourly = raw / period. A row whose interval ends AFTER `now` is the interval in progress: its rate is a
    running estimate, not a settled one, and it is skipped (not a rejection; the predicted rate is read from
    `markPrices`).

    Rejections (row dropped, field named): not an object, a `symbol` of another market, a missing / "" /
    non-numeric `fundingRate`, an unreadable `intervalEndTimestamp`, a second row for the same interval.

    Raises:
        BackpackDataError: the body is not a list.
    """
    rows = _list_body(body, f"GET /api/v1/fundingRates {market.venue_symbol}")
    result = FundingRatesResult()
    seen: set[datetime] = set()
    name = market.venue_symbol
    for i, row in enumerate(rows):
        src = SOURCE_FUNDING_RATES
        if not isinstance(row, dict):
            result.rejections.append(reject(VENUE, src, name, f"[{i}]", row, "row is not an object"))
            continue
        try:
            if row.get("symbol") not in (None, name):
                raise UnitError("symbol", row.get("symbol"), f"row of another market than {name}")
            raw = units.to_decimal(row.get("fundingRate"), "fundingRate")
            end = parse_utc(row.get("intervalEndTimestamp"), "intervalEndTimestamp")
        except UnitError as exc:
            result.rejections.append(reject_unit_error(VENUE, src, name, exc))
            continue
        if end > now:
            log.debug("%s %s: interval ending %s is in progress; not settled", VENUE, name, end)
            continue
        period = settled_period_hours(end)
        if period != HOURLY_PERIOD:
            src = SOURCE_FUNDING_RATES_8H
        if end in seen:
            result.rejections.append(
                reject(
                    VENUE,
                    src,
                    name,
                    "intervalEndTimestamp",
                    row.get("intervalEndTimestamp"),
                    "second row for this interval",
                )
            )
            continue
        seen.add(end)
        result.samples.append(
            FundingRateSample(
                venue=VENUE,
                venue_symbol=name,
                symbol=market.symbol,
                kind=FundingKind.SETTLED,
                ts=end,
                raw_rate=raw,
                raw_period_hours=period,
                rate_hourly=units.hourly_from_period(raw, period),
                source=src,
            )
        )
    result.samples.sort(key=lambda s: s.ts)
    return result


# ------------------------------------------------------------------------------------------------ WebSocket


def parse_ws_mark_price(frame: Any, market: MarketInfo, now: datetime) -> FundingRatesResult:
    """A WS `markPrice.<symbol>` push -> one PREDICTED sample (source "backpack:ws:markPrice").

    Input: `{"stream": "markPrice.<symbol>", "data": {e: "markPrice", E (µs), T (µs), s, p (mark), i (index),
    f (fraction per the market's interval), n (next funding, ms)}}` or the bare `data`
    (venue-data/backpack/ws_markPrice_AAPL_US_USDC_PERP_2026-09.json, ws_markPrice_SOL_USDC_PERP_2025-05_data.json).
    ts = `E` (µs) when readable, else `now`. Open interest and volume come from `market.stats`.

    Rejections: a symbol other than `market.venue_symbol`, a bad `f` (no sample); a bad price (None).

    Raises:
        BackpackDataError: not a markPrice frame.
    """
    data = frame.get("data") if isinstance(frame, dict) and "data" in frame else frame
    if not isinstance(data, dict) or data.get("e") != "markPrice":
        raise BackpackDataError(f"{SOURCE_WS_MARK_PRICE}: not a markPrice frame")
    result = FundingRatesResult()
    src, name = SOURCE_WS_MARK_PRICE, market.venue_symbol
    if data.get("s") != name:
        result.rejections.append(reject(VENUE, src, name, "s", data.get("s"), "another market"))
        return result
    rej = result.rejections
    ts = now
    event = data.get("E")
    if event is not None:
        micros = _try(rej, src, name, units.to_decimal, event, "E", allow_negative=False, allow_zero=False)
        if micros is not None:
            ts = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=int(micros))
    stats = replace(
        market.stats,
        mark_price=_try(rej, src, name, _price, data, "p"),
        index_price=_try(rej, src, name, _price, data, "i"),
        ts=ts,
    )
    raw = _try(rej, src, name, units.to_decimal, data.get("f"), "f")
    if raw is not None:
        result.samples.append(predicted_sample(market, raw, ts, src, stats))
    return result
