"""Pure parsers for Paradex market and funding payloads: one per payload, no I/O.

Every parser takes the decoded JSON body (or WebSocket frame) and returns this project's models. A body
whose envelope is unusable (not an object, `results` missing or not a list, a frame that is not a
`subscription` push of the expected channel) raises `ParadexDataError`; a bad *row* never raises: it becomes
a `Rejection` (logged at WARNING with the field, value and reason) while the rest of the payload is kept.
Nothing is stored as zero for want of a value.

Units (DESIGN.md "Units", PROTOCOL_NOTES §2.2 and §2.4, OpenAPI `responses.MarketSummaryResp` /
`responses.FundingDataResult`):

| field                                                       | unit                                   |
|-------------------------------------------------------------|----------------------------------------|
| `markets/summary.funding_rate`, `funding/data.funding_rate` | fraction per market `funding_period_hours` |
| `funding/data.funding_rate_8h`                              | fraction per 8 h (cross-check only)    |
| `mark_price`, `underlying_price` (spot = index)             | USD                                    |
| `open_interest`                                             | base units (× mark price -> USD)       |
| `volume_24h`                                                | USD                                    |
| `price_tick_size` / `order_size_increment` / `min_notional` | USD / base / USD                       |
| `fee_config.api_fee.{maker,taker}_fee.fee`                  | fraction of notional                   |
| `created_at`, `open_at`, `expiry_at`                        | epoch milliseconds                     |

Instruments: `GET /markets` and `GET /markets/summary?market=ALL` also list options, perp options and spot
(OpenAPI `responses.AssetKind`). Only perpetuals are markets of interest: `markets` rows with an `asset_kind`
other than "PERP", and summary / funding rows whose symbol does not end in "-PERP" (e.g. "BTC-USD-100000-C"),
are skipped silently (counted at DEBUG), because `market=ALL` returns hundreds of them every cycle and they
are not errors. A "-PERP" row for a market missing from `markets_by_symbol` is rejected ("unknown market").
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from exchange_clients.paradex.common import VENUE, ParadexDataError, is_perp_symbol, normalize_symbol
from perparb_core import units
from perparb_core.models import (
    FundingKind,
    FundingRateSample,
    FundingRatesResult,
    MarketDataResult,
    MarketInfo,
    MarketStats,
    Rejection,
    reject,
    reject_unit_error,
)
from perparb_core.units import UnitError

log = logging.getLogger("perparb.paradex")

SOURCE_MARKETS = "paradex:markets"
SOURCE_SUMMARY = "paradex:markets/summary"
SOURCE_FUNDING_DATA = "paradex:funding/data"
SOURCE_WS_FUNDING_DATA = "paradex:ws:funding_data"
SOURCE_WS_SUMMARY = "paradex:ws:markets_summary"

DEFAULT_FUNDING_PERIOD_HOURS = Decimal(8)
"""Paradex's documented default funding period (PROTOCOL_NOTES §2.2 "funding_period_hours (8 default; some
1/24)", §2.4 "default 8"); used when a `markets` row has no `funding_period_hours` (the 2024 recordings)."""

RATE_8H_ABS_TOLERANCE = Decimal("1e-8")
RATE_8H_REL_TOLERANCE = Decimal("1e-6")
"""`funding_rate_8h` is published truncated to 8 decimals (recorded: 0.00007172918481 -> "0.00007172";
1 h market 0.0000125 -> "0.00010001", PROTOCOL_NOTES §2.4), so it agrees with `funding_rate × 8 / period`
only to about 1e-8 absolute. A larger difference is logged at WARNING; the row is kept."""

STATUS_ACTIVE = "active"
STATUS_EXPIRED = "expired"
STATUS_NOT_OPEN = "not_open"

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_HOUR_MS = 3_600_000


# -------------------- helpers


def utc_from_epoch_ms(ms: int) -> datetime:
    """Epoch milliseconds -> aware UTC datetime, exactly (no float rounding)."""
    return _EPOCH + timedelta(milliseconds=ms)


