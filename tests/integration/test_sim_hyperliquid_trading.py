"""The simulator's Hyperliquid protocol driven by the OFFICIAL hyperliquid-python-sdk 0.24.0 (issue #13 part 4).

Every action is built and signed by the SDK (`Exchange`: order, cancel, cancel by cloid, market open / close,
update leverage, approve agent; `sign_l1_action` for the hand-built bodies of the signature and nonce cases) and
every read goes through `Info` (REST) or its `WebsocketManager` (`Info(skip_ws=False).subscribe`). The SDK is
synchronous (`requests`, a websocket-client thread): its calls run in worker threads while the simulator serves on
this event loop. Raw HTTP is used for the admin API and where a body must be malformed on purpose.

Expected numbers are hand-computed from the demo scenario (`simulator/scenarios/demo/hyperliquid/`) and the
defaults of `HyperliquidTradingConfig`: with the ETH mark pinned at 3600 (admin API) the market maker quotes
best bid floor_0.1(3600 x (1 - 2 bps)) = 3599.2 and best ask ceil_0.1(3600 x (1 + 2 bps)) = 3600.8 (spread 4 bps, tick
0.1 = the 5-figure step at the scenario's mark 3600.2), then 3598.5 / 3601.5 (2 bps further), each level
floor_0.0001(100000 / 3600.2) = 27.7762 ETH. Fees: taker 0.045 %, maker 0.015 %. ETH maxLeverage 25 (default
leverage 20), asset 0; the HIP-3 dex "xyz" is perpDexs index 1, so xyz:XYZ100 is asset 110000.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any, TypeVar

import aiohttp
import pytest
import pytest_asyncio
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info
from hyperliquid.utils.error import ClientError, ServerError
from hyperliquid.utils.signing import (
    get_timestamp_ms,
    order_request_to_order_wire,
    order_wires_to_order_action,
    sign_l1_action,
)
from hyperliquid.utils.types import Cloid

from simulator.server import DEMO_SCENARIO, SimulatorHandle, start_simulator

pytestmark = pytest.mark.integration

D = Decimal
T = TypeVar("T")
GTC = {"limit": {"tif": "Gtc"}}
IOC = {"limit": {"tif": "Ioc"}}
ALO = {"limit": {"tif": "Alo"}}
PUSH = 0.2


async def sdk(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking SDK call off the loop (the simulator serves on this loop)."""
    return await asyncio.to_thread(fn, *args, **kwargs)


def root(sim: SimulatorHandle) -> str:
    return sim.venues["hyperliquid"].root_url


async def admin(sim: SimulatorHandle, path: str, body: Any = None, method: str = "POST") -> Any:
    async with aiohttp.ClientSession() as http, http.request(method, root(sim) + path, json=body) as resp:
        text = await resp.text()
        assert resp.status == 200, (path, resp.status, text)
        return json.loads(text)


async def post(sim: SimulatorHandle, path: str, body: Any) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.post(sim.url("hyperliquid") + path, json=body) as resp:
        text = await resp.text()
        try:
            return resp.status, json.loads(text)
        except ValueError:
            return resp.status, text


async def funded(sim: SimulatorHandle, collateral: str = "100000", dex: str = "") -> LocalAccount:
    user: LocalAccount = Account.create()
    await admin(sim, "/_sim/accounts", {"address": user.address, "collateral": collateral, "dex": dex})
    return user


def statuses(answer: Any) -> list[Any]:
    assert answer["status"] == "ok", answer
    result: list[Any] = answer["response"]["data"]["statuses"]
    return result


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[SimulatorHandle]:
    async with await start_simulator(
        DEMO_SCENARIO, venues=["hyperliquid"], push_interval_seconds=PUSH
    ) as handle:
        await admin(handle, "/_sim/markets/ETH/mark", {"price": "3600"})
        yield handle


@pytest_asyncio.fixture
async def fast() -> AsyncIterator[SimulatorHandle]:
    """3600x: one funding hour per real second."""
    async with await start_simulator(
        DEMO_SCENARIO, venues=["hyperliquid"], push_interval_seconds=PUSH, speed=3600
    ) as handle:
        await admin(handle, "/_sim/markets/ETH/mark", {"price": "3600"})
        yield handle


