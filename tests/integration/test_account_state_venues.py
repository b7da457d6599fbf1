"""Account state kept from the account streams (issue #16) on Hyperliquid, Aster and Backpack, against the
in-process simulator through the real clients:

* seeded at connect by one REST reading and served with NO request: with every REST call of the venue failing
  (an HTTP 500 fault), the entry check (`FundingArbitrageStrategy.available_balances`, the strategy's own code)
  still answers the balance the venue's REST gave before, and emits no `account_state_fallback` event;
* it follows a fill from the stream (position and balance equal to what REST says afterwards);
* a dropped connection desyncs it: the entry check reads REST instead and emits `account_state_fallback` naming
  the venue and "not synced" (the re-seed after the reconnect is held back by a latency fault on one of its
  reads, so the window is seconds long, not a race);
* after the reconnect it is seeded again (one more seed) and equals REST.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from eth_account import Account
from pydantic import SecretStr

from exchange_clients.aster.client.client import AsterClient
from exchange_clients.aster.config import AsterConfig
from exchange_clients.aster.credentials import AsterCredentials
from exchange_clients.backpack.client.client import BackpackClient
from exchange_clients.backpack.config import BackpackConfig
from exchange_clients.backpack.credentials import BackpackCredentials, new_key_pair
from exchange_clients.base.client import BaseExchangeClient
from exchange_clients.base.trading import OrderStatus, Side
from exchange_clients.hyperliquid.client.client import HyperliquidClient
from exchange_clients.hyperliquid.config import HyperliquidConfig
from exchange_clients.hyperliquid.credentials import HyperliquidCredentials
from simulator.server import DEMO_SCENARIO, SimulatorHandle, start_simulator
from strategies.funding_arbitrage.strategy import FundingArbitrageStrategy
from tests.configs import sim_config

pytestmark = pytest.mark.integration

D = Decimal
VENUES = ("hyperliquid", "aster", "backpack")
MARKS = {"hyperliquid": "ETH", "aster": "ETHUSDT", "backpack": "ETH_USDC_PERP"}


@dataclass(frozen=True)
class SeedRead:
    """A read of the venue's seed that the balance read does not make (held back by a latency fault)."""

    method: str
    path: str
    count: int


# Hyperliquid reads everything with POST /info: both seed reads (clearinghouseState, frontendOpenOrders) are held;
# the fallback's balance read comes after them.
SEED_READ = {
    "hyperliquid": SeedRead("POST", "/info", 2),
    "aster": SeedRead("GET", "/fapi/v3/openOrders", 1),
    "backpack": SeedRead("GET", "/api/v1/orders", 1),
}


@pytest_asyncio.fixture(scope="module")
async def sim() -> AsyncIterator[SimulatorHandle]:
    async with await start_simulator(DEMO_SCENARIO, push_interval_seconds=0.1, venues=list(VENUES)) as handle:
        for venue, market in MARKS.items():
            await admin(handle, venue, f"/_sim/markets/{market}/mark", {"price": "3600"})
        yield handle


async def admin(sim: SimulatorHandle, venue: str, path: str, body: Any = None) -> Any:
    async with (
        aiohttp.ClientSession() as http,
        http.post(sim.venues[venue].root_url + path, json=body) as r,
    ):
        assert r.status == 200, (venue, path, r.status, await r.text())
        return await r.json()


async def new_client(sim: SimulatorHandle, venue: str) -> BaseExchangeClient:
    """A funded account's connected client (10 s staleness bound, fast reconnects)."""
    options: dict[str, Any] = {"markets": ["ETH"], "backoff_initial_seconds": 0.05}
    client: BaseExchangeClient
    if venue == "hyperliquid":
        owner, agent = Account.create(), Account.create()
        await admin(sim, venue, "/_sim/accounts", {"address": owner.address, "collateral": "20000"})
        await admin(sim, venue, "/_sim/hyperliquid/agents", {"user": owner.address, "agent": agent.address})
        hcreds = HyperliquidCredentials(
            account_address=owner.address, agent_private_key=SecretStr(agent.key.hex())
        )
        hconfig = sim_config(sim, venue)
        assert isinstance(hconfig, HyperliquidConfig)
        client = HyperliquidClient(hcreds, hconfig, **options)
    elif venue == "aster":
        user, signer = Account.create(), Account.create()
        await admin(sim, venue, "/_sim/aster/agents", {"user": user.address, "signer": signer.address})
        await admin(sim, venue, "/_sim/accounts", {"user": user.address, "collateral": "20000"})
        acreds = AsterCredentials(user_address=user.address, signer_private_key=SecretStr(signer.key.hex()))
        aconfig = sim_config(sim, venue)
        assert isinstance(aconfig, AsterConfig)
        client = AsterClient(acreds, aconfig, **options)
    else:
        key, secret = new_key_pair()
        await admin(sim, venue, "/_sim/accounts", {"api_key": key, "collateral": "20000"})
        bconfig = sim_config(sim, venue)
        assert isinstance(bconfig, BackpackConfig)
        client = BackpackClient(
            BackpackCredentials(api_key=key, api_secret=SecretStr(secret)), bconfig, **options
        )
    await client.connect()
    return client


