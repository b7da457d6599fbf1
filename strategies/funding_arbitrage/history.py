"""Hourly funding history for the live and paper signals (`signals`), from PostgreSQL or from memory.

Live runs read the funding tables (`funding_rate_samples`: settled samples stored by `perparb backfill` and
the collector, predicted samples stored by every scan); paper runs never write simulated rates there and keep
the same samples in memory (`PaperHistory`). Both turn one market's samples into hourly buckets with
`signals.hourly_points` (settled samples fill the hour before their settlement hour; the hour in progress takes
the current, predicted rate) and into a `signals.LegSeries` with `signals.leg_from_hourly`, so a signal computed
from the database and one computed from the same rows replayed by the backtester are the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from perparb_core.models import FundingRateSample
from strategies.funding_arbitrage.signals import (
    LegSeries,
    SignalParams,
    epoch_hour,
    hour_start,
    hourly_points,
    leg_from_hourly,
)

_AHEAD = timedelta(days=2)
"""Samples stamped after our clock (a venue clock ahead of ours, or a simulator running faster than real time)
are read too: a predicted one counts for the hour in progress (`signals.hourly_points`)."""

Sample = tuple[str, datetime, Decimal]
"""(kind "settled" | "predicted", ts aware UTC, rate_hourly fraction per hour)."""

RAW_QUERY = text(
    """
    SELECT v.name, m.symbol, f.kind, f.ts, f.rate_hourly
    FROM funding_rate_samples f JOIN markets m ON m.id = f.market_id JOIN venues v ON v.id = m.venue_id
    WHERE v.name = ANY(CAST(:venues AS text[])) AND m.symbol = ANY(CAST(:symbols AS text[]))
      AND f.ts >= :since AND f.ts < :until
    ORDER BY 1, 2, 4, 3
    """
)
"""Every stored sample (for the last hours, where the latest predicted rate of the hour in progress matters)."""

HISTORY_QUERY = text(
    """
    SELECT v.name, m.symbol, 'settled' AS kind, f.ts, f.rate_hourly
    FROM funding_rate_samples f JOIN markets m ON m.id = f.market_id JOIN venues v ON v.id = m.venue_id
    WHERE f.kind = 'settled' AND v.name = ANY(CAST(:venues AS text[]))
      AND m.symbol = ANY(CAST(:symbols AS text[])) AND f.ts >= :since AND f.ts < :until
    UNION ALL
    SELECT v.name, m.symbol, 'predicted' AS kind, date_trunc('hour', f.ts) AS ts, avg(f.rate_hourly)
    FROM funding_rate_samples f JOIN markets m ON m.id = f.market_id JOIN venues v ON v.id = m.venue_id
    WHERE f.kind = 'predicted' AND v.name = ANY(CAST(:venues AS text[]))
      AND m.symbol = ANY(CAST(:symbols AS text[])) AND f.ts >= :since AND f.ts < :until
    GROUP BY v.name, m.symbol, date_trunc('hour', f.ts)
    ORDER BY 1, 2, 4, 3
    """
)
"""Settled samples as stored; predicted samples already averaged per hour (a scan stores one per market every
loop: hundreds per hour), as one sample stamped at the hour's start."""


def history_hours(params: SignalParams) -> int:
    """Hours of history a signal reads before its end hour, plus a day of margin (staleness, late settlements)."""
    return params.span_hours + 24


def legs_from_samples(
    samples: dict[tuple[str, str], list[Sample]], now: datetime
) -> dict[tuple[str, str], LegSeries]:
    """(venue, symbol) -> the leg's `LegSeries` at `now` (markets without any bucket are left out)."""
    out: dict[tuple[str, str], LegSeries] = {}
    for key, rows in samples.items():
        leg = leg_from_hourly(hourly_points(rows, now))
        if leg is not None:
            out[key] = leg
    return out