def epoch_ms(ts: datetime) -> int:
    """Aware datetime -> epoch milliseconds (floor).

    Raises:
        ValueError: for a naive datetime.
    """
    if ts.tzinfo is None:
        raise ValueError(f"{VENUE}: naive datetime {ts!r}; pass an aware UTC datetime")
    delta = ts - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def results_of(body: Any, what: str, market: str | None = None) -> list[Any]:
    """The `results` list of a Paradex REST body (`{"results": [...], ...}`).

    Raises:
        ParadexDataError: body not an object, or `results` missing / not a list.
    """
    if not isinstance(body, dict):
        raise ParadexDataError(f"{what}: expected a JSON object, got {type(body).__name__}", market)
    rows = body.get("results")
    if not isinstance(rows, list):
        raise ParadexDataError(f"{what}: 'results' missing or not a list (got {type(rows).__name__})", market)
    return rows


def _epoch_ms_field(value: Any, field_name: str) -> int:
    """A millisecond timestamp (int, or an integral float/str) >= 0.

    Raises:
        UnitError: missing, not a number, negative or fractional.
    """
    dec = units.to_decimal(value, field_name, allow_negative=False)
    if dec != dec.to_integral_value():
        raise UnitError(field_name, value, "epoch milliseconds must be an integer")
    return int(dec)


def _optional_positive(value: Any, field_name: str) -> Decimal | None:
    """None / "" -> None; otherwise a finite number > 0.

    Raises:
        UnitError: present but not a number, zero or negative.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return units.to_decimal(value, field_name, allow_negative=False, allow_zero=False)


def _as_object(value: Any, field_name: str) -> dict[str, Any] | None:
    """None -> None; a dict -> itself.

    Raises:
        UnitError: anything else.
    """
    if value is None:
        return None
    if not isinstance(value, dict):
        raise UnitError(field_name, value, "expected an object")
    return value


def _row_symbol(row: Any, source: str, key: str, out: list[Rejection]) -> str | None:
    """The symbol of a row, or None after recording a rejection (row not an object / symbol missing)."""
    if not isinstance(row, dict):
        out.append(reject(VENUE, source, None, "results[]", row, "row is not an object"))
        return None
    symbol = row.get(key)
    if not isinstance(symbol, str) or not symbol.strip():
        out.append(reject(VENUE, source, None, key, symbol, "missing or not a non-empty string"))
        return None
    return symbol.strip()


def _integral(value: Decimal) -> Decimal:
    """50E0-style decimals from a division shown as plain integers when integral (Decimal('5E+1') -> 50)."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value


# -------------------- markets


def _funding_period(row: Mapping[str, Any]) -> Decimal:
    """`funding_period_hours` of a `markets` row: absent or null -> 8 (documented default); present -> a
    number > 0.

    Raises:
        UnitError: present but 0, "", negative, NaN or not a number.
    """
    value = row.get("funding_period_hours")
    if value is None:
        return DEFAULT_FUNDING_PERIOD_HOURS
    return units.to_decimal(value, "funding_period_hours", allow_negative=False, allow_zero=False)


def _fees(row: Mapping[str, Any]) -> tuple[Decimal | None, Decimal | None]:
    """(maker, taker) from `fee_config.api_fee.{maker_fee,taker_fee}.fee` (fractions of notional; maker may
    be negative, a rebate). A missing level gives None (the cost model then uses its default).
    Source: venue-data/paradex/rest_markets_fee_config.json (maker "0.000075", taker "0.000125"); OpenAPI
    `responses.MarketFeeConfig` ("override fee for the market. If not set, it will use the global exchange
    fee config").

    Raises:
        UnitError: a present level that is not an object, or a present fee that is not a finite number.
    """
    fee_config = _as_object(row.get("fee_config"), "fee_config")
    api_fee = _as_object(fee_config.get("api_fee"), "fee_config.api_fee") if fee_config else None
    out: list[Decimal | None] = []
    for side in ("maker_fee", "taker_fee"):
        name = f"fee_config.api_fee.{side}"
        level = _as_object(api_fee.get(side), name) if api_fee else None
        out.append(units.optional_decimal(level.get("fee"), f"{name}.fee") if level else None)
    return out[0], out[1]


