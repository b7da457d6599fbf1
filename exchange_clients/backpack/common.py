"""Backpack: the venue id, per-venue error classes and symbol normalisation.

Backpack perps are named `<BASE>_<QUOTE>_PERP` ("SOL_USDC_PERP", equity perps "AAPL.US_USDC_PERP"); spot markets
`<BASE>_<QUOTE>` (venue-data/backpack/rest_markets_SOL_spot_and_perp_2025.json, ws_markPrice_AAPL_US_*.json).

Errors subclass both `BackpackError` and the venue-neutral kind from `perparb_core.errors`. Messages name the
market and the value at fault, never a secret (API secrets are ED25519 seeds; signatures are public by nature
but are not logged either).
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

VENUE = "backpack"
MAINNET_URL = "https://api.backpack.exchange"
MAINNET_WS_URL = "wss://ws.backpack.exchange"
PERP_SUFFIX = "_PERP"


class BackpackError(VenueError):
    """Any error talking to Backpack or reading its data.

    Args:
        message: what went wrong, naming the value at fault (never a secret).
        market: the venue symbol concerned ("SOL_USDC_PERP"), when one is.
        code: Backpack's error code (`{"code": "INVALID_ORDER", "message": ...}`), when the venue sent one.
    """

    def __init__(self, message: str, market: str | None = None, *, code: str | None = None) -> None:
        super().__init__(VENUE, message, market=market)
        self.code = code


class BackpackUnavailableError(BackpackError, VenueUnavailableError):
    """HTTP >= 500 (`SERVER_ERROR`, `MAINTENANCE`), a timeout or a connection error. Retryable."""


class BackpackRateLimitedError(BackpackError, VenueRateLimitedError):
    """HTTP 429 (`TOO_MANY_REQUESTS`). `retry_after_seconds` is the Retry-After header when sent. Retryable."""

    def __init__(
        self,
        message: str,
        market: str | None = None,
        *,
        code: str | None = None,
        retry_after_seconds: float | None = None,
    ) -> None:
        super().__init__(message, market, code=code)
        self.retry_after_seconds = retry_after_seconds


class BackpackRejectedError(BackpackError, VenueRejectedError):
    """Backpack refused the request: HTTP 4xx other than 401/403/429 (`INVALID_CLIENT_REQUEST`, `INVALID_ORDER`,
    `INSUFFICIENT_MARGIN`, `RESOURCE_NOT_FOUND`, ..., or a plain-text parameter parse error). Not retryable."""


class BackpackAuthError(BackpackError, VenueAuthError):
    """HTTP 401/403, or the codes `UNAUTHORIZED`, `INVALID_SIGNATURE`, `FORBIDDEN`: an unknown API key, a bad
    signature, or a request outside its `X-Window`. Not retryable."""


class BackpackDataError(BackpackError, VenueDataError):
    """A Backpack response or frame that cannot be used at all (not JSON, wrong top-level shape)."""


def normalize_symbol(venue_symbol: str) -> str:
    """Backpack symbol -> canonical base asset: the part before the first "_", upper-cased.

    "SOL_USDC_PERP" -> "SOL", "BTC_USDC_PERP" -> "BTC", "AAPL.US_USDC_PERP" -> "AAPL.US" (an equity perp keeps its
    ".US" suffix: it is not the same asset as a crypto "AAPL" elsewhere), "kPEPE_USDC_PERP" -> "KPEPE".
    Source: `GET /api/v1/markets` `symbol` / `baseSymbol` (venue-data/backpack/rest_markets_*.json).

    Raises:
        ValueError: no base asset before the first "_".
    """
    base = venue_symbol.strip().split("_", 1)[0].strip().upper()
    if not base:
        raise ValueError(f"{VENUE}: no base asset in symbol {venue_symbol!r}")
    return base


def is_perp_symbol(venue_symbol: str) -> bool:
    """True for a perpetual's symbol ("SOL_USDC_PERP"), False for spot ("SOL_USDC")."""
    return venue_symbol.endswith(PERP_SUFFIX)
