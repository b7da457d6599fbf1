"""Partial fills through both clients: a GTC limit order larger than the top ask level fills that level and rests
the remainder; cancelling it leaves a CANCELED order with the filled quantity kept, a matching position and fill."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import aiohttp
import pytest
import pytest_asyncio

from exchange_clients.base.client import BaseExchangeClient
from exchange_clients.base.trading import OrderStatus, Side
from simulator.server import DEMO_SCENARIO, SimulatorHandle, start_simulator
from tests.integration import test_lighter_client as lighter_t
from tests.integration import test_paradex_client as paradex_t

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[SimulatorHandle]:
    async with await start_simulator(DEMO_SCENARIO, push_interval_seconds=0.1) as handle:
        yield handle


async def partial_fill_then_cancel(client: BaseExchangeClient, cid: str) -> None:
    start = datetime.now(timezone.utc) - timedelta(seconds=5)
    _, asks = await client.get_order_book_depth("ETH", 2)
    (top_price, top_size), (next_price, _) = asks
    attrs = await client.get_contract_attributes("ETH")
    extra = attrs.size_step * 100
    order = await client.place_limit_order("ETH", Side.BUY, top_size + extra, top_price, client_order_id=cid)
    assert order.status is OrderStatus.PARTIALLY_FILLED, order
    assert order.filled_quantity == top_size and next_price > top_price
    await client.cancel_order("ETH", client_order_id=cid)
    final = await client.get_order_info("ETH", client_order_id=cid)
    assert final is not None and final.status is OrderStatus.CANCELED
    assert final.filled_quantity == top_size
    position = await client.get_position_snapshot("ETH")
    assert position is not None and position.quantity == top_size
    fills = [f for f in await client.get_fills(start, "ETH") if f.client_order_id == cid]
    assert sum(f.quantity for f in fills) == top_size and all(f.price == top_price for f in fills)
    assert await client.get_active_orders("ETH") == []


async def test_lighter_partial_fill_and_cancel(sim: SimulatorHandle) -> None:
    async with aiohttp.ClientSession() as http:
        client = await lighter_t.funded_client(sim, http, 8301, collateral="100000")
    try:
        await partial_fill_then_cancel(client, "7301")
    finally:
        await client.disconnect()


async def test_paradex_partial_fill_and_cancel(sim: SimulatorHandle) -> None:
    await paradex_t.pin(sim)
    client = await paradex_t.trader(sim)
    try:
        await paradex_t.bbo_is(client, "3599.28", "3600.72")
        await partial_fill_then_cancel(client, "pp-partial-1")
    finally:
        await client.disconnect()