def _max_leverage(row: Mapping[str, Any]) -> Decimal | None:
    """1 / `delta1_cross_margin_params.imf_base` (imf_base 0.02 -> 50x), None when absent.

    `imf_base` is the "Initial Margin Base" (OpenAPI `responses.Delta1CrossMarginParams`; `imf_factor` is
    documented as "always 0" and `imf_shift` as "unused"), i.e. the initial margin fraction at the smallest
    position size, so its inverse is the market's maximum leverage. Older markets (the 2024 recording:
    imf_factor 0.00007, imf_shift 180000) raise the margin above a size threshold: the maximum then applies
    to positions below it. PROTOCOL_NOTES §2.2.

    Raises:
        UnitError: present but not a number > 0.
    """
    params = _as_object(row.get("delta1_cross_margin_params"), "delta1_cross_margin_params")
    if not params:
        return None
    imf_base = _optional_positive(params.get("imf_base"), "delta1_cross_margin_params.imf_base")
    if imf_base is None:
        return None
    return _integral(Decimal(1) / imf_base)


def _status(row: Mapping[str, Any], now_ms: int) -> str:
    """ "expired" when `expiry_at` > 0 and not in the future, "not_open" when `open_at` is in the future,
    else "active". Perpetuals have `expiry_at` 0 (OpenAPI `responses.MarketResp.expiry_at` example 0).

    Raises:
        UnitError: `open_at` / `expiry_at` present but not a non-negative integer.
    """
    expiry_raw = row.get("expiry_at")
    open_raw = row.get("open_at")
    expiry_at = 0 if expiry_raw is None else _epoch_ms_field(expiry_raw, "expiry_at")
    open_at = 0 if open_raw is None else _epoch_ms_field(open_raw, "open_at")
    if expiry_at > 0 and expiry_at <= now_ms:
        return STATUS_EXPIRED
    if open_at > now_ms:
        return STATUS_NOT_OPEN
    return STATUS_ACTIVE


def _market_from_row(row: Mapping[str, Any], symbol: str, now_ms: int) -> MarketInfo:
    """One `GET /markets` PERP row -> `MarketInfo` (no stats). Raises `UnitError` naming the bad field."""
    quote = row.get("quote_currency")
    maker_fee, taker_fee = _fees(row)
    return MarketInfo(
        venue=VENUE,
        venue_symbol=symbol,
        symbol=normalize_symbol(symbol),
        venue_market_id=symbol,
        quote=quote.strip().upper() if isinstance(quote, str) and quote.strip() else "USD",
        tick_size=_optional_positive(row.get("price_tick_size"), "price_tick_size"),
        size_step=_optional_positive(row.get("order_size_increment"), "order_size_increment"),
        min_size=None,
        min_notional=units.optional_decimal(row.get("min_notional"), "min_notional", allow_negative=False),
        max_leverage=_max_leverage(row),
        funding_period_hours=_funding_period(row),
        maker_fee=maker_fee,
        taker_fee=taker_fee,
        status=_status(row, now_ms),
    )


def parse_markets(body: Any, now: datetime) -> MarketDataResult:
    """`GET /v1/markets` -> perpetual markets.

    Input: `{"results": [MarketResp, ...]}` (OpenAPI `responses.MarketResp`; recorded
    venue-data/paradex/rest_markets_btc.json and rest_markets_fee_config.json).

    Per row (`asset_kind == "PERP"` only; other kinds skipped silently; a missing `asset_kind` is rejected):
      * venue_symbol = venue_market_id = `symbol`; symbol = `normalize_symbol` ("BTC-USD-PERP" -> "BTC");
        quote = `quote_currency` (default "USD").
      * tick_size = `price_tick_size` (USD), size_step = `order_size_increment` (base), both > 0 when given;
        min_notional = `min_notional` (USD, >= 0); min_size None (Paradex publishes no minimum size, only the
        minimum notional).
      * funding_period_hours = `funding_period_hours`; absent/null -> 8 (documented default; the 2024
        recordings lack it); present but 0, "", negative or not a number -> the row is rejected.
      * maker_fee / taker_fee = `fee_config.api_fee.maker_fee.fee` / `.taker_fee.fee` (fractions), else None.
      * max_leverage = 1 / `delta1_cross_margin_params.imf_base` (0.02 -> 50), else None.
      * status: "expired" if `expiry_at` > 0 and <= now, "not_open" if `open_at` > now, else "active".
    A present field that cannot be read rejects the row with that field named; duplicates of a symbol are
    rejected after the first.

    Args:
        body: the decoded JSON body.
        now: the collection time (aware UTC), for `status`.

    Raises:
        ParadexDataError: body not an object or `results` not a list.
    """
    rows = results_of(body, "GET /markets")
    out = MarketDataResult()
    now_ms = epoch_ms(now)
    seen: set[str] = set()
    skipped = 0
    for row in rows:
        symbol = _row_symbol(row, SOURCE_MARKETS, "symbol", out.rejections)
        if symbol is None:
            continue
        kind = row.get("asset_kind")
        if not isinstance(kind, str) or not kind.strip():
            out.rejections.append(
                reject(VENUE, SOURCE_MARKETS, symbol, "asset_kind", kind, "missing; cannot tell a perpetual")
            )
            continue
        if kind.strip().upper() != "PERP":
            skipped += 1
            continue
        if symbol in seen:
            out.rejections.append(reject(VENUE, SOURCE_MARKETS, symbol, "symbol", symbol, "duplicate market"))
            continue
        try:
            market = _market_from_row(row, symbol, now_ms)
        except UnitError as exc:
            out.rejections.append(reject_unit_error(VENUE, SOURCE_MARKETS, symbol, exc))
            continue
        except ValueError as exc:  # normalize_symbol: no base asset
            out.rejections.append(reject(VENUE, SOURCE_MARKETS, symbol, "symbol", symbol, str(exc)))
            continue
        seen.add(symbol)
        out.markets.append(market)
    if skipped:
        log.debug("paradex markets: skipped %d non-PERP instruments", skipped)
    return out


