"""The simulator's Lighter trading protocol, driven by the OFFICIAL lighter-sdk 1.1.8 (`SignerClient`, `ApiClient`,
`WsClient`) against the in-process simulator (`start_simulator`, shipped demo scenario).

Every body is also validated STRICTLY against the SDK's own pydantic models (`Model.model_validate`: the SDK's
`from_dict` uses `model_construct`, which checks nothing), and, where a recording exists, its keys and JSON types
are compared with `../shared/venue-data/lighter` (skipped when `../shared` is absent).

Demo ETH (market 0) book used below (`simulator/scenarios/demo/lighter/orderBookOrders_0.json`): asks 3600.97
(1.4760), 3601.69 (0.5519); bids 3599.53 (1.8945); mark 3600.25; IMF 5 %, MMF 1.2 %; funding-rates 0.00024 per 8 h
= 0.00003 per hour; fees 0.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

import aiohttp
import lighter
import pytest
import pytest_asyncio
from lighter.signer_client import create_api_key

from simulator.lighter.markets import MAKER_ACCOUNT_BASE
from simulator.lighter.wire import ORDER_INDEX_BASE
from simulator.server import DEMO_SCENARIO, SimulatorHandle, start_simulator
from tests.shared_data import load_payload

pytestmark = pytest.mark.integration

PUSH = 0.2
KEY = 3  # API key slot used by every trader
HOUR_S = 3600


# ---------------------------------------------------------------------------------------------- fixtures


@pytest_asyncio.fixture(scope="module")
async def sim() -> AsyncIterator[SimulatorHandle]:
    async with await start_simulator(DEMO_SCENARIO, push_interval_seconds=PUSH) as handle:
        yield handle


@pytest_asyncio.fixture(scope="module")
async def fast() -> AsyncIterator[SimulatorHandle]:
    """3600x: one funding hour per real second."""
    async with await start_simulator(DEMO_SCENARIO, push_interval_seconds=PUSH, speed=3600) as handle:
        yield handle


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


class Trader:
    """A funded account with a registered API key, and SDK clients bound to it."""

    def __init__(self, sim: SimulatorHandle, account: int, private_key: str) -> None:
        self.sim = sim
        self.account = account
        self.private_key = private_key
        self.signer = lighter.SignerClient(
            url=sim.url("lighter"), account_index=account, api_private_keys={KEY: private_key}
        )
        self.api = lighter.ApiClient(lighter.Configuration(host=sim.url("lighter")))

    def token(self) -> str:
        token, err = self.signer.create_auth_token_with_expiry(api_key_index=KEY)
        assert err is None
        return str(token)

    async def close(self) -> None:
        await self.signer.close()
        await self.api.close()


async def admin(http: aiohttp.ClientSession, method: str, url: str, body: Any = None) -> Any:
    async with http.request(method, url, json=body) as resp:
        assert resp.status == 200, (url, resp.status, await resp.text())
        return await resp.json()


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with http.get(url) as resp:
        return resp.status, await resp.json()


async def trader(sim: SimulatorHandle, http: aiohttp.ClientSession, account: int, collateral: str) -> Trader:
    private_key, public_key, err = create_api_key()
    assert err is None
    await admin(
        http,
        "POST",
        sim.url("lighter") + "/_sim/lighter/apikeys",
        {"account_index": account, "api_key_index": KEY, "public_key": public_key},
    )
    funded = await admin(
        http,
        "POST",
        sim.url("lighter") + "/_sim/accounts",
        {"account_index": account, "collateral": collateral},
    )
    assert Decimal(funded["collateral"]) == Decimal(collateral)
    return Trader(sim, account, private_key)


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 5.0) -> Any:
    """Poll `check()` until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def account_body(http: aiohttp.ClientSession, sim: SimulatorHandle, account: int) -> dict[str, Any]:
    status, body = await get(http, f"{sim.url('lighter')}/api/v1/account?by=index&value={account}")
    assert status == 200, body
    lighter.DetailedAccounts.model_validate(body)
    return dict(body["accounts"][0])


async def orders_body(http: aiohttp.ClientSession, t: Trader, path: str) -> list[dict[str, Any]]:
    status, body = await get(http, f"{t.sim.url('lighter')}/api/v1/{path}&auth={t.token()}")
    assert status == 200, body
    lighter.Orders.model_validate(body)
    return list(body["orders"])


async def next_nonce(t: Trader) -> int:
    resp = await lighter.TransactionApi(t.api).next_nonce(account_index=t.account, api_key_index=KEY)
    return int(resp.nonce)


async def send_raw(
    http: aiohttp.ClientSession, sim: SimulatorHandle, tx_type: Any, tx_info: Any
) -> tuple[int, Any]:
    form = {}
    if tx_type is not None:
        form["tx_type"] = str(tx_type)
    if tx_info is not None:
        form["tx_info"] = tx_info if isinstance(tx_info, str) else json.dumps(tx_info)
    async with http.post(sim.url("lighter") + "/api/v1/sendTx", data=form) as resp:
        return resp.status, await resp.json()


def accepted(resp: Any, err: Any) -> None:
    assert err is None, err
    assert resp.code == 200
    lighter.RespSendTx.model_validate(resp.to_dict())


def conforms(served: Any, recorded: Any, where: str = "$") -> None:
    """Every key of the recording is served with the same JSON type (recursing into objects and first list
    elements)."""
    if isinstance(recorded, dict):
        assert isinstance(served, dict), where
        for key, value in recorded.items():
            assert key in served, f"{where}.{key} missing"
            conforms(served[key], value, f"{where}.{key}")
    elif isinstance(recorded, list):
        assert isinstance(served, list), where
        if recorded and served:
            conforms(served[0], recorded[0], f"{where}[0]")
    elif isinstance(recorded, bool):
        assert isinstance(served, bool), where
    elif isinstance(recorded, (int, float)):
        assert isinstance(served, (int, float)) and not isinstance(served, bool), where
        assert isinstance(served, int) == isinstance(recorded, int), f"{where}: int vs float"
    else:
        assert type(served) is type(recorded), (
            f"{where}: {type(served).__name__} vs {type(recorded).__name__}"
        )


# ---------------------------------------------------------------------------------------------- orders


