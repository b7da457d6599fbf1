"""Hyperliquid's per-venue config: mainnet defaults, the WebSocket URL rule, the REST weight budget, the dex.

Sources (HL gitbook mirror dzmbs/hyperliquid-docs@24c1248):
* REST `https://api.hyperliquid.xyz` (`POST /info`, `POST /exchange`), WebSocket `wss://api.hyperliquid.xyz/ws`
  (for-developers/api.md, websocket.md); testnet `https://api.hyperliquid-testnet.xyz`.
* Rate limits (rate-limits-and-user-limits.md): per IP, REST requests share an aggregated WEIGHT limit of 1200 per
  minute (= 20 weight per second): `exchange` actions weigh 1 + floor(batch_length / 40); `info` requests weigh 2
  (l2Book, allMids, clearinghouseState, orderStatus, spotClearinghouseState, exchangeStatus), 60 (userRole) or
  20 (every other documented one), plus 1 per 20 items returned by fundingHistory, userFunding, userFills,
  historicalOrders, ... . The limiter is therefore a weight budget: `rate_per_second` 20, `burst` 200 (ten
  seconds of weight; the venue counts per minute), of which `order_reserve` 20 (twenty single-order actions) reads
  never take. Every request takes its weight (`http.info_weight`).
* The budget is per IP, whatever the dex: "hyperliquid:<dex>" spends the budget of "hyperliquid"
  (`budget_venue`), through the same session.

HIP-3 dexes: `dex` is the perp dex name sent as the `dex` request parameter ("" = the first perp dex). A dex's
config type is `config_type_for(dex)` (venue id "hyperliquid:<dex>").
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import model_validator

from exchange_clients.hyperliquid.common import MAINNET_URL, VENUE, dex_of, venue_id
from perparb_core.settings import RateLimitConfig, VenueConfig


def ws_url_from_rest(rest_url: str) -> str:
    """The `/ws` WebSocket URL of a REST base: http(s) -> ws(s), path "/ws".

    "https://api.hyperliquid.xyz" -> "wss://api.hyperliquid.xyz/ws" (docs websocket.md; the SDK's
    `WebsocketManager` does the same); "http://127.0.0.1:8082" -> "ws://127.0.0.1:8082/ws".

    Raises:
        ValueError: not an http(s) URL.
    """
    url = rest_url.strip().rstrip("/")
    if url.startswith("https://"):
        return "wss://" + url[len("https://") :] + "/ws"
    if url.startswith("http://"):
        return "ws://" + url[len("http://") :] + "/ws"
    raise ValueError(f"{VENUE}: REST URL must start with http:// or https://, got {rest_url!r}")


class HyperliquidConfig(VenueConfig):
    """Hyperliquid: `rest_url` is the API root (POST `/info` and `/exchange` under it); the WebSocket is
    `ws(s)://<host>/ws` unless `ws_url` is set; `dex` is the perp dex ("" = first perp dex; "xyz" for the
    venue "hyperliquid:xyz").

    Raises (on construction):
        pydantic.ValidationError: a `venue` that does not match `dex`.
    """

    venue: str = VENUE
    dex: str = ""
    rest_url: str = MAINNET_URL
    rate_limit: RateLimitConfig = RateLimitConfig(rate_per_second=20.0, burst=200, order_reserve=20)

    @model_validator(mode="after")
    def _venue_matches_dex(self) -> HyperliquidConfig:
        expected = venue_id(self.dex)
        if self.venue != expected:
            raise ValueError(f"venue {self.venue!r} does not match dex {self.dex!r} (expected {expected!r})")
        return self

    @property
    def budget_venue(self) -> str:
        """ "hyperliquid" for every dex: the weight budget is per IP (module docstring)."""
        return VENUE

    @property
    def is_mainnet(self) -> bool:
        """True when `rest_url` is Hyperliquid mainnet: L1 actions are then signed with phantom-agent source
        "a", else "b" (testnet, the simulator), as the SDK decides (`Exchange`: `base_url == MAINNET_API_URL`;
        signing.py `construct_phantom_agent`)."""
        return self.rest_url == MAINNET_URL

    def derived_ws_url(self) -> str:
        """`ws(s)://<host>/ws` of `rest_url`.

        Raises:
            ValueError: `rest_url` is not http(s)."""
        return ws_url_from_rest(self.rest_url)


@functools.cache
def config_type_for(dex: str) -> type[HyperliquidConfig]:
    """The config type of perp dex `dex`: `HyperliquidConfig` for "", else a subclass whose defaults are
    `venue="hyperliquid:<dex>"`, `dex=<dex>` (so `VenueSpec.default_config()` builds it with no argument).

    Raises:
        ValueError: a dex name that cannot be one (`common.venue_id`).
    """
    venue = venue_id(dex)
    if not dex:
        return HyperliquidConfig
    defaults: dict[str, Any] = {"venue": venue, "dex": dex}

    class DexConfig(HyperliquidConfig):
        venue: str = defaults["venue"]
        dex: str = defaults["dex"]

    DexConfig.__name__ = DexConfig.__qualname__ = f"HyperliquidConfig_{dex}"
    return DexConfig


def dex_of_config(config: VenueConfig) -> str:
    """The perp dex of a config ("" for the first perp dex).

    Raises:
        TypeError: not a Hyperliquid config."""
    if not isinstance(config, HyperliquidConfig):
        raise TypeError(f"{VENUE} needs a HyperliquidConfig, got {type(config).__name__}")
    return dex_of(config.venue)
