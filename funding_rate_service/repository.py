"""PostgreSQL access for the funding-rate service.

Write path (the collector's hot path): a whole cycle, every venue, is written in ONE transaction with TWO
statements, whatever the number of markets:

1. `UPSERT_MARKETS`: venues and markets upserted from one JSON array parameter (`jsonb_to_recordset`);
2. `STORE_CYCLE`: one statement of data-modifying CTEs that inserts the funding-rate samples
   (`ON CONFLICT DO NOTHING`: re-running adds no rows), advances the latest state per market (never backwards
   in time), inserts reference rates and the per-venue `collection_runs` rows with the stored counts.

So a cycle costs BEGIN + 2 statements + COMMIT = 4 round trips (asyncpg prepares each statement once per
connection and caches it). Passing rows as one JSON document avoids PostgreSQL's 32767-parameter limit and
per-row round trips; numbers travel as decimal strings, so nothing is rounded through floats.

Read path: latest rates, market snapshots for the opportunity finder, hourly history, raw history, health.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from exchange_clients.registry import settled_hours
from perparb_core.models import FundingKind, FundingRateSample, MarketInfo, ReferenceRate

# --------------------------------------------------------------------------------------------------- writes

UPSERT_MARKETS = text(
    """
WITH rows AS (
    SELECT * FROM jsonb_to_recordset(CAST(:payload AS jsonb)) AS r(
        venue text, venue_symbol text, symbol text, venue_market_id text, quote text,
        tick_size numeric, size_step numeric, min_size numeric, min_notional numeric, max_leverage numeric,
        funding_period_hours numeric, maker_fee numeric, taker_fee numeric, status text)
), v AS (
    -- DO UPDATE (not DO NOTHING): RETURNING then yields the row even when a concurrent transaction
    -- committed it after this statement's snapshot was taken (READ COMMITTED), which a plain SELECT
    -- of `venues` would not see.
    INSERT INTO venues (name) SELECT DISTINCT venue FROM rows
    ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id, name
)
INSERT INTO markets AS m (venue_id, venue_symbol, symbol, venue_market_id, quote, tick_size, size_step, min_size,
                          min_notional, max_leverage, funding_period_hours, maker_fee, taker_fee, status,
                          first_seen_at, updated_at)
SELECT DISTINCT ON (v.id, rows.venue_symbol)
       v.id, rows.venue_symbol, rows.symbol, rows.venue_market_id, rows.quote, rows.tick_size, rows.size_step,
       rows.min_size, rows.min_notional, rows.max_leverage, rows.funding_period_hours, rows.maker_fee,
       rows.taker_fee, rows.status, CAST(:now AS timestamptz), CAST(:now AS timestamptz)
FROM rows JOIN v ON v.name = rows.venue
ON CONFLICT (venue_id, venue_symbol) DO UPDATE SET
    symbol = EXCLUDED.symbol, venue_market_id = EXCLUDED.venue_market_id, quote = EXCLUDED.quote,
    tick_size = EXCLUDED.tick_size, size_step = EXCLUDED.size_step, min_size = EXCLUDED.min_size,
    min_notional = EXCLUDED.min_notional, max_leverage = EXCLUDED.max_leverage,
    funding_period_hours = EXCLUDED.funding_period_hours, maker_fee = EXCLUDED.maker_fee,
    taker_fee = EXCLUDED.taker_fee, status = EXCLUDED.status, updated_at = EXCLUDED.updated_at
"""
)

STORE_CYCLE = text(
    """