async def test_post_only_rests_then_cancels(sim: SimulatorHandle, http: aiohttp.ClientSession) -> None:
    t = await trader(sim, http, 7101, "10000")
    s = t.signer
    try:
        _, resp, err = await s.create_order(
            0, 101, 1000, 359000, False, s.ORDER_TYPE_LIMIT, s.ORDER_TIME_IN_FORCE_POST_ONLY
        )
        accepted(resp, err)
        active = await lighter.OrderApi(t.api).account_active_orders(
            account_index=7101, market_id=0, authorization=t.token()
        )
        [order] = active.orders
        assert (order.price, order.initial_base_amount, order.remaining_base_amount) == (
            "3590.00",
            "0.1000",
            "0.1000",
        )
        assert (order.status, order.time_in_force, order.type, order.is_ask) == (
            "open",
            "post-only",
            "limit",
            False,
        )
        assert (order.client_order_index, order.owner_account_index, order.nonce) == (101, 7101, 0)
        assert order.order_index >= ORDER_INDEX_BASE and order.order_id == str(order.order_index)
        assert (order.base_size, order.base_price) == (1000, 359000)
        raw = await orders_body(http, t, "accountActiveOrders?account_index=7101&market_id=0")
        assert [o["order_index"] for o in raw] == [order.order_index]

        book = await lighter.OrderApi(t.api).order_book_orders(0, 250)
        mine = [b for b in book.bids if b.owner_account_index == 7101]
        assert [(b.order_index, b.price, b.remaining_base_amount) for b in mine] == [
            (order.order_index, "3590.00", "0.1000")
        ]
        account = await account_body(http, sim, 7101)
        # equity 10000 - IM of the resting bid: 0.1 x mark 3600.25 x 5 %
        assert (account["collateral"], account["available_balance"], account["total_order_count"]) == (
            "10000.000000",
            "9981.998750",
            1,
        )
        assert [(p["market_id"], p["position"], p["open_order_count"]) for p in account["positions"]] == [
            (0, "0.0000", 1)
        ]

        # a post-only bid at the best ask would cross: accepted, then canceled by the sequencer
        _, resp, err = await s.create_order(
            0, 102, 1000, 360097, False, s.ORDER_TYPE_LIMIT, s.ORDER_TIME_IN_FORCE_POST_ONLY
        )
        accepted(resp, err)
        _, resp, err = await s.cancel_order(0, 101)  # by client order index
        accepted(resp, err)
        _, resp, err = await s.cancel_order(0, 101)
        assert resp is None and "code=21600" in err and "given order is not an active limit order" in err

        assert await orders_body(http, t, "accountActiveOrders?account_index=7101") == []
        inactive = await lighter.OrderApi(t.api).account_inactive_orders(
            account_index=7101, limit=10, authorization=t.token()
        )
        assert [(o.client_order_index, o.status, o.filled_base_amount) for o in inactive.orders] == [
            (101, "canceled", "0.0000"),
            (102, "canceled-post-only", "0.0000"),
        ]
        await orders_body(http, t, "accountInactiveOrders?account_index=7101&limit=10")
        # three accepted transactions; the refused cancel left the nonce alone
        assert await next_nonce(t) == 3
        account = await account_body(http, sim, 7101)
        assert account["available_balance"] == "10000.000000"
    finally:
        await t.close()


async def test_ioc_fill_position_trades_and_reduce_only(
    sim: SimulatorHandle, http: aiohttp.ClientSession
) -> None:
    t = await trader(sim, http, 7102, "500")
    s = t.signer
    try:
        # SOL (market 2): IOC buy 20 at 210.539 takes 20 of the 34.943 offered at 210.497
        _, resp, err = await s.create_order(
            2,
            1,
            20000,
            210539,
            False,
            s.ORDER_TYPE_LIMIT,
            s.ORDER_TIME_IN_FORCE_IMMEDIATE_OR_CANCEL,
            order_expiry=0,
        )
        accepted(resp, err)
        account = await account_body(http, sim, 7102)
        [pos] = account["positions"]
        mark, mmf, imf = Decimal("210.455"), Decimal("0.03"), Decimal("0.1")
        equity = Decimal(500) + 20 * (mark - Decimal("210.497"))
        liq = mark + (20 * mark * mmf - equity) / (20 * (1 - mmf))
        assert (pos["sign"], pos["position"], pos["avg_entry_price"]) == (1, "20.000", "210.497")
        assert (pos["position_value"], pos["unrealized_pnl"], pos["initial_margin_fraction"]) == (
            "4209.100000",
            "-0.840000",
            "10.00",
        )
        assert Decimal(pos["liquidation_price"]) == liq.quantize(Decimal("1e-8"))
        assert (account["collateral"], account["total_asset_value"]) == ("500.000000", f"{equity:.6f}")
        assert account["available_balance"] == f"{equity - 20 * mark * imf:.6f}"

        trades = await lighter.OrderApi(t.api).trades(
            sort_by="trade_id", limit=10, account_index=7102, authorization=t.token()
        )
        [trade] = trades.trades
        assert (trade.size, trade.price, trade.usd_amount, trade.type) == (
            "20.000",
            "210.497",
            "4209.940000",
            "trade",
        )
        assert (trade.bid_account_id, trade.is_maker_ask, trade.bid_client_id, trade.market_id) == (
            7102,
            True,
            1,
            2,
        )
        assert (trade.taker_position_size_before, trade.taker_position_sign_changed) == ("0.000", True)
        assert trade.taker_fee is None and trade.maker_fee is None  # zero fees are omitted, as recorded
        recorded_asks = json.loads((DEMO_SCENARIO / "lighter" / "orderBookOrders_2.json").read_text())["asks"]
        assert (trade.ask_id, trade.ask_account_id) == (
            recorded_asks[0]["order_index"],
            recorded_asks[0]["owner_account_index"],
        )
        status, raw = await get(
            http,
            f"{sim.url('lighter')}/api/v1/trades?sort_by=trade_id&limit=10&account_index=7102&auth={t.token()}",
        )
        assert status == 200
        lighter.Trades.model_validate(raw)
        status, recent = await get(http, f"{sim.url('lighter')}/api/v1/recentTrades?market_id=2&limit=5")
        lighter.Trades.model_validate(recent)
        assert recent["trades"][0]["trade_id"] == trade.trade_id

        # reduce-only market sell of 30 with a worst price of 200: clamped to the 20 held (Lighter: the rest is
        # canceled once the position reaches zero): 10.356 @ 210.413, 5.827 @ 210.371, 3.817 @ 210.329
        _, resp, err = await s.create_market_order(2, 2, 30000, 200000, True, reduce_only=True)
        accepted(resp, err)
        [closed, first] = await orders_body(http, t, "accountInactiveOrders?account_index=7102&limit=10")
        assert (closed["status"], closed["filled_base_amount"], closed["reduce_only"], closed["type"]) == (
            "canceled-reduce-only",
            "20.000",
            True,
            "market",
        )
        assert (first["status"], first["time_in_force"]) == ("filled", "immediate-or-cancel")
        realized = (
            Decimal("10.356") * Decimal("-0.084")
            + Decimal("5.827") * Decimal("-0.126")
            + Decimal("3.817") * Decimal("-0.168")
        )
        account = await account_body(http, sim, 7102)
        assert account["collateral"] == f"{500 + realized:.6f}" == "497.754638"
        assert [(p["position"], p["sign"], p["realized_pnl"]) for p in account["positions"]] == [
            ("0.000", 0, "-2.245362")
        ]
        # reduce-only with no position: canceled by the sequencer
        _, resp, err = await s.create_market_order(2, 3, 1000, 200000, True, reduce_only=True)
        accepted(resp, err)
        newest = (await orders_body(http, t, "accountInactiveOrders?account_index=7102&limit=1"))[0]
        assert (newest["client_order_index"], newest["status"], newest["filled_base_amount"]) == (
            3,
            "canceled-reduce-only",
            "0.000",
        )
    finally:
        await t.close()


