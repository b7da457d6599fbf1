"""The public endpoints of Aster the funding adapter and the client's market cache read (`GET /fapi/v1/...`, no
signature, through the venue's one HTTP stack `exchange_clients.aster.http`)."""

from __future__ import annotations

from typing import Any

from exchange_clients.aster.http import AsterHttp

FUNDING_RATE_PAGE = 1000
"""`fundingRate` answers at most `limit` rows (max 1000), from `startTime` ascending (V3 docs "Get Funding Rate
History": "If the number of data between startTime and endTime is larger than limit, return as startTime +
limit")."""


class AsterFundingClient:
    """Thin async reads of Aster's public market data. Raises `AsterError` subclasses (see `http.py`)."""

    def __init__(self, http: AsterHttp) -> None:
        self.http = http

    async def exchange_info(self) -> Any:
        return await self.http.public("exchangeInfo")

    async def funding_info(self) -> Any:
        return await self.http.public("fundingInfo")

    async def premium_index(self, symbol: str | None = None) -> Any:
        return await self.http.public("premiumIndex", [("symbol", symbol)] if symbol else [], market=symbol)

    async def tickers_24h(self) -> Any:
        return await self.http.public("ticker/24hr")

    async def depth(self, symbol: str, limit: int = 1000) -> Any:
        return await self.http.public("depth", [("symbol", symbol), ("limit", str(limit))], market=symbol)

    async def funding_rate(
        self, symbol: str, start_ms: int, end_ms: int, limit: int = FUNDING_RATE_PAGE
    ) -> Any:
        params = [
            ("symbol", symbol),
            ("startTime", str(start_ms)),
            ("endTime", str(end_ms)),
            ("limit", str(limit)),
        ]
        return await self.http.public("fundingRate", params, market=symbol)

    async def close(self) -> None:
        await self.http.close()
