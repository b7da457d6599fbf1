"""The soak's invariants (issue #18 item 3): each check returns its violations (one line each, no secret), counted
by name in the report. Target: 0 everywhere.

| name | what is checked | when |
|---|---|---|
| `no_naked_leg` | each funding-arbitrage account's net delta (sum of its venues' positions) within one size step; an imbalance counts only if still there one settle window after it was seen, counted while the account's runner is up (harness `_naked_legs`; an imbalanced account is read every 2 s until balanced) | continuously + end |
| `no_duplicate_position` | at most one live (opening/open/closing) position per account, mode and asset | continuously + end |
| `no_duplicate_client_order_id` | no client order id on two different venue orders, and each venue order's side and size agree with its database row | end |
| `no_orphan_venue_order` | every venue order (open, or reported by a fill) has a database row (by client order id or venue order id) | end |
| `positions_match` | each account's position per venue = the signed sum of its fills in the database (within one size step) | end |
| `open_orders_match` | the venue's open orders = the database's orders in `open` / `partially_filled` / `pending` | end |
| `balances_match` | the venue's equity = collateral + trade cash flows - fees + funding + position x mark (database figures), within fee rounding | end |
| `fills_exactly_once` | every fill the venue reports is in `fills` exactly once (by venue fill id), and each order's `filled_quantity` = the venue's fills of it | end |
| `funding_matches` | every account: the venue's funding payments sum = the `funding_payments` sum, per venue (within 0.01 USD) | end |
| `liveness` | every run ended with its reason recorded, or is running with a heartbeat fresher than `HEARTBEAT_STALE_SECONDS` (its process alive) | continuously + end |
| `lease_not_held_by_dead` | no lease (advisory lock) held for longer than `LEASE_TIMEOUT_SECONDS` by a run whose process is dead | continuously |
| `on_stop_close_honoured` | a runner stopped by SIGTERM with `on_stop: close` (and exiting 0) left no live position in the database and none on its venues | after each such stop |
| `db_check` | `perparb db check` passes (models and migrated schema agree) | end |
| `vault_decrypts` | the vault decrypts every soak account | end |
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from database.accounts import load_account
from database.leases import LEASE_CLASS
from database.vault import Vault
from exchange_clients.base.client import BaseExchangeClient
from exchange_clients.base.trading import Fill, FundingPaymentInfo, OrderInfo, PositionSnapshot
from perparb_core.errors import PerparbError

INVARIANTS = (
    "no_naked_leg",
    "no_duplicate_position",
    "no_duplicate_client_order_id",
    "no_orphan_venue_order",
    "positions_match",
    "open_orders_match",
    "balances_match",
    "fills_exactly_once",
    "funding_matches",
    "liveness",
    "lease_not_held_by_dead",
    "on_stop_close_honoured",
    "db_check",
    "vault_decrypts",
)
HEARTBEAT_STALE_SECONDS = 60.0
"""A live run's heartbeat older than this (wall seconds) is a liveness violation (cycles are 1 s; a database
restart or a venue outage of the soak delays a few)."""
LEASE_TIMEOUT_SECONDS = 30.0
"""How long a lease may outlive its holder's process (the lock dies with its connection: normally at once)."""
OPEN_STATUSES = ("pending", "open", "partially_filled")
D0 = Decimal(0)


def process_alive(pid: int) -> bool:
    """True when a process with `pid` exists on this machine and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        return True


@dataclass
class VenueView:
    """One account's state on one venue, read through its trading client (the real SDK path)."""

    venue: str
    positions: dict[str, Decimal]
    marks: dict[str, Decimal]
    open_orders: list[OrderInfo]
    fills: list[Fill]
    funding: list[FundingPaymentInfo]
    equity: Decimal
    size_step: Decimal


