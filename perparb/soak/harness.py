"""`run_soak`: one simulator process, N runner processes, one PostgreSQL, a seeded chaos schedule, invariant checks.

Order of work:
1. the database (embedded in the soak's work folder unless DATABASE_URL is given), migrated; a fresh vault key;
2. `perparb sim --speed S` with the plan's venues on free ports; the soak's market on each venue found, marks
   aligned, funding rates 0;
3. one account per runner: new test credentials per venue (each venue's paper hooks), registered and funded on the
   simulator, stored in the vault; its strategy config written (funding arbitrage and grid alternate);
4. N `perparb run CONFIG --account NAME` children (live mode: PERPARB_<VENUE>_URL points at the simulator);
5. for `plan.wall_seconds`: the market driver sets the funding phases (spreads that open and close positions),
   the chaos schedule fires, dead runners are restarted, the database is watched (entries, exits, hedges,
   latencies) and the continuous invariants are checked every `CHECK_EVERY_SECONDS`;
6. the settle window: faults cleared, rates 0 (positions exit), then every runner is stopped with SIGTERM;
7. the end-of-run invariants; the report (text / JSON / PNG).
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from database import migrate
from database.accounts import add_account
from database.session import create_engine
from database.vault import Vault, encode_key, new_key
from exchange_clients.registry import create_client, default_config
from perparb.soak import invariants as inv
from perparb.soak.plan import FA, ChaosEvent, SoakPlan, chaos_schedule, funding_phases
from perparb.soak.procs import Database, Runner, SimProcess, child_env
from perparb.soak.report import SoakReport, TimelineMark, plot_timeline
from perparb.soak.venues import SimAdminClient, SimVenue, SoakVenueError, root_of
from perparb_core.errors import PerparbError
from perparb_core.settings import HttpConfig
from simulator.server import DEMO_SCENARIO
from strategies.config import load_config

log = logging.getLogger(__name__)

CHECK_EVERY_SECONDS = 10.0
SETTLE_WINDOW_SECONDS = 30.0
"""An imbalance (naked leg) seen at a check must be gone this many wall seconds later."""
FOCUS_EVERY_SECONDS = 2.0
"""An account seen imbalanced is read again this often until it is balanced, so an imbalance that ends between two
checks is not merged with the next one (seed 2 of the five-venue soak: two entries killed 25 s apart, each re-balanced
within 20 s, were counted as one 41 s naked leg when the checks came 10 s apart)."""
SPREAD_RATE = Decimal("0.0005")
"""The market driver's funding rate (fraction per hour) on each leg of an "on" phase: 0.1 %/h of spread."""
COLLATERAL_USD = Decimal(100_000)
RESTART_DELAY_SECONDS = 1.0
TARGET_WAIT_SECONDS = 15.0
"""How long a runner fault waits for a runner to be up (restarting after an earlier fault) before it is missed."""


@dataclass
class _Imbalance:
    since: float
    net: Decimal


@dataclass
class SoakState:
    """What the harness tracks while the soak runs."""

    plan: SoakPlan
    report: SoakReport
    engine: AsyncEngine
    admin: SimAdminClient
    runners: list[Runner]
    accounts: list[inv.SoakAccount]
    db: Database
    started: float = 0.0
    since: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    stopping: bool = False
    db_down: bool = False
    pending_restart_cause: dict[int, str] = field(default_factory=dict)
    imbalances: dict[str, _Imbalance] = field(default_factory=dict)
    focused: set[str] = field(default_factory=set)
    settling: bool = False
    lease_watch: inv.LeaseWatch = field(default_factory=inv.LeaseWatch)
    seen_opened: set[int] = field(default_factory=set)
    seen_closed: set[int] = field(default_factory=set)
    arm_between_legs: list[ChaosEvent] = field(default_factory=list)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def t(self) -> float:
        return time.monotonic() - self.started

    def mark(self, lane: str, label: str, bad: bool = False) -> None:
        self.report.timeline.append(TimelineMark(round(self.t(), 2), lane, label, bad))

    def fault(self, kind: str, detail: str = "") -> None:
        self.report.faults[kind] = self.report.faults.get(kind, 0) + 1
        self.mark("fault", kind)
        log.info("soak t=%.1f fault %s %s", self.t(), kind, detail)

    def missed(self, kind: str, why: str) -> None:
        self.report.faults_missed[kind] = self.report.faults_missed.get(kind, 0) + 1
        log.info("soak t=%.1f fault %s not injected: %s", self.t(), kind, why)

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