# -------------------- summary


def _summary_sample(
    row: Mapping[str, Any], symbol: str, market: MarketInfo, now: datetime, source: str
) -> FundingRateSample:
    """One markets/summary row of a known market -> PREDICTED sample. Raises `UnitError` naming the field."""
    raw_rate = units.to_decimal(row.get("funding_rate"), "funding_rate")
    mark = units.to_decimal(row.get("mark_price"), "mark_price", allow_negative=False, allow_zero=False)
    index = _optional_positive(row.get("underlying_price"), "underlying_price")
    open_interest = units.optional_decimal(row.get("open_interest"), "open_interest", allow_negative=False)
    volume = units.optional_decimal(row.get("volume_24h"), "volume_24h", allow_negative=False)
    created = row.get("created_at")
    ts = now if created is None else utc_from_epoch_ms(_epoch_ms_field(created, "created_at"))
    period = market.funding_period_hours
    if period <= 0:
        raise UnitError("funding_period_hours", period, "the market has no valid funding period")
    return FundingRateSample(
        venue=VENUE,
        venue_symbol=symbol,
        symbol=market.symbol,
        kind=FundingKind.PREDICTED,
        ts=ts,
        raw_rate=raw_rate,
        raw_period_hours=period,
        rate_hourly=units.hourly_from_period(raw_rate, period),
        mark_price=mark,
        index_price=index,
        open_interest_usd=None if open_interest is None else open_interest * mark,
        volume_24h_usd=volume,
        source=source,
    )


def _parse_summary_rows(
    rows: Iterable[Any],
    markets_by_symbol: Mapping[str, MarketInfo],
    now: datetime,
    source: str,
) -> FundingRatesResult:
    out = FundingRatesResult()
    skipped = 0
    for row in rows:
        symbol = _row_symbol(row, source, "symbol", out.rejections)
        if symbol is None:
            continue
        if not is_perp_symbol(symbol):
            skipped += 1
            continue
        market = markets_by_symbol.get(symbol)
        if market is None:
            out.rejections.append(
                reject(VENUE, source, symbol, "symbol", symbol, "unknown market (not in the markets list)")
            )
            continue
        try:
            out.samples.append(_summary_sample(row, symbol, market, now, source))
        except UnitError as exc:
            out.rejections.append(reject_unit_error(VENUE, source, symbol, exc))
    if skipped:
        log.debug("paradex %s: skipped %d non-PERP rows", source, skipped)
    return out