WITH s AS (
    SELECT r.*, m.id AS market_pk
    FROM jsonb_to_recordset(CAST(:samples AS jsonb)) AS r(
        venue text, venue_symbol text, kind text, ts timestamptz, raw_rate numeric, raw_period_hours numeric,
        rate_hourly numeric, mark_price numeric, index_price numeric, open_interest_usd numeric,
        volume_24h_usd numeric, source text)
    JOIN venues v ON v.name = r.venue
    JOIN markets m ON m.venue_id = v.id AND m.venue_symbol = r.venue_symbol
), ins AS (
    INSERT INTO funding_rate_samples (market_id, kind, ts, raw_rate, raw_period_hours, rate_hourly, mark_price,
                                      index_price, open_interest_usd, volume_24h_usd, source, collected_at)
    SELECT market_pk, kind, ts, raw_rate, raw_period_hours, rate_hourly, mark_price, index_price,
           open_interest_usd, volume_24h_usd, source, CAST(:now AS timestamptz)
    FROM s
    ON CONFLICT (market_id, kind, ts) DO NOTHING
    RETURNING market_id
), latest AS (
    INSERT INTO market_states AS st (market_id, ts, raw_rate, raw_period_hours, rate_hourly, mark_price,
                                     index_price, open_interest_usd, volume_24h_usd, source, collected_at)
    SELECT DISTINCT ON (market_pk) market_pk, ts, raw_rate, raw_period_hours, rate_hourly, mark_price,
           index_price, open_interest_usd, volume_24h_usd, source, CAST(:now AS timestamptz)
    FROM s WHERE kind = 'predicted'
    ORDER BY market_pk, ts DESC
    ON CONFLICT (market_id) DO UPDATE SET
        ts = EXCLUDED.ts, raw_rate = EXCLUDED.raw_rate, raw_period_hours = EXCLUDED.raw_period_hours,
        rate_hourly = EXCLUDED.rate_hourly, mark_price = EXCLUDED.mark_price, index_price = EXCLUDED.index_price,
        open_interest_usd = EXCLUDED.open_interest_usd, volume_24h_usd = EXCLUDED.volume_24h_usd,
        source = EXCLUDED.source, collected_at = EXCLUDED.collected_at
    WHERE st.ts <= EXCLUDED.ts
    RETURNING market_id
), ref AS (
    INSERT INTO reference_funding_rates (source_venue, venue, symbol, ts, raw_rate, raw_period_hours,
                                         rate_hourly, collected_at)
    SELECT source_venue, venue, symbol, ts, raw_rate, raw_period_hours, rate_hourly, CAST(:now AS timestamptz)
    FROM jsonb_to_recordset(CAST(:reference AS jsonb)) AS x(
        source_venue text, venue text, symbol text, ts timestamptz, raw_rate numeric,
        raw_period_hours numeric, rate_hourly numeric)
    ON CONFLICT ON CONSTRAINT uq_reference_funding_rates_key DO NOTHING
    RETURNING source_venue
), stored AS (
    SELECT v.name AS venue, count(*) AS n
    FROM ins JOIN markets m ON m.id = ins.market_id JOIN venues v ON v.id = m.venue_id
    GROUP BY v.name
), runs AS (
    INSERT INTO collection_runs (venue, kind, started_at, finished_at, status, markets, stored, rejected, error)
    SELECT x.venue, x.kind, x.started_at, x.finished_at, x.status, x.markets,
           COALESCE((SELECT n FROM stored WHERE stored.venue = x.venue), 0), x.rejected, x.error
    FROM jsonb_to_recordset(CAST(:runs AS jsonb)) AS x(
        venue text, kind text, started_at timestamptz, finished_at timestamptz, status text, markets int,
        rejected int, error text)
    RETURNING venue, stored
)
SELECT 'stored' AS what, venue AS key, n FROM stored
UNION ALL SELECT 'runs', NULL, count(*) FROM runs
UNION ALL SELECT 'joined', NULL, count(*) FROM s
UNION ALL SELECT 'latest', NULL, count(*) FROM latest
UNION ALL SELECT 'reference', NULL, count(*) FROM ref
"""
)


def _num(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _market_row(m: MarketInfo) -> dict[str, Any]:
    return {
        "venue": m.venue,
        "venue_symbol": m.venue_symbol,
        "symbol": m.symbol,
        "venue_market_id": m.venue_market_id,
        "quote": m.quote,
        "tick_size": _num(m.tick_size),
        "size_step": _num(m.size_step),
        "min_size": _num(m.min_size),
        "min_notional": _num(m.min_notional),
        "max_leverage": _num(m.max_leverage),
        "funding_period_hours": str(m.funding_period_hours),
        "maker_fee": _num(m.maker_fee),
        "taker_fee": _num(m.taker_fee),
        "status": m.status,
    }


def _sample_row(s: FundingRateSample) -> dict[str, Any]:
    return {
        "venue": s.venue,
        "venue_symbol": s.venue_symbol,
        "kind": s.kind.value,
        "ts": s.ts.isoformat(),
        "raw_rate": str(s.raw_rate),
        "raw_period_hours": str(s.raw_period_hours),
        "rate_hourly": str(s.rate_hourly),
        "mark_price": _num(s.mark_price),
        "index_price": _num(s.index_price),
        "open_interest_usd": _num(s.open_interest_usd),
        "volume_24h_usd": _num(s.volume_24h_usd),
        "source": s.source,
    }


def _reference_row(r: ReferenceRate) -> dict[str, Any]:
    return {
        "source_venue": r.source_venue,
        "venue": r.venue,
        "symbol": r.symbol,
        "ts": r.ts.isoformat(),
        "raw_rate": str(r.raw_rate),
        "raw_period_hours": str(r.raw_period_hours),
        "rate_hourly": str(r.rate_hourly),
    }


class UnjoinedSamplesError(RuntimeError):
    """Samples refer to markets that are neither being upserted nor stored (a caller bug); nothing is written."""


@dataclass(slots=True)
class RunRecord:
    """One venue's outcome in a cycle, as stored in `collection_runs`."""

    venue: str
    kind: str  # "collect" | "backfill"
    started_at: datetime
    finished_at: datetime
    status: str  # "ok" | "failed"
    markets: int
    rejected: int
    error: str | None = None

    def row(self) -> dict[str, Any]:
        return {
            "venue": self.venue,
            "kind": self.kind,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "status": self.status,
            "markets": self.markets,
            "rejected": self.rejected,
            "error": self.error,
        }


