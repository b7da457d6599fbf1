"""Fault tests of both trading clients against the simulator's fault injectors (issue #5, "How it is checked").

Faults (simulator/README.md): `POST /_sim/faults {"http_status": 429, "count": N, "retry_after_seconds": s}`
(next N non-admin requests, REST and WebSocket handshakes), `{"latency_seconds": s, "count": N}`,
`POST /_sim/venue/down|up`, `POST /_sim/ws/faults {"drop_connections": true}`. Also unit tests of the shared
per-venue limiter (`exchange_clients.base.rate_limit`) on a fake clock.

Prices: Paradex ETH pinned at mark 3600 -> maker quotes 3599.28 / 3600.72 (2 bps each side); at 3500 ->
3499.30 / 3500.70. Lighter demo ETH book (recorded): bid 3599.53, ask 3600.97.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from eth_account import Account
from hypothesis import given
from hypothesis import strategies as st
from lighter.signer_client import create_api_key

from exchange_clients.base.client import BaseExchangeClient, StaleBookError
from exchange_clients.base.rate_limit import VenueRateLimiter, venue_limiter
from exchange_clients.base.trading import OrderStatus, Side
from exchange_clients.lighter.client import LighterClient
from exchange_clients.lighter.credentials import LighterCredentials
from exchange_clients.paradex.client import ParadexClient
from exchange_clients.paradex.client.session import ParadexRequestRejectedError
from exchange_clients.paradex.credentials import ParadexCredentials
from perparb_core.errors import VenueUnavailableError
from perparb_core.settings import VenueConfig
from simulator.server import DEMO_SCENARIO, SimulatorHandle, start_simulator
from tests.configs import sim_config

D = Decimal
KEY = 3
pytestmark = pytest.mark.integration
ETH_PARADEX = "ETH-USD-PERP"
LIGHTER_BBO = (D("3599.53"), D("3600.97"))


# ----------------------------------------------------------------------------------------- limiter (no simulator)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_burst_then_spaces_requests() -> None:
    clock = FakeClock()
    limiter = VenueRateLimiter("v", rate_per_second=4, burst=3, clock=clock)
    assert [limiter.reserve() for _ in range(5)] == [0.0, 0.0, 0.0, 0.25, 0.5]
    clock.now += 10  # bucket refilled
    assert [limiter.reserve() for _ in range(4)] == [0.0, 0.0, 0.0, 0.25]


def test_penalise_pauses_everyone_then_resumes_evenly() -> None:
    clock = FakeClock()
    limiter = VenueRateLimiter("v", rate_per_second=10, burst=5, clock=clock)
    limiter.penalise(2.0)
    assert limiter.paused_for == 2.0
    # after the pause: one request at its end, then 0.1 s apart (no burst straight after a 429)
    assert [round(limiter.reserve(), 9) for _ in range(3)] == [2.0, 2.1, 2.2]
    limiter.penalise(None)  # no Retry-After: 1 s default, never shortens a longer pause
    assert limiter.paused_for == 2.0 and limiter.penalties == 2


def test_unlimited_rate_still_honours_the_pause() -> None:
    clock = FakeClock()
    limiter = VenueRateLimiter("v", rate_per_second=0, clock=clock)
    assert [limiter.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    limiter.penalise(0.5)
    assert limiter.reserve() == 0.5


def test_bad_limiter_arguments() -> None:
    with pytest.raises(ValueError, match="burst >= 1"):
        VenueRateLimiter("v", rate_per_second=1, burst=0)
    with pytest.raises(ValueError, match="rate_per_second must be >= 0"):
        VenueRateLimiter("v", rate_per_second=-1)


@given(
    rate=st.floats(min_value=0.5, max_value=1000),
    burst=st.integers(min_value=1, max_value=20),
    gaps=st.lists(st.floats(min_value=0, max_value=0.5), min_size=1, max_size=60),
)
def test_no_window_exceeds_burst_plus_rate(rate: float, burst: int, gaps: list[float]) -> None:
    """Whatever the arrival pattern, requests sent in any window of length w number at most burst + w * rate."""
    clock = FakeClock()
    limiter = VenueRateLimiter("v", rate_per_second=rate, burst=burst, clock=clock)
    sent: list[float] = []
    for gap in gaps:
        clock.now += gap
        delay = limiter.reserve()
        assert delay >= 0
        sent.append(clock.now + delay)
    sent.sort()
    for i, start in enumerate(sent):
        for j in range(i, len(sent)):
            window = sent[j] - start
            assert j - i + 1 <= burst + window * rate + 1e-6


def test_registry_shares_one_limiter_per_venue_and_url() -> None:
    a = venue_limiter("testvenue", "http://h:1/v1/", rate_per_second=5, burst=2)
    assert venue_limiter("testvenue", "http://h:1/v1", rate_per_second=99) is a
    assert (a.rate_per_second, a.burst) == (5, 2)
    assert venue_limiter("testvenue", "http://h:2/v1", rate_per_second=5) is not a
    assert venue_limiter("othervenue", "http://h:1/v1", rate_per_second=5) is not a


async def test_acquire_waits_out_a_pause_that_starts_while_waiting() -> None:
    limiter = VenueRateLimiter("v", rate_per_second=20)  # 50 ms apart
    limiter.reserve()
    started = time.monotonic()
    waiter = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0.01)
    limiter.penalise(0.3)
    await waiter
    assert time.monotonic() - started >= 0.3


# ----------------------------------------------------------------------------------------- simulator helpers


@pytest_asyncio.fixture(scope="module")
async def sim() -> AsyncIterator[SimulatorHandle]:
    async with await start_simulator(DEMO_SCENARIO, push_interval_seconds=0.1) as handle:
        yield handle


def lighter_root(sim: SimulatorHandle) -> str:
    return sim.url("lighter").rstrip("/")


def paradex_root(sim: SimulatorHandle) -> str:
    return sim.url("paradex").removesuffix("/v1")


async def admin(url: str, body: Any = None, method: str = "POST") -> Any:
    async with aiohttp.ClientSession() as http:
        async with http.request(method, url, json=body) as resp:
            assert resp.status == 200, (url, resp.status, await resp.text())
            return await resp.json()


def settings_for(sim: SimulatorHandle, venue: str, retries: int = 1) -> VenueConfig:
    return sim_config(sim, venue, retries=retries)


async def lighter_client(
    sim: SimulatorHandle, account: int, *, retries: int = 1, connect: bool = True
) -> LighterClient:
    private_key, public_key, err = create_api_key()
    assert err is None
    root = lighter_root(sim)
    await admin(
        root + "/_sim/lighter/apikeys",
        {"account_index": account, "api_key_index": KEY, "public_key": public_key},
    )
    await admin(root + "/_sim/accounts", {"account_index": account, "collateral": "10000"})
    creds = LighterCredentials(account_index=account, api_key_index=KEY, api_private_key=private_key)
    client = LighterClient(creds, settings_for(sim, "lighter", retries), markets=["ETH"])
    if connect:
        await client.connect()
    return client


async def paradex_client(sim: SimulatorHandle, *, retries: int = 1) -> ParadexClient:
    eth = Account.create()
    creds = ParadexCredentials(l1_address=eth.address, l1_private_key=eth.key.hex())
    client = ParadexClient(
        creds, settings_for(sim, "paradex", retries), markets=["ETH"], backoff_initial_seconds=0.05
    )
    await client.connect()
    await admin(
        paradex_root(sim) + "/_sim/accounts",
        {"address": client.session.account_address, "collateral": "100000"},
    )
    return client


async def pin_paradex(sim: SimulatorHandle, mark: str) -> None:
    root = paradex_root(sim)
    await admin(f"{root}/_sim/markets/{ETH_PARADEX}/mark", {"price": mark})
    await admin(f"{root}/_sim/markets/{ETH_PARADEX}/funding", {"rate_hourly": "0"})


async def until_bbo(
    client: BaseExchangeClient, expected: tuple[Decimal, Decimal], timeout: float = 10.0
) -> None:
    end = time.monotonic() + timeout
    while True:
        try:
            if await client.fetch_bbo_prices("ETH") == expected:
                return
        except StaleBookError:
            pass
        assert time.monotonic() < end, f"best prices never became {expected}"
        await asyncio.sleep(0.05)


@pytest_asyncio.fixture(autouse=True)
async def clean_faults(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    yield
    if "sim" in request.fixturenames:
        sim: SimulatorHandle = request.getfixturevalue("sim")
        for root in (lighter_root(sim), paradex_root(sim)):
            await admin(root + "/_sim/faults", {"clear": True})
            await admin(root + "/_sim/venue/up")


# ----------------------------------------------------------------------------------------- 429 bursts


async def test_lighter_429_burst_slows_reads_and_nothing_fails(sim: SimulatorHandle) -> None:
    client = await lighter_client(sim, 9101, retries=3)
    try:
        limiter = client.rest.limiter
        before = limiter.penalties
        await admin(
            lighter_root(sim) + "/_sim/faults", {"http_status": 429, "count": 3, "retry_after_seconds": 1}
        )
        started = time.monotonic()
        balance = await client.get_account_balance()
        elapsed = time.monotonic() - started
        assert balance.available == D("10000")
        assert limiter.penalties - before == 3  # each 429 paused the venue
        assert elapsed >= 3.0  # three Retry-After: 1 waits
        # a second client of the same venue shares the limiter (one budget per venue and URL)
        other = LighterClient(client.credentials, client.config)
        assert other.rest.limiter is limiter
    finally:
        await client.disconnect()


async def test_paradex_429_burst_slows_reads_and_nothing_fails(sim: SimulatorHandle) -> None:
    await pin_paradex(sim, "3600")
    client = await paradex_client(sim, retries=3)
    try:
        # the account state's seed (its own REST reads, started once the stream is subscribed) first, so the 429s
        # below hit the reads under test
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while client.account_state is not None and not client.account_state.synced:
            assert loop.time() < deadline, "account state not seeded"
            await asyncio.sleep(0.05)
        limiter = client.session.limiter
        before = limiter.penalties
        await admin(
            paradex_root(sim) + "/_sim/faults", {"http_status": 429, "count": 3, "retry_after_seconds": 1}
        )
        started = time.monotonic()
        results = await asyncio.gather(client.get_account_balance(), client.get_active_orders("ETH"))
        elapsed = time.monotonic() - started
        assert results[0].available == D("100000")
        assert results[1] == []
        assert limiter.penalties - before == 3
        assert elapsed >= 2.0  # reads are serialised per session: at least two Retry-After waits in a row
    finally:
        await client.disconnect()


# ----------------------------------------------------------------------------------------- venue down at connect


async def test_lighter_venue_down_at_connect_is_a_clear_error_then_connects(sim: SimulatorHandle) -> None:
    client = await lighter_client(sim, 9102, connect=False)
    await admin(lighter_root(sim) + "/_sim/venue/down")
    try:
        with pytest.raises(VenueUnavailableError, match="lighter"):
            await client.connect()
        assert client.signer is None  # nothing half-connected is left behind
        await admin(lighter_root(sim) + "/_sim/venue/up")
        await client.connect()
        await until_bbo(client, LIGHTER_BBO)
    finally:
        await client.disconnect()


async def test_paradex_venue_down_at_connect_is_a_clear_error_then_connects(sim: SimulatorHandle) -> None:
    await pin_paradex(sim, "3600")
    eth = Account.create()
    creds = ParadexCredentials(l1_address=eth.address, l1_private_key=eth.key.hex())
    client = ParadexClient(creds, settings_for(sim, "paradex"), markets=["ETH"], backoff_initial_seconds=0.05)
    await admin(paradex_root(sim) + "/_sim/venue/down")
    try:
        with pytest.raises(VenueUnavailableError, match="HTTP 503"):
            await client.connect()
        await admin(paradex_root(sim) + "/_sim/venue/up")
        await client.connect()
        await until_bbo(client, (D("3599.28"), D("3600.72")))
    finally:
        await client.disconnect()


# ----------------------------------------------------------------------------------------- WebSocket dropped


async def sample_until(
    client: BaseExchangeClient, expected: tuple[Decimal, Decimal], timeout: float = 10.0
) -> list[Any]:
    """fetch_bbo_prices every 5 ms until it answers `expected`; the list of outcomes ("stale" or a price pair)."""
    seen: list[Any] = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            bbo = await client.fetch_bbo_prices("ETH")
        except StaleBookError:
            seen.append("stale")
        else:
            seen.append(bbo)
            if bbo == expected:
                return seen
        await asyncio.sleep(0.005)
    raise AssertionError(f"never resynchronised to {expected}; last outcomes {seen[-5:]}")


def after_first_stale(seen: list[Any]) -> list[Any]:
    assert "stale" in seen, "the dropped connection never invalidated the book"
    return seen[seen.index("stale") :]


async def test_lighter_ws_drop_invalidates_then_resyncs_without_stale_prices(sim: SimulatorHandle) -> None:
    client = await lighter_client(sim, 9103)
    root = lighter_root(sim)
    try:
        await until_bbo(client, LIGHTER_BBO)
        # the reconnect handshakes are answered 1 s late: a window in which the book must be refused
        await admin(root + "/_sim/faults", {"latency_seconds": 1.0, "count": 2})
        await admin(root + "/_sim/ws/faults", {"drop_connections": True})
        await admin(root + "/_sim/markets/ETH/mark", {"price": "3500"})
        market = await admin(root + "/_sim/markets/ETH", method="GET")
        moved = (D(market["best_bid"]), D(market["best_ask"]))
        assert moved[0] < moved[1] < D("3510")  # the maker quotes followed the mark
        seen = after_first_stale(await sample_until(client, moved))
        assert LIGHTER_BBO not in seen  # the pre-drop price is never served again
        assert seen[-1] == moved
        assert all(s == "stale" for s in seen[:-1])
    finally:
        await client.disconnect()


async def test_paradex_ws_drop_invalidates_then_resyncs_without_stale_prices(sim: SimulatorHandle) -> None:
    await pin_paradex(sim, "3600")
    client = await paradex_client(sim)
    root = paradex_root(sim)
    try:
        await until_bbo(client, (D("3599.28"), D("3600.72")))
        await admin(root + "/_sim/faults", {"latency_seconds": 1.0, "count": 2})
        await admin(root + "/_sim/ws/faults", {"drop_connections": True})
        await pin_paradex(sim, "3500")
        seen = after_first_stale(await sample_until(client, (D("3499.30"), D("3500.70"))))
        assert (D("3599.28"), D("3600.72")) not in seen
        assert all(s == "stale" for s in seen[:-1])
    finally:
        await client.disconnect()
        await pin_paradex(sim, "3600")


# ----------------------------------------------------------------------------------------- 5xx during placement


async def test_paradex_5xx_during_placement_never_doubles(sim: SimulatorHandle) -> None:
    await pin_paradex(sim, "3600")
    client = await paradex_client(sim)
    root = paradex_root(sim)
    try:
        await until_bbo(client, (D("3599.28"), D("3600.72")))
        await admin(root + "/_sim/faults", {"http_status": 500, "count": 1})
        order = await client.place_limit_order("ETH", Side.BUY, D("0.01"), D("3400"), client_order_id="f-1")
        assert (order.status, order.client_order_id, order.price) == (OrderStatus.OPEN, "f-1", D("3400"))
        active = await client.get_active_orders("ETH")
        assert [o.client_order_id for o in active] == ["f-1"]
        # the same client id again (a caller's retry) is reconciled to the same order, never a second one
        again = await client.place_limit_order("ETH", Side.BUY, D("0.01"), D("3400"), client_order_id="f-1")
        assert again.order_id == order.order_id
        assert [o.client_order_id for o in await client.get_active_orders("ETH")] == ["f-1"]
        with pytest.raises(ParadexRequestRejectedError, match="DUPLICATED_CLIENT_ID"):  # a different order
            await client.place_limit_order("ETH", Side.BUY, D("0.01"), D("3300"), client_order_id="f-1")
        assert [o.client_order_id for o in await client.get_active_orders("ETH")] == ["f-1"]
    finally:
        await client.disconnect()
