"""Lighter's per-venue config: mainnet defaults, the WebSocket URL rule and the REST budget.

Sources: REST root and `/stream` WebSocket (PROTOCOL_NOTES §1.1); rate limits: Lighter limits per account and IP
and by account tier (PROTOCOL_NOTES §1.6 for the tiers; the numbers are from Lighter's API documentation,
apidocs.lighter.xyz "rate limits", not among the shared references, so check them against your account): a
STANDARD account gets about 60 weighted requests a minute, a PREMIUM account far more (tens of thousands of
weight a minute; `sendTx` is among the lightest requests). The budgets (`LIGHTER_RATE_TIERS`, chosen with
`PERPARB_LIGHTER_TIER`):

| tier | rate/s | burst | order_reserve | meaning |
|---|---|---|---|---|
| standard | 1 | 2 | 1 | ~60 requests a minute; one token always kept for a placement or cancel |
| premium (default) | 10 | 5 | 2 | a conservative share of a premium budget (and what suits the simulator) |

`order_reserve` tokens are never taken by reads (`exchange_clients.base.rate_limit`): an entry's `sendTx` does not
wait behind the funding scan's or the monitor's reads. `PERPARB_LIGHTER_RATE_PER_SECOND` / `_BURST` /
`_ORDER_RESERVE` override single fields of the chosen tier.
"""

from __future__ import annotations

from typing import Literal

from exchange_clients.lighter.common import VENUE
from perparb_core.settings import RateLimitConfig, VenueConfig

LIGHTER_MAINNET_URL = "https://mainnet.zklighter.elliot.ai"

LIGHTER_RATE_TIERS = {
    "standard": RateLimitConfig(rate_per_second=1.0, burst=2, order_reserve=1),
    "premium": RateLimitConfig(rate_per_second=10.0, burst=5, order_reserve=2),
}
"""Lighter's REST budgets per account tier (module docstring)."""


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
    rate_limit: RateLimitConfig = LIGHTER_RATE_TIERS["premium"]
    rate_tiers: dict[str, RateLimitConfig] = LIGHTER_RATE_TIERS

    def derived_ws_url(self) -> str:
        """`ws(s)://<host>/stream` of `rest_url` (PROTOCOL_NOTES §1.1).

        Raises:
            ValueError: `rest_url` is not http(s)."""
        return ws_url_from_rest(self.rest_url)
