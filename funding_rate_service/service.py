"""Queries shared by the CLI and the REST API, so both return the same numbers from the same code.

JSON contract (scripts depend on it; rates and APRs are FRACTIONS, not percent):
* rate: `venue, symbol, venue_symbol, rate_hourly, rate_8h, apr, raw_rate, raw_period_hours, mark_price,
  index_price, open_interest_usd, volume_24h_usd, ts, age_seconds, stale`;
* opportunity: see `Opportunity.to_json_dict` (`symbol, long_venue, short_venue, spread_hourly, gross_apr,
  round_trip_cost, net_apr, break_even_hours, min_volume_24h_usd, min_open_interest_usd, ...`).
Numbers are JSON numbers (floats) for scripts; the database keeps the exact decimals.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from exchange_clients.registry import venue_default_fees
from funding_rate_service import repository
from funding_rate_service.opportunity_finder import (
    MarketSnapshot,
    OpportunityQuery,
    OpportunityResult,
    find_opportunities,
)
from perparb_core.errors import ConfigError
from perparb_core.models import utcnow
from perparb_core.settings import RankingConfig

HISTORY_DAYS = 7


def _f(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def rate_to_json(row: repository.RateRow, *, now: datetime, max_age_seconds: float) -> dict[str, Any]:
    """One latest-rate row as the JSON contract describes."""
    age = (now - row.ts).total_seconds()
    return {
        "venue": row.venue,
        "symbol": row.symbol,
        "venue_symbol": row.venue_symbol,
        "rate_hourly": float(row.rate_hourly),
        "rate_8h": float(row.rate_8h),
        "apr": float(row.apr),
        "raw_rate": float(row.raw_rate),
        "raw_period_hours": float(row.raw_period_hours),
        "mark_price": _f(row.mark_price),
        "index_price": _f(row.index_price),
        "open_interest_usd": _f(row.open_interest_usd),
        "volume_24h_usd": _f(row.volume_24h_usd),
        "taker_fee": _f(row.taker_fee),
        "maker_fee": _f(row.maker_fee),
        "ts": row.ts.isoformat(),
        "age_seconds": round(age, 3),
        "stale": age > max_age_seconds,
    }


async def get_rates(
    conn: AsyncConnection,
    *,
    symbol: str | None = None,
    venues: Iterable[str] | None = None,
    max_age_seconds: float,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Latest funding rate of every market (JSON contract above), sorted by symbol then venue."""
    now = now or utcnow()
    rows = await repository.latest_rates(conn, symbol=symbol, venues=venues)
    return [rate_to_json(r, now=now, max_age_seconds=max_age_seconds) for r in rows]


async def get_opportunities(conn: AsyncConnection, query: OpportunityQuery) -> OpportunityResult:
    """Rank opportunities from the latest state of every market, with 24 h / 7 d persistence from history.

    Venue include/exclude and symbol filters are applied by the finder (so stale markets are still reported).
    """
    rows = await repository.latest_rates(conn)
    snapshots = [
        MarketSnapshot(
            venue=r.venue,
            symbol=r.symbol,
            venue_symbol=r.venue_symbol,
            rate_hourly=r.rate_hourly,
            ts=r.ts,
            mark_price=r.mark_price,
            open_interest_usd=r.open_interest_usd,
            volume_24h_usd=r.volume_24h_usd,
            taker_fee=r.taker_fee,
            maker_fee=r.maker_fee,
        )
        for r in rows
        if r.status == "active"
    ]
    now = query.now or utcnow()
    if query.now is None:  # one instant for the history window and the staleness check
        query = query.model_copy(update={"now": now})
    listed: dict[str, set[str]] = {}
    for s in snapshots:
        listed.setdefault(s.symbol, set()).add(s.venue)
    multi = [sym for sym, vs in listed.items() if len(vs) >= 2]
    history = (
        await repository.hourly_history(conn, symbols=multi, since=now - timedelta(days=HISTORY_DAYS))
        if multi
        else {}
    )
    return find_opportunities(snapshots, query, history=history)


def build_query(
    ranking: RankingConfig,
    *,
    min_apr: float | None,
    horizon_hours: float | None,
    venues: list[str] | None,
    exclude: list[str] | None,
    require: list[str] | None,
    symbols: list[str] | None,
    min_volume_usd: float | None,
    min_oi_usd: float | None,
    maker: bool,
    slippage_bps: float | None,
    limit: int | None,
    now: datetime | None = None,
) -> Any:
    """Build the finder's `OpportunityQuery` from CLI/API options and the ranking defaults (shared by both).

    Raises:
        ConfigError: one line naming each bad option and value (ranges: `opportunity_finder.LIMITS`).
    """
    overrides = dict(ranking.fee_overrides)
    fields: dict[str, Any] = {
        "horizon_hours": horizon_hours if horizon_hours is not None else ranking.horizon_hours,
        "min_net_apr": min_apr,
        "use_maker_fees": maker,
        "fee_overrides": overrides,
        "venue_default_fees": venue_default_fees(),
        "slippage_bps": slippage_bps if slippage_bps is not None else ranking.slippage_bps,
        "min_volume_24h_usd": min_volume_usd,
        "min_open_interest_usd": min_oi_usd,
        "venues_include": venues,
        "venues_exclude": exclude,
        "venues_required": require,
        "symbols": [s.upper() for s in symbols] if symbols else None,
        "max_data_age_seconds": ranking.max_data_age_seconds,
        "now": now or utcnow(),
        "limit": limit,
    }
    # None means "not given": leave the finder's default (e.g. an empty exclusion set)
    try:
        return OpportunityQuery(**{k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'query'}={e.get('input')}: {e['msg']}"
            for e in exc.errors()
        )
        raise ConfigError(f"invalid ranking option: {problems}") from None
