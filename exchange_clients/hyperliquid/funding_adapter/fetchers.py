"""Pure parsers of Hyperliquid's market and funding payloads: one per payload, decoded JSON in, models out.

A body whose top-level shape is unusable raises `HyperliquidDataError`; a bad ROW never raises: it becomes a
`Rejection` (logged at WARNING by `perparb_core.models.reject`, naming the field, value and reason) and the rest
is kept. Nothing is stored as zero for want of a value. Every number on the wire is a decimal string (some
third-party recordings hold JSON numbers: both are read, floats at 15 significant digits, `units.to_decimal`).

Units (../shared/reference/hyperliquid_funding_units.md; HL gitbook mirror dzmbs/hyperliquid-docs@24c1248
docs/trading/funding.md and for-developers/api/info-endpoint/perpetuals.md):

| payload                                | field                        | unit / rule                                   |
|----------------------------------------|------------------------------|-----------------------------------------------|
| `metaAndAssetCtxs` -> `[meta, ctxs]`   | `ctxs[i]` belongs to `meta.universe[i]` (ctxs carry no coin name)            |
|                                        | `funding`                    | fraction per 1 h, signed (+ = longs pay): the running estimate of the coming hourly settlement; rate_hourly = raw |
|                                        | `markPx`, `oraclePx` (index) | USD                                           |
|                                        | `openInterest`               | BASE units (x markPx -> USD)                  |
|                                        | `dayNtlVlm`                  | USD (24 h notional volume)                    |
|                                        | `szDecimals`                 | size step 10^-szDecimals                      |
|                                        | price rule                   | 5 significant figures, at most 6 - szDecimals decimals, integers always valid |
| `fundingHistory`                       | `fundingRate`                | fraction per 1 h since 2023-06-08T01:00Z; fraction per 8 h BEFORE (rows at 00/08/16 UTC) |
|                                        | `time`                       | epoch ms, 1-118 ms after the settlement hour (floored to the hour) |
| `predictedFundings`                    | `fundingRate`                | fraction per THAT venue's `fundingIntervalHours` (absent in older bodies: 8 h for Binance/Bybit, 1 h for HlPerp) |

Settlement: every hour on the hour, the whole interval's rate (`position_size * oracle_price * funding_rate`,
docs trading/funding.md); 8-hourly (00/08/16 UTC) before 2023-06-08 01:00 UTC (the SDK's recorded BTC
`fundingHistory`: rows 8 h apart with baseline 0.0001 up to 1686182400254 = 2023-06-08T00:00Z, then hourly with
baseline 0.0000125). HIP-3 dexes: `funding` already includes the deployer's multiplier.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar

from exchange_clients.base.trading import significant_price_step
from exchange_clients.hyperliquid.common import HyperliquidDataError, normalize_symbol
from perparb_core import units
from perparb_core.models import (
    FundingKind,
    FundingRateSample,
    FundingRatesResult,
    MarketInfo,
    MarketStats,
    ReferenceRate,
    Rejection,
    reject,
    reject_unit_error,
)
from perparb_core.units import UnitError

log = logging.getLogger("perparb.hyperliquid")
T = TypeVar("T")

SOURCE_META_AND_ASSET_CTXS = "hyperliquid:metaAndAssetCtxs"
SOURCE_FUNDING_HISTORY = "hyperliquid:fundingHistory"
SOURCE_FUNDING_HISTORY_8H = "hyperliquid:fundingHistory:8h"
SOURCE_PREDICTED_FUNDINGS = "hyperliquid:predictedFundings"
SOURCE_WS_ACTIVE_ASSET_CTX = "hyperliquid:ws:activeAssetCtx"

FUNDING_PERIOD_HOURS = Decimal(1)
"""Hourly settlement, the same for every asset ("The funding cap and funding interval do not depend on the
asset", docs trading/funding.md)."""
LEGACY_PERIOD_HOURS = Decimal(8)
"""The 8-hour era of `fundingHistory` / `userFunding` rows (before `HOURLY_SINCE`)."""
HOURLY_SINCE = datetime(2023, 6, 8, 1, tzinfo=timezone.utc)
"""First hourly settlement (the SDK cassette's BTC fundingHistory: last 8-hourly row 2023-06-08T00:00Z)."""
PREDICTED_DEFAULT_INTERVAL = {"HlPerp": Decimal(1)}
"""Interval assumed for a `predictedFundings` row without `fundingIntervalHours` (the older docs example):
1 h for Hyperliquid itself, else 8 h (Binance's and Bybit's default; unverified per coin)."""
PREDICTED_VENUES = {"BinPerp": "binance", "BybitPerp": "bybit"}
"""`predictedFundings` venue names -> perparb venue ids of the reference rates. Another `<Name>Perp` maps to
"<name>" lower-cased; `HlPerp` (Hyperliquid's own, equal to ctx `funding`) is not a reference rate."""
PRICE_SIGNIFICANT_FIGURES = 5
PERP_MAX_DECIMALS = 6
MIN_ORDER_NOTIONAL_USD = Decimal(10)
"""Orders below $10 of notional are refused ("Order must have minimum value of $10.",
venue-data/hyperliquid/rest_exchange_order_error_docexample.json)."""
_HOUR = timedelta(hours=1)


# ------------------------------------------------------------------------------------------------ helpers


def settlement_hour(time_ms: int) -> datetime:
    """A settlement row's `time` (ms, a few ms after the hour) floored to the whole UTC hour."""
    ts = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=time_ms)
    return ts.replace(minute=0, second=0, microsecond=0)


