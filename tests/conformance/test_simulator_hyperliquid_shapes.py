"""The simulated Hyperliquid answers (served from the demo scenario) have the shape of the venue's recorded payloads
(../shared/venue-data/hyperliquid): every recorded key served with the same JSON type, recursively (lists: first
element), and a served key the recording lacks only where the venue's documentation lists it (named per case).
Bodies the recordings spell inconsistently are compared with the recording that uses the venue's own types (e.g.
`leverage.value` is a number in the docs example, a string in ccxt's re-encoded bodies). Skipped when ../shared is
absent."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from eth_account import Account

from simulator.server import DEMO_SCENARIO, SimulatorHandle, start_simulator
from tests.conformance.test_simulator_shapes import shape_problems
from tests.shared_data import load_payload, shared_path

pytestmark = pytest.mark.conformance

V = "hyperliquid"


@pytest_asyncio.fixture(scope="module")
async def demo() -> AsyncIterator[SimulatorHandle]:
    shared_path("venue-data")  # skip early when ../shared is absent
    async with await start_simulator(DEMO_SCENARIO, venues=[V], push_interval_seconds=0.2) as handle:
        yield handle


async def post(sim: SimulatorHandle, path: str, body: Any) -> Any:
    async with aiohttp.ClientSession() as http, http.post(sim.url(V) + path, json=body) as resp:
        assert resp.status == 200, await resp.text()
        return json.loads(await resp.text())


async def funded_user_with_activity(sim: SimulatorHandle) -> tuple[str, int]:
    """An account funded with 60 USDC (so its 0.1 ETH long has a liquidation price) with a resting order (returns its
    oid) and a filled IOC, placed through the SDK."""
    import asyncio

    from hyperliquid.exchange import Exchange

    user = Account.create()
    async with aiohttp.ClientSession() as http:
        async with http.post(
            sim.venues[V].root_url + "/_sim/accounts", json={"address": user.address, "collateral": "60"}
        ) as resp:
            assert resp.status == 200
    ex = await asyncio.to_thread(Exchange, user, sim.url(V))
    rest = await asyncio.to_thread(ex.order, "ETH", True, 0.1, 3000.0, {"limit": {"tif": "Alo"}})
    await asyncio.to_thread(ex.order, "ETH", True, 0.1, 3700.0, {"limit": {"tif": "Ioc"}})
    return user.address, rest["response"]["data"]["statuses"][0]["resting"]["oid"]


async def test_market_data_shapes(demo: SimulatorHandle) -> None:
    cases = [
        (
            "rest_info_metaAndAssetCtxs_docexample",
            {"type": "metaAndAssetCtxs"},
            {"marginTableId", "dayBaseVlm"},
        ),
        ("rest_info_l2Book_DYDX_2023-07", {"type": "l2Book", "coin": "ETH"}, set()),
        ("rest_info_predictedFundings_BTC_ETH_2025-08_docexample", {"type": "predictedFundings"}, set()),
        (
            "rest_info_fundingHistory_ETH_2024-01_fragment",
            {"type": "fundingHistory", "coin": "ETH", "startTime": 0},
            set(),
        ),
        ("rest_info_exchangeStatus_2026-09", {"type": "exchangeStatus"}, set()),
    ]
    for recording, body, extra in cases:
        served = await post(demo, "/info", body)
        problems = shape_problems(load_payload(V, recording), served, extra_ok=extra)
        assert problems == [], (recording, problems)
    mids = await post(demo, "/info", {"type": "allMids"})
    recorded = load_payload(V, "rest_info_allMids_2023-07")
    assert all(isinstance(v, str) for v in recorded.values()) and all(
        isinstance(v, str) for v in mids.values()
    )


async def test_account_shapes(demo: SimulatorHandle) -> None:
    user, oid = await funded_user_with_activity(demo)
    state = await post(demo, "/info", {"type": "clearinghouseState", "user": user})
    # the docs example holds an ISOLATED position (leverage.rawUsd); the simulator's are cross (docs: rawUsd only
    # "if type is isolated", SDK Info.user_state)
    assert (
        shape_problems(
            load_payload(V, "rest_info_clearinghouseState_docexample"), state, missing_ok={"rawUsd"}
        )
        == []
    )
    status = await post(demo, "/info", {"type": "orderStatus", "user": user, "oid": oid})
    assert shape_problems(load_payload(V, "rest_info_orderStatus_open_alo"), status) == []
    opened = await post(demo, "/info", {"type": "frontendOpenOrders", "user": user})
    # a frontendOpenOrders row is the order object of orderStatus (the 2023-11 recording holds trigger orders only:
    # tif null, no cloid); compared with the open ALO order of orderStatus
    recorded_order = load_payload(V, "rest_info_orderStatus_open_alo")["order"]["order"]
    assert shape_problems([recorded_order], opened) == []
    fills = await post(demo, "/info", {"type": "userFills", "user": user})
    # feeToken: newer fills carry it (rest_info_userFills_builderFee_liquidation_2026.json); liquidationMarkPx is
    # the 2023 format's, replaced by the `liquidation` block
    recorded_fill = load_payload(V, "ws_userFills_snapshot")["data"]["fills"]
    assert shape_problems(recorded_fill, fills, extra_ok={"feeToken"}, missing_ok={"liquidationMarkPx"}) == []
    await post(demo, "/info", {"type": "userFunding", "user": user, "startTime": 0})  # answered (empty yet)
    unknown = await post(demo, "/info", {"type": "orderStatus", "user": user, "oid": 1})
    assert unknown == load_payload(V, "rest_info_orderStatus_unknownOid")


async def test_ws_shapes(demo: SimulatorHandle) -> None:
    user, _oid = await funded_user_with_activity(demo)
    async with aiohttp.ClientSession() as http, http.ws_connect(demo.ws_url(V)) as ws:
        await ws.send_json({"method": "ping"})
        assert await ws.receive_json(timeout=2) == load_payload(V, "ws_pong")
        await ws.send_json(
            {"method": "subscribe", "subscription": {"type": "l2Book", "coin": "ETH", "fast": True}}
        )
        ack = await ws.receive_json(timeout=2)
        recorded_ack = load_payload(V, "ws_subscriptionResponse_subscribe_l2Book_fast_2026-09")
        assert shape_problems(recorded_ack, ack) == [] and ack["data"]["subscription"]["fast"] is True
        book = await ws.receive_json(timeout=2)
        assert shape_problems(load_payload(V, "ws_l2Book_BTC_2026-09_trimmed"), book) == []
        await ws.send_json({"method": "subscribe", "subscription": {"type": "userFills", "user": user}})
        frames = [await ws.receive_json(timeout=2) for _ in range(3)]
        snapshot = next(f for f in frames if f["channel"] == "userFills")
        recorded = load_payload(V, "ws_userFills_snapshot")
        assert (
            shape_problems(recorded, snapshot, extra_ok={"feeToken"}, missing_ok={"liquidationMarkPx"}) == []
        )