@dataclass(slots=True)
class StoreResult:
    """Rows actually inserted (duplicates excluded): samples per venue (venues with none are absent), latest
    states advanced, reference rates."""

    stored_by_venue: dict[str, int] = field(default_factory=dict)
    latest_updated: int = 0
    reference_stored: int = 0


async def store_cycle(
    conn: AsyncConnection,
    *,
    markets: Sequence[MarketInfo],
    samples: Sequence[FundingRateSample],
    reference_rates: Sequence[ReferenceRate],
    runs: Sequence[RunRecord],
    now: datetime,
) -> StoreResult:
    """Write one cycle inside the caller's transaction (two statements; see the module docstring).

    Samples must belong to markets in `markets` (or already stored); the adapters guarantee it by rejecting
    rows for unknown markets first. Safe under concurrency: several transactions may upsert the same venue and
    markets at once (backfill runs markets in parallel).

    Raises:
        UnjoinedSamplesError: a sample matches no market; the caller's transaction must roll back (it does when
            the exception leaves `engine.begin()`).
        sqlalchemy.exc.DBAPIError: on any database error; the caller's transaction then rolls back whole.
    """
    if markets:
        await conn.execute(
            UPSERT_MARKETS, {"payload": json.dumps([_market_row(m) for m in markets]), "now": now}
        )
    result = await conn.execute(
        STORE_CYCLE,
        {
            "samples": json.dumps([_sample_row(s) for s in samples]),
            "reference": json.dumps([_reference_row(r) for r in reference_rates]),
            "runs": json.dumps([r.row() for r in runs]),
            "now": now,
        },
    )
    out = StoreResult()
    joined = 0
    for what, key, n in result.all():
        if what == "stored":
            out.stored_by_venue[key] = int(n)
        elif what == "joined":
            joined = int(n)
        elif what == "runs":
            pass  # run rows always insert; counted only so the CTE is referenced
        elif what == "latest":
            out.latest_updated = int(n)
        else:
            out.reference_stored = int(n)
    if joined != len(samples):
        # A sample whose market is neither in `markets` nor stored would be dropped without a trace: refuse
        # the whole cycle instead (the caller's transaction rolls back).
        raise UnjoinedSamplesError(
            f"{len(samples) - joined} of {len(samples)} samples match no stored market"
        )
    return out


# ---------------------------------------------------------------------------------------------------- reads