def parse_markets_summary(
    body: Any, markets_by_symbol: Mapping[str, MarketInfo], now: datetime
) -> FundingRatesResult:
    """`GET /v1/markets/summary?market=ALL` -> one PREDICTED sample per perpetual.

    Input: `{"results": [MarketSummaryResp, ...]}` (OpenAPI `responses.MarketSummaryResp`; recorded
    venue-data/paradex/rest_markets_summary_btc_{1,2,3}.json, rest_markets_summary_btc_ccxtdoc.json).

    Per row: raw_rate = `funding_rate` ("raw funding rate [for] the actual funding period of the instrument
    itself. It is not a normalized 8h funding rate", OpenAPI), raw_period_hours = the market's
    `funding_period_hours`, rate_hourly = raw_rate / period; ts = `created_at` (ms; `now` when absent);
    mark_price = `mark_price` (USD, required, > 0); index_price = `underlying_price` (spot, USD, > 0 when
    given); open_interest_usd = `open_interest` (base units, >= 0) × mark_price; volume_24h_usd =
    `volume_24h` (already USD, >= 0; "0" is a real zero). `price_change_rate_24h` and the rest are ignored.
    Rejected (field named): missing/""/NaN `funding_rate`, missing/""/0 `mark_price`, negative open interest
    or volume, a bad `created_at`; "unknown market" for a -PERP symbol not in `markets_by_symbol`. Non-PERP
    symbols (options) are skipped silently.

    Args:
        body: the decoded JSON body.
        markets_by_symbol: Paradex symbol -> `MarketInfo` (from `parse_markets`), for the funding period.
        now: collection time (aware UTC), used as ts when a row has no `created_at`.

    Raises:
        ParadexDataError: body not an object or `results` not a list.
    """
    return _parse_summary_rows(
        results_of(body, "GET /markets/summary"), markets_by_symbol, now, SOURCE_SUMMARY
    )


def attach_stats(markets: Iterable[MarketInfo], samples: Iterable[FundingRateSample]) -> list[MarketInfo]:
    """Markets with `stats` filled from the markets/summary samples of the same symbol (mark/index price,
    OI USD, 24 h volume USD, ts). A market without a (valid) summary row keeps empty stats."""
    by_symbol = {s.venue_symbol: s for s in samples}
    out: list[MarketInfo] = []
    for market in markets:
        sample = by_symbol.get(market.venue_symbol)
        if sample is None:
            out.append(market)
            continue
        stats = MarketStats(
            mark_price=sample.mark_price,
            index_price=sample.index_price,
            open_interest_usd=sample.open_interest_usd,
            volume_24h_usd=sample.volume_24h_usd,
            ts=sample.ts,
        )
        out.append(replace(market, stats=stats))
    return out


# -------------------- funding data


@dataclass(frozen=True, slots=True)
class FundingDataRow:
    """One `funding/data` row, normalised.

    Attributes:
        venue_symbol: "BTC-USD-PERP".
        created_at_ms: the row's `created_at` (epoch ms); ts: the same as an aware UTC datetime.
        raw_rate: `funding_rate`, fraction per `raw_period_hours`.
        raw_period_hours: the row's `funding_period_hours` when > 0, else the market's.
        rate_hourly: raw_rate / raw_period_hours (fraction per hour, positive when longs pay).
    """

    venue_symbol: str
    created_at_ms: int
    ts: datetime
    raw_rate: Decimal
    raw_period_hours: Decimal
    rate_hourly: Decimal


@dataclass(slots=True)
class FundingDataPage:
    """One page of `GET /funding/data`: parsed rows (page order, newest first), rejections, the `next`
    cursor (None on the last page) and how many rows the page held (parsed + rejected)."""

    rows: list[FundingDataRow] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    next_cursor: str | None = None
    result_count: int = 0


def _row_period(row: Mapping[str, Any], fallback_period: Decimal | None) -> Decimal:
    """The period a `funding/data` row's `funding_rate` is quoted for: the row's `funding_period_hours`
    when > 0, else (0, "", absent: the 2025-11 capture has 0) the market's.

    Raises:
        UnitError: negative / NaN / non-numeric period, or 0/absent with no valid market period.
    """
    value = row.get("funding_period_hours")
    if value is not None and not (isinstance(value, str) and not value.strip()):
        period = units.to_decimal(value, "funding_period_hours", allow_negative=False)
        if period > 0:
            return period
    if fallback_period is None or fallback_period <= 0:
        raise UnitError(
            "funding_period_hours", value, "0 or absent in the row and no valid market period to fall back on"
        )
    return fallback_period


