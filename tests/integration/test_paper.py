"""Paper venues (`strategies.paper.start_paper_venues`): the in-process simulator made to accept an account's own
credentials (Lighter API key derived from the private key, Paradex L1 key onboarded or subkey registered, Hyperliquid
agent approved for the account, on the first perp dex or a HIP-3 dex), funded, and reached only through the returned
settings."""

from __future__ import annotations

import asyncio
import re
import time
from decimal import Decimal

import aiohttp
import pytest
from eth_account import Account
from lighter.signer_client import create_api_key
from pydantic import SecretStr

from database.accounts import AccountCredentials, CredentialsError
from exchange_clients import registry
from exchange_clients.base.trading import OrderStatus, Side
from exchange_clients.hyperliquid.credentials import credentials_type_for
from exchange_clients.lighter.credentials import LighterCredentials
from exchange_clients.lighter.paper import public_key_of
from exchange_clients.paradex.credentials import ParadexCredentials
from exchange_clients.registry import create_client
from perparb_core.settings import TradingConfig
from simulator.protocol import installed_protocols
from simulator.server import DEMO_SCENARIO, start_simulator
from strategies.paper import PaperError, SimAdmin, simulated_venue_urls, start_paper_venues
from tests.configs import venue_config

pytestmark = pytest.mark.integration
D = Decimal


def base_settings() -> TradingConfig:
    """Mainnet configs (paper mode must replace them), test-friendly HTTP settings."""
    return TradingConfig(venues={v: venue_config(v) for v in ("lighter", "paradex")})


def lighter_creds(account_index: int) -> tuple[LighterCredentials, str]:
    private_key, public_key, error = create_api_key()
    assert error is None
    creds = LighterCredentials(
        account_index=account_index, api_key_index=3, api_private_key=SecretStr(private_key)
    )
    return creds, public_key.removeprefix("0x").lower()


def l1_creds() -> ParadexCredentials:
    eth = Account.create()
    return ParadexCredentials(l1_address=eth.address, l1_private_key=SecretStr(eth.key.hex()))


async def test_lighter_public_key_is_derived_from_the_private_key() -> None:
    creds, expected = lighter_creds(31_001)
    sim = await start_simulator(DEMO_SCENARIO)
    try:
        async with aiohttp.ClientSession() as http:
            rest, _ws, root = simulated_venue_urls(sim, "lighter")
            admin = SimAdmin(http, rest, root)
            assert await public_key_of(creds, venue_config("lighter", rest), admin) == expected
    finally:
        await sim.stop()


async def test_both_venues_connect_see_the_collateral_and_fill_orders() -> None:
    lcreds, _ = lighter_creds(31_002)
    account = AccountCredentials(name="paper-alice", venues={"lighter": lcreds, "paradex": l1_creds()})
    settings = base_settings()
    paper = await start_paper_venues(
        account, ["lighter", "paradex"], settings, scenario=None, speed=1.0, collateral_usd=D(25_000)
    )
    clients = {}
    try:
        s = paper.settings
        for venue in ("lighter", "paradex"):
            rest, ws, _root = simulated_venue_urls(paper.sim, venue)
            assert (s.venue(venue).rest_url, s.venue(venue).websocket_url) == (rest, ws)
            for url in (s.venue(venue).rest_url, s.venue(venue).websocket_url):
                assert url.split("//", 1)[1].startswith("127.0.0.1:"), url
            assert s.venue(venue).http == settings.venue(venue).http
            assert settings.venue(venue).rest_url.startswith("https://")  # the caller's configs are untouched
        assert paper.accounts["lighter"] == {"account_index": 31_002}
        for venue in ("lighter", "paradex"):
            clients[venue] = create_client(account.venues[venue], s.venue(venue), markets=["ETH"])
        await asyncio.gather(*(c.connect() for c in clients.values()))
        for venue, client in clients.items():
            balance = await client.get_account_balance()
            assert (venue, balance.available) == (venue, D(25_000))
            order = await client.place_market_order(
                "ETH", Side.BUY, D("0.1"), max_slippage_bps=D(50), client_order_id=f"{1 << 47 | 77}"
            )
            assert (venue, order.status, order.filled_quantity) == (venue, OrderStatus.FILLED, D("0.1"))
            position = await client.get_position_snapshot("ETH")
            assert position is not None and position.quantity == D("0.1")
        # the Paradex account funded is the one the L1 key onboarded
        assert paper.accounts["paradex"]["address"] == clients["paradex"].session.account_address  # type: ignore[attr-defined]
    finally:
        for client in clients.values():
            await client.disconnect()
        await paper.stop()
    # stopped: nothing listens any more
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientConnectionError):
            await http.get(paper.sim.url("lighter") + "/_sim/health")


async def test_clock_runs_at_speed() -> None:
    account = AccountCredentials(name="paper-clock", venues={"paradex": l1_creds()})
    paper = await start_paper_venues(
        account, ["paradex"], base_settings(), scenario=None, speed=3600.0, collateral_usd=D(1000)
    )
    try:
        real0, sim0 = time.monotonic(), paper.now()
        assert sim0.tzinfo is not None and sim0.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
        await asyncio.sleep(0.5)
        real1, sim1 = time.monotonic(), paper.now()
        simulated = (sim1 - sim0).total_seconds()
        expected = (real1 - real0) * 3600
        assert abs(simulated - expected) < 0.02 * 3600, (simulated, expected)
        assert paper.sim.clock.now_us() // 1_000_000 >= int(sim1.timestamp())
    finally:
        await paper.stop()


