"""The units table of DESIGN.md, in one place.

Canonical number: the signed funding rate as a **fraction per hour** (`rate_hourly`), positive when longs
pay shorts. Everything else derives from it: `rate_8h = 8 * rate_hourly`, `apr = 8760 * rate_hourly`.
APR and rates are fractions everywhere in code and JSON (0.105 means 10.5 %).

| source (venue doc / payload)                                   | raw value                        | rule           |
|----------------------------------------------------------------|----------------------------------|----------------|
| Lighter `GET /api/v1/funding-rates`, any `exchange` row         | fraction per 8 h                 | raw / 8        |
| Lighter `GET /api/v1/fundings` (`rate`, `direction`)            | percent per hour, unsigned       | ±raw / 100     |
| Lighter WS `market_stats` `current_funding_rate`/`funding_rate` | percent per hour, signed         | raw / 100      |
| Paradex `markets/summary` / `funding/data` `funding_rate`       | fraction per `funding_period_hours` | raw / period |
| Paradex `funding/data` `funding_rate_8h`                        | fraction per 8 h                 | raw / 8        |
| funding-history parquet `rate_raw`                              | fraction per `interval_hours`    | raw / interval |
| Hyperliquid `metaAndAssetCtxs` / WS `activeAssetCtx` `funding`   | fraction per hour, signed        | raw            |
| Hyperliquid `fundingHistory` `fundingRate` (ts >= 2023-06-08T01Z) | fraction per hour (settled hourly) | raw          |
| Hyperliquid `fundingHistory` `fundingRate` (ts before that)      | fraction per 8 h (00/08/16 UTC)  | raw / 8        |
| Hyperliquid `predictedFundings` rows (Binance, Bybit)           | fraction per `fundingIntervalHours` (absent: 8) | reference rates, raw / interval |
| Hyperliquid `userFunding` `delta.usdc`                          | USDC, + received / - paid        | payment as is  |
| Backpack `markPrices` / WS `markPrice` `fundingRate` / `f`      | fraction per the market's `fundingInterval` (ms; 1 h since 2025-08-20T08Z, 8 h before) | raw / (interval_ms / 3600000) |
| Backpack `fundingRates` `fundingRate` (interval END at or before 2025-08-20T08:00Z) | fraction per 8 h | raw / 8     |
| Backpack `fundingRates` `fundingRate` (interval end after that)  | fraction per 1 h; first row = interval IN PROGRESS (end > now): not settled | raw |
| Backpack `markets` `fundingRateUpperBound` / `LowerBound`       | basis points per interval        | bps / 10000 = cap / floor (fraction per interval) |
| Backpack `openInterest` `openInterest`                          | BASE units                       | x mark -> USD  |
| Backpack `history/funding` `quantity`                           | USDC, + received / - paid        | payment as is  |
| Aster `premiumIndex` `lastFundingRate`, WS `markPriceUpdate` `r` | fraction per the symbol's `fundingIntervalHours` N (`fundingInfo`; 8 when absent) | raw / N |
| Aster `fundingRate` `fundingRate` (settled)                     | fraction per the interval ended at `fundingTime` (N from settlement spacing, else `fundingIntervalHours`) | raw / N |
| Aster `income` FUNDING_FEE `income`                             | USDT, + received / - paid        | payment as is  |

Sources: ../shared/DESIGN.md "Units", ../shared/reference/PROTOCOL_NOTES.md §1.4 and §2.4, cross-checked on
recorded payloads (Lighter ETH `funding-rates` 0.000096 ≈ 8 × 0.0012 %/h from `market_stats`);
../shared/reference/hyperliquid_funding_units.md and the Hyperliquid docs (trading/funding.md: paid every hour,
positive = longs pay, baseline 0.0000125 = 0.01 %/8 h; the SDK's recorded BTC `fundingHistory`: 8-hourly rows
up to 2023-06-08T00:00Z). Hyperliquid rules are pinned by tests/conformance/test_hyperliquid_payloads.py; Aster's
(../shared/reference/aster_funding_units.md; asterdex/api-docs "Get Funding Rate Config"; the funding-rate page's
formula `/ (8/N)`) by tests/conformance/test_aster_payloads.py.
Backpack: ../shared/reference/backpack_funding_units.md and the recorded payloads (`_8h_era` files: 0.0001 per 8 h;
hourly rows 0.0000125 per hour), pinned by tests/conformance/test_backpack_payloads.py.

Numbers are `Decimal`. A JSON *number* (a float) carries at most 15 reliable significant digits (DBL_DIG),
so `to_decimal` reads a float as its 15-significant-digit decimal: Lighter's `0.00009599999999999999` is
`0.000096`, the value the venue meant. Strings are read exactly.

Why hand-written: these rules are this project's own craft (no library knows venue funding units).
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any

from perparb_core.errors import DataError

HOURS_PER_8H = Decimal(8)
HOURS_PER_YEAR = Decimal(8760)
PERCENT = Decimal(100)
BPS = Decimal(10_000)
MS_PER_HOUR = Decimal(3_600_000)


class UnitError(DataError):
    """A raw value cannot be read as a number in the expected unit. `field` and `value` name the culprit."""

    def __init__(self, field: str, value: Any, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field}={value!r}: {reason}")


def to_decimal(value: Any, field: str, *, allow_negative: bool = True, allow_zero: bool = True) -> Decimal:
    """Read a venue number (str, int or float) as a finite `Decimal`.

    Args:
        value: the raw JSON value.
        field: the payload field name, used in the error.
        allow_negative: reject values < 0 when False (open interest, prices, volumes).
        allow_zero: reject 0 when False (periods, prices where 0 means "missing").

    Raises:
        UnitError: for None, "", bool, non-numeric text, NaN, ±infinity, or a value outside the allowed range.
    """
    if value is None:
        raise UnitError(field, value, "missing")
    if isinstance(value, bool):
        raise UnitError(field, value, "boolean is not a number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UnitError(field, value, "not a finite number")
        dec = Decimal(format(value, ".15g"))
    elif isinstance(value, int):
        dec = Decimal(value)
    elif isinstance(value, Decimal):
        dec = value
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise UnitError(field, value, "empty string")
        try:
            dec = Decimal(text)
        except InvalidOperation:
            raise UnitError(field, value, "not a number") from None
    else:
        raise UnitError(field, value, f"unexpected type {type(value).__name__}")
    if not dec.is_finite():
        raise UnitError(field, value, "not a finite number")
    if not allow_negative and dec < 0:
        raise UnitError(field, value, "negative")
    if not allow_zero and dec == 0:
        raise UnitError(field, value, "zero")
    if dec == 0:
        dec = Decimal(0)  # normalise -0
    return dec


def optional_decimal(value: Any, field: str, *, allow_negative: bool = True) -> Decimal | None:
    """Like `to_decimal`, but None and "" mean "not provided" and give None.

    Raises:
        UnitError: for a present value that is not a finite number (or negative when not allowed).
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return to_decimal(value, field, allow_negative=allow_negative)


