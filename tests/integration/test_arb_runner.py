"""Runner and funding-arbitrage behaviour beyond the happy path: leases (a second run is refused naming the
holder), config errors found at start, on_stop close, drift re-hedged (not closed), post-only execution,
reconciliation at start (stray orders cancelled, unknown positions reported or closed)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from database.accounts import load_account
from database.vault import Vault
from exchange_clients.base.client import BaseExchangeClient
from exchange_clients.base.trading import OrderStatus, Side
from exchange_clients.registry import create_client
from perparb_core.errors import ConfigError
from simulator.server import SimulatorHandle
from strategies import state
from strategies.runner import RunError, RunOptions, run_strategy
from strategies.state import LeaseHeldError
from tests.configs import sim_config
from tests.integration import test_arb_faults as faults
from tests.integration.strategy_support import admin, set_market, sim_account, sim_settings, until
from tests.integration.test_arb_faults import assert_safe, orders_of, venue_state
from tests.integration.test_funding_arbitrage import config, positions

pytestmark = pytest.mark.integration

D = Decimal
PX = "ETH-USD-PERP"
sim = faults.sim  # the same fixtures: a fresh simulator per test, ETH pinned, rates set for an entry
vault = faults.vault
PAIR = ("lighter", "paradex")  # long / short leg of these tests (the fault matrix covers the other pairs)


@pytest.fixture
def pair() -> tuple[str, str]:
    """The runner tests keep the original pair: long Lighter, short Paradex (`faults.sim` asks for it)."""
    return PAIR


def background(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle, account: str, **cfg: Any
) -> tuple[asyncio.Task, asyncio.Event]:
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_strategy(
            config(**cfg),
            account,
            engine=engine,
            vault=vault,
            settings=sim_settings(sim),
            options=RunOptions(interval_seconds=0.2),
            stop=stop,
        )
    )
    return task, stop


async def second_client(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle, account: str, venue: str
) -> BaseExchangeClient:
    """Another client on the same account (a human at the venue's UI, as far as the strategy knows)."""
    creds = await load_account(engine, vault, account, touch=False)
    client = create_client(creds.venues[venue], sim_config(sim, venue), markets=["ETH"])
    await client.connect()
    return client


async def test_second_run_on_the_same_account_is_refused_naming_the_holder(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle
) -> None:
    await sim_account(engine, vault, sim, "r-lease")
    task, stop = background(engine, vault, sim, "r-lease", entry={"min_net_apr": 100})
    try:

        async def running() -> bool:
            assert not task.done(), task
            async with engine.connect() as conn:
                return bool(await state.run_ids_of(conn, "r-lease", "live"))

        await until(running, 20, "first run started")
        async with engine.connect() as conn:
            (first,) = await state.run_ids_of(conn, "r-lease", "live")
        await asyncio.sleep(0.3)  # the holder labels its lease connection right after creating the run
        with pytest.raises(
            LeaseHeldError,
            match=rf"account 'r-lease' \(live\) on lighter is already traded by run {first} on ",
        ):
            await run_strategy(config(), "r-lease", engine=engine, vault=vault, settings=sim_settings(sim))
        # paper runs take a separate lease: rehearsing never blocks the live account (and vice versa)
        lease = await state.Lease.acquire(engine, "r-lease", ["lighter", "paradex"], "paper")
        await lease.release()
    finally:
        stop.set()
        summary = await asyncio.wait_for(task, 20)
    assert summary.status == "stopped"
    async with engine.connect() as conn:
        left = (
            await conn.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE :label"),
                {"label": f"perparb run {first} %"},
            )
        ).scalar()
    assert left == 0  # the lease connection was closed for good, not parked in the pool with its label
    # once released, the account can be traded again
    lease = await state.Lease.acquire(engine, "r-lease", ["lighter", "paradex"], "live")
    await lease.release()


