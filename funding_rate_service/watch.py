"""What the collector tells an operator after each cycle: the market-wide metrics and the venue-health alerts.

`CollectionWatch` is the collector's `on_cycle` hook (`collector.run_forever`). After each stored cycle it:
* refreshes the market series from the database (`market_metrics.refresh`: data age per venue, best
  opportunity);
* raises `venue_outage` when a venue has failed `outage_cycles` cycles in a row (default 3: one failed cycle is
  a blip the retries already cover) and `venue_recovered` on its first good cycle after that;
* raises `data_stale` when a venue's newest stored row is older than the ranking's staleness limit
  (`RankingConfig.max_data_age_seconds`: such rows are no longer ranked), once per stale episode.

Alerts go through `database.alerts` (recorded, de-duplicated, delivered in the background). A failure of the
watch itself (the database down) is logged, never raised into the collection loop.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncEngine

from database.alerts import raise_alert
from funding_rate_service import market_metrics
from funding_rate_service.collector import CycleSummary
from perparb_core.settings import AlertConfig, RankingConfig

log = logging.getLogger("perparb.collector")


class CollectionWatch:
    """See the module docstring. `venues`: the collected venues (a venue never collected is stale)."""

    def __init__(
        self,
        engine: AsyncEngine,
        ranking: RankingConfig,
        alerts: AlertConfig,
        venues: Iterable[str],
        *,
        outage_cycles: int = 3,
    ) -> None:
        self.engine = engine
        self.ranking = ranking
        self.alerts = alerts
        self.venues = list(venues)
        self.outage_cycles = outage_cycles
        self.failures: dict[str, int] = {}
        self.down: set[str] = set()
        self.stale: set[str] = set()

    async def __call__(self, summary: CycleSummary) -> None:
        try:
            await self.check(summary)
        except Exception as exc:  # the collection loop must not die of its monitoring
            log.warning("collection watch: %s: %s", type(exc).__name__, exc)

    async def check(self, summary: CycleSummary) -> None:
        """Metrics and alerts for one stored cycle (module docstring). Raises database errors."""
        async with self.engine.begin() as conn:
            for v in summary.venues:
                if v.status == "ok":
                    self.failures[v.venue] = 0
                    if v.venue in self.down:
                        self.down.discard(v.venue)
                        await raise_alert(
                            conn,
                            self.alerts,
                            "venue_recovered",
                            v.venue,
                            f"{v.venue}: collection works again ({v.stored} rows stored)",
                        )
                    continue
                count = self.failures.get(v.venue, 0) + 1
                self.failures[v.venue] = count
                if count >= self.outage_cycles and v.venue not in self.down:
                    self.down.add(v.venue)
                    await raise_alert(
                        conn,
                        self.alerts,
                        "venue_outage",
                        v.venue,
                        f"{v.venue}: {count} collection cycles in a row failed; last error: {v.error}",
                    )
            ages = await market_metrics.refresh(conn, self.ranking, self.venues, now=summary.finished_at)
            limit = self.ranking.max_data_age_seconds
            for venue, age in ages.items():
                if age > limit and venue not in self.stale:
                    self.stale.add(venue)
                    shown = "no data at all" if math.isinf(age) else f"newest row {age:.0f} s old"
                    await raise_alert(
                        conn,
                        self.alerts,
                        "data_stale",
                        venue,
                        f"{venue}: {shown} (limit {limit:g} s): its markets are not ranked",
                    )
                elif age <= limit:
                    self.stale.discard(venue)
