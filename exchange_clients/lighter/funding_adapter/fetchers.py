"""Pure parsers of Lighter's market and funding payloads: one per payload, dict in, result out, no I/O.

Each parser validates every field it uses. A bad row is returned as a `Rejection` (logged at WARNING with its
field and reason by `perparb_core.models.reject`) and the rest of the payload is kept; a bad row is
never stored as zero. An envelope that cannot be used at all (not an object, body `code` other than 200, the
top-level list missing or not a list) raises instead.

Units (DESIGN.md "Units", PROTOCOL_NOTES §1.4, `perparb_core.units`):

| payload                 | field                                  | unit                                  |
|-------------------------|----------------------------------------|---------------------------------------|
| `GET orderBookDetails`  | `open_interest`                        | BASE units (x mark price -> USD)      |
|                         | `daily_quote_token_volume`             | USD (quote)                           |
|                         | `maker_fee`, `taker_fee`               | PERCENT ("0.0280" = 0.00028)          |
|                         | `min_initial_margin_fraction`          | 1e-4 units (200 = 2 % -> 50x)         |
| `GET funding-rates`     | `rate`                                 | fraction per 8 h                      |
| `GET fundings`          | `rate` + `direction`                   | unsigned percent per hour + sign      |
|                         | `timestamp`                            | epoch SECONDS                         |
| WS `market_stats`       | `current_funding_rate`, `funding_rate` | signed percent per hour               |
|                         | `funding_timestamp`, `timestamp`       | epoch MILLISECONDS                    |
|                         | `open_interest`                        | USD (see `parse_market_stats_frame`)  |

Numbers go through `units.to_decimal`: JSON floats are read at 15 significant digits (so Lighter's
`0.00009599999999999999` is `0.000096`), strings exactly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from exchange_clients.lighter.common import VENUE, LighterDataError, LighterRejectedError, normalize_symbol
from perparb_core import units
from perparb_core.models import (
    FundingKind,
    FundingRateSample,
    FundingRatesResult,
    MarketDataResult,
    MarketInfo,
    MarketStats,
    ReferenceRate,
    Rejection,
    reject,
    reject_unit_error,
    utc_from_ms,
    utc_from_s,
)

log = logging.getLogger("perparb.normalise")
T = TypeVar("T")

SOURCE_ORDER_BOOK_DETAILS = "lighter:orderBookDetails"
SOURCE_FUNDING_RATES = "lighter:funding-rates"
SOURCE_FUNDINGS = "lighter:fundings"
SOURCE_MARKET_STATS = "lighter:ws:market_stats"

#: Lighter settles funding every hour on the hour (docs.lighter.xyz "Funding"; PROTOCOL_NOTES §1.4).
FUNDING_PERIOD_HOURS = Decimal(1)
#: `GET /api/v1/funding-rates` quotes every exchange's rate per 8 hours (PROTOCOL_NOTES §1.4).
FUNDING_RATES_PERIOD_HOURS = Decimal(8)
#: Margin fractions are integers in 1e-4 units (lighter-go `MarginFractionTick`; PROTOCOL_NOTES §1.2).
MARGIN_FRACTION_TICK = Decimal(10_000)
#: Seconds above this are surely milliseconds (year 5138); `fundings` timestamps must be seconds.
_MAX_EPOCH_SECONDS = 10**11


def envelope_rows(body: Any, key: str, source: str) -> list[Any]:
    """The top-level list `key` of a Lighter response body, after checking the envelope.

    Every Lighter body carries `"code": 200` on success (PROTOCOL_NOTES §1.1); a missing `code` is tolerated.

    Raises:
        LighterDataError: `body` is not an object, or `body[key]` is missing or not a list (logged at
            WARNING).
        LighterRejectedError: `body["code"]` is present and not 200 (e.g. 20001 "invalid param").
    """
    if not isinstance(body, dict):
        log.warning("lighter [%s] rejected: body is %s, expected a JSON object", source, type(body).__name__)
        raise LighterDataError(f"{source}: body is {type(body).__name__}, expected a JSON object")
    code = body.get("code")
    if code is not None and code != 200:
        log.warning("lighter [%s] rejected: code=%r message=%r", source, code, body.get("message"))
        raise LighterRejectedError(f"{source}: code {code}: {str(body.get('message', '')).strip()}")
    rows = body.get(key)
    if not isinstance(rows, list):
        found = "missing" if rows is None else f"a {type(rows).__name__}"
        log.warning("lighter [%s] rejected: top-level %r is %s, expected a list", source, key, found)
        raise LighterDataError(f"{source}: top-level {key!r} is {found}, expected a list")
    return rows


# --- field readers (raise units.UnitError naming the field) ---------------------------------------------


def _int_field(row: Mapping[str, Any], name: str, *, minimum: int = 0, maximum: int | None = None) -> int:
    """An integer field (JSON int, or an integral decimal string). Bools and fractions are refused."""
    value = row.get(name)
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        raise units.UnitError(name, value, "missing" if value in (None, "") else "not an integer")
    if isinstance(value, int):
        number = value
    else:
        dec = units.to_decimal(value, name)
        if dec != dec.to_integral_value():
            raise units.UnitError(name, value, "not an integer")
        number = int(dec)
    if number < minimum or (maximum is not None and number > maximum):
        raise units.UnitError(
            name, value, f"out of range [{minimum}, {maximum if maximum is not None else '∞'}]"
        )
    return number


def _str_field(row: Mapping[str, Any], name: str) -> str:
    value = row.get(name)
    if not isinstance(value, str) or not value.strip():
        raise units.UnitError(name, value, "missing" if value in (None, "") else "not a non-empty string")
    return value.strip()


def _price(row: Mapping[str, Any], name: str) -> Decimal | None:
    """A price field: None when absent or ""; must be > 0 when present (0 means "no price" on Lighter)."""
    value = row.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return units.to_decimal(value, name, allow_negative=False, allow_zero=False)


def _row_label(row: Mapping[str, Any]) -> str | None:
    """Best-effort symbol of a row for rejection messages."""
    symbol = row.get("symbol")
    if isinstance(symbol, str) and symbol.strip():
        return symbol.strip()
    market_id = row.get("market_id")
    return f"market_id={market_id}" if market_id is not None else None


# --- GET /api/v1/orderBookDetails ----------------------------------------------------------------------


def _parse_market(row: Mapping[str, Any], now: datetime, rejections: list[Rejection]) -> MarketInfo | None:
    src = SOURCE_ORDER_BOOK_DETAILS
    label = _row_label(row)
    try:
        venue_symbol = _str_field(row, "symbol")
        market_id = _int_field(row, "market_id")
        price_decimals = _int_field(row, "price_decimals", maximum=18)
        size_decimals = _int_field(row, "size_decimals", maximum=18)
        symbol = normalize_symbol(venue_symbol)
    except units.UnitError as exc:
        rejections.append(reject_unit_error(VENUE, src, label, exc))
        return None
    market_type = row.get("market_type")
    if market_type is not None and market_type != "perp":
        rejections.append(reject(VENUE, src, venue_symbol, "market_type", market_type, "not a perpetual"))
        return None

    def optional(read: Callable[[], T]) -> T | None:
        """Run `read()`; on a UnitError record the rejection of that field and give None (market kept)."""
        try:
            return read()
        except units.UnitError as exc:
            rejections.append(reject_unit_error(VENUE, src, venue_symbol, exc))
            return None

    min_size = optional(
        lambda: units.to_decimal(row.get("min_base_amount"), "min_base_amount", allow_negative=False)
    )
    min_notional = optional(
        lambda: units.to_decimal(row.get("min_quote_amount"), "min_quote_amount", allow_negative=False),
    )
    imf = optional(
        lambda: units.to_decimal(
            row.get("min_initial_margin_fraction"),
            "min_initial_margin_fraction",
            allow_negative=False,
            allow_zero=False,
        ),
    )
    max_leverage = MARGIN_FRACTION_TICK / imf if imf is not None else None
    default_imf = optional(
        lambda: units.optional_decimal(
            row.get("default_initial_margin_fraction"),
            "default_initial_margin_fraction",
            allow_negative=False,
        )
    )
    default_leverage = MARGIN_FRACTION_TICK / default_imf if default_imf else None
    maker_pct = optional(lambda: units.to_decimal(row.get("maker_fee"), "maker_fee"))
    taker_pct = optional(lambda: units.to_decimal(row.get("taker_fee"), "taker_fee"))

    status = row.get("status")
    if not isinstance(status, str) or not status.strip():
        rejections.append(
            reject(VENUE, src, venue_symbol, "status", status, "missing; market status unknown")
        )
        status = "unknown"

    # Mark price: `mark_price` when the payload has it, else `last_trade_price` (orderBookDetails carries only
    # the latter: venue-data/lighter/rest_orderBookDetails_market0.json).
    mark = optional(lambda: _price(row, "mark_price"))
    if mark is None:
        mark = optional(lambda: _price(row, "last_trade_price"))
    index_price = optional(lambda: _price(row, "index_price"))
    volume = optional(
        lambda: units.optional_decimal(
            row.get("daily_quote_token_volume"), "daily_quote_token_volume", allow_negative=False
        ),
    )
    oi_base = optional(
        lambda: units.optional_decimal(row.get("open_interest"), "open_interest", allow_negative=False),
    )
    oi_usd: Decimal | None = None
    if oi_base is not None:
        if mark is None:
            rejections.append(
                reject(
                    VENUE,
                    src,
                    venue_symbol,
                    "open_interest",
                    row.get("open_interest"),
                    "no mark price to convert to USD",
                )
            )
        else:
            oi_usd = oi_base * mark

    return MarketInfo(
        venue=VENUE,
        venue_symbol=venue_symbol,
        symbol=symbol,
        venue_market_id=str(market_id),
        tick_size=Decimal(1).scaleb(-price_decimals),
        size_step=Decimal(1).scaleb(-size_decimals),
        min_size=min_size,
        min_notional=min_notional,
        max_leverage=max_leverage,
        funding_period_hours=FUNDING_PERIOD_HOURS,
        default_leverage=default_leverage,
        maker_fee=maker_pct / units.PERCENT if maker_pct is not None else None,
        taker_fee=taker_pct / units.PERCENT if taker_pct is not None else None,
        status=status.strip(),
        stats=MarketStats(
            mark_price=mark, index_price=index_price, open_interest_usd=oi_usd, volume_24h_usd=volume, ts=now
        ),
    )


def parse_order_book_details(body: Any, now: datetime) -> MarketDataResult:
    """Parse `GET /api/v1/orderBookDetails` into perpetual markets.

    Input: `{code:200, order_book_details:[PerpsOrderBookDetail], spot_order_book_details:[...]}`
    (payload venue-data/lighter/rest_orderBookDetails_market0.json; model in lighter_rest_reference.md).
    Only `order_book_details` (perps) is read; spot markets are ignored.

    Per market:
      * `venue_market_id` = `market_id` as text; `symbol` = normalised `symbol`.
      * `tick_size` = 10^-`price_decimals`, `size_step` = 10^-`size_decimals`.
      * `min_size` = `min_base_amount` (base), `min_notional` = `min_quote_amount` (USD).
      * `max_leverage` = 10000 / `min_initial_margin_fraction` (1e-4 units: 200 -> 2 % -> 50x;
        PROTOCOL_NOTES §1.2); `default_leverage` = 10000 / `default_initial_margin_fraction` (500 -> 20x).
      * `maker_fee` / `taker_fee`: the strings are PERCENT ("0.0000" standard; premium "0.0280" =
        0.028 % = 0.00028) and are stored as fractions (÷ 100). Source: PROTOCOL_NOTES §1.6
        (apidocs.lighter.xyz account-types).
      * `funding_period_hours` = 1 (hourly settlement), `status` as sent.
      * stats: `mark_price` if present, else `last_trade_price` (documented fallback: orderBookDetails has
        no mark price); `index_price` if present; `volume_24h_usd` = `daily_quote_token_volume`;
        `open_interest_usd` = `open_interest` (BASE units here: 4 decimals = ETH `size_decimals`) x mark.

    Rejections: a market missing `symbol` / `market_id` / `price_decimals` / `size_decimals` (or with a
    non-perp `market_type`, or a duplicate `market_id`) is dropped. Any other bad field (e.g. a negative
    `open_interest`, a zero margin fraction, an empty fee) is rejected ALONE: the market is kept with that
    field None (never 0). Zero is a valid open interest, volume or fee; a zero price means "no price" and
    is rejected.

    Raises:
        LighterDataError: body not an object, or `order_book_details` missing / not a list.
        LighterRejectedError: body `code` other than 200.
    """
    rows = envelope_rows(body, "order_book_details", SOURCE_ORDER_BOOK_DETAILS)
    result = MarketDataResult()
    seen: set[str] = set()
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            result.rejections.append(
                reject(
                    VENUE,
                    SOURCE_ORDER_BOOK_DETAILS,
                    None,
                    f"order_book_details[{i}]",
                    row,
                    "row is not an object",
                )
            )
            continue
        market = _parse_market(row, now, result.rejections)
        if market is None:
            continue
        if market.venue_market_id in seen:
            result.rejections.append(
                reject(
                    VENUE,
                    SOURCE_ORDER_BOOK_DETAILS,
                    market.venue_symbol,
                    "market_id",
                    row.get("market_id"),
                    "duplicate market",
                )
            )
            continue
        seen.add(market.venue_market_id)
        result.markets.append(market)
    return result


# --- GET /api/v1/funding-rates -------------------------------------------------------------------------


def parse_funding_rates(
    body: Any, markets_by_market_id: Mapping[str, MarketInfo], now: datetime
) -> FundingRatesResult:
    """Parse `GET /api/v1/funding-rates` into Lighter's predicted rates and other venues' reference rates.

    Input: `{code:200, funding_rates:[{market_id:int, exchange:str, symbol:str, rate:float}]}`
    (payload venue-data/lighter/rest_funding-rates.json). `rate` is a FRACTION PER 8 HOURS for every exchange
    (PROTOCOL_NOTES §1.4: ETH 0.000096 = 8 x 0.0012 %/h).

    Output:
      * `exchange == "lighter"` -> `FundingRateSample(kind=PREDICTED, ts=now, raw_rate=rate,
        raw_period_hours=8, rate_hourly=rate/8, source="lighter:funding-rates")` with mark / index /
        OI USD / volume copied from the market's `stats`. A row whose `market_id` is not in
        `markets_by_market_id` (keys: `venue_market_id`, text) is rejected ("unknown market"), as is one
        whose `symbol` contradicts the market's, or a duplicate.
      * any other exchange (binance, bybit, hyperliquid) -> `ReferenceRate(source_venue="lighter",
        venue=exchange, symbol, raw period 8)`; never in `samples`.
      * missing / "" / "NaN" / non-numeric `rate`, missing `exchange`, bad `market_id` -> rejected with
        the field named.

    Raises:
        LighterDataError: body not an object, or `funding_rates` missing / not a list.
        LighterRejectedError: body `code` other than 200.
    """
    src = SOURCE_FUNDING_RATES
    rows = envelope_rows(body, "funding_rates", src)
    result = FundingRatesResult()
    seen: set[str] = set()
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            result.rejections.append(
                reject(VENUE, src, None, f"funding_rates[{i}]", row, "row is not an object")
            )
            continue
        label = _row_label(row)
        try:
            exchange = _str_field(row, "exchange").lower()
            raw = units.to_decimal(row.get("rate"), "rate")
            if exchange != VENUE:
                symbol = normalize_symbol(_str_field(row, "symbol"))
                result.reference_rates.append(
                    ReferenceRate(
                        source_venue=VENUE,
                        venue=exchange,
                        symbol=symbol,
                        ts=now,
                        raw_rate=raw,
                        raw_period_hours=FUNDING_RATES_PERIOD_HOURS,
                        rate_hourly=units.hourly_from_8h(raw),
                    )
                )
                continue
            market_key = str(_int_field(row, "market_id"))
        except units.UnitError as exc:
            result.rejections.append(reject_unit_error(VENUE, src, label, exc))
            continue
        market = markets_by_market_id.get(market_key)
        if market is None:
            result.rejections.append(
                reject(VENUE, src, label, "market_id", row.get("market_id"), "unknown market")
            )
            continue
        row_symbol = row.get("symbol")
        if (
            isinstance(row_symbol, str)
            and row_symbol.strip()
            and normalize_symbol(row_symbol) != market.symbol
        ):
            result.rejections.append(
                reject(
                    VENUE, src, label, "symbol", row_symbol, f"market {market_key} is {market.venue_symbol}"
                )
            )
            continue
        if market_key in seen:
            result.rejections.append(
                reject(VENUE, src, label, "market_id", row.get("market_id"), "duplicate row")
            )
            continue
        seen.add(market_key)
        stats = market.stats
        result.samples.append(
            FundingRateSample(
                venue=VENUE,
                venue_symbol=market.venue_symbol,
                symbol=market.symbol,
                kind=FundingKind.PREDICTED,
                ts=now,
                raw_rate=raw,
                raw_period_hours=FUNDING_RATES_PERIOD_HOURS,
                rate_hourly=units.hourly_from_8h(raw),
                mark_price=stats.mark_price,
                index_price=stats.index_price,
                open_interest_usd=stats.open_interest_usd,
                volume_24h_usd=stats.volume_24h_usd,
                source=src,
            )
        )
    return result


# --- GET /api/v1/fundings ------------------------------------------------------------------------------


def parse_fundings(body: Any, market: MarketInfo) -> FundingRatesResult:
    """Parse `GET /api/v1/fundings` (settled funding history of one market) into SETTLED samples.

    Input: `{code:200, resolution:"1h", fundings:[{timestamp:int, value:str, rate:str, direction:str}]}`
    (payload venue-data/lighter/rest_fundings_market_1h_fragment.json; PROTOCOL_NOTES §1.4): `timestamp`
    in epoch SECONDS, `rate` an UNSIGNED PERCENT per hour, sign from `direction` ("long" = longs paid ->
    positive, "short" -> negative); `value` (USDC per unit of base) is not used.

    Output per row: `FundingRateSample(kind=SETTLED, ts=timestamp, raw_rate=SIGNED PERCENT per hour
    (+rate for long, -rate for short), raw_period_hours=1, rate_hourly=hourly_from_unsigned_percent(rate,
    direction), source="lighter:fundings")`. NOTE the raw unit of this source is PERCENT, not a
    fraction: raw 0.0012 (long) -> rate_hourly 0.000012. Rows keep the payload order (the adapter sorts).

    Rejections: bad `direction` (e.g. "???"), missing / "" / non-numeric / negative `rate`, missing or
    non-second `timestamp` -> rejected with the field named, other rows kept.

    Raises:
        LighterDataError: body not an object, `fundings` missing / not a list, or `resolution` not "1h".
        LighterRejectedError: body `code` other than 200.
    """
    src = SOURCE_FUNDINGS
    rows = envelope_rows(body, "fundings", src)
    resolution = body.get("resolution")
    if resolution is not None and resolution != "1h":
        log.warning("lighter [%s] rejected: resolution=%r, expected '1h'", src, resolution)
        raise LighterDataError(f"{src}: resolution {resolution!r}, expected '1h'", market.venue_symbol)
    result = FundingRatesResult()
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            result.rejections.append(
                reject(VENUE, src, market.venue_symbol, f"fundings[{i}]", row, "row is not an object")
            )
            continue
        try:
            ts_s = _int_field(row, "timestamp", minimum=1, maximum=_MAX_EPOCH_SECONDS)
            rate_pct = units.to_decimal(row.get("rate"), "rate")
            direction = row.get("direction")
            hourly = units.hourly_from_unsigned_percent(rate_pct, direction)
        except units.UnitError as exc:
            result.rejections.append(reject_unit_error(VENUE, src, market.venue_symbol, exc))
            continue
        signed_pct = rate_pct if direction == "long" else -rate_pct
        if rate_pct == 0:  # no "-0" from a zero "short" row
            signed_pct = hourly = Decimal(0)
        result.samples.append(
            FundingRateSample(
                venue=VENUE,
                venue_symbol=market.venue_symbol,
                symbol=market.symbol,
                kind=FundingKind.SETTLED,
                ts=utc_from_s(ts_s),
                raw_rate=signed_pct,
                raw_period_hours=FUNDING_PERIOD_HOURS,
                rate_hourly=hourly,
                source=src,
            )
        )
    return result


# --- WS update/market_stats ----------------------------------------------------------------------------


def _parse_stats_entry(
    entry: Mapping[str, Any],
    key: str | None,
    frame_ts: datetime,
    markets_by_market_id: Mapping[str, MarketInfo] | None,
    result: FundingRatesResult,
) -> None:
    src = SOURCE_MARKET_STATS
    label = _row_label(entry) or (f"market_id={key}" if key is not None else None)
    try:
        if entry.get("market_id") is None and key is not None:
            market_key = str(_int_field({"market_id": key}, "market_id"))
        else:
            market_key = str(_int_field(entry, "market_id"))
    except units.UnitError as exc:
        result.rejections.append(reject_unit_error(VENUE, src, label, exc))
        return
    if key is not None and key != market_key:
        result.rejections.append(
            reject(VENUE, src, label, "market_id", entry.get("market_id"), f"does not match its key {key!r}")
        )
        return
    known = markets_by_market_id.get(market_key) if markets_by_market_id is not None else None
    raw_symbol = entry.get("symbol")
    if isinstance(raw_symbol, str) and raw_symbol.strip():
        venue_symbol = raw_symbol.strip()
    elif known is not None:
        # older frames carry no symbol (ws_ccxt_update_market_stats_market0.json)
        venue_symbol = known.venue_symbol
    else:
        result.rejections.append(
            reject(VENUE, src, label, "symbol", raw_symbol, "missing and market_id unknown")
        )
        return
    symbol = normalize_symbol(venue_symbol)

    def optional(read: Callable[[], T]) -> T | None:
        try:
            return read()
        except units.UnitError as exc:
            result.rejections.append(reject_unit_error(VENUE, src, venue_symbol, exc))
            return None

    mark = optional(lambda: _price(entry, "mark_price"))
    index_price = optional(lambda: _price(entry, "index_price"))
    # open_interest in market_stats is USD notional, not base units: see parse_market_stats_frame.
    oi_usd = optional(
        lambda: units.optional_decimal(entry.get("open_interest"), "open_interest", allow_negative=False)
    )
    volume = optional(
        lambda: units.optional_decimal(
            entry.get("daily_quote_token_volume"), "daily_quote_token_volume", allow_negative=False
        )
    )

    def sample(kind: FundingKind, ts: datetime, raw: Decimal) -> FundingRateSample:
        return FundingRateSample(
            venue=VENUE,
            venue_symbol=venue_symbol,
            symbol=symbol,
            kind=kind,
            ts=ts,
            raw_rate=raw,
            raw_period_hours=FUNDING_PERIOD_HOURS,
            rate_hourly=units.hourly_from_percent_per_hour(raw),
            mark_price=mark,
            index_price=index_price,
            open_interest_usd=oi_usd,
            volume_24h_usd=volume,
            source=src,
        )

    current = optional(lambda: units.to_decimal(entry.get("current_funding_rate"), "current_funding_rate"))
    if current is not None:
        result.samples.append(sample(FundingKind.PREDICTED, frame_ts, current))
    try:
        settled = units.to_decimal(entry.get("funding_rate"), "funding_rate")
        settled_ms = _int_field(entry, "funding_timestamp", minimum=1)
    except units.UnitError as exc:
        result.rejections.append(reject_unit_error(VENUE, src, venue_symbol, exc))
        return
    # funding_timestamp is HH:00:00.001 (ms): floor to the whole second -> HH:00:00, the `fundings` timestamp.
    result.samples.append(sample(FundingKind.SETTLED, utc_from_s(settled_ms // 1000), settled))


def parse_market_stats_frame(
    frame: Any, now: datetime, markets_by_market_id: Mapping[str, MarketInfo] | None = None
) -> FundingRatesResult:
    """Parse a WS `update/market_stats` (or `subscribed/market_stats`) frame into funding samples.

    Forms (PROTOCOL_NOTES §1.5):
      * single market: `{"channel":"market_stats:0", "market_stats":{market_id, symbol, ...},
        "timestamp":ms, ...}` (venue-data/lighter/ws_update_market_stats_market0.json; the older ccxt
        capture ws_ccxt_update_market_stats_market0.json has no `symbol`: it is then taken from
        `markets_by_market_id`);
      * all markets: `{"channel":"market_stats:all", "market_stats":{"116":{...}, ...}}` keyed by market
        id (venue-data/lighter/ws_update_market_stats_all.json).

    Per market: `current_funding_rate` (estimate for the hour in progress) -> PREDICTED sample at the
    frame's `timestamp` (ms; `now` when absent); `funding_rate` (last settled) + `funding_timestamp` (ms,
    HH:00:00.001, floored to the whole second so it matches `GET /fundings` timestamps) -> SETTLED sample.
    Both are SIGNED PERCENT per hour: raw_rate = the percent value, raw_period_hours = 1,
    rate_hourly = raw / 100 ("-0.0012" -> -0.000012). Source "lighter:ws:market_stats".

    Stats copied onto both samples: mark_price, index_price, volume_24h_usd = `daily_quote_token_volume`,
    and open_interest_usd = `open_interest` AS IS: in market_stats `open_interest` is already USD
    notional, unlike orderBookDetails where it is base units. Evidence from the recorded payloads:
      1. ws_update_market_stats_market0.json: ETH `open_interest` "86574362.972120" at mark 1914.32. As
         base units that is 86.6 M ETH (~72 % of all ETH in existence, $165.7 B); as USD it is $86.6 M =
         45,225 ETH.
      2. ws_ccxt_update_market_stats_market0.json (2025-11-19): ETH "122736286.659423" at mark 3013.91 ->
         40,723 ETH if USD, within 3 % of the 39,559.3278 ETH (base) that
         rest_orderBookDetails_market0.json, recorded by the same ccxt contributors in 2025-11/12,
         reports as `open_interest`.
      3. Decimal places: market_stats `open_interest` has 6 decimals (= `supported_quote_decimals` 6,
         USDC), like `open_interest_limit`; orderBookDetails `open_interest` has 4 (= ETH
         `size_decimals` 4, base).
      4. ws_update_market_stats_all.json: GOOGL "1580482.874880" at 332.80 -> $1.58 M (4,749 shares) as
         USD, an implausible $526 M as base.

    Rejections (field named, other markets and the other sample of the same market kept): a missing / "" /
    non-numeric rate, a missing `funding_timestamp`, a negative open interest (OI then None), a symbol that
    is neither in the entry nor in `markets_by_market_id`, an entry that is not an object.

    Raises:
        LighterDataError: the frame is not an object, its `channel` is not `market_stats:<id>|all`, or its
            `market_stats` is not an object.
    """
    src = SOURCE_MARKET_STATS
    if not isinstance(frame, dict):
        log.warning("lighter [%s] rejected: frame is %s, expected an object", src, type(frame).__name__)
        raise LighterDataError(f"{src}: frame is {type(frame).__name__}, expected a JSON object")
    channel = frame.get("channel")
    if not isinstance(channel, str) or not channel.startswith("market_stats:"):
        log.warning("lighter [%s] rejected: channel=%r", src, channel)
        raise LighterDataError(f"{src}: channel {channel!r} is not market_stats:<market_id|all>")
    stats = frame.get("market_stats")
    if not isinstance(stats, dict):
        log.warning("lighter [%s] rejected: market_stats is %s", src, type(stats).__name__)
        raise LighterDataError(f"{src}: market_stats is {type(stats).__name__}, expected an object")
    result = FundingRatesResult()
    frame_ts = now
    if frame.get("timestamp") is not None:
        try:
            frame_ts = utc_from_ms(_int_field(frame, "timestamp", minimum=1))
        except units.UnitError as exc:  # keep the frame, date its predicted samples at the collection time
            result.rejections.append(reject_unit_error(VENUE, src, None, exc))
    channel_key = channel.split(":", 1)[1]
    if channel_key == "all":
        for key, entry in stats.items():
            if not isinstance(entry, dict):
                result.rejections.append(
                    reject(
                        VENUE,
                        src,
                        f"market_id={key}",
                        f"market_stats[{key}]",
                        entry,
                        "entry is not an object",
                    )
                )
                continue
            _parse_stats_entry(entry, str(key), frame_ts, markets_by_market_id, result)
    else:
        _parse_stats_entry(stats, channel_key, frame_ts, markets_by_market_id, result)
    return result
