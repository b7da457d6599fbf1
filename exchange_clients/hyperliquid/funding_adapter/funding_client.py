"""Hyperliquid's public market and funding reads (`POST /info`) on the venue's one HTTP stack
(`exchange_clients.hyperliquid.http.HyperliquidHttp`: shared session, weight budget, retries, typed errors).

Used by the funding adapter and by the trading client's market list, so `metaAndAssetCtxs` has one reader and one
parser (`fetchers.parse_meta_and_asset_ctxs`).
"""

from __future__ import annotations

from typing import Any

from exchange_clients.hyperliquid.http import HyperliquidHttp

#: `fundingHistory` answers hold at most 500 rows ("Responses that take a time range will only return 500
#: elements", docs info-endpoint.md "Pagination"): page on with the last row's time + 1.
FUNDING_HISTORY_PAGE_ROWS = 500


class HyperliquidFundingClient:
    """The public `info` requests of one perp dex, as decoded JSON.

    Args:
        http: the venue's HTTP stack; dex: the perp dex ("" = first perp dex), sent as `dex` where it applies.

    Every method raises the `HyperliquidError` subclasses of `exchange_clients.hyperliquid.http`.
    """

    def __init__(self, http: HyperliquidHttp, dex: str = "") -> None:
        self.http = http
        self.dex = dex

    def _with_dex(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.dex:
            body["dex"] = self.dex
        return body

    async def meta_and_asset_ctxs(self) -> Any:
        """`{"type":"metaAndAssetCtxs"[,"dex"]}` (weight 20) -> `[meta, ctxs]`."""
        return await self.http.info(self._with_dex({"type": "metaAndAssetCtxs"}))

    async def predicted_fundings(self) -> Any:
        """`{"type":"predictedFundings"}` (weight 20; first perp dex only) -> `[[coin, [[venue, {...}]]]]`."""
        return await self.http.info({"type": "predictedFundings"})

    async def perp_dexs(self) -> Any:
        """`{"type":"perpDexs"}` (weight 20) -> `[null, {name, fullName, deployer, ...}, ...]`: index i >= 1 is the
        perp dex index of HIP-3 asset ids (100000 + 10000 x i + index in meta; docs asset-ids.md)."""
        return await self.http.info({"type": "perpDexs"})

    async def funding_history(self, coin: str, start_ms: int, end_ms: int) -> Any:
        """`{"type":"fundingHistory","coin","startTime","endTime"}` (both inclusive, ms; weight 20 + 1 per 20
        rows) -> `[{coin, fundingRate, premium, time}]`, at most `FUNDING_HISTORY_PAGE_ROWS`, oldest first."""
        return await self.http.info(
            {"type": "fundingHistory", "coin": coin, "startTime": start_ms, "endTime": end_ms}, market=coin
        )

    async def close(self) -> None:
        """Give the shared HTTP session back. Idempotent."""
        await self.http.close()