def soak_venues(requested: list[str] | None) -> list[str]:
    """The venues a soak trades: `requested`, or every installed venue that has a simulator protocol and test
    accounts (in name order; the issue: "all venues that exist once more are added").

    Raises:
        ValueError: a requested venue cannot be soaked (named), or fewer than two can."""
    from exchange_clients.registry import venue_specs
    from simulator.protocol import installed_protocols

    simulated = installed_protocols()
    able = sorted(
        name
        for name, spec in venue_specs().items()
        if name in simulated and spec.paper is not None and spec.paper.new_credentials is not None
    )
    if requested:
        bad = [v for v in requested if v not in able]
        if bad:
            raise ValueError(f"venues: {bad} cannot be soaked (simulated venues with test accounts: {able})")
        if len(set(requested)) < 2:
            raise ValueError(f"venues: a soak needs at least two distinct venues, got {requested}")
        return list(dict.fromkeys(requested))
    if len(able) < 2:
        raise ValueError(f"a soak needs two simulated venues with test accounts; installed: {able}")
    return able


# ------------------------------------------------------------------------------------------------ set-up


async def _provision(
    st: SoakState, plan: SoakPlan, vault: Vault, workdir: Path, token: str, mark: Decimal, env: dict[str, str]
) -> None:
    for i in range(plan.accounts):
        name = plan.account_name(i, token)
        venues = plan.account_venues(i)
        account = inv.SoakAccount(i, name, plan.strategy_of(i), venues, collateral_usd=COLLATERAL_USD)
        for venue in venues:
            v = st.admin.venues[venue]
            config = default_config(
                venue, http=HttpConfig(timeout_seconds=10, retries=2, backoff_seconds=0.2)
            ).pointed_at(v.rest_url, None)
            creds, _ids = await st.admin.provision(venue, config, COLLATERAL_USD)
            await add_account(st.engine, vault, name=name, creds=creds)
            client = create_client(creds, config, markets=[plan.symbol])
            account.clients[venue] = client
        st.accounts.append(account)
        path = workdir / f"config-{i:02d}.yaml"
        path.write_text(yaml.safe_dump(plan.config(i, float(mark)), sort_keys=False))
        load_config(path)  # a config the runner would refuse stops the soak here, naming the file
        st.runners.append(Runner(i, name, account.strategy, venues, path, env, workdir))
    await asyncio.gather(*(c.connect() for a in st.accounts for c in a.clients.values()))


async def _align_marks(st: SoakState, price: Decimal | None = None) -> Decimal:
    """Every venue's mark set to `price` (default: the mean of their marks now); returns it."""
    names = list(st.admin.venues)
    if price is None:
        marks = [await st.admin.mark(v) for v in names]
        price = (sum(marks, Decimal(0)) / len(marks)).quantize(Decimal("0.01"))
    for v in names:
        await st.admin.set_mark(v, price)
    return price


async def _set_phase(st: SoakState, direction: int) -> None:
    """Funding rates of the phase: +1 = every even-indexed venue -SPREAD_RATE, every odd-indexed one +SPREAD_RATE
    (long the first venue of each pair, short the second earns: `SoakPlan.pairs`), -1 the reverse, 0 every rate
    0."""
    rates = {v: SPREAD_RATE * st.plan.venue_sign(v) * direction for v in st.plan.venues}
    for venue, rate in rates.items():
        try:
            await st.admin.set_rate(venue, rate)
        except (SoakVenueError, aiohttp.ClientError, OSError) as exc:
            log.warning("funding phase: %s", exc)
    try:
        await _align_marks(st)
    except (SoakVenueError, aiohttp.ClientError, OSError) as exc:
        log.warning("aligning marks: %s", exc)


# ------------------------------------------------------------------------------------------------- faults