async def test_market_order_worst_price_then_book_replenishes(
    sim: SimulatorHandle, http: aiohttp.ClientSession
) -> None:
    t = await trader(sim, http, 7103, "2000")
    try:
        # AVAX (market 9): buy 200 with a worst price of 41.2176: 143.08 @ 41.2094 + 10.30 @ 41.2176, then the
        # next level (41.2258) is beyond the bound
        _, resp, err = await t.signer.create_market_order(9, 7, 20000, 412176, False)
        accepted(resp, err)
        [order] = await orders_body(http, t, "accountInactiveOrders?account_index=7103&limit=5")
        assert (order["status"], order["filled_base_amount"], order["price"]) == (
            "canceled-too-much-slippage",
            "153.38",
            "41.2176",
        )
        quote = Decimal("143.08") * Decimal("41.2094") + Decimal("10.30") * Decimal("41.2176")
        assert order["filled_quote_amount"] == f"{quote:.6f}"
        account = await account_body(http, sim, 7103)
        assert [(p["position"], p["avg_entry_price"]) for p in account["positions"]] == [
            ("153.38", f"{quote / Decimal('153.38'):.4f}")
        ]

        async def replenished() -> bool:
            book = await lighter.OrderApi(t.api).order_book_orders(9, 5)
            best = [a for a in book.asks if a.price == "41.2094"]
            return sum(Decimal(a.remaining_base_amount) for a in best) == Decimal("143.08")

        # the recorded book's market maker puts the consumed orders back (1 s simulated after the hit), as new
        # orders (new indexes) at the recorded prices and sizes
        await eventually(replenished)
        recorded = json.loads((DEMO_SCENARIO / "lighter" / "orderBookOrders_9.json").read_text())["asks"]
        book = await lighter.OrderApi(t.api).order_book_orders(9, 1)
        assert (
            book.asks[0].price == recorded[0]["price"]
            and book.asks[0].order_index != recorded[0]["order_index"]
        )
    finally:
        await t.close()


async def test_cancel_all_now_per_market_and_scheduled(
    sim: SimulatorHandle, http: aiohttp.ClientSession
) -> None:
    t = await trader(sim, http, 7104, "5000")
    s = t.signer
    post_only = s.ORDER_TIME_IN_FORCE_POST_ONLY
    try:
        for client, market, price in ((1, 24, 277000), (2, 24, 276000), (3, 16, 45000)):
            _, resp, err = await s.create_order(
                market, client, 1000, price, False, s.ORDER_TYPE_LIMIT, post_only
            )
            accepted(resp, err)
        _, resp, err = await s.cancel_all_orders(s.CANCEL_ALL_TIF_IMMEDIATE, 0, cancel_all_market_index=24)
        accepted(resp, err)
        assert [
            o["client_order_index"]
            for o in await orders_body(http, t, "accountActiveOrders?account_index=7104")
        ] == [3]
        _, resp, err = await s.cancel_all_orders(s.CANCEL_ALL_TIF_IMMEDIATE, 0)
        accepted(resp, err)
        assert await orders_body(http, t, "accountActiveOrders?account_index=7104") == []
        inactive = await orders_body(http, t, "accountInactiveOrders?account_index=7104&limit=10")
        assert sorted((o["client_order_index"], o["status"]) for o in inactive) == [
            (1, "canceled"),
            (2, "canceled"),
            (3, "canceled"),
        ]

        # scheduled cancel-all (dead man's switch) on the simulator clock, then aborted / triggered
        _, resp, err = await s.create_order(16, 4, 1000, 45000, False, s.ORDER_TYPE_LIMIT, post_only)
        accepted(resp, err)
        at = sim.clock.now_ms() + 600
        _, resp, err = await s.cancel_all_orders(s.CANCEL_ALL_TIF_SCHEDULED, at)
        accepted(resp, err)
        assert (await account_body(http, sim, 7104))["cancel_all_time"] == at

        async def all_canceled() -> bool:
            return await orders_body(http, t, "accountActiveOrders?account_index=7104") == []

        await eventually(all_canceled)
        assert (await account_body(http, sim, 7104))["cancel_all_time"] == 0
    finally:
        await t.close()


async def test_bad_nonce_is_recovered_through_the_sdk(
    sim: SimulatorHandle, http: aiohttp.ClientSession
) -> None:
    a = await trader(sim, http, 7105, "5000")
    b = Trader(sim, 7105, a.private_key)  # a second process using the same key
    s = a.signer
    gtt = s.ORDER_TIME_IN_FORCE_GOOD_TILL_TIME
    try:
        _, resp, err = await s.create_order(12, 1, 20, 500000, False, s.ORDER_TYPE_LIMIT, gtt)  # nonce 0
        accepted(resp, err)
        _, resp, err = await b.signer.create_order(
            12, 2, 20, 500000, False, s.ORDER_TYPE_LIMIT, gtt
        )  # nonce 1
        accepted(resp, err)
        # `a` believes 1 is next: Lighter's invalid-nonce answer, which makes lighter-sdk refetch its nonce
        _, resp, err = await s.create_order(12, 3, 20, 500000, False, s.ORDER_TYPE_LIMIT, gtt)
        assert resp is None and "code=21104" in err and "invalid nonce" in err
        _, resp, err = await s.create_order(12, 4, 20, 500000, False, s.ORDER_TYPE_LIMIT, gtt)  # nonce 2
        accepted(resp, err)
        assert await next_nonce(a) == 3
        active = await orders_body(http, a, "accountActiveOrders?account_index=7105&market_id=12")
        assert [(o["client_order_index"], o["nonce"]) for o in active] == [(1, 0), (2, 1), (4, 2)]
    finally:
        await a.close()
        await b.close()


