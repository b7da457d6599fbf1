"""`LighterFundingAdapter`: Lighter's read-only market and funding data (contract: `BaseFundingAdapter`).

Endpoints (PROTOCOL_NOTES §1.2), fetched raw by `LighterFundingClient` (through the venue's one HTTP stack,
`exchange_clients.lighter.http`, shared with the trading client: same session, same rate budget) and parsed by
`fetchers`:
  * markets: `GET /api/v1/orderBookDetails` -> `parse_order_book_details`;
  * current rates: `GET /api/v1/funding-rates` -> `parse_funding_rates` (fraction per 8 h -> per hour);
  * history: `GET /api/v1/fundings` -> `parse_fundings` (unsigned percent per hour + direction).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar

from exchange_clients.base.funding_adapter import BaseFundingAdapter
from exchange_clients.base.scope import VenueScope, venue_scope
from exchange_clients.lighter.common import VENUE, normalize_symbol
from exchange_clients.lighter.config import LighterConfig
from exchange_clients.lighter.funding_adapter.fetchers import (
    SOURCE_FUNDINGS,
    parse_funding_rates,
    parse_fundings,
    parse_order_book_details,
)
from exchange_clients.lighter.funding_adapter.funding_client import LighterFundingClient
from exchange_clients.lighter.http import LighterRest
from perparb_core.models import (
    FundingRateSample,
    FundingRatesResult,
    MarketDataResult,
    MarketInfo,
    reject,
    utcnow,
)

#: Hourly rows per `GET /api/v1/fundings` request. The SDK documents "Maximum 750 fundings will be returned
#: per call" (lighter-sdk 1.1.8 `CandlestickApi.fundings`), so windows hold at most 750 hourly rows
#: (below the 1000 the design allows), and no window is ever truncated by the venue.
FUNDINGS_ROWS_PER_REQUEST = 750
_HOUR_SECONDS = 3600


def history_windows(start_s: int, end_s: int, rows: int = FUNDINGS_ROWS_PER_REQUEST) -> list[tuple[int, int]]:
    """Split [start_s, end_s) (epoch seconds) into request windows `(start_timestamp, end_timestamp)`.

    Each window spans `rows - 1` hours, so even with both ends inclusive and on the hour it holds at most
    `rows` hourly rows. Consecutive windows share their boundary second (whether the venue treats
    `end_timestamp` as inclusive or not, no hour is lost; the duplicate is removed by timestamp).
    Empty when `end_s <= start_s`.
    """
    if rows < 2:
        raise ValueError(f"rows must be >= 2, got {rows}")
    span = (rows - 1) * _HOUR_SECONDS
    windows: list[tuple[int, int]] = []
    lo = start_s
    while lo < end_s:
        hi = min(lo + span, end_s)
        windows.append((lo, hi))
        lo = hi
    return windows


class LighterFundingAdapter(BaseFundingAdapter):
    """Lighter funding adapter.

    Args:
        config: `rest_url` and `http` (timeout per attempt, retries, backoff).
        scope: the venue scope (default `venue_scope(config)`): its limiter and shared session.
        client: the HTTP layer (default: a `LighterFundingClient` on the scope).

    Every method that talks to Lighter raises a `LighterError` subclass when the request fails or the
    envelope is unusable (see `funding_client`); bad rows come back as `rejections`.
    """

    venue: ClassVar[str] = VENUE

    def __init__(
        self,
        config: LighterConfig,
        scope: VenueScope | None = None,
        *,
        client: LighterFundingClient | None = None,
    ) -> None:
        self.config = config
        self._client = (
            client
            if client is not None
            else LighterFundingClient(LighterRest(config, scope or venue_scope(config)))
        )

    async def fetch_market_data(self) -> MarketDataResult:
        """Every Lighter perp with metadata and stats (`parse_order_book_details`).

        Raises:
            LighterError subclasses (unavailable, rate limited, rejected, data).
        """
        body = await self._client.order_book_details()
        return parse_order_book_details(body, utcnow())

    async def fetch_funding_rates(self, markets: list[MarketInfo]) -> FundingRatesResult:
        """Predicted (current) hourly rate per Lighter market, plus other venues' reference rates.

        Args:
            markets: result of `fetch_market_data` (its `venue_market_id`s identify the rows; its stats are
                copied onto the samples). Rows for market ids not in it are rejected ("unknown market").

        Raises:
            LighterError subclasses (unavailable, rate limited, rejected, data).
        """
        by_id = {m.venue_market_id: m for m in markets if m.venue == VENUE}
        body = await self._client.funding_rates()
        return parse_funding_rates(body, by_id, utcnow())

    async def fetch_funding_history(
        self, market: MarketInfo, start: datetime, end: datetime
    ) -> FundingRatesResult:
        """Settled hourly funding of one market in [start, end), oldest first, one sample per hour.

        Requests `GET /api/v1/fundings?resolution=1h` in windows of at most `FUNDINGS_ROWS_PER_REQUEST`
        hourly rows (`start_timestamp` / `end_timestamp` in epoch seconds, `count_back` = rows in the
        window), keeps rows with start <= ts < end, removes duplicates by timestamp (a second row for the
        same hour with a different rate is rejected), and sorts by time.

        Raises:
            ValueError: naive datetimes, or a `market` that is not a Lighter market with an integer market id.
            LighterError subclasses (unavailable, rate limited, rejected, data).
        """
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("fetch_funding_history needs timezone-aware datetimes (UTC)")
        if market.venue != VENUE or not market.venue_market_id.isdigit():
            raise ValueError(
                f"{VENUE}: not a Lighter market: venue={market.venue!r} "
                f"venue_market_id={market.venue_market_id!r}"
            )
        market_id = int(market.venue_market_id)
        start_s = int(start.timestamp())
        end_s = int((end + timedelta(microseconds=999_999)).timestamp())  # ceil: cover a fractional end
        result = FundingRatesResult()
        by_ts: dict[datetime, FundingRateSample] = {}
        for lo, hi in history_windows(start_s, end_s):
            count = (hi - lo) // _HOUR_SECONDS + 1
            body = await self._client.fundings(market_id, lo, hi, count, market=market.venue_symbol)
            page = parse_fundings(body, market)
            result.rejections.extend(page.rejections)
            for sample in page.samples:
                if not start <= sample.ts < end:
                    continue
                previous = by_ts.get(sample.ts)
                if previous is None:
                    by_ts[sample.ts] = sample
                elif previous.rate_hourly != sample.rate_hourly:
                    result.rejections.append(
                        reject(
                            VENUE,
                            SOURCE_FUNDINGS,
                            market.venue_symbol,
                            "timestamp",
                            int(sample.ts.timestamp()),
                            f"second row for this hour, rate {sample.raw_rate} vs {previous.raw_rate}",
                        )
                    )
        result.samples = [by_ts[ts] for ts in sorted(by_ts)]
        return result

    def normalize_symbol(self, venue_symbol: str) -> str:
        """Lighter symbol -> canonical base asset ("eth " -> "ETH", "1000PEPE" -> "1000PEPE")."""
        return normalize_symbol(venue_symbol)

    async def close(self) -> None:
        """Give the shared HTTP session back to the venue scope. Idempotent."""
        await self._client.close()