async def _venue_fault(st: SoakState, ev: ChaosEvent) -> None:
    venue = str(ev.target)
    admin = st.admin
    p = ev.params
    if ev.kind in ("reject", "partial_fill"):
        await admin.call(venue, "/_sim/engine/faults", p)
    elif ev.kind in ("latency", "http_429", "http_5xx"):
        await admin.call(venue, "/_sim/faults", p)
    elif ev.kind == "ws_drop":
        await admin.call(venue, "/_sim/ws/faults", {"drop_connections": True})
    elif ev.kind == "ws_skip":
        offering = [v for v in st.plan.venues if admin.venues[v].ws_skip_actions]
        if not offering:
            st.missed(ev.kind, "no venue offers a WebSocket skip fault")
            return
        venue = venue if venue in offering else offering[0]
        await admin.call(venue, "/_sim/ws/faults", {a: True for a in admin.venues[venue].ws_skip_actions})
    elif ev.kind == "venue_down":
        await admin.call(venue, "/_sim/venue/down", {})
        st.fault(ev.kind, venue)
        await asyncio.sleep(float(p["down_seconds"]))
        await admin.call(venue, "/_sim/venue/up", {})
        return
    elif ev.kind == "price_move":
        before = await _align_marks(st)
        moved = (before * (1 + Decimal(str(p["factor"])))).quantize(Decimal("0.01"))
        await _align_marks(st, moved)
        st.fault(ev.kind, f"{before} -> {moved}")
        await asyncio.sleep(float(p["hold_seconds"]))
        await _align_marks(st, before)
        return
    st.fault(ev.kind, f"{venue} {p}")


async def _alive_runner(
    st: SoakState, index: int | None, rng: random.Random, fits: Callable[[Runner], bool] = lambda r: True
) -> Runner | None:
    """Runner `index` when it is up (and `fits`), else a random one that is; waits up to `TARGET_WAIT_SECONDS` for
    one (a runner restarting after an earlier fault); None when none came up."""
    deadline = time.monotonic() + TARGET_WAIT_SECONDS
    while True:
        alive = [r for r in st.runners if r.alive and not r.held and fits(r)]
        if index is not None and st.runners[index] in alive:
            return st.runners[index]
        if alive:
            return rng.choice(alive)
        if time.monotonic() > deadline or st.stopping:
            return None
        await asyncio.sleep(0.5)


async def _kill(st: SoakState, runner: Runner, sig: signal.Signals, cause: str, restart_after: float) -> None:
    runner.held = True
    ended = len(runner.exits)
    if not runner.signal(sig):
        runner.held = False
        st.missed(cause, f"runner {runner.index} not alive")
        return
    st.fault(cause, f"runner {runner.index} ({runner.account}) pid {runner.pid}")
    if sig == signal.SIGTERM:  # a graceful stop: wait for it, then check it closed what it held
        for _ in range(1200):
            if len(runner.exits) > ended:
                break
            await asyncio.sleep(0.1)
        if len(runner.exits) > ended and runner.exits[-1][1] == 0:
            await _check_closed(st, runner)
        else:
            log.info(
                "runner %d did not stop cleanly (%s): on_stop not judged", runner.index, runner.exits[-1:]
            )
    await asyncio.sleep(restart_after)
    st.pending_restart_cause[runner.index] = cause
    runner.held = False


async def _check_closed(st: SoakState, runner: Runner) -> None:
    """`on_stop_close_honoured`: a runner stopped by SIGTERM with `on_stop: close` left no live position in the
    database and nothing on its venues (within one size step)."""
    lines: list[str] = []
    try:
        async with st.engine.connect() as conn:
            live = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM positions WHERE account_name = :a AND status IN "
                        "('opening', 'open', 'closing')"
                    ),
                    {"a": runner.account},
                )
            ).scalar_one()
    except Exception as exc:  # the database restarting (another fault): not judged
        log.info("on_stop check of runner %d skipped: %s", runner.index, type(exc).__name__)
        return
    if live:
        lines.append(f"{runner.account}: {live} live position(s) after a SIGTERM with on_stop: close")
    account = st.accounts[runner.index]
    views = await inv.account_views(account, st.plan.symbol, st.since)
    if views is None:
        st.report.checks_skipped += 1
    else:
        for venue, view in views.items():
            qty = view.positions.get(st.plan.symbol, Decimal(0))
            if abs(qty) > view.size_step:
                lines.append(f"{runner.account} {venue}: position {qty} after a SIGTERM with on_stop: close")
    st.report.add_violations("on_stop_close_honoured", lines)
    st.mark("check", "on_stop close", bool(lines))
    for line in lines:
        log.warning("soak invariant on_stop_close_honoured: %s", line)


