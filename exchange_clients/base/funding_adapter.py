"""`BaseFundingAdapter`: read-only funding and market data of one venue.

Contract for every venue package (`exchange_clients/<venue>/funding_adapter/`):

* `fetch_market_data()` -> `MarketDataResult`: every perpetual market with its metadata (tick, step,
  minimums, max leverage, funding period, fees) and current stats (mark price, OI in USD, 24 h volume USD).
* `fetch_funding_rates(markets)` -> `FundingRatesResult`: one `predicted` sample per market (the current
  rate), normalised to `rate_hourly`; reference rates of other venues, if the venue republishes them,
  in `reference_rates` (never in `samples`). `markets` is the result of `fetch_market_data` (the adapter
  needs funding periods and prices from it); rows for markets not in it are rejected ("unknown market").
* `fetch_funding_history(market, start, end)` -> `FundingRatesResult` of `settled` samples in [start, end).
* `normalize_symbol(venue_symbol)` -> canonical base asset ("BTC-USD-PERP" -> "BTC", "1000PEPE" -> "1000PEPE").
* `close()` releases HTTP sessions.

Bad rows never raise: they are returned as `Rejection`s (logged) while the rest is kept. A failed request
raises the venue's `VenueError` subclass (unavailable / rate limited / rejected / data).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import ClassVar

from perparb_core.models import FundingRatesResult, MarketDataResult, MarketInfo


class BaseFundingAdapter(ABC):
    """Read-only funding and market data of one venue. See the module docstring for the contract."""

    venue: ClassVar[str]

    @abstractmethod
    async def fetch_market_data(self) -> MarketDataResult:
        """All perpetual markets with metadata and current stats.

        Raises:
            VenueError subclasses when the request fails or the envelope is unusable.
        """

    @abstractmethod
    async def fetch_funding_rates(self, markets: list[MarketInfo]) -> FundingRatesResult:
        """Current (predicted) funding rate per market, normalised.

        Raises:
            VenueError subclasses when the request fails or the envelope is unusable.
        """

    @abstractmethod
    async def fetch_funding_history(
        self, market: MarketInfo, start: datetime, end: datetime
    ) -> FundingRatesResult:
        """Settled funding rates of one market in [start, end), oldest first.

        Raises:
            VenueError subclasses when the request fails or the envelope is unusable.
        """

    @abstractmethod
    def normalize_symbol(self, venue_symbol: str) -> str:
        """Venue symbol -> canonical base asset (upper case)."""

    @abstractmethod
    async def close(self) -> None:
        """Release network resources. Idempotent."""

    async def __aenter__(self) -> BaseFundingAdapter:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
