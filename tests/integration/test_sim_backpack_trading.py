"""The simulated Backpack driven through perparb's Backpack client (bpx-py's signed requests over the venue's HTTP
stack): limit GTC / IOC / post-only, reduce-only, cancels by id and client id, leverage, positions with liquidation
price, balances, fills, hourly funding, engine and HTTP faults, WebSocket books and events, and signatures verified
(a request signed with another key is refused with the venue's own error body).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from pydantic import SecretStr

from exchange_clients.backpack.client.client import BackpackClient
from exchange_clients.backpack.client.utils.signing import BackpackSigner
from exchange_clients.backpack.common import BackpackAuthError, BackpackRejectedError
from exchange_clients.backpack.config import BackpackConfig
from exchange_clients.backpack.credentials import BackpackCredentials, new_key_pair
from exchange_clients.backpack.http import BackpackHttp
from exchange_clients.base.client import StaleBookError
from exchange_clients.base.rate_limit import VenueRateLimiter
from exchange_clients.base.scope import VenueScope
from exchange_clients.base.trading import EventKind, OrderStatus, Side
from perparb_core.settings import HttpConfig
from simulator.engine import ScaledClock
from simulator.server import DEMO_SCENARIO, SimulatorHandle, start_simulator

pytestmark = pytest.mark.integration
D = Decimal
PERP = "ETH_USDC_PERP"


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[SimulatorHandle]:
    async with await start_simulator(DEMO_SCENARIO, venues=["backpack"], push_interval_seconds=0.1) as handle:
        await admin(handle, f"/_sim/markets/{PERP}/mark", {"price": "3600"})
        yield handle


async def admin(sim: SimulatorHandle, path: str, body: Any = None, method: str = "POST") -> Any:
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, sim.venues["backpack"].root_url + path, json=body) as r,
    ):
        assert r.status == 200, (path, r.status, await r.text())
        return await r.json()


def config(sim: SimulatorHandle, retries: int = 1) -> BackpackConfig:
    return BackpackConfig(
        rest_url=sim.url("backpack"),
        ws_url=sim.ws_url("backpack"),
        http=HttpConfig(timeout_seconds=5, retries=retries, backoff_seconds=0.05),
    )


async def funded(sim: SimulatorHandle, collateral: str = "100000") -> tuple[BackpackCredentials, int]:
    key, secret = new_key_pair()
    view = await admin(sim, "/_sim/accounts", {"api_key": key, "collateral": collateral})
    return BackpackCredentials(api_key=key, api_secret=SecretStr(secret)), view["engine_account_id"]


@pytest_asyncio.fixture
async def client(sim: SimulatorHandle) -> AsyncIterator[tuple[BackpackClient, int]]:
    creds, account = await funded(sim)
    c = BackpackClient(creds, config(sim), markets=["ETH"])
    await c.connect()
    try:
        yield c, account
    finally:
        await c.disconnect()


async def test_limit_cancel_ioc_post_only_reduce_only(
    client: tuple[BackpackClient, int], sim: SimulatorHandle
) -> None:
    c, _account = client
    bid, ask = await c.fetch_bbo_prices("ETH")
    assert bid < ask
    resting = await c.place_limit_order("ETH", Side.BUY, D("0.05"), bid - 10, client_order_id="11")
    assert resting.status is OrderStatus.OPEN and resting.client_order_id == "11"
    assert [o.order_id for o in await c.get_active_orders("ETH")] == [resting.order_id]
    await c.cancel_order("ETH", order_id=resting.order_id)
    found = await c.get_order_info("ETH", client_order_id="11")
    assert found is not None and found.status is OrderStatus.CANCELED  # finished: from the order history
    with pytest.raises(BackpackRejectedError) as info:
        await c.cancel_order("ETH", client_order_id="11")
    assert info.value.code == "RESOURCE_NOT_FOUND"
    # post-only that would take: the venue refuses it, the client reports REJECTED
    crossing = await c.place_limit_order(
        "ETH", Side.BUY, D("0.05"), ask + 5, post_only=True, client_order_id="12"
    )
    assert crossing.status is OrderStatus.REJECTED and "immediately match" in (crossing.reject_reason or "")
    maker = await c.place_limit_order(
        "ETH", Side.SELL, D("0.05"), ask + 20, post_only=True, client_order_id="13"
    )
    assert maker.status is OrderStatus.OPEN
    await c.cancel_all_orders("ETH")
    assert await c.get_active_orders() == []
    # IOC below the ask fills nothing and expires; at the ask it fills
    miss = await c.place_ioc_order("ETH", Side.BUY, D("0.05"), bid - 50, client_order_id="14")
    assert miss.status is OrderStatus.CANCELED and miss.filled_quantity == 0
    hit = await c.place_ioc_order("ETH", Side.BUY, D("0.05"), ask + 5, client_order_id="15")
    assert hit.status is OrderStatus.FILLED and hit.filled_quantity == D("0.05")
    # reduce-only: a sell reduces, a further buy reduce-only is refused
    with pytest.raises(BackpackRejectedError, match="Reduce only"):
        await c.place_market_order(
            "ETH", Side.BUY, D("0.01"), max_slippage_bps=D(50), reduce_only=True, client_order_id="16"
        )
    close = await c.place_market_order(
        "ETH", Side.SELL, D("0.05"), max_slippage_bps=D(50), reduce_only=True, client_order_id="17"
    )
    assert close.status is OrderStatus.FILLED
    assert await c.get_positions() == []
    fills = await c.get_fills(datetime.now(timezone.utc) - timedelta(minutes=5), "ETH")
    assert [(f.client_order_id, f.side, f.quantity) for f in fills] == [
        ("15", Side.BUY, D("0.05")),
        ("17", Side.SELL, D("0.05")),
    ]
    assert all(f.fee > 0 and f.liquidity == "taker" for f in fills)


async def test_position_liquidation_price_balance_and_leverage(client: tuple[BackpackClient, int]) -> None:
    c, _ = client
    await c.set_leverage("ETH", D(20))
    assert await c.get_leverage_info("ETH") == (D(20), D(50))
    with pytest.raises(BackpackRejectedError, match=r"outside 1\.\.50"):
        await c.set_leverage("ETH", D(60))
    await c.place_market_order(
        "ETH", Side.SELL, D("1"), max_slippage_bps=D(50), client_order_id=str(2**47 + (3 << 23) + 1)
    )
    p = await c.get_position_snapshot("ETH")
    assert p is not None and p.quantity == D(-1) and p.leverage == D(20)
    assert (
        p.liquidation_price is not None and p.liquidation_price > p.mark_price
    )  # a short is liquidated above
    balance = await c.get_account_balance()
    assert balance.equity < D(100000) and balance.available < balance.equity


async def test_hourly_funding_is_paid_and_read_back() -> None:
    clock = ScaledClock(speed=3600)
    async with await start_simulator(
        DEMO_SCENARIO, venues=["backpack"], clock=clock, push_interval_seconds=0.1
    ) as sim:
        await admin(sim, f"/_sim/markets/{PERP}/mark", {"price": "3600"})
        await admin(sim, f"/_sim/markets/{PERP}/funding", {"rate_hourly": "0.0001"})
        creds, _ = await funded(sim)
        c = BackpackClient(creds, config(sim), markets=["ETH"], max_book_age_seconds=3600)
        await c.connect()
        try:
            await c.place_market_order("ETH", Side.BUY, D("1"), max_slippage_bps=D(100), client_order_id="21")
            since = datetime.fromtimestamp(clock.now_ms() / 1000, timezone.utc) - timedelta(hours=1)
            payments: list[Any] = []
            for _ in range(60):
                payments = await c.get_funding_payments(since, "ETH")
                if len(payments) >= 2:
                    break
                await asyncio.sleep(0.1)
            assert len(payments) >= 2
            # a long pays when the rate is positive: -size x mark x rate per hour
            assert all(p.amount < 0 and p.rate == D("0.0001") for p in payments)
            assert all(abs(p.amount + D("0.36")) < D("0.05") for p in payments)
        finally:
            await c.disconnect()


async def test_engine_reject_and_http_500_reconciled_by_client_id(
    sim: SimulatorHandle, client: tuple[BackpackClient, int]
) -> None:
    c, account = client
    await admin(sim, "/_sim/engine/faults", {"reject_next": 1})
    with pytest.raises(BackpackRejectedError, match="simulated fault"):
        await c.place_market_order("ETH", Side.BUY, D("0.1"), max_slippage_bps=D(50), client_order_id="31")
    assert await c.get_order_info("ETH", client_order_id="31") is None  # a refused order is not an order
    # the placement reaches the engine but its answer is lost (500 after a long wait): the client finds it by clientId
    await admin(
        sim, "/_sim/faults", {"http_status": 500, "count": 1, "method": "POST", "path": "/api/v1/order"}
    )
    info = await c.place_market_order("ETH", Side.BUY, D("0.1"), max_slippage_bps=D(50), client_order_id="32")
    assert info.status is OrderStatus.FILLED and info.client_order_id == "32"
    view = await admin(sim, f"/_sim/accounts/{account}", method="GET")
    assert view["positions"] == [
        {"symbol": PERP, "size": "0.1", "entry_price": view["positions"][0]["entry_price"], "funding": "0"}
    ]
    # a partial fill fault: an IOC filled by half, the rest expired
    await admin(sim, "/_sim/engine/faults", {"fill_fraction": "0.5", "fill_fraction_count": 1})
    half = await c.place_market_order("ETH", Side.BUY, D("0.2"), max_slippage_bps=D(50), client_order_id="33")
    assert half.status is OrderStatus.CANCELED and half.filled_quantity == D("0.1")


async def test_bad_signature_is_refused_with_the_venue_error(sim: SimulatorHandle) -> None:
    creds, _ = await funded(sim)
    other_key, other_secret = new_key_pair()
    cfg = config(sim)
    http = BackpackHttp(cfg, VenueScope(cfg, VenueRateLimiter("backpack", 0)))
    try:
        forged = BackpackSigner(creds.api_key, other_secret, cfg.rest_url)  # right key header, wrong secret
        with pytest.raises(BackpackAuthError) as info:
            await http.signed_read(forged.builder("GET", "get_account"), what="GET /api/v1/account")
        assert info.value.code == "INVALID_SIGNATURE" and "Invalid signature" in str(info.value)
        unknown = BackpackSigner(other_key, other_secret, cfg.rest_url)
        with pytest.raises(BackpackAuthError) as info2:
            await http.signed_read(unknown.builder("GET", "get_account"), what="GET /api/v1/account")
        assert info2.value.code == "UNAUTHORIZED"
        good = BackpackSigner(creds.api_key, creds.api_secret.get_secret_value(), cfg.rest_url)
        body = await http.signed_read(good.builder("GET", "get_account"), what="GET /api/v1/account")
        assert body["leverageLimit"] == "10"
    finally:
        await http.close()


async def test_depth_gap_resyncs_and_events_have_no_duplicate_fill(
    sim: SimulatorHandle, client: tuple[BackpackClient, int]
) -> None:
    c, _ = client
    stream = c.market_data.stream
    sync = stream.sync(PERP)
    await c.fetch_bbo_prices("ETH")  # the book is seeded (REST snapshot) before the gap is injected
    seeded = sync.book.sequence or 0
    await c.place_limit_order("ETH", Side.BUY, D("0.05"), D(3590), client_order_id="41")  # the book changes
    for _ in range(100):
        if (sync.book.sequence or 0) > seeded:
            break
        await asyncio.sleep(0.02)
    await admin(sim, "/_sim/ws/faults", {"skip_depth_update": True})
    await c.place_limit_order("ETH", Side.BUY, D("0.05"), D(3591), client_order_id="42")
    for _ in range(100):
        if sync.book.gaps >= 1 and sync.book.is_synced:
            break
        await asyncio.sleep(0.05)
    assert sync.book.gaps >= 1 and sync.book.is_synced and sync.resyncs >= 1
    assert (await c.get_order_book_depth("ETH", 5))[0][0][0] >= D(3591)
    events = c.events()
    await c.place_market_order("ETH", Side.BUY, D("0.1"), max_slippage_bps=D(50), client_order_id="43")
    await admin(sim, "/_sim/ws/faults", {"drop_connections": True})
    await c.place_market_order("ETH", Side.BUY, D("0.1"), max_slippage_bps=D(50), client_order_id="44")
    fills: list[str] = []
    deadline = asyncio.get_running_loop().time() + 8
    while len(fills) < 2 and asyncio.get_running_loop().time() < deadline:
        try:
            e = await asyncio.wait_for(events.__anext__(), 1)
        except asyncio.TimeoutError:
            continue
        if e.kind is EventKind.FILL and e.fill is not None:
            fills.append(e.fill.client_order_id or "")
    await asyncio.sleep(0.5)
    while not c.account_stream.queue.empty():  # type: ignore[union-attr]
        e = c.account_stream.queue.get_nowait()  # type: ignore[union-attr]
        if e.kind is EventKind.FILL and e.fill is not None:
            fills.append(e.fill.client_order_id or "")
    assert sorted(fills) == ["43", "44"]  # the fill made while the socket was down is read back once


async def test_stale_book_refuses_a_market_order(sim: SimulatorHandle) -> None:
    """A book older than the limit whose REST confirmation fails (the depth endpoint answers 503) is refused."""
    creds, _ = await funded(sim)
    c = BackpackClient(creds, config(sim), markets=["ETH"], max_book_age_seconds=0.0001)
    await c.connect()
    try:
        await asyncio.sleep(0.05)
        await admin(
            sim, "/_sim/faults", {"http_status": 503, "count": 50, "method": "GET", "path": "/api/v1/depth"}
        )
        with pytest.raises(StaleBookError):
            await c.place_market_order(
                "ETH", Side.BUY, D("0.1"), max_slippage_bps=D(50), client_order_id="51"
            )
    finally:
        await c.disconnect()
