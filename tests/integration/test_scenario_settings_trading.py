"""`scenario.json` settings end to end: a copy of the demo with a constant rate on Lighter ETH, a replay of
`../shared/funding-history/binance.parquet` BTCUSDT on Paradex BTC-USD-PERP and initial faults, run at 3600x
(one funding hour per real second) through `start_simulator`.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from simulator.engine import Engine, Reason, Side, TimeInForce
from simulator.server import DEMO_SCENARIO, SimulatorHandle, start_simulator
from tests.shared_data import shared_path

pytestmark = pytest.mark.integration

HOUR_MS = 3_600_000
ETH_RATE = Decimal("0.00002")  # constant_hourly of Lighter ETH
ETH_MARK = Decimal("3600.25")  # the demo's recorded ETH mark (orderBookDetails), held by its recorded book
REPLAY_ROW1 = Decimal("0.00007757") / 8  # first binance BTCUSDT rows (fraction per 8 h) per hour
REPLAY_ROW2 = Decimal("0.00007414") / 8
TRADER = 9001


@pytest_asyncio.fixture(scope="module")
async def sim(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[SimulatorHandle, int]]:
    parquet = shared_path("funding-history", "binance.parquet")
    folder = tmp_path_factory.mktemp("settings") / "scenario"
    shutil.copytree(DEMO_SCENARIO, folder)
    settings = json.loads((folder / "scenario.json").read_text())
    # the first replayed interval started 6 simulated hours before now: row 1 for 2 real seconds, then row 2
    start_at_ms = time.time_ns() // 1_000_000 - 6 * HOUR_MS
    settings.update(
        {
            "funding": {
                "lighter": {"ETH": {"constant_hourly": float(ETH_RATE)}},
                "paradex": {
                    "BTC-USD-PERP": {
                        "replay": {
                            "file": str(parquet),
                            "venue_symbol": "BTCUSDT",
                            "start_at_ms": start_at_ms,
                        }
                    }
                },
            },
            "faults": {
                "lighter": {"http": {"http_status": 503, "count": 1}},
                "paradex": {"engine": {"reject_next": 1}},
            },
        }
    )
    (folder / "scenario.json").write_text(json.dumps(settings))
    # only the two venues under test: the others would slow the start-up the replay's 2-second window allows
    async with await start_simulator(
        folder, push_interval_seconds=0.2, speed=3600, venues=["lighter", "paradex"]
    ) as handle:
        yield handle, start_at_ms


def engines(handle: SimulatorHandle) -> tuple[Engine, Engine]:
    return handle.venues["lighter"].engine, handle.venues["paradex"].engine


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with http.get(url) as resp:
        return resp.status, await resp.json()


async def test_initial_faults_are_active_at_start(sim: tuple[SimulatorHandle, int]) -> None:
    handle, _ = sim
    lighter, paradex = engines(handle)
    async with aiohttp.ClientSession() as http:
        status, body = await get(http, handle.url("lighter") + "/_sim/faults")
        assert status == 200
        assert body["faults"]["status"] == {"http_status": 503, "remaining": 1, "retry_after_seconds": 1}
        status, body = await get(http, handle.url("lighter") + "/api/v1/orderBookDetails")
        assert status == 503
        status, body = await get(http, handle.url("lighter") + "/api/v1/orderBookDetails")
        assert status == 200 and body["order_book_details"]
        status, body = await get(http, handle.url("paradex").removesuffix("/v1") + "/_sim/engine/faults")
        assert status == 200
        assert body["engine_faults"]["reject_next"] == 1
    assert lighter.faults.snapshot()["reject_next"] == 0
    # the first order submitted to the Paradex engine is rejected by the injected fault, the next is not
    paradex.create_account(77, Decimal(100_000))
    first = paradex.place(77, "ETH-USD-PERP", Side.BUY, Decimal("0.1"), Decimal(1000))
    second = paradex.place(77, "ETH-USD-PERP", Side.BUY, Decimal("0.1"), Decimal(1000))
    assert first.reason is Reason.FAULT_INJECTED
    assert second.reason is None and second.resting


async def test_paradex_replay_is_labelled_and_followed(sim: tuple[SimulatorHandle, int]) -> None:
    handle, start_at_ms = sim
    _, paradex = engines(handle)
    boundary = start_at_ms + 8 * HOUR_MS  # end of the first replayed interval
    rate = paradex.funding_rate("BTC-USD-PERP")
    assert handle.clock.now_ms() < boundary, "simulator start-up took more than 2 real seconds"
    assert rate == REPLAY_ROW1
    admin = handle.url("paradex").removesuffix("/v1") + "/_sim/markets/BTC-USD-PERP"
    async with aiohttp.ClientSession() as http:
        status, view = await get(http, admin)
        assert status == 200
        assert view["funding_source"] == "replay of binance BTCUSDT history under paradex's protocol"
        assert view["funding_from_settings"] is True
        status, summary = await get(http, handle.url("paradex") + "/markets/summary?market=BTC-USD-PERP")
        assert status == 200
        assert Decimal(summary["results"][0]["funding_rate"]) == Decimal("0.00007757")  # per 8 h
        # 3600x: 1 simulated ms = 1/3600 real ms; wait until one simulated minute past the boundary
        await asyncio.sleep((boundary + 60_000 - handle.clock.now_ms()) / 3_600_000)
        assert handle.clock.now_ms() >= boundary + 60_000
        assert paradex.funding_rate("BTC-USD-PERP") == REPLAY_ROW2
        status, summary = await get(http, handle.url("paradex") + "/markets/summary?market=BTC-USD-PERP")
        assert Decimal(summary["results"][0]["funding_rate"]) == Decimal("0.00007414")
        # other markets keep the scenario's recorded rate
        status, eth = await get(
            http, handle.url("paradex").removesuffix("/v1") + "/_sim/markets/ETH-USD-PERP"
        )
        assert eth["funding_source"].startswith("markets_summary funding_rate ")


async def test_lighter_constant_rate_settles_hourly(sim: tuple[SimulatorHandle, int]) -> None:
    handle, _ = sim
    lighter, _ = engines(handle)
    assert lighter.funding_rate("ETH") == ETH_RATE
    assert lighter.funding_rate("BTC") == Decimal("0.000096") / 8  # recorded funding-rates row, unchanged
    async with aiohttp.ClientSession() as http:
        status, view = await get(http, handle.url("lighter") + "/_sim/markets/ETH")
        assert status == 200
        assert view["funding_source"] == "scenario.json: constant 0.00002/h"
        assert view["rate_hourly"] == "0.00002"
    lighter.create_account(TRADER, Decimal(50_000))
    order = lighter.place(TRADER, "ETH", Side.BUY, Decimal(1), Decimal(3700), tif=TimeInForce.IOC)
    assert order.filled == Decimal(1)
    account = lighter.account(TRADER)
    deadline = asyncio.get_running_loop().time() + 5
    while not account.funding_payments:
        assert asyncio.get_running_loop().time() < deadline, (
            "no funding settled within 5 s (5 simulated hours)"
        )
        await asyncio.sleep(0.05)
    payment = account.funding_payments[0]
    assert payment.ts_ms % HOUR_MS == 0
    assert payment.position_size == Decimal(1)
    assert payment.rate_hourly == ETH_RATE
    assert payment.mark_price == ETH_MARK
    # hand computation: -size x mark x rate = -1 x 3600.25 x 0.00002
    assert payment.amount == Decimal("-0.072005")
