"""Backpack's public market and funding reads (`GET /api/v1/...`) on the venue's one HTTP stack
(`exchange_clients.backpack.http.BackpackHttp`: shared session, limiter, retries, typed errors).

Used by the funding adapter and by the trading client's market list, so `markets` has one reader and one parser
(`fetchers.parse_markets`).
"""

from __future__ import annotations

from typing import Any

from exchange_clients.backpack.http import BackpackHttp

#: `fundingRates` answers at most `limit` rows, `limit` 1..1000 (bpx-py `get_funding_interval_rates`), newest
#: first: page on with `offset`.
FUNDING_RATES_PAGE_ROWS = 1000


class BackpackFundingClient:
    """The public reads, as decoded JSON. Every method raises the `BackpackError` subclasses of
    `exchange_clients.backpack.http`."""

    def __init__(self, http: BackpackHttp) -> None:
        self.http = http

    async def markets(self) -> Any:
        """`GET /api/v1/markets` -> every market (spot and perps)."""
        return await self.http.get("/api/v1/markets")

    async def mark_prices(self) -> Any:
        """`GET /api/v1/markPrices` -> `[{symbol, fundingRate, markPrice, indexPrice, nextFundingTimestamp}]`."""
        return await self.http.get("/api/v1/markPrices")

    async def open_interest(self) -> Any:
        """`GET /api/v1/openInterest` -> `[{symbol, openInterest (base), timestamp}]`."""
        return await self.http.get("/api/v1/openInterest")

    async def tickers(self) -> Any:
        """`GET /api/v1/tickers` -> 24 h statistics per market."""
        return await self.http.get("/api/v1/tickers")

    async def funding_rates(self, symbol: str, limit: int, offset: int) -> Any:
        """`GET /api/v1/fundingRates?symbol&limit&offset` -> `[{symbol, fundingRate, intervalEndTimestamp}]`,
        newest first (the first row may be the interval in progress)."""
        return await self.http.get(
            "/api/v1/fundingRates", {"symbol": symbol, "limit": limit, "offset": offset}, market=symbol
        )

    async def depth(self, symbol: str) -> Any:
        """`GET /api/v1/depth?symbol` -> `{asks, bids, lastUpdateId (text), timestamp (µs)}` (both sides
        ascending by price)."""
        return await self.http.get("/api/v1/depth", {"symbol": symbol}, market=symbol)

    async def close(self) -> None:
        """Give the shared HTTP session back. Idempotent."""
        await self.http.close()
