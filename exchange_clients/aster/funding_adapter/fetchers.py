"""Pure parsers of Aster's market and funding payloads: one per payload, decoded JSON in, models out.

A body whose top-level shape is unusable raises `AsterDataError`; a bad ROW never raises: it becomes a `Rejection`
(logged at WARNING by `perparb_core.models.reject`, naming the field, value and reason) and the rest is kept.
Nothing is stored as zero for want of a value. Numbers are decimal strings on the wire (`fundingIntervalHours`,
`fundingTime` and the filters' `limit` are JSON integers; `fundingFeeCap` a JSON number).

Units (../shared/reference/aster_funding_units.md; asterdex/api-docs@265e024 V1 and V3 futures API; the funding
page docs.asterdex.com/trading/perpetuals/fees-and-specs/funding-rate):

| payload                         | field                       | unit / rule                                          |
|---------------------------------|-----------------------------|------------------------------------------------------|
| `GET /fapi/v1/fundingInfo`      | `fundingIntervalHours`      | the symbol's settlement interval N, hours (8 default; 4 and 1 exist). A symbol absent from the answer is taken as 8 (documented default; unverified) |
| `GET /fapi/v1/premiumIndex`     | `lastFundingRate`           | signed fraction per N hours (+ = longs pay): rate_hourly = raw / N. The body does NOT carry N |
|                                 | `markPrice`, `indexPrice`   | USDT                                                 |
|                                 | `nextFundingTime`, `time`   | epoch ms                                             |
| WS `<s>@markPrice`, `!markPrice@arr` | `r`, `p`, `i`, `T`, `E` | as premiumIndex (`r` per N hours)                    |
| `GET /fapi/v1/fundingRate`      | `fundingRate`, `fundingTime`| settled: signed fraction per the interval that ENDED at `fundingTime` (ms); N from the spacing of consecutive settlements when it is one of `INTERVALS`, else the symbol's current `fundingIntervalHours` (Aster may change a symbol's interval) |
| `GET /fapi/v1/ticker/24hr`      | `quoteVolume`               | 24 h volume in the quote asset (USDT ~ USD); `volume` is base units |
| `GET /fapi/v1/exchangeInfo`     | filters                     | `PRICE_FILTER.tickSize`, `LOT_SIZE.stepSize/minQty`, `MIN_NOTIONAL.notional` (USDT); `requiredMarginPercent` percent (max leverage ~ 100 / it; the docs say "ignore": approximate) |
| open interest                   | -                           | NOT PUBLISHED: Aster documents no open-interest endpoint (ccxt 4.5.90 `fetchOpenInterest: False`); `open_interest_usd` stays None, never 0 |

Settlement: every N hours at `nextFundingTime` (00/08/16 UTC for 8-hour symbols), `position notional x rate`
(Binance convention); stored settled rows carry a source per interval (`settled_source(N)`) so the backtester
replays each as N hours of funding.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, TypeVar

from exchange_clients.aster.common import VENUE, AsterDataError, split_symbol
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
    utc_from_ms,
)
from perparb_core.units import UnitError

log = logging.getLogger("perparb.aster")
T = TypeVar("T")

SOURCE_EXCHANGE_INFO = "aster:exchangeInfo"
SOURCE_FUNDING_INFO = "aster:fundingInfo"
SOURCE_PREMIUM_INDEX = "aster:premiumIndex"
SOURCE_FUNDING_RATE = "aster:fundingRate"
SOURCE_TICKER = "aster:ticker24hr"
SOURCE_WS_MARK_PRICE = "aster:ws:markPrice"

DEFAULT_INTERVAL_HOURS = 8
"""Interval of a symbol that `fundingInfo` does not list ("default 8", docs funding-rate page; unverified)."""
INTERVALS = (1, 2, 4, 8)
"""Settlement intervals a settled row may stand for (Aster: 8 by default, 4 and 1 seen; 2 allowed)."""
TRADING = "TRADING"


def settled_source(interval_hours: int) -> str:
    """The `source` of a stored settled row of an `interval_hours` symbol: "aster:fundingRate" for 8 h (the
    default), "aster:fundingRate:<N>h" otherwise (`SettlementRule.source_intervals` maps it to N hours)."""
    if interval_hours == DEFAULT_INTERVAL_HOURS:
        return SOURCE_FUNDING_RATE
    return f"{SOURCE_FUNDING_RATE}:{interval_hours}h"


# ------------------------------------------------------------------------------------------------ helpers


def _try(
    rejections: list[Rejection],
    source: str,
    market: str | None,
    read: Callable[..., T],
    *args: Any,
    **kw: Any,
) -> T | None:
    try:
        return read(*args, **kw)
    except UnitError as exc:
        rejections.append(reject_unit_error(VENUE, source, market, exc))
        return None


def _price(row: Mapping[str, Any], name: str) -> Decimal | None:
    """A price: None when absent or ""; > 0 when present (0 is not a price)."""
    value = row.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return units.to_decimal(value, name, allow_negative=False, allow_zero=False)


def _int(row: Mapping[str, Any], name: str, *, minimum: int = 0) -> int:
    value = row.get(name)
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        raise UnitError(name, value, "missing" if value in (None, "") else "not an integer")
    dec = units.to_decimal(value, name)
    if dec != dec.to_integral_value() or dec < minimum:
        raise UnitError(name, value, f"not an integer >= {minimum}")
    return int(dec)


def _symbol(row: Mapping[str, Any]) -> str:
    value = row.get("symbol")
    if not isinstance(value, str) or not value.strip():
        raise UnitError("symbol", value, "missing" if value in (None, "") else "not a non-empty string")
    return value.strip().upper()


def _list_body(body: Any, what: str) -> list[Any]:
    if isinstance(body, dict):  # premiumIndex / ticker with ?symbol= answer one object
        return [body]
    if not isinstance(body, list):
        raise AsterDataError(f"{what}: body is {type(body).__name__}, expected a list")
    return body


# ------------------------------------------------------------------------------------------------ exchangeInfo


def _filters(row: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    out: dict[str, Mapping[str, Any]] = {}
    for f in row.get("filters") or []:
        if isinstance(f, dict) and isinstance(f.get("filterType"), str):
            out[f["filterType"]] = f
    return out


def parse_exchange_info(body: Any, *, intervals: Mapping[str, int] | None = None) -> MarketDataResult:
    """Every PERPETUAL symbol of `GET /fapi/v1/exchangeInfo` as a `MarketInfo` (canonical symbol = the `symbol`
    without its quote suffix, not `baseAsset`: the docs' example pairs "DOGEUSDT" with baseAsset "BLZ", copied from
    Binance's docs; status "active" when `TRADING`,
    else the venue's word lower-cased; tick, step, minimum size and notional from the filters; the funding period
    from `intervals` (symbol -> `fundingIntervalHours`, `parse_funding_info`), else 8).

    Raises:
        AsterDataError: not an object with a `symbols` list.
    """
    if not isinstance(body, dict) or not isinstance(body.get("symbols"), list):
        raise AsterDataError(
            f"exchangeInfo: expected an object with a 'symbols' list, got {str(body)[:80]!r}"
        )
    intervals = intervals or {}
    result = MarketDataResult()
    rej = result.rejections
    for row in body["symbols"]:
        if not isinstance(row, dict):
            rej.append(reject(VENUE, SOURCE_EXCHANGE_INFO, None, "symbols[]", row, "not an object"))
            continue
        name = _try(rej, SOURCE_EXCHANGE_INFO, None, _symbol, row)
        if name is None:
            continue
        if row.get("contractType", "PERPETUAL") != "PERPETUAL":
            continue  # delivery contracts are not perpetuals
        try:
            base, quote = split_symbol(name)
        except ValueError as exc:
            rej.append(reject(VENUE, SOURCE_EXCHANGE_INFO, name, "symbol", name, str(exc)))
            continue
        filters = _filters(row)
        price_f, lot_f, notional_f = (
            filters.get("PRICE_FILTER", {}),
            filters.get("LOT_SIZE", {}),
            filters.get("MIN_NOTIONAL", {}),
        )
        tick = _try(rej, SOURCE_EXCHANGE_INFO, name, _price, price_f, "tickSize")
        step = _try(rej, SOURCE_EXCHANGE_INFO, name, _price, lot_f, "stepSize")
        if tick is None or step is None:
            if not any(r.venue_symbol == name for r in rej):
                rej.append(
                    reject(
                        VENUE,
                        SOURCE_EXCHANGE_INFO,
                        name,
                        "filters",
                        row.get("filters"),
                        "no tickSize/stepSize",
                    )
                )
            continue
        min_qty = _try(rej, SOURCE_EXCHANGE_INFO, name, _price, lot_f, "minQty")
        min_notional = _try(rej, SOURCE_EXCHANGE_INFO, name, _price, notional_f, "notional")
        required = _try(rej, SOURCE_EXCHANGE_INFO, name, _price, row, "requiredMarginPercent")
        status = str(row.get("status", "")).strip()
        result.markets.append(
            MarketInfo(
                venue=VENUE,
                venue_symbol=name,
                symbol=base,
                venue_market_id=name,
                quote=quote,
                tick_size=tick,
                size_step=step,
                min_size=min_qty,
                min_notional=min_notional,
                max_leverage=(Decimal(100) / required).quantize(Decimal(1)) if required else None,
                funding_period_hours=Decimal(intervals.get(name, DEFAULT_INTERVAL_HOURS)),
                status="active" if status == TRADING else (status.lower() or "unknown"),
            )
        )
    return result


# ------------------------------------------------------------------------------------------------ fundingInfo


def parse_funding_info(body: Any) -> tuple[dict[str, int], list[Rejection]]:
    """`GET /fapi/v1/fundingInfo` -> ({symbol: fundingIntervalHours}, rejections). An interval must be a whole
    number of hours in 1..24.

    Raises:
        AsterDataError: not a list.
    """
    out: dict[str, int] = {}
    rej: list[Rejection] = []
    for row in _list_body(body, "fundingInfo"):
        if not isinstance(row, dict):
            rej.append(reject(VENUE, SOURCE_FUNDING_INFO, None, "fundingInfo[]", row, "not an object"))
            continue
        name = _try(rej, SOURCE_FUNDING_INFO, None, _symbol, row)
        if name is None:
            continue
        hours = _try(rej, SOURCE_FUNDING_INFO, name, _int, row, "fundingIntervalHours", minimum=1)
        if hours is None:
            continue
        if hours > 24:
            rej.append(
                reject(VENUE, SOURCE_FUNDING_INFO, name, "fundingIntervalHours", hours, "above 24 hours")
            )
            continue
        out[name] = hours
    return out, rej


# ------------------------------------------------------------------------------------------------ premiumIndex


def parse_premium_index(
    body: Any, markets: Mapping[str, MarketInfo], *, source: str = SOURCE_PREMIUM_INDEX
) -> FundingRatesResult:
    """`GET /fapi/v1/premiumIndex` (array, or one object) -> one PREDICTED sample per known market:
    `lastFundingRate` / the market's `funding_period_hours` (its `fundingIntervalHours`), mark and index price,
    ts = `time`. Rows of symbols not in `markets` are rejected ("unknown market"); volumes come from `markets`'
    stats when present.

    Raises:
        AsterDataError: neither a list nor an object.
    """
    result = FundingRatesResult()
    rej = result.rejections
    for row in _list_body(body, "premiumIndex"):
        if not isinstance(row, dict):
            rej.append(reject(VENUE, source, None, "premiumIndex[]", row, "not an object"))
            continue
        name = _try(rej, source, None, _symbol, row)
        if name is None:
            continue
        market = markets.get(name)
        if market is None:
            rej.append(reject(VENUE, source, name, "symbol", name, "unknown market"))
            continue
        raw = _try(rej, source, name, units.to_decimal, row.get("lastFundingRate"), "lastFundingRate")
        ts_ms = _try(rej, source, name, _int, row, "time", minimum=1)
        mark = _try(rej, source, name, _price, row, "markPrice")
        index = _try(rej, source, name, _price, row, "indexPrice")
        if raw is None or ts_ms is None:
            continue
        period = market.funding_period_hours
        result.samples.append(
            FundingRateSample(
                venue=VENUE,
                venue_symbol=name,
                symbol=market.symbol,
                kind=FundingKind.PREDICTED,
                ts=utc_from_ms(ts_ms),
                raw_rate=raw,
                raw_period_hours=period,
                rate_hourly=units.hourly_from_period(raw, period),
                mark_price=mark,
                index_price=index,
                open_interest_usd=None,
                volume_24h_usd=market.stats.volume_24h_usd,
                source=source,
            )
        )
    return result


def parse_mark_price_frame(frame: Any, markets: Mapping[str, MarketInfo]) -> FundingRatesResult:
    """A WS `markPriceUpdate` (one object, or the `!markPrice@arr` list) -> predicted samples, as
    `parse_premium_index` (`r` = rate per the symbol's interval, `p` mark, `i` index, `E` event time).

    Raises:
        AsterDataError: neither a list nor an object.
    """
    rows = []
    for row in _list_body(frame, "markPriceUpdate"):
        if isinstance(row, dict) and row.get("e") == "markPriceUpdate":
            rows.append(
                {
                    "symbol": row.get("s"),
                    "lastFundingRate": row.get("r"),
                    "markPrice": row.get("p"),
                    "indexPrice": row.get("i"),
                    "time": row.get("E"),
                }
            )
        else:
            rows.append(row)
    return parse_premium_index(rows, markets, source=SOURCE_WS_MARK_PRICE)


# ------------------------------------------------------------------------------------------------ ticker/24hr


def parse_ticker_volumes(body: Any) -> tuple[dict[str, Decimal], list[Rejection]]:
    """`GET /fapi/v1/ticker/24hr` -> ({symbol: 24 h quote volume, USDT}, rejections).

    Raises:
        AsterDataError: neither a list nor an object.
    """
    out: dict[str, Decimal] = {}
    rej: list[Rejection] = []
    for row in _list_body(body, "ticker/24hr"):
        if not isinstance(row, dict):
            rej.append(reject(VENUE, SOURCE_TICKER, None, "ticker[]", row, "not an object"))
            continue
        name = _try(rej, SOURCE_TICKER, None, _symbol, row)
        if name is None:
            continue
        volume = _try(
            rej,
            SOURCE_TICKER,
            name,
            units.to_decimal,
            row.get("quoteVolume"),
            "quoteVolume",
            allow_negative=False,
        )
        if volume is not None:
            out[name] = volume
    return out, rej


def with_stats(
    market: MarketInfo,
    *,
    mark: Decimal | None,
    index: Decimal | None,
    volume: Decimal | None,
    ts: datetime | None,
) -> MarketInfo:
    """`market` with its stats (open interest stays None: Aster publishes none)."""
    from dataclasses import replace

    return replace(
        market,
        stats=MarketStats(
            mark_price=mark, index_price=index, open_interest_usd=None, volume_24h_usd=volume, ts=ts
        ),
    )


# ------------------------------------------------------------------------------------------------ fundingRate


@dataclass(slots=True)
class HistoryPage:
    """`parse_funding_history`'s output: settled samples (ascending) and rejections."""

    samples: list[FundingRateSample] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


def interval_of(spacing_ms: int | None, current_hours: int) -> int:
    """The interval (hours) one settled row covers: the spacing to the previous settlement when it is one of
    `INTERVALS` hours (within a minute), else the symbol's current `fundingIntervalHours`."""
    if spacing_ms is not None:
        for hours in INTERVALS:
            if abs(spacing_ms - hours * 3_600_000) <= 60_000:
                return hours
    return current_hours


def parse_funding_history(body: Any, market: MarketInfo, *, previous_ms: int | None = None) -> HistoryPage:
    """`GET /fapi/v1/fundingRate` rows of one symbol -> SETTLED samples: `fundingRate` / N, ts = `fundingTime`,
    N = `interval_of(spacing, the market's funding_period_hours)`, source `settled_source(N)`. `previous_ms` is the
    last settlement before the page (spacing of its first row).

    Raises:
        AsterDataError: not a list.
    """
    page = HistoryPage()
    rej = page.rejections
    current = int(market.funding_period_hours)
    last = previous_ms
    rows = [r for r in _list_body(body, "fundingRate")]
    for row in sorted(
        rows,
        key=lambda r: (
            r.get("fundingTime", 0) if isinstance(r, dict) and isinstance(r.get("fundingTime"), int) else 0
        ),
    ):
        if not isinstance(row, dict):
            rej.append(
                reject(VENUE, SOURCE_FUNDING_RATE, market.venue_symbol, "fundingRate[]", row, "not an object")
            )
            continue
        symbol = row.get("symbol")
        if symbol is not None and str(symbol).upper() != market.venue_symbol:
            rej.append(
                reject(VENUE, SOURCE_FUNDING_RATE, market.venue_symbol, "symbol", symbol, "another market")
            )
            continue
        raw = _try(
            rej,
            SOURCE_FUNDING_RATE,
            market.venue_symbol,
            units.to_decimal,
            row.get("fundingRate"),
            "fundingRate",
        )
        ts_ms = _try(rej, SOURCE_FUNDING_RATE, market.venue_symbol, _int, row, "fundingTime", minimum=1)
        if raw is None or ts_ms is None:
            continue
        hours = interval_of(None if last is None else ts_ms - last, current)
        last = ts_ms
        period = Decimal(hours)
        page.samples.append(
            FundingRateSample(
                venue=VENUE,
                venue_symbol=market.venue_symbol,
                symbol=market.symbol,
                kind=FundingKind.SETTLED,
                ts=utc_from_ms(ts_ms),
                raw_rate=raw,
                raw_period_hours=period,
                rate_hourly=units.hourly_from_period(raw, period),
                source=settled_source(hours),
            )
        )
    return page


def epoch_ms(ts: datetime) -> int:
    """Aware datetime -> epoch ms (floor).

    Raises:
        ValueError: a naive datetime."""
    if ts.tzinfo is None:
        raise ValueError(f"{VENUE}: naive datetime {ts!r}; pass an aware UTC datetime")
    delta = ts - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