async def test_config_errors_at_start(engine: AsyncEngine, vault: Vault, sim: SimulatorHandle) -> None:
    with pytest.raises(RunError, match="unknown account 'nobody'"):
        await run_strategy(config(), "nobody", engine=engine, vault=vault, settings=sim_settings(sim))
    await sim_account(engine, vault, sim, "r-lighter-only", venues=("lighter",))
    with pytest.raises(RunError, match=r"account 'r-lighter-only' has no credentials for \['paradex'\]"):
        await run_strategy(config(), "r-lighter-only", engine=engine, vault=vault, settings=sim_settings(sim))
    await sim_account(engine, vault, sim, "r-lev")
    with pytest.raises(ConfigError, match=r"sizing\.leverage: 60 is above lighter's maximum 50 for ETH"):
        await run_strategy(
            config(sizing={"leverage": 60}), "r-lev", engine=engine, vault=vault, settings=sim_settings(sim)
        )
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(state.RUNS.c.status, state.RUNS.c.stop_reason).where(
                    state.RUNS.c.account_name == "r-lev"
                )
            )
        ).one()
    assert row.status == "failed" and "sizing.leverage: 60" in row.stop_reason


async def test_on_stop_close_flattens_both_legs(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle
) -> None:
    ids = await sim_account(engine, vault, sim, "r-close")
    task, stop = background(engine, vault, sim, "r-close", on_stop="close")
    try:

        async def opened() -> bool:
            assert not task.done(), task
            return any(p.status == "open" for p in await positions(engine, "r-close"))

        await until(opened, 30, "position open")
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    (p,) = await positions(engine, "r-close")
    assert (p.status, p.exit_reason) == ("closed", "stop")
    assert await assert_safe(engine, sim, ids, "r-close", PAIR) is None
    venues = await venue_state(sim, ids, PAIR)
    assert venues["long_qty"] == 0 and venues["short_qty"] == 0


async def test_drift_is_rehedged_not_closed(engine: AsyncEngine, vault: Vault, sim: SimulatorHandle) -> None:
    ids = await sim_account(engine, vault, sim, "r-drift")
    task, stop = background(engine, vault, sim, "r-drift")
    other = await second_client(engine, vault, sim, "r-drift", "paradex")
    try:

        async def opened() -> bool:
            assert not task.done(), task
            return any(p.status == "open" for p in await positions(engine, "r-drift"))

        await until(opened, 30, "position open")
        (p,) = await positions(engine, "r-drift")
        # someone buys back a third of the short leg at the venue: the legs drift apart by ~33 %
        await other.place_market_order(
            "ETH", Side.BUY, D("0.09"), max_slippage_bps=D(50), reduce_only=True, client_order_id="human-1"
        )

        async def rehedged() -> bool:
            assert not task.done(), task
            return any(
                r.purpose == "rehedge" and r.status == "filled" for r in await orders_of(engine, "r-drift")
            )

        await until(rehedged, 30, "drift re-hedged")
    finally:
        await other.disconnect()
        stop.set()
        await asyncio.wait_for(task, 30)
    (after,) = await positions(engine, "r-drift")
    assert after.status == "open" and after.quantity == p.quantity
    venues = await venue_state(sim, ids, PAIR)
    assert venues["long_qty"] == p.quantity and venues["short_qty"] == -p.quantity


async def test_post_only_entry(engine: AsyncEngine, vault: Vault, sim: SimulatorHandle) -> None:
    ids = await sim_account(engine, vault, sim, "r-maker")
    task, stop = background(
        engine, vault, sim, "r-maker", execution={"mode": "post_only", "post_only_timeout_seconds": 3}
    )
    try:

        async def resting() -> bool:
            assert not task.done(), task
            return len([r for r in await orders_of(engine, "r-maker") if r.purpose == "entry"]) == 2

        await until(resting, 30, "post-only entry orders written")
        await asyncio.sleep(0.5)
        # the market moves through both resting orders: Lighter down through our bid, Paradex up through our ask
        await set_market(sim, "lighter", "ETH", mark="3590")
        await set_market(sim, "paradex", PX, mark="3610")

        async def opened() -> bool:
            assert not task.done(), task
            return any(p.status in ("open", "failed") for p in await positions(engine, "r-maker"))

        await until(opened, 30, "entry finished")
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    rows = await orders_of(engine, "r-maker")
    entries = [r for r in rows if r.purpose == "entry"]
    assert {(r.order_type, r.time_in_force) for r in entries} == {("limit", "post_only")}
    assert any(r.filled_quantity > 0 for r in entries)
    await assert_safe(engine, sim, ids, "r-maker", PAIR)


