"""Strategy state in PostgreSQL: runs, leases, orders, fills, positions, funding payments, events.

Every function that writes takes an `AsyncEngine` and runs ONE transaction (a unit of work: nothing is
half-written). The executor writes an order row (status `pending`) BEFORE the venue call and updates it after,
so a crash at any point leaves a row that the next run reconciles by client order id.

Client order ids (`client_order_id`): decimal strings that carry the run id,
`2^47 + run_id * 2^23 + seq` (`run_id` < 2^24, `seq` < 2^23). They are valid Lighter `ClientOrderIndex` values
(1..2^48-1, PROTOCOL_NOTES §1.3, so they survive a restart: the Lighter client maps a numeric id to itself) and
valid Paradex `client_id`s, and `run_of_client_order_id` recovers the run from an order found on a venue. The
2^47 offset keeps them above the Lighter client's own timestamp allocator (which reaches 2^47 around 2094).

Leases: `Lease` holds a session-level PostgreSQL advisory lock per (mode, account, venue) on a dedicated
connection for the life of the run, so no second run on any machine sharing the database trades the same
account. The lock dies with the connection (a killed process frees it); the holder is named from
`pg_locks` + `pg_stat_activity.application_name` (`perparb run <id> <host>:<pid>`).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from database.leases import LEASE_CLASS, lease_key
from database.models import (
    FundingPayment,
    Position,
    StrategyEvent,
    StrategyFill,
    StrategyOrder,
    StrategyRun,
    StrategyState,
    table_of,
)
from exchange_clients.base.trading import Fill, FundingPaymentInfo, OrderInfo, OrderStatus
from perparb_core.errors import PerparbError

log = logging.getLogger(__name__)

RUNS = table_of(StrategyRun)
POSITIONS = table_of(Position)
ORDERS = table_of(StrategyOrder)
FILLS = table_of(StrategyFill)
FUNDING = table_of(FundingPayment)
EVENTS = table_of(StrategyEvent)
STATE = table_of(StrategyState)

LIVE_POSITION = ("opening", "open", "closing")
CANDIDATES_STATE_PREFIX = "candidates:"
"""`strategy_state` key prefix of a funding-arbitrage config's last-cycle candidate table (`perparb status`)."""
FINAL_ORDER = ("filled", "canceled", "rejected")

# ------------------------------------------------------------------------------------------ client order ids

_ID_BASE = 1 << 47
_SEQ_BITS = 23
_MAX_RUN = 1 << 24


def client_order_id(run_id: int, seq: int) -> str:
    """The client order id of the `seq`-th order of run `run_id` (see the module docstring).

    Raises:
        ValueError: run_id outside 1..2^24-1 or seq outside 1..2^23-1.
    """
    if not 1 <= run_id < _MAX_RUN:
        raise ValueError(f"run_id {run_id} outside 1..{_MAX_RUN - 1}")
    if not 1 <= seq < (1 << _SEQ_BITS):
        raise ValueError(f"seq {seq} outside 1..{(1 << _SEQ_BITS) - 1}")
    return str(_ID_BASE + (run_id << _SEQ_BITS) + seq)


def run_of_client_order_id(value: str | None) -> int | None:
    """The run id a client order id was issued by, or None for an id not issued by `client_order_id`."""
    if not value or not value.isdigit():
        return None
    number = int(value)
    if not _ID_BASE < number < (1 << 48):
        return None
    return (number - _ID_BASE) >> _SEQ_BITS


class OrderIds:
    """Allocates the client order ids of one run: `next()` -> a fresh id (thread- and task-safe: single
    event loop, no await inside)."""

    def __init__(self, run_id: int, start: int = 0) -> None:
        self.run_id = run_id
        self._seq = start

    def next(self) -> str:
        self._seq += 1
        return client_order_id(self.run_id, self._seq)


# ------------------------------------------------------------------------------------------------------ leases


class LeaseHeldError(PerparbError):
    """Another run holds the lease of this account on a venue; the message names the holder."""


_LEASE_CLASS = LEASE_CLASS
_lease_key = lease_key


def run_label(run_id: int | None) -> str:
    return f"perparb run {run_id if run_id is not None else '?'} {socket.gethostname()}:{os.getpid()}"[:63]


