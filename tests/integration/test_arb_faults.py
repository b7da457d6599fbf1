"""The fault matrix of the two-leg entry (issue #6): after each fault, no naked leg (|net delta| below the
smallest tradeable size), at most one live position, the database agrees with the venues, no order left
unresolved and none resting.

The matrix runs over pairs of simulated venues (`PAIRS`: Lighter / Paradex, then Aster and Backpack (issue #17)
and Hyperliquid (issue #13) each as either leg):
the first of a pair is the long leg, the second the short leg ("second leg" below). Faults come from the
simulator: engine `reject_next` / `fill_fraction`, HTTP status and latency faults aimed at each venue's order
placement path, WebSocket drops; and a real SIGKILL of a child process between the two legs.
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
    VENUE_KIT,
    admin,
    eth_position,
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
PAIRS = [
    ("lighter", "paradex"),
    ("aster", "paradex"),
    ("lighter", "aster"),
    ("backpack", "paradex"),
    ("lighter", "backpack"),
    ("hyperliquid", "paradex"),
    ("lighter", "hyperliquid"),
]
"""(long venue, short venue): the original pair, then Aster, Backpack and Hyperliquid each as the long and as the
short leg."""


@pytest.fixture(params=PAIRS, ids=["-".join(p) for p in PAIRS])
def pair(request: pytest.FixtureRequest) -> tuple[str, str]:
    long_venue, short_venue = request.param
    return long_venue, short_venue


@pytest_asyncio.fixture
async def sim(pair: tuple[str, str]) -> AsyncIterator[SimulatorHandle]:
    long_venue, short_venue = pair
    async with await start_simulator(DEMO_SCENARIO, push_interval_seconds=0.1, venues=list(pair)) as handle:
        for venue in pair:
            await set_market(handle, venue, VENUE_KIT[venue].eth, mark="3636")
            await set_market(handle, venue, VENUE_KIT[venue].eth, mark="3600")
        await set_market(handle, long_venue, VENUE_KIT[long_venue].eth, rate_hourly="-0.0005")
        await set_market(handle, short_venue, VENUE_KIT[short_venue].eth, rate_hourly="0.0005")
        yield handle


@pytest.fixture(scope="module")
def vault() -> Vault:
    return test_vault()


def acct(base: str, pair: tuple[str, str]) -> str:
    """The test's account name for this pair (account names are unique in the shared database)."""
    return f"{base}-{pair[0]}-{pair[1]}"


def pair_config(pair: tuple[str, str], **cfg: Any) -> Any:
    return config(venues=list(pair), **cfg)


async def venue_state(sim: SimulatorHandle, ids: dict[str, Any], pair: tuple[str, str]) -> dict[str, Any]:
    (lq, lo), (sq, so) = [await eth_position(sim, v, ids) for v in pair]
    return {"long_qty": lq, "short_qty": sq, "long_open_orders": lo, "short_open_orders": so}


async def assert_safe(
    engine: AsyncEngine, sim: SimulatorHandle, ids: dict[str, Any], account: str, pair: tuple[str, str]
) -> Any:
    """The invariants every fault must leave; returns the live position (or None)."""
    venues = await venue_state(sim, ids, pair)
    lq, pq = venues["long_qty"], venues["short_qty"]
    tolerance = max(VENUE_KIT[v].eth_min_size for v in pair)  # the larger of the two markets' minimum sizes
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
            pair_config(pair, **cfg),
            account,
            engine=engine,
            vault=vault,
            settings=sim_settings(sim, venues=pair),
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


