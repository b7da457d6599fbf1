"""Lighter's per-venue config: mainnet defaults, the WebSocket URL rule and the REST budget.

Sources: REST root and `/stream` WebSocket (PROTOCOL_NOTES §1.1); rate limits: Lighter limits per account and IP
(standard accounts ~60 weighted requests a minute, premium tiers far more; PROTOCOL_NOTES §1.6). The default of
10 requests/s with no burst suits the simulator and premium accounts; a standard account should set
`PERPARB_LIGHTER_RATE_PER_SECOND=1`.
"""

from __future__ import annotations

from typing import Literal

from exchange_clients.lighter.common import VENUE
from perparb_core.settings import RateLimitConfig, VenueConfig

LIGHTER_MAINNET_URL = "https://mainnet.zklighter.elliot.ai"


def ws_url_from_rest(rest_url: str) -> str:
    """The `/stream` WebSocket URL of a Lighter REST root: http(s) -> ws(s), path "/stream".

    "https://mainnet.zklighter.elliot.ai" -> "wss://mainnet.zklighter.elliot.ai/stream" (PROTOCOL_NOTES §1.1);
    "http://127.0.0.1:8080/" -> "ws://127.0.0.1:8080/stream".

    Raises:
        ValueError: the URL is not http(s).
    """
    url = rest_url.strip().rstrip("/")
    if url.startswith("https://"):
        return "wss://" + url[len("https://") :] + "/stream"
    if url.startswith("http://"):
        return "ws://" + url[len("http://") :] + "/stream"
    raise ValueError(f"{VENUE}: REST URL must start with http:// or https://, got {rest_url!r}")


class LighterConfig(VenueConfig):
    """Lighter: `rest_url` is the REST root ("https://mainnet.zklighter.elliot.ai"); the WebSocket is
    `ws(s)://<host>/stream` unless `ws_url` is set."""

    venue: Literal["lighter"] = "lighter"
    rest_url: str = LIGHTER_MAINNET_URL
    rate_limit: RateLimitConfig = RateLimitConfig(rate_per_second=10.0, burst=1)

    def derived_ws_url(self) -> str:
        """`ws(s)://<host>/stream` of `rest_url` (PROTOCOL_NOTES §1.1).

        Raises:
            ValueError: `rest_url` is not http(s)."""
        return ws_url_from_rest(self.rest_url)
