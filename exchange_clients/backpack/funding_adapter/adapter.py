"""`BackpackFundingAdapter`: Backpack's read-only market and funding data (contract: `BaseFundingAdapter`).

Requests (public `GET /api/v1/...` through `BackpackFundingClient` on the venue's one HTTP stack), parsed by
`fetchers`:
  * markets: `markets` (perps, interval per market in ms, caps in bps) + `markPrices` (mark, index) +
    `openInterest` (base -> USD) + `tickers` (24 h quote volume);
  * current funding: `markPrices` `fundingRate` per the market's `fundingInterval` -> rate_hourly;
  * history: `fundingRates` paged by offset (newest first), the in-progress row skipped, 8-hour rows before
    2025-08-20T08:00Z.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, ClassVar

from exchange_clients.backpack.common import VENUE, normalize_symbol
from exchange_clients.backpack.config import BackpackConfig
from exchange_clients.backpack.funding_adapter.fetchers import (
    RateBounds,
    parse_funding_rates,
    parse_mark_prices,
    parse_markets,
    parse_open_interest,
    parse_tickers,
    predicted_from_marks,
    with_stats,
)
from exchange_clients.backpack.funding_adapter.funding_client import (
    FUNDING_RATES_PAGE_ROWS,
    BackpackFundingClient,
)
from exchange_clients.backpack.http import BackpackHttp
from exchange_clients.base.funding_adapter import BaseFundingAdapter
from exchange_clients.base.scope import VenueScope, venue_scope
from perparb_core.models import FundingRateSample, FundingRatesResult, MarketDataResult, MarketInfo, utcnow


class BackpackFundingAdapter(BaseFundingAdapter):
    """Funding and market data of Backpack's perps.

    Args:
        config: a `BackpackConfig` (`rest_url`, `http`).
        scope: the venue scope (default `venue_scope(config)`, shared with the trading clients).
        client: the HTTP layer (default: a `BackpackFundingClient` on the scope).
        clock: aware UTC now (tests: decides which `fundingRates` row is still in progress).

    Every method raises a `BackpackError` subclass when a request fails or a body is unusable; bad rows come back
    as rejections.
    """

    venue: ClassVar[str] = VENUE

    def __init__(
        self,
        config: BackpackConfig,
        scope: VenueScope | None = None,
        *,
        client: BackpackFundingClient | None = None,
        clock: Any = utcnow,
    ) -> None:
        self.config = config
        self._client = client or BackpackFundingClient(BackpackHttp(config, scope or venue_scope(config)))
        self._clock = clock
        self._bounds: dict[str, RateBounds] = {}

    async def fetch_market_data(self) -> MarketDataResult:
        """Every perp with metadata and stats (`parse_markets`, `with_stats`).

        Raises:
            BackpackError subclasses (unavailable, rate limited, rejected, data).
        """
        markets_body, marks_body, oi_body, tickers_body = await asyncio.gather(
            self._client.markets(),
            self._client.mark_prices(),
            self._client.open_interest(),
            self._client.tickers(),
        )
        parsed = parse_markets(markets_body)
        marks, rej_marks = parse_mark_prices(marks_body)
        oi, rej_oi = parse_open_interest(oi_body)
        volumes, rej_vol = parse_tickers(tickers_body)
        self._bounds = parsed.bounds
        markets = with_stats(parsed.markets, marks, oi, volumes, self._clock())
        perps = {m.venue_symbol for m in markets}
        # rows of spot markets in the stats bodies are not ours: only the perps' rejections are reported
        extra = [
            r for r in (*rej_marks, *rej_oi, *rej_vol) if r.venue_symbol in perps or r.venue_symbol is None
        ]
        return MarketDataResult(markets=markets, rejections=parsed.rejections + extra)

    async def fetch_funding_rates(self, markets: list[MarketInfo]) -> FundingRatesResult:
        """One PREDICTED sample per active market of `markets` (`markPrices` `fundingRate`, a fraction per the
        market's `fundingInterval`; rate_hourly = raw / interval hours). Reference rates: none (Backpack
        republishes no other venue's rates).

        Raises:
            BackpackError subclasses.
        """
        mine = [m for m in markets if m.venue == self.venue]
        marks, rejections = parse_mark_prices(await self._client.mark_prices())
        result = predicted_from_marks(mine, marks, self._bounds, self._clock())
        wanted = {m.venue_symbol for m in mine}
        result.rejections = [r for r in rejections if r.venue_symbol in wanted] + result.rejections
        return result

    async def fetch_funding_history(
        self, market: MarketInfo, start: datetime, end: datetime
    ) -> FundingRatesResult:
        """Settled funding of one market with ts (interval end) in [start, end), oldest first.

        Pages `fundingRates` (newest first, `limit` 1000, `offset` += rows) until a page reaches back before
        `start` or is short; rows are `parse_funding_rates` samples kept in [start, end), duplicates across pages
        dropped, the in-progress interval skipped.

        Raises:
            ValueError: naive datetimes, or a market of another venue.
            BackpackError subclasses.
        """
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("fetch_funding_history needs timezone-aware datetimes (UTC)")
        if market.venue != self.venue:
            raise ValueError(
                f"{self.venue}: not a market of this venue: {market.venue} {market.venue_symbol}"
            )
        result = FundingRatesResult()
        by_ts: dict[datetime, FundingRateSample] = {}
        offset = 0
        now = self._clock()
        while True:
            body = await self._client.funding_rates(market.venue_symbol, FUNDING_RATES_PAGE_ROWS, offset)
            page = parse_funding_rates(body, market, now=now)
            result.rejections += page.rejections
            for sample in page.samples:
                if start <= sample.ts < end:
                    by_ts.setdefault(sample.ts, sample)
            rows = len(body) if isinstance(body, list) else 0
            if rows < FUNDING_RATES_PAGE_ROWS or not page.samples or page.samples[0].ts < start:
                break
            offset += rows
        result.samples = [by_ts[ts] for ts in sorted(by_ts)]
        return result

    def normalize_symbol(self, venue_symbol: str) -> str:
        """Backpack symbol -> canonical base asset ("SOL_USDC_PERP" -> "SOL")."""
        return normalize_symbol(venue_symbol)

    async def close(self) -> None:
        """Give the shared HTTP session back to the venue scope. Idempotent."""
        await self._client.close()

    @property
    def bounds(self) -> dict[str, RateBounds]:
        """The rate caps / floors of the last `fetch_market_data` (venue symbol -> bounds)."""
        return dict(self._bounds)


__all__ = ["BackpackFundingAdapter"]
