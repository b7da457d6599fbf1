"""Backfill settled funding history of one venue into PostgreSQL.

One market is one unit of work: its history is fetched, then written in its own transaction (so an
interruption keeps every finished market and no partial one). Samples are unique per (market, kind, ts) and
inserted with `ON CONFLICT DO NOTHING`, so a second run over the same window adds no rows.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from exchange_clients.base.funding_adapter import BaseFundingAdapter
from funding_rate_service import repository
from perparb_core.errors import VenueError
from perparb_core.models import MarketInfo, utcnow

log = logging.getLogger("perparb.backfill")


@dataclass(slots=True)
class BackfillSummary:
    """Counts of a backfill run: markets done / failed, rows fetched, stored (new), rejected."""

    venue: str
    start: datetime
    end: datetime
    markets: int = 0
    markets_failed: dict[str, str] = field(default_factory=dict)
    fetched: int = 0
    stored: int = 0
    rejected: int = 0

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "venue": self.venue,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "markets": self.markets,
            "markets_failed": self.markets_failed,
            "fetched": self.fetched,
            "stored": self.stored,
            "rejected": self.rejected,
        }


async def backfill(
    engine: AsyncEngine,
    adapter: BaseFundingAdapter,
    *,
    days: float,
    symbols: Iterable[str] | None = None,
    end: datetime | None = None,
    concurrency: int = 4,
    on_market_done: Callable[[MarketInfo], None] | None = None,
    on_markets_known: Callable[[int], None] | None = None,
) -> BackfillSummary:
    """Fetch and store `days` of settled history for every active market of the adapter's venue.

    Args:
        days: length of the window ending at `end` (default now), > 0.
        symbols: canonical base assets to restrict to (None = all).
        concurrency: markets fetched at once.
        on_markets_known / on_market_done: progress callbacks (for the CLI's progress bar).

    Raises:
        ValueError: `days` not positive.
        VenueError: the market list itself cannot be fetched.
    """
    if days <= 0:
        raise ValueError(f"days must be positive, got {days!r}")
    end = end or utcnow()
    start = end - timedelta(days=days)
    summary = BackfillSummary(venue=adapter.venue, start=start, end=end)
    market_data = await adapter.fetch_market_data()
    wanted = {s.upper() for s in symbols} if symbols else None
    markets = [m for m in market_data.markets if m.is_active and (wanted is None or m.symbol in wanted)]
    summary.markets = len(markets)
    if on_markets_known:
        on_markets_known(len(markets))
    sem = asyncio.Semaphore(max(1, concurrency))

    async def one(market: MarketInfo) -> None:
        async with sem:
            started = utcnow()
            try:
                history = await adapter.fetch_funding_history(market, start, end)
            except VenueError as exc:
                summary.markets_failed[market.venue_symbol] = str(exc)
                log.error("backfill %s %s failed: %s", market.venue, market.venue_symbol, exc)
                if on_market_done:
                    on_market_done(market)
                return
            run = repository.RunRecord(
                venue=market.venue,
                kind="backfill",
                started_at=started,
                finished_at=utcnow(),
                status="ok",
                markets=1,
                rejected=len(history.rejections),
            )
            async with engine.begin() as conn:
                result = await repository.store_cycle(
                    conn,
                    markets=[market],
                    samples=history.samples,
                    reference_rates=[],
                    runs=[run],
                    now=utcnow(),
                )
            summary.fetched += len(history.samples)
            summary.stored += result.stored_by_venue.get(market.venue, 0)
            summary.rejected += len(history.rejections)
            if on_market_done:
                on_market_done(market)

    await asyncio.gather(*(one(m) for m in markets))
    return summary