# ------------------------------------------------------------------------------------------------ orders


async def test_gtc_rests_is_found_by_oid_and_cloid_and_cancels(sim: SimulatorHandle) -> None:
    user = await funded(sim)
    url = sim.url("hyperliquid")
    ex = await sdk(Exchange, user, url)
    info = await sdk(Info, url, True)
    book = await sdk(info.l2_snapshot, "ETH")
    assert [(lv["px"], lv["sz"], lv["n"]) for lv in book["levels"][0][:2]] == [
        ("3599.2", "27.7762", 1),
        ("3598.5", "27.7762", 1),
    ]
    assert [lv["px"] for lv in book["levels"][1][:2]] == ["3600.8", "3601.5"] and len(book["levels"][0]) == 10
    cloid = Cloid.from_int(4242)
    (rest,) = statuses(await sdk(ex.order, "ETH", True, 0.05, 3500.0, GTC, cloid=cloid))
    oid = rest["resting"]["oid"]
    for key in (oid, cloid):
        found = await sdk(
            info.query_order_by_oid if key == oid else info.query_order_by_cloid, user.address, key
        )
        assert found["status"] == "order" and found["order"]["status"] == "open"
        order = found["order"]["order"]
        assert (
            order["oid"],
            order["limitPx"],
            order["sz"],
            order["origSz"],
            order["tif"],
            order["cloid"],
        ) == (
            oid,
            "3500.0",
            "0.05",
            "0.05",
            "Gtc",
            cloid.to_raw(),
        )
    (listed,) = await sdk(info.frontend_open_orders, user.address)
    assert listed["oid"] == oid and listed["reduceOnly"] is False and listed["orderType"] == "Limit"
    state = await sdk(info.user_state, user.address)
    assert D(state["withdrawable"]) == D("100000") - D("0.05") * 3600 / 20  # the resting bid's initial margin
    assert statuses(await sdk(ex.cancel_by_cloid, "ETH", cloid)) == ["success"]
    assert statuses(await sdk(ex.cancel, "ETH", oid)) == [
        {"error": "Order was never placed, already canceled, or filled. asset=0"}
    ]
    assert (await sdk(info.query_order_by_oid, user.address, oid))["order"]["status"] == "canceled"
    assert await sdk(info.open_orders, user.address) == []
    assert await sdk(info.query_order_by_oid, user.address, 987654321) == {"status": "unknownOid"}
    # another account cannot see or cancel the order
    other = await funded(sim)
    assert await sdk(info.query_order_by_oid, other.address, oid) == {"status": "unknownOid"}


async def test_ioc_fills_partly_or_not_at_all_and_fees_are_charged(sim: SimulatorHandle) -> None:
    user = await funded(sim)
    url = sim.url("hyperliquid")
    ex, info = await sdk(Exchange, user, url), await sdk(Info, url, True)
    (filled,) = statuses(await sdk(ex.order, "ETH", True, 0.5, 3601.0, IOC))
    assert filled["filled"]["totalSz"] == "0.5" and filled["filled"]["avgPx"] == "3600.8"
    # an IOC limited at the touch takes only the touch level: the rest is cancelled at once
    (partial,) = statuses(await sdk(ex.order, "ETH", True, 40.0, 3600.8, IOC, cloid=Cloid.from_int(7)))
    # the level's 27.7762 minus the 0.5 taken above, or the whole level when the maker re-quoted it in between
    taken = D(partial["filled"]["totalSz"])
    assert taken in (D("27.2762"), D("27.7762"))
    found = await sdk(info.query_order_by_cloid, user.address, Cloid.from_int(7))
    assert found["order"]["status"] == "canceled" and D(found["order"]["order"]["sz"]) == 40 - taken
    (missed,) = statuses(await sdk(ex.order, "ETH", True, 0.5, 3590.0, IOC, cloid=Cloid.from_int(8)))
    assert missed == {"error": "Order could not immediately match against any resting orders. asset=0"}
    assert (await sdk(info.query_order_by_cloid, user.address, Cloid.from_int(8)))["order"][
        "status"
    ] == "iocCancelRejected"
    fills = await sdk(info.user_fills, user.address)
    assert [(f["sz"], f["px"], f["dir"], f["crossed"]) for f in fills] == [
        (str(taken), "3600.8", "Open Long", True),
        ("0.5", "3600.8", "Open Long", True),
    ]
    assert D(fills[1]["fee"]) == (D("0.5") * D("3600.8") * D("0.00045")).quantize(D("0.000001"))
    (position,) = (await sdk(info.user_state, user.address))["assetPositions"]
    assert D(position["position"]["szi"]) == taken + D("0.5") and position["position"]["entryPx"] == "3600.8"
    # the market order of the SDK (an IOC 5 % through the mid) closes it
    closed = statuses(await sdk(ex.market_close, "ETH"))
    assert D(closed[0]["filled"]["totalSz"]) == taken + D("0.5")
    assert (await sdk(info.user_state, user.address))["assetPositions"] == []
    last = (await sdk(info.user_fills, user.address))[0]
    assert last["dir"] == "Close Long" and last["side"] == "A" and D(last["closedPnl"]) < 0


