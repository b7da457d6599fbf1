"""Paradex's per-venue config: production defaults, the WebSocket URL rule and the REST budget.

Sources: REST base `https://api.prod.paradex.trade/v1`, WebSocket `wss://ws.api.prod.paradex.trade/v1`
(PROTOCOL_NOTES §2.1). Paradex documents only "429 = rate limit" (§2) without the numbers here: 20 requests/s with a
burst of 10 (2 of them kept for placements and cancels: `order_reserve`) is a conservative default; set `PERPARB_PARADEX_RATE_PER_SECOND` / `_BURST` from the account's limits.
"""

from __future__ import annotations

from typing import Literal

import httpx

from exchange_clients.paradex.common import VENUE
from perparb_core.settings import RateLimitConfig, VenueConfig

PARADEX_PROD_URL = "https://api.prod.paradex.trade/v1"


def ws_url_from_rest(rest_url: str) -> str:
    """The Paradex WebSocket URL of a REST base: scheme http(s) -> ws(s), same host, port and path.

    "http://127.0.0.1:8081/v1" -> "ws://127.0.0.1:8081/v1" (the simulator serves both on one port,
    simulator/README.md). The venue itself uses another host (`wss://ws.api.prod.paradex.trade/v1`,
    PROTOCOL_NOTES §2.1): "https://api.{env}.paradex.trade/v1" -> "wss://ws.api.{env}.paradex.trade/v1".

    Raises:
        ValueError: a scheme other than http/https.
    """
    url = httpx.URL(rest_url.rstrip("/"))
    if url.scheme not in ("http", "https"):
        raise ValueError(f"{VENUE}: REST URL must be http(s), got {rest_url!r}")
    host = url.host
    if host.startswith("api.") and host.endswith(".paradex.trade"):
        host = "ws." + host
    return str(url.copy_with(scheme="ws" if url.scheme == "http" else "wss", host=host))


class ParadexConfig(VenueConfig):
    """Paradex: `rest_url` is the REST base ending in `/v1`; the WebSocket is `wss://ws.api.<env>.paradex.trade/v1`
    for the venue's hosts, else the same host and path (the simulator serves both on one port)."""

    venue: Literal["paradex"] = "paradex"
    rest_url: str = PARADEX_PROD_URL
    rate_limit: RateLimitConfig = RateLimitConfig(rate_per_second=20.0, burst=10, order_reserve=2)

    def derived_ws_url(self) -> str:
        """The WebSocket URL of `rest_url` (`ws_url_from_rest`).

        Raises:
            ValueError: `rest_url` is not http(s)."""
        return ws_url_from_rest(self.rest_url)
