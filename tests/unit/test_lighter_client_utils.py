"""Pure parts of the Lighter trading client: integer scaling, client order indexes, auth token reuse, WS URL,
error strings, and the parsers on recorded payloads (skipped without ../shared)."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange_clients.base.trading import OrderStatus, Side, TimeInForce
from exchange_clients.lighter.client.utils.caching import (
    EPOCH_MS,
    AuthTokenCache,
    ClientOrderIds,
    ClientOrderIndexAllocator,
    LighterMarket,
)
from exchange_clients.lighter.client.utils.converters import (
    MAX_BASE_AMOUNT,
    MAX_PRICE,
    parse_order,
    parse_position,
    parse_position_funding,
    parse_trade,
    scale_to_int,
    unscale,
    venue_error_code,
)
from exchange_clients.lighter.common import LighterAuthError
from exchange_clients.lighter.config import ws_url_from_rest
from exchange_clients.lighter.funding_adapter.fetchers import parse_order_book_details
from tests.shared_data import load_payload

D = Decimal


def test_ws_url_from_rest() -> None:
    assert (
        ws_url_from_rest("https://mainnet.zklighter.elliot.ai") == "wss://mainnet.zklighter.elliot.ai/stream"
    )
    assert ws_url_from_rest("http://127.0.0.1:8080/") == "ws://127.0.0.1:8080/stream"
    with pytest.raises(ValueError, match="http"):
        ws_url_from_rest("ftp://x")


@given(steps=st.integers(min_value=1, max_value=MAX_PRICE), decimals=st.integers(min_value=0, max_value=8))
def test_scaling_round_trips(steps: int, decimals: int) -> None:
    value = unscale(steps, decimals)
    assert scale_to_int(value, decimals, what="price", maximum=MAX_PRICE) == steps


def test_scaling_refuses_off_grid_and_out_of_range() -> None:
    assert scale_to_int(D("3600.97"), 2, what="price", maximum=MAX_PRICE) == 360097
    assert scale_to_int(D("0.5"), 4, what="size", maximum=MAX_BASE_AMOUNT) == 5000
    with pytest.raises(ValueError, match="not a multiple of 1e-2"):
        scale_to_int(D("3600.975"), 2, what="price", maximum=MAX_PRICE)
    with pytest.raises(ValueError, match="outside"):
        scale_to_int(D("50000000"), 2, what="price", maximum=MAX_PRICE)


def test_allocator_is_monotonic_and_starts_at_the_clock() -> None:
    now = [EPOCH_MS + 1000]
    alloc = ClientOrderIndexAllocator(lambda: now[0])
    assert [alloc.next() for _ in range(3)] == [64_000, 64_001, 64_002]
    now[0] += 1
    assert alloc.next() == 64_064
    # a restart (new allocator) one millisecond later starts above everything issued before
    now[0] += 1
    assert ClientOrderIndexAllocator(lambda: now[0]).next() == 64_128


def test_allocator_unique_across_threads() -> None:
    alloc = ClientOrderIndexAllocator(lambda: EPOCH_MS + 5)  # frozen clock: only the counter separates them
    out: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        got = [alloc.next() for _ in range(500)]
        with lock:
            out.extend(got)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(out)) == 4000 and min(out) == 320 and max(out) == 4319


def test_client_order_id_mapping() -> None:
    ids = ClientOrderIds(ClientOrderIndexAllocator(lambda: EPOCH_MS))
    assert ids.index_for("12345") == 12345 and ids.id_for(12345) == "12345"
    first = ids.index_for("arb-1")
    assert ids.index_for("arb-1") == first  # a retry reuses the index
    assert ids.index_for("arb-2") != first
    assert ids.id_for(first) == "arb-1" and ids.lookup("arb-1") == first and ids.lookup("unknown") is None
    assert ids.index_for("007") != 7  # not canonical: allocated, never confused with index 7
    assert ids.index_for(str(2**48)) != 2**48  # beyond 2^48-1: allocated
    assert ids.id_for(0) is None
    with pytest.raises(ValueError, match="empty"):
        ids.index_for(" ")


def test_auth_token_reused_until_close_to_expiry() -> None:
    now = [1000.0]
    made: list[int] = []

    def create(seconds: int) -> tuple[str | None, str | None]:
        made.append(seconds)
        return f"{int(now[0]) + seconds}:1:3:sig", None

    cache = AuthTokenCache(create, lifetime_seconds=600, refresh_margin_seconds=60, clock=lambda: now[0])
    assert cache.get() == "1600:1:3:sig"
    now[0] = 1539.0
    assert cache.get() == "1600:1:3:sig"
    now[0] = 1540.0
    assert cache.get() == "2140:1:3:sig" and made == [600, 600]
    with pytest.raises(LighterAuthError, match="boom"):
        AuthTokenCache(lambda s: (None, "boom")).get()


def test_venue_error_strings() -> None:
    sdk_repr = "HTTP response body: code=21600 message='given order is not an active limit order' additional_properties={}"
    assert venue_error_code(sdk_repr) == (21600, "given order is not an active limit order")
    assert venue_error_code('HTTP response body: {"code":21104,"message":"invalid nonce"}') == (
        21104,
        "invalid nonce",
    )
    assert venue_error_code("OrderExpiry is invalid") == (None, "OrderExpiry is invalid")


def test_recorded_order_trade_position_funding() -> None:
    [order_row] = load_payload("lighter", "rest_accountActiveOrders")["orders"]
    order = parse_order(order_row, "ETH")
    assert (order.order_id, order.client_order_id, order.side, order.status, order.reject_reason) == (
        "281474977354074",
        None,
        Side.SELL,
        OrderStatus.CANCELED,
        "canceled-margin-not-allowed",
    )
    assert (order.quantity, order.price, order.time_in_force) == (D("36.0386"), D("2221.60"), TimeInForce.IOC)

    [trade] = load_payload("lighter", "rest_trades_account")["trades"]
    fill = parse_trade(trade, 1077, "ETH")
    assert fill is not None
    assert (fill.side, fill.liquidity, fill.price, fill.quantity, fill.fee, fill.order_id) == (
        Side.BUY,
        "taker",
        D("2958.75"),
        D("10.2304"),
        D(0),
        "562949952870533",
    )
    assert fill.ts == datetime.fromtimestamp(1766386112.741, tz=timezone.utc)
    maker = parse_trade(trade, 20, "ETH")
    assert maker is not None and (maker.side, maker.liquidity) == (Side.SELL, "maker")
    assert parse_trade(trade, 5, "ETH") is None

    account = load_payload("lighter", "rest_account_with_eth_position")["accounts"][0]
    pos = parse_position(account["positions"][0], "ETH")
    assert pos is not None
    assert (pos.quantity, pos.entry_price, pos.leverage, pos.unrealized_pnl) == (
        D("18.0193"),
        D("2669.84"),
        D(20),
        D("6197.829558"),
    )
    assert pos.mark_price == D("54306.566340") / D("18.0193")
    assert pos.margin == D("54306.566340") * D("0.05")
    assert pos.funding_accrued is None  # total_funding_paid_out absent in the recording

    [funding] = load_payload("lighter", "rest_positionFunding_fragment")["position_fundings"]
    pay = parse_position_funding(funding, "XYZ")
    assert (pay.amount, pay.rate, pay.position_quantity) == (D("-0.001840"), D("0.0000158"), D("0.0071"))
    assert pay.ts == datetime.fromtimestamp(1791525600, tz=timezone.utc)


def parse_markets(body: dict[str, Any]) -> list[LighterMarket]:
    """The client's market view, built from the venue's one orderBookDetails parser."""
    return [
        LighterMarket.from_info(m) for m in parse_order_book_details(body, datetime.now(timezone.utc)).markets
    ]


def test_recorded_market_details() -> None:
    body = load_payload("lighter", "rest_orderBookDetails_market0")
    [eth] = [m for m in parse_markets(body) if m.market_id == 0]
    assert (eth.symbol, eth.tick_size, eth.size_step, eth.max_leverage, eth.default_leverage) == (
        "ETH",
        D("0.01"),
        D("0.0001"),
        D(50),
        D(20),
    )


def test_bad_market_row_is_rejected_and_the_rest_kept(caplog: pytest.LogCaptureFixture) -> None:
    body = {
        "order_book_details": [
            {"symbol": "ETH", "market_id": 0, "size_decimals": 4, "price_decimals": 2, "status": "active"},
            {"symbol": "BAD", "market_id": 1, "status": "active"},
            "junk",
        ]
    }
    assert [m.symbol for m in parse_markets(body)] == ["ETH"]
    assert sum("BAD" in r.getMessage() or "junk" in r.getMessage() for r in caplog.records) == 2