async def test_alo_rests_or_is_refused_when_it_would_cross(sim: SimulatorHandle) -> None:
    user = await funded(sim)
    ex = await sdk(Exchange, user, sim.url("hyperliquid"))
    (rested,) = statuses(await sdk(ex.order, "ETH", True, 0.1, 3599.0, ALO))
    assert "resting" in rested
    (refused,) = statuses(await sdk(ex.order, "ETH", True, 0.1, 3600.8, ALO, cloid=Cloid.from_int(9)))
    assert refused == {
        "error": "Post only order would have immediately matched, bbo was 3599.2@3600.8. asset=0"
    }
    info = await sdk(Info, sim.url("hyperliquid"), True)
    assert (await sdk(info.query_order_by_cloid, user.address, Cloid.from_int(9)))["order"][
        "status"
    ] == "badAloPxRejected"


async def test_reduce_only_min_value_margin_and_price_rules(sim: SimulatorHandle) -> None:
    user = await funded(sim, collateral="200")
    url = sim.url("hyperliquid")
    ex, info = await sdk(Exchange, user, url), await sdk(Info, url, True)
    (nothing,) = statuses(await sdk(ex.order, "ETH", False, 0.01, 3500.0, IOC, reduce_only=True))
    assert nothing == {"error": "Reduce only order would increase position. asset=0"}
    (small,) = statuses(await sdk(ex.order, "ETH", True, 0.002, 3601.0, IOC))
    assert small == {"error": "Order must have minimum value of $10. asset=0"}  # 0.002 x 3601 = 7.2 USD
    (big,) = statuses(await sdk(ex.order, "ETH", True, 2.0, 3601.0, IOC))  # 7200 USD at 20x needs 360 USD
    assert big == {"error": "Insufficient margin to place order. asset=0"}
    (bad_px,) = statuses(await sdk(ex.order, "ETH", True, 0.01, 3600.25, GTC))  # 6 significant figures
    assert bad_px == {"error": "Order has invalid price. asset=0"}
    (opened,) = statuses(await sdk(ex.order, "ETH", True, 0.01, 3601.0, IOC))
    assert opened["filled"]["totalSz"] == "0.01"
    # reduce-only larger than the position is clamped to it (CLAMP) and never flips the position
    (reduced,) = statuses(await sdk(ex.order, "ETH", False, 0.05, 3590.0, IOC, reduce_only=True))
    assert reduced["filled"]["totalSz"] == "0.01"
    assert (await sdk(info.user_state, user.address))["assetPositions"] == []


