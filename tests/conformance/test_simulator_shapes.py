"""The simulator's responses (served from the demo scenario) have the shape of the venues' recorded payloads.

For every endpoint and WebSocket frame: each key of the recording (../shared/venue-data) is served with the
same JSON type (null, bool, int, float, str, list, object), recursively (lists: first element). A served key
the recording lacks must be a field of the venue's current schema (lighter-sdk's models, Paradex's OpenAPI /
PROTOCOL_NOTES); a recorded key may be missing only when the current Paradex OpenAPI no longer lists it
(`oracle_price` of 2024 markets_summary recordings). Skipped when ../shared is absent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

import aiohttp
import lighter
import pytest
import pytest_asyncio

from simulator.server import DEMO_SCENARIO, SimulatorHandle, start_simulator
from tests.shared_data import load_payload, shared_path

pytestmark = pytest.mark.conformance

PUSH = 0.2
# Paradex WS responses carry usIn/usDiff/usOut (PROTOCOL_NOTES §2.5; present in ws_error_invalid_subscribe.json,
# trimmed from the ccxt auth example).
PARADEX_RPC_TIMING = {"usIn", "usDiff", "usOut"}


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    for kind, name in ((int, "int"), (float, "float"), (str, "str"), (list, "list"), (dict, "object")):
        if isinstance(value, kind):
            return name
    raise TypeError(f"not a JSON value: {value!r}")


def shape_problems(
    recorded: Any,
    served: Any,
    *,
    extra_ok: Iterable[str] = (),
    missing_ok: Iterable[str] = (),
    path: str = "$",
) -> list[str]:
    """Differences in keys and JSON types between a recorded payload and a served one (empty = same shape)."""
    extra_ok, missing_ok = set(extra_ok), set(missing_ok)
    if json_type(recorded) != json_type(served):
        return [f"{path}: recorded {json_type(recorded)}, served {json_type(served)} ({served!r:.60})"]
    problems: list[str] = []
    if isinstance(recorded, dict):
        for key in sorted(set(recorded) - set(served) - missing_ok):
            problems.append(f"{path}.{key}: recorded, not served")
        for key in sorted(set(served) - set(recorded) - extra_ok):
            problems.append(f"{path}.{key}: served, neither recorded nor in the venue schema")
        for key in sorted(set(recorded) & set(served)):
            problems += shape_problems(
                recorded[key], served[key], extra_ok=extra_ok, missing_ok=missing_ok, path=f"{path}.{key}"
            )
    elif isinstance(recorded, list) and recorded:
        if not served:
            return [f"{path}: recorded non-empty, served empty"]
        problems += shape_problems(
            recorded[0], served[0], extra_ok=extra_ok, missing_ok=missing_ok, path=f"{path}[0]"
        )
    return problems


def sdk_fields(*models: Any) -> set[str]:
    return {name for model in models for name in model.model_fields if name != "additional_properties"}


def openapi_fields(*schemas: str) -> set[str]:
    spec = json.loads(shared_path("reference", "specs", "paradex_openapi_prod.json").read_text())
    components = spec["components"]["schemas"]
    return {key for schema in schemas for key in components[f"responses.{schema}"]["properties"]}


@pytest_asyncio.fixture(scope="module")
async def demo() -> AsyncIterator[SimulatorHandle]:
    shared_path("venue-data")  # skip the whole module early when ../shared is absent
    async with await start_simulator(DEMO_SCENARIO, push_interval_seconds=PUSH) as handle:
        yield handle


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def get(http: aiohttp.ClientSession, url: str, expected_status: int = 200) -> Any:
    async with http.get(url) as resp:
        assert resp.status == expected_status, await resp.text()
        return await resp.json()


# --------------------------------------------------------------------------------------------- Lighter REST

LIGHTER_DETAIL_FIELDS = sdk_fields(
    lighter.OrderBookDetails, lighter.PerpsOrderBookDetail, lighter.MarketConfig
)


@pytest.mark.parametrize(
    ("recording", "path", "extra_ok"),
    [
        ("rest_status__GET_root", "/", set()),
        ("rest_orderBookDetails_market0", "/api/v1/orderBookDetails", LIGHTER_DETAIL_FIELDS),
        ("rest_orderBookDetails_market0", "/api/v1/orderBookDetails?market_id=0", LIGHTER_DETAIL_FIELDS),
        ("rest_funding-rates", "/api/v1/funding-rates", set()),
        (
            "rest_fundings_market_1h_fragment",
            "/api/v1/fundings?market_id=0&resolution=1h&start_timestamp=0&end_timestamp=9999999999&count_back=3",
            set(),
        ),
        (
            "rest_orderBookOrders_market0_limit1",
            "/api/v1/orderBookOrders?market_id=0&limit=1",
            sdk_fields(lighter.SimpleOrder),
        ),
    ],
)
async def test_lighter_rest_shapes(
    demo: SimulatorHandle, http: aiohttp.ClientSession, recording: str, path: str, extra_ok: set[str]
) -> None:
    served = await get(http, demo.url("lighter") + path)
    assert shape_problems(load_payload("lighter", recording), served, extra_ok=extra_ok) == []


async def test_lighter_error_bodies(demo: SimulatorHandle, http: aiohttp.ClientSession) -> None:
    empty_book, invalid_param = load_payload("lighter", "rest_orderBookOrders_errors")
    served = await get(http, demo.url("lighter") + "/api/v1/orderBookOrders?market_id=0&limit=0", 400)
    assert served == invalid_param  # same body, not just the same shape
    served = await get(http, demo.url("lighter") + "/api/v1/orderBookOrders?market_id=4000&limit=5")
    assert served == empty_book


# --------------------------------------------------------------------------------------------- Lighter WS


async def lighter_frames(demo: SimulatorHandle, requests: list[dict[str, Any]], count: int) -> list[Any]:
    """Connect, send `requests`, return the first `count` frames (the `connected` frame first)."""
    frames: list[Any] = []
    async with aiohttp.ClientSession() as http, http.ws_connect(demo.ws_url("lighter")) as ws:
        frames.append(json.loads(await asyncio.wait_for(ws.receive_str(), 3)))
        for request in requests:
            await ws.send_json(request)
        while len(frames) < count:
            frames.append(json.loads(await asyncio.wait_for(ws.receive_str(), 3)))
    return frames


def by_type(frames: list[Any], kind: str) -> Any:
    return next(f for f in frames if isinstance(f, dict) and f.get("type") == kind)


async def test_lighter_ws_shapes(demo: SimulatorHandle) -> None:
    frames = await lighter_frames(
        demo,
        [
            {"type": "subscribe", "channel": "market_stats/all"},
            {"type": "subscribe", "channel": "order_book/0"},
            {"type": "ping"},
        ],
        8,
    )
    assert shape_problems(load_payload("lighter", "ws_connected"), frames[0]) == []
    # market_stats/all maps market id -> entry: compare the envelope, then one entry with the recorded one
    recorded_all = load_payload("lighter", "ws_update_market_stats_all")
    served_all = by_type(frames, "update/market_stats")
    assert shape_problems({**recorded_all, "market_stats": {}}, {**served_all, "market_stats": {}}) == []
    (recorded_entry,) = recorded_all["market_stats"].values()
    assert all(key.isdigit() for key in served_all["market_stats"])
    assert shape_problems(recorded_entry, served_all["market_stats"]["0"]) == []
    assert (
        shape_problems(
            load_payload("lighter", "ws_subscribed_order_book_market0_truncated"),
            by_type(frames, "subscribed/order_book"),
        )
        == []
    )
    # heartbeat updates are empty; compare the envelope and the recorded level shape on a filled copy
    update = by_type(frames, "update/order_book")
    recorded_update = load_payload("lighter", "ws_update_order_book_market0_2")
    filled = {
        **update,
        "order_book": {
            **update["order_book"],
            "asks": [{"price": "1", "size": "0"}],
            "bids": [{"price": "1", "size": "0"}],
        },
    }
    assert shape_problems(recorded_update, filled) == []
    assert update["order_book"]["asks"] == [] and update["order_book"]["bids"] == []
    assert by_type(frames, "pong") == load_payload("lighter", "ws_pong")


async def test_lighter_ws_single_market_and_error_shapes(demo: SimulatorHandle) -> None:
    frames = await lighter_frames(
        demo,
        [
            {"type": "subscribe", "channel": "market_stats/0"},
            {"type": "subscribe", "channel": "market_stats/0"},
            {"type": "subscribe", "channel": "nope/0"},
            {"type": "subscribe", "channel": "market_stats/99999"},
            {"type": "unsubscribe", "channel": "market_stats/0"},
        ],
        6,
    )
    stats = by_type(frames, "subscribed/market_stats")
    assert shape_problems(load_payload("lighter", "ws_update_market_stats_market0"), stats) == []
    errors = [f for f in frames if "error" in f]
    already = load_payload("lighter", "ws_error_already_subscribed")
    assert shape_problems(already, errors[0]) == []
    assert errors[0]["error"]["message"] == "Already Subscribed to : market_stats:0"
    assert errors[1] == load_payload("lighter", "ws_error_invalid_channel")
    assert errors[2] == load_payload("lighter", "ws_error_invalid_channel_market")
    assert shape_problems(load_payload("lighter", "ws_unsubscribed"), by_type(frames, "unsubscribed")) == []


# --------------------------------------------------------------------------------------------- Paradex REST


@pytest.mark.parametrize(
    ("recording", "path", "schemas"),
    [
        ("rest_system_config_testnet", "/system/config", ("SystemConfigResponse", "BridgedToken")),
        ("rest_system_time", "/system/time", ()),
        ("rest_system_state", "/system/state", ()),
        ("rest_markets_btc", "/markets?market=BTC-USD-PERP", ("MarketResp",)),
        ("rest_markets_fee_config", "/markets?market=BTC-USD-PERP", ("MarketResp",)),
        ("rest_markets_summary_btc_1", "/markets/summary?market=BTC-USD-PERP", ("MarketSummaryResp",)),
        ("rest_markets_summary_btc_ccxtdoc", "/markets/summary?market=ALL", ("MarketSummaryResp",)),
        ("rest_orderbook_btc", "/orderbook/BTC-USD-PERP", ("AskBidArray",)),
    ],
)
async def test_paradex_rest_shapes(
    demo: SimulatorHandle, http: aiohttp.ClientSession, recording: str, path: str, schemas: tuple[str, ...]
) -> None:
    recorded = load_payload("paradex", recording)
    served = await get(http, demo.url("paradex") + path)
    allowed = openapi_fields(*schemas) if schemas else set()
    if recording == "rest_markets_fee_config":  # a subset recording: only symbol + fee_config
        allowed |= set(served["results"][0])
    retired = {k for row in recorded.get("results", [recorded]) for k in row} - allowed if schemas else set()
    if recording.startswith("rest_markets_summary"):
        assert retired == {"oracle_price"}  # the only recorded field the current spec dropped
    assert shape_problems(recorded, served, extra_ok=allowed, missing_ok=retired if schemas else ()) == []


async def test_paradex_funding_data_shape(demo: SimulatorHandle, http: aiohttp.ClientSession) -> None:
    first = await get(http, demo.url("paradex") + "/funding/data?market=BTC-USD-PERP&page_size=2")
    second = await get(
        http, demo.url("paradex") + f"/funding/data?market=BTC-USD-PERP&page_size=2&cursor={first['next']}"
    )
    recorded = load_payload("paradex", "rest_funding_data_btc_ccxt")
    assert shape_problems(recorded, second, extra_ok=openapi_fields("FundingDataResult")) == []


async def test_paradex_error_shape(demo: SimulatorHandle, http: aiohttp.ClientSession) -> None:
    served = await get(http, demo.url("paradex") + "/funding/data?market=NOPE-USD-PERP", 400)
    assert shape_problems(load_payload("paradex", "rest_error_not_onboarded"), served) == []
    assert (
        served["error"]
        in json.loads(shared_path("reference", "specs", "paradex_openapi_prod.json").read_text())[
            "components"
        ]["schemas"]["responses.ErrorCode"]["enum"]
    )


# --------------------------------------------------------------------------------------------- Paradex WS


async def test_paradex_ws_shapes(demo: SimulatorHandle) -> None:
    async with aiohttp.ClientSession() as http, http.ws_connect(demo.ws_url("paradex")) as ws:

        async def call(req_id: int, method: str, params: dict[str, Any]) -> Any:
            await ws.send_json({"jsonrpc": "2.0", "id": req_id, "method": method, "params": params})
            while True:
                frame = json.loads(await asyncio.wait_for(ws.receive_str(), 3))
                if frame.get("id") == req_id:
                    return frame

        async def push(channel: str) -> Any:
            while True:
                frame = json.loads(await asyncio.wait_for(ws.receive_str(), 3))
                if frame.get("params", {}).get("channel") == channel:
                    return frame

        auth = await call(1, "auth", {"bearer": "x"})
        await call(2, "subscribe", {"channel": "funding_data.BTC-USD-PERP"})
        funding = await push("funding_data.BTC-USD-PERP")
        await call(3, "subscribe", {"channel": "markets_summary"})
        summary = await push("markets_summary")
        error = await call(4, "subscribe", {"channel": "no_such_channel"})
    assert (
        shape_problems(load_payload("paradex", "ws_auth_response"), auth, extra_ok=PARADEX_RPC_TIMING) == []
    )
    assert shape_problems(load_payload("paradex", "ws_funding_data_btc"), funding) == []
    assert (
        shape_problems(
            load_payload("paradex", "ws_funding_data_trump"),
            funding,
            extra_ok=openapi_fields("FundingDataResult"),
        )
        == []
    )
    summary_fields = openapi_fields("MarketSummaryResp")
    assert (
        shape_problems(
            load_payload("paradex", "ws_markets_summary"),
            summary,
            extra_ok=summary_fields,
            missing_ok={"oracle_price"},
        )
        == []
    )
    recorded_error = load_payload("paradex", "ws_error_invalid_subscribe")
    assert shape_problems(recorded_error, error) == []
    assert error["error"] == recorded_error["error"]


def test_shape_comparison_reports_differences() -> None:
    recorded = {"a": 1, "b": [{"c": "x"}], "d": 0.5}
    assert shape_problems(recorded, {"a": 2, "b": [{"c": "y"}], "d": 1.5}) == []
    assert shape_problems(recorded, {"a": "1", "b": [], "d": 1, "e": None}, extra_ok={"f"}) == [
        "$.e: served, neither recorded nor in the venue schema",
        "$.a: recorded int, served str ('1')",
        "$.b: recorded non-empty, served empty",
        "$.d: recorded float, served int (1)",
    ]