def _check_rate_8h(
    row: Mapping[str, Any], raw_rate: Decimal, period: Decimal, symbol: str, source: str
) -> None:
    """Compare `funding_rate_8h` (fraction per 8 h, published to 8 decimals) with funding_rate × 8 / period;
    log a WARNING when they differ by more than 1e-8 + 1e-6 × |expected|. "" / absent is ignored (the
    2025-11 capture sends ""). Never rejects: rate_hourly always comes from `funding_rate`."""
    value = row.get("funding_rate_8h")
    if value is None or (isinstance(value, str) and not value.strip()):
        return
    try:
        published = units.to_decimal(value, "funding_rate_8h")
    except UnitError as exc:
        log.warning("paradex %s [%s]: unreadable funding_rate_8h ignored: %s", symbol, source, exc)
        return
    expected = raw_rate * units.HOURS_PER_8H / period
    if abs(published - expected) > RATE_8H_ABS_TOLERANCE + RATE_8H_REL_TOLERANCE * abs(expected):
        log.warning(
            "paradex %s [%s]: funding_rate_8h=%s disagrees with funding_rate=%s × 8 / %s h = %s; "
            "using funding_rate",
            symbol,
            source,
            published,
            raw_rate,
            period,
            expected,
        )


def _funding_data_row(
    row: Mapping[str, Any], symbol: str, fallback_period: Decimal | None, source: str
) -> FundingDataRow:
    """One `funding/data` row (REST or WS) -> `FundingDataRow`. Raises `UnitError` naming the field."""
    created_at_ms = _epoch_ms_field(row.get("created_at"), "created_at")
    raw_rate = units.to_decimal(row.get("funding_rate"), "funding_rate")
    period = _row_period(row, fallback_period)
    _check_rate_8h(row, raw_rate, period, symbol, source)
    return FundingDataRow(
        venue_symbol=symbol,
        created_at_ms=created_at_ms,
        ts=utc_from_epoch_ms(created_at_ms),
        raw_rate=raw_rate,
        raw_period_hours=period,
        rate_hourly=units.hourly_from_period(raw_rate, period),
    )


def parse_funding_data(body: Any, market: MarketInfo) -> FundingDataPage:
    """`GET /v1/funding/data?market=...` page -> `FundingDataPage`.

    Input: `{"next": str|null, "prev": str|null, "results": [FundingDataResult, ...]}` newest first, about
    one row per 5 s (OpenAPI `responses.FundingDataResult`; recorded
    venue-data/paradex/rest_funding_data_btc_ccxt.json, whose row has `funding_period_hours` 0 and
    `funding_rate_8h` "").

    Per row: period = the row's `funding_period_hours` when > 0, else `market.funding_period_hours`;
    rate_hourly = `funding_rate` / period, always (`funding_rate_8h` is only cross-checked, see
    `RATE_8H_ABS_TOLERANCE`). Rejected (field named): bad `created_at` or `funding_rate`, a negative or
    non-numeric period, 0/absent period with a market period <= 0, or a `market` field naming another market.

    Raises:
        ParadexDataError: body not an object, `results` not a list, or `next` not a string/null.
    """
    symbol = market.venue_symbol
    rows = results_of(body, "GET /funding/data", symbol)
    cursor = body.get("next")
    if cursor is not None and not isinstance(cursor, str):
        raise ParadexDataError(f"GET /funding/data: 'next' is {type(cursor).__name__}, not a string", symbol)
    page = FundingDataPage(next_cursor=cursor or None, result_count=len(rows))
    for row in rows:
        if not isinstance(row, dict):
            page.rejections.append(
                reject(VENUE, SOURCE_FUNDING_DATA, symbol, "results[]", row, "not an object")
            )
            continue
        row_market = row.get("market")
        if row_market is not None and row_market != symbol:
            page.rejections.append(
                reject(
                    VENUE,
                    SOURCE_FUNDING_DATA,
                    symbol,
                    "market",
                    row_market,
                    f"row of another market than {symbol}",
                )
            )
            continue
        try:
            page.rows.append(_funding_data_row(row, symbol, market.funding_period_hours, SOURCE_FUNDING_DATA))
        except UnitError as exc:
            page.rejections.append(reject_unit_error(VENUE, SOURCE_FUNDING_DATA, symbol, exc))
    return page