@dataclass
class SoakAccount:
    """A soak account: its index, name, strategy, venues, clients (connected by the harness) and collateral."""

    index: int
    name: str
    strategy: str
    venues: list[str]
    clients: dict[str, BaseExchangeClient] = field(default_factory=dict)
    collateral_usd: Decimal = Decimal(100_000)


def symbol_matches(symbol: str, base: str) -> bool:
    return re.match(rf"^{re.escape(base)}($|[-_/]|USD)", symbol) is not None


async def venue_view(client: BaseExchangeClient, venue: str, base: str, since: datetime) -> VenueView:
    """The account's positions, open orders, fills and funding on `base` since `since`, and its equity.

    Raises:
        VenueError subclasses: the venue did not answer (the caller skips the check, it does not count)."""
    qty, marks, step = await venue_positions(client, base)
    orders = [o for o in await client.get_active_orders(base)]
    fills = await client.get_fills(since, base)
    funding = await client.get_funding_payments(since, base)
    balance = await client.get_account_balance()
    return VenueView(venue, qty, marks, orders, fills, funding, balance.equity, step)


async def venue_positions(
    client: BaseExchangeClient, base: str
) -> tuple[dict[str, Decimal], dict[str, Decimal], Decimal]:
    """({base: signed position, base units}, {base: mark price, USD}, the market's size step): two reads.

    Raises:
        VenueError subclasses: the venue did not answer."""
    attrs = await client.get_contract_attributes(base)
    positions: list[PositionSnapshot] = await client.get_positions()
    qty: dict[str, Decimal] = defaultdict(lambda: D0)
    marks: dict[str, Decimal] = {}
    for p in positions:
        if symbol_matches(p.symbol, base):
            qty[base] += p.quantity
            if p.mark_price is not None:
                marks[base] = p.mark_price
    return dict(qty), marks, max(attrs.size_step, attrs.min_size or D0)


async def account_net_delta(
    account: SoakAccount, base: str, timeout: float = 20.0
) -> tuple[Decimal, Decimal] | None:
    """(net position over the account's venues, the largest size step) from positions alone (what the no-naked-leg
    check needs; `account_views` also reads orders, fills, funding and balances); None when a venue did not answer."""
    try:
        read = await asyncio.wait_for(
            asyncio.gather(*(venue_positions(c, base) for c in account.clients.values())), timeout
        )
    except (PerparbError, asyncio.TimeoutError, OSError):
        return None
    return sum((qty.get(base, D0) for qty, _m, _s in read), D0), max(step for _q, _m, step in read)


async def account_views(
    account: SoakAccount, base: str, since: datetime, timeout: float = 20.0
) -> dict[str, VenueView] | None:
    """`venue_view` of every venue of `account`; None when a venue did not answer (a fault in progress)."""
    try:
        views = await asyncio.wait_for(
            asyncio.gather(*(venue_view(c, v, base, since) for v, c in account.clients.items())), timeout
        )
    except (PerparbError, asyncio.TimeoutError, OSError):
        return None
    return {v.venue: v for v in views}


# ----------------------------------------------------------------------------------------------- database side


async def db_orders(engine: AsyncEngine, account: str) -> list[Any]:
    async with engine.connect() as conn:
        return list(
            (
                await conn.execute(
                    text(
                        "SELECT id, venue, symbol, client_order_id, venue_order_id, side, quantity, price, status, "
                        "filled_quantity, fee FROM orders WHERE account_name = :a"
                    ),
                    {"a": account},
                )
            ).all()
        )


async def db_fills(engine: AsyncEngine, account: str) -> list[Any]:
    async with engine.connect() as conn:
        return list(
            (
                await conn.execute(
                    text(
                        "SELECT f.venue, f.fill_id, f.side, f.price, f.quantity, f.fee, o.client_order_id, "
                        "o.venue_order_id FROM fills f JOIN orders o ON o.id = f.order_id WHERE o.account_name = :a"
                    ),
                    {"a": account},
                )
            ).all()
        )


