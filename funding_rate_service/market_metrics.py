"""The market-wide Prometheus series, refreshed from the database: data age per venue and the best opportunity.

`refresh(conn, ranking, venues)` sets `perparb_data_age_seconds{venue}` (age of the newest stored row of each
collected venue; a venue with no row at all reports +Inf), `perparb_best_opportunity_net_apr_ratio` and
`perparb_opportunities` (NaN and 0 when nothing is ranked; the default ranking: `ranking`'s horizon, fees and staleness limit, no APR floor, as
`perparb opportunities` ranks). The collector calls it after each stored cycle, `perparb serve` before each
scrape of `/metrics`, so both show what the database holds.

Raises what the queries raise (sqlalchemy errors): the caller decides whether a scrape fails.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from funding_rate_service import repository
from funding_rate_service.service import build_query, get_opportunities
from perparb_core import metrics
from perparb_core.models import utcnow
from perparb_core.settings import RankingConfig


async def refresh(
    conn: AsyncConnection,
    ranking: RankingConfig,
    venues: Iterable[str] = (),
    *,
    now: datetime | None = None,
) -> dict[str, float]:
    """Refresh the series from the database; returns {venue: data age in seconds} (inf when none)."""
    now = now or utcnow()
    rows = await repository.latest_rates(conn)
    newest: dict[str, datetime] = {}
    for r in rows:
        if r.venue not in newest or r.ts > newest[r.venue]:
            newest[r.venue] = r.ts
    ages: dict[str, float] = {}
    for venue in sorted(set(venues) | set(newest)):
        ts = newest.get(venue)
        ages[venue] = math.inf if ts is None else max(0.0, (now - ts).total_seconds())
        metrics.DATA_AGE_SECONDS.labels(venue=venue).set(ages[venue])
    query = build_query(
        ranking,
        min_apr=None,
        horizon_hours=None,
        venues=None,
        exclude=None,
        require=None,
        symbols=None,
        min_volume_usd=None,
        min_oi_usd=None,
        maker=False,
        slippage_bps=None,
        limit=None,
        now=now,
    )
    result = await get_opportunities(conn, query)
    ranked = result.opportunities
    metrics.OPPORTUNITIES.set(len(ranked))
    metrics.BEST_OPPORTUNITY_NET_APR.set(float(ranked[0].net_apr) if ranked else math.nan)
    return ages
