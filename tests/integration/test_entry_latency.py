"""Issue #16 (entry latency), against the in-process simulator through the real SDKs, state in a real PostgreSQL:

* concurrent entries of one cycle reserve margin per venue as each is chosen: two entries that together exceed a
  venue's free margin are not both sent;
* the entry checks read balances from the account state kept from the streams; when a venue's state is stale (its
  account connection went silent past the staleness bound) the balance comes from REST and an event says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from database.vault import Vault
from simulator.server import DEMO_SCENARIO, SimulatorHandle, start_simulator
from strategies import state
from strategies.runner import RunOptions, run_strategy
from tests.integration.strategy_support import admin, set_market, sim_account, sim_settings, test_vault, until
from tests.integration.test_funding_arbitrage import config

pytestmark = pytest.mark.integration

D = Decimal
PAIR = ("lighter", "paradex")
MARKETS = {
    "ETH": {"lighter": "ETH", "paradex": "ETH-USD-PERP"},
    "BTC": {"lighter": "BTC", "paradex": "BTC-USD-PERP"},
}
MARKS = {"ETH": ("3636", "3600"), "BTC": ("60600", "60000")}


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[SimulatorHandle]:
    async with await start_simulator(DEMO_SCENARIO, push_interval_seconds=0.1, venues=list(PAIR)) as handle:
        for symbol, markets in MARKETS.items():
            for venue, market in markets.items():
                for mark in MARKS[symbol]:
                    await set_market(handle, venue, market, mark=mark)
            await set_market(handle, "lighter", markets["lighter"], rate_hourly="-0.0005")
            await set_market(handle, "paradex", markets["paradex"], rate_hourly="0.0005")
        yield handle


@pytest.fixture(scope="module")
def vault() -> Vault:
    return test_vault()


async def events_of(engine: AsyncEngine, account: str, kind: str) -> list[Any]:
    async with engine.connect() as conn:
        return (
            await conn.execute(
                select(state.EVENTS)
                .join(state.RUNS, state.RUNS.c.id == state.EVENTS.c.run_id)
                .where(state.RUNS.c.account_name == account, state.EVENTS.c.kind == kind)
                .order_by(state.EVENTS.c.id)
            )
        ).all()


async def test_two_concurrent_entries_exceeding_free_margin_are_not_both_sent(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle
) -> None:
    """ETH and BTC both qualify in the same cycle (max_positions 2), each needs 500 USD of margin per venue
    (1000 notional at 2x), and each venue has 800 USD of collateral, 640 usable after the 20 % buffer: one entry
    fits, two do not. The entries run concurrently; the second one checked sees the first one's reservation and
    is skipped for margin: exactly one position and two entry orders, one insufficient-margin event naming the
    reservation."""
    account = "lat-margin"
    await sim_account(engine, vault, sim, account, venues=PAIR, collateral="800")
    cfg = config(
        venues=list(PAIR),
        symbols=["ETH", "BTC"],
        sizing={"max_positions": 2, "max_price_divergence_bps": 200},
    )
    await asyncio.wait_for(
        run_strategy(
            cfg,
            account,
            engine=engine,
            vault=vault,
            settings=sim_settings(sim, venues=PAIR),
            options=RunOptions(max_cycles=1, interval_seconds=0.2),
        ),
        60,
    )
    async with engine.connect() as conn:
        positions = (
            await conn.execute(select(state.POSITIONS).where(state.POSITIONS.c.account_name == account))
        ).all()
        orders = (
            await conn.execute(select(state.ORDERS).where(state.ORDERS.c.account_name == account))
        ).all()
    assert len(positions) == 1, positions
    assert positions[0].status == "open", positions[0]
    entry_orders = [o for o in orders if o.purpose == "entry"]
    assert len(entry_orders) == 2 and {o.symbol for o in entry_orders} == {positions[0].symbol}, entry_orders
    skipped = [
        e for e in await events_of(engine, account, "entry_skipped") if "reserved by entries" in e.message
    ]
    assert len(skipped) == 1, skipped
    other = ({"ETH", "BTC"} - {positions[0].symbol}).pop()
    assert skipped[0].message.startswith(other), skipped[0].message
    # both entries saw the same 800 available: the second was refused only for the first one's reservation
    assert "usable of 800.00 available" in skipped[0].message, skipped[0].message


async def test_a_stale_account_state_falls_back_to_rest_and_says_so(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle
) -> None:
    """Lighter's account connection goes silent (the simulator's `stall_accounts` fault) for longer than the
    clients' staleness bound (1 s): the entry decided meanwhile reads Lighter's balance from REST, an
    `account_state_fallback` event names the venue and the reason, and the entry goes through."""
    account = "lat-stale"
    for markets in MARKETS.values():  # no spread until the stall has begun
        await set_market(sim, "lighter", markets["lighter"], rate_hourly="0")
        await set_market(sim, "paradex", markets["paradex"], rate_hourly="0")
    await sim_account(engine, vault, sim, account, venues=PAIR, collateral="100000")
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_strategy(
            config(venues=list(PAIR)),
            account,
            engine=engine,
            vault=vault,
            settings=sim_settings(sim, venues=PAIR),
            options=RunOptions(interval_seconds=0.2, client_options={"account_state_max_age_seconds": 1.0}),
            stop=stop,
        )
    )
    try:

        async def cycling() -> bool:
            assert not task.done(), task
            return bool(await events_of(engine, account, "entry_skipped"))

        await until(cycling, 30, "the run cycling")
        assert [e for e in await events_of(engine, account, "account_state_fallback")] == []
        await admin(sim, "lighter", "/_sim/ws/faults", {"stall_accounts": True, "stall_seconds": 6})
        await asyncio.sleep(1.5)  # past the 1 s bound: the state is stale now (not a timing assertion)
        await set_market(sim, "lighter", "ETH", rate_hourly="-0.0005")
        await set_market(sim, "paradex", "ETH-USD-PERP", rate_hourly="0.0005")

        async def opened() -> bool:
            assert not task.done(), task
            async with engine.connect() as conn:
                return any(p.status == "open" for p in await state.live_positions(conn, account, "live"))

        await until(opened, 30, "the entry")
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)
    fallbacks = await events_of(engine, account, "account_state_fallback")
    lighter = [e for e in fallbacks if e.detail["venue"] == "lighter"]
    assert lighter, fallbacks
    assert lighter[0].level == "warn" and lighter[0].message.endswith("balance read from REST"), lighter[0]
    assert "stale" in lighter[0].message or "not synced" in lighter[0].message, lighter[0].message
    assert all(e.detail["venue"] != "paradex" for e in fallbacks), fallbacks  # Paradex's state stayed fresh
