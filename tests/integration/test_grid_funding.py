"""Regression of the soak's seed 1 (issue #18): a grid's funding was never recorded.

`perparb soak --seed 1` (12 accounts, 6 simulated hours) reported `funding_matches` 3: each grid account on the
hourly-settling venue had paid -0.076 USD of funding on its inventory, and the database had none (the grid recorded
no funding at all). The grid now stores the venue's funding payments on its market (`_collect_funding`: about every
minute and at stop). Here a grid holds inventory across simulated hours (the simulator at 3600x) and, once stopped,
the database's funding equals the venue's. Replay the soak itself with `perparb soak --seed 1`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from database.vault import Vault
from simulator.server import DEMO_SCENARIO, SimulatorHandle, start_simulator
from tests.integration.strategy_support import admin, set_market, sim_account, test_vault, until
from tests.integration.test_grid import config, launch

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def fast_sim() -> AsyncIterator[SimulatorHandle]:
    async with await start_simulator(
        DEMO_SCENARIO, push_interval_seconds=0.1, speed=3600, venues=["lighter"]
    ) as handle:
        yield handle


@pytest.fixture(scope="module")
def vault() -> Vault:
    return test_vault()


async def test_a_grid_records_the_funding_its_inventory_pays(
    engine: AsyncEngine, vault: Vault, fast_sim: SimulatorHandle
) -> None:
    sim = fast_sim
    since = datetime.now(timezone.utc) - timedelta(minutes=1)
    await sim_account(engine, vault, sim, "g-funding", venues=("lighter",))
    await set_market(sim, "lighter", "ETH", mark="3600", rate_hourly="0.001")
    bg = await launch(engine, vault, sim, config("g-fund"), "g-funding")
    client = bg.client

    async def ladder_placed() -> bool:
        return len(await client.get_active_orders("ETH")) >= 4

    await until(ladder_placed, 15, "ladder placed")
    await set_market(sim, "lighter", "ETH", mark="3585")  # the 3590 buy fills: 0.1 ETH of inventory

    async def long_and_paying() -> bool:
        snap = await client.get_position_snapshot("ETH")
        if snap is None or snap.quantity <= 0:
            return False
        paid = await client.get_funding_payments(since, "ETH")
        return sum(1 for p in paid if p.amount != 0) >= 2  # two settled simulated hours at least

    await until(long_and_paying, 20, "inventory held across funding settlements")
    await set_market(sim, "lighter", "ETH", rate_hourly="0")  # from now on settlements pay nothing
    await asyncio.sleep(2.5)  # two more simulated hours: the last paying hour is settled
    venue_total = sum((p.amount for p in await client.get_funding_payments(since, "ETH")), Decimal(0))
    await bg.finish()  # the stop reads the funding once more
    async with engine.connect() as conn:
        stored = (
            await conn.execute(
                text("SELECT coalesce(sum(amount), 0) FROM funding_payments WHERE account_name = 'g-funding'")
            )
        ).scalar_one()
    assert venue_total < 0  # a long paid
    assert abs(Decimal(stored) - venue_total) <= Decimal("0.01"), (stored, venue_total)


@pytest_asyncio.fixture
async def fast_paradex() -> AsyncIterator[SimulatorHandle]:
    async with await start_simulator(
        DEMO_SCENARIO, push_interval_seconds=0.1, speed=3600, venues=["paradex"]
    ) as handle:
        yield handle


async def test_a_grid_closing_on_stop_records_the_funding_its_closing_fill_realises(
    engine: AsyncEngine, vault: Vault, fast_paradex: SimulatorHandle
) -> None:
    """Regression of the five-venue soak (issue #18, seeds 1 and 2: `funding_matches` on a Paradex grid). Paradex
    realises funding per fill that changes a position (a continuous funding index: `GET /funding/payments` rows
    with a `fill_id`), so a grid's `on_stop: close` flatten makes one last payment. The stop collected funding
    BEFORE closing and never saw it; it now collects last. Here the inventory is held while the index accrues
    (the simulator at 3600x) with no other fill, so the closing fill's payment is the only one."""
    sim = fast_paradex
    ids = await sim_account(engine, vault, sim, "g-pfunding", venues=("paradex",))
    await set_market(sim, "paradex", "ETH-USD-PERP", mark="3600", rate_hourly="0.001")
    bg = await launch(engine, vault, sim, config("g-pfund", venue="paradex", on_stop="close"), "g-pfunding")
    client = bg.client

    async def ladder_placed() -> bool:
        return len(await client.get_active_orders("ETH")) >= 4

    await until(ladder_placed, 15, "ladder placed")
    await set_market(sim, "paradex", "ETH-USD-PERP", mark="3585")  # the 3590 buy fills: 0.1 ETH of inventory

    async def long() -> bool:
        snap = await client.get_position_snapshot("ETH")
        return snap is not None and snap.quantity > 0

    await until(long, 20, "inventory held")
    await asyncio.sleep(3)  # about three simulated hours of a long paying 0.1 %/h accrue in the index
    await bg.finish()  # on_stop close: the flatten's fill realises the accrued funding
    view = await admin(sim, "paradex", f"/_sim/accounts/{ids['paradex_address']}", method="GET")
    assert view["positions"] == [] or all(Decimal(p["size"]) == 0 for p in view["positions"]), view[
        "positions"
    ]
    venue_payments = [Decimal(p["payment"]) for p in view["funding_payments"]]
    assert venue_payments and sum(venue_payments) < 0  # the long paid, realised by a fill
    async with engine.connect() as conn:
        stored = (
            await conn.execute(
                text(
                    "SELECT coalesce(sum(amount), 0) FROM funding_payments WHERE account_name = 'g-pfunding'"
                )
            )
        ).scalar_one()
    assert abs(Decimal(stored) - sum(venue_payments)) <= Decimal("0.000001"), (stored, venue_payments)