async def duplicate_positions(engine: AsyncEngine, accounts: list[str]) -> list[str]:
    """`no_duplicate_position`: (account, mode, symbol) with more than one live position."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT account_name, mode, symbol, count(*) FROM positions WHERE status IN "
                    "('opening', 'open', 'closing') AND account_name = ANY(:a) GROUP BY 1, 2, 3 HAVING count(*) > 1"
                ),
                {"a": accounts},
            )
        ).all()
    return [f"{a} {m} {s}: {n} live positions" for a, m, s, n in rows]


async def liveness(engine: AsyncEngine, accounts: list[str], alive_pids: set[int], final: bool) -> list[str]:
    """`liveness`: runs ended without a reason; running runs whose heartbeat is stale while their process lives
    (at the end, with every runner stopped: any run still `running`)."""
    out: list[str] = []
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT id, account_name, status, stop_reason, pid, "
                    "extract(epoch FROM now() - heartbeat_at) FROM strategy_runs WHERE account_name = ANY(:a)"
                ),
                {"a": accounts},
            )
        ).all()
    for run_id, account, status, reason, pid, age in rows:
        if status != "running":
            if not reason:
                out.append(f"run {run_id} of {account}: {status} without a reason")
        elif final:
            out.append(f"run {run_id} of {account}: still running after every runner stopped")
        elif pid in alive_pids and float(age) > HEARTBEAT_STALE_SECONDS:
            out.append(f"run {run_id} of {account}: heartbeat {float(age):.0f} s old, process {pid} alive")
    return out


async def lease_holders(engine: AsyncEngine) -> list[tuple[int, int, str]]:
    """(backend pid, holder OS pid, label) of every perparb lease held now (from `application_name`
    `perparb run <id> <host>:<pid>`; holder pid 0 when the label names none)."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT l.pid, a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND l.classid = (:c)::bigint::oid AND l.granted"
                ),
                {"c": LEASE_CLASS},
            )
        ).all()
    out = []
    for backend, label in rows:
        match = re.search(r":(\d+)$", label or "")
        out.append((int(backend), int(match.group(1)) if match else 0, label or ""))
    return out


class LeaseWatch:
    """`lease_not_held_by_dead`: remembers when each (backend, holder) lease was first seen with a dead holder and
    reports it once it has been so for longer than `LEASE_TIMEOUT_SECONDS`."""

    def __init__(self) -> None:
        self.dead_since: dict[tuple[int, int], float] = {}
        self.reported: set[tuple[int, int]] = set()

    async def check(self, engine: AsyncEngine) -> list[str]:
        now = time.monotonic()
        out = []
        seen = set()
        for backend, holder, label in await lease_holders(engine):
            key = (backend, holder)
            if holder == 0 or process_alive(holder):
                continue
            seen.add(key)
            first = self.dead_since.setdefault(key, now)
            if now - first > LEASE_TIMEOUT_SECONDS and key not in self.reported:
                self.reported.add(key)
                out.append(f"lease of {label!r} held {now - first:.0f} s after its process died")
        self.dead_since = {k: v for k, v in self.dead_since.items() if k in seen}
        return out


# -------------------------------------------------------------------------------------------------- naked legs


def net_delta(views: dict[str, VenueView], base: str) -> tuple[Decimal, Decimal]:
    """(net position over the venues, the largest size step)."""
    net = sum((v.positions.get(base, D0) for v in views.values()), D0)
    return net, max(v.size_step for v in views.values())


# ------------------------------------------------------------------------------------------ end-of-run checks


def _side_sign(side: str) -> int:
    return 1 if side.lower() in ("buy", "bid", "long") else -1