def settled_period_hours(hour: datetime) -> Decimal:
    """The period a settled `fundingRate` at `hour` is quoted for: 8 before 2023-06-08T01:00Z, else 1."""
    return LEGACY_PERIOD_HOURS if hour < HOURLY_SINCE else FUNDING_PERIOD_HOURS


def price_decimals(sz_decimals: int) -> int:
    """Most decimals a perp price may have: 6 - szDecimals (never negative)."""
    return max(PERP_MAX_DECIMALS - sz_decimals, 0)


def _int_field(row: Mapping[str, Any], name: str, *, minimum: int = 0, maximum: int | None = None) -> int:
    value = row.get(name)
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        raise UnitError(name, value, "missing" if value in (None, "") else "not an integer")
    dec = units.to_decimal(value, name)
    if dec != dec.to_integral_value():
        raise UnitError(name, value, "not an integer")
    number = int(dec)
    if number < minimum or (maximum is not None and number > maximum):
        raise UnitError(name, value, f"out of range [{minimum}, {maximum if maximum is not None else '∞'}]")
    return number


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
    rejections: list[Rejection],
    venue: str,
    source: str,
    market: str,
    read: Callable[..., T],
    *args: Any,
    **kwargs: Any,
) -> T | None:
    """`read(*args, **kwargs)`; on a `UnitError` record the rejection of that field and give None."""
    try:
        return read(*args, **kwargs)
    except UnitError as exc:
        rejections.append(reject_unit_error(venue, source, market, exc))
        return None


# ------------------------------------------------------------------------------------------------ metaAndAssetCtxs


@dataclass(slots=True)
class AssetCtxsResult:
    """`parse_meta_and_asset_ctxs`'s output: markets, one predicted sample per live market, rejections."""

    markets: list[MarketInfo] = field(default_factory=list)
    samples: list[FundingRateSample] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


def split_meta_and_ctxs(body: Any, what: str, *, venue: str) -> tuple[list[Any], list[Any]]:
    """(`meta.universe`, `ctxs`) of a `metaAndAssetCtxs` body `[meta, ctxs]`.

    Raises:
        HyperliquidDataError: not a 2-element list, `meta` not an object, `universe` or `ctxs` not a list.
    """
    if not isinstance(body, list) or len(body) != 2:
        shape = f"a list of {len(body)}" if isinstance(body, list) else type(body).__name__
        raise HyperliquidDataError(f"{what}: body is {shape}, expected [meta, assetCtxs]", venue=venue)
    meta, ctxs = body
    universe = meta.get("universe") if isinstance(meta, dict) else None
    if not isinstance(universe, list):
        raise HyperliquidDataError(f"{what}: meta.universe missing or not a list", venue=venue)
    if not isinstance(ctxs, list):
        raise HyperliquidDataError(
            f"{what}: assetCtxs is {type(ctxs).__name__}, expected a list", venue=venue
        )
    return universe, ctxs