async def test_update_leverage_sets_the_initial_margin(sim: SimulatorHandle) -> None:
    user = await funded(sim)
    url = sim.url("hyperliquid")
    ex, info = await sdk(Exchange, user, url), await sdk(Info, url, True)
    assert await sdk(ex.update_leverage, 5, "ETH") == {"status": "ok", "response": {"type": "default"}}
    statuses(await sdk(ex.order, "ETH", True, 1.0, 3601.0, IOC))
    position = (await sdk(info.user_state, user.address))["assetPositions"][0]["position"]
    assert position["leverage"] == {"type": "cross", "value": 5} and position["maxLeverage"] == 25
    assert D(position["marginUsed"]) == D(position["positionValue"]) / 5
    too_high = await sdk(ex.update_leverage, 26, "ETH")
    assert too_high["status"] == "err" and "Invalid leverage value" in too_high["response"]
    isolated = await sdk(ex.update_leverage, 3, "ETH", False)
    assert isolated["status"] == "err" and "Isolated margin is not simulated" in isolated["response"]


async def test_hip3_dex_has_its_own_assets_and_clearinghouse(sim: SimulatorHandle) -> None:
    user = await funded(sim, dex="xyz")
    url = sim.url("hyperliquid")
    ex = await sdk(Exchange, user, url, perp_dexs=["", "xyz"])
    info = await sdk(Info, url, True, perp_dexs=["", "xyz"])
    assert info.coin_to_asset["xyz:XYZ100"] == 110000
    (filled,) = statuses(await sdk(ex.market_open, "xyz:XYZ100", True, 0.01))
    assert filled["filled"]["totalSz"] == "0.01"
    xyz = await sdk(info.user_state, user.address, "xyz")
    assert [p["position"]["coin"] for p in xyz["assetPositions"]] == ["xyz:XYZ100"]
    main = await sdk(info.user_state, user.address)
    assert main["assetPositions"] == [] and main["marginSummary"]["accountValue"] == "0.0"
    # the first dex's clearinghouse holds nothing: an order there has no margin
    (refused,) = statuses(await sdk(ex.order, "ETH", True, 0.01, 3601.0, IOC))
    assert refused == {"error": "Insufficient margin to place order. asset=0"}


# ------------------------------------------------------------------------------------------------ signatures


async def test_an_approved_agent_trades_for_the_account(sim: SimulatorHandle) -> None:
    user = await funded(sim)
    url = sim.url("hyperliquid")
    main = await sdk(Exchange, user, url)
    approved, agent_key = await sdk(main.approve_agent, "bot")
    assert approved == {"status": "ok", "response": {"type": "default"}}
    agent = Account.from_key(agent_key)
    info = await sdk(Info, url, True)
    assert await sdk(info.user_role, agent.address) == {
        "role": "agent",
        "data": {"user": user.address.lower()},
    }
    assert await sdk(info.user_role, user.address) == {"role": "user"}
    assert await sdk(info.user_role, Account.create().address) == {"role": "missing"}
    as_agent = await sdk(Exchange, agent, url, account_address=user.address)
    (rest,) = statuses(await sdk(as_agent.order, "ETH", True, 0.05, 3500.0, GTC))
    assert [o["oid"] for o in await sdk(info.open_orders, user.address)] == [rest["resting"]["oid"]]
    assert await sdk(info.open_orders, agent.address) == []  # the agent holds nothing itself


async def test_an_unapproved_agent_is_refused_with_the_venues_error(sim: SimulatorHandle) -> None:
    user = await funded(sim)
    stranger = Account.create()
    ex = await sdk(Exchange, stranger, sim.url("hyperliquid"), account_address=user.address)
    answer = await sdk(ex.order, "ETH", True, 0.05, 3500.0, GTC)
    assert answer == {
        "status": "err",
        "response": f"User or API Wallet {stranger.address.lower()} does not exist.",
    }


def signed_order(wallet: LocalAccount, nonce: int, *, size: float = 0.05) -> dict[str, Any]:
    wire = order_request_to_order_wire(
        {
            "coin": "ETH",
            "is_buy": True,
            "sz": size,
            "limit_px": 3500.0,
            "order_type": GTC,
            "reduce_only": False,
        },
        0,
    )
    action = order_wires_to_order_action([wire])
    signature = sign_l1_action(wallet, action, None, nonce, None, False)
    return {
        "action": action,
        "nonce": nonce,
        "signature": signature,
        "vaultAddress": None,
        "expiresAfter": None,
    }