def floor_hour(ts: datetime) -> datetime:
    """Start of the UTC hour containing `ts` (aware)."""
    return ts.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)


def ceil_hour(ts: datetime) -> datetime:
    """`ts` itself when on the hour, else the start of the next UTC hour (aware)."""
    start = floor_hour(ts)
    return start if start == ts else start + timedelta(hours=1)


class HourlyFundingBuckets:
    """Accumulates `funding/data` rows of one market into UTC hours and yields one SETTLED sample per hour.

    Paradex funds continuously (PROTOCOL_NOTES §2.4): there is no settlement instant, so an hour's settled
    rate is taken as the arithmetic mean of the row `funding_rate`s with `created_at` in [hour, hour + 1 h),
    each first expressed in the market's period units (raw × market period / row period; unchanged when the
    periods agree). The sample's ts is the hour END (the moment that hour's funding has been accrued),
    raw_rate = the mean (fraction per the market's `funding_period_hours`), rate_hourly = mean / period,
    source "paradex:funding/data". Hours without rows give no sample; an hour with few rows (a gap in the
    venue's data) is still the mean of what there is. Only running sums are kept, so a year of 5-second
    rows costs one entry per hour.

    Raises:
        ValueError: (constructor) a market whose `funding_period_hours` is not > 0.
    """

    def __init__(self, market: MarketInfo) -> None:
        if market.funding_period_hours <= 0:
            raise ValueError(
                f"{VENUE} {market.venue_symbol}: "
                f"funding_period_hours={market.funding_period_hours} is not > 0"
            )
        self.market = market
        self._sums: dict[int, tuple[Decimal, int]] = {}

    def add(self, row: FundingDataRow) -> None:
        """Add one row to the hour containing its `created_at`."""
        period = self.market.funding_period_hours
        raw = row.raw_rate if row.raw_period_hours == period else row.raw_rate * period / row.raw_period_hours
        hour_ms = row.created_at_ms - row.created_at_ms % _HOUR_MS
        total, count = self._sums.get(hour_ms, (Decimal(0), 0))
        self._sums[hour_ms] = (total + raw, count + 1)

    def add_all(self, rows: Iterable[FundingDataRow]) -> None:
        """`add` each row."""
        for row in rows:
            self.add(row)

    def samples(self, start: datetime, end: datetime) -> list[FundingRateSample]:
        """SETTLED samples whose ts (hour end) is in [start, end), oldest first."""
        period = self.market.funding_period_hours
        out: list[FundingRateSample] = []
        for hour_ms in sorted(self._sums):
            ts = utc_from_epoch_ms(hour_ms + _HOUR_MS)
            if not start <= ts < end:
                continue
            total, count = self._sums[hour_ms]
            mean = total / count
            out.append(
                FundingRateSample(
                    venue=VENUE,
                    venue_symbol=self.market.venue_symbol,
                    symbol=self.market.symbol,
                    kind=FundingKind.SETTLED,
                    ts=ts,
                    raw_rate=mean,
                    raw_period_hours=period,
                    rate_hourly=units.hourly_from_period(mean, period),
                    source=SOURCE_FUNDING_DATA,
                )
            )
        return out


def bucket_hourly(
    rows: Iterable[FundingDataRow], market: MarketInfo, start: datetime, end: datetime
) -> list[FundingRateSample]:
    """One SETTLED sample per UTC hour from `funding/data` rows, ts (hour end) in [start, end), oldest first.
    See `HourlyFundingBuckets` for the rule.

    Raises:
        ValueError: a market whose `funding_period_hours` is not > 0.
    """
    buckets = HourlyFundingBuckets(market)
    buckets.add_all(rows)
    return buckets.samples(start, end)


# -------------------- WebSocket