class Lease:
    """Advisory locks on (mode, account, venue) for each of `venues`, held on one dedicated connection.

    Usage: `lease = await Lease.acquire(engine, account, venues, mode)`; `await lease.check()` every cycle
    (raises if the connection, hence the lock, was lost); `await lease.release()`.

    Raises (from `acquire`):
        LeaseHeldError: any of the locks is held by another session; names venue, run id, host and pid.
    """

    def __init__(self, conn: AsyncConnection, keys: list[int], account: str, mode: str) -> None:
        self._conn = conn
        self._keys = keys
        self.account = account
        self.mode = mode

    @classmethod
    async def acquire(cls, engine: AsyncEngine, account: str, venues: Sequence[str], mode: str) -> Lease:
        conn = await engine.connect()
        try:
            await conn.execute(
                text("SELECT set_config('application_name', :n, false)"), {"n": run_label(None)}
            )
            await conn.commit()
            taken: list[int] = []
            for venue in venues:
                key = _lease_key(mode, account, venue)
                got = (
                    await conn.execute(
                        text("SELECT pg_try_advisory_lock(:c, :k)"), {"c": _LEASE_CLASS, "k": key}
                    )
                ).scalar_one()
                await conn.commit()
                if not got:
                    holder = await _holder(conn, key)
                    for k in taken:
                        await conn.execute(
                            text("SELECT pg_advisory_unlock(:c, :k)"), {"c": _LEASE_CLASS, "k": k}
                        )
                    await conn.commit()
                    raise LeaseHeldError(
                        f"account {account!r} ({mode}) on {venue} is already traded by {holder}; "
                        "stop that run first (perparb status shows it)"
                    )
                taken.append(key)
        except BaseException:
            await conn.invalidate()
            await conn.close()
            raise
        return cls(conn, taken, account, mode)

    async def label(self, run_id: int) -> None:
        """Name the holder in `pg_stat_activity` so a refused run can name this one."""
        await self._conn.execute(
            text("SELECT set_config('application_name', :n, false)"), {"n": run_label(run_id)}
        )
        await self._conn.commit()

    async def check(self) -> None:
        """Raises LeaseLostError if the lease connection is gone (the locks went with it)."""
        try:
            held = (
                await self._conn.execute(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
                        "AND classid = (:c)::bigint::oid AND granted"
                    ),
                    {"c": _LEASE_CLASS},
                )
            ).scalar_one()
            await self._conn.commit()
        except Exception as exc:
            raise LeaseLostError(f"lease of account {self.account!r} lost: {type(exc).__name__}") from None
        if held < len(self._keys):
            raise LeaseLostError(
                f"lease of account {self.account!r} lost ({held} of {len(self._keys)} locks)"
            )

    async def release(self) -> None:
        """Unlock and close the connection for good (it is invalidated, not returned to the pool: the locks and
        the holder's label die with it). Idempotent; a dead connection already released its locks."""
        conn, self._conn = self._conn, None  # type: ignore[assignment]
        if conn is None:
            return
        try:
            await conn.execute(text("SELECT pg_advisory_unlock_all()"))
            await conn.commit()
        except Exception:
            log.debug("advisory unlock failed; invalidating the connection frees the locks")
        try:
            await conn.invalidate()
        finally:
            await conn.close()


class LeaseLostError(PerparbError):
    """The lease connection died: another run may now take the account, so this one must stop trading."""


async def _holder(conn: AsyncConnection, key: int) -> str:
    row = (
        await conn.execute(
            text(
                "SELECT l.pid, a.application_name, a.client_addr::text, a.backend_start FROM pg_locks l "
                "LEFT JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
                "AND l.classid = (:c)::bigint::oid AND l.objid = ((:k)::bigint & 4294967295)::oid"
            ),
            {"c": _LEASE_CLASS, "k": key},
        )
    ).first()
    await conn.commit()
    if row is None:
        return "another session (it released the lease meanwhile: retry)"
    pid, app, _addr, started = row
    if app and app.startswith("perparb run "):
        parts = app.split()
        return (
            f"run {parts[2]} on {parts[3]} (PostgreSQL backend {pid}, since {started:%Y-%m-%d %H:%M:%S %Z})"
        )
    return f"PostgreSQL backend {pid} ({app or 'unnamed'})"


# --------------------------------------------------------------------------------------------------------- runs


@dataclass(frozen=True, slots=True)
class RunInfo:
    id: int
    account_name: str
    strategy: str
    config_name: str
    mode: str


