"""The simulator's Paradex trading protocol driven by the OFFICIAL paradex-py 0.8.2 SDK (issue #4 item 4).

Every REST answer goes through paradex-py (`Paradex`, `ParadexSubkey`, `ParadexWebsocketClient`) and is validated
strictly (JSON mode) against the SDK's own generated models (`paradex_py.api.generated.responses`), or loaded by its
marshmallow schema (`AccountSummary`). Raw HTTP is used only where the SDK cannot show the answer (401 bodies,
admin API). The funding test runs a second simulator at 3600x (one funding hour per real second).

Expected prices are hand-computed from the demo scenario and `ParadexTradingConfig` defaults: with the ETH mark
pinned at 3600 (admin API), the maker quotes best bid floor_tick(3600 x (1 - 2 bps)) = 3599.28 and best ask
ceil_tick(3600 x (1 + 2 bps)) = 3600.72 (spread 4 bps, tick 0.01), 0.72 apart per level (2 bps step), each level
floor_step(100000 / 3600.610025) = 27.773 ETH (initial mark of the scenario, step 0.0001). ETH fees: taker 0.0002,
maker 0.00003 (`paradex/markets.json`); IMF 0.02, MMF 0.02 x 0.5.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
import pytest_asyncio
from eth_account import Account
from hypothesis import given
from hypothesis import strategies as st
from paradex_py import Paradex, ParadexSubkey
from paradex_py.account.utils import private_to_stark_key
from paradex_py.api.api_client import ParadexApiClient
from paradex_py.api.generated.responses import (
    AccountSummaryResponse,
    APIResults,
    BalanceResp,
    BBOResp,
    ErrorResponse,
    FillResult,
    FundingPayment,
    OrderResp,
    PaginatedAPIResults,
    PositionResp,
)
from paradex_py.api.models import AccountSummary
from paradex_py.api.ws_client import ParadexWebsocketChannel, ParadexWebsocketClient
from paradex_py.api.ws_message_models import PriceBookUpdate
from paradex_py.common.order import Order, OrderSide, OrderType
from pydantic import BaseModel

from exchange_clients.paradex.auth import ParadexBaseUrlTransport, sdk_base_url
from simulator.paradex.wire import dec_text
from simulator.server import DEMO_SCENARIO, SimulatorHandle, start_simulator
from tests.configs import free_sim_ports
from tests.shared_data import load_payload

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[2]
ETH = "ETH-USD-PERP"
SOL = "SOL-USD-PERP"
D = Decimal

FREE_PORTS = free_sim_ports()  # not the fixed default ports: tests may overlap


# ------------------------------------------------------------------------------------------------ helpers


def strict(model: type[BaseModel], body: Any) -> BaseModel:
    """Validate `body` as JSON against an SDK model in strict mode (int is int, str is str, enums by value)."""
    return model.model_validate_json(json.dumps(body), strict=True)


def root(sim: SimulatorHandle) -> str:
    return sim.url("paradex").removesuffix("/v1")


async def admin(sim: SimulatorHandle, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http:
        async with http.request(method, root(sim) + path, json=body) as resp:
            text = await resp.text()
            return resp.status, json.loads(text) if text else None


async def admin_ok(sim: SimulatorHandle, path: str, body: Any = None, method: str = "POST") -> Any:
    status, answer = await admin(sim, method, path, body)
    assert status == 200, answer
    return answer


async def make_trader(sim: SimulatorHandle, collateral: str = "100000", **kwargs: Any) -> Paradex:
    """A fresh L1 account through paradex-py (onboarding + /auth against the simulator), funded by the admin API.

    The key's first byte is never 0x00: paradex-py 0.8.2 cannot derive the L2 key of such a key (1 in 256; the SDK's
    failure and perparb's workaround are pinned in test_paradex_leading_zero_key.py), and these tests drive the SDK
    itself."""
    eth = Account.create()
    while eth.key[0] == 0:
        eth = Account.create()
    client = await asyncio.to_thread(
        lambda: Paradex(
            env="prod",
            l1_address=eth.address,
            l1_private_key=eth.key.hex(),
            api_base_url=sim.url("paradex"),
            ws_url_override=sim.ws_url("paradex"),
            retry_strategy=None,
            **kwargs,
        )
    )
    assert client.account is not None
    await admin_ok(
        sim, "/_sim/accounts", {"address": hex(client.account.l2_address), "collateral": collateral}
    )
    return client


def address(client: Paradex) -> str:
    assert client.account is not None
    return hex(client.account.l2_address)


async def call(fn: Callable[..., Any], *args: Any) -> Any:
    """A blocking SDK call in a worker thread (the simulator runs on this event loop)."""
    return await asyncio.to_thread(fn, *args)


async def submit(
    client: Paradex,
    market: str,
    side: OrderSide,
    size: str,
    price: str | None = None,
    *,
    instruction: str = "GTC",
    client_id: str = "",
    reduce_only: bool = False,
) -> dict[str, Any]:
    order_type = OrderType.Market if price is None else OrderType.Limit
    order = Order(
        market,
        order_type,
        side,
        D(size),
        D(price) if price is not None else D(0),
        client_id=client_id,
        instruction=instruction,
        reduce_only=reduce_only,
    )
    body = await call(client.api_client.submit_order, order)
    strict(OrderResp, body)
    return body


async def pin_market(sim: SimulatorHandle, market: str, mark: str, rate_hourly: str = "0") -> None:
    """Constant mark (the maker's mid) and funding rate for `market`. The mark moves away and back so the maker
    re-quotes full levels even when an earlier test consumed some and the mark was already there."""
    await admin_ok(sim, f"/_sim/markets/{market}/mark", {"price": str(D(mark) * D("1.01"))})
    await admin_ok(sim, f"/_sim/markets/{market}/mark", {"price": mark})
    await admin_ok(sim, f"/_sim/markets/{market}/funding", {"rate_hourly": rate_hourly})


def api_error(exc: pytest.ExceptionInfo[ValueError]) -> str:
    """The ErrorCode paradex-py put in its ValueError (`str(ApiError(error=..., ...))`)."""
    match = re.search(r"error='([A-Z_]+)'", str(exc.value))
    assert match, str(exc.value)
    return match.group(1)


@pytest_asyncio.fixture(scope="module")
async def sim() -> AsyncIterator[SimulatorHandle]:
    async with await start_simulator(DEMO_SCENARIO, push_interval_seconds=0.2) as handle:
        yield handle


@pytest_asyncio.fixture(autouse=True)
async def _clear_faults(sim: SimulatorHandle) -> AsyncIterator[None]:
    yield
    sim.faults("paradex").clear()
    await admin_ok(sim, "/_sim/engine/faults", {"clear": True})


async def close_ws(client: ParadexWebsocketClient) -> None:
    """Unsubscribe everything, let pushes stop, then close with a bound: paradex-py 0.8.2's close() can hang
    when its reader swallows the cancellation while frames keep arriving (simulator/README.md)."""
    for channel in list(client.callbacks):
        await client.unsubscribe_by_name(channel)
    await asyncio.sleep(0.3)
    await asyncio.wait_for(client.close(), 10)


# ------------------------------------------------------------------------------------------------ REST


async def test_post_only_limit_rests_then_cancels_through_sdk(sim: SimulatorHandle) -> None:
    await pin_market(sim, ETH, "3600")
    trader = await make_trader(sim)
    api = trader.api_client
    created = await submit(
        trader, ETH, OrderSide.Buy, "0.5", "3590", instruction="POST_ONLY", client_id="keep-1"
    )
    assert {
        k: created[k] for k in ("market", "side", "type", "size", "remaining_size", "price", "status")
    } == {
        "market": ETH,
        "side": "BUY",
        "type": "LIMIT",
        "size": "0.5",
        "remaining_size": "0.5",
        "price": "3590",
        "status": "NEW",
    }
    assert (created["instruction"], created["client_id"], created["account"]) == (
        "POST_ONLY",
        "keep-1",
        address(trader),
    )
    open_orders = await call(api.fetch_orders, {"market": ETH})
    strict(APIResults, open_orders)
    assert [(o["id"], o["status"], o["remaining_size"]) for o in open_orders["results"]] == [
        (created["id"], "OPEN", "0.5")
    ]
    by_id = await call(api.fetch_order, created["id"])
    by_cid = await call(api.fetch_order_by_client_id, "keep-1")
    assert by_id["id"] == by_cid["id"] == created["id"] and by_id["status"] == "OPEN"

    assert await call(api.cancel_order, created["id"]) is None  # 204
    cancelled = strict(OrderResp, await call(api.fetch_order, created["id"]))
    assert (cancelled.status.value, cancelled.cancel_reason, cancelled.remaining_size) == (  # type: ignore[attr-defined]
        "CLOSED",
        "USER_CANCELED",
        "0.5",  # a closed order keeps its unfilled size, as recorded
    )

    second = await submit(trader, ETH, OrderSide.Sell, "0.25", "3610", client_id="keep-2")
    third = await submit(trader, ETH, OrderSide.Sell, "0.25", "3611", client_id="keep-3")
    assert await call(api.cancel_order_by_client_id, "keep-2") is None
    assert (await call(api.fetch_order, second["id"]))["cancel_reason"] == "USER_CANCELED"
    await call(api.cancel_all_orders, {"market": ETH})
    assert (await call(api.fetch_order, third["id"]))["status"] == "CLOSED"
    assert (await call(api.fetch_orders))["results"] == []

    history = await call(api.fetch_orders_history, {"market": ETH})
    strict(PaginatedAPIResults, history)
    for row in history["results"]:
        strict(OrderResp, row)
    assert [(r["id"], r["status"], r["cancel_reason"]) for r in history["results"]] == [
        (third["id"], "CLOSED", "USER_CANCELED"),
        (second["id"], "CLOSED", "USER_CANCELED"),
        (created["id"], "CLOSED", "USER_CANCELED"),
    ]  # newest first
    page = await call(api.fetch_orders_history, {"market": ETH, "page_size": 2})
    rest = await call(api.fetch_orders_history, {"market": ETH, "page_size": 2, "cursor": page["next"]})
    assert [r["id"] for r in page["results"] + rest["results"]] == [third["id"], second["id"], created["id"]]
    assert rest["next"] is None and page["prev"] is None
    sells = await call(api.fetch_orders_history, {"side": "SELL", "client_id": "keep-3"})
    assert [r["id"] for r in sells["results"]] == [third["id"]]


async def test_ioc_crossing_fills_and_moves_position_and_account(sim: SimulatorHandle) -> None:
    await pin_market(sim, ETH, "3600")
    trader = await make_trader(sim)
    api = trader.api_client
    book = await call(api.fetch_orderbook, ETH, {"depth": 2})
    assert (book["asks"], book["bids"]) == (
        [["3600.72", "27.773"], ["3601.44", "27.773"]],
        [["3599.28", "27.773"], ["3598.56", "27.773"]],
    )
    bbo = strict(BBOResp, await call(api.fetch_bbo, ETH))
    assert (bbo.bid, bbo.ask) == ("3599.28", "3600.72")  # type: ignore[attr-defined]

    created = await submit(trader, ETH, OrderSide.Buy, "0.5", "3601.44", instruction="IOC", client_id="ioc-1")
    order = await call(api.fetch_order, created["id"])
    assert (order["status"], order["cancel_reason"], order["avg_fill_price"], order["remaining_size"]) == (
        "CLOSED",
        "",  # fully filled
        "3600.72",  # at the resting ask, not the limit
        "0",
    )
    fills = await call(api.fetch_fills, {"market": ETH})
    strict(PaginatedAPIResults, fills)
    (fill,) = fills["results"]
    strict(FillResult, fill)
    assert {k: fill[k] for k in ("side", "liquidity", "price", "size", "fee", "order_id", "client_id")} == {
        "side": "BUY",
        "liquidity": "TAKER",
        "price": "3600.72",
        "size": "0.5",
        "fee": "0.360072",  # 0.5 x 3600.72 x 0.0002
        "order_id": created["id"],
        "client_id": "ioc-1",
    }
    (position,) = (await call(api.fetch_positions))["results"]
    strict(PositionResp, position)
    assert {k: position[k] for k in ("market", "status", "side", "size", "average_entry_price")} == {
        "market": ETH,
        "status": "OPEN",
        "side": "LONG",
        "size": "0.5",
        "average_entry_price": "3600.72",
    }
    assert (position["unrealized_pnl"], position["cost"], position["last_fill_id"]) == (
        "-0.36",
        "1800.36",
        fill["id"],
    )
    summary = await call(api.fetch_account_summary)
    assert isinstance(summary, AccountSummary)
    assert summary.account == address(trader)
    assert summary.total_collateral == "99999.639928"  # 100000 - fee
    assert summary.account_value == "99999.279928"  # + 0.5 x (3600 - 3600.72), funding rate pinned at 0
    assert summary.initial_margin_requirement == "36"  # 0.5 x 3600 x 0.02
    assert summary.maintenance_margin_requirement == "18"  # 0.5 x 3600 x 0.01
    assert summary.free_collateral == "99963.279928"
    balances = await call(api.fetch_balances)
    strict(APIResults, balances)
    strict(BalanceResp, balances["results"][0])
    assert [(b["token"], b["size"]) for b in balances["results"]] == [("USDC", "99999.639928")]

    # a reduce-only IOC sell closes half the position at the best bid
    await submit(trader, ETH, OrderSide.Sell, "0.25", "3599.28", instruction="IOC", reduce_only=True)
    (position,) = (await call(api.fetch_positions))["results"]
    assert (position["size"], position["realized_pnl"]) == ("0.25", "-0.36")  # 0.25 x (3599.28 - 3600.72)
    view = await admin_ok(sim, f"/_sim/accounts/{address(trader)}", method="GET")
    assert view["collateral"] == "99999.099964"  # - 0.36 realised - 0.179964 fee (0.25 x 3599.28 x 0.0002)
    assert [f["price"] for f in view["fills"]] == ["3600.72", "3599.28"]
    assert view["fees_paid"] == "0.540036"


async def test_orders_the_venue_closes_carry_its_cancel_reason(sim: SimulatorHandle) -> None:
    await pin_market(sim, ETH, "3600")
    trader = await make_trader(sim, collateral="50")
    api = trader.api_client
    cases = [
        # (order, cancel_reason)
        (("Buy", "0.01", "3600.72", "POST_ONLY", False), "POST_ONLY_WOULD_CROSS"),  # would take the best ask
        (("Buy", "1", "3590", "GTC", False), "NOT_ENOUGH_MARGIN"),  # IMR 72 > 50 USDC
        (("Buy", "0.001", "3590", "GTC", False), "ORDER_SIZE_BELOW_MIN"),  # 3.6 USD < min_notional 10
        (("Sell", "0.01", "3610", "GTC", True), "REDUCE_ONLY_WOULD_INCREASE"),  # no position to reduce
    ]
    for (side, size, price, instruction, reduce_only), reason in cases:
        created = await submit(
            trader,
            ETH,
            OrderSide[side],
            size,
            price,
            instruction=instruction,
            reduce_only=reduce_only,
        )
        assert created["status"] == "NEW"  # accepted by the REST API, closed by the venue afterwards
        closed = strict(OrderResp, await call(api.fetch_order, created["id"]))
        assert (closed.status.value, closed.cancel_reason, closed.remaining_size) == ("CLOSED", reason, size)  # type: ignore[attr-defined]
    assert (await call(api.fetch_orders))["results"] == []


async def test_requests_the_venue_refuses_are_paradex_errors(sim: SimulatorHandle) -> None:
    await pin_market(sim, ETH, "3600")
    trader = await make_trader(sim)
    api = trader.api_client
    for args, code in [
        (("DOGE-USDC-PERP", OrderSide.Buy, "1", "0.1"), "MARKET_NOT_FOUND"),
        ((ETH, OrderSide.Buy, "0.5", "3590.005"), "INVALID_REQUEST_PARAMETER"),  # tick 0.01
        ((ETH, OrderSide.Buy, "0.00005", "3590"), "INVALID_REQUEST_PARAMETER"),  # step 0.0001
    ]:
        with pytest.raises(ValueError) as exc:
            await submit(trader, *args)  # type: ignore[arg-type]
        assert api_error(exc) == code
    await submit(trader, ETH, OrderSide.Buy, "0.5", "3590", client_id="dup")
    with pytest.raises(ValueError) as exc:
        await submit(trader, ETH, OrderSide.Buy, "0.5", "3589", client_id="dup")
    assert api_error(exc) == "DUPLICATED_CLIENT_ID"
    with pytest.raises(ValueError) as exc:
        await call(api.cancel_order, "999999999")
    assert api_error(exc) == "ORDER_ID_NOT_FOUND"
    with pytest.raises(ValueError) as exc:
        await call(api.cancel_order_by_client_id, "nope")
    assert api_error(exc) == "CLIENT_ORDER_ID_NOT_FOUND"
    await call(api.cancel_order_by_client_id, "dup")
    with pytest.raises(ValueError) as exc:
        await call(api.cancel_order_by_client_id, "dup")
    assert api_error(exc) == "ORDER_IS_CLOSED"
    with pytest.raises(ValueError) as exc:
        await call(api.fetch_funding_payments, {})
    assert api_error(exc) == "VALIDATION_ERROR"
    with pytest.raises(ValueError) as exc:
        await call(api.fetch_fills, {"cursor": "bm90IGEgY3Vyc29y"})
    assert api_error(exc) == "INVALID_REQUEST_PARAMETER"

    async with aiohttp.ClientSession() as http:
        for headers, message in [
            ({}, "missing bearer token (Authorization: Bearer <JWT>)"),
            ({"Authorization": "Bearer not.a.jwt"}, "invalid or expired bearer token"),
        ]:
            for path in ("/positions", "/account", "/orders", "/fills", "/balance"):
                async with http.get(sim.url("paradex") + path, headers=headers) as resp:
                    body = await resp.json()
                    assert resp.status == 401, path
                    strict(ErrorResponse, body)
                    assert body == {"error": "UNAUTHORIZED_ERROR", "message": message, "data": None}
        order = {"market": ETH, "side": "BUY", "type": "LIMIT", "size": "1", "price": "1"}
        async with http.post(sim.url("paradex") + "/orders", json=order) as resp:
            assert resp.status == 401


async def test_subkey_trades_for_its_main_account(sim: SimulatorHandle) -> None:
    await pin_market(sim, ETH, "3600")
    main = await make_trader(sim, collateral="2500")
    private_key = hex(int(hashlib.sha256(b"perparb paradex trading subkey").hexdigest(), 16) % 2**250)
    await admin_ok(
        sim,
        "/_sim/paradex/subkeys",
        {"l2_address": address(main), "public_key": hex(private_to_stark_key(int(private_key, 16)))},
    )
    http = httpx.Client(transport=ParadexBaseUrlTransport(sdk_base_url("prod"), sim.url("paradex")))
    try:
        sub = await call(
            lambda: ParadexSubkey(
                env="prod",
                l2_private_key=private_key,
                l2_address=address(main),
                ws_enabled=False,
                http_client=http,  # type: ignore[arg-type]
            )
        )
        summary = await call(sub.api_client.fetch_account_summary)
        assert (summary.account, summary.total_collateral) == (address(main), "2500")
        created = await call(
            sub.api_client.submit_order,
            Order(ETH, OrderType.Limit, OrderSide.Sell, D("0.1"), D("3650"), client_id="from-subkey"),
        )
    finally:
        await asyncio.to_thread(http.close)
    seen = await call(main.api_client.fetch_order_by_client_id, "from-subkey")
    assert (seen["id"], seen["status"], seen["account"]) == (created["id"], "OPEN", address(main))
    await call(main.api_client.cancel_all_orders)


# ------------------------------------------------------------------------------------------------ faults


async def test_engine_faults_reject_next_and_fill_only_a_fraction(sim: SimulatorHandle) -> None:
    await pin_market(sim, ETH, "3600")
    trader = await make_trader(sim)
    api = trader.api_client
    answer = await admin_ok(sim, "/_sim/engine/faults", {"reject_next": 1})
    assert answer["engine_faults"]["reject_next"] == 1
    rejected = await submit(trader, ETH, OrderSide.Buy, "1", "3600.72", instruction="IOC")
    closed = await call(api.fetch_order, rejected["id"])
    assert (closed["status"], closed["cancel_reason"]) == ("CLOSED", "FAULT_INJECTED")

    await admin_ok(sim, "/_sim/engine/faults", {"fill_fraction": "0.5", "fill_fraction_count": 1})
    partial = await submit(trader, ETH, OrderSide.Buy, "1", "3601.44", instruction="GTC")
    closed = await call(api.fetch_order, partial["id"])
    assert (
        closed["status"],
        closed["cancel_reason"],
        closed["remaining_size"],
        closed["avg_fill_price"],
    ) == (
        "CLOSED",
        "PARTIAL_FILL_FAULT",
        "0.5",
        "3600.72",
    )
    (position,) = (await call(api.fetch_positions))["results"]
    assert position["size"] == "0.5"
    full = await submit(trader, ETH, OrderSide.Sell, "0.5", "3599.28", instruction="IOC")  # fault consumed
    assert (await call(api.fetch_order, full["id"]))["remaining_size"] == "0"
    status, body = await admin(sim, "POST", "/_sim/engine/faults", {"fill_fraction": "1.5"})
    assert status == 400 and "fill_fraction" in body["error"]


async def test_venue_down_answers_503_until_up(sim: SimulatorHandle) -> None:
    trader = await make_trader(sim)
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(sim.ws_url("paradex")) as ws:
            answer = await admin_ok(sim, "/_sim/venue/down")
            assert (answer["venue"], answer["dropped"]) == ("down", 1)
            frame = await asyncio.wait_for(ws.receive(), 5)
            assert frame.type == aiohttp.WSMsgType.CLOSE
        with pytest.raises(aiohttp.WSServerHandshakeError) as handshake:
            await http.ws_connect(sim.ws_url("paradex"))
        assert handshake.value.status == 503
    with pytest.raises(ValueError) as exc:
        await call(trader.api_client.fetch_positions)
    assert api_error(exc) == "SERVICE_UNAVAILABLE"
    assert (await admin(sim, "GET", "/_sim/accounts"))[0] == 200  # the admin API stays up
    await admin_ok(sim, "/_sim/venue/up")
    assert (await call(trader.api_client.fetch_positions))["results"] == []


# ------------------------------------------------------------------------------------------------ WebSocket


async def test_private_channels_through_the_sdk_websocket(sim: SimulatorHandle) -> None:
    await pin_market(sim, ETH, "3600")
    trader = await make_trader(sim, disable_reconnect=True)
    ws = trader.ws_client
    frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def on_message(channel: ParadexWebsocketChannel, message: dict[str, Any]) -> None:
        await frames.put(message)

    try:
        assert await ws.connect()  # sends the JWT with `auth`
        await ws.subscribe(ParadexWebsocketChannel.ORDERS, on_message, {"market": "ALL"})
        await ws.subscribe(ParadexWebsocketChannel.FILLS, on_message, {"market": ETH})
        await ws.subscribe(ParadexWebsocketChannel.POSITIONS, on_message)
        await ws.subscribe(ParadexWebsocketChannel.ACCOUNT, on_message)
        for _ in range(50):
            if len(ws.get_subscriptions()) == 4:
                break
            await asyncio.sleep(0.05)
        assert ws.get_subscriptions() == {
            "orders.ALL": True,
            f"fills.{ETH}": True,
            "positions": True,
            "account": True,
        }
        created = await submit(
            trader, ETH, OrderSide.Buy, "0.5", "3600.72", instruction="IOC", client_id="ws-1"
        )
        got: list[dict[str, Any]] = []
        while len(got) < 5:
            got.append(await asyncio.wait_for(frames.get(), 5))
    finally:
        await close_ws(ws)
    by_channel: dict[str, list[dict[str, Any]]] = {}
    for frame in got:
        by_channel.setdefault(frame["params"]["channel"], []).append(frame["params"]["data"])
    assert sorted(by_channel) == ["account", f"fills.{ETH}", "orders.ALL", "positions"]
    orders = [strict(OrderResp, d) for d in by_channel["orders.ALL"]]
    assert [(o.id, o.status.value, o.remaining_size) for o in orders] == [  # type: ignore[attr-defined]
        (created["id"], "NEW", "0.5"),
        (created["id"], "CLOSED", "0"),
    ]
    (fill,) = by_channel[f"fills.{ETH}"]
    strict(FillResult, fill)
    assert (fill["order_id"], fill["price"], fill["size"], fill["fee"]) == (
        created["id"],
        "3600.72",
        "0.5",
        "0.360072",
    )
    (position,) = by_channel["positions"]
    strict(PositionResp, position)
    assert (position["size"], position["average_entry_price"], position["status"]) == (
        "0.5",
        "3600.72",
        "OPEN",
    )
    (account,) = by_channel["account"]
    strict(AccountSummaryResponse, account)
    assert (account["account"], account["total_collateral"]) == (address(trader), "99999.639928")


async def test_private_channels_need_a_valid_auth(sim: SimulatorHandle) -> None:
    async with aiohttp.ClientSession() as http, http.ws_connect(sim.ws_url("paradex")) as ws:
        await ws.send_json(
            {"jsonrpc": "2.0", "id": 1, "method": "subscribe", "params": {"channel": "orders.ALL"}}
        )
        no_auth = await ws.receive_json()
        await ws.send_json({"jsonrpc": "2.0", "id": 2, "method": "auth", "params": {"bearer": "forged"}})
        await ws.receive_json()
        await ws.send_json(
            {"jsonrpc": "2.0", "id": 3, "method": "subscribe", "params": {"channel": "positions"}}
        )
        bad_token = await ws.receive_json()
    assert no_auth["error"] == {"code": 40300, "message": "Permission denied — authentication required"}
    assert bad_token["error"] == {"code": 40111, "message": "Invalid bearer token"}


async def test_order_book_snapshot_feed_seq_no_and_skip_fault(sim: SimulatorHandle) -> None:
    await pin_market(sim, SOL, "200")
    client = ParadexWebsocketClient(env="prod", ws_url_override=sim.ws_url("paradex"), disable_reconnect=True)
    frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def on_message(channel: ParadexWebsocketChannel, message: dict[str, Any]) -> None:
        await frames.put(message["params"])

    try:
        assert await client.connect()
        await client.subscribe(ParadexWebsocketChannel.ORDER_BOOK, on_message, {"market": SOL})
        first = await asyncio.wait_for(frames.get(), 5)
        await admin_ok(sim, f"/_sim/markets/{SOL}/mark", {"price": "201"})
        second = await asyncio.wait_for(frames.get(), 5)
        await admin_ok(sim, "/_sim/ws/faults", {"skip_order_book_seq_no": True})
        await admin_ok(sim, f"/_sim/markets/{SOL}/mark", {"price": "202"})
        third = await asyncio.wait_for(frames.get(), 5)
    finally:
        await close_ws(client)
    channel = f"order_book.{SOL}.snapshot@15@100ms"  # paradex-py's default feed name, echoed exactly
    assert {f["channel"] for f in (first, second, third)} == {channel}
    books = [PriceBookUpdate.model_validate(f["data"]) for f in (first, second, third)]
    assert [b.seq_no - books[0].seq_no for b in books] == [0, 1, 3]  # one seq_no skipped by the fault
    assert [b.update_type for b in books] == ["s", "s", "s"]
    # SOL: tick 0.001; 2 bps half-spread around the pinned mids
    assert [(b.best_bid_api["price"], b.best_ask_api["price"]) for b in books] == [
        ("199.96", "200.04"),
        ("200.959", "201.041"),
        ("201.959", "202.041"),
    ]
    assert all(len(b.inserts) == 20 and not b.updates and not b.deletes for b in books)  # 10 levels a side


async def test_ws_drop_fault_closes_connections(sim: SimulatorHandle) -> None:
    async with aiohttp.ClientSession() as http:
        sockets = [await http.ws_connect(sim.ws_url("paradex")) for _ in range(2)]
        answer = await admin_ok(sim, "/_sim/ws/faults", {"drop_connections": True})
        assert answer["dropped"] == 2
        for ws in sockets:
            frame = await asyncio.wait_for(ws.receive(), 5)
            assert frame.type == aiohttp.WSMsgType.CLOSE
            await ws.close()
        async with http.ws_connect(sim.ws_url("paradex")) as ws:  # new connections are accepted
            await ws.send_json({"jsonrpc": "2.0", "id": 7, "method": "auth", "params": {"bearer": "x"}})
            assert (await ws.receive_json())["id"] == 7


# ------------------------------------------------------------------------------------------------ admin


async def test_admin_mark_random_walk_moves_the_mid(sim: SimulatorHandle) -> None:
    # the shared MarkSpec (simulator/admin.py): `random_walk` instead of `price`, as on every venue
    await admin_ok(sim, "/_sim/markets/HYPE-USD-PERP/mark", {"price": "30"})
    await admin_ok(
        sim, "/_sim/markets/HYPE-USD-PERP/mark", {"random_walk": {"vol_bps": "50", "step_ms": 1, "seed": 3}}
    )
    marks = set()
    for _ in range(20):
        await asyncio.sleep(0.05)
        marks.add((await admin_ok(sim, "/_sim/markets/HYPE-USD-PERP", method="GET"))["mark_price"])
    assert len(marks) > 1
    await admin_ok(sim, "/_sim/markets/HYPE-USD-PERP/mark", {"price": "30"})
    status, body = await admin(
        sim, "POST", "/_sim/markets/HYPE-USD-PERP/mark", {"price": "1", "random_walk": {}}
    )
    assert status == 400 and "exactly one of 'price' or 'random_walk'" in body["error"]


async def test_admin_moves_mark_and_funding_into_market_data(sim: SimulatorHandle) -> None:
    await admin_ok(sim, "/_sim/markets/HYPE-USD-PERP/mark", {"price": "30"})
    answer = await admin_ok(sim, "/_sim/markets/HYPE-USD-PERP/funding", {"funding_rate": "0.0002"})
    assert answer == {
        "market": "HYPE-USD-PERP",
        "rate_hourly": "0.0002",  # HYPE's funding period is 1 h
        "funding_rate": "0.0002",
        "funding_period_hours": "1",
    }
    answer = await admin_ok(sim, f"/_sim/markets/{ETH}/funding", {"funding_rate": "0.0008"})
    assert (answer["rate_hourly"], answer["funding_period_hours"]) == ("0.0001", "8")
    client = ParadexApiClient(env="prod", api_base_url=sim.url("paradex"))
    summary = await call(client.fetch_markets_summary, {"market": "HYPE-USD-PERP"})
    (row,) = summary["results"]
    assert (row["mark_price"], row["funding_rate"]) == ("30", "0.0002")
    assert D(row["bid"]) < D(30) < D(row["ask"])
    status, body = await admin(sim, "POST", "/_sim/markets/NOPE-USD-PERP/mark", {"price": "1"})
    assert (status, body["error"]) == (404, "NOT_FOUND")
    status, body = await admin(
        sim, "POST", f"/_sim/markets/{ETH}/funding", {"rate_hourly": "1", "funding_rate": "8"}
    )
    assert status == 400 and "exactly one" in body["error"]
    status, body = await admin(sim, "GET", "/_sim/accounts/0x123456789")
    assert (status, body["error"]) == (404, "NOT_FOUND")
    status, body = await admin(sim, "POST", "/_sim/accounts", {"address": "nope", "collateral": "1"})
    assert status == 400


# ------------------------------------------------------------------------------------------------ funding


async def test_funding_is_realised_when_the_position_changes_at_3600x() -> None:
    async with await start_simulator(DEMO_SCENARIO, push_interval_seconds=0.5, speed=3600) as fast:
        await pin_market(fast, ETH, "3600", rate_hourly="0.0001")
        trader = await make_trader(fast, auto_start_ws_reader=False)
        api = trader.api_client
        await submit(trader, ETH, OrderSide.Buy, "1", "3600.72", instruction="IOC")
        (held,) = (await call(api.fetch_positions))["results"]
        await asyncio.sleep(1.0)  # ~1 simulated hour
        await submit(trader, ETH, OrderSide.Sell, "0.4", "3599.28", instruction="IOC")
        fills = (await call(api.fetch_fills, {"market": ETH}))["results"]
        payments = await call(api.fetch_funding_payments, {"market": ETH})
        (after,) = (await call(api.fetch_positions))["results"]
    strict(PaginatedAPIResults, payments)
    (payment,) = payments["results"]
    strict(FundingPayment, payment)
    sell, buy = fills
    hold_ms = sell["created_at"] - buy["created_at"]
    assert 0.5 * 3_600_000 < hold_ms < 3 * 3_600_000
    # index accrues mark x rate_hourly x hours; the long pays -size x delta index, realised by the sell fill
    delta_index = D(payment["index"]) - D(held["cached_funding_index"])
    # 28-significant-digit Decimal sums of the per-sync accruals: equal to ~1e-20 (far below the 1e-12 money step)
    assert abs(delta_index - D(3600) * D("0.0001") * hold_ms / 3_600_000) < D("1e-20")
    assert D(payment["payment"]) == (-1 * delta_index).quantize(D("1e-12"))
    assert (payment["fill_id"], payment["created_at"], sell["realized_funding"]) == (
        sell["id"],
        sell["created_at"],
        payment["payment"],
    )
    assert (after["size"], after["cached_funding_index"]) == ("0.6", payment["index"])


# ------------------------------------------------------------------------------------------------ conformance


def _type(value: Any) -> str:
    return {bool: "bool", int: "int", float: "number", str: "str", list: "list", dict: "dict"}.get(
        type(value), "null"
    )


def assert_conforms(ours: dict[str, Any], recorded: dict[str, Any], what: str) -> None:
    """Every key of the recorded body is in ours with the same JSON type. Allowed differences: the `next` /
    `prev` cursors are a string or null (null on the last / first page); recorded digit strings where we send an
    int (the ccxt static fixtures stringify integers; paradex-py's models declare `created_at`, `seq_no`... int)."""
    for key, value in recorded.items():
        assert key in ours, f"{what}: key {key!r} missing"
        mine, theirs = _type(ours[key]), _type(value)
        digits = theirs == "str" and mine == "int" and str(value).isdigit()
        cursor = key in ("next", "prev") and {mine, theirs} <= {"str", "null"}
        assert mine == theirs or digits or cursor, f"{what}.{key}: {mine} vs recorded {theirs}"


async def test_bodies_have_the_keys_and_types_of_recorded_payloads(sim: SimulatorHandle) -> None:
    recorded = {
        name: load_payload("paradex", name)
        for name in (
            "rest_order_create_docexample",
            "rest_order_closed_user_canceled",
            "rest_orders-history_sol",
            "rest_fills",
            "rest_positions_sol_1",
            "rest_positions_btc_leverage",
            "rest_balance_large",
            "rest_funding_payments_docexample",
            "ws_account_docexample",
            "ws_orders_all_docexample",
            "ws_fills_all",
            "ws_positions",
            "ws_order_book_btc_snapshot",
        )
    }
    await pin_market(sim, ETH, "3600", rate_hourly="0.0001")
    trader = await make_trader(sim, disable_reconnect=True)
    api = trader.api_client
    ws = trader.ws_client
    frames: dict[str, dict[str, Any]] = {}

    async def on_message(channel: ParadexWebsocketChannel, message: dict[str, Any]) -> None:
        frames.setdefault(message["params"]["channel"], message)

    try:
        assert await ws.connect()
        await ws.subscribe(ParadexWebsocketChannel.ORDERS, on_message, {"market": "ALL"})
        await ws.subscribe(ParadexWebsocketChannel.FILLS, on_message, {"market": "ALL"})
        await ws.subscribe(ParadexWebsocketChannel.POSITIONS, on_message)
        await ws.subscribe(ParadexWebsocketChannel.ACCOUNT, on_message)
        await ws.subscribe(ParadexWebsocketChannel.ORDER_BOOK, on_message, {"market": ETH})
        await asyncio.sleep(0.3)
        created = await submit(trader, ETH, OrderSide.Buy, "0.2", "3590", client_id="conf-1")
        await call(api.cancel_order, created["id"])
        await submit(trader, ETH, OrderSide.Buy, "0.2", "3600.72", instruction="IOC")
        await asyncio.sleep(0.2)
        await submit(trader, ETH, OrderSide.Sell, "0.1", "3599.28", instruction="IOC")  # realises funding
        for _ in range(50):
            if len(frames) == 5:
                break
            await asyncio.sleep(0.05)
    finally:
        await close_ws(ws)
    ours = {
        "rest_order_create_docexample": created,
        "rest_order_closed_user_canceled": await call(api.fetch_order, created["id"]),
        "rest_orders-history_sol": await call(api.fetch_orders_history, {}),
        "rest_fills": await call(api.fetch_fills, {}),
        "rest_positions_sol_1": await call(api.fetch_positions),
        "rest_positions_btc_leverage": await call(api.fetch_positions),
        "rest_balance_large": await call(api.fetch_balances),
        "rest_funding_payments_docexample": await call(api.fetch_funding_payments, {"market": ETH}),
        "ws_account_docexample": frames["account"],
        "ws_orders_all_docexample": frames["orders.ALL"],
        "ws_fills_all": frames["fills.ALL"],
        "ws_positions": frames["positions"],
        "ws_order_book_btc_snapshot": frames[f"order_book.{ETH}.snapshot@15@100ms"],
    }
    for name, body in recorded.items():
        mine = ours[name]
        assert_conforms(mine, body, name)
        if "results" in body:
            assert mine["results"], f"{name}: no rows to compare"
            assert_conforms(mine["results"][0], body["results"][0], f"{name}.results[0]")
        if "params" in body:
            assert_conforms(mine["params"], body["params"], f"{name}.params")
            assert_conforms(mine["params"]["data"], body["params"]["data"], f"{name}.params.data")
            for key in ("inserts",):
                if key in body["params"]["data"]:
                    assert_conforms(
                        mine["params"]["data"][key][0], body["params"]["data"][key][0], f"{name}.{key}"
                    )


# ------------------------------------------------------------------------------------------------ CLI


def test_perparb_sim_prints_its_ready_line_with_trading_mounted() -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "perparb", "sim", "--scenario", str(DEMO_SCENARIO), *FREE_PORTS],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = (
            re.fullmatch(  # every installed venue in name order; Hyperliquid's, Lighter's and Paradex's URLs
                r"ready (?:[a-z:]+=http://127\.0\.0\.1:\d+\S* )*?hyperliquid=(http://127\.0\.0\.1:\d+) "
                r"lighter=(http://127\.0\.0\.1:\d+) paradex=(http://127\.0\.0\.1:\d+/v1)(?: \S+)*\n",
                line,
            )
        )
        assert match, (line, proc.stderr.read() if proc.poll() is not None and proc.stderr else "")
        paradex = match.group(3)
        answer = httpx.get(paradex + "/positions", timeout=5)
        assert (answer.status_code, answer.json()["error"]) == (401, "UNAUTHORIZED_ERROR")
        book = httpx.get(paradex + f"/orderbook/{ETH}?depth=3", timeout=5).json()
        assert len(book["asks"]) == len(book["bids"]) == 3  # the engine's book
        accounts = httpx.get(paradex.removesuffix("/v1") + "/_sim/accounts", timeout=5)
        assert (accounts.status_code, accounts.json()) == (200, {"results": []})
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)
        assert proc.returncode == 0 and time.monotonic() - started < 15
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


# ------------------------------------------------------------------------------------------------ numbers


@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**12), max_value=10**12, places=12))
def test_decimal_text_is_plain_and_exact(value: Decimal) -> None:
    text = dec_text(value)
    assert D(text) == value
    assert "E" not in text and "e" not in text
    if value == 0:
        assert text == "0"  # never "-0" nor "0.000"
    else:
        assert not ("." in text and text.endswith("0"))  # no trailing zeros
    assert (dec_text(D("1E+2")), dec_text(D("-0.000120")), dec_text(D("0E-12"))) == ("100", "-0.00012", "0")
