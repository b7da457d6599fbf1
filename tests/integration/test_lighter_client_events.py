"""`LighterClient.events()` (the `account_all/{a}` stream) against the in-process simulator through lighter-sdk.

Demo ETH (market 0, `simulator/scenarios/demo/lighter/orderBookOrders_0.json`): best ask 3600.97 (1.4760), best
bid 3599.53; tick 0.01, step 0.0001; fees 0.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from lighter.signer_client import create_api_key

from exchange_clients.base.client import StaleBookError
from exchange_clients.base.trading import ClientEvent, EventKind, OrderStatus, Side
from exchange_clients.lighter.client import LighterClient
from exchange_clients.lighter.common import LighterError
from exchange_clients.lighter.config import LighterConfig
from exchange_clients.lighter.credentials import LighterCredentials
from simulator.server import DEMO_SCENARIO, SimulatorHandle, start_simulator
from tests.configs import sim_config

pytestmark = pytest.mark.integration

KEY = 3
D = Decimal


@pytest_asyncio.fixture(scope="module")
async def sim() -> AsyncIterator[SimulatorHandle]:
    async with await start_simulator(DEMO_SCENARIO, push_interval_seconds=0.2) as handle:
        yield handle


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def admin(http: aiohttp.ClientSession, url: str, body: Any) -> Any:
    async with http.post(url, json=body) as resp:
        assert resp.status == 200, (url, resp.status, await resp.text())
        return await resp.json()


async def funded_client(
    sim: SimulatorHandle, http: aiohttp.ClientSession, account: int, **options: Any
) -> LighterClient:
    private_key, public_key, err = create_api_key()
    assert err is None
    await admin(
        http,
        sim.url("lighter") + "/_sim/lighter/apikeys",
        {"account_index": account, "api_key_index": KEY, "public_key": public_key},
    )
    await admin(
        http, sim.url("lighter") + "/_sim/accounts", {"account_index": account, "collateral": "10000"}
    )
    creds = LighterCredentials(account_index=account, api_key_index=KEY, api_private_key=private_key)
    config = sim_config(sim, "lighter")
    assert isinstance(config, LighterConfig)
    client = LighterClient(creds, config, markets=["ETH"], **options)
    await client.connect()
    return client


async def until(
    events: AsyncIterator[ClientEvent], match: Callable[[ClientEvent], bool], timeout: float = 5.0
) -> tuple[ClientEvent, list[ClientEvent]]:
    """The first event matching `match` and every event read before it."""
    seen: list[ClientEvent] = []

    async def read() -> ClientEvent:
        async for event in events:
            if match(event):
                return event
            seen.append(event)
        raise AssertionError("event stream ended")

    return await asyncio.wait_for(read(), timeout), seen


async def test_order_fill_position_events_and_resubscribe(
    sim: SimulatorHandle, http: aiohttp.ClientSession
) -> None:
    client = await funded_client(sim, http, 8101)
    try:
        stream = client.account_stream
        assert stream is not None and stream.subscribed.is_set()
        events = client.events()

        # a resting post-only bid -> ORDER (open) with the caller's client id
        resting = await client.place_limit_order(
            "ETH", Side.BUY, D("0.0100"), D("3500.00"), post_only=True, client_order_id="ev-rest"
        )
        event, _ = await until(events, lambda e: e.kind is EventKind.ORDER)
        assert event.symbol == "ETH" and event.order is not None
        o = event.order
        assert (o.order_id, o.client_order_id, o.side, o.price, o.quantity, o.status) == (
            resting.order_id,
            "ev-rest",
            Side.BUY,
            D("3500.00"),
            D("0.0100"),
            OrderStatus.OPEN,
        )

        # an IOC buy crossing the best ask -> FILL and POSITION
        taker = await client.place_market_order(
            "ETH", Side.BUY, D("0.5"), max_slippage_bps=D(50), client_order_id="ev-taker"
        )
        fill_event, before = await until(events, lambda e: e.kind is EventKind.FILL)
        fill = fill_event.fill
        assert fill is not None
        assert (fill.order_id, fill.client_order_id, fill.side, fill.price, fill.quantity, fill.fee) == (
            taker.order_id,
            "ev-taker",
            Side.BUY,
            D("3600.97"),
            D("0.5000"),
            D(0),
        )
        assert fill.liquidity == "taker"
        pos_event, between = await until(events, lambda e: e.kind is EventKind.POSITION)
        pos = pos_event.position
        assert pos is not None and (pos.symbol, pos.quantity, pos.entry_price) == (
            "ETH",
            D("0.5000"),
            D("3600.97"),
        )
        taker_states = [
            e.order.status for e in before + between if e.order and e.order.order_id == taker.order_id
        ]
        assert taker_states and taker_states[-1] is OrderStatus.FILLED
        assert all(e.kind is not EventKind.LIQUIDATION for e in before + between)

        # the socket is dropped: the stream reconnects and resubscribes; the snapshot re-sends the fill, which is
        # not reported twice, and later changes arrive on the new connection
        connects = stream.ws.connects
        await admin(http, sim.url("lighter") + "/_sim/ws/faults", {"drop_connections": True})

        async def resubscribed() -> None:
            while stream.decoder.snapshots < 2:  # noqa: ASYNC110 - counts snapshots, no event to await
                await asyncio.sleep(0.05)

        await asyncio.wait_for(resubscribed(), 10)
        assert stream.ws.connects == connects + 1 and stream.subscribed.is_set()
        await client.cancel_order("ETH", client_order_id="ev-rest")
        event, skipped = await until(
            events, lambda e: e.order is not None and e.order.status is OrderStatus.CANCELED, timeout=10
        )
        assert event.order is not None and event.order.order_id == resting.order_id
        assert [e for e in skipped if e.kind is EventKind.FILL] == []

        # the drop also reset the market-data stream: wait until its book serves fresh prices again
        async def book_fresh() -> None:
            while True:
                try:
                    await client.fetch_bbo_prices("ETH")
                    return
                except StaleBookError:
                    await asyncio.sleep(0.05)

        await asyncio.wait_for(book_fresh(), 10)
        # closing the position: FILL (sell) then a flat POSITION
        await client.place_market_order(
            "ETH", Side.SELL, D("0.5"), max_slippage_bps=D(50), reduce_only=True, client_order_id="ev-close"
        )
        fill_event, _ = await until(events, lambda e: e.kind is EventKind.FILL)
        assert fill_event.fill is not None
        assert (fill_event.fill.side, fill_event.fill.quantity, fill_event.fill.client_order_id) == (
            Side.SELL,
            D("0.5000"),
            "ev-close",
        )
        pos_event, _ = await until(events, lambda e: e.kind is EventKind.POSITION)
        assert pos_event.position is not None and pos_event.position.quantity == D(0)
        assert stream.errors == []
    finally:
        await client.disconnect()
    assert client.account_stream is None


async def test_events_need_the_account_stream(sim: SimulatorHandle, http: aiohttp.ClientSession) -> None:
    client = await funded_client(sim, http, 8102, account_stream=False)
    try:
        assert client.account_stream is None
        with pytest.raises(LighterError, match="account_stream=True"):
            client.events()
    finally:
        await client.disconnect()
