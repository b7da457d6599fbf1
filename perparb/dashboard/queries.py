"""Read-only queries behind the dashboard pages (the opportunity ranking, the rates history and the run list come
from the service and strategy packages; what only the dashboard shows is read here).

Units as stored: money in USD(C) `Decimal` (`+` = received / profit; fees `+` = paid), rates as fractions per hour
(`Decimal`), liquidation distances as fractions of the mark price, times aware UTC `datetime`. Nothing here
writes; the one write the dashboard causes goes through `database.commands.issue_command` (`control.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from database.models import Account, Alert, RunEquity, table_of
from strategies.state import EVENTS, LIVE_POSITION, POSITIONS, RUNS

ALERTS = table_of(Alert)
EQUITY = table_of(RunEquity)
ACCOUNTS = table_of(Account)
ALERT_STATUSES = ("pending", "sent", "failed", "suppressed", "unrouted")
ALERT_LEVELS = ("info", "warn", "error")
EQUITY_POINTS = 2000
"""Most points an equity chart draws: longer curves keep every n-th row (and always the last)."""


def _dec(value: Any) -> Decimal | None:
    """A monitor figure (decimal string, number or None) as Decimal; None when absent or not a number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


async def db_now(conn: AsyncConnection) -> datetime:
    """The database's clock (ages are measured against it, as `perparb status` does)."""
    now: datetime = (await conn.execute(text("SELECT now()"))).scalar_one()
    return now


async def symbols(conn: AsyncConnection) -> list[tuple[str, int]]:
    """Every base asset with a stored market, and on how many venues it is listed: [(symbol, venues)] by symbol."""
    rows = await conn.execute(
        text(
            "SELECT m.symbol, count(DISTINCT m.venue_id) FROM markets m "
            "WHERE EXISTS (SELECT 1 FROM funding_rate_samples f WHERE f.market_id = m.id) "
            "GROUP BY m.symbol ORDER BY m.symbol"
        )
    )
    return [(r[0], int(r[1])) for r in rows]


@dataclass(frozen=True, slots=True)
class Leg:
    """One leg of a position as the monitor last saw it (`positions.monitor`): USD PnL, prices in quote, the
    liquidation distance as a fraction of the mark."""

    quantity: Decimal | None
    entry_price: Decimal | None
    mark_price: Decimal | None
    unrealized_pnl: Decimal | None
    liquidation_price: Decimal | None
    liquidation_distance: Decimal | None
    leverage: Decimal | None


def _leg(raw: Any) -> Leg | None:
    if not isinstance(raw, dict):
        return None
    return Leg(
        quantity=_dec(raw.get("quantity")),
        entry_price=_dec(raw.get("entry_price")),
        mark_price=_dec(raw.get("mark_price")),
        unrealized_pnl=_dec(raw.get("unrealized_pnl")),
        liquidation_price=_dec(raw.get("liquidation_price")),
        liquidation_distance=_dec(raw.get("liquidation_distance")),
        leverage=_dec(raw.get("leverage")),
    )


@dataclass(frozen=True, slots=True)
class PositionView:
    """A position with its PnL decomposition (USD):

    * `funding_long`, `funding_short` (+ received), `basis` (price PnL realised from fills), `fees` (+ paid);
    * `unrealised` = the legs' unrealised PnL at the venues' mark prices (open positions, from the monitor;
      None when the monitor has not reported both legs);
    * `total` = realised_pnl for a closed position; for a live one funding_long + funding_short + basis - fees +
      unrealised (the run-equity definition, `database.models.RunEquity`); None when a part is unknown.
    * `liquidation_distance`: the smaller of the legs' (fraction of the mark); `monitor_at`: when the monitor
      last wrote (ISO text as stored).
    """

    id: int
    run_id: int
    account: str
    mode: str
    symbol: str
    long_venue: str
    short_venue: str
    status: str
    quantity: Decimal
    notional_usd: Decimal
    entry_spread_hourly: Decimal
    opened_at: datetime | None
    closed_at: datetime | None
    exit_reason: str | None
    funding_long: Decimal
    funding_short: Decimal
    basis: Decimal
    fees: Decimal
    realized: Decimal | None
    long: Leg | None
    short: Leg | None
    unrealised: Decimal | None
    total: Decimal | None
    liquidation_distance: Decimal | None
    delta: Decimal | None
    spread_hourly_now: Decimal | None
    monitor_at: str | None

    @property
    def live(self) -> bool:
        return self.status in LIVE_POSITION


