"""Lighter orders signed before the send with an explicitly managed nonce (issue #16), against the in-process
simulator through the real lighter-sdk (`SignerClient.sign_create_order`, `send_tx`, its nonce manager).

The simulator accepts only each key's next nonce (21104 "invalid nonce" otherwise), as Lighter does, so a nonce
held by an abandoned order would block every later transaction of the key.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from exchange_clients.base.client import PreparedOrder
from exchange_clients.base.trading import OrderStatus, Side
from exchange_clients.lighter.client import LighterClient
from simulator.server import DEMO_SCENARIO, SimulatorHandle, start_simulator
from tests.integration.test_lighter_client import KEY, admin, funded_client

pytestmark = pytest.mark.integration

D = Decimal


@pytest_asyncio.fixture(scope="module")
async def sim() -> AsyncIterator[SimulatorHandle]:
    async with await start_simulator(DEMO_SCENARIO, push_interval_seconds=0.2) as handle:
        yield handle


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def venue_nonce(sim: SimulatorHandle, http: aiohttp.ClientSession, account: int) -> int:
    body = await admin(
        http, "GET", sim.url("lighter") + f"/api/v1/nextNonce?account_index={account}&api_key_index={KEY}"
    )
    return int(body["nonce"])


async def prepare_buy(client: LighterClient, cid: str) -> PreparedOrder:
    prepared = await client.prepare_market_order(
        "ETH", Side.BUY, D("0.01"), max_slippage_bps=D(50), client_order_id=cid
    )
    assert isinstance(prepared, PreparedOrder)
    return prepared


async def test_an_abandoned_prepared_order_gives_its_nonce_back_and_the_next_order_goes_through(
    sim: SimulatorHandle, http: aiohttp.ClientSession
) -> None:
    """Prepared (signed with the key's next nonce, holding the key) then abandoned with `release()`: the nonce
    returns to the SDK's counter, the next order is signed with that same nonce and fills; the abandoned order
    never reached the venue. Signing ran in the signing thread, not on the event loop."""
    client = await funded_client(sim, http, 8101)
    assert client._orders is not None and client.signer is not None
    signer = client._orders.tx_signer
    threads: list[str] = []
    sign = client.signer.sign_create_order

    def spy(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread().name)
        return sign(*args, **kwargs)

    client.signer.sign_create_order = spy  # type: ignore[method-assign]
    try:
        warm = await client.place_market_order(
            "ETH", Side.BUY, D("0.01"), max_slippage_bps=D(50), client_order_id="warm"
        )
        assert warm.status is OrderStatus.FILLED
        nonce = await venue_nonce(sim, http, 8101)
        abandoned = await prepare_buy(client, "abandoned")
        abandoned.release()
        abandoned.release()  # idempotent
        assert signer.released == 1
        assert client.signer.nonce_manager.nonce[KEY] == nonce - 1  # given back: the next draw is `nonce`
        nxt = await client.place_market_order(
            "ETH", Side.BUY, D("0.01"), max_slippage_bps=D(50), client_order_id="next"
        )
        assert nxt.status is OrderStatus.FILLED and nxt.filled_quantity == D("0.01")
        assert await venue_nonce(sim, http, 8101) == nonce + 1  # one transaction used one nonce
        assert await client.get_order_info("ETH", client_order_id="abandoned") is None
        assert signer.invalid_nonces == 0
        assert threads and all(name.startswith("lighter-sign") for name in threads), threads
    finally:
        await client.disconnect()


async def test_a_prepared_order_never_sent_nor_released_frees_the_key_after_its_hold(
    sim: SimulatorHandle, http: aiohttp.ClientSession
) -> None:
    """A prepared order simply dropped (its owner crashed mid-entry or forgot it) holds the key only for
    `sign_hold_seconds`: then its nonce is given back and the next order goes through."""
    client = await funded_client(sim, http, 8102, sign_hold_seconds=0.3)
    assert client._orders is not None
    try:
        await prepare_buy(client, "dropped")  # never sent, never released
        nxt = await client.place_market_order(
            "ETH", Side.BUY, D("0.01"), max_slippage_bps=D(50), client_order_id="after-drop"
        )
        assert nxt.status is OrderStatus.FILLED
        assert client._orders.tx_signer.released == 1
        assert await client.get_order_info("ETH", client_order_id="dropped") is None
        # a released order that is sent after all is signed again with a fresh nonce
        late = await prepare_buy(client, "late")
        late.release()
        info = await late()
        assert info.status is OrderStatus.FILLED and info.client_order_id == "late"
    finally:
        await client.disconnect()


async def test_a_nonce_conflict_after_a_crash_recovers_through_the_sdks_own_mechanism(
    sim: SimulatorHandle, http: aiohttp.ClientSession
) -> None:
    """The process that ran before a crash (here: a second client on the same key) used the key after this one
    had counted its nonce: this client's prepared order is signed with a nonce the venue already saw, the venue
    answers 21104 "invalid nonce", the SDK's nonce manager refetches `nextNonce` (`async_hard_refresh_nonce`), the
    order is signed again and fills, once."""
    client = await funded_client(sim, http, 8103)
    other = await funded_client(sim, http, 8104)  # another account: its own key, untouched
    assert client._orders is not None and client.credentials is not None
    try:
        first = await client.place_market_order(
            "ETH", Side.BUY, D("0.01"), max_slippage_bps=D(50), client_order_id="before-crash"
        )
        assert first.status is OrderStatus.FILLED
        twin = LighterClient(client.credentials, client.config, markets=["ETH"], account_stream=False)
        await twin.connect()
        try:
            for i in range(2):
                done = await twin.place_market_order(
                    "ETH", Side.BUY, D("0.01"), max_slippage_bps=D(50), client_order_id=f"twin-{i}"
                )
                assert done.status is OrderStatus.FILLED
        finally:
            await twin.disconnect()
        prepared = await prepare_buy(client, "after-crash")
        info = await prepared()
        assert info.status is OrderStatus.FILLED and info.filled_quantity == D("0.01")
        assert client._orders.tx_signer.invalid_nonces == 1
        position = await client.get_position_snapshot("ETH")
        assert position is not None and position.quantity == D("0.04")  # 1 + 2 (twin) + 1: never doubled
        assert other._orders is not None and other._orders.tx_signer.invalid_nonces == 0
    finally:
        await other.disconnect()
        await client.disconnect()
