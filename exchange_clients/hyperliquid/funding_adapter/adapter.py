"""`HyperliquidFundingAdapter`: Hyperliquid's read-only market and funding data (contract: `BaseFundingAdapter`),
for the first perp dex ("hyperliquid") or one HIP-3 dex ("hyperliquid:<dex>", requests carry `"dex": "<dex>"`).

Requests (`POST /info`, through `HyperliquidFundingClient` on the venue's one HTTP stack), parsed by `fetchers`:
  * markets and current funding: `metaAndAssetCtxs` -> `parse_meta_and_asset_ctxs` (fraction per hour);
  * other venues' predicted rates: `predictedFundings` -> `parse_predicted_fundings` -> reference rates
    (first perp dex only: "predicted funding rates is only supported for the first perp dex", docs);
  * history: `fundingHistory` -> `parse_funding_history` (per hour; per 8 h before 2023-06-08T01:00Z).
"""

from __future__ import annotations

import functools
import time
from datetime import datetime, timezone
from typing import Any, ClassVar

from exchange_clients.base.funding_adapter import BaseFundingAdapter
from exchange_clients.base.scope import VenueScope, venue_scope
from exchange_clients.hyperliquid.common import VENUE, HyperliquidDataError, normalize_symbol, venue_id
from exchange_clients.hyperliquid.config import HyperliquidConfig, dex_of_config
from exchange_clients.hyperliquid.funding_adapter.fetchers import (
    AssetCtxsResult,
    parse_funding_history,
    parse_meta_and_asset_ctxs,
    parse_predicted_fundings,
)
from exchange_clients.hyperliquid.funding_adapter.funding_client import (
    FUNDING_HISTORY_PAGE_ROWS,
    HyperliquidFundingClient,
)
from exchange_clients.hyperliquid.http import HyperliquidHttp
from perparb_core.models import (
    FundingRateSample,
    FundingRatesResult,
    MarketDataResult,
    MarketInfo,
    utcnow,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def epoch_ms(ts: datetime) -> int:
    """Aware datetime -> epoch milliseconds (floor).

    Raises:
        ValueError: a naive datetime."""
    if ts.tzinfo is None:
        raise ValueError(f"{VENUE}: naive datetime {ts!r}; pass an aware UTC datetime")
    delta = ts - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


class HyperliquidFundingAdapter(BaseFundingAdapter):
    """Funding and market data of one Hyperliquid perp dex (use `adapter_type_for(dex)` for a HIP-3 dex, whose
    class carries the venue id "hyperliquid:<dex>").

    Args:
        config: a `HyperliquidConfig` (`rest_url`, `dex`, `http`).
        scope: the venue scope (default `venue_scope(config)`, shared by every dex: one weight budget).
        client: the HTTP layer (default: a `HyperliquidFundingClient` on the scope).
        ctx_max_age_seconds: `fetch_funding_rates` reuses the `metaAndAssetCtxs` answer `fetch_market_data`
            just read when it is younger than this (the venue refreshes `funding` about every 5 s; the read
            weighs 20 of the 1200 per minute), else it reads again.
        clock: aware UTC now (tests).

    Every method raises a `HyperliquidError` subclass when a request fails or a body is unusable; bad rows come
    back as rejections.
    """

    venue: ClassVar[str] = VENUE

    def __init__(
        self,
        config: HyperliquidConfig,
        scope: VenueScope | None = None,
        *,
        client: HyperliquidFundingClient | None = None,
        ctx_max_age_seconds: float = 5.0,
        clock: Any = utcnow,
    ) -> None:
        self.config = config
        self.dex = dex_of_config(config)
        if config.venue != self.venue:
            raise TypeError(f"{type(self).__name__} serves {self.venue!r}, not {config.venue!r}")
        self._client = client or HyperliquidFundingClient(
            HyperliquidHttp(config, scope or venue_scope(config)), self.dex
        )
        self._ctx_max_age = ctx_max_age_seconds
        self._clock = clock
        self._ctxs: tuple[float, AssetCtxsResult] | None = None

    async def _asset_ctxs(self, *, reuse: bool) -> AssetCtxsResult:
        if reuse and self._ctxs is not None and time.monotonic() - self._ctxs[0] <= self._ctx_max_age:
            return self._ctxs[1]
        body = await self._client.meta_and_asset_ctxs()
        parsed = parse_meta_and_asset_ctxs(body, venue=self.venue, dex=self.dex, now=self._clock())
        self._ctxs = (time.monotonic(), parsed)
        return parsed

    async def fetch_market_data(self) -> MarketDataResult:
        """Every perp of the dex with metadata and stats (`parse_meta_and_asset_ctxs`).

        Raises:
            HyperliquidError subclasses (unavailable, rate limited, rejected, data).
        """
        parsed = await self._asset_ctxs(reuse=False)
        return MarketDataResult(markets=list(parsed.markets), rejections=list(parsed.rejections))

    async def fetch_funding_rates(self, markets: list[MarketInfo]) -> FundingRatesResult:
        """One PREDICTED sample per live market (ctx `funding`, fraction per hour), plus, on the first perp dex,
        other venues' predicted rates from `predictedFundings` as reference rates (never samples).

        Samples of markets not in `markets` (by venue symbol) are left out; the `metaAndAssetCtxs` answer of
        `fetch_market_data` is reused when younger than `ctx_max_age_seconds` (its rejections were reported
        there already).

        Raises:
            HyperliquidError subclasses.
        """
        reused = self._ctxs is not None and time.monotonic() - self._ctxs[0] <= self._ctx_max_age
        parsed = await self._asset_ctxs(reuse=True)
        wanted = {m.venue_symbol for m in markets if m.venue == self.venue}
        samples: list[FundingRateSample] = [s for s in parsed.samples if s.venue_symbol in wanted]
        result = FundingRatesResult(samples=samples, rejections=[] if reused else list(parsed.rejections))
        if not self.dex:
            predicted = parse_predicted_fundings(
                await self._client.predicted_fundings(), source_venue=self.venue, now=self._clock()
            )
            result.reference_rates = predicted.reference_rates
            result.rejections += predicted.rejections
        return result

    async def fetch_funding_history(
        self, market: MarketInfo, start: datetime, end: datetime
    ) -> FundingRatesResult:
        """Settled funding of one market with ts in [start, end), oldest first, one sample per settlement.

        Pages `fundingHistory` (`startTime` / `endTime` inclusive, ms; at most 500 rows an answer): the next
        page starts 1 ms after the last row's `time`; it stops at an answer of fewer than 500 rows or one that
        does not advance. Samples are the rows' settlement hours (`parse_funding_history`) kept in
        [start, end), duplicates across pages dropped.

        Raises:
            ValueError: naive datetimes, or a market of another venue.
            HyperliquidError subclasses.
        """
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("fetch_funding_history needs timezone-aware datetimes (UTC)")
        if market.venue != self.venue:
            raise ValueError(
                f"{self.venue}: not a market of this venue: {market.venue} {market.venue_symbol}"
            )
        result = FundingRatesResult()
        by_ts: dict[datetime, FundingRateSample] = {}
        # rows land a few ms after the hour: ask from `start` (an hour's row is at hour + ms) to end - 1 ms
        cursor, end_ms = epoch_ms(start), epoch_ms(end) - 1
        while cursor <= end_ms:
            body = await self._client.funding_history(market.venue_symbol, cursor, end_ms)
            page = parse_funding_history(body, market)
            result.rejections += page.rejections
            for sample in page.samples:
                if start <= sample.ts < end:
                    by_ts.setdefault(sample.ts, sample)
            times: list[int] = [
                r["time"] for r in body if isinstance(r, dict) and isinstance(r.get("time"), int)
            ]
            if len(body) < FUNDING_HISTORY_PAGE_ROWS or not times:
                break
            last = max(times)
            if last < cursor:
                raise HyperliquidDataError(
                    f"fundingHistory page ends at {last} before its startTime {cursor}",
                    market.venue_symbol,
                    venue=self.venue,
                )
            cursor = last + 1
        result.samples = [by_ts[ts] for ts in sorted(by_ts)]
        return result

    def normalize_symbol(self, venue_symbol: str) -> str:
        """Hyperliquid coin -> canonical base asset ("kPEPE" -> "KPEPE", "xyz:XYZ100" -> "XYZ100")."""
        return normalize_symbol(venue_symbol)

    async def close(self) -> None:
        """Give the shared HTTP session back to the venue scope. Idempotent."""
        await self._client.close()


@functools.cache
def adapter_type_for(dex: str) -> type[HyperliquidFundingAdapter]:
    """The funding adapter class of perp dex `dex` (its `venue` is "hyperliquid:<dex>").

    Raises:
        ValueError: a dex name that cannot be one."""
    venue = venue_id(dex)
    if not dex:
        return HyperliquidFundingAdapter
    return type(f"HyperliquidFundingAdapter_{dex}", (HyperliquidFundingAdapter,), {"venue": venue})


__all__ = ["HyperliquidFundingAdapter", "adapter_type_for", "epoch_ms"]