async def test_start_cancels_stray_orders_and_reports_or_closes_unknown_positions(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle
) -> None:
    ids = await sim_account(engine, vault, sim, "r-recon")
    old = await state.create_run(
        engine,
        account="r-recon",
        strategy="funding_arbitrage",
        config_name="it-arb",
        config={},
        mode="live",
        venues=["lighter", "paradex"],
    )
    await state.finish_run(engine, old.id, "crashed", "test")
    human = await second_client(engine, vault, sim, "r-recon", "paradex")
    try:
        stray_id = state.client_order_id(old.id, 7)
        bid, _ = await human.fetch_bbo_prices("ETH")
        stray = await human.place_limit_order(
            "ETH", Side.BUY, D("0.01"), bid - 50, post_only=True, client_order_id=stray_id
        )
        assert stray.status is OrderStatus.OPEN
        manual = await human.place_limit_order(
            "ETH", Side.BUY, D("0.01"), bid - 60, post_only=True, client_order_id="manual-1"
        )
        await human.place_market_order(
            "ETH", Side.BUY, D("0.05"), max_slippage_bps=D(50), client_order_id="manual-2"
        )
        # report: the unknown position stays, ETH is not entered
        await run_strategy(
            config(),
            "r-recon",
            engine=engine,
            vault=vault,
            settings=sim_settings(sim),
            options=RunOptions(max_cycles=1),
        )
        active = {o.client_order_id for o in await human.get_active_orders("ETH")}
        assert (
            stray_id not in active and manual.client_order_id in active
        )  # only our own stray order cancelled
        assert (await venue_state(sim, ids, PAIR))["short_qty"] == D("0.05")
        assert await positions(engine, "r-recon") == []
        # close: flattened at start (reduce-only), then ETH is entered normally
        await run_strategy(
            config(unknown_positions="close"),
            "r-recon",
            engine=engine,
            vault=vault,
            settings=sim_settings(sim),
            options=RunOptions(max_cycles=1),
        )
        await human.cancel_order("ETH", client_order_id="manual-1")
    finally:
        await human.disconnect()
    async with engine.connect() as conn:
        kinds = (
            (
                await conn.execute(
                    select(state.EVENTS.c.kind).join(state.RUNS).where(state.RUNS.c.account_name == "r-recon")
                )
            )
            .scalars()
            .all()
        )
    assert "stray_order" in kinds and kinds.count("unknown_position") == 2
    p = await assert_safe(engine, sim, ids, "r-recon", PAIR)
    assert p is not None and p.quantity == p.target_quantity


async def test_lost_lease_stops_the_run(engine: AsyncEngine, vault: Vault, sim: SimulatorHandle) -> None:
    """If the lease connection dies (database restart, network), another run may take the account: this run must
    stop trading at once and say why."""
    await sim_account(engine, vault, sim, "r-lost")
    task, stop = background(engine, vault, sim, "r-lost", entry={"min_net_apr": 100})
    label = ""

    async def labelled() -> bool:
        nonlocal label
        assert not task.done(), task
        async with engine.connect() as conn:
            runs = await state.run_ids_of(conn, "r-lost", "live")
            if not runs:
                return False
            label = f"perparb run {max(runs)} %"
            rows = (
                await conn.execute(
                    text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                        "AND application_name LIKE :label"
                    ),
                    {"label": label},
                )
            ).all()
        return len(rows) == 1

    await until(labelled, 20, "lease connection labelled")
    async with engine.connect() as conn:
        await conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name LIKE :label"
            ),
            {"label": label},
        )
    with pytest.raises(state.LeaseLostError, match="lease of account 'r-lost' lost"):
        await asyncio.wait_for(task, 20)
    stop.set()
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(state.RUNS.c.status, state.RUNS.c.stop_reason).where(
                    state.RUNS.c.account_name == "r-lost"
                )
            )
        ).one()
    assert row.status == "failed" and "LeaseLostError" in row.stop_reason