async def create_run(
    engine: AsyncEngine,
    *,
    account: str,
    strategy: str,
    config_name: str,
    config: dict[str, Any],
    mode: str,
    venues: Sequence[str],
) -> RunInfo:
    """Insert a `running` run; earlier runs of the account and mode still marked `running` are marked `crashed`
    (the caller holds the lease, so they cannot be alive)."""
    async with engine.begin() as conn:
        await conn.execute(
            update(RUNS)
            .where(and_(RUNS.c.account_name == account, RUNS.c.mode == mode, RUNS.c.status == "running"))
            .values(
                status="crashed",
                stopped_at=func.now(),
                stop_reason="found running by a later run: process died",
            )
        )
        run_id = (
            await conn.execute(
                insert(RUNS)
                .values(
                    account_name=account,
                    strategy=strategy,
                    config_name=config_name,
                    config=config,
                    mode=mode,
                    venues=list(venues),
                    status="running",
                    host=socket.gethostname()[:128],
                    pid=os.getpid(),
                )
                .returning(RUNS.c.id)
            )
        ).scalar_one()
    return RunInfo(run_id, account, strategy, config_name, mode)


async def heartbeat(engine: AsyncEngine, run_id: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(RUNS).where(RUNS.c.id == run_id).values(heartbeat_at=func.now()))


async def finish_run(engine: AsyncEngine, run_id: int, status: str, reason: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            update(RUNS)
            .where(RUNS.c.id == run_id)
            .values(status=status, stopped_at=func.now(), heartbeat_at=func.now(), stop_reason=reason[:2000])
        )


# ------------------------------------------------------------------------------------------------------- events


async def insert_event(
    conn: AsyncConnection,
    run_id: int,
    kind: str,
    message: str,
    *,
    level: str = "info",
    detail: dict[str, Any] | None = None,
) -> None:
    """Append an event in `conn`'s transaction (also logged). `detail` must hold no secret."""
    getattr(log, "warning" if level == "warn" else level, log.info)("run %s %s: %s", run_id, kind, message)
    await conn.execute(
        insert(EVENTS).values(run_id=run_id, kind=kind, message=message[:4000], level=level, detail=detail)
    )


async def record_event(
    engine: AsyncEngine,
    run_id: int,
    kind: str,
    message: str,
    *,
    level: str = "info",
    detail: dict[str, Any] | None = None,
) -> None:
    """Append an event in its own transaction (also logged). `detail` must hold no secret."""
    async with engine.begin() as conn:
        await insert_event(conn, run_id, kind, message, level=level, detail=detail)


# ------------------------------------------------------------------------------------------------------- orders


@dataclass(frozen=True, slots=True)
class OrderRow:
    """An order as stored. Sizes in base units, prices in quote."""

    id: int
    run_id: int
    position_id: int | None
    venue: str
    symbol: str
    client_order_id: str
    venue_order_id: str | None
    purpose: str
    side: str
    order_type: str
    time_in_force: str
    price: Decimal | None
    quantity: Decimal
    reduce_only: bool
    status: str
    filled_quantity: Decimal
    avg_fill_price: Decimal | None
    fee: Decimal
    grid_level: int | None

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_ORDER

    @property
    def signed_filled(self) -> Decimal:
        return self.filled_quantity if self.side == "buy" else -self.filled_quantity


def _order_row(r: Any) -> OrderRow:
    return OrderRow(**{f: getattr(r, f) for f in OrderRow.__slots__})


async def insert_orders(conn: AsyncConnection, rows: Iterable[dict[str, Any]]) -> list[int]:
    """Insert `pending` orders (in the caller's transaction); returns their ids in order."""
    ids = []
    for row in rows:
        ids.append(
            (
                await conn.execute(insert(ORDERS).values(status="pending", **row).returning(ORDERS.c.id))
            ).scalar_one()
        )
    return ids


def _status_text(info: OrderInfo) -> str:
    if info.status is OrderStatus.UNKNOWN:
        return "unknown"
    return str(info.status.value)


async def apply_order_info(
    conn: AsyncConnection,
    order_id: int,
    info: OrderInfo | None,
    *,
    error: str | None = None,
    fills: Sequence[Fill] = (),
    sent_at: datetime | None = None,
) -> None:
    """Update an order from the venue's view (None + error = rejected before reaching the book), and store its
    fills (idempotent by venue fill id). Fees are summed from the fills when any are given."""
    values: dict[str, Any] = {"updated_at": func.now()}
    if sent_at is not None:
        values["sent_at"] = sent_at
    if info is None:
        values.update(status="rejected", error=(error or "rejected")[:2000])
    else:
        values.update(
            status=_status_text(info),
            venue_order_id=info.order_id or None,
            filled_quantity=info.filled_quantity,
        )
        if info.reject_reason or error:
            values["error"] = (error or info.reject_reason or "")[:2000]
    if fills:
        qty = sum((f.quantity for f in fills), Decimal(0))
        if qty > 0:
            values["avg_fill_price"] = sum((f.price * f.quantity for f in fills), Decimal(0)) / qty
        values["fee"] = sum((f.fee for f in fills), Decimal(0))
        venue = fills[0].venue
        for f in fills:
            await conn.execute(
                pg_insert(FILLS)
                .values(
                    order_id=order_id,
                    venue=venue,
                    fill_id=f.fill_id or f"{f.order_id}:{f.ts.isoformat()}:{f.quantity}",
                    side=f.side.value,
                    price=f.price,
                    quantity=f.quantity,
                    fee=f.fee,
                    liquidity=f.liquidity,
                    ts=f.ts,
                )
                .on_conflict_do_nothing(constraint="uq_fills_order_fill_id")
            )
    await conn.execute(update(ORDERS).where(ORDERS.c.id == order_id).values(**values))