async def test_a_bad_signature_is_refused_with_the_venues_error(sim: SimulatorHandle) -> None:
    user = await funded(sim)
    body = signed_order(user, get_timestamp_ms())
    body["action"]["orders"][0]["s"] = "5"  # changed after signing: the signature recovers another address
    status, answer = await post(sim, "/exchange", body)
    assert status == 200 and answer["status"] == "err"
    assert answer["response"].startswith("User or API Wallet 0x") and answer["response"].endswith(
        " does not exist."
    )
    assert user.address.lower() not in answer["response"]
    info = await sdk(Info, sim.url("hyperliquid"), True)
    assert await sdk(info.open_orders, user.address) == []
    # a signature mainnet-signed (phantom agent source "a") does not verify on a testnet-style URL either
    mainnet = signed_order(user, get_timestamp_ms() + 1)
    mainnet["signature"] = sign_l1_action(user, mainnet["action"], None, mainnet["nonce"], None, True)
    assert (await post(sim, "/exchange", mainnet))[1]["status"] == "err"
    unreadable = {**signed_order(user, get_timestamp_ms() + 2), "signature": {"r": "zz", "s": "0x1", "v": 27}}
    assert await post(sim, "/exchange", unreadable) == (
        422,
        "Failed to deserialize the JSON body into the target type",
    )


async def test_a_reused_nonce_is_refused_with_the_venues_error(sim: SimulatorHandle) -> None:
    user = await funded(sim)
    nonce = get_timestamp_ms()
    first = await post(sim, "/exchange", signed_order(user, nonce))
    assert first[0] == 200 and "resting" in first[1]["response"]["data"]["statuses"][0]
    again = await post(sim, "/exchange", signed_order(user, nonce, size=0.06))
    assert again == (200, {"status": "err", "response": f"Invalid nonce: duplicate nonce {nonce}"})
    stale = await post(sim, "/exchange", signed_order(user, nonce - 3 * 86_400_000))
    assert stale[1]["status"] == "err" and stale[1]["response"].startswith("Invalid nonce")
    info = await sdk(Info, sim.url("hyperliquid"), True)
    assert len(await sdk(info.open_orders, user.address)) == 1


# ------------------------------------------------------------------------------------------------ funding


async def test_hourly_funding_is_settled_on_the_hour(fast: SimulatorHandle) -> None:
    user = await funded(fast)
    url = fast.url("hyperliquid")
    ex, info = await sdk(Exchange, user, url), await sdk(Info, url, True)
    await admin(fast, "/_sim/markets/ETH/funding", {"rate_hourly": "0.0001"})
    statuses(await sdk(ex.order, "ETH", False, 1.0, 3599.0, IOC))  # short 1 ETH at 3599.2
    await admin(fast, "/_sim/markets/ETH/mark", {"price": "3600"})  # settlements at a pinned mark
    await asyncio.sleep(2.5)  # > 2 simulated hours
    rows = await sdk(info.user_funding_history, user.address, 0)
    assert len(rows) >= 2
    for row in rows:
        # hand-computed: -size x mark x rate = -(-1) x 3600 x 0.0001 = +0.36 USDC received by the short
        assert row["delta"] == {
            "type": "funding",
            "coin": "ETH",
            "usdc": "0.36",
            "szi": "-1.0",
            "fundingRate": "0.0001",
            "nSamples": None,
        }
        assert row["time"] % 3_600_000 == 0 and row["hash"] == "0x" + "00" * 32
    # the clock runs fast: a settlement may land between the reads, so the state is bracketed by two history reads
    settled_before = len(await sdk(info.user_funding_history, user.address, 0))
    position = (await sdk(info.user_state, user.address))["assetPositions"][0]["position"]
    settled_after = len(await sdk(info.user_funding_history, user.address, 0))
    assert D(position["cumFunding"]["sinceOpen"]) in {
        -D("0.36") * n for n in range(settled_before, settled_after + 1)
    }  # + = paid: the short received


# ------------------------------------------------------------------------------------------------ faults