async def test_position_closed_outside_the_run_is_recorded_not_reopened(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle
) -> None:
    """A position whose both legs were closed at the venues while no run watched it (a human, between runs) is
    recorded closed with its PnL unknown, not re-hedged back open."""
    ids = await sim_account(engine, vault, sim, "r-outside")
    cfg = {"sizing": {"max_positions": 1}}
    task, stop = background(engine, vault, sim, "r-outside", **cfg)

    async def opened() -> bool:
        assert not task.done(), task
        return any(p.status == "open" for p in await positions(engine, "r-outside"))

    try:
        await until(opened, 30, "position open")
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    (p,) = await positions(engine, "r-outside")
    humans = [await second_client(engine, vault, sim, "r-outside", v) for v in ("lighter", "paradex")]
    try:
        await humans[0].place_market_order(
            "ETH", Side.SELL, p.quantity, max_slippage_bps=D(50), reduce_only=True, client_order_id="9001"
        )
        await humans[1].place_market_order(
            "ETH",
            Side.BUY,
            p.quantity,
            max_slippage_bps=D(50),
            reduce_only=True,
            client_order_id="human-close",
        )
    finally:
        for h in humans:
            await h.disconnect()
    await set_market(sim, "lighter", "ETH", rate_hourly="0")  # no new entry: only the old position is judged
    await set_market(sim, "paradex", PX, rate_hourly="0")
    await asyncio.wait_for(
        run_strategy(
            config(**cfg),
            "r-outside",
            engine=engine,
            vault=vault,
            settings=sim_settings(sim),
            options=RunOptions(max_cycles=1),
        ),
        30,
    )
    (after,) = await positions(engine, "r-outside")
    assert (after.status, after.exit_reason, after.realized_pnl) == ("closed", "closed_externally", None)
    assert await assert_safe(engine, sim, ids, "r-outside", PAIR) is None


async def test_a_cycle_failing_on_a_venue_error_does_not_end_the_run(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle
) -> None:
    """The exit starts, then Lighter's account endpoint fails for every retry: the cycle fails (recorded), the run
    goes on with the position `closing`, and the next cycle completes the close."""
    ids = await sim_account(engine, vault, sim, "r-outage")
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_strategy(
            config(),
            "r-outage",
            engine=engine,
            vault=vault,
            settings=sim_settings(sim),
            # 5 s between cycles: the fault and the rate change below land between two cycles even on a loaded
            # machine (with 2 s, slow admin calls let a cycle start in between and use up the passing read)
            options=RunOptions(interval_seconds=5.0),
            stop=stop,
        )
    )
    try:

        async def opened() -> bool:
            assert not task.done(), task
            return any(p.status == "open" for p in await positions(engine, "r-outage"))

        await until(opened, 30, "position open")
        async with engine.connect() as conn:
            (run_id,) = await state.run_ids_of(conn, "r-outage", "live")

        async def heartbeat() -> Any:
            async with engine.connect() as conn:
                return (
                    await conn.execute(select(state.RUNS.c.heartbeat_at).where(state.RUNS.c.id == run_id))
                ).scalar()

        seen = await heartbeat()

        async def next_cycle_done() -> bool:
            return await heartbeat() != seen

        await until(next_cycle_done, 10, "a cycle boundary")
        # between cycles: the monitor's position read passes (skip 1), the exit's reads all fail
        await admin(
            sim,
            "lighter",
            "/_sim/faults",
            {"http_status": 500, "count": 10, "method": "GET", "path": "/api/v1/account", "skip": 1},
        )
        await set_market(sim, "lighter", "ETH", rate_hourly="0.00001")
        await set_market(sim, "paradex", PX, rate_hourly="-0.00001")

        async def closed() -> bool:
            assert not task.done(), task
            return all(p.status == "closed" for p in await positions(engine, "r-outage"))

        await until(closed, 90, "position closed after the outage")
    finally:
        stop.set()
        summary = await asyncio.wait_for(task, 30)
    assert summary.status == "stopped"
    async with engine.connect() as conn:
        kinds = (
            (
                await conn.execute(
                    select(state.EVENTS.c.kind)
                    .where(state.EVENTS.c.run_id == run_id)
                    .order_by(state.EVENTS.c.id)  # the order they were written: compared below
                )
            )
            .scalars()
            .all()
        )
    assert "cycle_failed" in kinds and kinds.index("cycle_failed") < kinds.index("closed")
    (p,) = await positions(engine, "r-outage")
    assert p.exit_reason == "spread_flipped"
    assert await assert_safe(engine, sim, ids, "r-outage", PAIR) is None
