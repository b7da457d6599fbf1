"""Caches of the Hyperliquid client: the markets of its perp dex, as the trading client needs them.

`HyperliquidMarket` is built from the `MarketInfo`s of the ONE `metaAndAssetCtxs` parser
(`funding_adapter.fetchers.parse_meta_and_asset_ctxs`) plus the dex's asset-id offset: 0 on the first perp dex,
100000 + 10000 x perp_dex_index on a HIP-3 dex (docs for-developers/api/asset-ids.md; `perpDexs` gives the index;
the SDK's `Info` does the same: 110000 + i x 10000 for the i-th builder dex).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal

from exchange_clients.base.trading import Side, round_price_significant, round_quantity
from exchange_clients.hyperliquid.common import HyperliquidDataError, normalize_symbol
from exchange_clients.hyperliquid.funding_adapter.fetchers import (
    MIN_ORDER_NOTIONAL_USD,
    PRICE_SIGNIFICANT_FIGURES,
    price_decimals,
)
from perparb_core.models import MarketInfo


def dex_asset_offset(perp_dex_index: int) -> int:
    """Asset-id offset of the perp dex at `perp_dex_index` in `perpDexs` (0 = first perp dex -> 0; i >= 1 ->
    100000 + 10000 x i)."""
    return 0 if perp_dex_index == 0 else 100_000 + 10_000 * perp_dex_index


@dataclass(frozen=True, slots=True)
class HyperliquidMarket:
    """One perp as the trading client needs it.

    Attributes:
        symbol: canonical base asset ("BTC", "XYZ100"); coin: the venue's name ("BTC", "xyz:XYZ100");
        asset: the asset id of actions (offset + index in the dex's universe); sz_decimals: size decimals
        (step 10^-sz_decimals; prices at most 6 - sz_decimals decimals and 5 significant figures);
        max_leverage: x; status: "active" or "delisted"; mark_price: at load time (for the tick shown);
        isolated_only: the market takes isolated margin only (`onlyIsolated`, or `marginMode` "strictIsolated" /
        "noCross": most HIP-3 markets), so leverage is set isolated there.
    """

    symbol: str
    coin: str
    asset: int
    sz_decimals: int
    max_leverage: Decimal | None
    status: str
    mark_price: Decimal | None = None
    isolated_only: bool = False

    @classmethod
    def from_info(cls, info: MarketInfo, offset: int, *, isolated_only: bool = False) -> HyperliquidMarket:
        """The trading view of a parsed market.

        Raises:
            HyperliquidDataError: no numeric index or no size step."""
        if not info.venue_market_id.isdigit() or info.size_step is None:
            raise HyperliquidDataError(
                f"market {info.venue_symbol}: no index or size step", info.venue_symbol
            )
        return cls(
            symbol=info.symbol,
            coin=info.venue_symbol,
            asset=offset + int(info.venue_market_id),
            sz_decimals=-int(info.size_step.as_tuple().exponent),
            max_leverage=info.max_leverage,
            status=info.status,
            mark_price=info.stats.mark_price,
            isolated_only=isolated_only,
        )

    @property
    def size_step(self) -> Decimal:
        return Decimal(1).scaleb(-self.sz_decimals)

    @property
    def max_price_decimals(self) -> int:
        return price_decimals(self.sz_decimals)

    def round_price(self, price: Decimal, side: Side) -> Decimal:
        """`price` on the market's grid (5 significant figures, at most 6 - szDecimals decimals, integers always
        valid), never worse for the user (BUY down, SELL up). Raises RoundingError."""
        return round_price_significant(
            price, side, significant_figures=PRICE_SIGNIFICANT_FIGURES, max_decimals=self.max_price_decimals
        )

    def round_size(self, quantity: Decimal) -> Decimal:
        """`quantity` down to szDecimals. Raises RoundingError when it rounds to zero."""
        return round_quantity(quantity, self.size_step)

    @property
    def min_notional(self) -> Decimal:
        return MIN_ORDER_NOTIONAL_USD


class MarketCache:
    """symbol / coin / asset lookups of one dex; `replace()` swaps the whole set (after a refresh)."""

    def __init__(self) -> None:
        self.by_symbol: dict[str, HyperliquidMarket] = {}
        self.by_coin: dict[str, HyperliquidMarket] = {}
        self.loaded_at: float | None = None

    def replace(self, markets: list[HyperliquidMarket]) -> None:
        self.by_symbol = {m.symbol: m for m in markets}
        self.by_coin = {m.coin: m for m in markets}
        self.loaded_at = time.monotonic()

    def get(self, symbol: str) -> HyperliquidMarket | None:
        """By canonical symbol ("btc" -> BTC) or by coin ("xyz:XYZ100")."""
        key = symbol.strip()
        return self.by_coin.get(key) or self.by_symbol.get(normalize_symbol(key) if key else key)

    def symbol_of(self, coin: str) -> str:
        """The canonical symbol of `coin` (its normalised name when unknown: never raises)."""
        market = self.by_coin.get(coin)
        return market.symbol if market is not None else normalize_symbol(coin) if coin.strip() else coin


def isolated_only_coins(meta_and_ctxs: object) -> set[str]:
    """Coins of a `metaAndAssetCtxs` body whose universe row says isolated margin only: `onlyIsolated` true, or
    `marginMode` "strictIsolated" / "noCross" (docs info-endpoint/perpetuals.md `meta`)."""
    if not isinstance(meta_and_ctxs, list) or not meta_and_ctxs or not isinstance(meta_and_ctxs[0], dict):
        return set()
    universe = meta_and_ctxs[0].get("universe")
    rows = universe if isinstance(universe, list) else []
    return {
        a["name"]
        for a in rows
        if isinstance(a, dict)
        and isinstance(a.get("name"), str)
        and (a.get("onlyIsolated") is True or a.get("marginMode") in ("strictIsolated", "noCross"))
    }