def parse_meta_and_asset_ctxs(body: Any, *, venue: str, dex: str, now: datetime) -> AssetCtxsResult:
    """Parse `POST /info {"type":"metaAndAssetCtxs"[,"dex"]}` into markets and predicted funding samples.

    Input: `[meta{universe:[{name, szDecimals, maxLeverage, onlyIsolated?, isDelisted?, marginMode?}],
    marginTables?, collateralToken?}, [ctx{dayNtlVlm, funding, impactPxs, markPx, midPx, openInterest,
    oraclePx, premium, prevDayPx}]]` (venue-data/hyperliquid/rest_info_metaAndAssetCtxs_docexample.json,
    _SOL_fragment.json; ws_allDexsAssetCtxs_2026-05.json has the same ctx). `ctxs[i]` is `universe[i]`'s.

    Per market (`universe[i]`, `ctxs[i]`):
      * `venue_symbol` = `name` ("BTC", "kPEPE", "xyz:XYZ100" on a HIP-3 dex, which must carry `<dex>:`);
        `symbol` = `normalize_symbol` ("KPEPE", "XYZ100"); `venue_market_id` = `i` as text, the index in the
        dex's universe (the asset id on the first perp dex; a HIP-3 asset id is 100000 + 10000 x dex index + i);
      * `size_step` = 10^-szDecimals; `tick_size` = the price step AT the mark price under the 5-significant-
        figure / (6 - szDecimals)-decimal rule (None without a mark price; orders are rounded by
        `exchange_clients.base.trading.round_price_significant` at their own price); `min_notional` = $10;
        `max_leverage` = `maxLeverage`; `funding_period_hours` = 1; fees None (the spec's `FeeSchedule`);
      * `status` "delisted" when `isDelisted`, else "active";
      * stats: `mark_price` = markPx, `index_price` = oraclePx, `open_interest_usd` = openInterest (base)
        x markPx, `volume_24h_usd` = dayNtlVlm, ts = `now`.
    Predicted sample (not for delisted markets): raw_rate = `funding`, raw_period_hours = 1, rate_hourly = raw
    (a fraction per hour already; `"0.0000125"` = the 0.01 %/8 h baseline), ts = `now`, with the stats above.

    Rejections: a universe row that is not an object or lacks a usable `name` / `szDecimals`, a duplicate
    name, a HIP-3 name without the dex prefix, or no ctx at its index drops the market; a bad `funding`
    drops only its sample; a bad `maxLeverage` / price / OI / volume drops only that field. Zero open
    interest and volume are values; a zero price is "no price" and is rejected.

    Raises:
        HyperliquidDataError: the body is not `[meta, ctxs]` (see `split_meta_and_ctxs`).
    """
    src = SOURCE_META_AND_ASSET_CTXS
    universe, ctxs = split_meta_and_ctxs(
        body, f"POST /info metaAndAssetCtxs{' ' + dex if dex else ''}", venue=venue
    )
    result = AssetCtxsResult()
    if len(ctxs) != len(universe):
        log.warning("%s [%s]: %d universe rows but %d asset ctxs", venue, src, len(universe), len(ctxs))
    seen: set[str] = set()
    for i, asset in enumerate(universe):
        if not isinstance(asset, dict):
            result.rejections.append(
                reject(venue, src, None, f"universe[{i}]", asset, "row is not an object")
            )
            continue
        label = asset.get("name") if isinstance(asset.get("name"), str) else f"universe[{i}]"
        try:
            name = _str_field(asset, "name")
            sz_decimals = _int_field(asset, "szDecimals", maximum=PERP_MAX_DECIMALS)
            symbol = normalize_symbol(name)
        except UnitError as exc:
            result.rejections.append(reject_unit_error(venue, src, label, exc))
            continue
        if dex and not name.startswith(f"{dex}:"):
            result.rejections.append(
                reject(venue, src, name, "name", name, f"HIP-3 coin without the '{dex}:' prefix")
            )
            continue
        if name in seen:
            result.rejections.append(reject(venue, src, name, "name", name, "duplicate market"))
            continue
        if i >= len(ctxs) or not isinstance(ctxs[i], dict):
            found = "missing" if i >= len(ctxs) else f"a {type(ctxs[i]).__name__}"
            result.rejections.append(reject(venue, src, name, f"assetCtxs[{i}]", found, "no asset context"))
            continue
        seen.add(name)
        ctx: dict[str, Any] = ctxs[i]
        rej = result.rejections

        max_leverage = _try(
            rej,
            venue,
            src,
            name,
            units.to_decimal,
            asset.get("maxLeverage"),
            "maxLeverage",
            allow_negative=False,
            allow_zero=False,
        )
        mark = _try(rej, venue, src, name, _price, ctx, "markPx")
        oracle = _try(rej, venue, src, name, _price, ctx, "oraclePx")
        volume = _try(
            rej,
            venue,
            src,
            name,
            units.optional_decimal,
            ctx.get("dayNtlVlm"),
            "dayNtlVlm",
            allow_negative=False,
        )
        oi_base = _try(
            rej,
            venue,
            src,
            name,
            units.optional_decimal,
            ctx.get("openInterest"),
            "openInterest",
            allow_negative=False,
        )
        oi_usd: Decimal | None = None
        if oi_base is not None:
            if mark is None:
                rej.append(
                    reject(
                        venue,
                        src,
                        name,
                        "openInterest",
                        ctx.get("openInterest"),
                        "no mark price to convert to USD",
                    )
                )
            else:
                oi_usd = oi_base * mark
        delisted = asset.get("isDelisted") is True
        tick = (
            significant_price_step(
                mark, significant_figures=PRICE_SIGNIFICANT_FIGURES, max_decimals=price_decimals(sz_decimals)
            )
            if mark is not None
            else None
        )
        stats = MarketStats(
            mark_price=mark, index_price=oracle, open_interest_usd=oi_usd, volume_24h_usd=volume, ts=now
        )
        market = MarketInfo(
            venue=venue,
            venue_symbol=name,
            symbol=symbol,
            venue_market_id=str(i),
            quote="USD",
            tick_size=tick,
            size_step=Decimal(1).scaleb(-sz_decimals),
            min_notional=MIN_ORDER_NOTIONAL_USD,
            max_leverage=max_leverage,
            funding_period_hours=FUNDING_PERIOD_HOURS,
            status="delisted" if delisted else "active",
            stats=stats,
        )
        result.markets.append(market)
        if delisted:
            continue
        funding = _try(rej, venue, src, name, units.to_decimal, ctx.get("funding"), "funding")
        if funding is not None:
            result.samples.append(_predicted(market, funding, now, src))
    return result


