"""Hyperliquid: venue ids (main dex and HIP-3 dexes), per-venue error classes and symbol normalisation.

Venue ids: the first perp dex is "hyperliquid"; a builder-deployed perp dex (HIP-3) reached through the `dex`
request parameter is its own venue "hyperliquid:<dex>" (e.g. "hyperliquid:xyz"), never merged with the main dex:
its markets, rates, accounts and configs are apart. Its coins carry the dex as a prefix ("xyz:XYZ100"; docs
for-developers/api/asset-ids.md "builder-deployed perps always have name in the format {dex}:{coin}").

Errors subclass both `HyperliquidError` and the venue-neutral kind from `perparb_core.errors`; the error's
`venue` is the venue id concerned ("hyperliquid" or "hyperliquid:xyz"). Messages name the market and the value
at fault, never a secret.
"""

from __future__ import annotations

import re

from perparb_core.errors import (
    VenueAuthError,
    VenueDataError,
    VenueError,
    VenueRateLimitedError,
    VenueRejectedError,
    VenueUnavailableError,
)

VENUE = "hyperliquid"
MAINNET_URL = "https://api.hyperliquid.xyz"
TESTNET_URL = "https://api.hyperliquid-testnet.xyz"
#: A HIP-3 dex name as Hyperliquid lists them in `perpDexs` ("xyz", "flx", "vntl"): lower-case letters and digits.
DEX_NAME = re.compile(r"^[a-z0-9]{1,16}$")


def venue_id(dex: str) -> str:
    """ "" -> "hyperliquid" (first perp dex); "xyz" -> "hyperliquid:xyz".

    Raises:
        ValueError: a dex name that is not 1-16 lower-case letters or digits.
    """
    if dex == "":
        return VENUE
    if not DEX_NAME.match(dex):
        raise ValueError(f"HIP-3 dex name must be 1-16 lower-case letters or digits, got {dex!r}")
    return f"{VENUE}:{dex}"


def dex_of(venue: str) -> str:
    """ "hyperliquid" -> ""; "hyperliquid:xyz" -> "xyz".

    Raises:
        ValueError: not a Hyperliquid venue id.
    """
    if venue == VENUE:
        return ""
    head, sep, dex = venue.partition(":")
    if head != VENUE or not sep or not DEX_NAME.match(dex):
        raise ValueError(f"not a Hyperliquid venue id: {venue!r}")
    return dex


class HyperliquidError(VenueError):
    """Any error talking to Hyperliquid or reading its data.

    Args:
        message: what went wrong, naming the value at fault (never a secret).
        market: the coin concerned ("BTC", "xyz:XYZ100"), when one is.
        venue: the venue id ("hyperliquid" or "hyperliquid:<dex>").
    """

    def __init__(self, message: str, market: str | None = None, *, venue: str = VENUE) -> None:
        super().__init__(venue, message, market=market)


class HyperliquidUnavailableError(HyperliquidError, VenueUnavailableError):
    """HTTP >= 500, a timeout or a connection error. Retryable."""


class HyperliquidRateLimitedError(HyperliquidError, VenueRateLimitedError):
    """HTTP 429 (the per-IP weight budget, docs rate-limits-and-user-limits.md), or an address whose action
    budget is spent. `retry_after_seconds` is the Retry-After header when sent. Retryable."""

    def __init__(
        self,
        message: str,
        market: str | None = None,
        *,
        venue: str = VENUE,
        retry_after_seconds: float | None = None,
    ) -> None:
        super().__init__(message, market, venue=venue)
        self.retry_after_seconds = retry_after_seconds


class HyperliquidRejectedError(HyperliquidError, VenueRejectedError):
    """Hyperliquid refused the request: HTTP 4xx other than 401/403/429 (422 for a body it cannot
    deserialise), `{"status":"err","response":"<text>"}` (HTTP 200), or an order/cancel status
    `{"error":"<text>"}` (e.g. "Order must have minimum value of $10."). Not retryable."""


class HyperliquidAuthError(HyperliquidError, VenueAuthError):
    """HTTP 401/403, or a signature that recovers to a signer the venue does not know ("User or API Wallet
    0x... does not exist.": a wrong agent key, or an agent not approved for the account). Not retryable."""


class HyperliquidDataError(HyperliquidError, VenueDataError):
    """A Hyperliquid response or frame that cannot be used at all (not JSON, wrong top-level shape)."""


def normalize_symbol(venue_symbol: str) -> str:
    """Hyperliquid coin -> canonical base asset: the dex prefix dropped, upper-cased.

    "BTC" -> "BTC", "kPEPE" -> "KPEPE" (price and size per 1,000 PEPE, like Paradex's "kPEPE-USD-PERP" ->
    "KPEPE"), "xyz:XYZ100" -> "XYZ100". Source: venue-data/hyperliquid/rest_info_meta_2023-07.json (`name`),
    rest_info_orderStatus_hip3_xyz_open.json (`coin` "xyz:XYZ100").

    Raises:
        ValueError: an empty coin.
    """
    base = venue_symbol.strip().rsplit(":", 1)[-1].strip().upper()
    if not base:
        raise ValueError(f"{VENUE}: no base asset in coin {venue_symbol!r}")
    return base