async def account_end_checks(
    engine: AsyncEngine, account: SoakAccount, views: dict[str, VenueView], base: str
) -> dict[str, list[str]]:
    """The end-of-run checks of one account against its venue views (see the module table)."""
    out: dict[str, list[str]] = defaultdict(list)
    orders = await db_orders(engine, account.name)
    fills = await db_fills(engine, account.name)
    by_coid = {(o.venue, o.client_order_id): o for o in orders}
    by_void = {(o.venue, o.venue_order_id): o for o in orders if o.venue_order_id}
    db_fill_ids: dict[tuple[str, str], int] = defaultdict(int)
    for f in fills:
        db_fill_ids[(f.venue, f.fill_id)] += 1
    for venue, view in views.items():
        who = f"{account.name} {venue}"
        # client order ids: one venue order each, with the database row's content
        orders_of_coid: dict[str, set[str]] = defaultdict(set)
        for o in view.open_orders:
            if o.client_order_id:
                orders_of_coid[o.client_order_id].add(o.order_id)
        for fl in view.fills:
            if fl.client_order_id:
                orders_of_coid[fl.client_order_id].add(fl.order_id)
        for coid, ids in orders_of_coid.items():
            if len(ids) > 1:
                out["no_duplicate_client_order_id"].append(
                    f"{who}: client order id {coid} on {len(ids)} orders"
                )
        for o in view.open_orders:
            row = by_coid.get((venue, o.client_order_id or "")) or by_void.get((venue, o.order_id))
            if row is None:
                out["no_orphan_venue_order"].append(
                    f"{who}: open order {o.order_id} ({o.client_order_id}) has no row"
                )
            elif (
                _side_sign(row.side) != _side_sign(o.side.value)
                or abs(Decimal(row.quantity) - o.quantity) > view.size_step
            ):
                out["no_duplicate_client_order_id"].append(
                    f"{who}: order {o.client_order_id} is {o.side.value} {o.quantity} on the venue, "
                    f"{row.side} {row.quantity} in the database"
                )
        for fl in view.fills:
            row = by_coid.get((venue, fl.client_order_id or "")) or by_void.get((venue, fl.order_id))
            if row is None:
                out["no_orphan_venue_order"].append(
                    f"{who}: fill {fl.fill_id} of order {fl.order_id} has no order row"
                )
            elif _side_sign(row.side) != _side_sign(fl.side.value):
                out["no_duplicate_client_order_id"].append(
                    f"{who}: fill {fl.fill_id} is a {fl.side.value}, its order {row.client_order_id} a {row.side}"
                )
            n = db_fill_ids.get((venue, fl.fill_id), 0)
            if n != 1:
                out["fills_exactly_once"].append(f"{who}: venue fill {fl.fill_id} stored {n} times")
        # each order's filled quantity in the database = the venue's fills of it
        venue_filled: dict[str, Decimal] = defaultdict(lambda: D0)
        for fl in view.fills:
            row = by_coid.get((venue, fl.client_order_id or "")) or by_void.get((venue, fl.order_id))
            if row is not None:
                venue_filled[row.client_order_id] += fl.quantity
        for o in orders:
            if o.venue != venue:
                continue
            got = venue_filled.get(o.client_order_id, D0)
            if abs(Decimal(o.filled_quantity) - got) > view.size_step / 2:
                out["fills_exactly_once"].append(
                    f"{who}: order {o.client_order_id} ({o.status}) filled {o.filled_quantity} in the database, "
                    f"{got} by the venue's fills"
                )
        # positions: the venue's = the signed sum of the database's fills
        db_qty = sum((Decimal(f.quantity) * _side_sign(f.side) for f in fills if f.venue == venue), D0)
        venue_qty = view.positions.get(base, D0)
        if abs(db_qty - venue_qty) > view.size_step / 2:
            out["positions_match"].append(
                f"{who}: venue position {venue_qty}, database fills sum to {db_qty}"
            )
        # open orders
        venue_open = {o.client_order_id or o.order_id for o in view.open_orders}
        db_open = {o.client_order_id for o in orders if o.venue == venue and o.status in OPEN_STATUSES}
        venue_open_rows = {
            (by_coid.get((venue, o.client_order_id or "")) or by_void.get((venue, o.order_id)))
            for o in view.open_orders
        }
        venue_open_coids = {r.client_order_id for r in venue_open_rows if r is not None}
        for coid in sorted(db_open - venue_open_coids):
            out["open_orders_match"].append(f"{who}: order {coid} open in the database, not on the venue")
        for o in view.open_orders:
            row = by_coid.get((venue, o.client_order_id or "")) or by_void.get((venue, o.order_id))
            if row is not None and row.status not in OPEN_STATUSES:
                out["open_orders_match"].append(
                    f"{who}: order {row.client_order_id} open on the venue, {row.status} in the database"
                )
        del venue_open
        # balances: collateral + cash flows of the fills - fees + funding + position x mark
        mark = view.marks.get(base)
        venue_fee = sum((fl.fee for fl in view.fills), D0)
        cash = sum(
            (
                -Decimal(f.quantity) * Decimal(f.price) * _side_sign(f.side) - Decimal(f.fee)
                for f in fills
                if f.venue == venue
            ),
            D0,
        )
        venue_funding = sum((p.amount for p in view.funding), D0)
        expected = (
            account.collateral_usd + cash + venue_funding + (venue_qty * mark if mark is not None else D0)
        )
        tolerance = Decimal("0.05") + abs(venue_fee) * Decimal("0.01")
        if mark is not None or venue_qty == 0:
            if abs(expected - view.equity) > tolerance:
                out["balances_match"].append(
                    f"{who}: venue equity {view.equity:.4f}, database figures give {expected:.4f}"
                )
        # funding: the database's payments = the venue's settlements (every strategy)
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text("SELECT ts, amount FROM funding_payments WHERE account_name = :a AND venue = :v"),
                    {"a": account.name, "v": venue},
                )
            ).all()
        stored = sum((Decimal(amount) for _ts, amount in rows), D0)
        if abs(stored - venue_funding) > Decimal("0.01"):
            at_venue = {p.ts: p.amount for p in view.funding}
            in_db = {ts: Decimal(amount) for ts, amount in rows}
            unlisted = sorted(set(in_db) - set(at_venue))[:3]
            unstored = sorted(set(at_venue) - set(in_db))[:3]
            differ = sorted(t for t in set(in_db) & set(at_venue) if in_db[t] != at_venue[t])[:3]
            out["funding_matches"].append(
                f"{who}: venue funding {venue_funding:.6f} ({len(at_venue)} payments), database {stored:.6f} "
                f"({len(in_db)}); stored, not at the venue: {[(t.isoformat(), str(in_db[t])) for t in unlisted]}; "
                f"at the venue, not stored: {[(t.isoformat(), str(at_venue[t])) for t in unstored]}; amounts "
                f"differ at {[t.isoformat() for t in differ]}"
            )
    return out


def db_check(database_url: str) -> list[str]:
    """`perparb db check` against the soak's database: [] when it passes, else its output (one line)."""
    from perparb.soak.procs import PROJECT

    env = {k: v for k, v in os.environ.items() if not k.startswith("PERPARB_") and k != "DATABASE_URL"}
    env["DATABASE_URL"] = database_url
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT), os.environ.get("PYTHONPATH", "")) if p)
    done = subprocess.run(
        [sys.executable, "-m", "perparb", "db", "check"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode == 0:
        return []
    return [f"perparb db check exited {done.returncode}: {(done.stdout + done.stderr).strip()[-300:]}"]


async def vault_decrypts(engine: AsyncEngine, vault: Vault, accounts: list[str]) -> list[str]:
    """`vault_decrypts`: every account loads (its credentials decrypt)."""
    out = []
    for name in accounts:
        try:
            await load_account(engine, vault, name)
        except PerparbError as exc:
            out.append(f"{name}: {type(exc).__name__}")
    return out
