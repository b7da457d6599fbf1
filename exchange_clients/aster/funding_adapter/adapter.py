"""`AsterFundingAdapter`: Aster's read-only market and funding data (contract: `BaseFundingAdapter`).

Requests (public `GET /fapi/v1/...` through `AsterFundingClient` on the venue's one HTTP stack), parsed by
`fetchers`:
  * markets: `exchangeInfo` -> `parse_exchange_info`, with each symbol's interval from `fundingInfo`
    (`parse_funding_info`: `premiumIndex` does not carry it), mark / index from `premiumIndex` and the 24 h quote
    volume from `ticker/24hr` (open interest: Aster publishes none, so None);
  * current funding: `premiumIndex` (all symbols) -> `parse_premium_index` (`lastFundingRate` / interval);
  * history: `fundingRate` -> `parse_funding_history` (paged by `startTime`, 1000 rows a page).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import ClassVar

from exchange_clients.aster.common import VENUE, AsterDataError, normalize_symbol
from exchange_clients.aster.config import AsterConfig
from exchange_clients.aster.funding_adapter.fetchers import (
    epoch_ms,
    parse_exchange_info,
    parse_funding_history,
    parse_funding_info,
    parse_premium_index,
    parse_ticker_volumes,
    with_stats,
)
from exchange_clients.aster.funding_adapter.funding_client import FUNDING_RATE_PAGE, AsterFundingClient
from exchange_clients.aster.http import AsterHttp
from exchange_clients.base.funding_adapter import BaseFundingAdapter
from exchange_clients.base.scope import VenueScope, venue_scope
from perparb_core.models import (
    FundingRateSample,
    FundingRatesResult,
    MarketDataResult,
    MarketInfo,
    utc_from_ms,
)

_PREMIUM_MAX_AGE_SECONDS = 5.0


class AsterFundingAdapter(BaseFundingAdapter):
    """Funding and market data of Aster's perpetuals.

    Args:
        config: an `AsterConfig`; scope: the venue scope (default `venue_scope(config)`); client: the HTTP layer
        (default an `AsterFundingClient` on the scope).

    Every method raises an `AsterError` subclass when a request fails or a body is unusable; bad rows come back as
    rejections.
    """

    venue: ClassVar[str] = VENUE

    def __init__(
        self,
        config: AsterConfig,
        scope: VenueScope | None = None,
        *,
        client: AsterFundingClient | None = None,
    ) -> None:
        self.config = config
        self._client = client or AsterFundingClient(AsterHttp(config, scope or venue_scope(config)))
        self._premium: tuple[float, object] | None = None

    async def _premium_index(self, *, reuse: bool) -> object:
        if (
            reuse
            and self._premium is not None
            and time.monotonic() - self._premium[0] <= _PREMIUM_MAX_AGE_SECONDS
        ):
            return self._premium[1]
        body = await self._client.premium_index()
        self._premium = (time.monotonic(), body)
        return body

    async def fetch_market_data(self) -> MarketDataResult:
        """Every perpetual with its grid, interval (`fundingInfo`), mark / index (`premiumIndex`) and 24 h quote
        volume (`ticker/24hr`); open interest None (not published).

        Raises:
            AsterError subclasses (unavailable, rate limited, rejected, data).
        """
        intervals, rejections = parse_funding_info(await self._client.funding_info())
        result = parse_exchange_info(await self._client.exchange_info(), intervals=intervals)
        result.rejections[:0] = rejections
        volumes, vol_rej = parse_ticker_volumes(await self._client.tickers_24h())
        result.rejections += vol_rej
        by_symbol = {m.venue_symbol: m for m in result.markets}
        premium = parse_premium_index(await self._premium_index(reuse=False), by_symbol)
        marks = {s.venue_symbol: s for s in premium.samples}
        markets = []
        for m in result.markets:
            s = marks.get(m.venue_symbol)
            markets.append(
                with_stats(
                    m,
                    mark=s.mark_price if s else None,
                    index=s.index_price if s else None,
                    volume=volumes.get(m.venue_symbol),
                    ts=s.ts if s else None,
                )
            )
        result.markets = markets
        return result

    async def fetch_funding_rates(self, markets: list[MarketInfo]) -> FundingRatesResult:
        """One PREDICTED sample per market in `markets`: `premiumIndex` `lastFundingRate` / the market's
        `funding_period_hours` (its `fundingIntervalHours`, read by `fetch_market_data`). The `premiumIndex`
        answer `fetch_market_data` just read is reused when younger than 5 s.

        Raises:
            AsterError subclasses.
        """
        by_symbol = {m.venue_symbol: m for m in markets if m.venue == self.venue}
        body = await self._premium_index(reuse=True)
        parsed = parse_premium_index(body, by_symbol)
        parsed.rejections = [r for r in parsed.rejections if r.reason != "unknown market"]
        return parsed

    async def fetch_funding_history(
        self, market: MarketInfo, start: datetime, end: datetime
    ) -> FundingRatesResult:
        """Settled funding of one market with ts in [start, end), oldest first, one sample per settlement.

        Pages `fundingRate` (`startTime` / `endTime` inclusive, ms; 1000 rows an answer, ascending): the next page
        starts 1 ms after the last row; it stops at a short page. Each row's interval is its spacing to the
        previous settlement (`fetchers.interval_of`).

        Raises:
            ValueError: naive datetimes, or a market of another venue.
            AsterError subclasses.
        """
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("fetch_funding_history needs timezone-aware datetimes (UTC)")
        if market.venue != self.venue:
            raise ValueError(
                f"{self.venue}: not a market of this venue: {market.venue} {market.venue_symbol}"
            )
        result = FundingRatesResult()
        by_ts: dict[datetime, FundingRateSample] = {}
        cursor, end_ms = epoch_ms(start), epoch_ms(end) - 1
        previous: int | None = None
        while cursor <= end_ms:
            body = await self._client.funding_rate(market.venue_symbol, cursor, end_ms)
            if not isinstance(body, list):
                raise AsterDataError(f"fundingRate: body is {type(body).__name__}", market.venue_symbol)
            page = parse_funding_history(body, market, previous_ms=previous)
            result.rejections += page.rejections
            for sample in page.samples:
                if start <= sample.ts < end:
                    by_ts.setdefault(sample.ts, sample)
            times = [
                r["fundingTime"]
                for r in body
                if isinstance(r, dict) and isinstance(r.get("fundingTime"), int)
            ]
            if len(body) < FUNDING_RATE_PAGE or not times:
                break
            last = max(times)
            if last < cursor:
                raise AsterDataError(
                    f"fundingRate page ends at {last} before its startTime {cursor}", market.venue_symbol
                )
            previous, cursor = last, last + 1
        result.samples = [by_ts[ts] for ts in sorted(by_ts)]
        return result

    def normalize_symbol(self, venue_symbol: str) -> str:
        """Aster symbol -> canonical base asset ("BTCUSDT" -> "BTC")."""
        return normalize_symbol(venue_symbol)

    async def close(self) -> None:
        """Give the shared HTTP session back to the venue scope. Idempotent."""
        await self._client.close()


__all__ = ["AsterFundingAdapter", "utc_from_ms"]
