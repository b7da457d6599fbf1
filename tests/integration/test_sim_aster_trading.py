"""The simulator's Aster protocol driven through the project's Aster client (`exchange_clients/aster/`, its aiohttp
stack, V3 EIP-712 and V1 HMAC signing): place, cancel, IOC, post-only, reduce-only, leverage, fills, funding,
faults, refused signatures with the venue's own errors, depth sequence gaps and user-stream reconnects.

Only the internet is absent: the client signs exactly what it would send to fapi.asterdex.com and the simulator
verifies every signature (`simulator/aster/auth.py`). ETH is pinned at 3600 by the admin API: the market maker
quotes best bid floor(3600 x (1 - 2 bps)) = 3599.28 and best ask ceil(3600 x (1 + 2 bps)) = 3600.72 (tick 0.01).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from eth_account import Account
from pydantic import SecretStr

from exchange_clients.aster.auth import verify_aster_credentials
from exchange_clients.aster.client.client import AsterClient, signer_for
from exchange_clients.aster.common import AsterAuthError, AsterRejectedError
from exchange_clients.aster.config import AsterConfig
from exchange_clients.aster.credentials import AsterCredentials
from exchange_clients.aster.funding_adapter.adapter import AsterFundingAdapter
from exchange_clients.aster.http import AsterHttp
from exchange_clients.base.client import StaleBookError
from exchange_clients.base.scope import venue_scope
from exchange_clients.base.trading import EventKind, OrderStatus, OrderType, Side, TimeInForce
from simulator.server import DEMO_SCENARIO, SimulatorHandle, start_simulator
from tests.configs import http

pytestmark = pytest.mark.integration

D = Decimal
_ids = [5_000]


def cid() -> str:
    _ids[0] += 1
    return str(_ids[0])


async def admin(sim: SimulatorHandle, path: str, body: Any = None, method: str = "POST") -> Any:
    async with (
        aiohttp.ClientSession() as s,
        s.request(method, sim.venues["aster"].root_url + path, json=body) as r,
    ):
        text = await r.text()
        assert r.status == 200, (path, r.status, text)
        return await r.json()


def config(sim: SimulatorHandle) -> AsterConfig:
    return AsterConfig(rest_url=sim.url("aster"), ws_url=sim.ws_url("aster"), http=http(5.0, 1, 0.05))


async def v3_account(sim: SimulatorHandle, collateral: str = "100000") -> AsterCredentials:
    user, signer = Account.create(), Account.create()
    await admin(sim, "/_sim/aster/agents", {"user": user.address, "signer": signer.address})
    await admin(sim, "/_sim/accounts", {"user": user.address, "collateral": collateral})
    return AsterCredentials(user_address=user.address, signer_private_key=SecretStr(signer.key.hex()))


async def v1_account(sim: SimulatorHandle, collateral: str = "100000") -> AsterCredentials:
    key, secret = "K" + Account.create().key.hex()[2:40], "S" + Account.create().key.hex()[2:60]
    answer = await admin(sim, "/_sim/aster/apikeys", {"api_key": key, "api_secret": secret})
    await admin(sim, "/_sim/accounts", {"user": answer["user"], "collateral": collateral})
    return AsterCredentials(api_key=SecretStr(key), api_secret=SecretStr(secret))


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[SimulatorHandle]:
    async with await start_simulator(DEMO_SCENARIO, venues=["aster"], push_interval_seconds=0.1) as handle:
        await admin(handle, "/_sim/markets/ETH/mark", {"price": "3600"})
        yield handle


@pytest_asyncio.fixture
async def client(sim: SimulatorHandle) -> AsyncIterator[AsterClient]:
    c = AsterClient(await v3_account(sim), config(sim), markets=["ETH"], backoff_initial_seconds=0.05)
    await c.connect()
    try:
        yield c
    finally:
        await c.disconnect()


async def drain(c: AsterClient, *, quiet: float = 0.3) -> list[Any]:
    """Events until none arrives for `quiet` seconds."""
    assert c.account_stream is not None
    out = []
    while True:
        try:
            out.append(await asyncio.wait_for(c.account_stream.queue.get(), quiet))
        except asyncio.TimeoutError:
            return out


# ------------------------------------------------------------------------------------------- market data


async def test_funding_adapter_reads_the_venue_through_its_intervals(sim: SimulatorHandle) -> None:
    adapter = AsterFundingAdapter(config(sim))
    try:
        md = await adapter.fetch_market_data()
        by = {m.venue_symbol: m for m in md.markets}
        assert {
            s: m.funding_period_hours for s, m in by.items() if s in ("ETHUSDT", "SOLUSDT", "WIFUSDT")
        } == {
            "ETHUSDT": D(8),
            "SOLUSDT": D(4),
            "WIFUSDT": D(1),
        }
        assert by["ETHUSDT"].stats.mark_price == D(3600) and by["ETHUSDT"].stats.open_interest_usd is None
        rates = {s.venue_symbol: s for s in (await adapter.fetch_funding_rates(md.markets)).samples}
        # demo_assets.json: ETH -0.000020/h (8 h), SOL +0.000005/h (4 h), WIF -0.000015/h (1 h)
        assert (rates["ETHUSDT"].raw_rate, rates["ETHUSDT"].rate_hourly) == (D("-0.00016000"), D("-0.00002"))
        assert (rates["SOLUSDT"].raw_rate, rates["SOLUSDT"].rate_hourly) == (D("0.00002000"), D("0.000005"))
        assert (rates["WIFUSDT"].raw_rate, rates["WIFUSDT"].rate_hourly) == (D("-0.00001500"), D("-0.000015"))
        now = datetime.now(timezone.utc)
        history = await adapter.fetch_funding_history(by["SOLUSDT"], now - timedelta(days=4), now)
        assert len(history.samples) == 18 and {s.raw_period_hours for s in history.samples[1:]} == {D(4)}
        assert {s.source for s in history.samples[1:]} == {"aster:fundingRate:4h"}
    finally:
        await adapter.close()


async def test_books_follow_the_depth_stream_and_resync_after_a_gap(
    client: AsterClient, sim: SimulatorHandle
) -> None:
    bid, ask = await client.fetch_bbo_prices("ETH")
    assert (bid, ask) == (D("3599.28"), D("3600.72"))
    sync = client.market_data.stream.syncs["ETHUSDT"]
    before = (sync.snapshots, sync.book.gaps)
    await admin(sim, "/_sim/ws/faults", {"skip_depth_update": True})
    await admin(sim, "/_sim/markets/ETH/mark", {"price": "3610"})  # moves every level: a depth update
    for _ in range(100):
        if sync.book.gaps > before[1] and sync.book.is_synced and sync.snapshots > before[0]:
            break
        await asyncio.sleep(0.05)
    assert sync.book.gaps == before[1] + 1 and sync.snapshots > before[0]
    assert await client.fetch_bbo_prices("ETH") == (D("3609.27"), D("3610.73"))


# ------------------------------------------------------------------------------------------- orders


async def test_limit_orders_gtc_cancel_by_client_and_venue_id(client: AsterClient) -> None:
    a, b = cid(), cid()
    o = await client.place_limit_order("ETH", Side.BUY, D("0.5"), D("3500.009"), client_order_id=a)
    assert (o.status, o.price, o.quantity, o.time_in_force, o.client_order_id) == (
        OrderStatus.OPEN,
        D("3500.00"),
        D("0.5"),
        TimeInForce.GTC,
        a,
    )
    o2 = await client.place_limit_order("ETH", Side.SELL, D("0.5"), D("3700.001"), client_order_id=b)
    assert o2.price == D("3700.01")  # SELL rounds up: never worse than asked
    assert [x.client_order_id for x in await client.get_active_orders("ETH")] == [a, b]
    await client.cancel_order("ETH", client_order_id=a)
    await client.cancel_order("ETH", order_id=o2.order_id)
    done = await client.get_order_info("ETH", client_order_id=a)
    assert done is not None and done.status is OrderStatus.CANCELED
    assert await client.get_active_orders() == []
    assert await client.get_order_info("ETH", client_order_id="999999999") is None
    with pytest.raises(AsterRejectedError) as err:
        await client.cancel_order("ETH", client_order_id=a)
    assert err.value.code == -2011


async def test_ioc_post_only_and_duplicate_client_ids(client: AsterClient) -> None:
    ioc = await client.orders.place_limit(
        "ETH",
        Side.BUY,
        D("0.2"),
        D("3590"),
        post_only=False,
        reduce_only=False,
        client_order_id=cid(),
        time_in_force=TimeInForce.IOC,
    )
    assert (ioc.status, ioc.filled_quantity) == (OrderStatus.CANCELED, D(0))  # EXPIRED: nothing at 3590
    crossing = await client.place_limit_order(
        "ETH", Side.BUY, D("0.2"), D("3605"), post_only=True, client_order_id=cid()
    )
    assert crossing.status is OrderStatus.REJECTED and "post-only" in (crossing.reject_reason or "")
    assert (await client.get_order_info("ETH", client_order_id=crossing.client_order_id)) is not None
    resting = await client.place_limit_order(
        "ETH", Side.BUY, D("0.2"), D("3590"), post_only=True, client_order_id=cid()
    )
    assert (resting.status, resting.time_in_force) == (OrderStatus.OPEN, TimeInForce.POST_ONLY)
    with pytest.raises(AsterRejectedError) as err:
        await client.place_limit_order(
            "ETH", Side.BUY, D("0.2"), D("3590"), client_order_id=resting.client_order_id or ""
        )
    assert err.value.code == -4116
    await client.cancel_all_orders()
    assert await client.get_active_orders() == []


async def test_market_order_fill_reduce_only_positions_and_fills(client: AsterClient) -> None:
    since = datetime.now(timezone.utc) - timedelta(minutes=1)
    with pytest.raises(AsterRejectedError) as err:
        await client.place_market_order(
            "ETH", Side.SELL, D("0.1"), max_slippage_bps=D(20), reduce_only=True, client_order_id=cid()
        )
    assert err.value.code == -2022  # reduce-only with no position
    send = await client.prepare_market_order(
        "ETH", Side.BUY, D("0.3"), max_slippage_bps=D(20), client_order_id=cid()
    )
    o = await send()
    assert (o.status, o.filled_quantity, o.order_type) == (OrderStatus.FILLED, D("0.3"), OrderType.MARKET)
    assert o.price == D("3607.92")  # bound: floor_tick(3600.72 x 1.002)
    p = await client.get_position_snapshot("ETH")
    assert p is not None and (p.quantity, p.entry_price) == (D("0.3"), D("3600.72"))
    assert p.liquidation_price is None or p.liquidation_price < D(3600)
    close = await client.place_market_order(
        "ETH", Side.SELL, D("0.5"), max_slippage_bps=D(20), reduce_only=True, client_order_id=cid()
    )
    assert close.filled_quantity == D("0.3")  # capped at the position (never flips it)
    assert await client.get_positions() == []
    fills = await client.get_fills(since, "ETH")
    assert [(f.side, f.quantity, f.price, f.liquidity) for f in fills] == [
        (Side.BUY, D("0.3"), D("3600.72"), "taker"),
        (Side.SELL, D("0.3"), D("3599.28"), "taker"),
    ]
    assert fills[0].fee == D("3600.72") * D("0.3") * D("0.00035")
    balance = await client.get_account_balance()
    assert balance.equity == D(100_000) - (D("3600.72") - D("3599.28")) * D("0.3") - sum(f.fee for f in fills)


async def test_leverage_and_the_venues_refusal(client: AsterClient) -> None:
    await client.set_leverage("ETH", D("5.7"))
    assert await client.get_leverage_info("ETH") == (D(5), D(50))
    with pytest.raises(AsterRejectedError, match=r"outside 1\.\.50"):
        await client.set_leverage("ETH", D(51))
    with pytest.raises(AsterRejectedError) as err:  # past the client's check: the venue's own -4028
        await client.http.write(
            "POST", "leverage", [("symbol", "ETHUSDT"), ("leverage", "75")], what="leverage"
        )
    assert err.value.code == -4028


async def test_stale_book_refuses_market_orders(client: AsterClient, sim: SimulatorHandle) -> None:
    client.market_data.stream.book("ETHUSDT").mark_out_of_sync()
    with pytest.raises(StaleBookError):
        await client.place_market_order(
            "ETH", Side.BUY, D("0.1"), max_slippage_bps=D(20), client_order_id=cid()
        )


# ------------------------------------------------------------------------------------------- faults


async def test_5xx_on_placement_reconciles_by_client_id_without_doubling(
    client: AsterClient, sim: SimulatorHandle
) -> None:
    await admin(
        sim, "/_sim/faults", {"http_status": 503, "count": 1, "method": "POST", "path": "/fapi/v3/order"}
    )
    o = await client.place_market_order(
        "ETH", Side.BUY, D("0.2"), max_slippage_bps=D(20), client_order_id=cid()
    )
    assert (o.status, o.filled_quantity) == (OrderStatus.FILLED, D("0.2"))
    p = await client.get_position_snapshot("ETH")
    assert p is not None and p.quantity == D("0.2")  # sent once more after the lookup: one order, not two


async def test_latency_then_lookup_finds_the_order_the_venue_took(
    client: AsterClient, sim: SimulatorHandle
) -> None:
    client.config = client.http.config = client.config.model_copy(update={"http": http(0.5, 1, 0.05)})
    await admin(
        sim, "/_sim/faults", {"latency_seconds": 1.0, "count": 1, "method": "POST", "path": "/fapi/v3/order"}
    )
    o = await client.place_limit_order("ETH", Side.BUY, D("0.2"), D("3500"), client_order_id=cid())
    await asyncio.sleep(0.7)
    found = await client.get_order_info("ETH", client_order_id=o.client_order_id)
    assert found is not None and found.status is OrderStatus.OPEN
    assert len(await client.get_active_orders("ETH")) == 1


async def test_engine_rejection_and_rate_limits(client: AsterClient, sim: SimulatorHandle) -> None:
    await admin(sim, "/_sim/engine/faults", {"reject_next": 1})
    with pytest.raises(AsterRejectedError) as err:
        await client.place_market_order(
            "ETH", Side.BUY, D("0.1"), max_slippage_bps=D(20), client_order_id=cid()
        )
    assert err.value.code == -2010
    await admin(sim, "/_sim/faults", {"http_status": 429, "count": 1, "retry_after_seconds": 1})
    started = asyncio.get_running_loop().time()
    assert (await client.get_account_balance()).equity == D(100_000)  # retried after Retry-After
    assert asyncio.get_running_loop().time() - started >= 0.9
    assert client.http.limiter.penalties >= 1


# ------------------------------------------------------------------------------------------- signatures


async def test_bad_signatures_are_refused_with_the_venues_own_errors(sim: SimulatorHandle) -> None:
    good = await v3_account(sim)
    stranger = AsterCredentials(
        user_address=good.user_address, signer_private_key=SecretStr(Account.create().key.hex())
    )
    result = await verify_aster_credentials(stranger, config(sim))
    assert not result.ok and "-2015" in result.detail  # a signer that is not the user's API wallet
    # a signature by another key, claiming the registered signer: -1022
    forged = AsterHttp(config(sim), venue_scope(config(sim)), signer_for(good, config(sim)))
    impostor = signer_for(stranger, config(sim))
    forged.signer = type(impostor)(
        good.user_address or "", good.signer_address or "", Account.create().key.hex()
    )  # type: ignore[call-arg]
    with pytest.raises(AsterAuthError) as err:
        await forged.signed_read("balance")
    assert (err.value.code, "Signature for this request is not valid." in str(err.value)) == (-1022, True)
    await forged.close()
    ok = await verify_aster_credentials(good, config(sim))
    assert ok.ok and "equity 100000" in ok.detail
    v1 = await v1_account(sim)
    assert (await verify_aster_credentials(v1, config(sim))).ok
    wrong = AsterCredentials(api_key=v1.api_key, api_secret=SecretStr("X" * 40))
    bad = await verify_aster_credentials(wrong, config(sim))
    assert not bad.ok and "-1022" in bad.detail and "X" * 40 not in bad.detail


async def test_v1_api_key_client_trades(sim: SimulatorHandle) -> None:
    c = AsterClient(await v1_account(sim), config(sim), markets=["ETH"])
    await c.connect()
    try:
        o = await c.place_market_order(
            "ETH", Side.SELL, D("0.1"), max_slippage_bps=D(20), client_order_id=cid()
        )
        assert (o.status, o.filled_quantity) == (OrderStatus.FILLED, D("0.1"))
        p = await c.get_position_snapshot("ETH")
        assert p is not None and p.quantity == D("-0.1")
        kinds = [e.kind for e in await drain(c)]
        assert EventKind.FILL in kinds and EventKind.ORDER in kinds
    finally:
        await c.disconnect()


# ------------------------------------------------------------------------------------------- user stream


async def test_user_stream_reconnects_without_duplicate_or_missed_fills(
    client: AsterClient, sim: SimulatorHandle
) -> None:
    await client.place_market_order("ETH", Side.BUY, D("0.1"), max_slippage_bps=D(20), client_order_id=cid())
    first = [e for e in await drain(client) if e.kind is EventKind.FILL]
    assert len(first) == 1
    await admin(sim, "/_sim/ws/faults", {"drop_connections": True})
    # while the user stream is down: another fill, seen only over REST
    await client.http.write(
        "POST",
        "order",
        [
            ("symbol", "ETHUSDT"),
            ("side", "BUY"),
            ("type", "MARKET"),
            ("quantity", "0.1"),
            ("newClientOrderId", cid()),
        ],
        what="order while disconnected",
    )
    assert client.account_stream is not None
    assert await client.account_stream.wait_subscribed(5)
    await client.place_market_order("ETH", Side.BUY, D("0.1"), max_slippage_bps=D(20), client_order_id=cid())
    later = [e.fill for e in await drain(client, quiet=0.5) if e.kind is EventKind.FILL]
    ids = [f.fill_id for f in later if f is not None]
    assert len(ids) == 2 and len(set(ids)) == 2 and first[0].fill and first[0].fill.fill_id not in ids
    assert client.account_stream.backfilled >= 1


async def test_funding_is_paid_every_interval_of_the_symbol() -> None:
    """At 3600x, WIF (1 h interval) pays every simulated hour, ETH (8 h) only at 00/08/16 UTC."""
    async with await start_simulator(
        DEMO_SCENARIO, venues=["aster"], push_interval_seconds=0.1, speed=3600
    ) as fast:
        await admin(fast, "/_sim/markets/WIF/mark", {"price": "2"})
        await admin(fast, "/_sim/markets/WIF/funding", {"rate_hourly": "0.0001"})
        c = AsterClient(await v3_account(fast), config(fast), markets=["WIF"], account_stream=False)
        await c.connect()
        try:
            since = datetime.fromtimestamp(fast.clock.now_ms() / 1000, tz=timezone.utc)
            o = await c.place_market_order(
                "WIF", Side.BUY, D(1000), max_slippage_bps=D(50), client_order_id=cid()
            )
            assert o.filled_quantity == D(1000)
            await asyncio.sleep(3.2)
            pays = await c.get_funding_payments(since, "WIF")
            assert len(pays) >= 2
            assert {p.amount for p in pays} == {D("-0.2")}  # 1000 x 2 x 0.0001, longs pay
            hours = [p.ts for p in pays]
            assert all(t.minute == 0 and t.second == 0 for t in hours)
            assert all((b - a) == timedelta(hours=1) for a, b in itertools.pairwise(hours))
        finally:
            await c.disconnect()
