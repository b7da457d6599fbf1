"""Regression of the soak's seed 1 (issue #18): a grid order whose placement failed with an unknown outcome stayed
`pending` for the rest of the run.

`perparb soak --seed 1` reported `open_orders_match` 1: a grid order `pending` in the database that the venue did
not have. An injected 5xx on the order path had made its outcome unknown; the grid kept the row pending and its
level empty, and only a restart would have settled it. Polling now marks a pending order that the venue still does
not know `PENDING_UNSEEN_SECONDS` after it was sent as rejected (never reached the venue) and places the level
again. Here the first two placements (after the leverage update) answer HTTP 500 (never processed), and the ladder still ends complete, with the
database agreeing with the venue.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from database.vault import Vault
from simulator.server import DEMO_SCENARIO, SimulatorHandle, start_simulator
from strategies.grid import strategy as grid_strategy
from tests.integration.strategy_support import VENUE_KIT, admin, set_market, sim_account, test_vault, until
from tests.integration.test_grid import LADDER, active, config, db_open, launch

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[SimulatorHandle]:
    async with await start_simulator(DEMO_SCENARIO, push_interval_seconds=0.1, venues=["lighter"]) as handle:
        await set_market(handle, "lighter", "ETH", mark="3600.25")
        yield handle


@pytest.fixture(scope="module")
def vault() -> Vault:
    return test_vault()


async def test_unknown_placements_that_never_arrived_are_released_and_replaced(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(grid_strategy, "PENDING_UNSEEN_SECONDS", 1.0)
    await sim_account(engine, vault, sim, "g-pending", venues=("lighter",))
    await admin(
        sim,
        "lighter",
        "/_sim/faults",
        {
            "http_status": 500,
            "count": 2,
            "skip": 1,
            "method": "POST",
            "path": VENUE_KIT["lighter"].order_path,
        },
    )
    bg = await launch(engine, vault, sim, config("g-pend"), "g-pending")

    async def released() -> bool:
        async with engine.connect() as conn:
            n = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM orders WHERE account_name = 'g-pending' AND status = 'rejected' "
                        "AND error LIKE 'never reached the venue%'"
                    )
                )
            ).scalar_one()
        return bool(n)

    await until(released, 20, "an unknown placement released")

    async def ladder_complete() -> bool:
        return await active(bg.client) == LADDER

    await until(ladder_complete, 20, "the ladder complete again")
    venue_ids = {o.client_order_id for o in await bg.client.get_active_orders("ETH")}
    assert set(await db_open(engine, "g-pending")) == venue_ids  # nothing pending that the venue lacks
    await bg.finish()