async def load_samples(
    conn: AsyncConnection,
    *,
    venues: Iterable[str],
    symbols: Iterable[str],
    since: datetime,
    until: datetime,
    raw: bool = False,
) -> dict[tuple[str, str], list[Sample]]:
    """Stored samples of the given venues and base assets with since <= ts < until, per (venue, symbol), oldest
    first: settled samples as stored, predicted ones as one mean per hour (stamped at the hour's start; pass
    `since` and `until` on hour boundaries so no hour is split), or every sample as stored with `raw`.

    Raises:
        sqlalchemy.exc.DBAPIError: on a database error.
    """
    result = await conn.execute(
        RAW_QUERY if raw else HISTORY_QUERY,
        {"venues": sorted(set(venues)), "symbols": sorted(set(symbols)), "since": since, "until": until},
    )
    out: dict[tuple[str, str], list[Sample]] = {}
    for venue, symbol, kind, ts, rate in result.all():
        out.setdefault((venue, symbol), []).append((kind, ts, Decimal(rate)))
    return out


async def load_legs(
    conn: AsyncConnection,
    *,
    venues: Iterable[str],
    symbols: Iterable[str],
    now: datetime,
    params: SignalParams,
) -> dict[tuple[str, str], LegSeries]:
    """The live legs at `now` from the funding tables, over `history_hours(params)` (`DatabaseHistory`
    without its cache)."""
    return await DatabaseHistory().legs(conn, venues=venues, symbols=symbols, now=now, params=params)


class DatabaseHistory:
    """The live legs for a run that asks every cycle: hours that ended more than two hours ago are read once per
    hour (settled samples, predicted ones averaged per hour in the database: they no longer change), the last
    two hours and the hour in progress every call, sample by sample."""

    RECENT_HOURS = 2

    def __init__(self) -> None:
        self._key: tuple[int, tuple[str, ...], tuple[str, ...], int] | None = None
        self._old: dict[tuple[str, str], list[Sample]] = {}

    async def legs(
        self,
        conn: AsyncConnection,
        *,
        venues: Iterable[str],
        symbols: Iterable[str],
        now: datetime,
        params: SignalParams,
    ) -> dict[tuple[str, str], LegSeries]:
        venue_list, symbol_list = tuple(sorted(set(venues))), tuple(sorted(set(symbols)))
        hour = epoch_hour(now)
        split = hour_start(hour - self.RECENT_HOURS)
        key = (hour, venue_list, symbol_list, history_hours(params))
        if key != self._key:
            since = hour_start(hour - history_hours(params))
            self._old = await load_samples(
                conn, venues=venue_list, symbols=symbol_list, since=since, until=split
            )
            self._key = key
        recent = await load_samples(
            conn, venues=venue_list, symbols=symbol_list, since=split, until=now + _AHEAD, raw=True
        )
        merged = {k: list(v) for k, v in self._old.items()}
        for k, rows in recent.items():
            merged.setdefault(k, []).extend(rows)
        return legs_from_samples(merged, now)


class PaperHistory:
    """Funding samples of a paper run, in memory (paper runs never write simulated rates into the funding
    tables). Filled with the simulated venues' settled history at the first scan and every scan's samples."""

    def __init__(self) -> None:
        self._samples: dict[tuple[str, str], list[Sample]] = {}
        self._seen: set[tuple[str, str, str, datetime]] = set()
        self.loaded = False

    def add(self, samples: Iterable[FundingRateSample]) -> None:
        """Add samples; one sample per (market, kind, ts) as in the database's unique key (first kept)."""
        for s in samples:
            key = (s.venue, s.symbol, s.kind.value, s.ts)
            if key in self._seen:
                continue
            self._seen.add(key)
            self._samples.setdefault((s.venue, s.symbol), []).append((s.kind.value, s.ts, s.rate_hourly))

    def samples(self, since: datetime, until: datetime) -> dict[tuple[str, str], list[Sample]]:
        """Samples with since <= ts <= until per (venue, symbol), oldest first."""
        return {
            key: sorted((r for r in rows if since <= r[1] <= until), key=lambda r: (r[1], r[0]))
            for key, rows in self._samples.items()
        }

    def legs(self, now: datetime, params: SignalParams) -> dict[tuple[str, str], LegSeries]:
        """The paper legs at `now` (as `load_legs` from the database)."""
        since = now - timedelta(hours=history_hours(params))
        return legs_from_samples(self.samples(since, now), now)

    def view(self, since: datetime, now: datetime) -> dict[tuple[str, str], list[tuple[datetime, Decimal]]]:
        """The finder's `HourlyHistory` (persistence figures): (venue, symbol) -> [(hour start, rate)]."""
        return {
            key: [(hour_start(h), rate) for h, rate in hourly_points(rows, now)]
            for key, rows in self.samples(since, now).items()
        }