def _predicted(market: MarketInfo, raw: Decimal, ts: datetime, source: str) -> FundingRateSample:
    stats = market.stats
    return FundingRateSample(
        venue=market.venue,
        venue_symbol=market.venue_symbol,
        symbol=market.symbol,
        kind=FundingKind.PREDICTED,
        ts=ts,
        raw_rate=raw,
        raw_period_hours=FUNDING_PERIOD_HOURS,
        rate_hourly=units.hourly_from_period(raw, FUNDING_PERIOD_HOURS),
        mark_price=stats.mark_price,
        index_price=stats.index_price,
        open_interest_usd=stats.open_interest_usd,
        volume_24h_usd=stats.volume_24h_usd,
        source=source,
    )


# ------------------------------------------------------------------------------------------------ fundingHistory


def parse_funding_history(body: Any, market: MarketInfo) -> FundingRatesResult:
    """Parse `POST /info {"type":"fundingHistory","coin","startTime","endTime"}` into SETTLED samples.

    Input: `[{coin, fundingRate, premium, time (ms)}]`, oldest first, at most 500 rows per answer
    (venue-data/hyperliquid/rest_info_fundingHistory_BTC_2023-05_8h.json, _ETH_2024-01_fragment.json).

    Per row: ts = `time` floored to the hour (the settlement instant); raw_rate = `fundingRate`;
    raw_period_hours = 8 when ts < 2023-06-08T01:00Z (8-hourly era, source "hyperliquid:fundingHistory:8h"),
    else 1 (source "hyperliquid:fundingHistory"); rate_hourly = raw / period. `premium` is not read (an
    8-hour-scale average premium; docs say the rate is derived from it with a clamp that changed over time:
    the charged `fundingRate` is what counts).

    Rejections (row dropped, field named): not an object, `coin` other than `market.venue_symbol`, a missing
    / "" / non-numeric `fundingRate`, a missing or non-integer `time`, a second row for the same hour.

    Raises:
        HyperliquidDataError: the body is not a list.
    """
    venue = market.venue
    if not isinstance(body, list):
        raise HyperliquidDataError(
            f"POST /info fundingHistory: body is {type(body).__name__}, expected a list",
            market.venue_symbol,
            venue=venue,
        )
    result = FundingRatesResult()
    seen: set[datetime] = set()
    for i, row in enumerate(body):
        src = SOURCE_FUNDING_HISTORY
        if not isinstance(row, dict):
            result.rejections.append(
                reject(venue, src, market.venue_symbol, f"[{i}]", row, "row is not an object")
            )
            continue
        try:
            coin = _str_field(row, "coin")
            if coin != market.venue_symbol:
                raise UnitError("coin", coin, f"row of another market than {market.venue_symbol}")
            raw = units.to_decimal(row.get("fundingRate"), "fundingRate")
            hour = settlement_hour(_int_field(row, "time", minimum=1))
        except UnitError as exc:
            result.rejections.append(reject_unit_error(venue, src, market.venue_symbol, exc))
            continue
        period = settled_period_hours(hour)
        if period != FUNDING_PERIOD_HOURS:
            src = SOURCE_FUNDING_HISTORY_8H
        if hour in seen:
            result.rejections.append(
                reject(
                    venue, src, market.venue_symbol, "time", row.get("time"), "second row for this settlement"
                )
            )
            continue
        seen.add(hour)
        result.samples.append(
            FundingRateSample(
                venue=venue,
                venue_symbol=market.venue_symbol,
                symbol=market.symbol,
                kind=FundingKind.SETTLED,
                ts=hour,
                raw_rate=raw,
                raw_period_hours=period,
                rate_hourly=units.hourly_from_period(raw, period),
                source=src,
            )
        )
    return result