async def until(cond: Callable[[], Awaitable[bool]], what: str, timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not await cond():
        assert loop.time() < end, f"{what}: not reached in {timeout} s"
        await asyncio.sleep(0.05)


async def cache_matches_rest(client: BaseExchangeClient) -> bool:
    """The cached balance is served and equals REST's available balance; the cached ETH position equals REST's."""
    cached, _ = client.cached_balance()
    if cached is None:
        return False
    rest = await client.get_account_balance()
    snap = await client.get_position_snapshot("ETH")
    state = client.account_state
    assert state is not None
    held = state.positions.get("ETH")
    same_position = (held.quantity if held is not None else D(0)) == (snap.quantity if snap else D(0))
    return cached.available == rest.available and same_position


class EntryCheck:
    """The strategy's entry balance check (`FundingArbitrageStrategy.available_balances`, unchanged) on one real
    client, with its events recorded instead of written to the database."""

    def __init__(self, client: BaseExchangeClient) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []
        self.leg = SimpleNamespace(venue=client.venue, client=client)
        self.strategy = SimpleNamespace(_fallback_noted={}, ctx=SimpleNamespace(event=self._event))

    async def _event(self, kind: str, message: str, *, level: str, detail: dict[str, Any]) -> None:
        self.events.append((kind, message, detail))

    async def available(self) -> Decimal:
        legs: Any = (self.leg, self.leg)
        balances = await FundingArbitrageStrategy.available_balances(self.strategy, legs)  # type: ignore[arg-type]
        return balances[self.leg.venue]


@pytest.mark.parametrize("venue", VENUES)
async def test_state_is_seeded_served_without_rest_follows_a_fill_and_resyncs_after_a_drop(
    sim: SimulatorHandle, venue: str
) -> None:
    client = await new_client(sim, venue)
    state = client.account_state
    assert state is not None
    check = EntryCheck(client)
    try:
        await until(lambda: cache_matches_rest(client), "seeded state equals REST")
        assert state.seeds == 1 and state.synced
        rest = await client.get_account_balance()
        # every REST call of the venue fails now: the entry check is served from the state, no request, no event
        await admin(sim, venue, "/_sim/faults", {"http_status": 500})
        try:
            assert await check.available() == rest.available
            assert await check.available() == rest.available
        finally:
            await admin(sim, venue, "/_sim/faults", {"clear": True})
        assert check.events == []

        # a fill: the stream moves the position and (directly or by the background re-read) the balance
        order = await client.place_market_order(
            "ETH", Side.BUY, D("0.5"), max_slippage_bps=D(100), client_order_id="7001"
        )
        assert order.status is OrderStatus.FILLED, order
        await until(lambda: cache_matches_rest(client), "state after a fill equals REST")
        assert state.positions["ETH"].quantity == D("0.5")
        after, _ = client.cached_balance()
        assert after is not None and after.available < rest.available  # margin in use now
        assert state.seeds == 1  # followed from the stream, not re-seeded

        # the connection drops; the re-seed after the reconnect is held back: meanwhile the entry check reads REST
        seed = SEED_READ[venue]
        await admin(
            sim,
            venue,
            "/_sim/faults",
            {"latency_seconds": 3, "count": seed.count, "method": seed.method, "path": seed.path},
        )
        desyncs = state.desyncs
        await admin(sim, venue, "/_sim/ws/faults", {"drop_connections": True})

        async def refused() -> bool:
            return client.cached_balance()[0] is None

        await until(refused, "state refused after the drop", timeout=5)
        assert state.desyncs == desyncs + 1 and not state.synced
        assert await check.available() == (await client.get_account_balance()).available
        assert len(check.events) == 1, check.events
        kind, message, detail = check.events[0]
        assert kind == "account_state_fallback" and detail["venue"] == client.venue, check.events
        assert "not synced" in message and message.endswith("balance read from REST"), message

        # the reconnect's seed lands: served again and equal to REST
        async def reseeded() -> bool:
            return state.seeds == 2 and await cache_matches_rest(client)

        await until(reseeded, "re-seeded after the reconnect")
        assert state.positions["ETH"].quantity == D("0.5")
        assert await check.available() == (await client.get_account_balance()).available
        assert len(check.events) == 1  # served from the state again: no new fallback
    finally:
        await admin(sim, venue, "/_sim/faults", {"clear": True})
        await client.disconnect()
