"""paradex-py 0.8.2 cannot derive the L2 key of an L1 key whose first byte is 0x00 (1 key in 256; see
`exchange_clients.paradex.l1_account`). The workaround derives it the SDK's way from the key bytes: equal to the
SDK's own derivation for ordinary keys, and a leading-zero key authenticates, onboards and trades."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from eth_account import Account
from paradex_py.account.utils import resolve_l2_keypair
from pydantic import SecretStr

from exchange_clients.base.client import StaleBookError
from exchange_clients.base.trading import OrderStatus, Side
from exchange_clients.paradex.client import create_paradex_client
from exchange_clients.paradex.client.session import ParadexSession
from exchange_clients.paradex.credentials import ParadexCredentials
from exchange_clients.paradex.l1_account import derive_l2_private_key, has_leading_zero_byte
from simulator.server import DEMO_SCENARIO, start_simulator
from tests.configs import sim_config
from tests.integration.strategy_support import admin, set_market

pytestmark = pytest.mark.integration


def leading_zero_account() -> Account:
    while True:
        account = Account.create()
        if account.key[0] == 0:
            return account


def test_derivation_matches_the_sdk_for_ordinary_keys() -> None:
    class Config:
        l1_chain_id = "1"
        paraclear_account_hash = "0x1"
        paraclear_account_proxy_hash = "0x2"

    for _ in range(5):
        account = Account.create()
        if account.key[0] == 0:
            continue
        key = account.key.hex()
        sdk = resolve_l2_keypair(config=Config(), l1_address=account.address, l1_private_key=key)  # type: ignore[arg-type]
        assert derive_l2_private_key(key, 1) == sdk.private_key
    assert has_leading_zero_byte("0x00" + "ab" * 31) and not has_leading_zero_byte("0x10" + "ab" * 31)
    with pytest.raises(Exception, match="32 bytes"):
        resolve_l2_keypair(  # the SDK's own failure, pinned: remove the workaround when this stops raising
            config=Config(),
            l1_address=leading_zero_account().address,
            l1_private_key=leading_zero_account().key.hex(),  # type: ignore[arg-type]
        )


async def test_leading_zero_key_authenticates_and_trades() -> None:
    eth = leading_zero_account()
    creds = ParadexCredentials(l1_address=eth.address, l1_private_key=SecretStr(eth.key.hex()))
    async with await start_simulator(DEMO_SCENARIO, push_interval_seconds=0.1) as sim:
        await set_market(sim, "paradex", "ETH-USD-PERP", mark="3636")
        await set_market(sim, "paradex", "ETH-USD-PERP", mark="3600")
        session = ParadexSession(creds, sim_config(sim, "paradex"))
        await session.open()
        address = session.account_address
        await session.close()
        await admin(sim, "paradex", "/_sim/accounts", {"address": address, "collateral": "100000"})
        client = create_paradex_client(creds, sim_config(sim, "paradex"), markets=["ETH"])
        await client.connect()
        try:
            order = None
            for _ in range(50):  # the book arrives over the WebSocket
                try:
                    order = await client.place_market_order(
                        "ETH", Side.BUY, Decimal("0.01"), max_slippage_bps=Decimal(50), client_order_id="lz-1"
                    )
                    break
                except StaleBookError:  # until the first book arrives over the WebSocket
                    await asyncio.sleep(0.1)
            assert order is not None and order.status is OrderStatus.FILLED
            assert client.session.account_address == address
        finally:
            await client.disconnect()
