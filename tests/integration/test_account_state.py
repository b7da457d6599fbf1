"""Account state kept from the account streams (issue #16), against the in-process simulator through the real
SDKs: seeded by REST at connect, kept by the pushes (a fill moves the cached balance and position to what REST
says), invalidated when the connection drops or goes silent (the staleness bound), re-synchronised afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal

import aiohttp
import pytest
import pytest_asyncio

from exchange_clients.base.client import BaseExchangeClient
from exchange_clients.base.trading import OrderStatus, Side
from simulator.server import DEMO_SCENARIO, SimulatorHandle, start_simulator
from tests.integration import test_lighter_client as lighter_kit
from tests.integration import test_paradex_client as paradex_kit

pytestmark = pytest.mark.integration

D = Decimal


@pytest_asyncio.fixture(scope="module")
async def sim() -> AsyncIterator[SimulatorHandle]:
    async with await start_simulator(DEMO_SCENARIO, push_interval_seconds=0.1) as handle:
        yield handle


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def until(cond: Callable[[], Awaitable[bool]], what: str, timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not await cond():
        assert loop.time() < end, f"{what}: not reached in {timeout} s"
        await asyncio.sleep(0.05)


async def cache_matches_rest(client: BaseExchangeClient, symbol: str) -> bool:
    """The cached balance is served and equals REST's available balance; the cached position equals REST's."""
    cached, _ = client.cached_balance()
    if cached is None:
        return False
    rest = await client.get_account_balance()
    snap = await client.get_position_snapshot(symbol)
    state = client.account_state
    assert state is not None
    held = state.positions.get(snap.symbol if snap is not None else "ETH")
    same_position = (held.quantity if held is not None else D(0)) == (
        snap.quantity if snap is not None else D(0)
    )
    return cached.available == rest.available and same_position


async def test_lighter_state_follows_fills_and_a_silent_connection_falls_back_then_resyncs(
    sim: SimulatorHandle, http: aiohttp.ClientSession
) -> None:
    client = await lighter_kit.funded_client(sim, http, 8201, account_state_max_age_seconds=1.5)
    state = client.account_state
    assert state is not None
    try:
        await until(lambda: cache_matches_rest(client, "ETH"), "seeded state equals REST")
        before, _ = client.cached_balance()
        assert before is not None and before.available == D("10000")
        order = await client.place_market_order(
            "ETH", Side.BUY, D("0.5"), max_slippage_bps=D(50), client_order_id="fill-1"
        )
        assert order.status is OrderStatus.FILLED
        await until(lambda: cache_matches_rest(client, "ETH"), "pushes after a fill equal REST")
        after, _ = client.cached_balance()
        assert after is not None and after.available < before.available  # margin now in use
        assert state.positions["ETH"].quantity == D("0.5")
        # the account connection goes silent (half-open): past the bound nothing is served, the reason is given
        await lighter_kit.admin(
            http,
            "POST",
            sim.url("lighter") + "/_sim/ws/faults",
            {"stall_accounts": True, "stall_seconds": 3},
        )

        async def refused() -> bool:
            return client.cached_balance()[0] is None

        await until(refused, "stale state refused")
        why = client.cached_balance()[1]
        assert why.startswith("lighter: account state") and ("stale" in why or "not synced" in why), why
        # after the stall the silent connection is re-opened and its snapshots re-seed the state
        await until(lambda: cache_matches_rest(client, "ETH"), "re-synchronised after the stall")
        assert state.desyncs >= 1 and state.seeds >= 2
    finally:
        await client.disconnect()


async def test_paradex_state_follows_fills_and_resyncs_after_a_dropped_connection(
    sim: SimulatorHandle,
) -> None:
    await paradex_kit.pin(sim)
    client = await paradex_kit.trader(sim, collateral="20000")
    state = client.account_state
    assert state is not None
    try:
        await until(lambda: cache_matches_rest(client, "ETH"), "seeded state equals REST")
        order = await client.place_market_order(
            "ETH", Side.SELL, D("0.5"), max_slippage_bps=D(50), client_order_id="p-fill-1"
        )
        assert order.status is OrderStatus.FILLED
        await until(lambda: cache_matches_rest(client, "ETH"), "pushes after a fill equal REST")
        assert state.positions["ETH"].quantity == D("-0.5")
        seeds = state.seeds
        await paradex_kit.admin(sim, "/_sim/ws/faults", {"drop_connections": True})

        async def reseeded() -> bool:
            return state.seeds > seeds and await cache_matches_rest(client, "ETH")

        await until(reseeded, "re-seeded after the reconnect")
        assert state.desyncs >= 1
    finally:
        await client.disconnect()