async def _process_fault(st: SoakState, ev: ChaosEvent, rng: random.Random) -> None:
    p = ev.params
    if ev.kind == "sigkill":
        r = await _alive_runner(st, ev.target if isinstance(ev.target, int) else None, rng)
        if r is None:
            st.missed(ev.kind, "no runner alive")
            return
        await _kill(st, r, signal.SIGKILL, ev.kind, float(p["restart_after_seconds"]))
    elif ev.kind == "sigterm_close":
        r = await _alive_runner(
            st,
            ev.target if isinstance(ev.target, int) else None,
            rng,
            lambda r: load_config(r.config_path).on_stop == "close",
        )
        if r is None:
            st.missed(ev.kind, "no runner with on_stop: close alive")
            return
        await _kill(st, r, signal.SIGTERM, ev.kind, float(p["restart_after_seconds"]))
    elif ev.kind == "sigkill_between_legs":
        st.arm_between_legs.append(ev)  # fired by the market driver at the next "on" phase
    elif ev.kind == "lease_kill":
        deadline = time.monotonic() + TARGET_WAIT_SECONDS
        holders: list[int] = []
        r = None
        while not holders and time.monotonic() < deadline and not st.stopping:
            r = await _alive_runner(st, ev.target if isinstance(ev.target, int) else None, rng)
            if r is not None:
                try:
                    holders = [b for b, pid, _label in await inv.lease_holders(st.engine) if pid == r.pid]
                except Exception as exc:  # the database restarting (another fault): look again
                    log.info("lease_kill: %s", type(exc).__name__)
            if not holders:
                await asyncio.sleep(0.5)
        if r is None or not holders:
            st.missed(ev.kind, "no runner holding a lease")
            return
        async with st.engine.connect() as conn:
            for backend in holders:
                await conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": backend})
        st.fault(ev.kind, f"runner {r.index} backend {holders}")
        st.pending_restart_cause.setdefault(r.index, ev.kind)
    elif ev.kind == "db_restart":
        st.db_down = True
        try:
            if st.db.pgdata is not None:
                st.fault(ev.kind, "embedded PostgreSQL stopped")
                await asyncio.to_thread(st.db.stop)
                await asyncio.sleep(float(p["down_seconds"]))
                await asyncio.to_thread(st.db.start)
            else:  # an external server is not ours to restart: drop every other session instead
                async with st.engine.connect() as conn:
                    await conn.execute(
                        text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                            "AND datname = current_database() AND backend_type = 'client backend'"
                        )
                    )
                st.fault(ev.kind, "every other session of the external database terminated")
            await st.engine.dispose()
        finally:
            st.db_down = False


async def _between_legs(st: SoakState, ev: ChaosEvent) -> None:
    """Slow the second venue of every arbitrage pair, then SIGKILL the first funding-arbitrage runner seen with an
    entry in flight (a position `opening`), and restart it."""
    for second in dict.fromkeys(pair[1] for pair in st.plan.pairs):
        try:
            await st.admin.call(second, "/_sim/faults", {"latency_seconds": 1.5, "count": 200})
        except (SoakVenueError, aiohttp.ClientError, OSError) as exc:
            log.warning("between legs: %s", exc)
    deadline = time.monotonic() + float(ev.params["watch_seconds"])
    # an entry IN FLIGHT: begun while watched. A position left `opening` by an earlier kill is a recovery in
    # progress (the restarted runner completes or unwinds it), not an entry: killing that runner again would only
    # keep the leg naked for as long as the schedule keeps killing it (seed 1 of the five-venue soak did, twice).
    watch_from = datetime.now(timezone.utc)
    by_name = {r.account: r for r in st.runners}
    try:
        while time.monotonic() < deadline and not st.stopping:
            try:
                async with st.engine.connect() as conn:
                    rows = (
                        await conn.execute(
                            text(
                                "SELECT DISTINCT account_name FROM positions WHERE status = 'opening' AND "
                                "account_name = ANY(:a) AND created_at >= :since"
                            ),
                            {"a": [a.name for a in st.accounts if a.strategy == FA], "since": watch_from},
                        )
                    ).all()
            except Exception as exc:  # the database restarting (another fault): look again
                log.info("between legs: %s", type(exc).__name__)
                await asyncio.sleep(0.5)
                continue
            for (name,) in rows:
                r = by_name[name]
                if r.alive and not r.held:
                    await _kill(st, r, signal.SIGKILL, ev.kind, float(ev.params["restart_after_seconds"]))
                    return
            await asyncio.sleep(0.05)
        st.missed(ev.kind, "no entry in flight while watched")
    finally:
        for second in dict.fromkeys(pair[1] for pair in st.plan.pairs):
            try:
                await st.admin.call(second, "/_sim/faults", {"clear": True})
            except (SoakVenueError, aiohttp.ClientError, OSError) as exc:
                log.warning("between legs: %s", exc)


