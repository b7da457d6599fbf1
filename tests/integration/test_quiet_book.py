"""Regression of the soak's seed 2 (issue #18): a quiet market is not a stale book.

`perparb soak --seed 2` (12 accounts, 6 simulated hours) ended with every funding-arbitrage account naked: the
exits had closed the Aster legs, but each Backpack exit order was refused with `StaleBookError` ("no fresh order
book (age 69 s)"), 78 times for one account, because Backpack (like Aster) pushes depth only when the book
changes, and the book had not changed since the entries. A synced book that has not changed is right; the clients
now confirm such a book with a REST snapshot before refusing a market order on it.

Here: the mark is pinned (the simulated market maker stops requoting), the client's book ages past its limit with
no delta, and a bounded market order must still fill after one REST confirmation; when that confirmation fails the
order is refused. Backpack, Lighter and Hyperliquid (the base freshness check, exchange_clients.base.book_freshness). Replay the soak itself with `perparb soak --seed 2`
(bench/bench_soak.py --seeds 2).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import ROUND_UP, Decimal

import aiohttp
import pytest
import pytest_asyncio

from exchange_clients.base.client import BaseExchangeClient, StaleBookError
from exchange_clients.base.order_book import OrderBook
from exchange_clients.base.trading import OrderStatus, Side
from exchange_clients.registry import create_client, default_config
from perparb.soak.venues import SimAdminClient, SimVenue
from perparb_core.settings import HttpConfig
from simulator.server import DEMO_SCENARIO, SimulatorHandle, start_simulator

pytestmark = pytest.mark.integration

QUIET_VENUES = {"backpack": 0.2, "lighter": 30.0, "hyperliquid": 30.0}
"""Venues whose simulated book goes quiet when the mark is pinned, with the simulator's push interval that lets it.
Backpack sends depth only on change. Lighter's empty `update/order_book` heartbeats and Hyperliquid's periodic
`l2Book` pushes come every push interval: a long one stands for a feed that stopped pushing while the book is right
(a quiet block, lost heartbeats). Aster pushes only changes too, but its simulated market maker never rests; its
`confirm` is unit-tested (tests/unit/test_quiet_book_confirm.py)."""

REST_BOOK = {
    "backpack": {"method": "GET", "path": "/api/v1/depth"},
    "lighter": {"method": "GET", "path": "/api/v1/orderBookOrders"},
    "hyperliquid": {"method": "POST", "path": "/info"},
}
"""Each venue's REST order-book request (what a confirmation reads), for the fault that makes it fail."""


@pytest_asyncio.fixture(params=sorted(QUIET_VENUES))
async def venue_sim(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, SimulatorHandle]]:
    venue = request.param
    async with await start_simulator(
        DEMO_SCENARIO, venues=[venue], push_interval_seconds=QUIET_VENUES[venue]
    ) as handle:
        yield venue, handle


async def quiet_client(
    venue: str, sim: SimulatorHandle, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> tuple[BaseExchangeClient, SimAdminClient, OrderBook, list[str], Decimal]:
    """A funded client of `venue` whose ETH book is synced and quiet past the client's limit (1 s), the admin
    client, the book, the list of its REST confirmations (markets, appended as they are read) and an order size."""
    admin = SimAdminClient(
        http, {venue: SimVenue(venue, sim.url(venue).rstrip("/"), sim.venues[venue].root_url)}
    )
    await admin.discover("ETH")
    await admin.set_mark(venue, Decimal("3600"))  # pinned: the market maker quotes once more, then rests
    config = default_config(venue, http=HttpConfig(timeout_seconds=5, retries=1)).pointed_at(
        admin.venues[venue].rest_url, None
    )
    creds, _ids = await admin.provision(venue, config, Decimal(100_000))
    client = create_client(creds, config, markets=["ETH"], max_book_age_seconds=1.0)
    await client.connect()
    market_data = client.market_data  # type: ignore[attr-defined]
    confirmations: list[str] = []
    read_snapshot = market_data._read_snapshot

    async def counted(book: OrderBook) -> None:
        confirmations.append(book.market)
        await read_snapshot(book)

    monkeypatch.setattr(market_data, "_read_snapshot", counted)
    attrs = await client.get_contract_attributes("ETH")
    book = market_data.stream.book(
        admin.venues[venue].market if venue != "lighter" else int(attrs.venue_market_id)
    )
    for _ in range(200):  # the book syncs, then goes quiet past the client's age limit
        age = book.age_seconds()
        if book.is_synced and age is not None and age > 1.5:
            break
        await asyncio.sleep(0.05)
    assert book.is_synced and (book.age_seconds() or 0) > 1.5, "the book never went quiet"
    step = max(attrs.min_size or Decimal(0), attrs.size_step)
    size = max(step * 10, (Decimal(20) / Decimal(3600) / step).to_integral_value(ROUND_UP) * step)
    return client, admin, book, confirmations, size


async def test_market_order_fills_on_a_quiet_book(
    venue_sim: tuple[str, SimulatorHandle], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A synced book unchanged past the limit is confirmed with ONE REST snapshot and the order fills on it."""
    venue, sim = venue_sim
    async with aiohttp.ClientSession() as http:
        client, _admin, book, confirmations, size = await quiet_client(venue, sim, http, monkeypatch)
        try:
            sequence = book.sequence
            assert confirmations == []
            order = await client.place_market_order(
                "ETH", Side.SELL, size, max_slippage_bps=Decimal(50), client_order_id="5150001"
            )
            assert order.status is OrderStatus.FILLED, order
            assert order.filled_quantity == size
            assert confirmations == [book.market]  # one confirmation, then the book was used
            assert book.sequence is not None and sequence is not None and book.sequence >= sequence
        finally:
            await client.disconnect()


async def test_market_order_refused_when_the_quiet_book_is_not_confirmed(
    venue_sim: tuple[str, SimulatorHandle], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same quiet book whose REST confirmation fails (the venue's order-book request answers 503) is refused
    with StaleBookError, after one confirmation attempt, and nothing is sent."""
    venue, sim = venue_sim
    async with aiohttp.ClientSession() as http:
        client, admin, book, confirmations, size = await quiet_client(venue, sim, http, monkeypatch)
        try:
            await admin.call(venue, "/_sim/faults", {"http_status": 503, "count": 50, **REST_BOOK[venue]})
            with pytest.raises(StaleBookError):
                await client.place_market_order(
                    "ETH", Side.SELL, size, max_slippage_bps=Decimal(50), client_order_id="5150002"
                )
            assert confirmations == [book.market]
            assert (book.age_seconds() or 0) > 1.0  # left as it was
            await admin.call(venue, "/_sim/faults", {"clear": True})
            assert await client.get_order_info("ETH", client_order_id="5150002") is None
        finally:
            await client.disconnect()
