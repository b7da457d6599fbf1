"""What `perparb status` shows, as plain JSON-ready dicts (the CLI's `--json` prints them as they are and its
tables read the same dicts).

Units: money in USD(C) as decimal strings (`+` = received / profit, fees `+` = paid), quantities in base units as
decimal strings, times ISO-8601 UTC, ages in seconds (float), liquidation distances as fractions of the mark
(strings, as the strategy stored them in `positions.monitor`).

Shape of `gather_status(...)`:

    {"generated_at": iso,
     "runs": [{id, account, mode, strategy, config_name, venues, status, host, pid, started_at, heartbeat_at,
               heartbeat_age_seconds, loop_interval_seconds, stale, note, stopped_at, stop_reason}],
     "positions": {"open": [POSITION], "closed": [POSITION]},
     "grids": [{run_id, account, mode, config_name, venue, symbol, open_buys, open_sells, open_levels,
                filled_orders, filled_quantity, fees, last_fill_at}],
     "events": [{id, run_id, at, level, kind, message}]}          newest first

    POSITION = {id, run_id, account, mode, config_name, symbol, long_venue, short_venue, status, quantity,
                notional_usd, opened_at, closed_at, exit_reason,
                pnl: {funding_long, funding_short, fees, basis, realized},
                monitor: None | {at, unrealized_pnl_long, unrealized_pnl_short, liquidation_distance_long,
                                 liquidation_distance_short, delta, spread_hourly_now, spread_hourly_entry}}

Runs listed: every `running` run plus the `recent_runs` most recently started others. A `running` run whose
heartbeat is older than 3 x its loop interval (`config.loop_interval_seconds`, default by strategy) is flagged
`stale` with the note "stale (process may have died)": the next run of the account marks it `crashed`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from strategies.state import CANDIDATES_STATE_PREFIX, EVENTS, LIVE_POSITION, ORDERS, POSITIONS, RUNS, STATE

STALE_FACTOR = 3
DEFAULT_LOOP_SECONDS = {"funding_arbitrage": Decimal(10), "grid": Decimal(2)}
STALE_NOTE = "stale (process may have died)"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _dec(value: Any) -> str | None:
    """A Decimal (or decimal string) as a plain string without exponent ("50", "0.0012"); None stays None."""
    if value is None:
        return None
    d = value if isinstance(value, Decimal) else Decimal(str(value))
    return f"{d.normalize():f}"


def loop_interval(strategy: str, config: dict[str, Any] | None) -> Decimal:
    """The run's loop interval in seconds: its config's `loop_interval_seconds`, else the strategy default."""
    raw = (config or {}).get("loop_interval_seconds")
    if raw is not None:
        try:
            return Decimal(str(raw))
        except ArithmeticError:
            pass
    return DEFAULT_LOOP_SECONDS.get(strategy, Decimal(10))


async def list_runs(
    conn: AsyncConnection, *, account: str | None = None, recent_runs: int = 10
) -> list[dict[str, Any]]:
    """Running runs and the `recent_runs` most recent others, newest first (shape in the module docstring)."""
    now = (await conn.execute(text("SELECT now()"))).scalar_one()
    where = [] if account is None else [RUNS.c.account_name == account]
    running = (
        await conn.execute(
            select(RUNS).where(and_(RUNS.c.status == "running", *where)).order_by(RUNS.c.id.desc())
        )
    ).all()
    others = (
        await conn.execute(
            select(RUNS)
            .where(and_(RUNS.c.status != "running", *where))
            .order_by(RUNS.c.id.desc())
            .limit(recent_runs)
        )
    ).all()
    out = []
    for r in sorted([*running, *others], key=lambda row: row.id, reverse=True):
        interval = loop_interval(r.strategy, r.config)
        age = (now - r.heartbeat_at).total_seconds()
        stale = r.status == "running" and age > float(interval * STALE_FACTOR)
        out.append(
            {
                "id": r.id,
                "account": r.account_name,
                "mode": r.mode,
                "strategy": r.strategy,
                "config_name": r.config_name,
                "venues": list(r.venues or []),
                "status": r.status,
                "host": r.host,
                "pid": r.pid,
                "started_at": _iso(r.started_at),
                "heartbeat_at": _iso(r.heartbeat_at),
                "heartbeat_age_seconds": round(age, 3),
                "loop_interval_seconds": _dec(interval),
                "stale": stale,
                "note": STALE_NOTE if stale else None,
                "stopped_at": _iso(r.stopped_at),
                "stop_reason": r.stop_reason,
            }
        )
    return out


def _monitor(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    """The figures of `positions.monitor` (written by the funding-arbitrage monitor each cycle) status shows."""
    if not raw:
        return None
    long, short = raw.get("long") or {}, raw.get("short") or {}
    return {
        "at": raw.get("at"),
        "unrealized_pnl_long": long.get("unrealized_pnl"),
        "unrealized_pnl_short": short.get("unrealized_pnl"),
        "liquidation_distance_long": long.get("liquidation_distance"),
        "liquidation_distance_short": short.get("liquidation_distance"),
        "delta": raw.get("delta"),
        "spread_hourly_now": raw.get("spread_hourly_now"),
        "spread_hourly_entry": raw.get("spread_hourly_entry"),
    }


def _position(r: Any) -> dict[str, Any]:
    live = r.status in LIVE_POSITION
    return {
        "id": r.id,
        "run_id": r.run_id,
        "account": r.account_name,
        "mode": r.mode,
        "config_name": r.config_name,
        "symbol": r.symbol,
        "long_venue": r.long_venue,
        "short_venue": r.short_venue,
        "status": r.status,
        "quantity": _dec(r.quantity),
        "notional_usd": _dec(r.notional_usd),
        "opened_at": _iso(r.opened_at),
        "closed_at": _iso(r.closed_at),
        "exit_reason": r.exit_reason,
        "pnl": {
            "funding_long": _dec(r.funding_long),
            "funding_short": _dec(r.funding_short),
            "fees": _dec(r.fees),
            "basis": _dec(r.basis_pnl),
            "realized": _dec(r.realized_pnl),
        },
        "monitor": _monitor(r.monitor) if live else None,
    }


async def list_positions(
    conn: AsyncConnection, *, account: str | None = None, recent_closed: int = 10
) -> dict[str, list[dict[str, Any]]]:
    """Live positions (opening/open/closing) and the `recent_closed` most recently closed or failed ones."""
    where = [] if account is None else [POSITIONS.c.account_name == account]
    live = (
        await conn.execute(
            select(POSITIONS)
            .where(and_(POSITIONS.c.status.in_(LIVE_POSITION), *where))
            .order_by(POSITIONS.c.id)
        )
    ).all()
    closed = (
        await conn.execute(
            select(POSITIONS)
            .where(and_(POSITIONS.c.status.not_in(LIVE_POSITION), *where))
            .order_by(
                func.coalesce(POSITIONS.c.closed_at, POSITIONS.c.updated_at).desc(), POSITIONS.c.id.desc()
            )
            .limit(recent_closed)
        )
    ).all()
    return {"open": [_position(r) for r in live], "closed": [_position(r) for r in closed]}


async def grid_summary(conn: AsyncConnection, run_ids: list[int]) -> list[dict[str, Any]]:
    """Per grid run of `run_ids` and market: resting orders by side, levels resting, filled orders, fees."""
    if not run_ids:
        return []
    resting = ORDERS.c.status.in_(("pending", "open", "partially_filled", "unknown"))
    rows = (
        await conn.execute(
            select(
                ORDERS.c.run_id,
                ORDERS.c.venue,
                ORDERS.c.symbol,
                func.count().filter(and_(resting, ORDERS.c.side == "buy")).label("open_buys"),
                func.count().filter(and_(resting, ORDERS.c.side == "sell")).label("open_sells"),
                func.array_agg(func.distinct(ORDERS.c.grid_level)).filter(resting).label("open_levels"),
                func.count().filter(ORDERS.c.status == "filled").label("filled_orders"),
                func.coalesce(func.sum(ORDERS.c.filled_quantity), 0).label("filled_quantity"),
                func.coalesce(func.sum(ORDERS.c.fee), 0).label("fees"),
                func.max(case((ORDERS.c.filled_quantity > 0, ORDERS.c.updated_at))).label("last_fill_at"),
                RUNS.c.account_name,
                RUNS.c.mode,
                RUNS.c.config_name,
            )
            .join(RUNS, RUNS.c.id == ORDERS.c.run_id)
            .where(and_(ORDERS.c.run_id.in_(run_ids), RUNS.c.strategy == "grid"))
            .group_by(
                ORDERS.c.run_id,
                ORDERS.c.venue,
                ORDERS.c.symbol,
                RUNS.c.account_name,
                RUNS.c.mode,
                RUNS.c.config_name,
            )
            .order_by(ORDERS.c.run_id.desc(), ORDERS.c.venue, ORDERS.c.symbol)
        )
    ).all()
    return [
        {
            "run_id": r.run_id,
            "account": r.account_name,
            "mode": r.mode,
            "config_name": r.config_name,
            "venue": r.venue,
            "symbol": r.symbol,
            "open_buys": r.open_buys,
            "open_sells": r.open_sells,
            "open_levels": sorted(v for v in (r.open_levels or []) if v is not None),
            "filled_orders": r.filled_orders,
            "filled_quantity": _dec(r.filled_quantity),
            "fees": _dec(r.fees),
            "last_fill_at": _iso(r.last_fill_at),
        }
        for r in rows
    ]


async def recent_events(
    conn: AsyncConnection, *, account: str | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """The `limit` most recent events (of the account's runs when given), newest first."""
    query = select(EVENTS).order_by(EVENTS.c.at.desc(), EVENTS.c.id.desc()).limit(limit)
    if account is not None:
        query = query.join(RUNS, RUNS.c.id == EVENTS.c.run_id).where(RUNS.c.account_name == account)
    rows = (await conn.execute(query)).all()
    return [
        {
            "id": r.id,
            "run_id": r.run_id,
            "at": _iso(r.at),
            "level": r.level,
            "kind": r.kind,
            "message": r.message,
        }
        for r in rows
    ]


async def gather_status(
    conn: AsyncConnection,
    *,
    account: str | None = None,
    events: int = 20,
    recent_runs: int = 10,
    recent_closed: int = 10,
) -> dict[str, Any]:
    """Everything `perparb status` shows (shape in the module docstring); read-only, one connection."""
    generated = (await conn.execute(text("SELECT now()"))).scalar_one()
    runs = await list_runs(conn, account=account, recent_runs=recent_runs)
    return {
        "generated_at": _iso(generated),
        "runs": runs,
        "positions": await list_positions(conn, account=account, recent_closed=recent_closed),
        "grids": await grid_summary(conn, [r["id"] for r in runs if r["strategy"] == "grid"]),
        "candidates": await last_candidates(conn, account=account),
        "events": await recent_events(conn, account=account, limit=events) if events > 0 else [],
    }


async def last_candidates(conn: AsyncConnection, *, account: str | None = None) -> list[dict[str, Any]]:
    """Each funding-arbitrage config's last cycle: its best candidates and why each was not entered (None =
    entered), as saved by the strategy (`strategy_state` key `candidates:<config>`). Newest first."""
    query = select(STATE).where(STATE.c.config_name.like(CANDIDATES_STATE_PREFIX + "%"))
    if account is not None:
        query = query.where(STATE.c.account_name == account)
    rows = (await conn.execute(query.order_by(STATE.c.updated_at.desc()))).all()
    return [
        {
            "account": r.account_name,
            "mode": r.mode,
            "config_name": r.config_name.removeprefix(CANDIDATES_STATE_PREFIX),
            "at": (r.state or {}).get("at"),
            "run_id": (r.state or {}).get("run_id"),
            "candidates": (r.state or {}).get("candidates", []),
        }
        for r in rows
    ]


__all__ = [
    "STALE_NOTE",
    "gather_status",
    "grid_summary",
    "last_candidates",
    "list_positions",
    "list_runs",
    "loop_interval",
    "recent_events",
]