async def test_paradex_subkey_account() -> None:
    main = "0x5ab200000000000000000000000000000000000000000000000000000000042"
    creds = ParadexCredentials(l2_address=main, l2_private_key=SecretStr("0x5ab0c7"))
    account = AccountCredentials(name="paper-sub", venues={"paradex": creds})
    paper = await start_paper_venues(
        account, ["paradex"], base_settings(), scenario=None, speed=1.0, collateral_usd=D(5000)
    )
    client = create_client(creds, paper.settings.venue("paradex"), markets=["ETH"], account_stream=False)
    try:
        await client.connect()
        assert (await client.get_account_balance()).available == D(5000)
        placed = await client.place_limit_order(
            "ETH", Side.BUY, D("0.01"), D("3000"), client_order_id="123456"
        )
        assert placed.status is OrderStatus.OPEN
        assert paper.accounts["paradex"] == {"address": main}
    finally:
        await client.disconnect()
        await paper.stop()


async def test_refusals() -> None:
    account = AccountCredentials(name="paper-bad", venues={"paradex": l1_creds()})
    simulated = re.escape(str(sorted(installed_protocols())))
    with pytest.raises(PaperError, match=rf"paper mode simulates {simulated}, not \['binance'\]"):
        await start_paper_venues(
            account, ["binance"], base_settings(), scenario=None, speed=1.0, collateral_usd=D(1)
        )
    with pytest.raises(PaperError, match="paper collateral must be positive, got 0"):
        await start_paper_venues(
            account, ["paradex"], base_settings(), scenario=None, speed=1.0, collateral_usd=D(0)
        )
    with pytest.raises(CredentialsError, match="account 'paper-bad' has no credentials for lighter"):
        await start_paper_venues(
            account, ["lighter"], base_settings(), scenario=None, speed=1.0, collateral_usd=D(1)
        )


async def test_hyperliquid_agent_is_approved_and_the_account_funded_on_its_dex() -> None:
    owner, agent = Account.create(), Account.create()
    creds = credentials_type_for("")(
        account_address=owner.address, agent_private_key=SecretStr(agent.key.hex())
    )
    account = AccountCredentials(name="paper-hl", venues={"hyperliquid": creds})
    settings = TradingConfig(venues={"hyperliquid": venue_config("hyperliquid")})
    paper = await start_paper_venues(
        account, ["hyperliquid"], settings, scenario=None, speed=1.0, collateral_usd=D(5000)
    )
    config = paper.settings.venue("hyperliquid")
    assert config.rest_url.startswith("http://127.0.0.1:") and config.websocket_url.endswith("/ws")
    assert paper.accounts["hyperliquid"] == {
        "address": owner.address.lower(),
        "agent": agent.address.lower(),
        "dex": "",
    }
    client = create_client(creds, config, markets=["ETH"], account_stream=False)
    try:
        await client.connect()
        assert (await client.get_account_balance()).equity == D(5000)
        placed = await client.place_limit_order("ETH", Side.BUY, D("0.01"), D("3000"), client_order_id="77")
        assert placed.status is OrderStatus.OPEN  # signed by the agent: verified and accepted
    finally:
        await client.disconnect()
        await paper.stop()


async def test_hyperliquid_hip3_sub_venue_is_paper_traded_on_the_parents_server() -> None:
    owner, agent = Account.create(), Account.create()
    registry.enable_sub_venues("hyperliquid", ["xyz"])
    try:
        creds = credentials_type_for("xyz")(
            account_address=owner.address, agent_private_key=SecretStr(agent.key.hex())
        )
        account = AccountCredentials(name="paper-xyz", venues={"hyperliquid:xyz": creds})
        settings = TradingConfig(venues={"hyperliquid:xyz": venue_config("hyperliquid:xyz")})
        paper = await start_paper_venues(
            account, ["hyperliquid:xyz"], settings, scenario=None, speed=1.0, collateral_usd=D(3000)
        )
        assert paper.accounts["hyperliquid:xyz"]["dex"] == "xyz"
        config = paper.settings.venue("hyperliquid:xyz")
        assert config.rest_url == paper.sim.url("hyperliquid")
        client = create_client(creds, config, markets=["XYZ100"], account_stream=False)
        try:
            await client.connect()
            assert (await client.get_account_balance()).equity == D(3000)  # the xyz clearinghouse
            filled = await client.place_market_order(
                "XYZ100", Side.BUY, D("0.01"), max_slippage_bps=D(30), client_order_id="78"
            )
            assert filled.status is OrderStatus.FILLED
            (position,) = await client.get_positions()
            assert (position.venue, position.symbol, position.quantity) == (
                "hyperliquid:xyz",
                "XYZ100",
                D("0.01"),
            )
        finally:
            await client.disconnect()
            await paper.stop()
    finally:
        registry.enable_sub_venues("hyperliquid", [])