@dataclass(frozen=True, slots=True)
class RateRow:
    """Latest funding rate of one market, joined with its metadata. Rates are fractions; `*_usd` in USD."""

    venue: str
    symbol: str
    venue_symbol: str
    rate_hourly: Decimal
    raw_rate: Decimal
    raw_period_hours: Decimal
    mark_price: Decimal | None
    index_price: Decimal | None
    open_interest_usd: Decimal | None
    volume_24h_usd: Decimal | None
    ts: datetime
    collected_at: datetime
    maker_fee: Decimal | None
    taker_fee: Decimal | None
    funding_period_hours: Decimal
    status: str

    @property
    def rate_8h(self) -> Decimal:
        return self.rate_hourly * 8

    @property
    def apr(self) -> Decimal:
        return self.rate_hourly * 8760


LATEST_RATES = """
SELECT v.name, m.symbol, m.venue_symbol, s.rate_hourly, s.raw_rate, s.raw_period_hours, s.mark_price,
       s.index_price, s.open_interest_usd, s.volume_24h_usd, s.ts, s.collected_at, m.maker_fee, m.taker_fee,
       m.funding_period_hours, m.status
FROM market_states s JOIN markets m ON m.id = s.market_id JOIN venues v ON v.id = m.venue_id
WHERE (CAST(:symbol AS text) IS NULL OR m.symbol = :symbol)
  AND (CAST(:venues AS text[]) IS NULL OR v.name = ANY(CAST(:venues AS text[])))
ORDER BY m.symbol, v.name
"""


async def latest_rates(
    conn: AsyncConnection, *, symbol: str | None = None, venues: Iterable[str] | None = None
) -> list[RateRow]:
    """Latest state of every market (optionally one base asset / some venues), sorted by symbol then venue."""
    rows = await conn.execute(
        text(LATEST_RATES),
        {"symbol": symbol.upper() if symbol else None, "venues": list(venues) if venues else None},
    )
    return [RateRow(*r) for r in rows.all()]


async def hourly_history(
    conn: AsyncConnection, *, symbols: Iterable[str], since: datetime
) -> dict[tuple[str, str], list[tuple[datetime, Decimal]]]:
    """Mean `rate_hourly` per (venue, symbol) and UTC hour since `since`, from every stored sample.

    Settled samples are preferred: an hour that has settled rows uses them only, else the predicted ones. A settled
    row stamped in hour H stands for H and the hours before it that its settlement paid for (its venue's
    `SettlementRule.interval_for(source)`, `registry.settled_hours`: one hour for hourly settlement, eight for an
    Aster 8-hour symbol), so an 8-hourly leg is not seven hours out of eight without a settled value.
    """
    params = {"symbols": list(symbols), "since": since}
    settled = await conn.execute(
        text(
            """
            SELECT v.name, m.symbol, date_trunc('hour', f.ts), f.rate_hourly, f.source
            FROM funding_rate_samples f JOIN markets m ON m.id = f.market_id JOIN venues v ON v.id = m.venue_id
            WHERE m.symbol = ANY(CAST(:symbols AS text[])) AND f.ts >= :since AND f.kind = 'settled'
            ORDER BY 1, 2, 3
            """
        ),
        params,
    )
    predicted = await conn.execute(
        text(
            """
            SELECT v.name, m.symbol, date_trunc('hour', f.ts), avg(f.rate_hourly)
            FROM funding_rate_samples f JOIN markets m ON m.id = f.market_id JOIN venues v ON v.id = m.venue_id
            WHERE m.symbol = ANY(CAST(:symbols AS text[])) AND f.ts >= :since AND f.kind = 'predicted'
            GROUP BY 1, 2, 3
            """
        ),
        params,
    )
    buckets: dict[tuple[str, str], dict[datetime, list[Decimal]]] = {}
    for venue, symbol, hour, rate, source in settled.all():
        hours = settled_hours(venue, source)
        for k in range(hours):
            at = hour - timedelta(hours=k)
            if at >= since.replace(minute=0, second=0, microsecond=0):
                buckets.setdefault((venue, symbol), {}).setdefault(at, []).append(Decimal(rate))
    means: dict[tuple[str, str], dict[datetime, Decimal]] = {
        key: {h: sum(v, Decimal(0)) / len(v) for h, v in hours_.items()} for key, hours_ in buckets.items()
    }
    for venue, symbol, hour, rate in predicted.all():
        means.setdefault((venue, symbol), {}).setdefault(hour, Decimal(rate))
    return {key: sorted(rows.items()) for key, rows in sorted(means.items())}