async def test_second_leg_rejected_is_hedged(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle, pair: tuple[str, str]
) -> None:
    long_v, short_v = pair
    ids = await sim_account(engine, vault, sim, acct("f-reject", pair), venues=pair)
    await admin(sim, short_v, "/_sim/engine/faults", {"reject_next": 1})
    await run_once(engine, vault, sim, acct("f-reject", pair), pair)
    p = await assert_safe(engine, sim, ids, acct("f-reject", pair), pair)
    assert p is not None and p.quantity == p.target_quantity
    rows = await orders_of(engine, acct("f-reject", pair))
    assert [(r.venue, r.purpose, r.status) for r in rows] == [
        (long_v, "entry", "filled"),
        (short_v, "entry", "rejected"),
        (short_v, "hedge", "filled"),
    ]
    assert all(r.sent_at is not None for r in rows)  # each order's send time is recorded with its outcome


async def test_second_leg_rejected_and_hedge_fails_unwinds_the_first(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle, pair: tuple[str, str]
) -> None:
    long_v, short_v = pair
    ids = await sim_account(engine, vault, sim, acct("f-unwind", pair), venues=pair)
    await admin(sim, short_v, "/_sim/engine/faults", {"reject_next": 3})  # entry + both hedge attempts
    await run_once(engine, vault, sim, acct("f-unwind", pair), pair, execution={"hedge_attempts": 2})
    assert await assert_safe(engine, sim, ids, acct("f-unwind", pair), pair) is None
    rows = await orders_of(engine, acct("f-unwind", pair))
    assert [(r.venue, r.purpose, r.status) for r in rows] == [
        (long_v, "entry", "filled"),
        (short_v, "entry", "rejected"),
        (short_v, "hedge", "rejected"),
        (short_v, "hedge", "rejected"),
        (long_v, "unwind", "filled"),
    ]
    async with engine.connect() as conn:
        (p,) = (
            await conn.execute(
                select(state.POSITIONS).where(state.POSITIONS.c.account_name == acct("f-unwind", pair))
            )
        ).all()
    assert (p.status, p.exit_reason) == ("failed", "entry_failed")
    # the unwind cost only the spread crossed: fees + basis of the round trip on the long venue
    assert p.realized_pnl == p.basis_pnl - p.fees and p.basis_pnl <= 0


async def test_second_leg_partially_filled_is_topped_up(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle, pair: tuple[str, str]
) -> None:
    _long_v, short_v = pair
    ids = await sim_account(engine, vault, sim, acct("f-partial", pair), venues=pair)
    await admin(sim, short_v, "/_sim/engine/faults", {"fill_fraction": "0.5", "fill_fraction_count": 1})
    await run_once(engine, vault, sim, acct("f-partial", pair), pair)
    p = await assert_safe(engine, sim, ids, acct("f-partial", pair), pair)
    assert p is not None and p.quantity == p.target_quantity
    rows = await orders_of(engine, acct("f-partial", pair))
    entry = next(r for r in rows if r.venue == short_v and r.purpose == "entry")
    hedge = [r for r in rows if r.venue == short_v and r.purpose == "hedge"]
    assert entry.filled_quantity < entry.quantity and entry.status == "canceled"
    assert sum(r.filled_quantity for r in hedge) + entry.filled_quantity == p.quantity


async def test_websocket_dropped_during_entry(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle, pair: tuple[str, str]
) -> None:
    long_v, short_v = pair
    ids = await sim_account(engine, vault, sim, acct("f-ws", pair), venues=pair)
    # slow the first leg's placement so the drop lands while the entry is in flight
    await admin(
        sim,
        long_v,
        "/_sim/faults",
        {
            "latency_seconds": 0.8,
            "count": 1,
            "method": "POST",
            "path": VENUE_KIT[long_v].order_path,
            "skip": VENUE_KIT[long_v].posts_before_entry,
        },
    )
    task = asyncio.create_task(run_once(engine, vault, sim, acct("f-ws", pair), pair))

    async def entering() -> bool:
        assert not task.done(), task
        return any(r.purpose == "entry" for r in await orders_of(engine, acct("f-ws", pair)))

    await until(entering, 30, "entry orders written")
    await admin(sim, long_v, "/_sim/ws/faults", {"drop_connections": True})
    await admin(sim, short_v, "/_sim/ws/faults", {"drop_connections": True})
    await task
    await assert_safe(engine, sim, ids, acct("f-ws", pair), pair)


