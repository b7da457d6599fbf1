"""The Lighter market-data stream against the simulator's `/stream`: several books at once, and when the venue
goes away no stale best price is served; it reconnects with backoff, resubscribes and resynchronises."""

from __future__ import annotations

import asyncio
import socket

import pytest

from exchange_clients.lighter.websocket.manager import LighterMarketDataStream
from simulator.server import DEMO_SCENARIO, start_simulator

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_for(cond, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        assert loop.time() < end, "condition not reached in time"
        await asyncio.sleep(0.02)


async def test_books_survive_a_venue_restart() -> None:
    port = free_port()
    sim = await start_simulator(DEMO_SCENARIO, ports={"lighter": port})
    stream = LighterMarketDataStream(
        sim.ws_url("lighter"), [0, 1], backoff_initial_seconds=0.05, backoff_max_seconds=0.4
    )
    await stream.start()
    try:
        await wait_for(lambda: stream.book(0).is_synced and stream.book(1).is_synced)
        bid0, ask0 = stream.book(0).best_bid(), stream.book(0).best_ask()
        assert bid0 is not None and ask0 is not None and bid0[0] < ask0[0]
        assert stream.book(1).best_bid() != bid0  # two different markets on one connection
        assert stream.book(0).age_seconds() is not None
        await sim.stop()  # venue gone: connection drops
        await wait_for(lambda: not stream.ws.connected.is_set())
        assert stream.book(0).best_bid() is None and stream.book(1).best_ask() is None  # nothing stale served
        await asyncio.sleep(0.5)  # several refused reconnect attempts, backing off
        sim = await start_simulator(DEMO_SCENARIO, ports={"lighter": port})
        await wait_for(lambda: stream.book(0).is_synced and stream.book(1).is_synced)
        assert stream.ws.connects == 2
        assert stream.book(0).best_bid() == bid0 and stream.book(0).best_ask() == ask0
    finally:
        await stream.stop()
        await sim.stop()


async def test_invalid_market_reports_the_venue_error() -> None:
    async with await start_simulator(DEMO_SCENARIO) as sim:
        stream = LighterMarketDataStream(sim.ws_url("lighter"), [0, 9999])
        await stream.start()
        try:
            await wait_for(lambda: stream.book(0).is_synced and stream.errors)
            # as recorded from mainnet (venue-data/lighter/ws_error_invalid_channel_market.json)
            assert stream.errors == [{"code": 30005, "message": "Invalid Channel:  (marketId)"}]
            assert stream.book(9999).best_bid() is None
        finally:
            await stream.stop()
