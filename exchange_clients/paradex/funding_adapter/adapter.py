"""`ParadexFundingAdapter`: Paradex read-only market and funding data (see `BaseFundingAdapter`).

Endpoints (PROTOCOL_NOTES §2.2, OpenAPI specs/paradex_openapi_prod.json), all public:
  * `GET /markets`                      -> `parse_markets` (perpetual metadata)
  * `GET /markets/summary?market=ALL`   -> `parse_markets_summary` (current funding rate, prices, OI, volume)
  * `GET /funding/data?market=..`       -> `parse_funding_data` (≈ one row per 5 s, newest first, paged)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import ClassVar

from exchange_clients.base.funding_adapter import BaseFundingAdapter
from exchange_clients.base.scope import VenueScope
from exchange_clients.paradex.common import VENUE, ParadexDataError
from exchange_clients.paradex.common import normalize_symbol as _normalize_symbol
from exchange_clients.paradex.config import ParadexConfig
from exchange_clients.paradex.funding_adapter.fetchers import (
    HourlyFundingBuckets,
    attach_stats,
    ceil_hour,
    epoch_ms,
    parse_funding_data,
    parse_markets,
    parse_markets_summary,
)
from exchange_clients.paradex.funding_adapter.funding_client import (
    FUNDING_DATA_MAX_PAGE_SIZE,
    ParadexFundingClient,
)
from perparb_core.models import (
    FundingRatesResult,
    MarketDataResult,
    MarketInfo,
    utcnow,
)
from perparb_core.settings import VenueConfig


class ParadexFundingAdapter(BaseFundingAdapter):
    """Paradex funding and market data.

    Args:
        config: base URL, timeouts and retries (default: `ParadexConfig()`, production).
        scope: the venue scope (default `venue_scope(config)`): rate limiter and shared public client.
        client: a ready `ParadexFundingClient` (default: built from `config` and `scope`).
        clock: the current time (aware UTC); injectable for tests.
        page_size: `funding/data` page size (1..5000, default 5000).
        max_pages: safety cap on `funding/data` pages per history call.

    All methods raise `ParadexError` subclasses (unavailable / rate limited / rejected / auth / data) when a
    request fails after retries or its envelope is unusable; bad rows come back as rejections.
    """

    venue: ClassVar[str] = VENUE

    def __init__(
        self,
        config: VenueConfig | None = None,
        scope: VenueScope | None = None,
        *,
        client: ParadexFundingClient | None = None,
        clock: Callable[[], datetime] = utcnow,
        page_size: int = FUNDING_DATA_MAX_PAGE_SIZE,
        max_pages: int = 10_000,
    ) -> None:
        if not 1 <= page_size <= FUNDING_DATA_MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be in 1..{FUNDING_DATA_MAX_PAGE_SIZE}, got {page_size}")
        self._client = (
            client if client is not None else ParadexFundingClient(config or ParadexConfig(), scope)
        )
        self._clock = clock
        self._page_size = page_size
        self._max_pages = max_pages

    def normalize_symbol(self, venue_symbol: str) -> str:
        """ "BTC-USD-PERP" -> "BTC" (see `exchange_clients.paradex.common.normalize_symbol`).

        Raises:
            ValueError: empty symbol or base.
        """
        return _normalize_symbol(venue_symbol)

    async def fetch_market_data(self) -> MarketDataResult:
        """Every PERP market (`GET /markets`) with its stats from `GET /markets/summary?market=ALL`.

        Metadata rules: `parse_markets`; stats (mark/index price USD, OI USD = OI base × mark, 24 h volume
        USD, ts): `parse_markets_summary` via `attach_stats`. A market whose summary row is missing or
        rejected keeps empty stats; the rejections of both payloads are returned.

        Raises:
            ParadexError subclasses.
        """
        now = self._clock()
        result = parse_markets(await self._client.fetch_markets(), now)
        by_symbol = {m.venue_symbol: m for m in result.markets}
        summary = parse_markets_summary(await self._client.fetch_markets_summary(), by_symbol, now)
        result.markets = attach_stats(result.markets, summary.samples)
        result.rejections.extend(summary.rejections)
        return result

    async def fetch_funding_rates(self, markets: list[MarketInfo]) -> FundingRatesResult:
        """One PREDICTED sample per perpetual from `GET /markets/summary?market=ALL`: raw `funding_rate`
        per the market's `funding_period_hours`, rate_hourly = raw / period, with mark/index price, OI USD
        and 24 h volume USD. Rows of markets not in `markets` are rejected ("unknown market").

        Raises:
            ParadexError subclasses.
        """
        by_symbol = {m.venue_symbol: m for m in markets if m.venue == VENUE}
        return parse_markets_summary(await self._client.fetch_markets_summary(), by_symbol, self._clock())

    async def fetch_funding_history(
        self, market: MarketInfo, start: datetime, end: datetime
    ) -> FundingRatesResult:
        """Hourly SETTLED funding rates of `market` with ts in [start, min(end, now)), oldest first.

        Paradex funds continuously (PROTOCOL_NOTES §2.4: the funding index accrues every second and is
        realised when a position changes; there is no settlement instant). `GET /funding/data` gives one
        row per ~5 s, newest first, paged by the `next` cursor (`page_size` <= 5000, `start_at`/`end_at`
        in ms). This produces ONE sample per UTC hour: the mean of the row `funding_rate`s (in the market's
        period units) with created_at in [hour, hour + 1 h); ts = the hour END (when that hour's funding
        has been accrued); raw_rate = the mean per `funding_period_hours`, rate_hourly = mean / period;
        source "paradex:funding/data" (see `HourlyFundingBuckets`). Only hours that have ended by `now`
        are produced, so an hour is never reported half-accrued.

        Rows requested: created_at in [ceil_hour(start) - 1 h, ceil_hour(min(end, now)) - 1 h), the hours
        whose end lies in the window. Pages are followed until `next` is null, a page is empty, or a page
        holds rows older than the window start; a repeated cursor or more than `max_pages` pages raise
        `ParadexDataError`. Bad rows are returned as rejections.

        Raises:
            ValueError: naive datetimes, or a market of another venue / without a positive funding period.
            ParadexError subclasses.
        """
        if market.venue != VENUE:
            raise ValueError(
                f"{VENUE}: cannot fetch history of a {market.venue} market ({market.venue_symbol})"
            )
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError(f"{VENUE}: start and end must be aware datetimes (got {start!r}, {end!r})")
        buckets = HourlyFundingBuckets(market)
        result = FundingRatesResult()
        window_end = min(end, self._clock())
        rows_start = ceil_hour(start) - timedelta(hours=1)
        rows_end = ceil_hour(window_end) - timedelta(hours=1)
        if rows_end <= rows_start:
            return result
        start_ms, end_ms = epoch_ms(rows_start), epoch_ms(rows_end)
        cursor: str | None = None
        seen_cursors: set[str] = set()
        for _ in range(self._max_pages):
            body = await self._client.fetch_funding_data(
                market.venue_symbol,
                start_ms=start_ms,
                end_ms=end_ms - 1,
                page_size=self._page_size,
                cursor=cursor,
            )
            page = parse_funding_data(body, market)
            result.rejections.extend(page.rejections)
            oldest: int | None = None
            for row in page.rows:
                if start_ms <= row.created_at_ms < end_ms:
                    buckets.add(row)
                oldest = row.created_at_ms if oldest is None else min(oldest, row.created_at_ms)
            if (
                page.next_cursor is None
                or page.result_count == 0
                or (oldest is not None and oldest < start_ms)
            ):
                break
            if page.next_cursor in seen_cursors:
                raise ParadexDataError(
                    f"GET /funding/data: cursor {page.next_cursor[:40]!r} repeats", market.venue_symbol
                )
            seen_cursors.add(page.next_cursor)
            cursor = page.next_cursor
        else:
            raise ParadexDataError(
                f"GET /funding/data: more than {self._max_pages} pages for "
                f"{rows_start.isoformat()}..{rows_end.isoformat()}",
                market.venue_symbol,
            )
        result.samples = buckets.samples(start, window_end)
        return result

    async def close(self) -> None:
        """Close the HTTP client. Idempotent."""
        await self._client.close()