def position_view(r: Any) -> PositionView:
    """A `positions` row as a `PositionView` (the monitor is read only for live positions: a closed position's
    last snapshot is history, not its state)."""
    live = r.status in LIVE_POSITION
    monitor = r.monitor if live and isinstance(r.monitor, dict) else {}
    long, short = _leg(monitor.get("long")), _leg(monitor.get("short"))
    unrealised = None
    if long is not None and short is not None:
        if long.unrealized_pnl is not None and short.unrealized_pnl is not None:
            unrealised = long.unrealized_pnl + short.unrealized_pnl
    if live:
        total = (
            None
            if unrealised is None
            else r.funding_long + r.funding_short + r.basis_pnl - r.fees + unrealised
        )
    else:
        total = r.realized_pnl
    distances = [
        leg.liquidation_distance for leg in (long, short) if leg and leg.liquidation_distance is not None
    ]
    return PositionView(
        id=r.id,
        run_id=r.run_id,
        account=r.account_name,
        mode=r.mode,
        symbol=r.symbol,
        long_venue=r.long_venue,
        short_venue=r.short_venue,
        status=r.status,
        quantity=r.quantity,
        notional_usd=r.notional_usd,
        entry_spread_hourly=r.entry_spread_hourly,
        opened_at=r.opened_at,
        closed_at=r.closed_at,
        exit_reason=r.exit_reason,
        funding_long=r.funding_long,
        funding_short=r.funding_short,
        basis=r.basis_pnl,
        fees=r.fees,
        realized=r.realized_pnl,
        long=long,
        short=short,
        unrealised=unrealised,
        total=total,
        liquidation_distance=min(distances) if distances else None,
        delta=_dec(monitor.get("delta")),
        spread_hourly_now=_dec(monitor.get("spread_hourly_now")),
        monitor_at=monitor.get("at") if isinstance(monitor.get("at"), str) else None,
    )


async def run_row(conn: AsyncConnection, run_id: int) -> Any | None:
    """The `strategy_runs` row `run_id`, or None."""
    return (await conn.execute(select(RUNS).where(RUNS.c.id == run_id))).first()


async def run_positions(conn: AsyncConnection, run_id: int) -> list[PositionView]:
    """Every position of run `run_id`: live ones first, then the others newest first."""
    rows = (await conn.execute(select(POSITIONS).where(POSITIONS.c.run_id == run_id))).all()
    views = [position_view(r) for r in rows]
    return sorted(views, key=lambda p: (not p.live, -p.id))


async def run_events(conn: AsyncConnection, run_id: int, *, limit: int = 50) -> list[Any]:
    """The `limit` newest `strategy_events` of run `run_id`, newest first."""
    query = (
        select(EVENTS)
        .where(EVENTS.c.run_id == run_id)
        .order_by(EVENTS.c.at.desc(), EVENTS.c.id.desc())
        .limit(limit)
    )
    return list((await conn.execute(query)).all())