async def test_api_level_rejections_keep_the_nonce(sim: SimulatorHandle, http: aiohttp.ClientSession) -> None:
    t = await trader(sim, http, 7106, "100")
    s = t.signer
    try:
        tx_type, text, _, err = s.sign_create_order(
            0, 11, 100, 350000, 0, 0, 1, False, 0, -1, nonce=0, api_key_index=KEY
        )
        assert err is None and tx_type == 14
        base = json.loads(text)
        cases: list[tuple[Any, Any, int, str]] = [
            (14, {"MarketIndex": 200}, 21602, "invalid market index"),
            (14, {"BaseAmount": 1}, 21706, "invalid order base or quote amount"),  # 0.0001 ETH < 0.0028
            (14, {"BaseAmount": 0}, 21701, "invalid base amount"),
            (14, {"Price": 0}, 21702, "invalid price"),
            (14, {"IsAsk": 2}, 21703, "invalid isAsk"),
            (14, {"Type": 2}, 21710, "unsupported order type"),
            (14, {"Type": 9}, 21704, "invalid OrderType"),
            (14, {"TimeInForce": 5}, 21705, "invalid OrderTimeInForce"),
            (14, {"Type": 1, "TimeInForce": 1}, 21705, "invalid OrderTimeInForce"),
            (14, {"ClientOrderIndex": 1 << 48}, 21727, "invalid client order index"),
            (14, {"Nonce": 5}, 21104, "invalid nonce"),
            (14, {"ApiKeyIndex": 9}, 21109, "api key not found"),
            (14, {"AccountIndex": 424242}, 21100, "account not found"),
            (14, {"BaseAmount": "100"}, 21501, "invalid tx info"),
            # a resting bid of 1 ETH needs 180 USDC of initial margin: refused at the API
            (14, {"BaseAmount": 10000}, 21739, "not enough margin to create the order"),
            (28, {}, 21505, "unsupported tx type"),  # grouped orders
            (17, {}, 21501, "invalid tx info"),  # modify without its fields
            (99, {}, 21505, "unsupported tx type"),
        ]
        for tx, change, code, message in cases:
            status, body = await send_raw(http, sim, tx, {**base, **change})
            assert (status, body) == (400, {"code": code, "message": message}), (tx, change)
        assert await send_raw(http, sim, 14, "not json") == (
            400,
            {"code": 21501, "message": "invalid tx info"},
        )
        assert await send_raw(http, sim, None, base) == (400, {"code": 20001, "message": "invalid param "})
        assert await next_nonce(t) == 0

        # the same margin shortfall on an IOC/market order goes through and is canceled by the sequencer
        status, body = await send_raw(
            http,
            sim,
            14,
            {**base, "BaseAmount": 10000, "Type": 1, "TimeInForce": 0, "Price": 370000, "OrderExpiry": 0},
        )
        assert status == 200
        lighter.RespSendTx.model_validate(body)
        assert (body["code"], body["message"], len(body["tx_hash"])) == (
            200,
            '{"ratelimit": "didn\'t use volume quota"}',
            80,
        )
        [order] = await orders_body(http, t, "accountInactiveOrders?account_index=7106&limit=5")
        assert (order["status"], order["client_order_index"], order["nonce"]) == (
            "canceled-margin-not-allowed",
            11,
            0,
        )
        # a client order index is never reused
        status, body = await send_raw(http, sim, 14, {**base, "Nonce": 1, "ClientOrderIndex": 12})
        assert status == 200, body
        status, body = await send_raw(http, sim, 14, {**base, "Nonce": 2, "ClientOrderIndex": 12})
        assert (status, body) == (400, {"code": 21728, "message": "client order index already exists"})
        assert await next_nonce(t) == 2
        # the SDK surfaces the same answers: modifying an order that does not exist
        _, resp, err = await s.modify_order(0, ORDER_INDEX_BASE + 999_999, 100, 350000)
        assert resp is None and "code=21600" in err and "not an active limit order" in err
        assert await next_nonce(t) == 2
    finally:
        await t.close()


async def test_send_tx_batch(sim: SimulatorHandle, http: aiohttp.ClientSession) -> None:
    t = await trader(sim, http, 7107, "5000")
    s = t.signer
    try:
        infos = []
        for nonce, client, price in ((0, 1, 200000), (1, 2, 199000)):
            _, text, _, err = s.sign_create_order(
                5, client, 1000, price, 0, 0, 1, False, 0, -1, nonce=nonce, api_key_index=KEY
            )
            assert err is None
            infos.append(text)
        resp = await s.send_tx_batch([14, 14], infos)
        lighter.RespSendTxBatch.model_validate(resp.to_dict())
        assert resp.code == 200 and len(resp.tx_hash) == 2 and resp.tx_hash[0] != resp.tx_hash[1]
        active = await orders_body(http, t, "accountActiveOrders?account_index=7107")
        assert [(o["client_order_index"], o["price"], o["initial_base_amount"]) for o in active] == [
            (1, "2.00000", "100.0"),
            (2, "1.99000", "100.0"),
        ]
        assert await next_nonce(t) == 2
        gap = []
        for nonce in (2, 4):
            _, text, _, _ = s.sign_create_order(
                5, 10 + nonce, 1000, 199000, 0, 0, 1, False, 0, -1, nonce=nonce, api_key_index=KEY
            )
            gap.append(text)
        with pytest.raises(lighter.exceptions.BadRequestException) as info:
            await s.send_tx_batch([14, 14], gap)
        assert json.loads(info.value.body) == {
            "code": 21105,
            "message": "batch transaction nonce is not increasing",
        }
        form = {"tx_types": "[14]", "tx_infos": json.dumps(gap)}
        async with http.post(sim.url("lighter") + "/api/v1/sendTxBatch", data=form) as raw:
            assert (raw.status, await raw.json()) == (
                400,
                {"code": 21513, "message": "TxInfos and TxTypes should have the same length"},
            )
        assert await next_nonce(t) == 2
    finally:
        await t.close()