async def _fire(st: SoakState, ev: ChaosEvent, rng: random.Random) -> None:
    try:
        if ev.kind in ("sigkill", "sigterm_close", "sigkill_between_legs", "lease_kill", "db_restart"):
            await _process_fault(st, ev, rng)
        else:
            await _venue_fault(st, ev)
    except (SoakVenueError, aiohttp.ClientError, OSError, PerparbError) as exc:
        st.missed(ev.kind, f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # a fault that fails must not end the soak: it is reported as not injected
        log.exception("fault %s failed", ev.kind)
        st.missed(ev.kind, f"{type(exc).__name__}: {exc}")


# ---------------------------------------------------------------------------------------------- watching


async def _watch_db(st: SoakState) -> None:
    """Entries / exits (funding-arbitrage positions opened / closed) onto the timeline; a database latency probe."""
    names = [a.name for a in st.accounts]
    began = time.perf_counter()
    async with st.engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT id, opened_at IS NOT NULL, closed_at IS NOT NULL FROM positions "
                    "WHERE account_name = ANY(:a) AND long_venue <> short_venue"
                ),
                {"a": names},
            )
        ).all()
    st.report.db_latency_ms.append((time.perf_counter() - began) * 1000)
    for pid, opened, closed in rows:
        if opened and pid not in st.seen_opened:
            st.seen_opened.add(pid)
            st.mark("entry", f"position {pid}")
        if closed and pid not in st.seen_closed:
            st.seen_closed.add(pid)
            st.mark("exit", f"position {pid}")


async def _probe_venues(st: SoakState) -> None:
    """One timed signed REST read (the account balance) per venue through a soak account's client: the venue
    latency under load, as a runner sees it."""
    seen: set[str] = set()
    for account in st.accounts:
        for venue, client in account.clients.items():
            if venue in seen:
                continue
            seen.add(venue)
            began = time.perf_counter()
            try:
                await asyncio.wait_for(client.get_account_balance(), 10)
            except (PerparbError, asyncio.TimeoutError, OSError):
                continue
            st.report.venue_latency_ms.append((time.perf_counter() - began) * 1000)


async def _naked_legs(st: SoakState, final: bool) -> list[str]:
    """Imbalances of funding-arbitrage accounts that outlived the settle window (or any, at the end)."""
    out = []
    now = time.monotonic()
    for account in st.accounts:
        if account.strategy != FA:
            continue
        read = await inv.account_net_delta(account, st.plan.symbol)
        if read is None:
            st.report.checks_skipped += 1
            continue
        net, step = read
        if abs(net) <= step:
            _balanced(st, account.name, now)
            continue
        seen = st.imbalances.setdefault(account.name, _Imbalance(now, net))
        if not final and account.name not in st.focused:
            st.focused.add(account.name)
            st.spawn(_focus(st, account))
        # the settle window runs while the account's runner is up: a process a fault has killed (again) cannot
        # re-balance, so the window starts over at its restart; the report's worst re-balance keeps the whole span
        runner = st.runners[account.index]
        judged_from = max(seen.since, runner.started_at)
        if final or (runner.alive and now - judged_from > SETTLE_WINDOW_SECONDS):
            out.append(
                f"{account.name}: net delta {net} (step {step}) for {now - seen.since:.0f} s, its runner up "
                f"{now - runner.started_at:.0f} s"
            )
            seen.since = now  # counted once per settle window
    return out


