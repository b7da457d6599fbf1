"""`ParadexClient` against the simulator through paradex-py (issue #5): every implemented method.

Expected prices are hand-computed as in tests/integration/test_sim_paradex_trading.py: with the ETH mark pinned at
3600, the simulator's maker quotes best bid 3599.28 and best ask 3600.72 (2 bps each side, tick 0.01), levels
0.72 apart, 27.773 ETH each. ETH: tick 0.01, step 0.0001, min notional 10 USD, imf_base 0.02 (max leverage 50),
taker fee 0.0002 (demo scenario `paradex/markets.json`).
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
from eth_account import Account
from paradex_py.account.utils import private_to_stark_key

from exchange_clients.base.client import StaleBookError
from exchange_clients.base.trading import EventKind, OrderStatus, OrderType, Side, TimeInForce
from exchange_clients.paradex.client import ParadexClient, create_paradex_client
from exchange_clients.paradex.client.session import ParadexRequestRejectedError
from exchange_clients.paradex.common import ParadexAuthError, ParadexRejectedError, ParadexUnavailableError
from exchange_clients.paradex.credentials import ParadexCredentials
from perparb_core.settings import VenueConfig
from simulator.server import DEMO_SCENARIO, SimulatorHandle, start_simulator
from tests.configs import sim_config

pytestmark = pytest.mark.integration

D = Decimal
ETH = "ETH-USD-PERP"


def root(sim: SimulatorHandle) -> str:
    return sim.url("paradex").removesuffix("/v1")


async def admin(sim: SimulatorHandle, path: str, body: Any = None, method: str = "POST") -> Any:
    async with aiohttp.ClientSession() as http:
        async with http.request(method, root(sim) + path, json=body) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json()


async def pin(sim: SimulatorHandle, mark: str = "3600", rate_hourly: str = "0") -> None:
    await admin(sim, f"/_sim/markets/{ETH}/mark", {"price": str(D(mark) * D("1.01"))})
    await admin(sim, f"/_sim/markets/{ETH}/mark", {"price": mark})
    await admin(sim, f"/_sim/markets/{ETH}/funding", {"rate_hourly": rate_hourly})


def settings_for(sim: SimulatorHandle) -> VenueConfig:
    return sim_config(sim, "paradex")


async def trader(sim: SimulatorHandle, collateral: str = "100000", **options: Any) -> ParadexClient:
    eth = Account.create()
    creds = ParadexCredentials(l1_address=eth.address, l1_private_key=eth.key.hex())
    client = create_paradex_client(
        creds, settings_for(sim), markets=["ETH"], backoff_initial_seconds=0.05, **options
    )
    assert isinstance(client, ParadexClient)
    await client.connect()
    await admin(sim, "/_sim/accounts", {"address": client.session.account_address, "collateral": collateral})
    return client


async def until(cond: Any, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not await cond():
        assert loop.time() < end, "condition not reached in time"
        await asyncio.sleep(0.05)


async def bbo_is(client: ParadexClient, bid: str, ask: str) -> None:
    async def ok() -> bool:
        try:
            return await client.fetch_bbo_prices("ETH") == (D(bid), D(ask))
        except StaleBookError:
            return False

    await until(ok)


@pytest_asyncio.fixture(scope="module")
async def sim() -> AsyncIterator[SimulatorHandle]:
    async with await start_simulator(DEMO_SCENARIO, push_interval_seconds=0.1) as handle:
        yield handle


@pytest_asyncio.fixture
async def client(sim: SimulatorHandle) -> AsyncIterator[ParadexClient]:
    await pin(sim)
    c = await trader(sim)
    try:
        await bbo_is(c, "3599.28", "3600.72")
        yield c
    finally:
        await c.disconnect()
        await admin(sim, "/_sim/venue/up")


async def test_market_data_and_contract_attributes(client: ParadexClient) -> None:
    attrs = await client.get_contract_attributes("ETH")
    assert (
        attrs.venue_market_id,
        attrs.tick_size,
        attrs.size_step,
        attrs.min_notional,
        attrs.max_leverage,
    ) == (
        ETH,
        D("0.01"),
        D("0.0001"),
        D("10"),
        D("50"),
    )
    assert (await client.get_contract_attributes(ETH)).symbol == "ETH"
    with pytest.raises(ParadexRejectedError, match="unknown market 'NOPE'"):
        await client.get_contract_attributes("NOPE")
    assert await client.fetch_bbo_prices("ETH") == (D("3599.28"), D("3600.72"))
    bids, asks = await client.get_order_book_depth("ETH", 2)
    assert bids == [(D("3599.28"), D("27.773")), (D("3598.56"), D("27.773"))]
    assert asks == [(D("3600.72"), D("27.773")), (D("3601.44"), D("27.773"))]
    assert client.get_exchange_name() == "paradex"


async def test_limit_orders_post_only_cancel_and_reads(client: ParadexClient) -> None:
    resting = await client.place_limit_order(
        "ETH", Side.BUY, D("0.12345"), D("3590.019"), post_only=True, client_order_id="pc-rest-1"
    )
    # rounded on the grid: size down to the step, a BUY price down to the tick
    assert (resting.quantity, resting.price, resting.status, resting.time_in_force, resting.order_type) == (
        D("0.1234"),
        D("3590.01"),
        OrderStatus.OPEN,
        TimeInForce.POST_ONLY,
        OrderType.LIMIT,
    )
    crossing = await client.place_limit_order(
        "ETH", Side.BUY, D("0.01"), D("3600.72"), post_only=True, client_order_id="pc-cross-1"
    )
    assert (crossing.status, crossing.reject_reason, crossing.filled_quantity) == (
        OrderStatus.REJECTED,
        "POST_ONLY_WOULD_CROSS",
        D(0),
    )
    sell = await client.place_limit_order(
        "ETH", Side.SELL, D("0.05"), D("3610.001"), client_order_id="pc-sell-1"
    )
    assert (sell.price, sell.time_in_force) == (D("3610.01"), TimeInForce.GTC)  # a SELL price rounds up

    active = await client.get_active_orders("ETH")
    assert sorted(o.client_order_id or "" for o in active) == ["pc-rest-1", "pc-sell-1"]
    assert await client.get_active_orders() == active
    by_cid = await client.get_order_info("ETH", client_order_id="pc-rest-1")
    by_id = await client.get_order_info("ETH", order_id=resting.order_id)
    assert by_cid == by_id and by_id is not None and by_id.order_id == resting.order_id
    assert await client.get_order_info("ETH", client_order_id="never-sent") is None
    assert await client.get_order_info("BTC", order_id=resting.order_id) is None  # another market

    await client.cancel_order("ETH", client_order_id="pc-rest-1")
    cancelled = await client.get_order_info("ETH", order_id=resting.order_id)
    assert cancelled is not None and (cancelled.status, cancelled.reject_reason) == (
        OrderStatus.CANCELED,
        "USER_CANCELED",
    )
    await client.cancel_order("ETH", order_id=resting.order_id)  # already closed: a no-op
    with pytest.raises(ParadexRequestRejectedError) as err:
        await client.cancel_order("ETH", order_id="123456789")
    assert err.value.code == "ORDER_ID_NOT_FOUND"
    with pytest.raises(ValueError, match="exactly one"):
        await client.cancel_order("ETH")
    await client.cancel_all_orders("ETH")
    assert await client.get_active_orders() == []
    with pytest.raises(ParadexRequestRejectedError) as dup:
        await client.place_limit_order("ETH", Side.BUY, D("0.01"), D("3500"), client_order_id="pc-sell-1")
    assert dup.value.code == "DUPLICATED_CLIENT_ID"
    with pytest.raises(ParadexRejectedError, match="below the minimum 10"):  # 0.002 x 3500 = 7 USD
        await client.place_limit_order("ETH", Side.BUY, D("0.002"), D("3500"), client_order_id="pc-small")


async def test_market_order_fills_and_updates_position_balance_and_fills(client: ParadexClient) -> None:
    start = datetime.now(timezone.utc) - timedelta(seconds=5)
    bought = await client.place_market_order(
        "ETH", Side.BUY, D("0.5"), max_slippage_bps=D(10), client_order_id="pc-mkt-1"
    )
    # sent as a LIMIT IOC at 3600.72 x 1.001 = 3604.32072 -> floor tick 3604.32; filled at the ask
    assert (bought.status, bought.filled_quantity, bought.price, bought.time_in_force) == (
        OrderStatus.FILLED,
        D("0.5"),
        D("3604.32"),
        TimeInForce.IOC,
    )
    (fill,) = await client.get_fills(start, "ETH")
    assert (fill.side, fill.price, fill.quantity, fill.fee, fill.liquidity, fill.client_order_id) == (
        Side.BUY,
        D("3600.72"),
        D("0.5"),
        D("0.360072"),  # 0.5 x 3600.72 x 0.0002
        "taker",
        "pc-mkt-1",
    )
    assert await client.get_fills(datetime.now(timezone.utc) + timedelta(hours=1)) == []
    position = await client.get_position_snapshot("ETH")
    assert position is not None
    assert (position.quantity, position.entry_price, position.mark_price, position.leverage) == (
        D("0.5"),
        D("3600.72"),
        D("3600"),
        D("50"),
    )
    assert position.unrealized_pnl == D("-0.36")  # 0.5 x (3600 - 3600.72), funding pinned at 0
    assert position.margin == D("1800.36") / 50
    assert await client.get_positions() == [position]
    assert await client.get_leverage_info("ETH") == (D("50"), D("50"))
    balance = await client.get_account_balance()
    assert (balance.collateral, balance.equity, balance.available) == (
        D("99999.639928"),
        D("99999.279928"),
        D("99963.279928"),  # equity - 0.5 x 3600 x 0.02
    )

    reduced = await client.place_market_order(
        "ETH", Side.SELL, D("0.25"), max_slippage_bps=D(10), reduce_only=True, client_order_id="pc-mkt-2"
    )
    assert (reduced.status, reduced.reduce_only, reduced.price) == (OrderStatus.FILLED, True, D("3595.69"))
    position = await client.get_position_snapshot("ETH")
    assert position is not None and position.quantity == D("0.25")
    too_much = await client.place_market_order(
        "ETH", Side.BUY, D("0.1"), max_slippage_bps=D(10), reduce_only=True, client_order_id="pc-mkt-3"
    )
    assert (too_much.status, too_much.reject_reason) == (OrderStatus.REJECTED, "REDUCE_ONLY_WOULD_INCREASE")
    # within 10 bps of 3600.72 (bound 3604.32) the book holds 6 levels x 27.773 = 166.638 ETH: 200 is refused
    with pytest.raises(StaleBookError, match="too thin"):
        await client.place_market_order(
            "ETH", Side.BUY, D("200"), max_slippage_bps=D(10), client_order_id="pc-mkt-4"
        )


async def test_leverage_limits(client: ParadexClient) -> None:
    # no margin configuration yet: GET /account/margin answers the market maximum 1 / imf_base
    assert await client.get_leverage_info("ETH") == (D("50"), D("50"))
    with pytest.raises(ParadexRejectedError, match=r"leverage 51 outside the integers 1\.\.50"):
        await client.set_leverage("ETH", D("51"))
    with pytest.raises(ParadexRejectedError, match="outside the integers"):
        await client.set_leverage("ETH", D("2.5"))
    with pytest.raises(ParadexRejectedError, match="outside the integers"):
        await client.set_leverage("ETH", D("0"))
    assert await client.get_leverage_info("ETH") == (D("50"), D("50"))


async def test_set_leverage_round_trip_and_margin_effect(sim: SimulatorHandle, client: ParadexClient) -> None:
    await client.set_leverage("ETH", D("5"))
    assert await client.get_leverage_info("ETH") == (D("5"), D("50"))
    # 1x: a resting bid for 30 ETH needs 30 x mark 3600 = 108,000 > 100,000: closed NOT_ENOUGH_MARGIN
    await client.set_leverage("ETH", D("1"))
    assert await client.get_leverage_info("ETH") == (D("1"), D("50"))
    refused = await client.place_limit_order("ETH", Side.BUY, D("30"), D("3500"), client_order_id="lev-1x")
    assert (refused.status, refused.reject_reason) == (OrderStatus.REJECTED, "NOT_ENOUGH_MARGIN")
    # 10x: the same order needs 30 x 3600 x 0.1 = 10,800
    await client.set_leverage("ETH", D("10"))
    order = await client.place_limit_order("ETH", Side.BUY, D("30"), D("3500"), client_order_id="lev-10x")
    assert order.status is OrderStatus.OPEN
    assert (await client.get_account_balance()).available == D("89200")
    await client.cancel_order("ETH", order_id=order.order_id)
    # a position reports the configured leverage too
    await client.place_market_order(
        "ETH", Side.BUY, D("0.5"), max_slippage_bps=D(10), client_order_id="lev-m"
    )
    position = await client.get_position_snapshot("ETH")
    assert position is not None and position.leverage == D("10")
    assert position.margin == D("1800.36") / 10  # cost 0.5 x 3600.72 / leverage
    # the simulator's own checks (the client refuses these before sending)
    address = client.session.account_address
    assert address
    for body, market, code in (
        ({"leverage": 51, "margin_type": "CROSS"}, ETH, "VALIDATION_ERROR"),
        ({"leverage": 5, "margin_type": "ISOLATED"}, ETH, "VALIDATION_ERROR"),
        ({"leverage": "5", "margin_type": "CROSS"}, ETH, "VALIDATION_ERROR"),
        ({"leverage": 5, "margin_type": "CROSS"}, "NOPE-USD-PERP", "MARKET_NOT_FOUND"),
    ):
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"{sim.url('paradex')}/account/margin/{market}",
                json=body,
                headers={"Authorization": f"Bearer {client.session.jwt}"},
            ) as resp:
                assert resp.status == 400
                assert (await resp.json())["error"] == code
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{sim.url('paradex')}/account/margin/{ETH}", json={"leverage": 5}) as resp:
            assert resp.status == 401
    assert await client.get_leverage_info("ETH") == (D("10"), D("50"))


async def test_market_order_refused_when_the_book_is_stale(
    sim: SimulatorHandle, client: ParadexClient
) -> None:
    await admin(sim, "/_sim/venue/down")  # drops the sockets; reconnects get 503 while down
    book = await client.market_data.book("ETH")
    await until(lambda: _false_when(book.is_synced))
    with pytest.raises(StaleBookError, match="not fresh"):
        await client.place_market_order(
            "ETH", Side.BUY, D("0.1"), max_slippage_bps=D(50), client_order_id="pc-st-1"
        )
    with pytest.raises(StaleBookError):
        await client.fetch_bbo_prices("ETH")
    with pytest.raises(ParadexUnavailableError):
        await client.get_account_balance()
    await admin(sim, "/_sim/venue/up")
    await bbo_is(client, "3599.28", "3600.72")
    assert await client.get_order_info("ETH", client_order_id="pc-st-1") is None  # never sent


async def _false_when(value: bool) -> bool:
    return not value


async def test_stale_book_by_age(sim: SimulatorHandle) -> None:
    """A book older than the limit whose REST confirmation fails (the order-book endpoint answers 503) is refused."""
    c = await trader(sim, max_book_age_seconds=0.0001, account_stream=False)
    try:
        await until(lambda: _true(c.market_data.stream.book(ETH).is_synced))
        await admin(
            sim,
            "/_sim/faults",
            {"http_status": 503, "count": 50, "method": "GET", "path": f"/v1/orderbook/{ETH}"},
        )
        await asyncio.sleep(0.01)
        with pytest.raises(StaleBookError, match=r"limit 0\.0001 s"):
            await c.place_market_order(
                "ETH", Side.SELL, D("0.1"), max_slippage_bps=D(50), client_order_id="x"
            )
    finally:
        await admin(sim, "/_sim/faults", {"clear": True})
        await c.disconnect()


async def test_quiet_book_is_confirmed_by_rest_not_refused(sim: SimulatorHandle) -> None:
    """A synced book that has not changed for longer than the limit (a pinned mark: the snapshot feed pushes only on
    change) is confirmed with one REST snapshot and used, instead of refusing the order (an exit leg refused for as
    long as the market is quiet is a naked leg)."""
    await pin(sim)
    c = await trader(sim, max_book_age_seconds=1.0, account_stream=False)
    try:
        await until(lambda: _true(c.market_data.stream.book(ETH).is_synced))
        book = c.market_data.stream.book(ETH)
        sequence = book.sequence
        await asyncio.sleep(1.5)
        age = book.age_seconds()
        assert age is not None and age > 1.0  # quiet: no push since
        order = await c.place_market_order(
            "ETH", Side.BUY, D("0.1"), max_slippage_bps=D(50), client_order_id="quiet-1"
        )
        assert order.status == OrderStatus.FILLED and order.filled_quantity == D("0.1")
        assert book.sequence == sequence  # the stream's seq_no chain is kept
        age = book.age_seconds()
        assert age is not None and age < 1.0  # confirmed by the REST snapshot
    finally:
        await c.disconnect()


async def _true(value: bool) -> bool:
    return value


async def test_refused_token_is_renewed(client: ParadexClient) -> None:
    client.session.api.client.headers["Authorization"] = "Bearer forged"
    balance = await client.get_account_balance()  # 401 -> authenticate again -> repeated
    assert balance.collateral == D("100000")


async def test_bad_credentials_and_venue_down_at_connect(sim: SimulatorHandle) -> None:
    await admin(sim, "/_sim/venue/down")
    eth = Account.create()
    creds = ParadexCredentials(l1_address=eth.address, l1_private_key=eth.key.hex())
    client = ParadexClient(creds, settings_for(sim))
    try:
        with pytest.raises(ParadexUnavailableError, match="HTTP 503"):
            await client.connect()
    finally:
        await admin(sim, "/_sim/venue/up")
        await client.disconnect()
    stark_key = "0x1234abcd"
    sub = ParadexCredentials(l2_private_key=stark_key, l2_address="0x" + "ab" * 31)
    with pytest.raises(ParadexAuthError, match="NOT_ONBOARDED"):
        await ParadexClient(sub, settings_for(sim)).connect()


async def test_subkey_account_trades(sim: SimulatorHandle, client: ParadexClient) -> None:
    main = client.session.account_address
    key = "0x5ab0c1"
    await admin(
        sim,
        "/_sim/paradex/subkeys",
        {"l2_address": main, "public_key": hex(private_to_stark_key(int(key, 16)))},
    )
    sub = ParadexClient(
        ParadexCredentials(l2_private_key=key, l2_address=main), settings_for(sim), account_stream=False
    )
    await sub.connect()
    try:
        placed = await sub.place_limit_order("ETH", Side.BUY, D("0.01"), D("3500"), client_order_id="sub-1")
        assert placed.status is OrderStatus.OPEN
        # the main account sees the subkey's order
        assert [o.client_order_id for o in await client.get_active_orders("ETH")] == ["sub-1"]
    finally:
        await sub.cancel_all_orders()
        await sub.disconnect()


async def test_events_stream_orders_fills_and_positions(client: ParadexClient) -> None:
    assert client.account_stream is not None
    channels = set(client.account_stream.channels)  # orders, fills, positions and (account state) account
    await until(lambda: _true(client.account_stream.subscribed >= channels))  # type: ignore[union-attr]
    await client.place_market_order(
        "ETH", Side.BUY, D("0.1"), max_slippage_bps=D(10), client_order_id="pc-ev-1"
    )
    seen: dict[EventKind, Any] = {}
    events = client.events()

    async def collect() -> None:
        async for event in events:
            if event.kind not in seen:
                seen[event.kind] = event
            if {EventKind.ORDER, EventKind.FILL, EventKind.POSITION} <= set(seen):
                return

    await asyncio.wait_for(collect(), 10)
    assert seen[EventKind.ORDER].order.client_order_id == "pc-ev-1"
    fill = seen[EventKind.FILL].fill
    assert (fill.price, fill.quantity, fill.side) == (D("3600.72"), D("0.1"), Side.BUY)
    assert seen[EventKind.POSITION].position.quantity == D("0.1")


async def test_funding_payments_after_simulated_hours() -> None:
    async with await start_simulator(DEMO_SCENARIO, push_interval_seconds=0.1, speed=3600) as fast:
        await pin(fast, rate_hourly="0.0001")
        c = await trader(fast, account_stream=False, max_book_age_seconds=3600)
        try:
            start = datetime.now(timezone.utc) - timedelta(seconds=5)
            await c.place_limit_order(
                "ETH", Side.BUY, D("1"), D("3700"), client_order_id="f-1"
            )  # crosses: fills
            assert await c.get_funding_payments(start) == []
            await asyncio.sleep(1.0)  # ~1 simulated hour at 0.0001 / h on a 3600 mark: a long pays ~0.36 USD
            await c.place_limit_order("ETH", Side.SELL, D("0.4"), D("3500"), client_order_id="f-2")
            payments = await c.get_funding_payments(start)
            raw = await c.session.read("funding", lambda api: api.fetch_funding_payments({"market": ETH}))
            fills = await c.get_fills(start, "ETH")
        finally:
            await c.disconnect()
    (payment,) = payments
    assert payment.amount == D(raw["results"][0]["payment"])
    assert D("-1.2") < payment.amount < D("-0.15")  # 0.5 to 3 simulated hours of 0.36 USD
    assert (payment.symbol, payment.ts) == ("ETH", fills[-1].ts)  # realised by the reducing fill