async def test_engine_faults_reject_and_partial_fill(sim: SimulatorHandle) -> None:
    user = await funded(sim)
    url = sim.url("hyperliquid")
    ex, info = await sdk(Exchange, user, url), await sdk(Info, url, True)
    await admin(sim, "/_sim/engine/faults", {"reject_next": 1})
    (rejected,) = statuses(await sdk(ex.order, "ETH", True, 0.1, 3601.0, IOC, cloid=Cloid.from_int(11)))
    assert rejected == {"error": "Order rejected: simulated fault (reject_next). asset=0"}
    found = await sdk(info.query_order_by_cloid, user.address, Cloid.from_int(11))
    assert found["order"]["status"] == "rejected"
    await admin(sim, "/_sim/engine/faults", {"fill_fraction": "0.5", "fill_fraction_count": 1})
    (half,) = statuses(await sdk(ex.order, "ETH", True, 0.2, 3601.0, IOC))
    assert half["filled"]["totalSz"] == "0.1"
    (whole,) = statuses(await sdk(ex.order, "ETH", True, 0.2, 3601.0, IOC))
    assert whole["filled"]["totalSz"] == "0.2"


async def test_http_faults_reach_the_sdk(sim: SimulatorHandle) -> None:
    user = await funded(sim)
    url = sim.url("hyperliquid")
    ex, info = await sdk(Exchange, user, url), await sdk(Info, url, True)
    await admin(sim, "/_sim/faults", {"http_status": 429, "count": 1, "retry_after_seconds": 2})
    with pytest.raises(ClientError) as limited:
        await sdk(info.user_state, user.address)
    assert limited.value.status_code == 429 and limited.value.error_code is None
    await admin(sim, "/_sim/faults", {"http_status": 502, "count": 1, "method": "POST", "path": "/exchange"})
    with pytest.raises(ServerError) as down:
        await sdk(ex.order, "ETH", True, 0.05, 3500.0, GTC)
    assert down.value.status_code == 502
    assert await sdk(info.open_orders, user.address) == []  # refused before the engine
    await admin(sim, "/_sim/faults", {"latency_seconds": 0.4, "count": 1})
    t0 = time.monotonic()
    await sdk(info.user_state, user.address)
    assert time.monotonic() - t0 >= 0.4
    await admin(sim, "/_sim/venue/down")
    with pytest.raises(ServerError) as unavailable:
        await sdk(info.user_state, user.address)
    assert unavailable.value.status_code == 503
    await admin(sim, "/_sim/venue/up")
    assert (await sdk(info.user_state, user.address))["withdrawable"] == "100000.0"


# ------------------------------------------------------------------------------------------------ WebSocket


async def test_sdk_websocket_books_orders_fills_and_a_drop(sim: SimulatorHandle) -> None:
    user = await funded(sim)
    url = sim.url("hyperliquid")
    ex = await sdk(Exchange, user, url)
    info = await sdk(Info, url, False)  # starts the SDK's WebsocketManager thread
    got: dict[str, list[Any]] = {"l2Book": [], "orderUpdates": [], "userFills": [], "trades": []}
    try:
        info.subscribe({"type": "l2Book", "coin": "ETH"}, lambda m: got["l2Book"].append(m))
        info.subscribe(
            {"type": "orderUpdates", "user": user.address}, lambda m: got["orderUpdates"].append(m)
        )
        info.subscribe({"type": "userFills", "user": user.address}, lambda m: got["userFills"].append(m))
        info.subscribe({"type": "trades", "coin": "ETH"}, lambda m: got["trades"].append(m))
        await until(lambda: bool(got["l2Book"]) and bool(got["userFills"]))
        first = got["l2Book"][0]["data"]
        assert first["coin"] == "ETH" and first["levels"][0][0] == {"px": "3599.2", "sz": "27.7762", "n": 1}
        assert got["userFills"][0]["data"] == {"isSnapshot": True, "user": user.address.lower(), "fills": []}
        statuses(await sdk(ex.order, "ETH", True, 0.3, 3601.0, IOC, cloid=Cloid.from_int(21)))
        await until(lambda: bool(got["orderUpdates"]) and len(got["userFills"]) >= 2 and bool(got["trades"]))
        update = got["orderUpdates"][-1]["data"][-1]
        assert update["status"] == "filled" and update["order"]["cloid"] == Cloid.from_int(21).to_raw()
        (fill,) = got["userFills"][-1]["data"]["fills"]
        assert (fill["sz"], fill["px"], fill["crossed"]) == ("0.3", "3600.8", True)
        trade = got["trades"][-1]["data"][0]
        assert (trade["px"], trade["sz"], trade["side"]) == ("3600.8", "0.3", "B")
        assert trade["users"][0] == user.address.lower()
        # the book shrank by the 0.3 taken (pushed on change, well before the heartbeat)
        await until(lambda: got["l2Book"][-1]["data"]["levels"][1][0]["sz"] == "27.4762")
        dropped = await admin(sim, "/_sim/ws/faults", {"drop_connections": True})
        assert dropped["dropped"] == 1
    finally:
        await sdk(info.disconnect_websocket)