def _balanced(st: SoakState, name: str, now: float) -> None:
    """Account `name` was seen balanced at `now`: its imbalance (if any) ended; the worst re-balance time is kept."""
    gone = st.imbalances.pop(name, None)
    if gone is not None:
        took = now - gone.since
        worst = st.report.worst_rebalance_seconds
        st.report.worst_rebalance_seconds = took if worst is None else max(worst, took)


async def _focus(st: SoakState, account: inv.SoakAccount) -> None:
    """Read an imbalanced account every `FOCUS_EVERY_SECONDS` until it is seen balanced (or the soak stops)."""
    try:
        while not (st.stopping or st.settling) and account.name in st.imbalances:
            await asyncio.sleep(FOCUS_EVERY_SECONDS)
            if st.db_down:
                continue
            read = await inv.account_net_delta(account, st.plan.symbol)
            if read is None:  # a venue fault: look again
                continue
            net, step = read
            if abs(net) <= step:
                _balanced(st, account.name, time.monotonic())
    finally:
        st.focused.discard(account.name)


async def _continuous_checks(st: SoakState) -> None:
    if st.db_down:
        return
    names = [a.name for a in st.accounts]
    alive = {r.pid for r in st.runners if r.alive and r.pid is not None}
    found: dict[str, list[str]] = {
        "no_duplicate_position": await inv.duplicate_positions(st.engine, names),
        "liveness": await inv.liveness(st.engine, names, alive, final=False),
        "lease_not_held_by_dead": await st.lease_watch.check(st.engine),
        "no_naked_leg": await _naked_legs(st, final=False),
    }
    bad = False
    for name, lines in found.items():
        st.report.add_violations(name, lines)
        bad = bad or bool(lines)
        for line in lines:
            log.warning("soak invariant %s: %s", name, line)
    st.report.checks += 1
    st.mark("check", "continuous", bad)


async def _end_checks(st: SoakState, vault: Vault) -> None:
    names = [a.name for a in st.accounts]
    st.report.add_violations("no_duplicate_position", await inv.duplicate_positions(st.engine, names))
    st.report.add_violations("liveness", await inv.liveness(st.engine, names, set(), final=True))
    st.report.add_violations("lease_not_held_by_dead", await st.lease_watch.check(st.engine))
    st.report.add_violations("no_naked_leg", await _naked_legs(st, final=True))
    for account in st.accounts:
        views = None
        for _attempt in range(5):
            views = await inv.account_views(account, st.plan.symbol, st.since - timedelta(minutes=5))
            if views is not None:
                break
            await asyncio.sleep(2)
        if views is None:
            st.report.add_violations(
                "positions_match", [f"{account.name}: the venues did not answer the final read"]
            )
            continue
        for name, lines in (await inv.account_end_checks(st.engine, account, views, st.plan.symbol)).items():
            st.report.add_violations(name, lines)
    st.report.add_violations("db_check", await asyncio.to_thread(inv.db_check, st.db.url))
    st.report.add_violations("vault_decrypts", await inv.vault_decrypts(st.engine, vault, names))
    async with st.engine.connect() as conn:
        purpose_rows = (
            await conn.execute(
                text("SELECT purpose, count(*) FROM orders WHERE account_name = ANY(:a) GROUP BY purpose"),
                {"a": names},
            )
        ).all()
        purposes: dict[str, int] = {str(p): int(n) for p, n in purpose_rows}
        grid_fills = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM fills f JOIN orders o ON o.id = f.order_id "
                    "WHERE o.account_name = ANY(:a) AND o.purpose = 'grid'"
                ),
                {"a": names},
            )
        ).scalar_one()
        order_ms = (
            await conn.execute(
                text(
                    "SELECT extract(epoch FROM updated_at - created_at) * 1000 FROM orders WHERE account_name = ANY(:a) "
                    "AND sent_at IS NOT NULL AND lower(time_in_force) = 'ioc' AND status IN ('filled', 'canceled', 'rejected')"
                ),
                {"a": names},
            )
        ).all()
    st.report.order_latency_ms = [float(ms) for (ms,) in order_ms]
    st.report.hedges = int(purposes.get("hedge", 0))
    st.report.unwinds = int(purposes.get("unwind", 0))
    st.report.rehedges = int(purposes.get("rehedge", 0))
    st.report.grid_fills = int(grid_fills)
    st.report.entries = len(st.seen_opened)
    st.report.exits = len(st.seen_closed)
    st.report.checks += 1
    st.mark("check", "final", any(st.report.invariants.values()))
    for name in inv.INVARIANTS:
        st.report.invariants.setdefault(name, 0)
    st.report.invariants = {name: st.report.invariants[name] for name in inv.INVARIANTS}


