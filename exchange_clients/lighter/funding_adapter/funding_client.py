"""Lighter's public market and funding endpoints, read raw through the venue's one HTTP stack
(`exchange_clients.lighter.http.LighterRest`: shared session and limiter, retries, status -> typed errors).

Used by the funding adapter and by the trading client's market list, so `orderBookDetails` has one reader and
one parser (`fetchers.parse_order_book_details`).
"""

from __future__ import annotations

import lighter

from exchange_clients.lighter.http import JsonObject, LighterRest


class LighterFundingClient:
    """`GET /api/v1/orderBookDetails`, `/funding-rates` and `/fundings` as decoded JSON objects.

    Args:
        rest: the venue's HTTP stack (`LighterRest(config, venue_scope(config))`).

    Every method raises the `LighterError` subclasses of `exchange_clients.lighter.http`.
    """

    def __init__(self, rest: LighterRest) -> None:
        self.rest = rest

    async def order_book_details(self) -> JsonObject:
        """`GET /api/v1/orderBookDetails` (all markets).

        Returns `{code, order_book_details:[PerpsOrderBookDetail], spot_order_book_details:[...]}`.

        Raises:
            LighterError subclasses, see the module table.
        """
        api = lighter.OrderApi(self.rest.api)
        timeout = self.rest.timeout
        return await self.rest.get(
            "GET /api/v1/orderBookDetails",
            "order_book_details",
            lambda: api.order_book_details_without_preload_content(_request_timeout=timeout),
        )

    async def funding_rates(self) -> JsonObject:
        """`GET /api/v1/funding-rates` (current rates of Lighter and other venues).

        Returns `{code, funding_rates:[{market_id, exchange, symbol, rate}]}`, rate a fraction per 8 h.

        Raises:
            LighterError subclasses, see the module table.
        """
        api = lighter.FundingApi(self.rest.api)
        timeout = self.rest.timeout
        return await self.rest.get(
            "GET /api/v1/funding-rates",
            "funding_rates",
            lambda: api.funding_rates_without_preload_content(_request_timeout=timeout),
        )

    async def fundings(
        self,
        market_id: int,
        start_timestamp: int,
        end_timestamp: int,
        count_back: int,
        *,
        resolution: str = "1h",
        market: str | None = None,
    ) -> JsonObject:
        """`GET /api/v1/fundings` (settled funding history of one market).

        Returns `{code, resolution, fundings:[{timestamp (s), value, rate (% per hour), direction}]}`.

        Args:
            market_id: Lighter market id; start_timestamp / end_timestamp: epoch SECONDS;
            count_back: number of rows wanted (the SDK documents at most 750 per call); resolution: "1h".
            market: the symbol, for error messages.

        Raises:
            LighterError subclasses, see the module table.
        """
        api = lighter.CandlestickApi(self.rest.api)
        timeout = self.rest.timeout
        what = (
            f"GET /api/v1/fundings?market_id={market_id}&resolution={resolution}"
            f"&start_timestamp={start_timestamp}&end_timestamp={end_timestamp}&count_back={count_back}"
        )
        return await self.rest.get(
            what,
            "fundings",
            lambda: api.fundings_without_preload_content(
                market_id=market_id,
                resolution=resolution,
                start_timestamp=start_timestamp,
                end_timestamp=end_timestamp,
                count_back=count_back,
                _request_timeout=timeout,
            ),
            market,
        )

    async def close(self) -> None:
        """Give the shared HTTP session back. Idempotent."""
        await self.rest.close()