async def test_ws_protocol_errors_and_heartbeat(sim: SimulatorHandle) -> None:
    async with aiohttp.ClientSession() as http, http.ws_connect(sim.ws_url("hyperliquid")) as ws:
        await ws.send_json({"method": "ping"})
        assert await ws.receive_json(timeout=2) == {"channel": "pong"}
        sub = {"method": "subscribe", "subscription": {"type": "l2Book", "coin": "SOL"}}
        await ws.send_json(sub)
        ack = await ws.receive_json(timeout=2)
        normalised = {"type": "l2Book", "coin": "SOL", "nSigFigs": None, "mantissa": None, "fast": False}
        assert ack == {
            "channel": "subscriptionResponse",
            "data": {"method": "subscribe", "subscription": normalised},
        }
        assert (await ws.receive_json(timeout=2))["channel"] == "l2Book"
        await ws.send_json(sub)
        error = await ws.receive_json(timeout=2)
        while error["channel"] == "l2Book":
            error = await ws.receive_json(timeout=2)
        assert error == {
            "channel": "error",
            "data": 'Already subscribed: {"type":"l2Book","coin":"SOL","nSigFigs":null,"mantissa":null,"fast":false}',
        }
        # a quiet book is still pushed every push interval (a block's cadence)
        t0 = time.monotonic()
        while (await ws.receive_json(timeout=2))["channel"] != "l2Book":
            pass
        assert time.monotonic() - t0 < 1.0
        bad = '{"method":"subscribe","subscription":{"type":"bbo","coin":["BTC","ETH"]}}'
        await ws.send_str(bad)
        while (msg := await ws.receive_json(timeout=2))["channel"] == "l2Book":
            pass
        assert msg == {"channel": "error", "data": f"Error parsing JSON into valid websocket request: {bad}"}
        await ws.send_json({"method": "subscribe", "subscription": {"type": "l2Book", "coin": "NOPE"}})
        while True:  # an unknown coin: no answer, the socket is closed
            frame = await ws.receive(timeout=2)
            if frame.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                break


async def until(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "condition not reached"
        await asyncio.sleep(0.05)


async def test_credential_verification_against_the_simulator(sim: SimulatorHandle) -> None:
    from pydantic import SecretStr

    from exchange_clients.hyperliquid.auth import verify_hyperliquid_credentials
    from exchange_clients.hyperliquid.credentials import HyperliquidCredentials
    from tests.configs import sim_config

    user, agent = await funded(sim), Account.create()
    creds = HyperliquidCredentials(account_address=user.address, agent_private_key=SecretStr(agent.key.hex()))
    config = sim_config(sim, "hyperliquid")
    refused = await verify_hyperliquid_credentials(creds, config)
    assert not refused.ok and "is not an approved agent" in refused.detail
    await admin(sim, "/_sim/hyperliquid/agents", {"user": user.address, "agent": agent.address})
    approved = await verify_hyperliquid_credentials(creds, config)
    assert (
        approved.ok and agent.key.hex() not in approved.detail and "approved for account" in approved.detail
    )
