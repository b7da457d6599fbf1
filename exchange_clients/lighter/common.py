"""Lighter: venue constant, per-venue error classes and symbol normalisation.

Shared by the funding adapter and (later) the trading client. Error classes subclass both `LighterError`
and the venue-neutral kind from `perparb_core.errors`, so callers can catch either
`LighterError` (anything from Lighter) or e.g. `VenueUnavailableError` (any venue, retryable).
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

VENUE = "lighter"


class LighterError(VenueError):
    """Any error talking to Lighter or reading its data. The venue is always "lighter".

    Args:
        message: what went wrong, naming the value at fault (never a secret).
        market: the Lighter symbol or market id concerned, when one is.
    """

    def __init__(self, message: str, market: str | None = None) -> None:
        super().__init__(VENUE, message, market=market)


class LighterUnavailableError(LighterError, VenueUnavailableError):
    """HTTP >= 500, a timeout or a connection error (aiohttp, `lighter.ApiException(status=0)`). Retryable."""


class LighterRateLimitedError(LighterError, VenueRateLimitedError):
    """HTTP 429. `retry_after_seconds` is Lighter's Retry-After header when it sent one. Retryable."""

    def __init__(
        self, message: str, market: str | None = None, retry_after_seconds: float | None = None
    ) -> None:
        super().__init__(message, market)
        self.retry_after_seconds = retry_after_seconds


class LighterRejectedError(LighterError, VenueRejectedError):
    """Lighter refused the request: HTTP 4xx, or a body `code` other than 200. Not retryable.

    E.g. HTTP 400 `{"code":20001,"message":"invalid param "}`
    (venue-data/lighter/rest_orderBookOrders_errors.json).
    """


class LighterAuthError(LighterError, VenueAuthError):
    """HTTP 401/403: missing, expired or invalid auth token. Not retryable."""


class LighterDataError(LighterError, VenueDataError):
    """A Lighter response that cannot be used at all: not JSON, not an object, or no top-level list."""


def normalize_symbol(venue_symbol: str) -> str:
    """Lighter symbol -> canonical base asset.

    Lighter perp symbols are already base assets ("ETH", "1000PEPE", "GOOGL"); this only strips whitespace
    and upper-cases. Source: venue-data/lighter/rest_orderBookDetails_market0.json (`"symbol": "ETH"`).

    Raises:
        ValueError: for an empty symbol.
    """
    symbol = venue_symbol.strip().upper()
    if not symbol:
        raise ValueError(f"{VENUE}: empty symbol {venue_symbol!r}")
    return symbol