def hourly_from_period(raw: Decimal, period_hours: Decimal) -> Decimal:
    """Fraction per `period_hours` -> fraction per hour.

    Raises:
        UnitError: when the period is not positive.
    """
    if period_hours <= 0:
        raise UnitError("period_hours", period_hours, "funding period must be positive")
    return raw / period_hours


def hourly_from_8h(raw_8h: Decimal) -> Decimal:
    """Fraction per 8 h -> fraction per hour (Lighter `funding-rates`, Paradex `funding_rate_8h`)."""
    return raw_8h / HOURS_PER_8H


def hourly_from_percent_per_hour(raw_percent: Decimal) -> Decimal:
    """Signed percent per hour -> fraction per hour (Lighter WS `market_stats`)."""
    return raw_percent / PERCENT


def hourly_from_unsigned_percent(rate_percent: Decimal, direction: Any) -> Decimal:
    """Unsigned percent per hour plus a paying side -> signed fraction per hour (Lighter `GET /api/v1/fundings`).

    `rate` is an unsigned percent per hour; `direction` "long" means longs paid (positive), "short" means
    shorts paid (negative). Source: PROTOCOL_NOTES §1.4, payload `rest_fundings_market_1h_fragment.json`.

    Raises:
        UnitError: for a direction other than "long"/"short", or a negative `rate`.
    """
    if rate_percent < 0:
        raise UnitError("rate", rate_percent, "an unsigned funding rate cannot be negative")
    if direction == "long":
        return rate_percent / PERCENT
    if direction == "short":
        return -rate_percent / PERCENT
    raise UnitError("direction", direction, "expected 'long' or 'short'")


def hours_from_ms(interval_ms: Any, field: str = "interval_ms") -> Decimal:
    """A period in milliseconds (a JSON number or decimal text) -> hours (Backpack `markets.fundingInterval`:
    3600000 -> 1, 28800000 -> 8).

    Raises:
        UnitError: missing, not a number, zero or negative.
    """
    ms = to_decimal(interval_ms, field, allow_negative=False, allow_zero=False)
    return ms / MS_PER_HOUR


def fraction_from_bps(bps: Decimal) -> Decimal:
    """Basis points -> fraction (Backpack `fundingRateUpperBound` "100" -> 0.01)."""
    return bps / BPS


def rate_8h(rate_hourly: Decimal) -> Decimal:
    """Fraction per hour -> fraction per 8 h."""
    return rate_hourly * HOURS_PER_8H


def apr(rate_hourly: Decimal) -> Decimal:
    """Fraction per hour -> annualised fraction (simple, 8760 h/year)."""
    return rate_hourly * HOURS_PER_YEAR


def hourly_from_apr(apr_value: Decimal) -> Decimal:
    """Annualised fraction -> fraction per hour (inverse of `apr`)."""
    return apr_value / HOURS_PER_YEAR
