"""The Paradex market-data stream against the simulator: books of two markets, a skipped seq_no is detected
and healed by the next snapshot push, and a dropped connection invalidates the books until the reconnect resubscribes."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from exchange_clients.paradex.websocket.manager import ParadexMarketDataStream
from simulator.server import DEMO_SCENARIO, start_simulator

pytestmark = pytest.mark.integration


async def wait_for(cond, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        assert loop.time() < end, "condition not reached in time"
        await asyncio.sleep(0.02)


async def test_gap_and_drop_recovery() -> None:
    async with await start_simulator(DEMO_SCENARIO, push_interval_seconds=0.05, speed=200) as sim:
        stream = ParadexMarketDataStream(
            sim.ws_url("paradex"), ["BTC-USD-PERP", "ETH-USD-PERP"], backoff_initial_seconds=0.05
        )
        await stream.start()
        admin = sim.url("paradex").rsplit("/v1", 1)[0] + "/_sim/ws/faults"
        try:
            btc, eth = stream.book("BTC-USD-PERP"), stream.book("ETH-USD-PERP")
            await wait_for(lambda: btc.is_synced and eth.is_synced)
            assert btc.best_bid()[0] < btc.best_ask()[0] and eth.best_ask()[0] < btc.best_bid()[0]
            async with httpx.AsyncClient() as client:
                r = await client.post(admin, json={"skip_order_book_seq_no": True})
                assert r.status_code == 200, r.text
                await wait_for(lambda: btc.gaps + eth.gaps >= 1)  # seen...
                assert btc.is_synced and eth.is_synced  # ...and healed by the complete snapshot push
                r = await client.post(admin, json={"drop_connections": True})
                assert r.status_code == 200, r.text
            await wait_for(lambda: stream.ws.connects >= 2 and btc.is_synced and eth.is_synced)
            assert stream.errors == []
        finally:
            await stream.stop()