async def test_http_5xx_during_the_hedge_never_doubles(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle, pair: tuple[str, str]
) -> None:
    _long_v, short_v = pair
    ids = await sim_account(engine, vault, sim, acct("f-5xx", pair), venues=pair)
    await admin(sim, short_v, "/_sim/engine/faults", {"reject_next": 1})  # entry rejected -> hedge
    # the hedge placement (second placement on the short venue) and the client's retry both answer 500
    await admin(
        sim,
        short_v,
        "/_sim/faults",
        {
            "http_status": 500,
            "count": 2,
            "method": "POST",
            "path": VENUE_KIT[short_v].order_path,
            "skip": 1 + VENUE_KIT[short_v].posts_before_entry,
        },
    )
    await run_once(engine, vault, sim, acct("f-5xx", pair), pair)
    assert sim.faults(short_v).status_fault is None  # both 500s were answered (the hedge and its retry)
    p = await assert_safe(engine, sim, ids, acct("f-5xx", pair), pair)
    assert p is not None and p.quantity == p.target_quantity
    venues = await venue_state(sim, ids, pair)
    assert -venues["short_qty"] == p.quantity  # the hedge was never doubled
    rows = await orders_of(engine, acct("f-5xx", pair))
    short_rows = [(r.purpose, r.status) for r in rows if r.venue == short_v]
    assert short_rows[0] == ("entry", "rejected") and short_rows[-1] == ("hedge", "filled")
    assert sum(r.filled_quantity for r in rows if r.venue == short_v) == p.quantity


async def test_sigkill_between_the_legs_then_restart_recovers(
    engine: AsyncEngine,
    db_url: str,
    vault: Vault,
    sim: SimulatorHandle,
    tmp_path: Path,
    pair: tuple[str, str],
) -> None:
    long_v, short_v = pair
    ids = await sim_account(engine, vault, sim, acct("f-kill", pair), venues=pair)
    cfg_path = tmp_path / "arb.yaml"
    cfg_path.write_text(yaml.safe_dump(pair_config(pair).model_dump(mode="json")))
    # the short leg's placement hangs 3 s at the venue; the long leg fills at once
    await admin(
        sim,
        short_v,
        "/_sim/faults",
        {
            "latency_seconds": 3,
            "count": 1,
            "method": "POST",
            "path": VENUE_KIT[short_v].order_path,
            "skip": VENUE_KIT[short_v].posts_before_entry,
        },
    )
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "PERPARB_MASTER_KEY": master_key_text(vault),
        "PERPARB_HTTP_TIMEOUT_SECONDS": "10",
        **{f"PERPARB_{v.upper()}_URL": sim.url(v) for v in pair},
    }
    log_path = tmp_path / "child.log"
    with log_path.open("wb") as log:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.integration.arb_child",
            str(cfg_path),
            acct("f-kill", pair),
            cwd=PROJECT,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log,
        )
    try:

        async def between_legs() -> bool:
            assert child.returncode is None, log_path.read_text()[-3000:]
            rows = {(r.venue, r.purpose): r.status for r in await orders_of(engine, acct("f-kill", pair))}
            return rows.get((long_v, "entry")) == "filled" and rows.get((short_v, "entry")) == "pending"

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
    summary = await run_once(engine, vault, sim, acct("f-kill", pair), pair)
    p = await assert_safe(engine, sim, ids, acct("f-kill", pair), pair)
    assert p is not None  # recovered (hedged, or unwound and re-entered): a balanced open position
    async with engine.connect() as conn:
        runs = (
            await conn.execute(
                select(state.RUNS.c.id, state.RUNS.c.status)
                .where(state.RUNS.c.account_name == acct("f-kill", pair))
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