async def alerts(
    conn: AsyncConnection,
    *,
    run_id: int | None = None,
    account: str | None = None,
    status: str | None = None,
    level: str | None = None,
    event: str | None = None,
    limit: int = 200,
) -> list[Any]:
    """The `limit` newest alerts, newest first, filtered by each argument given. With `run_id` and `account`
    both given: the run's alerts or the account's alerts tied to no run."""
    query = select(ALERTS).order_by(ALERTS.c.created_at.desc(), ALERTS.c.id.desc()).limit(limit)
    if run_id is not None and account is not None:
        query = query.where(
            or_(
                ALERTS.c.run_id == run_id,
                ALERTS.c.run_id.is_(None) & (ALERTS.c.account_name == account),
            )
        )
    elif run_id is not None:
        query = query.where(ALERTS.c.run_id == run_id)
    elif account is not None:
        query = query.where(ALERTS.c.account_name == account)
    if status is not None:
        query = query.where(ALERTS.c.status == status)
    if level is not None:
        query = query.where(ALERTS.c.level == level)
    if event is not None:
        query = query.where(ALERTS.c.event == event)
    return list((await conn.execute(query)).all())


async def alert_events(conn: AsyncConnection) -> list[str]:
    """The distinct alert events stored (for the filter), alphabetical."""
    rows = await conn.execute(select(ALERTS.c.event).distinct().order_by(ALERTS.c.event))
    return [r[0] for r in rows]


async def run_equity(conn: AsyncConnection, run_id: int) -> list[dict[str, Any]]:
    """Run `run_id`'s equity rows oldest first (`at`, funding/realised/unrealised/equity USD, open positions,
    notional, net delta), thinned to at most `EQUITY_POINTS` (every n-th row, the newest always kept)."""
    total = (
        await conn.execute(select(func.count()).select_from(EQUITY).where(EQUITY.c.run_id == run_id))
    ).scalar_one()
    step = max(1, -(-int(total) // EQUITY_POINTS))
    numbered = (
        select(EQUITY, func.row_number().over(order_by=EQUITY.c.at.desc()).label("k"))
        .where(EQUITY.c.run_id == run_id)
        .subquery()
    )
    rows = await conn.execute(select(numbered).where((numbered.c.k - 1) % step == 0).order_by(numbered.c.at))
    return [dict(r._mapping) for r in rows]


async def latest_equity(conn: AsyncConnection, run_ids: list[int]) -> dict[int, Any]:
    """{run_id: its newest `run_equity` row} for the runs that have one."""
    if not run_ids:
        return {}
    rows = await conn.execute(
        select(EQUITY)
        .where(EQUITY.c.run_id.in_(run_ids))
        .distinct(EQUITY.c.run_id)
        .order_by(EQUITY.c.run_id, EQUITY.c.at.desc())
    )
    return {r.run_id: r for r in rows}


async def open_position_counts(conn: AsyncConnection, run_ids: list[int]) -> dict[int, int]:
    """{run_id: live positions} for the runs that have any."""
    if not run_ids:
        return {}
    rows = await conn.execute(
        select(POSITIONS.c.run_id, func.count())
        .where(POSITIONS.c.run_id.in_(run_ids), POSITIONS.c.status.in_(LIVE_POSITION))
        .group_by(POSITIONS.c.run_id)
    )
    return {int(r[0]): int(r[1]) for r in rows}


async def account_known(conn: AsyncConnection, account: str) -> bool:
    """True when `account` is a vault account or has ever run (paper runs may use names of their own)."""
    in_vault = (
        await conn.execute(select(func.count()).select_from(ACCOUNTS).where(ACCOUNTS.c.name == account))
    ).scalar_one()
    if in_vault:
        return True
    ran = (
        await conn.execute(select(func.count()).select_from(RUNS).where(RUNS.c.account_name == account))
    ).scalar_one()
    return bool(ran)


__all__ = [
    "ALERT_LEVELS",
    "ALERT_STATUSES",
    "EQUITY_POINTS",
    "Leg",
    "PositionView",
    "account_known",
    "alert_events",
    "alerts",
    "db_now",
    "latest_equity",
    "open_position_counts",
    "position_view",
    "run_equity",
    "run_events",
    "run_positions",
    "run_row",
    "symbols",
]
