"""Funding arbitrage end to end: the runner, the strategy and the two-leg executor against the in-process
simulator through the real SDKs, state in a real PostgreSQL.

The simulator runs at 3600x (one funding hour per second). For each venue pair (long venue, short venue): Lighter /
Paradex, Hyperliquid / Paradex and Lighter / Hyperliquid, ETH is pinned at 3600 on both venues; the long venue's
ETH funding is set to -0.0005 / h (longs receive) and the short venue's to +0.0005 / h (shorts receive): the spread
0.001 / h (876 % APR) is opened long / short; flipping the rates closes it ("spread_flipped": the config uses the
instantaneous estimator and opts in to the one-hour flip rule).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from database.vault import Vault
from simulator.server import DEMO_SCENARIO, SimulatorHandle, start_simulator
from strategies import state
from strategies.config import parse_config
from strategies.runner import RunOptions, run_strategy
from tests.integration.strategy_support import (
    admin,
    set_market,
    sim_account,
    sim_settings,
    test_vault,
    until,
)

pytestmark = pytest.mark.integration

D = Decimal
PX = "ETH-USD-PERP"
MARKET = {"lighter": "ETH", "paradex": PX, "hyperliquid": "ETH"}  # each venue's ETH market
ADDRESS = {"lighter": "lighter_account", "paradex": "paradex_address", "hyperliquid": "hyperliquid_address"}
PAIRS = [("lighter", "paradex"), ("hyperliquid", "paradex"), ("lighter", "hyperliquid")]


def config(**over: Any) -> Any:
    data: dict[str, Any] = {
        "strategy": "funding_arbitrage",
        "name": "it-arb",
        "venues": ["lighter", "paradex"],
        "symbols": ["ETH"],
        "entry": {"min_net_apr": 0.5, "horizon_hours": 24, "max_data_age_seconds": 2_592_000},
        "exit": {"exit_signal_apr": 0.1, "min_hold_hours": 0, "exit_on_flip": True},
        "sizing": {
            "target_notional_usd": 1000,
            "leverage": 2,
            "max_slippage_bps": 20,
            "max_price_divergence_bps": 100,
        },
        "execution": {"mode": "ioc", "hedge_max_slippage_bps": 100},
        "loop_interval_seconds": 0.3,
    }
    for key, value in over.items():
        if isinstance(value, dict):
            data[key] = {**data.get(key, {}), **value}
        else:
            data[key] = value
    return parse_config(data)


@pytest_asyncio.fixture
async def sim(pair: tuple[str, str]) -> AsyncIterator[SimulatorHandle]:
    """The simulator at 3600x with only the test's two venues: every other venue's market makers and settlements at
    that speed would share the event loop with the run under test (five venues keep half a core busy)."""
    async with await start_simulator(
        DEMO_SCENARIO, push_interval_seconds=0.1, speed=3600, venues=list(pair)
    ) as handle:
        yield handle


@pytest.fixture(scope="module")
def vault() -> Vault:
    return test_vault()


async def collateral(
    sim: SimulatorHandle, ids: dict[str, Any], venues: tuple[str, ...] = ("lighter", "paradex")
) -> dict[str, Decimal]:
    out = {}
    for venue in venues:
        view = await admin(sim, venue, f"/_sim/accounts/{ids[ADDRESS[venue]]}", method="GET")
        out[venue] = D(view["collateral"])
    return out


async def positions(engine: AsyncEngine, account: str) -> list[Any]:
    async with engine.connect() as conn:
        return (
            await conn.execute(
                select(state.POSITIONS)
                .where(state.POSITIONS.c.account_name == account)
                .order_by(state.POSITIONS.c.id)
            )
        ).all()


async def start_run(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle, cfg: Any, account: str
) -> tuple[asyncio.Task, asyncio.Event]:
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_strategy(
            cfg,
            account,
            engine=engine,
            vault=vault,
            settings=sim_settings(sim),
            options=RunOptions(interval_seconds=0.3),
            stop=stop,
        )
    )
    return task, stop


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: f"{p[0]}-long/{p[1]}-short")
async def test_lifecycle_open_accrue_flip_close_and_pnl_matches_balances(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle, pair: tuple[str, str]
) -> None:
    long, short = pair
    name = f"arb-life-{long[:2]}{short[:2]}"
    for venue in pair:
        await set_market(sim, venue, MARKET[venue], mark="3636")
        await set_market(sim, venue, MARKET[venue], mark="3600")
    await set_market(sim, long, MARKET[long], rate_hourly="-0.0005")
    await set_market(sim, short, MARKET[short], rate_hourly="0.0005")
    ids = await sim_account(engine, vault, sim, name, venues=pair)
    before = await collateral(sim, ids, pair)
    task, stop = await start_run(engine, vault, sim, config(venues=list(pair)), name)
    try:

        async def opened() -> bool:
            assert not task.done(), task.exception()
            return any(p.status == "open" for p in await positions(engine, name))

        await until(opened, 60, "position open")
        (p,) = await positions(engine, name)
        assert (p.symbol, p.long_venue, p.short_venue) == ("ETH", long, short)
        # 1000 USD at ~3600 on the common grid of both steps
        assert p.quantity == p.target_quantity and D("0.2") < p.quantity < D("0.3")
        await asyncio.sleep(3.5)  # ~3.5 simulated funding hours
        await set_market(sim, long, MARKET[long], rate_hourly="0.00001")
        await set_market(sim, short, MARKET[short], rate_hourly="-0.00001")

        async def closed() -> bool:
            assert not task.done(), task.exception()
            return all(p.status == "closed" for p in await positions(engine, name))

        await until(closed, 30, "position closed")
    finally:
        stop.set()
        summary = await asyncio.wait_for(task, 30)
    assert summary.status == "stopped"
    (p,) = await positions(engine, name)
    assert p.exit_reason == "spread_flipped"
    assert p.funding_long > 0 and p.funding_short > 0  # both legs received funding
    after = await collateral(sim, ids, pair)
    moved = (after[long] - before[long]) + (after[short] - before[short])
    assert abs(p.realized_pnl - moved) < D("0.01"), (p.realized_pnl, moved, before, after)
    assert p.realized_pnl == p.funding_long + p.funding_short + p.basis_pnl - p.fees
    async with engine.connect() as conn:
        open_orders = await state.open_orders(conn, name, "live")
        run = (
            await conn.execute(text("SELECT status FROM strategy_runs WHERE id = :i"), {"i": summary.run_id})
        ).scalar()
    assert open_orders == [] and run == "stopped"