async def store_fills(conn: AsyncConnection, order_id: int, fills: Sequence[Fill]) -> int:
    """Store fills of order `order_id` found later (`strategies.fills`), idempotent by venue fill id, and set the
    order's fee and average fill price from all its stored fills. Returns how many rows were new."""
    new = 0
    for f in fills:
        res = await conn.execute(
            pg_insert(FILLS)
            .values(
                order_id=order_id,
                venue=f.venue,
                fill_id=f.fill_id or f"{f.order_id}:{f.ts.isoformat()}:{f.quantity}",
                side=f.side.value,
                price=f.price,
                quantity=f.quantity,
                fee=f.fee,
                liquidity=f.liquidity,
                ts=f.ts,
            )
            .on_conflict_do_nothing(constraint="uq_fills_order_fill_id")
        )
        new += res.rowcount or 0
    if new:
        qty, notional, fee = (
            await conn.execute(
                select(
                    func.coalesce(func.sum(FILLS.c.quantity), 0),
                    func.coalesce(func.sum(FILLS.c.quantity * FILLS.c.price), 0),
                    func.coalesce(func.sum(FILLS.c.fee), 0),
                ).where(FILLS.c.order_id == order_id)
            )
        ).one()
        values: dict[str, Any] = {"fee": fee, "updated_at": func.now()}
        if qty:
            values["avg_fill_price"] = Decimal(notional) / Decimal(qty)
        await conn.execute(update(ORDERS).where(ORDERS.c.id == order_id).values(**values))
    return new


async def orders_of_position(conn: AsyncConnection, position_id: int) -> list[OrderRow]:
    rows = (
        await conn.execute(select(ORDERS).where(ORDERS.c.position_id == position_id).order_by(ORDERS.c.id))
    ).all()
    return [_order_row(r) for r in rows]


async def open_orders(conn: AsyncConnection, account: str, mode: str) -> list[OrderRow]:
    """Orders of the account and mode not known to be final (pending, open, partially filled, unknown)."""
    rows = (
        await conn.execute(
            select(ORDERS)
            .join(RUNS, RUNS.c.id == ORDERS.c.run_id)
            .where(
                and_(
                    ORDERS.c.account_name == account, RUNS.c.mode == mode, ORDERS.c.status.not_in(FINAL_ORDER)
                )
            )
            .order_by(ORDERS.c.id)
        )
    ).all()
    return [_order_row(r) for r in rows]


async def run_ids_of(conn: AsyncConnection, account: str, mode: str) -> set[int]:
    rows = (
        await conn.execute(select(RUNS.c.id).where(and_(RUNS.c.account_name == account, RUNS.c.mode == mode)))
    ).scalars()
    return set(rows)


async def max_seq(conn: AsyncConnection, run_id: int) -> int:
    """The highest sequence number used by `run_id` (0 when none)."""
    ids = (await conn.execute(select(ORDERS.c.client_order_id).where(ORDERS.c.run_id == run_id))).scalars()
    out = 0
    for cid in ids:
        if run_of_client_order_id(cid) == run_id:
            out = max(out, (int(cid) - _ID_BASE) & ((1 << _SEQ_BITS) - 1))
    return out


# ---------------------------------------------------------------------------------------------------- positions


@dataclass(frozen=True, slots=True)
class PositionRow:
    id: int
    run_id: int
    account_name: str
    mode: str
    config_name: str
    symbol: str
    long_venue: str
    short_venue: str
    status: str
    target_quantity: Decimal
    quantity: Decimal
    notional_usd: Decimal
    entry_spread_hourly: Decimal
    round_trip_cost: Decimal
    entry_long_price: Decimal | None
    entry_short_price: Decimal | None
    opened_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    exit_reason: str | None
    funding_long: Decimal
    funding_short: Decimal
    fees: Decimal
    basis_pnl: Decimal
    realized_pnl: Decimal | None


