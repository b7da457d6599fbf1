"""`LighterClient` against the in-process simulator through the real lighter-sdk (SignerClient, ApiClient) and the
project's `/stream` order-book manager.

Demo ETH (market 0, `simulator/scenarios/demo/lighter/orderBookOrders_0.json`): asks 3600.97 (1.4760), 3601.69
(0.5519); bids 3599.53 (1.8945); mark 3600.25; tick 0.01, step 0.0001, min 0.0028 ETH / 10 USDC; IMF 5 %
(default 20x), min IMF 2 % (max 50x); funding 0.00003 per hour; fees 0.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from itertools import pairwise
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from lighter.signer_client import create_api_key

from exchange_clients.base.client import StaleBookError
from exchange_clients.base.trading import OrderStatus, OrderType, Side, TimeInForce
from exchange_clients.lighter.client import LighterClient, create_lighter_client
from exchange_clients.lighter.common import LighterRejectedError
from exchange_clients.lighter.config import LighterConfig
from exchange_clients.lighter.credentials import LighterCredentials
from perparb_core.errors import VenueAuthError, VenueRejectedError
from simulator.server import DEMO_SCENARIO, SimulatorHandle, start_simulator
from tests.configs import sim_config

pytestmark = pytest.mark.integration

KEY = 3
EPOCH = datetime(2020, 1, 1, tzinfo=timezone.utc)
D = Decimal


@pytest_asyncio.fixture(scope="module")
async def sim() -> AsyncIterator[SimulatorHandle]:
    async with await start_simulator(DEMO_SCENARIO, push_interval_seconds=0.2) as handle:
        yield handle


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def admin(http: aiohttp.ClientSession, method: str, url: str, body: Any = None) -> Any:
    async with http.request(method, url, json=body) as resp:
        assert resp.status == 200, (url, resp.status, await resp.text())
        return await resp.json()


def settings_for(sim: SimulatorHandle) -> LighterConfig:
    config = sim_config(sim, "lighter")
    assert isinstance(config, LighterConfig)
    return config


async def funded_client(
    sim: SimulatorHandle, http: aiohttp.ClientSession, account: int, collateral: str = "10000", **options: Any
) -> LighterClient:
    private_key, public_key, err = create_api_key()
    assert err is None
    await admin(
        http,
        "POST",
        sim.url("lighter") + "/_sim/lighter/apikeys",
        {"account_index": account, "api_key_index": KEY, "public_key": public_key},
    )
    await admin(
        http,
        "POST",
        sim.url("lighter") + "/_sim/accounts",
        {"account_index": account, "collateral": collateral},
    )
    creds = LighterCredentials(account_index=account, api_key_index=KEY, api_private_key=private_key)
    client = create_lighter_client(creds, settings_for(sim), markets=["ETH"], **options)
    assert isinstance(client, LighterClient)
    await client.connect()
    return client


async def test_connect_market_data_and_contract_attributes(
    sim: SimulatorHandle, http: aiohttp.ClientSession
) -> None:
    client = await funded_client(sim, http, 8001)
    try:
        assert client.get_exchange_name() == "lighter"
        assert client.ws_url == sim.ws_url("lighter")
        attrs = await client.get_contract_attributes("eth")
        assert (attrs.venue_market_id, attrs.tick_size, attrs.size_step) == ("0", D("0.01"), D("0.0001"))
        assert (attrs.min_size, attrs.min_notional, attrs.max_leverage) == (
            D("0.0028"),
            D("10.000000"),
            D(50),
        )
        with pytest.raises(VenueRejectedError, match="unknown market 'NOPE'"):
            await client.get_contract_attributes("NOPE")
        assert await client.fetch_bbo_prices("ETH") == (D("3599.53"), D("3600.97"))
        bids, asks = await client.get_order_book_depth("ETH", 2)
        assert asks == [(D("3600.97"), D("1.4760")), (D("3601.69"), D("0.5519"))]
        assert bids[0] == (D("3599.53"), D("1.8945"))
        # a market not named at connect is subscribed on first use (BTC: synthetic depth around 97,012.4)
        bid, ask = await client.fetch_bbo_prices("BTC")
        assert D(90000) < bid < ask < D(105000)
        assert (await client.get_account_balance()).available == D(10000)
        assert await client.get_leverage_info("ETH") == (D(20), D(50))
    finally:
        await client.disconnect()
        await client.disconnect()  # idempotent


async def test_wrong_key_is_a_clear_auth_error(sim: SimulatorHandle, http: aiohttp.ClientSession) -> None:
    _priv, public_key, _ = create_api_key()
    other_private, _pub, _ = create_api_key()
    await admin(
        http,
        "POST",
        sim.url("lighter") + "/_sim/lighter/apikeys",
        {"account_index": 8002, "api_key_index": KEY, "public_key": public_key},
    )
    creds = LighterCredentials(account_index=8002, api_key_index=KEY, api_private_key=other_private)
    client = LighterClient(creds, settings_for(sim))
    with pytest.raises(VenueAuthError, match="does not match"):
        await client.connect()
    assert client.signer is None


async def test_post_only_rest_cancel_and_cross(sim: SimulatorHandle, http: aiohttp.ClientSession) -> None:
    client = await funded_client(sim, http, 8003)
    try:
        # 3590.009 rounds DOWN for a buy, 0.10009 rounds down to the step
        order = await client.place_limit_order(
            "ETH", Side.BUY, D("0.10009"), D("3590.009"), post_only=True, client_order_id="maker-1"
        )
        assert (order.status, order.price, order.quantity, order.client_order_id) == (
            OrderStatus.OPEN,
            D("3590.00"),
            D("0.1000"),
            "maker-1",
        )
        assert (order.time_in_force, order.order_type, order.side) == (
            TimeInForce.POST_ONLY,
            OrderType.LIMIT,
            Side.BUY,
        )
        assert int(order.order_id) >= 2**48
        active = await client.get_active_orders("ETH")
        assert [o.client_order_id for o in active] == ["maker-1"]
        assert await client.get_active_orders() == active
        by_id = await client.get_order_info("ETH", order_id=order.order_id)
        assert by_id is not None and by_id.client_order_id == "maker-1"
        await client.cancel_order("ETH", client_order_id="maker-1")
        done = await client.get_order_info("ETH", client_order_id="maker-1")
        assert done is not None and (done.status, done.reject_reason) == (OrderStatus.CANCELED, None)
        assert await client.get_active_orders("ETH") == []
        with pytest.raises(LighterRejectedError, match="21600"):
            await client.cancel_order("ETH", order_id=order.order_id)

        # a post-only bid at the best ask would cross: the venue cancels it
        crossed = await client.place_limit_order(
            "ETH", Side.BUY, D("0.1"), D("3600.97"), post_only=True, client_order_id="maker-2"
        )
        assert (crossed.status, crossed.reject_reason, crossed.filled_quantity) == (
            OrderStatus.CANCELED,
            "canceled-post-only",
            D(0),
        )
        with pytest.raises(VenueRejectedError, match="below the minimum size"):
            await client.place_limit_order("ETH", Side.BUY, D("0.001"), D("3500"), client_order_id="tiny")

        # cancel all (one market, then every market)
        for i, px in enumerate(("3500", "3510")):
            await client.place_limit_order("ETH", Side.BUY, D("0.01"), D(px), client_order_id=f"rest-{i}")
        await client.place_limit_order("BTC", Side.BUY, D("0.001"), D("80000"), client_order_id="btc-rest")
        await client.cancel_all_orders("ETH")
        assert [o.symbol for o in await client.get_active_orders()] == ["BTC"]
        await client.cancel_all_orders()

        async def no_orders() -> bool:
            return await client.get_active_orders() == []

        await eventually(no_orders)
    finally:
        await client.disconnect()


async def eventually(check: Any, timeout: float = 5.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_ioc_fill_position_fills_and_reduce_only(
    sim: SimulatorHandle, http: aiohttp.ClientSession
) -> None:
    client = await funded_client(sim, http, 8004)
    since = datetime.now(timezone.utc) - timedelta(minutes=1)
    try:
        flat = await client.place_market_order(
            "ETH", Side.SELL, D("0.1"), max_slippage_bps=D(50), reduce_only=True, client_order_id="ro-0"
        )
        assert (flat.status, flat.reject_reason, flat.filled_quantity) == (
            OrderStatus.CANCELED,
            "canceled-reduce-only",
            D(0),
        )
        order = await client.place_market_order(
            "ETH", Side.BUY, D("0.5"), max_slippage_bps=D(50), client_order_id="taker-1"
        )
        assert (order.status, order.filled_quantity, order.order_type, order.time_in_force) == (
            OrderStatus.FILLED,
            D("0.5000"),
            OrderType.MARKET,
            TimeInForce.IOC,
        )
        # the bound sent: 3600.97 x 1.005 = 3618.97485 -> 3618.97 (BUY rounds down)
        assert order.price == D("3618.97")
        pos = await client.get_position_snapshot("ETH")
        assert pos is not None
        assert (pos.quantity, pos.entry_price, pos.leverage) == (D("0.5000"), D("3600.97"), D(20))
        assert pos.mark_price == D("3600.25")
        assert pos.unrealized_pnl == D("0.5") * (D("3600.25") - D("3600.97"))
        assert pos.margin == D("0.5") * D("3600.25") * D("0.05")
        assert [p.symbol for p in await client.get_positions()] == ["ETH"]
        assert await client.get_position_snapshot("BTC") is None
        [fill] = await client.get_fills(since)
        assert (fill.side, fill.price, fill.quantity, fill.fee, fill.liquidity, fill.order_id) == (
            Side.BUY,
            D("3600.97"),
            D("0.5000"),
            D(0),
            "taker",
            order.order_id,
        )
        assert await client.get_fills(datetime.now(timezone.utc) + timedelta(hours=1)) == []
        # reduce-only larger than the position: only the position is closed
        closing = await client.place_market_order(
            "ETH", Side.SELL, D("0.8"), max_slippage_bps=D(50), reduce_only=True, client_order_id="ro-1"
        )
        assert closing.reduce_only is True
        assert closing.filled_quantity == D("0.5000")
        assert await client.get_position_snapshot("ETH") is None
    finally:
        await client.disconnect()


async def test_client_order_indexes_are_unique_under_concurrency(
    sim: SimulatorHandle, http: aiohttp.ClientSession
) -> None:
    client = await funded_client(sim, http, 8005)
    try:
        names = [f"grid-{i}" for i in range(6)]
        orders = await asyncio.gather(
            *(
                client.place_limit_order(
                    "ETH", Side.BUY, D("0.01"), D(3500 - i), post_only=True, client_order_id=name
                )
                for i, name in enumerate(names)
            )
        )
        assert [o.client_order_id for o in orders] == names
        assert all(o.status is OrderStatus.OPEN for o in orders)
        indexes = {client.ids.lookup(n) for n in names}
        assert len(indexes) == 6 and None not in indexes
        assert len({o.order_id for o in orders}) == 6
        # a numeric client order id IS the index (reconcilable after a restart)
        cid = client.new_client_order_id()
        numeric = await client.place_limit_order("ETH", Side.BUY, D("0.01"), D("3400"), client_order_id=cid)
        assert numeric.client_order_id == cid and client.ids.lookup(cid) == int(cid)
        await client.cancel_all_orders()
    finally:
        await client.disconnect()


async def test_invalid_nonce_is_recovered(sim: SimulatorHandle, http: aiohttp.ClientSession) -> None:
    client = await funded_client(sim, http, 8006)
    try:
        first = await client.place_limit_order("ETH", Side.BUY, D("0.01"), D("3500"), client_order_id="n-1")
        assert first.status is OrderStatus.OPEN
        assert client.signer is not None
        client.signer.nonce_manager.nonce[KEY] += 7  # the SDK's local nonce drifts: the venue answers 21104
        second = await client.place_limit_order("ETH", Side.BUY, D("0.01"), D("3501"), client_order_id="n-2")
        assert second.status is OrderStatus.OPEN
        assert {o.client_order_id for o in await client.get_active_orders("ETH")} == {"n-1", "n-2"}
    finally:
        await client.disconnect()


async def test_5xx_during_placement_never_doubles(
    sim: SimulatorHandle, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    client = await funded_client(sim, http, 8007)
    try:
        first = await client.place_limit_order("ETH", Side.BUY, D("0.01"), D("3400"), client_order_id="x-0")
        assert first.status is OrderStatus.OPEN  # the SDK has its nonce now: the fault below hits sendTx
        await admin(http, "POST", sim.url("lighter") + "/_sim/faults", {"http_status": 500, "count": 1})
        order = await client.place_limit_order("ETH", Side.BUY, D("0.01"), D("3500"), client_order_id="x-1")
        assert order.status is OrderStatus.OPEN
        active = await client.get_active_orders("ETH")
        assert [o.client_order_id for o in active] == ["x-0", "x-1"]
        assert client._orders is not None and client._orders.sent == 2
        faulted = [r.getMessage() for r in caplog.records if "fault:" in r.getMessage()]
        assert faulted == ["lighter fault: POST /api/v1/sendTx -> HTTP 500"]
    finally:
        await admin(http, "POST", sim.url("lighter") + "/_sim/faults", {"clear": True})
        await client.disconnect()


async def test_market_order_refused_without_a_fresh_book(
    sim: SimulatorHandle, http: aiohttp.ClientSession
) -> None:
    client = await funded_client(sim, http, 8008)
    try:
        assert await client.fetch_bbo_prices("ETH") == (D("3599.53"), D("3600.97"))
        await admin(http, "POST", sim.url("lighter") + "/_sim/venue/down")

        async def stale() -> bool:
            try:
                await client.fetch_bbo_prices("ETH")
            except StaleBookError:
                return True
            return False

        await eventually(stale)
        with pytest.raises(StaleBookError, match="refused"):
            await client.place_market_order(
                "ETH", Side.BUY, D("0.1"), max_slippage_bps=D(50), client_order_id="blind"
            )
        await admin(http, "POST", sim.url("lighter") + "/_sim/venue/up")

        async def fresh() -> bool:
            try:
                return await client.fetch_bbo_prices("ETH") == (D("3599.53"), D("3600.97"))
            except StaleBookError:
                return False

        await eventually(fresh, timeout=15)
        assert await client.get_order_info("ETH", client_order_id="blind") is None
        assert client._orders is not None and client._orders.sent == 0
    finally:
        await admin(http, "POST", sim.url("lighter") + "/_sim/venue/up")
        await client.disconnect()


async def test_leverage(sim: SimulatorHandle, http: aiohttp.ClientSession) -> None:
    client = await funded_client(sim, http, 8009)
    try:
        with pytest.raises(VenueRejectedError, match=r"outside 1\.\.50"):
            await client.set_leverage("ETH", D(60))
        assert await client.get_leverage_info("ETH") == (D(20), D(50))  # default IMF 5 %
        # tx 20 with InitialMarginFraction int(10000 / 10) = 1000: the position row reports "10.00" (percent)
        await client.set_leverage("ETH", D(10))
        assert await client.get_leverage_info("ETH") == (D(10), D(50))
        assert await client.get_leverage_info("SOL") == (D(10), D(20))  # other markets keep their default
        # 1x: a resting bid for 3 ETH needs 3 x mark 3600.25 = 10,800.75 > 10,000 of collateral: refused
        # (21739); the same order fits at 10x (1,080.075)
        await client.set_leverage("ETH", D(1))
        assert await client.get_leverage_info("ETH") == (D(1), D(50))
        with pytest.raises(LighterRejectedError, match="21739"):
            await client.place_limit_order("ETH", Side.BUY, D(3), D("3500.00"), client_order_id="lev-1x")
        await client.set_leverage("ETH", D(10))
        order = await client.place_limit_order("ETH", Side.BUY, D(3), D("3500.00"), client_order_id="lev-10x")
        assert order.status is OrderStatus.OPEN
        # available = 10,000 - 3 x 3600.25 x 10 %
        assert (await client.get_account_balance()).available == D("8919.925")
        await client.cancel_order("ETH", order_id=order.order_id)
        # 30x: InitialMarginFraction int(10000 / 30) = 333 -> "3.33" % -> 100 / 3.33
        await client.set_leverage("ETH", D(30))
        assert await client.get_leverage_info("ETH") == (D(100) / D("3.33"), D(50))
    finally:
        await client.disconnect()


async def test_leverage_tx_refusals(sim: SimulatorHandle, http: aiohttp.ClientSession) -> None:
    """The simulator's own checks on tx 20 (the client refuses out-of-range leverage before signing): a fraction
    below the minimum 200 (2 %), isolated margin mode, an unknown market. The nonce stays unchanged."""
    client = await funded_client(sim, http, 8010)
    try:
        signer = client.signer
        assert signer is not None
        nonce_url = sim.url("lighter") + "/api/v1/nextNonce?account_index=8010&api_key_index=" + str(KEY)
        nonce = (await admin(http, "GET", nonce_url))["nonce"]
        for market_index, imf, mode, code in ((0, 199, 0, 20001), (0, 1000, 1, 20001), (77, 1000, 0, 21602)):
            tx_type, tx_info, _hash, error = signer.sign_update_leverage(
                market_index, imf, mode, nonce=nonce, api_key_index=KEY
            )
            assert error is None and tx_type == 20
            form = {"tx_type": str(tx_type), "tx_info": tx_info}
            async with http.post(sim.url("lighter") + "/api/v1/sendTx", data=form) as resp:
                assert resp.status == 400
                assert (await resp.json())["code"] == code
        assert (await admin(http, "GET", nonce_url))["nonce"] == nonce
        assert await client.get_leverage_info("ETH") == (D(20), D(50))
    finally:
        await client.disconnect()


async def test_hourly_funding_payments_at_speed_3600(http: aiohttp.ClientSession) -> None:
    async with await start_simulator(DEMO_SCENARIO, push_interval_seconds=0.2, speed=3600) as fast:
        client = await funded_client(fast, http, 8010, max_book_age_seconds=30)
        try:
            order = await client.place_market_order(
                "ETH", Side.BUY, D("0.5"), max_slippage_bps=D(50), client_order_id="f-1"
            )
            assert order.status is OrderStatus.FILLED

            async def three() -> Any:
                rows = await client.get_funding_payments(EPOCH, "ETH")
                return rows if len(rows) >= 3 else None

            rows = await eventually(three, timeout=10)
            # 0.5 x 3600.25 x 0.00003 = 0.05400375 USDC paid by the long each hour
            for row in rows:
                assert (row.symbol, row.amount, row.rate, row.position_quantity) == (
                    "ETH",
                    D("-0.054004"),
                    D("0.00003"),
                    D("0.5000"),
                )
                assert row.ts.minute == 0 and row.ts.second == 0
            assert [a.ts - b.ts for a, b in pairwise(rows)] == [timedelta(hours=1)] * (len(rows) - 1)
            pos = await client.get_position_snapshot("ETH")
            assert pos is not None and pos.funding_accrued is not None and pos.funding_accrued < 0
        finally:
            await client.disconnect()