# ------------------------------------------------------------------------------------------------ predictedFundings


def reference_venue(name: str) -> str | None:
    """`predictedFundings` venue name -> reference venue id ("BinPerp" -> "binance"); None for `HlPerp`.

    Raises:
        UnitError: a name that is not `<Name>Perp`.
    """
    if name == "HlPerp":
        return None
    if name in PREDICTED_VENUES:
        return PREDICTED_VENUES[name]
    if name.endswith("Perp") and len(name) > 4 and name[:-4].isalnum():
        return name[:-4].lower()
    raise UnitError("venue", name, "not a '<Name>Perp' venue name")


def parse_predicted_fundings(body: Any, *, source_venue: str, now: datetime) -> FundingRatesResult:
    """Parse `POST /info {"type":"predictedFundings"}` (first perp dex only) into REFERENCE rates of other venues.

    Input: `[[coin, [[venueName, {fundingRate, nextFundingTime, fundingIntervalHours?} | null], ...]], ...]`
    (venue-data/hyperliquid/rest_info_predictedFundings_BTC_ETH_2025-08_docexample.json; the older
    rest_info_predictedFundings_docexample.json has no `fundingIntervalHours`).

    Output: for every `BinPerp` / `BybitPerp` (any `<Name>Perp` but `HlPerp`) entry a
    `ReferenceRate(source_venue="hyperliquid", venue="binance"|"bybit"|..., symbol=normalize_symbol(coin),
    ts=now, raw_rate=fundingRate, raw_period_hours=fundingIntervalHours, rate_hourly=raw / period)`: Hyperliquid's
    view of what the other venue will charge; never a sample, never ranked as Hyperliquid's own. `HlPerp`
    entries (Hyperliquid's own next rate, equal to the ctx `funding` read from metaAndAssetCtxs) are skipped.
    A missing `fundingIntervalHours` means 8 h (1 h for HlPerp; `PREDICTED_DEFAULT_INTERVAL`).

    Rejections (entry dropped, field named): a `null` entry (the venue has no prediction for that coin; the
    probe saw 24 BinPerp and 45 BybitPerp nulls), a non-numeric `fundingRate`, a non-positive interval, a
    malformed row or venue name.

    Raises:
        HyperliquidDataError: the body is not a list.
    """
    src = SOURCE_PREDICTED_FUNDINGS
    if not isinstance(body, list):
        raise HyperliquidDataError(
            f"POST /info predictedFundings: body is {type(body).__name__}, expected a list",
            venue=source_venue,
        )
    result = FundingRatesResult()
    for i, row in enumerate(body):
        if not (
            isinstance(row, list) and len(row) == 2 and isinstance(row[0], str) and isinstance(row[1], list)
        ):
            result.rejections.append(
                reject(source_venue, src, None, f"[{i}]", row, "expected [coin, [[venue, {...}]]]")
            )
            continue
        coin, entries = row
        try:
            symbol = normalize_symbol(coin)
        except ValueError:
            result.rejections.append(reject(source_venue, src, None, f"[{i}][0]", coin, "empty coin"))
            continue
        for entry in entries:
            if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)):
                result.rejections.append(
                    reject(source_venue, src, coin, "entry", entry, "expected [venue, {...}]")
                )
                continue
            name, data = entry
            try:
                venue = reference_venue(name)
                if venue is None:
                    continue
                if not isinstance(data, dict):
                    raise UnitError(name, data, "no prediction (null)" if data is None else "not an object")
                raw = units.to_decimal(data.get("fundingRate"), f"{name}.fundingRate")
                interval_raw = data.get("fundingIntervalHours")
                period = (
                    PREDICTED_DEFAULT_INTERVAL.get(name, LEGACY_PERIOD_HOURS)
                    if interval_raw is None
                    else units.to_decimal(
                        interval_raw, f"{name}.fundingIntervalHours", allow_negative=False, allow_zero=False
                    )
                )
            except UnitError as exc:
                result.rejections.append(reject_unit_error(source_venue, src, coin, exc))
                continue
            result.reference_rates.append(
                ReferenceRate(
                    source_venue=source_venue,
                    venue=venue,
                    symbol=symbol,
                    ts=now,
                    raw_rate=raw,
                    raw_period_hours=period,
                    rate_hourly=units.hourly_from_period(raw, period),
                )
            )
    return result