def _position_row(r: Any) -> PositionRow:
    return PositionRow(**{f: getattr(r, f) for f in PositionRow.__slots__})


async def live_positions(conn: AsyncConnection, account: str, mode: str) -> list[PositionRow]:
    rows = (
        await conn.execute(
            select(POSITIONS)
            .where(
                and_(
                    POSITIONS.c.account_name == account,
                    POSITIONS.c.mode == mode,
                    POSITIONS.c.status.in_(LIVE_POSITION),
                )
            )
            .order_by(POSITIONS.c.id)
        )
    ).all()
    return [_position_row(r) for r in rows]


async def get_position(conn: AsyncConnection, position_id: int) -> PositionRow:
    return _position_row((await conn.execute(select(POSITIONS).where(POSITIONS.c.id == position_id))).one())


async def update_position(conn: AsyncConnection, position_id: int, **values: Any) -> None:
    await conn.execute(
        update(POSITIONS).where(POSITIONS.c.id == position_id).values(updated_at=func.now(), **values)
    )


async def store_funding(
    engine: AsyncEngine,
    position_id: int | None,
    account: str,
    mode: str,
    payments: Iterable[FundingPaymentInfo],
) -> int:
    """Store funding payments (idempotent per account, mode, venue, symbol and time); returns how many were new."""
    new = 0
    async with engine.begin() as conn:
        for p in payments:
            res = await conn.execute(
                pg_insert(FUNDING)
                .values(
                    position_id=position_id,
                    account_name=account,
                    mode=mode,
                    venue=p.venue,
                    symbol=p.symbol,
                    amount=p.amount,
                    rate=p.rate,
                    ts=p.ts,
                )
                .on_conflict_do_nothing(constraint="uq_funding_payments_account_venue_ts")
            )
            new += res.rowcount or 0
    return new


async def funding_of_position(conn: AsyncConnection, position_id: int) -> dict[str, Decimal]:
    rows = (
        await conn.execute(
            select(FUNDING.c.venue, func.sum(FUNDING.c.amount))
            .where(FUNDING.c.position_id == position_id)
            .group_by(FUNDING.c.venue)
        )
    ).all()
    return {venue: Decimal(total) for venue, total in rows}


# -------------------------------------------------------------------------------------------------------- state


async def load_state(
    conn: AsyncConnection, account: str, mode: str, config_name: str
) -> dict[str, Any] | None:
    return (
        await conn.execute(
            select(STATE.c.state).where(
                and_(
                    STATE.c.account_name == account, STATE.c.mode == mode, STATE.c.config_name == config_name
                )
            )
        )
    ).scalar()


async def save_state(
    conn: AsyncConnection, account: str, mode: str, config_name: str, state: dict[str, Any]
) -> None:
    """Upsert the instance's state (in the caller's transaction)."""
    stmt = pg_insert(STATE).values(account_name=account, mode=mode, config_name=config_name, state=state)
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[STATE.c.account_name, STATE.c.mode, STATE.c.config_name],
            set_={"state": stmt.excluded.state, "updated_at": func.now()},
        )
    )


async def end_paper_session(engine: AsyncEngine, account: str) -> int:
    """Close the paper positions and orders a previous paper run left (its in-process simulator, hence every
    simulated position and order, ended with it): positions `closed` with exit reason `paper_session_ended`
    (figures as last recorded), orders not final `canceled`. One transaction; returns the positions closed."""
    async with engine.begin() as conn:
        closed = await conn.execute(
            update(POSITIONS)
            .where(
                and_(
                    POSITIONS.c.account_name == account,
                    POSITIONS.c.mode == "paper",
                    POSITIONS.c.status.in_(LIVE_POSITION),
                )
            )
            .values(
                status="closed",
                closed_at=func.now(),
                exit_reason="paper_session_ended",
                exit_detail="the simulator of the paper run that held it has stopped",
                updated_at=func.now(),
            )
        )
        paper_runs = select(RUNS.c.id).where(and_(RUNS.c.account_name == account, RUNS.c.mode == "paper"))
        await conn.execute(
            update(ORDERS)
            .where(and_(ORDERS.c.run_id.in_(paper_runs), ORDERS.c.status.not_in(FINAL_ORDER)))
            .values(status="canceled", error="paper session ended", updated_at=func.now())
        )
    return closed.rowcount or 0
