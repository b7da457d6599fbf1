"""Aster's per-venue config: mainnet defaults, the WebSocket URL rule and the REST weight budget.

Sources (asterdex/api-docs@265e024, V3(Recommended)/EN/aster-finance-futures-api-v3.md, "LIMITS"):
* REST `https://fapi.asterdex.com`, WebSocket `wss://fstream.asterdex.com` (`/ws/<stream>`, `/stream?streams=`);
* `exchangeInfo.rateLimits`: REQUEST_WEIGHT 2400 per minute per IP (= 40 weight per second) and ORDERS 1200 per
  minute per account; every endpoint has a documented weight (`http.weight_of`). The limiter is therefore a weight
  budget: `rate_per_second` 40, `burst` 400 (ten seconds of weight; the venue counts per minute), of which
  `order_reserve` 20 (twenty orders) reads never take. A 429 pauses every caller (418 = IP banned after ignoring
  429s).

WebSocket rule: the mainnet REST host `fapi.<domain>` streams from `fstream.<domain>`; any other host (a testnet
proxy, the simulator) serves the streams on the REST host itself (`http://127.0.0.1:8804` ->
`ws://127.0.0.1:8804`): the clients append `/ws/...` or `/stream?...`.
"""

from __future__ import annotations

from typing import Literal

from exchange_clients.aster.common import MAINNET_URL, VENUE
from perparb_core.settings import RateLimitConfig, VenueConfig


def ws_url_from_rest(rest_url: str) -> str:
    """The WebSocket base of a REST base: "https://fapi.asterdex.com" -> "wss://fstream.asterdex.com";
    "http://127.0.0.1:8804" -> "ws://127.0.0.1:8804".

    Raises:
        ValueError: not an http(s) URL."""
    url = rest_url.strip().rstrip("/")
    if url.startswith("https://"):
        scheme, rest = "wss://", url[len("https://") :]
    elif url.startswith("http://"):
        scheme, rest = "ws://", url[len("http://") :]
    else:
        raise ValueError(f"{VENUE}: REST URL must start with http:// or https://, got {rest_url!r}")
    if rest.startswith("fapi."):
        rest = "fstream." + rest[len("fapi.") :]
    return scheme + rest


class AsterConfig(VenueConfig):
    """Aster: `rest_url` is the API root (`/fapi/...` under it); the WebSocket base is `ws_url_from_rest(rest_url)`
    unless `ws_url` is set (streams at `<ws>/ws/<name>` and `<ws>/stream?streams=`).

    Attributes:
        recv_window_ms: V1 (HMAC) signed requests' `recvWindow` (ms; the venue's default 5000, at most 60000).
    """

    venue: Literal["aster"] = "aster"
    rest_url: str = MAINNET_URL
    rate_limit: RateLimitConfig = RateLimitConfig(rate_per_second=40.0, burst=400, order_reserve=20)
    recv_window_ms: int = 5000

    def derived_ws_url(self) -> str:
        """`ws_url_from_rest(rest_url)`. Raises ValueError for a non-http(s) `rest_url`."""
        return ws_url_from_rest(self.rest_url)