@dataclass(frozen=True, slots=True)
class HistoryRow:
    ts: datetime
    kind: str
    rate_hourly: Decimal
    raw_rate: Decimal
    raw_period_hours: Decimal
    mark_price: Decimal | None
    open_interest_usd: Decimal | None
    source: str


async def rate_history(
    conn: AsyncConnection,
    *,
    venue: str,
    venue_symbol_or_symbol: str,
    start: datetime,
    end: datetime,
    kind: FundingKind | None = None,
    limit: int = 5000,
) -> list[HistoryRow] | None:
    """Stored samples of one market in [start, end), oldest first; None when the market is unknown.

    The market is matched by venue symbol first ("BTC-USD-PERP"), then by canonical symbol ("BTC").
    """
    market = await conn.execute(
        text(
            """
            SELECT m.id FROM markets m JOIN venues v ON v.id = m.venue_id
            WHERE v.name = :venue AND (m.venue_symbol = :s OR m.symbol = upper(:s))
            ORDER BY (m.venue_symbol = :s) DESC LIMIT 1
            """
        ),
        {"venue": venue, "s": venue_symbol_or_symbol},
    )
    market_pk = market.scalar_one_or_none()
    if market_pk is None:
        return None
    rows = await conn.execute(
        text(
            """
            SELECT ts, kind, rate_hourly, raw_rate, raw_period_hours, mark_price, open_interest_usd, source
            FROM funding_rate_samples
            WHERE market_id = :m AND ts >= :start AND ts < :end
              AND (CAST(:kind AS text) IS NULL OR kind = :kind)
            ORDER BY ts, kind LIMIT :limit
            """
        ),
        {"m": market_pk, "start": start, "end": end, "kind": kind.value if kind else None, "limit": limit},
    )
    return [HistoryRow(*r) for r in rows.all()]


@dataclass(frozen=True, slots=True)
class VenueHealth:
    """Per venue: last successful collection, last run's status and error, newest data timestamp."""

    venue: str
    last_success_at: datetime | None
    last_run_at: datetime | None
    last_status: str | None
    last_error: str | None
    markets: int
    newest_data_ts: datetime | None


async def venue_health(conn: AsyncConnection, venues: Iterable[str]) -> list[VenueHealth]:
    """Health of each venue in `venues` (also those never collected)."""
    rows = await conn.execute(
        text(
            """
            SELECT n.venue,
                   (SELECT max(finished_at) FROM collection_runs c WHERE c.venue = n.venue AND c.status = 'ok'),
                   last.finished_at, last.status, last.error,
                   (SELECT count(*) FROM markets m JOIN venues v ON v.id = m.venue_id WHERE v.name = n.venue),
                   (SELECT max(s.ts) FROM market_states s JOIN markets m ON m.id = s.market_id
                      JOIN venues v ON v.id = m.venue_id WHERE v.name = n.venue)
            FROM unnest(CAST(:venues AS text[])) AS n(venue)
            LEFT JOIN LATERAL (
                SELECT finished_at, status, error FROM collection_runs c
                WHERE c.venue = n.venue AND c.kind = 'collect' ORDER BY finished_at DESC LIMIT 1
            ) last ON true
            ORDER BY n.venue
            """
        ),
        {"venues": list(venues)},
    )
    return [VenueHealth(*r) for r in rows.all()]


async def reference_rates_latest(conn: AsyncConnection, *, symbol: str | None = None) -> list[dict[str, Any]]:
    """Newest reference rate per (source venue, venue, symbol)."""
    rows = await conn.execute(
        text(
            """
            SELECT DISTINCT ON (source_venue, venue, symbol) source_venue, venue, symbol, ts, raw_rate,
                   raw_period_hours, rate_hourly
            FROM reference_funding_rates
            WHERE CAST(:symbol AS text) IS NULL OR symbol = upper(:symbol)
            ORDER BY source_venue, venue, symbol, ts DESC
            """
        ),
        {"symbol": symbol},
    )
    return [dict(r._mapping) for r in rows.all()]
