"""The collector: one cycle fetches every venue concurrently and stores the lot in one transaction.

Rules (issue #2, DESIGN.md "Data flow"):
* each venue is fetched concurrently, each request with a timeout and retries with backoff (inside the
  adapters, `exchange_clients.base.retry`), the whole venue under `venue_timeout_seconds`;
* one venue's failure (HTTP 5xx, timeout, malformed envelope) never blocks or corrupts the others: that venue is
  recorded as `failed` for the cycle with its error, the others are stored;
* bad rows are rejected by the adapters with a logged reason and counted, the rest of the venue is stored;
* the cycle is written in ONE transaction with batched statements (`repository.store_cycle`): a crash mid-write
  leaves nothing half-written.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from exchange_clients.base.funding_adapter import BaseFundingAdapter
from funding_rate_service import repository
from perparb_core import metrics
from perparb_core.errors import VenueError
from perparb_core.models import (
    FundingRateSample,
    MarketInfo,
    ReferenceRate,
    Rejection,
    utcnow,
)

log = logging.getLogger("perparb.collector")


@dataclass(slots=True)
class VenueFetch:
    """What one venue gave in one cycle (or why it gave nothing)."""

    venue: str
    started_at: datetime
    finished_at: datetime
    markets: list[MarketInfo] = field(default_factory=list)
    samples: list[FundingRateSample] = field(default_factory=list)
    reference_rates: list[ReferenceRate] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(slots=True)
class VenueSummary:
    """Per-venue outcome of a cycle, as printed by `collect --once --json`."""

    venue: str
    status: str
    markets: int
    stored: int
    rejected: int
    reference_stored: int = 0
    error: str | None = None
    rejections: list[str] = field(default_factory=list)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "venue": self.venue,
            "status": self.status,
            "markets": self.markets,
            "stored": self.stored,
            "rejected": self.rejected,
            "reference_stored": self.reference_stored,
            "error": self.error,
            "rejections": self.rejections,
        }


@dataclass(slots=True)
class CycleSummary:
    """Outcome of one collection cycle."""

    started_at: datetime
    finished_at: datetime
    venues: list[VenueSummary]
    latest_updated: int

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "duration_seconds": round((self.finished_at - self.started_at).total_seconds(), 3),
            "latest_updated": self.latest_updated,
            "venues": {v.venue: v.to_json_dict() for v in self.venues},
            "stored_total": sum(v.stored for v in self.venues),
            "rejected_total": sum(v.rejected for v in self.venues),
            "failed_venues": [v.venue for v in self.venues if v.status != "ok"],
        }


def _describe(exc: BaseException) -> str:
    if isinstance(exc, VenueError):
        return str(exc)
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"


async def fetch_venue(adapter: BaseFundingAdapter, *, timeout_seconds: float) -> VenueFetch:
    """Fetch markets then current funding rates of one venue. Never raises: failures are in `error`."""
    started = utcnow()
    fetch = VenueFetch(venue=adapter.venue, started_at=started, finished_at=started)

    async def _go() -> None:
        market_data = await adapter.fetch_market_data()
        rates = await adapter.fetch_funding_rates(market_data.markets)
        fetch.markets = market_data.markets
        fetch.samples = rates.samples
        fetch.reference_rates = rates.reference_rates
        fetch.rejections = market_data.rejections + rates.rejections

    try:
        await asyncio.wait_for(_go(), timeout=timeout_seconds)
    except (VenueError, asyncio.TimeoutError, OSError, ValueError) as exc:
        metrics.count_venue_error(adapter.venue, exc)
        fetch.error = _describe(exc)
        fetch.markets, fetch.samples, fetch.reference_rates = [], [], []
        log.error("collection failed for %s: %s", adapter.venue, fetch.error)
    fetch.finished_at = utcnow()
    return fetch


async def store_fetches(engine: AsyncEngine, fetches: Sequence[VenueFetch], *, kind: str) -> CycleSummary:
    """Store the fetches of every venue in ONE transaction and summarise.

    Raises:
        sqlalchemy.exc.DBAPIError: the database write failed; nothing of the cycle is stored.
    """
    now = utcnow()
    runs = [
        repository.RunRecord(
            venue=f.venue,
            kind=kind,
            started_at=f.started_at,
            finished_at=f.finished_at,
            status="ok" if f.ok else "failed",
            markets=len(f.markets),
            rejected=len(f.rejections),
            error=f.error,
        )
        for f in fetches
    ]
    async with engine.begin() as conn:
        result = await repository.store_cycle(
            conn,
            markets=[m for f in fetches for m in f.markets],
            samples=[s for f in fetches for s in f.samples],
            reference_rates=[r for f in fetches for r in f.reference_rates],
            runs=runs,
            now=now,
        )
    venues = [
        VenueSummary(
            venue=f.venue,
            status="ok" if f.ok else "failed",
            markets=len(f.markets),
            stored=result.stored_by_venue.get(f.venue, 0),
            rejected=len(f.rejections),
            reference_stored=result.reference_stored if f.reference_rates else 0,
            error=f.error,
            rejections=[str(r) for r in f.rejections],
        )
        for f in fetches
    ]
    started = min((f.started_at for f in fetches), default=now)
    return CycleSummary(
        started_at=started, finished_at=utcnow(), venues=venues, latest_updated=result.latest_updated
    )


async def run_cycle(
    engine: AsyncEngine, adapters: Sequence[BaseFundingAdapter], *, venue_timeout_seconds: float
) -> CycleSummary:
    """One collection cycle: every venue concurrently, then one transaction.

    Raises:
        sqlalchemy.exc.DBAPIError: the database write failed (nothing stored).
    """
    started = time.perf_counter()
    fetches = await asyncio.gather(*(fetch_venue(a, timeout_seconds=venue_timeout_seconds) for a in adapters))
    summary = await store_fetches(engine, fetches, kind="collect")
    metrics.COLLECTOR_CYCLE_SECONDS.observe(time.perf_counter() - started)
    for v in summary.venues:
        metrics.COLLECTOR_ROWS.labels(venue=v.venue).set(v.stored)
        metrics.COLLECTOR_ROWS_TOTAL.labels(venue=v.venue).inc(v.stored)
    for v in summary.venues:
        log.info(
            "collected %s: status=%s markets=%d stored=%d rejected=%d",
            v.venue,
            v.status,
            v.markets,
            v.stored,
            v.rejected,
        )
    return summary


async def run_forever(
    engine: AsyncEngine,
    adapters: Sequence[BaseFundingAdapter],
    *,
    interval_seconds: float,
    venue_timeout_seconds: float,
    on_cycle: Callable[[CycleSummary], Awaitable[None] | None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run cycles every `interval_seconds` (measured start to start) until `stop` is set.

    A failed database write is logged and the loop goes on with the next cycle.
    """
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        started = loop.time()
        try:
            summary = await run_cycle(engine, adapters, venue_timeout_seconds=venue_timeout_seconds)
        except Exception as exc:  # the loop must survive a database outage; logged with its type
            log.error("cycle not stored: %s: %s", type(exc).__name__, exc)
        else:
            if on_cycle is not None:
                maybe = on_cycle(summary)
                if asyncio.iscoroutine(maybe):
                    await maybe
        delay = max(0.0, interval_seconds - (loop.time() - started))
        try:
            await asyncio.wait_for(stop.wait(), timeout=delay)
        except asyncio.TimeoutError:
            pass
