"""Paradex: venue constant, per-venue error classes and symbol normalisation.

Shared by the funding adapter and (later) the trading client. Error classes subclass both `ParadexError`
and the venue-neutral kind from `perparb_core.errors`, so callers can catch either
`ParadexError` (anything from Paradex) or e.g. `VenueUnavailableError` (any venue, retryable).

Paradex error bodies look like `{"error": "NOT_ONBOARDED", "message": "User has never called /onboarding
endpoint", "data": null}` (venue-data/paradex/rest_error_not_onboarded.json; OpenAPI `responses.ApiError`).
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

VENUE = "paradex"
PERP_SUFFIX = "-PERP"


class ParadexError(VenueError):
    """Any error talking to Paradex or reading its data. The venue is always "paradex".

    Args:
        message: what went wrong, naming the value at fault (never a secret).
        market: the Paradex symbol concerned ("BTC-USD-PERP"), when one is.
    """

    def __init__(self, message: str, market: str | None = None) -> None:
        super().__init__(VENUE, message, market=market)


class ParadexUnavailableError(ParadexError, VenueUnavailableError):
    """HTTP >= 500, a timeout or a connection error. Retryable."""


class ParadexRateLimitedError(ParadexError, VenueRateLimitedError):
    """HTTP 429. `retry_after_seconds` is Paradex's Retry-After header (seconds) when sent. Retryable."""

    def __init__(
        self, message: str, market: str | None = None, retry_after_seconds: float | None = None
    ) -> None:
        super().__init__(message, market)
        self.retry_after_seconds = retry_after_seconds


class ParadexRejectedError(ParadexError, VenueRejectedError):
    """Paradex refused the request: HTTP 4xx other than 401/403/429 (e.g. 400 `{"error":"VALIDATION_ERROR",
    "message":...}`, 404 `MARKET_NOT_FOUND`), or an unexpected 3xx. Not retryable."""


class ParadexAuthError(ParadexError, VenueAuthError):
    """HTTP 401/403: missing, expired or invalid JWT, or an account not onboarded. Not retryable."""


class ParadexDataError(ParadexError, VenueDataError):
    """A Paradex response that cannot be used at all: not JSON, not an object, or `results` missing / not a
    list; a WebSocket frame that is not a `subscription` push of the expected channel."""


def is_perp_symbol(venue_symbol: str) -> bool:
    """True for Paradex perpetual symbols ("BTC-USD-PERP"); False for options ("BTC-USD-100000-C"),
    perp options and spot. Only `-PERP` perpetuals are markets of interest to perparb."""
    return venue_symbol.strip().upper().endswith(PERP_SUFFIX)


def normalize_symbol(venue_symbol: str) -> str:
    """Paradex symbol -> canonical base asset: the part before the first "-", upper-cased.

    "BTC-USD-PERP" -> "BTC", "kBONK-USD-PERP" -> "KBONK". Only `-PERP` perpetuals are markets of interest
    (the parsers skip other instruments before calling this), but the rule is the same for any symbol
    ("BTC-USD-100000-C" -> "BTC"). Source: OpenAPI `responses.MarketResp.symbol` ("ETH-USD-PERP") and
    venue-data/paradex/rest_markets_btc.json (`symbol` "BTC-USD-PERP", `base_currency` "BTC").

    Raises:
        ValueError: for an empty symbol or an empty base ("-USD-PERP").
    """
    base = venue_symbol.strip().split("-", 1)[0].upper()
    if not base:
        raise ValueError(f"{VENUE}: no base asset in symbol {venue_symbol!r}")
    return base
