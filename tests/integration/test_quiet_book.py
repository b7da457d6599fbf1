"""Regression of the soak's seed 2 (issue #18): a quiet market is not a stale book.

`perparb soak --seed 2` (12 accounts, 6 simulated hours) ended with every funding-arbitrage account naked: the
exits had closed the Aster legs, but each Backpack exit order was refused with `StaleBookError` ("no fresh order
book (age 69 s)"), 78 times for one account, because Backpack (like Aster) pushes depth only when the book
changes, and the book had not changed since the entries. A synced book that has not changed is right; the clients
now confirm such a book with a REST snapshot before refusing a market order on it.

Here: the mark is pinned (the simulated market maker stops requoting), the client's book ages past its limit with
no delta, and a bounded market order must still fill. Replay the soak itself with `perparb soak --seed 2`
(bench/bench_soak.py --seeds 2).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import ROUND_UP, Decimal

import aiohttp
import pytest
import pytest_asyncio

from exchange_clients.base.trading import OrderStatus, Side
from exchange_clients.registry import create_client, default_config
from perparb.soak.venues import SimAdminClient, SimVenue
from perparb_core.settings import HttpConfig
from simulator.server import DEMO_SCENARIO, SimulatorHandle, start_simulator

pytestmark = pytest.mark.integration

DELTA_ONLY_VENUES = ["backpack"]
"""Venues whose depth stream sends only changes and whose simulated book goes quiet when the mark is pinned. Aster
pushes only changes too, but its simulated market maker never rests; its `confirm` is unit-tested
(tests/unit/test_quiet_book_confirm.py)."""


@pytest_asyncio.fixture(params=DELTA_ONLY_VENUES)
async def venue_sim(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, SimulatorHandle]]:
    venue = request.param
    async with await start_simulator(DEMO_SCENARIO, venues=[venue], push_interval_seconds=0.2) as handle:
        yield venue, handle


async def test_market_order_fills_on_a_quiet_book(venue_sim: tuple[str, SimulatorHandle]) -> None:
    venue, sim = venue_sim
    async with aiohttp.ClientSession() as http:
        admin = SimAdminClient(
            http, {venue: SimVenue(venue, sim.url(venue).rstrip("/"), sim.venues[venue].root_url)}
        )
        await admin.discover("ETH")
        await admin.set_mark(venue, Decimal("3600"))  # pinned: the market maker quotes once more, then rests
        config = default_config(venue, http=HttpConfig(timeout_seconds=5, retries=1)).pointed_at(
            admin.venues[venue].rest_url, None
        )
        creds, _ids = await admin.provision(venue, config, Decimal(100_000))
        client = create_client(creds, config, markets=["ETH"], max_book_age_seconds=1.0)
        await client.connect()
        try:
            await client.get_contract_attributes("ETH")
            stream = client.market_data.stream  # type: ignore[attr-defined]
            book = stream.book(admin.venues[venue].market)
            for _ in range(200):  # the book syncs, then goes quiet past the client's age limit
                age = book.age_seconds()
                if book.is_synced and age is not None and age > 1.5:
                    break
                await asyncio.sleep(0.05)
            assert book.is_synced and (book.age_seconds() or 0) > 1.5, "the book never went quiet"
            sequence = book.sequence
            attrs = await client.get_contract_attributes("ETH")
            step = max(attrs.min_size or Decimal(0), attrs.size_step)
            size = max(step * 10, (Decimal(20) / Decimal(3600) / step).to_integral_value(ROUND_UP) * step)
            order = await client.place_market_order(
                "ETH", Side.SELL, size, max_slippage_bps=Decimal(50), client_order_id="5150001"
            )
            assert order.status is OrderStatus.FILLED, order
            assert order.filled_quantity == size
            assert book.sequence is not None and sequence is not None and book.sequence >= sequence
        finally:
            await client.disconnect()