# ---------------------------------------------------------------------------------------------- main loop


def _reap_and_restart(st: SoakState) -> None:
    now = time.monotonic()
    for r in st.runners:
        code = r.reap(now)
        if code is not None and not st.stopping:
            cause = st.pending_restart_cause.get(r.index, f"exit {code}")
            st.pending_restart_cause.setdefault(r.index, cause)
            if r.restart_at is None:
                r.restart_at = now + RESTART_DELAY_SECONDS
            log.info("soak t=%.1f runner %d exited %d (%s)", st.t(), r.index, code, cause)
        if (
            not st.stopping
            and not r.alive
            and not r.held
            and r.restart_at is not None
            and now >= r.restart_at
        ):
            cause = st.pending_restart_cause.pop(r.index, "exit")
            st.report.restarts_by_cause[cause] = st.report.restarts_by_cause.get(cause, 0) + 1
            st.mark("restart", cause)
            r.start()
        elif not st.stopping and not r.alive and not r.held and r.restart_at is None and r.proc is None:
            r.restart_at = now + RESTART_DELAY_SECONDS  # released by a fault (killed earlier): restart soon


async def run_soak(
    plan: SoakPlan,
    *,
    database_url: str | None = None,
    workdir: Path | None = None,
    progress: Callable[[float, float], None] | None = None,
    png: Path | None = None,
) -> SoakReport:
    """Run the soak of `plan` (see the module docstring) and return its report.

    Args:
        database_url: an external PostgreSQL (asyncpg URL) shared by every process; None = an embedded server in
            the work folder, which the `db_restart` fault stops and starts.
        workdir: where configs, logs, the embedded database and the PNG go (default: a new /tmp/ppsoak* folder:
            the embedded server's socket path must stay short).
        progress: called with (elapsed wall seconds, total) about every second.
        png: where to write the timeline (default: `workdir/timeline.png`).

    Raises:
        SoakProcessError: the simulator did not start. SoakVenueError: the simulator refused a set-up call.
        DatabaseError / DatabaseConfigError: the database cannot be reached or started.
    """
    workdir = workdir or Path(tempfile.mkdtemp(prefix="ppsoak", dir="/tmp"))
    workdir.mkdir(parents=True, exist_ok=True)
    report = SoakReport(
        plan.seed, plan.accounts, plan.simulated_hours, list(plan.venues), plan.speed, workdir=str(workdir)
    )
    began = time.monotonic()
    handler = logging.FileHandler(workdir / "soak.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    root.handlers = [
        handler
    ]  # the soak's own clients and its lines go to soak.log; the report goes to stdout
    root.setLevel(logging.INFO)
    # SIGTERM cancels the soak like Ctrl-C: the clean-up below stops every runner, the simulator and the embedded
    # database instead of leaving them orphaned
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    if task is not None:
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await _run_soak(plan, report, workdir, began, database_url, progress, png)
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        root.handlers = saved_handlers
        root.setLevel(saved_level)
        handler.close()


