"""Regression of the soak's seed 2 (issue #18): an order recorded `filled` without its fills.

`perparb soak --seed 2` found "venue fill ETHUSDT:52 stored 0 times": an exit order's outcome was written while the
venue's fill list could not be read (an injected 429 / 5xx), so the order was `filled` with no fill rows, and the
database's position, fees and balance disagreed with the venue's for good. The runner now stores such fills on a
later cycle (`strategies.fills.FillBackfill`). Here the same state is made on purpose (a real order on the
simulator, its outcome written without fills), then repaired once, and only once. Replay the soak itself with
`perparb soak --seed 2` (bench/bench_soak.py --seeds 2).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import ROUND_UP, Decimal
from types import SimpleNamespace
from typing import cast

import aiohttp
import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from database.accounts import add_account
from database.vault import Vault, new_key
from exchange_clients.base.trading import OrderStatus, Side
from exchange_clients.registry import create_client, default_config
from perparb.soak.harness import soak_venues
from perparb.soak.venues import SimAdminClient, SimVenue
from perparb_core.settings import HttpConfig
from simulator.server import DEMO_SCENARIO, SimulatorHandle, start_simulator
from strategies import state
from strategies.base import RunContext
from strategies.fills import FillBackfill

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(params=soak_venues(None))
async def venue_sim(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, SimulatorHandle]]:
    async with await start_simulator(
        DEMO_SCENARIO, venues=[request.param], push_interval_seconds=0.2
    ) as handle:
        yield request.param, handle


async def test_a_filled_order_without_fills_gets_them_once(
    clean_engine: AsyncEngine, venue_sim: tuple[str, SimulatorHandle]
) -> None:
    engine = clean_engine
    venue, sim = venue_sim
    account = f"fills-{venue}"
    async with aiohttp.ClientSession() as http:
        admin = SimAdminClient(
            http, {venue: SimVenue(venue, sim.url(venue).rstrip("/"), sim.venues[venue].root_url)}
        )
        await admin.discover("ETH")
        config = default_config(venue, http=HttpConfig(timeout_seconds=5, retries=1)).pointed_at(
            admin.venues[venue].rest_url, None
        )
        creds, _ids = await admin.provision(venue, config, Decimal(100_000))
    await add_account(engine, Vault.from_key(new_key()), name=account, creds=creds)
    client = create_client(creds, config, markets=["ETH"])
    await client.connect()
    try:
        run = await state.create_run(
            engine, account=account, strategy="grid", config_name="g", config={}, mode="live", venues=[venue]
        )
        cid = state.OrderIds(run.id).next()
        attrs = await client.get_contract_attributes("ETH")
        _bid, ask = await client.fetch_bbo_prices("ETH")
        step = max(attrs.min_size or Decimal(0), attrs.size_step)
        size = max(step * 10, (Decimal(20) / ask / step).to_integral_value(ROUND_UP) * step)
        async with engine.begin() as conn:
            (order_id,) = await state.insert_orders(
                conn,
                [
                    {
                        "run_id": run.id,
                        "account_name": account,
                        "venue": venue,
                        "symbol": "ETH",
                        "client_order_id": cid,
                        "purpose": "grid",
                        "side": "buy",
                        "order_type": "market",
                        "time_in_force": "ioc",
                        "quantity": size,
                    }
                ],
            )
        info = await client.place_market_order(
            "ETH", Side.BUY, size, max_slippage_bps=Decimal(50), client_order_id=cid
        )
        assert info.status is OrderStatus.FILLED
        async with engine.begin() as conn:  # what a failed fill read left: filled, no fill rows
            await state.apply_order_info(conn, order_id, info, fills=[])
        ctx = cast(
            RunContext, SimpleNamespace(engine=engine, account=account, mode="live", clients={venue: client})
        )
        backfill = FillBackfill()
        assert await backfill.run(ctx) >= 1
        async with engine.connect() as conn:
            stored, fee = (
                await conn.execute(
                    select(func.sum(state.FILLS.c.quantity), func.sum(state.FILLS.c.fee)).where(
                        state.FILLS.c.order_id == order_id
                    )
                )
            ).one()
            row = (await conn.execute(select(state.ORDERS).where(state.ORDERS.c.id == order_id))).one()
        assert stored == size == row.filled_quantity
        assert row.fee == fee and row.avg_fill_price is not None
        assert await FillBackfill().run(ctx) == 0  # complete now: nothing read, nothing stored twice
    finally:
        await client.disconnect()
