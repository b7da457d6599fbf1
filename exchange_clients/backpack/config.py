"""Backpack's per-venue config: mainnet defaults, the WebSocket URL rule and the REST budget.

Sources: REST `https://api.backpack.exchange` (public `/api/v1/...`, signed `/api/v1/...` and `/wapi/v1/...`),
WebSocket `wss://ws.backpack.exchange` (../shared/reference/backpack_funding_units.md; bpx-api-client
`client/src/lib.rs` BACKPACK_API_BASE_URL / BACKPACK_WS_URL). The WebSocket lives on its own host on mainnet;
on any other server (the simulator, a local stub) it is `ws(s)://<host>/ws` of the REST root.

Rate limits: Backpack does not publish per-endpoint numbers in the recorded material; a 429 answers
`TOO_MANY_REQUESTS` (ApiErrorCode). The default, 10 requests a second with a burst of 20, is a conservative
budget for one process, with `order_reserve` 4 tokens reads never take (kept for placements and cancels); raise it
with `PERPARB_BACKPACK_RATE_PER_SECOND` / `_BURST` / `_ORDER_RESERVE` if the venue grants more.
"""

from __future__ import annotations

from typing import Literal

from exchange_clients.backpack.common import MAINNET_URL, MAINNET_WS_URL, VENUE
from perparb_core.settings import RateLimitConfig, VenueConfig


def ws_url_from_rest(rest_url: str) -> str:
    """The WebSocket URL of a Backpack REST root.

    "https://api.backpack.exchange" -> "wss://ws.backpack.exchange" (mainnet: its own host);
    "http://127.0.0.1:8805" -> "ws://127.0.0.1:8805/ws" (the simulator and other servers).

    Raises:
        ValueError: not an http(s) URL.
    """
    url = rest_url.strip().rstrip("/")
    if url == MAINNET_URL:
        return MAINNET_WS_URL
    if url.startswith("https://"):
        return "wss://" + url[len("https://") :] + "/ws"
    if url.startswith("http://"):
        return "ws://" + url[len("http://") :] + "/ws"
    raise ValueError(f"{VENUE}: REST URL must start with http:// or https://, got {rest_url!r}")


class BackpackConfig(VenueConfig):
    """Backpack: `rest_url` is the API root (`/api/v1/...` and `/wapi/v1/...` under it); the WebSocket is
    `ws_url_from_rest(rest_url)` unless `ws_url` is set. `window_ms` is the `X-Window` of signed requests
    (how long after `X-Timestamp` the venue accepts them; default 5000, at most 60000)."""

    venue: Literal["backpack"] = "backpack"
    rest_url: str = MAINNET_URL
    rate_limit: RateLimitConfig = RateLimitConfig(rate_per_second=10.0, burst=20, order_reserve=4)
    window_ms: int = 5000

    def derived_ws_url(self) -> str:
        """See `ws_url_from_rest`.

        Raises:
            ValueError: `rest_url` is not http(s)."""
        return ws_url_from_rest(self.rest_url)