async def _run_soak(
    plan: SoakPlan,
    report: SoakReport,
    workdir: Path,
    began: float,
    database_url: str | None,
    progress: Callable[[float, float], None] | None,
    png: Path | None,
) -> SoakReport:
    db = await asyncio.to_thread(Database.open, database_url, workdir)
    await asyncio.to_thread(migrate.upgrade, db.url)
    engine = create_engine(db.url)
    vault = Vault.from_key(new_key())
    master = encode_key(vault.keys[vault.current_id])
    base_env = child_env(db.url, master, {}, workdir)
    sim = await asyncio.to_thread(
        SimProcess.start, DEMO_SCENARIO, list(plan.venues), plan.speed, workdir, base_env
    )
    runners: list[Runner] = []
    try:
        async with aiohttp.ClientSession() as http:
            sim_venues = {v: SimVenue(v, sim.urls[v].rstrip("/"), root_of(sim.urls[v])) for v in plan.venues}
            admin = SimAdminClient(http, sim_venues)
            await admin.discover(plan.symbol)
            st = SoakState(plan, report, engine, admin, runners, [], db)
            await _set_phase(st, 0)
            mark = await _align_marks(st)
            env = child_env(db.url, master, {v: sim.urls[v] for v in plan.venues}, workdir)
            token = secrets.token_hex(3)
            await _provision(st, plan, vault, workdir, token, mark, env)
            st.since = datetime.now(timezone.utc) - timedelta(seconds=5)
            try:
                await _drive(st, vault, progress)
            finally:
                st.stopping = True
                for task in list(st.tasks):
                    task.cancel()
                await asyncio.gather(*st.tasks, return_exceptions=True)
                await asyncio.gather(*(asyncio.to_thread(r.stop) for r in runners))
                for account in st.accounts:
                    for client in account.clients.values():
                        try:
                            await client.disconnect()
                        except Exception:  # a client that cannot disconnect cleanly must not hide the report
                            log.exception("disconnecting a soak client")
    finally:
        for r in runners:
            r.stop(10)
            r.close()
        sim.stop()
        await engine.dispose()
        if db.pgdata is not None:
            await asyncio.to_thread(db.stop)
    report.wall_seconds = time.monotonic() - began
    report.timeline_png = str(plot_timeline(report, png or workdir / "timeline.png"))
    return report


async def _drive(st: SoakState, vault: Vault, progress: Callable[[float, float], None] | None) -> None:
    plan = st.plan
    rng = random.Random(plan.seed ^ 0x5EED)
    schedule = chaos_schedule(plan)
    phases = funding_phases(plan)
    st.started = time.monotonic()
    for r in st.runners:
        r.start()
    next_check = CHECK_EVERY_SECONDS
    next_watch = 0.0
    total = plan.wall_seconds
    while st.t() < total:
        t = st.t()
        while phases and phases[0][0] <= t:
            _at, direction = phases.pop(0)
            if direction != 0 and st.arm_between_legs:
                st.spawn(_between_legs(st, st.arm_between_legs.pop(0)))
                await asyncio.sleep(0.3)
            await _set_phase(st, direction)
        while schedule and schedule[0].at <= t:
            st.spawn(_fire(st, schedule.pop(0), rng))
        _reap_and_restart(st)
        if t >= next_watch and not st.db_down:
            next_watch = t + 2.0
            try:
                await _watch_db(st)
                await _probe_venues(st)
            except Exception as exc:  # the database restarting under the watch: skip this round
                log.info("soak watch skipped: %s", type(exc).__name__)
        if t >= next_check:
            next_check = t + CHECK_EVERY_SECONDS
            try:
                await _continuous_checks(st)
            except Exception as exc:  # the database restarting under the check: skip this round
                st.report.checks_skipped += 1
                log.info("soak check skipped: %s", type(exc).__name__)
        if progress is not None:
            progress(st.t(), total + plan.settle_seconds)
        await asyncio.sleep(0.2)
    # settle: faults cleared, no spread (positions exit), every runner alive, then stopped
    for ev in st.arm_between_legs:
        st.missed(ev.kind, "no entry phase left")
    st.arm_between_legs.clear()
    st.settling = True  # focused reads end: the end checks judge what is left
    await asyncio.gather(*st.tasks, return_exceptions=True)
    for venue in plan.venues:
        for path, body in (
            ("/_sim/faults", {"clear": True}),
            ("/_sim/engine/faults", {"clear": True}),
            ("/_sim/venue/up", {}),
        ):
            try:
                await st.admin.call(venue, path, body)
            except (SoakVenueError, aiohttp.ClientError, OSError) as exc:
                log.warning("clearing faults: %s", exc)
    await _set_phase(st, 0)
    settle_end = time.monotonic() + plan.settle_seconds
    while time.monotonic() < settle_end:
        _reap_and_restart(st)
        if progress is not None:
            progress(st.t(), total + plan.settle_seconds)
        await asyncio.sleep(0.5)
    st.stopping = True
    await asyncio.gather(*(asyncio.to_thread(r.stop) for r in st.runners))
    st.mark("check", "runners stopped")
    await _watch_db(st)
    await _end_checks(st, vault)
