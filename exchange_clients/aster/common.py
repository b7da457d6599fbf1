"""Aster: venue id, per-venue error classes and symbol normalisation.

Aster's futures API is a Binance-USDⓈ-M clone (`https://fapi.asterdex.com`, ../shared/reference/aster_funding_units.md):
symbols are `<BASE><QUOTE>` without separator ("BTCUSDT", "1000PEPEUSDT", some "...USD" / "...USDC").

Errors subclass both `AsterError` and the venue-neutral kind from `perparb_core.errors`. Aster answers errors as
`{"code": <negative int>, "msg": <text>}` (asterdex/api-docs V3 "Error Codes"); the error keeps the code in `code`.
Messages name the market and the value at fault, never a secret.
"""

from __future__ import annotations

from perparb_core.errors import (
    VenueAuthError,
    VenueDataError,
    VenueError,
    VenueRateLimitedError,
    VenueRejectedError,
    VenueUnavailableError,
)

VENUE = "aster"
MAINNET_URL = "https://fapi.asterdex.com"
MAINNET_WS_URL = "wss://fstream.asterdex.com"
#: Quote assets of Aster perpetual symbols, longest first (so "USDC" is not read as "USD" + "C").
QUOTES = ("USDT", "USDC", "USD1", "USD")


class AsterError(VenueError):
    """Any error talking to Aster or reading its data.

    Args:
        message: what went wrong, naming the value at fault (never a secret).
        market: the symbol concerned ("BTCUSDT"), when one is.
        code: Aster's error code (`{"code": -2019, ...}`), when the venue sent one.
    """

    def __init__(self, message: str, market: str | None = None, *, code: int | None = None) -> None:
        super().__init__(VENUE, message, market=market)
        self.code = code


class AsterUnavailableError(AsterError, VenueUnavailableError):
    """HTTP >= 500 (503: "execution status UNKNOWN"), -1001 DISCONNECTED, -1006 / -1007 (status unknown), a
    timeout or a connection error. Retryable for reads; a placement's outcome is then unknown."""


class AsterRateLimitedError(AsterError, VenueRateLimitedError):
    """HTTP 429 / 418 (IP banned) or -1003 TOO_MANY_REQUESTS / -1015 TOO_MANY_ORDERS. `retry_after_seconds` is the
    Retry-After header when sent. Retryable."""

    def __init__(
        self,
        message: str,
        market: str | None = None,
        *,
        code: int | None = None,
        retry_after_seconds: float | None = None,
    ) -> None:
        super().__init__(message, market, code=code)
        self.retry_after_seconds = retry_after_seconds


class AsterRejectedError(AsterError, VenueRejectedError):
    """Aster refused the request: any other 4xx `{"code","msg"}` (-1121 Invalid symbol, -2019 Margin is
    insufficient, -4164 MIN_NOTIONAL, -2013 Order does not exist, ...). Not retryable."""


class AsterAuthError(AsterError, VenueAuthError):
    """-1022 INVALID_SIGNATURE, -2014 / -2015 (API key format / invalid key, IP or permissions), -1002 UNAUTHORIZED,
    -1021 / -4225 (timestamp or nonce outside the window), HTTP 401 / 403. Not retryable."""


class AsterDataError(AsterError, VenueDataError):
    """An Aster response or frame that cannot be used at all (not JSON, wrong top-level shape)."""


def split_symbol(venue_symbol: str) -> tuple[str, str]:
    """(base, quote) of an Aster symbol: "BTCUSDT" -> ("BTC", "USDT"), "1000PEPEUSDT" -> ("1000PEPE", "USDT").

    Raises:
        ValueError: no known quote suffix, or nothing before it."""
    text = venue_symbol.strip().upper()
    for quote in QUOTES:
        if text.endswith(quote) and len(text) > len(quote):
            return text[: -len(quote)], quote
    raise ValueError(f"{VENUE}: symbol {venue_symbol!r} does not end with a known quote asset {QUOTES}")


def normalize_symbol(venue_symbol: str) -> str:
    """Aster symbol -> canonical base asset: "BTCUSDT" -> "BTC", "1000PEPEUSDT" -> "1000PEPE" (price per 1,000
    PEPE, like Lighter's and Paradex's "1000PEPE"). Source: venue-data/aster/rest_exchangeInfo_docexample.json
    (`symbol` = `baseAsset` + `quoteAsset`).

    Raises:
        ValueError: not an Aster perpetual symbol."""
    return split_symbol(venue_symbol)[0]


def venue_symbol_of(symbol: str, quote: str = "USDT") -> str:
    """Canonical base asset (or an Aster symbol) -> Aster symbol: "BTC" -> "BTCUSDT"; "BTCUSDT" stays."""
    text = symbol.strip().upper()
    try:
        split_symbol(text)
        return text
    except ValueError:
        return text + quote
