"""The Hyperliquid trading client against a local stub of the venue (HTTP `/info`, `/exchange` and WebSocket `/ws`
on 127.0.0.1; only the internet is mocked). The stub checks every action's signature with the SDK's own
recovery (`recover_agent_or_user_from_l1_action`, testnet source "b": the URL is not mainnet), so an action signed
wrongly is refused as Hyperliquid refuses it. Covers limit GTC / ALO / reduce-only, bounded IOC market orders in
two phases, cancel by oid and cloid, the reconciliation by cloid of a placement whose answer was lost (no double
order), leverage, positions and balance, and the account stream across a reconnect (no duplicate fill)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer
from hyperliquid.utils.signing import recover_agent_or_user_from_l1_action
from pydantic import SecretStr

from exchange_clients.base.client import StaleBookError
from exchange_clients.base.rate_limit import VenueRateLimiter
from exchange_clients.base.scope import VenueScope
from exchange_clients.base.trading import EventKind, OrderStatus, Side
from exchange_clients.hyperliquid.client.client import HyperliquidClient
from exchange_clients.hyperliquid.common import HyperliquidAuthError, HyperliquidRejectedError
from exchange_clients.hyperliquid.config import config_type_for
from exchange_clients.hyperliquid.credentials import credentials_type_for
from perparb_core.settings import HttpConfig, RateLimitConfig
from strategies.state import client_order_id
from tests.shared_data import load_payload

D = Decimal
AGENT_KEY = "0x" + "4c" * 32
ACCOUNT = "0x" + "ab" * 20
META = [
    {
        "universe": [
            {"name": "BTC", "szDecimals": 5, "maxLeverage": 40},
            {"name": "ETH", "szDecimals": 4, "maxLeverage": 25},
            {
                "name": "ISO",
                "szDecimals": 1,
                "maxLeverage": 5,
                "onlyIsolated": True,
                "marginMode": "strictIsolated",
            },
        ]
    },
    [
        {
            "funding": "0.0000125",
            "markPx": "65000.0",
            "oraclePx": "65010.0",
            "openInterest": "1",
            "dayNtlVlm": "1",
        },
        {
            "funding": "0.00001",
            "markPx": "3000.0",
            "oraclePx": "3001.0",
            "openInterest": "1",
            "dayNtlVlm": "1",
        },
        {"funding": "0.0", "markPx": "12.5", "oraclePx": "12.4", "openInterest": "1", "dayNtlVlm": "1"},
    ],
]
BOOK = {
    "coin": "ETH",
    "levels": [
        [{"px": "2999.9", "sz": "5.0", "n": 1}, {"px": "2999.0", "sz": "10.0", "n": 2}],
        [{"px": "3000.1", "sz": "0.5", "n": 1}, {"px": "3001.0", "sz": "10.0", "n": 3}],
    ],
}


@dataclass
class Venue:
    agent: str
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    by_cloid: dict[str, int] = field(default_factory=dict)
    actions: list[dict[str, Any]] = field(default_factory=list)
    lose_next_answer: bool = False  # apply the action, then answer 500 (the answer is lost)
    fail_next_before_apply: bool = False
    fills: list[dict[str, Any]] = field(default_factory=list)
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    subscriptions: list[dict[str, Any]] = field(default_factory=list)
    next_oid: int = 1000
    leverage: dict[int, tuple[int, bool]] = field(default_factory=dict)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/info", self.info)
        app.router.add_post("/exchange", self.exchange)
        app.router.add_get("/ws", self.ws)
        return app

    def order_status(self, oid: int) -> dict[str, Any]:
        o = self.orders[oid]
        return {
            "status": "order",
            "order": {"order": o["order"], "status": o["status"], "statusTimestamp": 1},
        }

    async def info(self, request: web.Request) -> web.Response:
        body = await request.json()
        kind = body["type"]
        if kind == "metaAndAssetCtxs":
            return web.json_response(META)
        if kind == "orderStatus":
            key = body["oid"]
            oid = self.by_cloid.get(key) if isinstance(key, str) else key
            return web.json_response(
                self.order_status(oid) if oid in self.orders else {"status": "unknownOid"}
            )
        if kind == "frontendOpenOrders":
            return web.json_response([o["order"] for o in self.orders.values() if o["status"] == "open"])
        if kind == "clearinghouseState":
            return web.json_response(
                load_payload("hyperliquid", "rest_info_clearinghouseState_short_and_long_2024-10")
            )
        if kind == "userFillsByTime":
            return web.json_response(self.fills)
        if kind == "userFunding":
            return web.json_response(load_payload("hyperliquid", "rest_info_userFunding_SOL_short_2024-12"))
        return web.Response(status=422, text="Failed to deserialize the JSON body into the target type")

    async def exchange(self, request: web.Request) -> web.Response:
        body = await request.json()
        action = body["action"]
        signer = recover_agent_or_user_from_l1_action(
            action, body["signature"], body["vaultAddress"], body["nonce"], body["expiresAfter"], False
        )
        if signer.lower() != self.agent:
            return web.json_response(
                {"status": "err", "response": f"User or API Wallet {signer.lower()} does not exist."}
            )
        if self.fail_next_before_apply:
            self.fail_next_before_apply = False
            return web.Response(status=502, text="bad gateway")
        self.actions.append(action)
        answer = self.apply(action)
        if self.lose_next_answer:
            self.lose_next_answer = False
            return web.Response(status=500, text="internal error")
        return web.json_response({"status": "ok", "response": answer})

    def apply(self, action: dict[str, Any]) -> dict[str, Any]:
        kind = action["type"]
        if kind == "order":
            statuses: list[Any] = []
            for wire in action["orders"]:
                oid, self.next_oid = self.next_oid, self.next_oid + 1
                tif = wire["t"]["limit"]["tif"]
                coin = ["BTC", "ETH"][wire["a"]]
                order = {
                    "coin": coin,
                    "side": "B" if wire["b"] else "A",
                    "limitPx": wire["p"],
                    "sz": wire["s"],
                    "oid": oid,
                    "timestamp": 1,
                    "origSz": wire["s"],
                    "tif": tif,
                    "cloid": wire.get("c"),
                    "reduceOnly": wire["r"],
                }
                if wire.get("c"):
                    self.by_cloid[wire["c"]] = oid
                if tif == "Ioc":
                    filled = min(D(wire["s"]), D("0.5"))  # the ask side holds 0.5 at 3000.1 in reach
                    self.orders[oid] = {
                        "order": {**order, "sz": str(D(wire["s"]) - filled)},
                        "status": "filled" if filled == D(wire["s"]) else "canceled",
                    }
                    statuses.append({"filled": {"totalSz": str(filled), "avgPx": "3000.1", "oid": oid}})
                elif tif == "Alo" and wire["b"] and D(wire["p"]) >= D("3000.1"):
                    statuses.append(
                        {
                            "error": "Post only order would have immediately matched, bbo was 2999.9@3000.1. asset=1"
                        }
                    )
                else:
                    self.orders[oid] = {"order": order, "status": "open"}
                    statuses.append({"resting": {"oid": oid}})
            return {"type": "order", "data": {"statuses": statuses}}
        if kind in ("cancel", "cancelByCloid"):
            statuses = []
            for c in action["cancels"]:
                oid = c["o"] if kind == "cancel" else self.by_cloid.get(c["cloid"], -1)
                if oid in self.orders and self.orders[oid]["status"] == "open":
                    self.orders[oid]["status"] = "canceled"
                    statuses.append("success")
                else:
                    statuses.append({"error": "Order was never placed, already canceled, or filled. asset=1"})
            return {"type": "cancel", "data": {"statuses": statuses}}
        if kind == "updateLeverage":
            self.leverage[action["asset"]] = (action["leverage"], action["isCross"])
            return {"type": "default"}
        raise AssertionError(kind)

    async def ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            data = msg.json()
            if data.get("method") == "ping":
                await ws.send_json({"channel": "pong"})
                continue
            sub = data["subscription"]
            self.subscriptions.append(sub)
            await ws.send_json({"channel": "subscriptionResponse", "data": data})
            if sub["type"] == "l2Book":
                await ws.send_json(
                    {
                        "channel": "l2Book",
                        "data": {**BOOK, "coin": sub["coin"], "time": len(self.subscriptions)},
                    }
                )
            if sub["type"] == "userFills":
                await ws.send_json(
                    {
                        "channel": "userFills",
                        "data": {"isSnapshot": True, "user": sub["user"], "fills": self.fills},
                    }
                )
        return ws

    async def push_fill(self, fill: dict[str, Any]) -> None:
        self.fills.append(fill)
        for ws in self.sockets:
            if not ws.closed:
                await ws.send_json({"channel": "userFills", "data": {"user": ACCOUNT, "fills": [fill]}})


def fill(tid: int, oid: int = 1000) -> dict[str, Any]:
    return {
        "coin": "ETH",
        "px": "3000.1",
        "sz": "0.1",
        "side": "B",
        "time": 1_700_000_000_000 + tid,
        "startPosition": "0",
        "dir": "Open Long",
        "closedPnl": "0",
        "hash": "0x00",
        "oid": oid,
        "crossed": True,
        "fee": "0.1",
        "tid": tid,
        "cloid": None,
        "feeToken": "USDC",
    }


@pytest_asyncio.fixture
async def venue() -> AsyncIterator[tuple[Venue, str]]:
    from eth_account import Account

    v = Venue(agent=Account.from_key(AGENT_KEY).address.lower())
    server = TestServer(v.app(), host="127.0.0.1")
    await server.start_server()
    yield v, str(server.make_url("")).rstrip("/")
    for ws in v.sockets:
        await ws.close()
    await server.close()


@pytest_asyncio.fixture
async def client(venue: tuple[Venue, str]) -> AsyncIterator[HyperliquidClient]:
    _v, url = venue
    config = config_type_for("")(
        rest_url=url,
        http=HttpConfig(timeout_seconds=2, retries=1, backoff_seconds=0.01),
        rate_limit=RateLimitConfig(rate_per_second=0),
    )
    creds = credentials_type_for("")(account_address=ACCOUNT, agent_private_key=SecretStr(AGENT_KEY))
    c = HyperliquidClient(
        creds,
        config,
        scope=VenueScope(config, VenueRateLimiter("hyperliquid", 0)),
        markets=["ETH"],
        backoff_initial_seconds=0.05,
    )
    await c.connect()
    yield c
    await c.disconnect()


async def test_limit_orders_cancel_and_reads(venue: tuple[Venue, str], client: HyperliquidClient) -> None:
    v, _url = venue
    cid = client_order_id(7, 1)
    order = await client.place_limit_order("ETH", Side.BUY, D("0.12345"), D("2950.55"), client_order_id=cid)
    # size down to szDecimals 4, price down to 5 figures (never worse than asked)
    assert (order.status, order.quantity, order.price, order.order_id) == (
        OrderStatus.OPEN,
        D("0.1234"),
        D("2950.5"),
        "1000",
    )
    wire = v.actions[-1]["orders"][0]
    assert (wire["p"], wire["s"], wire["t"], wire["c"]) == (
        "2950.5",
        "0.1234",
        {"limit": {"tif": "Gtc"}},
        "0x" + format(int(cid), "032x"),
    )
    found = await client.get_order_info("ETH", client_order_id=cid)
    assert found is not None and (found.order_id, found.client_order_id, found.status) == (
        "1000",
        cid,
        OrderStatus.OPEN,
    )
    assert [o.client_order_id for o in await client.get_active_orders("ETH")] == [cid]
    await client.cancel_order("ETH", client_order_id=cid)
    assert v.actions[-1] == {"type": "cancelByCloid", "cancels": [{"asset": 1, "cloid": wire["c"]}]}
    with pytest.raises(HyperliquidRejectedError, match="never placed"):
        await client.cancel_order("ETH", order_id="1000")
    post = await client.place_limit_order(
        "ETH", Side.BUY, D("0.01"), D("3005"), post_only=True, client_order_id=client_order_id(7, 2)
    )
    assert post.status is OrderStatus.REJECTED and "Post only" in (post.reject_reason or "")
    reduce = await client.place_limit_order(
        "ETH", Side.SELL, D("0.01"), D("3100.04"), reduce_only=True, client_order_id=client_order_id(7, 3)
    )
    assert reduce.price == D("3100.1") and v.actions[-1]["orders"][0]["r"] is True  # SELL rounds up
    await client.cancel_all_orders("ETH")
    assert v.actions[-1]["type"] == "cancel" and await client.get_active_orders() == []
    with pytest.raises(HyperliquidRejectedError, match="minimum"):
        await client.place_limit_order(
            "ETH", Side.BUY, D("0.001"), D("3000"), client_order_id=client_order_id(7, 4)
        )


async def test_market_order_two_phases_and_bound(venue: tuple[Venue, str], client: HyperliquidClient) -> None:
    v, _url = venue
    assert await client.fetch_bbo_prices("ETH") == (D("2999.9"), D("3000.1"))
    send = await client.prepare_market_order(
        "ETH", Side.BUY, D("0.5"), max_slippage_bps=D(10), client_order_id=client_order_id(8, 1)
    )
    assert v.actions == []  # prepared (bound, rounded, signed): nothing sent yet
    result = await send()
    wire = v.actions[-1]["orders"][0]
    assert wire["t"] == {"limit": {"tif": "Ioc"}} and D(wire["p"]) == D(
        "3003.1"
    )  # 3000.1 + 10 bps, on the grid
    assert (result.status, result.filled_quantity) == (OrderStatus.FILLED, D("0.5"))
    partial = await client.place_market_order(
        "ETH", Side.BUY, D("1.0"), max_slippage_bps=D(50), client_order_id=client_order_id(8, 2)
    )
    assert (partial.status, partial.filled_quantity) == (OrderStatus.CANCELED, D("0.5"))  # IOC rest cancelled
    with pytest.raises(StaleBookError):  # 20 ETH is not in the book within the bound: nothing is sent
        await client.place_market_order(
            "ETH", Side.BUY, D("20"), max_slippage_bps=D(10), client_order_id=client_order_id(8, 3)
        )
    assert len(v.actions) == 2


async def test_a_lost_answer_is_reconciled_by_cloid(
    venue: tuple[Venue, str], client: HyperliquidClient
) -> None:
    v, _url = venue
    v.lose_next_answer = True  # applied, then HTTP 500: the outcome is unknown to the client
    cid = client_order_id(9, 1)
    order = await client.place_limit_order("ETH", Side.BUY, D("0.01"), D("2900"), client_order_id=cid)
    assert (
        len(v.actions) == 1 and order.status is OrderStatus.OPEN and order.client_order_id == cid
    )  # not doubled
    v.fail_next_before_apply = True  # refused before applying: not on the venue, so it is sent again, once
    again = await client.place_limit_order(
        "ETH", Side.BUY, D("0.01"), D("2901"), client_order_id=client_order_id(9, 2)
    )
    assert len(v.actions) == 2 and again.status is OrderStatus.OPEN


async def test_leverage_positions_balance_and_history(
    venue: tuple[Venue, str], client: HyperliquidClient
) -> None:
    v, _url = venue
    await client.set_leverage("ETH", D("7.9"))
    assert v.leverage[1] == (7, True)  # an integer, cross by default
    with pytest.raises(HyperliquidRejectedError, match="outside"):
        await client.set_leverage("ETH", D(26))
    await client.set_leverage("ISO", D(3))
    assert v.leverage[2] == (3, False)  # an isolated-only market gets isolated leverage
    positions = {p.symbol: p for p in await client.get_positions()}
    assert positions["ETH"].quantity == D("1.6") and positions["SOL"].quantity == D("-0.5")
    assert (await client.get_account_balance()).equity == D("11524.216934")
    assert await client.get_leverage_info("ETH") == (D(20), D(25))
    (payment,) = await client.get_funding_payments(datetime(2024, 1, 1, tzinfo=timezone.utc))
    assert payment.amount == D("75.635093") and payment.symbol == "SOL"


async def test_account_events_survive_a_reconnect_without_duplicates(
    venue: tuple[Venue, str], client: HyperliquidClient
) -> None:
    v, _url = venue
    events = client.events()
    await v.push_fill(fill(1))
    first = await asyncio.wait_for(events.__anext__(), 5)
    assert first.kind is EventKind.FILL and first.fill is not None and first.fill.fill_id == "1"
    v.fills.append(fill(2))  # made while the connection is down: only the next snapshot will show it
    for ws in list(v.sockets):  # the venue drops every connection
        await ws.close()
    stream = client.account_stream
    assert stream is not None
    for _ in range(200):
        if stream.ws.connects >= 2 and stream.subscribed.is_set():
            break
        await asyncio.sleep(0.05)
    await v.push_fill(fill(3))
    got = [await asyncio.wait_for(events.__anext__(), 5) for _ in range(1)]
    # the resubscription snapshot held fill 1 (already reported: skipped); fills 2 and 3 follow once each
    with contextlib.suppress(asyncio.TimeoutError):
        while True:
            got.append(await asyncio.wait_for(events.__anext__(), 0.5))
    ids = [e.fill.fill_id for e in got if e.fill is not None]
    assert sorted(ids) == ["2", "3"] and len(ids) == len(set(ids))
    assert sum(1 for s in v.subscriptions if s["type"] == "l2Book") >= 2  # books resubscribed too


async def test_an_unapproved_agent_is_refused(venue: tuple[Venue, str], client: HyperliquidClient) -> None:
    v, _url = venue
    v.agent = "0x" + "00" * 20  # the venue no longer knows this agent
    with pytest.raises(HyperliquidAuthError, match="does not exist"):
        await client.place_limit_order(
            "ETH", Side.BUY, D("0.01"), D("2900"), client_order_id=client_order_id(10, 1)
        )