def _subscription_data(frame: Any, channel: str) -> Any:
    """`data` of a JSON-RPC push `{"jsonrpc":"2.0","method":"subscription","params":{"channel":..,"data":..}}`
    whose channel is `channel` or `channel.<suffix>` (PROTOCOL_NOTES §2.5). Accepts the decoded frame or its
    JSON text.

    Raises:
        ParadexDataError: not JSON, not a subscription push, another channel, or no `data`.
    """
    if isinstance(frame, (str, bytes, bytearray)):
        try:
            frame = json.loads(frame)
        except ValueError as exc:
            raise ParadexDataError(f"ws {channel}: frame is not JSON ({exc})") from None
    if not isinstance(frame, dict) or frame.get("method") != "subscription":
        raise ParadexDataError(f"ws {channel}: not a subscription push: {str(frame)[:120]}")
    params = frame.get("params")
    name = params.get("channel") if isinstance(params, dict) else None
    if not isinstance(name, str) or not (name == channel or name.startswith(channel + ".")):
        raise ParadexDataError(f"ws {channel}: push of channel {name!r}, expected {channel}[.<market>]")
    data = params.get("data") if isinstance(params, dict) else None
    if data is None:
        raise ParadexDataError(f"ws {channel}: push without data")
    return data


def parse_funding_data_frame(frame: Any, markets_by_symbol: Mapping[str, MarketInfo]) -> FundingRatesResult:
    """WS `funding_data[.{market}]` push -> one PREDICTED sample (the rate in force now).

    Input: `{"jsonrpc":"2.0","method":"subscription","params":{"channel":"funding_data.BTC-USD-PERP",
    "data":{market, funding_index, funding_premium, funding_rate, funding_rate_8h, funding_period_hours,
    created_at, impact_premium_rate?}}}` (AsyncAPI `ResponsesFundingDataResult`; recorded
    venue-data/paradex/ws_funding_data_btc.json, ws_funding_data_trump.json). Same row rules as
    `parse_funding_data` (period from the row when > 0, else the market's; rate_hourly = funding_rate /
    period; ts = created_at); no prices. Unknown -PERP market -> rejected; non-PERP -> skipped.

    Raises:
        ParadexDataError: the frame is not a `funding_data` subscription push with an object `data`.
    """
    data = _subscription_data(frame, "funding_data")
    out = FundingRatesResult()
    symbol = _row_symbol(data, SOURCE_WS_FUNDING_DATA, "market", out.rejections)
    if symbol is None or not is_perp_symbol(symbol):
        return out
    market = markets_by_symbol.get(symbol)
    if market is None:
        out.rejections.append(
            reject(
                VENUE,
                SOURCE_WS_FUNDING_DATA,
                symbol,
                "market",
                symbol,
                "unknown market (not in the markets list)",
            )
        )
        return out
    try:
        row = _funding_data_row(data, symbol, market.funding_period_hours, SOURCE_WS_FUNDING_DATA)
    except UnitError as exc:
        out.rejections.append(reject_unit_error(VENUE, SOURCE_WS_FUNDING_DATA, symbol, exc))
        return out
    out.samples.append(
        FundingRateSample(
            venue=VENUE,
            venue_symbol=symbol,
            symbol=market.symbol,
            kind=FundingKind.PREDICTED,
            ts=row.ts,
            raw_rate=row.raw_rate,
            raw_period_hours=row.raw_period_hours,
            rate_hourly=row.rate_hourly,
            source=SOURCE_WS_FUNDING_DATA,
        )
    )
    return out


def parse_markets_summary_frame(
    frame: Any, markets_by_symbol: Mapping[str, MarketInfo], *, now: datetime | None = None
) -> FundingRatesResult:
    """WS `markets_summary[.{market}]` push -> PREDICTED sample(s), with the rules of `parse_markets_summary`.

    Input: `{"jsonrpc":"2.0","method":"subscription","params":{"channel":"markets_summary","data":
    {MarketSummaryResp}}}` (recorded venue-data/paradex/ws_markets_summary.json, whose
    `price_change_rate_24h: ""` is ignored and `volume_24h: "0"` is a real zero). `data` may be one row or a
    list of rows. `now` (default: the current time) is only used for a row without `created_at`.

    Raises:
        ParadexDataError: the frame is not a `markets_summary` subscription push with object / list data.
    """
    data = _subscription_data(frame, "markets_summary")
    if isinstance(data, dict):
        rows: list[Any] = [data]
    elif isinstance(data, list):
        rows = data
    else:
        raise ParadexDataError(f"ws markets_summary: data is {type(data).__name__}, not an object or list")
    when = now if now is not None else datetime.now(timezone.utc)
    return _parse_summary_rows(rows, markets_by_symbol, when, SOURCE_WS_SUMMARY)
