"""The fault matrix of the two-leg entry (issue #6, and issue #13 with Hyperliquid as either leg): after each fault,
no naked leg (|net delta| below the smallest tradeable size), at most one live position, the database agrees with
the venues, no order left unresolved and none resting.

Every test runs for each venue pair of `PAIRS` (long leg, short leg): Lighter / Paradex, Hyperliquid / Paradex
(Hyperliquid the long leg) and Lighter / Hyperliquid (Hyperliquid the short leg, so the faults aimed at the "second
leg" hit it). The long venue's ETH rate is set to -0.0005 / h and the short venue's to +0.0005 / h, ETH pinned at
3600 on both. Faults come from the simulator: engine `reject_next` / `fill_fraction`, HTTP status and latency faults
aimed at order placement (each venue's placement path), WebSocket drops; and a real SIGKILL of a child process
between the two legs.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from database.vault import Vault
from simulator.server import DEMO_SCENARIO, SimulatorHandle, start_simulator
from strategies import state
from strategies.runner import RunOptions, run_strategy
from tests.conftest import PROJECT
from tests.integration.strategy_support import (
    admin,
    master_key_text,
    set_market,
    sim_account,
    sim_settings,
    test_vault,
    until,
)
from tests.integration.test_funding_arbitrage import config

pytestmark = pytest.mark.integration

D = Decimal
MARKET = {"lighter": "ETH", "paradex": "ETH-USD-PERP", "hyperliquid": "ETH"}  # each venue's ETH market
PLACEMENT = {"lighter": "/api/v1/sendTx", "paradex": "/v1/orders", "hyperliquid": "/exchange"}
# POSTs to that path a run makes before its first entry order: Hyperliquid's leverage change is an action too
# (`updateLeverage`, sent once per market before the first entry); the faults aimed at a placement skip them
BEFORE_ENTRY = {"lighter": 0, "paradex": 0, "hyperliquid": 1}
# the smallest tradeable ETH size on each venue of the demo (Lighter min_base_amount 0.0028; Paradex and
# Hyperliquid: their size step 0.0001, the $10 minimum being a value, not a size)
MIN_SIZE = {"lighter": D("0.0028"), "paradex": D("0.0001"), "hyperliquid": D("0.0001")}
ADDRESS = {"lighter": "lighter_account", "paradex": "paradex_address", "hyperliquid": "hyperliquid_address"}
PAIRS = [("lighter", "paradex"), ("hyperliquid", "paradex"), ("lighter", "hyperliquid")]


@pytest.fixture(params=PAIRS, ids=lambda p: f"{p[0]}-long/{p[1]}-short")
def pair(request: pytest.FixtureRequest) -> tuple[str, str]:
    long, short = request.param
    return long, short


@pytest_asyncio.fixture
async def sim(pair: tuple[str, str]) -> AsyncIterator[SimulatorHandle]:
    long, short = pair
    async with await start_simulator(DEMO_SCENARIO, push_interval_seconds=0.1) as handle:
        for venue in pair:
            await set_market(handle, venue, MARKET[venue], mark="3636")
            await set_market(handle, venue, MARKET[venue], mark="3600")
        await set_market(handle, long, MARKET[long], rate_hourly="-0.0005")
        await set_market(handle, short, MARKET[short], rate_hourly="0.0005")
        yield handle


@pytest.fixture(scope="module")
def vault() -> Vault:
    return test_vault()


async def venue_state(sim: SimulatorHandle, ids: dict[str, Any], pair: tuple[str, str]) -> dict[str, Any]:
    """Signed ETH position and resting orders of the account on both venues of `pair` (the admin API's exact
    state): {"long_qty", "short_qty", "long_open_orders", "short_open_orders"}."""
    out: dict[str, Any] = {}
    for role, venue in zip(("long", "short"), pair, strict=True):
        view = await admin(sim, venue, f"/_sim/accounts/{ids[ADDRESS[venue]]}", method="GET")
        key = "symbol" if venue == "lighter" else "market"
        out[f"{role}_qty"] = sum((D(p["size"]) for p in view["positions"] if p[key] == MARKET[venue]), D(0))
        out[f"{role}_open_orders"] = view.get("open_orders", [])
    return out


async def assert_safe(
    engine: AsyncEngine, sim: SimulatorHandle, ids: dict[str, Any], account: str, pair: tuple[str, str]
) -> Any:
    """The invariants every fault must leave; returns the live position (or None)."""
    venues = await venue_state(sim, ids, pair)
    lq, pq = venues["long_qty"], venues["short_qty"]
    tolerance = max(MIN_SIZE[pair[0]], MIN_SIZE[pair[1]])
    assert abs(lq + pq) < tolerance, f"naked leg: {pair[0]} {lq}, {pair[1]} {pq}"
    assert venues["long_open_orders"] == [] and venues["short_open_orders"] == []
    async with engine.connect() as conn:
        live = await state.live_positions(conn, account, "live")
        unresolved = await state.open_orders(conn, account, "live")
    assert unresolved == [], unresolved
    assert len(live) <= 1, live
    if live:
        (p,) = live
        assert p.status == "open", p
        assert (p.long_venue, p.short_venue) == pair, p
        assert p.quantity == min(lq, -pq) and lq > 0 and pq < 0, (p, lq, pq)
        return p
    assert lq == 0 and pq == 0, (lq, pq)
    return None


async def run_once(
    engine: AsyncEngine,
    vault: Vault,
    sim: SimulatorHandle,
    account: str,
    pair: tuple[str, str],
    cycles: int = 1,
    **cfg: Any,
) -> Any:
    return await asyncio.wait_for(
        run_strategy(
            config(venues=list(pair), **cfg),
            account,
            engine=engine,
            vault=vault,
            settings=sim_settings(sim),
            options=RunOptions(max_cycles=cycles, interval_seconds=0.2),
        ),
        60,
    )


async def orders_of(engine: AsyncEngine, account: str) -> list[Any]:
    async with engine.connect() as conn:
        return (
            await conn.execute(
                select(state.ORDERS).where(state.ORDERS.c.account_name == account).order_by(state.ORDERS.c.id)
            )
        ).all()


def account_name(base: str, pair: tuple[str, str]) -> str:
    """One account per test and pair (the module's database is shared by every parametrisation)."""
    return f"{base}-{pair[0][:2]}{pair[1][:2]}"


async def test_second_leg_rejected_is_hedged(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle, pair: tuple[str, str]
) -> None:
    long, short = pair
    name = account_name("f-reject", pair)
    ids = await sim_account(engine, vault, sim, name, venues=pair)
    await admin(sim, short, "/_sim/engine/faults", {"reject_next": 1})
    await run_once(engine, vault, sim, name, pair)
    p = await assert_safe(engine, sim, ids, name, pair)
    assert p is not None and p.quantity == p.target_quantity
    rows = await orders_of(engine, name)
    assert [(r.venue, r.purpose, r.status) for r in rows] == [
        (long, "entry", "filled"),
        (short, "entry", "rejected"),
        (short, "hedge", "filled"),
    ]
    assert all(r.sent_at is not None for r in rows)  # each order's send time is recorded with its outcome


async def test_second_leg_rejected_and_hedge_fails_unwinds_the_first(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle, pair: tuple[str, str]
) -> None:
    long, short = pair
    name = account_name("f-unwind", pair)
    ids = await sim_account(engine, vault, sim, name, venues=pair)
    await admin(sim, short, "/_sim/engine/faults", {"reject_next": 3})  # entry + both hedge attempts
    await run_once(engine, vault, sim, name, pair, execution={"hedge_attempts": 2})
    assert await assert_safe(engine, sim, ids, name, pair) is None
    rows = await orders_of(engine, name)
    assert [(r.venue, r.purpose, r.status) for r in rows] == [
        (long, "entry", "filled"),
        (short, "entry", "rejected"),
        (short, "hedge", "rejected"),
        (short, "hedge", "rejected"),
        (long, "unwind", "filled"),
    ]
    async with engine.connect() as conn:
        (p,) = (
            await conn.execute(select(state.POSITIONS).where(state.POSITIONS.c.account_name == name))
        ).all()
    assert (p.status, p.exit_reason) == ("failed", "entry_failed")
    # the unwind cost only the spread crossed: fees + basis of the round trip on the long venue
    assert p.realized_pnl == p.basis_pnl - p.fees and p.basis_pnl <= 0


async def test_second_leg_partially_filled_is_topped_up(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle, pair: tuple[str, str]
) -> None:
    _long, short = pair
    name = account_name("f-partial", pair)
    ids = await sim_account(engine, vault, sim, name, venues=pair)
    await admin(sim, short, "/_sim/engine/faults", {"fill_fraction": "0.5", "fill_fraction_count": 1})
    await run_once(engine, vault, sim, name, pair)
    p = await assert_safe(engine, sim, ids, name, pair)
    assert p is not None and p.quantity == p.target_quantity
    rows = await orders_of(engine, name)
    entry = next(r for r in rows if r.venue == short and r.purpose == "entry")
    hedge = [r for r in rows if r.venue == short and r.purpose == "hedge"]
    assert entry.filled_quantity < entry.quantity and entry.status == "canceled"
    assert sum(r.filled_quantity for r in hedge) + entry.filled_quantity == p.quantity


async def test_websocket_dropped_during_entry(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle, pair: tuple[str, str]
) -> None:
    long, short = pair
    name = account_name("f-ws", pair)
    ids = await sim_account(engine, vault, sim, name, venues=pair)
    # slow the long leg's placement so the drop lands while the entry is in flight
    await admin(
        sim,
        long,
        "/_sim/faults",
        {
            "latency_seconds": 0.8,
            "count": 1,
            "method": "POST",
            "path": PLACEMENT[long],
            "skip": BEFORE_ENTRY[long],
        },
    )
    task = asyncio.create_task(run_once(engine, vault, sim, name, pair))

    async def entering() -> bool:
        assert not task.done(), task
        return any(r.purpose == "entry" for r in await orders_of(engine, name))

    await until(entering, 30, "entry orders written")
    await admin(sim, long, "/_sim/ws/faults", {"drop_connections": True})
    await admin(sim, short, "/_sim/ws/faults", {"drop_connections": True})
    await task
    await assert_safe(engine, sim, ids, name, pair)


async def test_http_5xx_during_the_hedge_never_doubles(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle, pair: tuple[str, str]
) -> None:
    _long, short = pair
    name = account_name("f-5xx", pair)
    ids = await sim_account(engine, vault, sim, name, venues=pair)
    await admin(sim, short, "/_sim/engine/faults", {"reject_next": 1})  # entry rejected -> hedge
    # the hedge placement (the second placement POST of the short venue) and the client's retry both answer 500
    await admin(
        sim,
        short,
        "/_sim/faults",
        {
            "http_status": 500,
            "count": 2,
            "method": "POST",
            "path": PLACEMENT[short],
            "skip": 1 + BEFORE_ENTRY[short],
        },
    )
    await run_once(engine, vault, sim, name, pair)
    assert sim.faults(short).status_fault is None  # both 500s were answered (the hedge and its retry)
    p = await assert_safe(engine, sim, ids, name, pair)
    assert p is not None and p.quantity == p.target_quantity
    venues = await venue_state(sim, ids, pair)
    assert -venues["short_qty"] == p.quantity  # the hedge was never doubled
    rows = await orders_of(engine, name)
    shorts = [(r.purpose, r.status) for r in rows if r.venue == short]
    assert shorts[0] == ("entry", "rejected") and shorts[-1] == ("hedge", "filled")
    assert sum(r.filled_quantity for r in rows if r.venue == short) == p.quantity


async def test_sigkill_between_the_legs_then_restart_recovers(
    engine: AsyncEngine,
    db_url: str,
    vault: Vault,
    sim: SimulatorHandle,
    tmp_path: Path,
    pair: tuple[str, str],
) -> None:
    long, short = pair
    name = account_name("f-kill", pair)
    ids = await sim_account(engine, vault, sim, name, venues=pair)
    cfg_path = tmp_path / "arb.yaml"
    cfg_path.write_text(yaml.safe_dump(config(venues=list(pair)).model_dump(mode="json")))
    # the short leg's placement hangs 3 s at the venue; the long leg fills at once
    await admin(
        sim,
        short,
        "/_sim/faults",
        {
            "latency_seconds": 3,
            "count": 1,
            "method": "POST",
            "path": PLACEMENT[short],
            "skip": BEFORE_ENTRY[short],
        },
    )
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "PERPARB_MASTER_KEY": master_key_text(vault),
        **{f"PERPARB_{venue.upper()}_URL": sim.url(venue) for venue in sim.venues},
        "PERPARB_HTTP_TIMEOUT_SECONDS": "10",
    }
    log_path = tmp_path / "child.log"
    with log_path.open("wb") as log:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.integration.arb_child",
            str(cfg_path),
            name,
            cwd=PROJECT,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log,
        )
    try:

        async def between_legs() -> bool:
            assert child.returncode is None, log_path.read_text()[-3000:]
            rows = {(r.venue, r.purpose): r.status for r in await orders_of(engine, name)}
            return rows.get((long, "entry")) == "filled" and rows.get((short, "entry")) == "pending"

        await until(between_legs, 40, "long leg filled, short leg in flight")
        child.send_signal(signal.SIGKILL)
        assert await asyncio.wait_for(child.wait(), 10) == -signal.SIGKILL
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    venues = await venue_state(sim, ids, pair)
    assert venues["long_qty"] > 0  # the long leg really is open at the venue
    await asyncio.sleep(3.5)  # let the delayed request reach the engine (or not) before restarting
    summary = await run_once(engine, vault, sim, name, pair)
    p = await assert_safe(engine, sim, ids, name, pair)
    assert p is not None  # recovered (hedged, or unwound and re-entered): a balanced open position
    async with engine.connect() as conn:
        runs = (
            await conn.execute(
                select(state.RUNS.c.id, state.RUNS.c.status)
                .where(state.RUNS.c.account_name == name)
                .order_by(state.RUNS.c.id)
            )
        ).all()
        events = (
            (await conn.execute(select(state.EVENTS.c.kind).where(state.EVENTS.c.run_id == summary.run_id)))
            .scalars()
            .all()
        )
    assert [s for _, s in runs] == ["crashed", "stopped"]
    assert "recover" in events