# ------------------------------------------------------------------------------------------------ WS activeAssetCtx


def parse_active_asset_ctx(frame: Any, market: MarketInfo, now: datetime) -> FundingRatesResult:
    """Parse a WS `activeAssetCtx` push into one PREDICTED sample of `market` (source
    "hyperliquid:ws:activeAssetCtx").

    Input: `{"channel":"activeAssetCtx","data":{"coin","ctx":{funding, markPx, oraclePx, openInterest,
    dayNtlVlm, ...}}}` (venue-data/hyperliquid/ws_activeAssetCtx_BTC_2026-09.json; every value a string).
    Same units as `metaAndAssetCtxs`: `funding` fraction per hour, `openInterest` base (x markPx -> USD).

    Rejections: a coin other than `market.venue_symbol`, a bad `funding` (no sample); a bad price / OI /
    volume (that stat None).

    Raises:
        HyperliquidDataError: not an `activeAssetCtx` frame with a `data.ctx` object.
    """
    venue, src = market.venue, SOURCE_WS_ACTIVE_ASSET_CTX
    data = frame.get("data") if isinstance(frame, dict) and frame.get("channel") == "activeAssetCtx" else None
    ctx = data.get("ctx") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(ctx, dict):
        raise HyperliquidDataError(f"{src}: not an activeAssetCtx frame with data.ctx", venue=venue)
    result = FundingRatesResult()
    if data.get("coin") != market.venue_symbol:
        result.rejections.append(
            reject(venue, src, market.venue_symbol, "coin", data.get("coin"), "another market")
        )
        return result

    def optional(read: Callable[[], T]) -> T | None:
        try:
            return read()
        except UnitError as exc:
            result.rejections.append(reject_unit_error(venue, src, market.venue_symbol, exc))
            return None

    mark = optional(lambda: _price(ctx, "markPx"))
    oi_base = optional(
        lambda: units.optional_decimal(ctx.get("openInterest"), "openInterest", allow_negative=False)
    )
    stats = MarketStats(
        mark_price=mark,
        index_price=optional(lambda: _price(ctx, "oraclePx")),
        open_interest_usd=oi_base * mark if oi_base is not None and mark is not None else None,
        volume_24h_usd=optional(
            lambda: units.optional_decimal(ctx.get("dayNtlVlm"), "dayNtlVlm", allow_negative=False)
        ),
        ts=now,
    )
    funding = optional(lambda: units.to_decimal(ctx.get("funding"), "funding"))
    if funding is not None:
        live = MarketInfo(
            venue=venue,
            venue_symbol=market.venue_symbol,
            symbol=market.symbol,
            venue_market_id=market.venue_market_id,
            stats=stats,
        )
        result.samples.append(_predicted(live, funding, now, src))
    return result