# ---------------------------------------------------------------------------------------------- WebSocket


async def test_ws_client_receives_book_and_account_updates(
    sim: SimulatorHandle, http: aiohttp.ClientSession
) -> None:
    t = await trader(sim, http, 7108, "5000")
    s = t.signer
    books: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    accounts: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    ws_client = lighter.WsClient(
        order_book_ids=[7],
        account_ids=[7108],
        ws_url=sim.ws_url("lighter"),
        on_order_book_update=lambda market, state: books.put_nowait(json.loads(json.dumps(state))),
        on_account_update=lambda account, state: accounts.put_nowait(state),
    )
    task = asyncio.create_task(ws_client.run_async())

    async def book_until(pred: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        while True:
            state = await asyncio.wait_for(books.get(), 5)
            if pred(state):
                return state

    async def account_until(pred: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        while True:
            state = await asyncio.wait_for(accounts.get(), 5)
            if pred(state):
                return state

    try:
        snapshot = await book_until(lambda st: True)
        assert snapshot["bids"][0] == {"price": "2.450740", "size": "3526"}
        first = await account_until(lambda st: st["type"] == "subscribed/account_all")
        assert (first["account"], first["positions"], first["orders"], first["trades"]) == (7108, {}, {}, {})
        # XRP (market 7): a new bid level at 2.450000
        _, resp, err = await s.create_order(
            7, 1, 100, 2450000, False, s.ORDER_TYPE_LIMIT, s.ORDER_TIME_IN_FORCE_POST_ONLY
        )
        accepted(resp, err)
        state = await book_until(lambda st: any(b["price"] == "2.450000" for b in st["bids"]))
        assert {"price": "2.450000", "size": "100"} in state["bids"]
        update = await account_until(lambda st: "7" in st["orders"])
        [order] = update["orders"]["7"]
        lighter.Order.model_validate(order)
        assert (update["type"], order["status"], order["price"], order["client_order_index"]) == (
            "update/account_all",
            "open",
            "2.450000",
            1,
        )
        lighter.AccountPosition.model_validate(update["positions"]["7"])
        _, resp, err = await s.cancel_order(7, 1)
        accepted(resp, err)
        state = await book_until(lambda st: all(b["price"] != "2.450000" for b in st["bids"]))
        assert state["bids"][0]["price"] == "2.450740"
        update = await account_until(lambda st: "7" in st["orders"])
        assert update["orders"]["7"][0]["status"] == "canceled"
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        if ws_client.ws is not None:
            await ws_client.ws.close()
        await t.close()


async def recv(ws: aiohttp.ClientWebSocketResponse, pred: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    while True:
        msg = await asyncio.wait_for(ws.receive(), 5)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        frame = json.loads(msg.data)
        if pred(frame):
            return dict(frame)


async def test_ws_nonce_chain_account_all_and_ws_faults(
    sim: SimulatorHandle, http: aiohttp.ClientSession
) -> None:
    t = await trader(sim, http, 7109, "5000")
    s = t.signer
    try:
        async with http.ws_connect(sim.ws_url("lighter")) as ws:
            assert (await recv(ws, lambda f: True))["type"] == "connected"
            await ws.send_json({"type": "subscribe", "channel": "account_all/999999"})
            assert await recv(ws, lambda f: "error" in f) == {
                "error": {"code": 21100, "message": "account not found"}
            }
            await ws.send_json({"type": "subscribe", "channel": "order_book/8"})
            snap = await recv(ws, lambda f: f.get("type") == "subscribed/order_book")
            await ws.send_json({"type": "subscribe", "channel": "account_all/7109", "auth": t.token()})
            acc = await recv(ws, lambda f: f.get("type") == "subscribed/account_all")
            assert (acc["channel"], acc["total_trades_count"]) == ("account_all:7109", 0)
            await ws.send_json({"type": "subscribe", "channel": "account_all/7109"})
            assert await recv(ws, lambda f: "error" in f) == {
                "error": {"code": 30003, "message": "Already Subscribed to : account_all:7109"}
            }
            assert snap["order_book"]["begin_nonce"] == 0
            assert snap["order_book"]["asks"][0] == {"price": "23.51704", "size": "112.4"}

            # LINK (market 8): IOC buy 10 at the best ask
            _, resp, err = await s.create_order(
                8,
                1,
                100,
                2351704,
                False,
                s.ORDER_TYPE_LIMIT,
                s.ORDER_TIME_IN_FORCE_IMMEDIATE_OR_CANCEL,
                order_expiry=0,
            )
            accepted(resp, err)
            nonce = snap["order_book"]["nonce"]
            while True:  # heartbeats then the change, every frame chaining to the previous one
                update = await recv(ws, lambda f: f.get("type") == "update/order_book")
                assert update["order_book"]["begin_nonce"] == nonce
                nonce = update["order_book"]["nonce"]
                if update["order_book"]["asks"]:
                    break
            assert update["order_book"]["asks"] == [{"price": "23.51704", "size": "102.4"}]
            fill = await recv(ws, lambda f: f.get("type") == "update/account_all" and f["trades"])
            [trade] = fill["trades"]["8"]
            lighter.Trade.model_validate(trade)
            assert (trade["size"], trade["price"], trade["bid_account_id"]) == ("10.0", "23.51704", 7109)
            assert (
                fill["positions"]["8"]["position"],
                fill["positions"]["8"]["sign"],
                fill["total_trades_count"],
            ) == (
                "10.0",
                1,
                1,
            )
            assert fill["total_volume"] == float(Decimal("235.1704"))

            # fault: one order-book frame "lost"; the next frame does not chain
            await admin(
                http, "POST", sim.url("lighter") + "/_sim/ws/faults", {"skip_nonce": True, "market_id": 8}
            )
            gap = await recv(ws, lambda f: f.get("type") == "update/order_book")
            assert gap["order_book"]["begin_nonce"] != nonce
            after = await recv(ws, lambda f: f.get("type") == "update/order_book")
            assert after["order_book"]["begin_nonce"] == gap["order_book"]["nonce"]
            await ws.send_json({"type": "ping"})
            assert await recv(ws, lambda f: f.get("type") == "pong") == {"type": "pong"}
            dropped = await admin(
                http, "POST", sim.url("lighter") + "/_sim/ws/faults", {"drop_connections": True}
            )
            assert dropped["dropped_connections"] >= 1
            while True:
                msg = await asyncio.wait_for(ws.receive(), 5)
                if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                    break
        async with http.post(sim.url("lighter") + "/_sim/ws/faults", json={}) as resp:
            assert resp.status == 400
    finally:
        await t.close()


# ---------------------------------------------------------------------------------------------- admin & faults


async def test_engine_faults_venue_down_mark_and_funding_admin(
    sim: SimulatorHandle, http: aiohttp.ClientSession
) -> None:
    t = await trader(sim, http, 7110, "1000")
    s = t.signer
    ioc = s.ORDER_TIME_IN_FORCE_IMMEDIATE_OR_CANCEL
    base = sim.url("lighter") + "/_sim/"
    try:
        faults = await admin(http, "POST", base + "engine/faults", {"reject_next": 1})
        assert faults["faults"]["reject_next"] == 1
        # DOGE (market 3): the rejected order is accepted by the API and canceled by the "sequencer"
        _, resp, err = await s.create_order(3, 1, 100, 381321, False, s.ORDER_TYPE_LIMIT, ioc, order_expiry=0)
        accepted(resp, err)
        [rejected] = await orders_body(http, t, "accountInactiveOrders?account_index=7110&limit=5")
        assert (rejected["status"], rejected["filled_base_amount"]) == ("canceled", "0")
        await admin(http, "POST", base + "engine/faults", {"fill_fraction": "0.5", "fill_fraction_count": 1})
        _, resp, err = await s.create_order(3, 2, 100, 381321, False, s.ORDER_TYPE_LIMIT, ioc, order_expiry=0)
        accepted(resp, err)
        half = (await orders_body(http, t, "accountInactiveOrders?account_index=7110&limit=5"))[0]
        assert (half["client_order_index"], half["status"], half["filled_base_amount"]) == (
            2,
            "canceled",
            "50",
        )
        assert (await admin(http, "GET", base + "engine/faults"))["faults"] == {
            "reject_next": 0,
            "fill_fraction": None,
            "fill_fraction_remaining": None,
        }

        down = await admin(http, "POST", base + "venue/down")
        assert down["faults"]["status"]["http_status"] == 503
        with pytest.raises(lighter.exceptions.ServiceException) as info:
            await lighter.AccountApi(t.api).account(by="index", value="7110")
        assert info.value.status == 503
        assert (await admin(http, "GET", base + "accounts/7110"))[
            "account_index"
        ] == 7110  # admin still served
        await admin(http, "POST", base + "venue/up")
        accounts = await lighter.AccountApi(t.api).account(by="index", value="7110")
        assert accounts.accounts[0].positions[0].position == "50"

        # move the mark: the recorded book moves with it (offsets kept), the position is revalued
        moved = await admin(http, "POST", base + "markets/DOGE/mark", {"price": "0.400000"})
        assert moved == {"market_id": 3, "symbol": "DOGE", "mark_price": "0.400000"}
        book = await lighter.OrderApi(t.api).order_book_orders(3, 1)
        assert (book.asks[0].price, book.bids[0].price) == ("0.400076", "0.399924")
        state = await admin(http, "GET", base + "accounts/7110")
        [pos] = state["positions"]
        assert Decimal(pos["unrealized_pnl"]) == 50 * (Decimal("0.4") - Decimal("0.381321"))
        async with http.ws_connect(sim.ws_url("lighter")) as ws:
            await ws.send_json({"type": "subscribe", "channel": "market_stats/3"})
            stats = (await recv(ws, lambda f: f.get("type") == "subscribed/market_stats"))["market_stats"]
        assert (stats["mark_price"], stats["best_ask_price"], stats["best_bid_price"]) == (
            "0.400000",
            "0.400076",
            "0.399924",
        )
        assert stats["last_trade_price"] == "0.381321"

        await admin(http, "POST", base + "markets/3/funding", {"rate_hourly": "0.0001"})
        rates = await lighter.FundingApi(t.api).funding_rates()
        assert [r.rate for r in rates.funding_rates if r.exchange == "lighter" and r.market_id == 3] == [
            0.0008
        ]
        # the shared FundingSpec: `funding_rate` per the market's period (1 h on Lighter) is accepted too
        answer = await admin(http, "POST", base + "markets/3/funding", {"funding_rate": "0.0001"})
        assert answer == {"market_id": 3, "symbol": "DOGE", "rate_hourly": "0.0001"}
        for url, body in (
            (base + "markets/999/mark", {"price": "1"}),
            (base + "markets/3/mark", {"price": "1", "random_walk": {}}),
            (base + "markets/3/funding", {"rate": "1"}),
            (base + "accounts", {"account_index": MAKER_ACCOUNT_BASE, "collateral": "1"}),
            (base + "engine/faults", {"fill_fraction": "1.5"}),
        ):
            async with http.post(url, json=body) as resp:
                assert resp.status in (400, 404), (url, body, resp.status)
    finally:
        await admin(http, "POST", base + "engine/faults", {"clear": True})
        await admin(http, "POST", base + "venue/up")
        await t.close()


async def test_liquidation_after_a_mark_move(sim: SimulatorHandle, http: aiohttp.ClientSession) -> None:
    t = await trader(sim, http, 7701, "200")
    s = t.signer
    try:
        # BTC (market 1, IMF 5 %, MMF 1.2 %, liquidation fee 1 %): long 0.03 at 97031.8, plus a resting bid
        _, resp, err = await s.create_order(
            1,
            1,
            3000,
            970318,
            False,
            s.ORDER_TYPE_LIMIT,
            s.ORDER_TIME_IN_FORCE_IMMEDIATE_OR_CANCEL,
            order_expiry=0,
        )
        accepted(resp, err)
        _, resp, err = await s.create_order(
            1, 2, 100, 900000, False, s.ORDER_TYPE_LIMIT, s.ORDER_TIME_IN_FORCE_POST_ONLY
        )
        accepted(resp, err)
        # mark 91000: equity 200 + 0.03 x (91000 - 97031.8) = 19.046 < maintenance 0.03 x 91000 x 1.2 % = 32.76
        await admin(http, "POST", sim.url("lighter") + "/_sim/markets/1/mark", {"price": "91000"})
        state = await admin(http, "GET", sim.url("lighter") + "/_sim/accounts/7701")
        realized, penalty = (
            Decimal("0.03") * (91000 - Decimal("97031.8")),
            Decimal("0.03") * 91000 * Decimal("0.01"),
        )
        assert (state["liquidations"], state["open_orders"], state["positions"][0]["size"]) == (
            1,
            [],
            "0.00000",
        )
        assert Decimal(state["collateral"]) == 200 + realized - penalty == Decimal("-8.254")
        trades = await lighter.OrderApi(t.api).trades(
            sort_by="trade_id", limit=5, account_index=7701, authorization=t.token()
        )
        newest = trades.trades[0]
        assert (newest.type, newest.price, newest.size, newest.ask_account_id, newest.ask_id) == (
            "liquidation",
            "91000.0",
            "0.03000",
            7701,
            0,
        )
        assert newest.bid_account_id == 281474976710655  # the insurance fund
        inactive = await orders_body(http, t, "accountInactiveOrders?account_index=7701&limit=5")
        assert [(o["client_order_index"], o["status"]) for o in inactive] == [
            (2, "canceled-liquidation"),
            (1, "filled"),
        ]
        account = await account_body(http, sim, 7701)
        assert (account["collateral"], account["positions"][0]["sign"]) == ("-8.254000", 0)
    finally:
        await t.close()


# ---------------------------------------------------------------------------------------------- funding


async def test_hourly_funding_at_speed_3600(fast: SimulatorHandle, http: aiohttp.ClientSession) -> None:
    t = await trader(fast, http, 7201, "10000")
    try:
        _, resp, err = await t.signer.create_market_order(0, 1, 5000, 360169, False)  # 0.5 ETH @ 3600.97
        accepted(resp, err)

        async def payments() -> list[dict[str, Any]]:
            body = await lighter.AccountApi(t.api).position_funding(
                account_index=7201, limit=100, authorization=t.token()
            )
            rows = [r.to_dict() for r in body.position_fundings]
            return rows if len(rows) >= 3 else []

        await eventually(payments, timeout=10)
        fast.clock.freeze(fast.clock.now_ms())  # stop time: the reads below must agree
        rows = await payments()
        # hand-computed: |size| x mark x rate_hourly = 0.5 x 3600.25 x 0.00003 = 0.05400375 USDC paid by the long
        expected = Decimal("0.5") * Decimal("3600.25") * Decimal("0.00003")
        assert expected == Decimal("0.05400375")
        for row in rows:
            assert (
                row["market_id"],
                row["change"],
                row["rate"],
                row["position_size"],
                row["position_side"],
            ) == (
                0,
                "-0.054004",
                "0.00003",
                "0.5000",
                "long",
            )
            assert row["timestamp"] % HOUR_S == 0  # settled on the hour
        stamps = [r["timestamp"] for r in rows]
        assert all(a - b == HOUR_S for a, b in pairwise(stamps))  # newest first, one per hour
        status, raw = await get(
            http, f"{fast.url('lighter')}/api/v1/positionFunding?account_index=7201&limit=2"
        )
        assert status == 200
        lighter.PositionFundings.model_validate(raw)
        assert [r["funding_id"] for r in raw["position_fundings"]] == [r["funding_id"] for r in rows[:2]]
        status, page2 = await get(
            http,
            f"{fast.url('lighter')}/api/v1/positionFunding?account_index=7201&limit=2&cursor={raw['next_cursor']}",
        )
        assert [r["funding_id"] for r in page2["position_fundings"]] == [r["funding_id"] for r in rows[2:4]]

        state = await admin(http, "GET", fast.url("lighter") + "/_sim/accounts/7201")
        amounts = [Decimal(p["amount"]) for p in state["funding_payments"]]
        assert amounts and all(a == -expected for a in amounts)
        assert all(Decimal(p["mark_price"]) == Decimal("3600.25") for p in state["funding_payments"])
        # collateral = deposit + funding (fees 0, nothing realised)
        assert Decimal(state["collateral"]) == Decimal(10000) + sum(amounts)
        assert Decimal(state["funding"]) == sum(amounts)
        account = await account_body(http, fast, 7201)
        assert Decimal(account["positions"][0]["total_funding_paid_out"]) == -sum(amounts).quantize(
            Decimal("1e-6")
        )
        assert Decimal(account["collateral"]) == (10000 + sum(amounts)).quantize(Decimal("1e-6"))
    finally:
        fast.clock.freeze(None)
        await t.close()


# ---------------------------------------------------------------------------------------------- liquidity, fees


async def test_synthetic_liquidity_random_walk_and_fees(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    folder = tmp_path / "scenario"
    shutil.copytree(DEMO_SCENARIO, folder)
    (folder / "lighter" / "orderBookOrders_1.json").unlink()  # BTC: no recorded book -> synthetic depth
    details_path = folder / "lighter" / "orderBookDetails.json"
    details = json.loads(details_path.read_text())
    btc = next(r for r in details["order_book_details"] if r["market_id"] == 1)
    btc["taker_fee"], btc["maker_fee"] = "0.0280", "0.0040"  # percent: 0.028 % / 0.004 %
    details_path.write_text(json.dumps(details))
    async with await start_simulator(folder, push_interval_seconds=PUSH, speed=60) as sim:
        t = await trader(sim, http, 7401, "10000")
        try:
            book = await lighter.OrderApi(t.api).order_book_orders(1, 250)
            lighter.OrderBookOrders.model_validate(book.to_dict())
            assert (book.total_asks, book.total_bids) == (10, 10)
            assert {o.owner_account_index for o in book.asks + book.bids} == {MAKER_ACCOUNT_BASE + 1}
            best_ask, best_bid = Decimal(book.asks[0].price), Decimal(book.bids[0].price)
            assert best_ask > best_bid and (best_ask - best_bid) / best_ask < Decimal("0.001")
            # 50,000 USD per level around a mark near 97,012.4: 0.51539 BTC
            assert {o.remaining_base_amount for o in book.asks} == {"0.51539"}

            bound = int(best_ask * 10 * Decimal("1.05"))  # 5 % above the best ask: the walk moves meanwhile
            _, resp, err = await t.signer.create_order(
                1, 1, 1000, bound, False, 0, 0, order_expiry=0
            )  # IOC limit buy 0.01 BTC
            accepted(resp, err)
            trades = await lighter.OrderApi(t.api).trades(
                sort_by="trade_id", limit=5, account_index=7401, authorization=t.token()
            )
            [trade] = trades.trades
            assert (trade.taker_fee, trade.maker_fee, trade.ask_account_id) == (
                280,
                40,
                MAKER_ACCOUNT_BASE + 1,
            )
            state = await admin(http, "GET", sim.url("lighter") + "/_sim/accounts/7401")
            fill_price = Decimal(trade.price)
            fee = Decimal("0.01") * fill_price * Decimal("0.00028")
            assert Decimal(state["fees_paid"]) == fee
            assert Decimal(state["collateral"]) == Decimal(10000) - fee

            first_mark = Decimal(state["positions"][0]["mark_price"])

            async def walked() -> bool:
                now = await admin(http, "GET", sim.url("lighter") + "/_sim/accounts/7401")
                return Decimal(now["positions"][0]["mark_price"]) != first_mark

            await eventually(walked)  # the seeded random walk moves the mid (and the maker's quotes)
            pinned = await admin(
                http, "POST", sim.url("lighter") + "/_sim/markets/1/mark", {"price": "90000"}
            )
            assert pinned["mark_price"] == "90000"
            book = await lighter.OrderApi(t.api).order_book_orders(1, 1)
            assert Decimal(book.bids[0].price) < 90000 < Decimal(book.asks[0].price)
        finally:
            await t.close()


# ---------------------------------------------------------------------------------------------- conformance


async def test_bodies_conform_to_recorded_payloads(
    fast: SimulatorHandle, http: aiohttp.ClientSession
) -> None:
    send_tx = load_payload("lighter", "rest_sendTx_response")
    t = await trader(fast, http, 7501, "3000")
    s = t.signer
    try:
        _, resp, err = await s.create_order(
            24,
            1,
            1000,
            278068,
            False,
            s.ORDER_TYPE_LIMIT,
            s.ORDER_TIME_IN_FORCE_IMMEDIATE_OR_CANCEL,
            order_expiry=0,
        )  # HYPE: IOC buy 10 at the best ask
        accepted(resp, err)
        conforms(resp.to_dict(), send_tx)
        _, resp, err = await s.create_order(
            24, 2, 1000, 270000, False, s.ORDER_TYPE_LIMIT, s.ORDER_TIME_IN_FORCE_POST_ONLY
        )
        accepted(resp, err)

        async def funded() -> Any:
            status, body = await get(
                http,
                f"{fast.url('lighter')}/api/v1/positionFunding?account_index=7501&limit=1&auth={t.token()}",
            )
            return body if status == 200 and body["next_cursor"] else None  # two rows or more

        funding = await eventually(funded, timeout=10)
        conforms(funding, load_payload("lighter", "rest_positionFunding_fragment"))
        account = await account_body(http, fast, 7501)
        recorded_account = load_payload("lighter", "rest_account_with_eth_position")
        conforms(account, recorded_account["accounts"][0])
        status, accounts = await get(http, f"{fast.url('lighter')}/api/v1/account?by=index&value=7501")
        assert status == 200
        conforms(accounts, {k: v for k, v in recorded_account.items() if k != "accounts"})
        active = await orders_body(http, t, "accountActiveOrders?account_index=7501")
        conforms({"code": 200, "orders": active}, load_payload("lighter", "rest_accountActiveOrders"))
        inactive = await orders_body(http, t, "accountInactiveOrders?account_index=7501&limit=5")
        conforms({"code": 200, "orders": inactive}, load_payload("lighter", "rest_accountInactiveOrders"))
        status, trades = await get(
            http,
            f"{fast.url('lighter')}/api/v1/trades?sort_by=timestamp&limit=5&account_index=7501&auth={t.token()}",
        )
        assert status == 200
        conforms(trades, load_payload("lighter", "rest_trades_account"))
        status, book = await get(http, f"{fast.url('lighter')}/api/v1/orderBookOrders?market_id=24&limit=1")
        assert status == 200
        conforms(book, load_payload("lighter", "rest_orderBookOrders_market0_limit1"))
    finally:
        await t.close()


async def test_private_endpoints_need_an_auth_token_of_the_account(
    sim: SimulatorHandle, http: aiohttp.ClientSession
) -> None:
    t = await trader(sim, http, 7601, "10")
    other = await trader(sim, http, 7602, "10")
    try:
        invalid = {"code": 20001, "message": "invalid param "}
        base = f"{sim.url('lighter')}/api/v1/"
        assert await get(http, base + "accountActiveOrders?account_index=7601") == (400, invalid)
        assert await get(http, base + f"accountActiveOrders?account_index=7601&auth={other.token()}") == (
            400,
            invalid,
        )
        assert await get(http, base + f"accountActiveOrders?account_index=7601&auth={t.token()}") == (
            200,
            {"code": 200, "orders": []},
        )
        assert await get(http, base + "account?by=index&value=99999") == (
            400,
            {"code": 21100, "message": "account not found"},
        )
        status, body = await get(http, base + f"account?by=l1_address&value=0x{7601:040X}")
        assert (status, [a["index"] for a in body["accounts"]]) == (200, [7601])
        assert await get(http, base + "account?by=name&value=x") == (400, invalid)
        assert await get(
            http, base + f"trades?sort_by=price&limit=5&account_index=7601&auth={t.token()}"
        ) == (
            400,
            invalid,
        )
    finally:
        await t.close()
        await other.close()


async def test_modify_order_through_the_sdk(sim: SimulatorHandle, http: aiohttp.ClientSession) -> None:
    """tx type 17 via `SignerClient.modify_order`: same order index, new price and size; a bad price is refused
    with Lighter's error and the order is unchanged."""
    t = await trader(sim, http, 7190, "10000")
    s = t.signer
    try:
        _, resp, err = await s.create_order(
            0, 190, 1000, 358000, False, s.ORDER_TYPE_LIMIT, s.ORDER_TIME_IN_FORCE_POST_ONLY
        )
        accepted(resp, err)

        async def mine() -> list[Any]:
            active = await lighter.OrderApi(t.api).account_active_orders(
                account_index=7190, market_id=0, authorization=t.token()
            )
            return list(active.orders)

        [order] = await mine()
        _, resp, err = await s.modify_order(0, order.order_index, 2000, 357500)
        accepted(resp, err)
        [modified] = await mine()
        assert (modified.order_index, modified.client_order_index) == (order.order_index, 190)
        assert (modified.price, modified.initial_base_amount, modified.remaining_base_amount) == (
            "3575.00",
            "0.2000",
            "0.2000",
        )
        _, resp, err = await s.modify_order(
            0, order.order_index, 0, 357500
        )  # zero size: refused by the venue
        assert err is not None or (resp is not None and resp.code != 200)
        [unchanged] = await mine()
        assert unchanged.initial_base_amount == "0.2000"
    finally:
        await t.close()
