"""Aster's HTTP stack and funding adapter against a local aiohttp stub on 127.0.0.1 (only the internet is mocked):
status and code -> typed error mapping, retries and Retry-After, the weight budget, signed reads re-signed per
attempt, history paging over `fundingRate` (1000 rows a page), and the recorded payloads end to end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

from exchange_clients.aster.client.utils.signing import HmacSigner
from exchange_clients.aster.common import (
    AsterAuthError,
    AsterDataError,
    AsterRateLimitedError,
    AsterRejectedError,
    AsterUnavailableError,
)
from exchange_clients.aster.config import AsterConfig, ws_url_from_rest
from exchange_clients.aster.funding_adapter.adapter import AsterFundingAdapter
from exchange_clients.aster.http import AsterHttp, decode_response, depth_weight, weight_of
from exchange_clients.base.rate_limit import VenueRateLimiter
from exchange_clients.base.scope import VenueScope
from perparb_core.models import MarketInfo
from perparb_core.settings import HttpConfig, RateLimitConfig
from tests.shared_data import load_payload

D = Decimal
H = 3_600_000


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Stub:
    """GET /fapi/...: answers queued per path (`replies[path]`), else `default[path]` (a callable of the query)."""

    replies: dict[str, list[Reply]] = field(default_factory=dict)
    default: dict[str, Any] = field(default_factory=dict)
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append((request.method, request.path, dict(request.query)))
        queue = self.replies.get(request.path)
        if queue:
            r = queue.pop(0)
            if r.raw is not None:
                return web.Response(status=r.status, body=r.raw, headers=r.headers)
            return web.json_response(r.body, status=r.status, headers=r.headers)
        build = self.default.get(request.path)
        if build is None:
            return web.json_response({"code": -1000, "msg": "no stub"}, status=404)
        return web.json_response(build(dict(request.query)))


@pytest_asyncio.fixture
async def stub() -> AsyncIterator[tuple[Stub, str]]:
    s = Stub()
    server = TestServer(s.app(), host="127.0.0.1")
    await server.start_server()
    try:
        yield s, f"http://127.0.0.1:{server.port}"
    finally:
        await server.close()


def make_http(url: str, *, retries: int = 2, signer: Any = None, rate: float = 0) -> AsterHttp:
    config = AsterConfig(
        rest_url=url,
        http=HttpConfig(timeout_seconds=2, retries=retries, backoff_seconds=0.01),
        rate_limit=RateLimitConfig(rate_per_second=rate, burst=1),
    )
    return AsterHttp(config, VenueScope(config, VenueRateLimiter("aster", rate, 1)), signer)


def test_ws_url_rule_and_weights() -> None:
    assert ws_url_from_rest("https://fapi.asterdex.com") == "wss://fstream.asterdex.com"
    assert ws_url_from_rest("http://127.0.0.1:8804/") == "ws://127.0.0.1:8804"
    assert [depth_weight(n) for n in (5, 50, 100, 500, 1000)] == [2, 2, 5, 10, 20]
    assert weight_of("ticker/24hr") == 40 and weight_of("ticker/24hr", [("symbol", "BTCUSDT")]) == 1
    assert weight_of("openOrders") == 40 and weight_of("income") == 30 and weight_of("order") == 1
    assert AsterConfig().rate_limit == RateLimitConfig(rate_per_second=40, burst=400, order_reserve=20)


@pytest.mark.parametrize(
    ("status", "body", "error", "code"),
    [
        (400, {"code": -1121, "msg": "Invalid symbol."}, AsterRejectedError, -1121),
        (400, {"code": -2019, "msg": "Margin is insufficient."}, AsterRejectedError, -2019),
        (401, {"code": -1022, "msg": "Signature for this request is not valid."}, AsterAuthError, -1022),
        (
            400,
            {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."},
            AsterAuthError,
            -1021,
        ),
        (
            401,
            {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."},
            AsterAuthError,
            -2015,
        ),
        (400, {"code": "-4225", "msg": "Nonce Expired"}, AsterAuthError, -4225),
        (429, {"code": -1003, "msg": "Too many requests"}, AsterRateLimitedError, -1003),
        (418, {"code": -1003, "msg": "Way too many requests; IP banned"}, AsterRateLimitedError, -1003),
        (503, {"code": -1001, "msg": "Internal error"}, AsterUnavailableError, None),
        (
            200,
            {"code": -1007, "msg": "Timeout waiting for response from backend server."},
            AsterUnavailableError,
            -1007,
        ),
        (403, {"msg": "WAF"}, AsterAuthError, None),
        (404, {"msg": "nope"}, AsterRejectedError, None),
    ],
)
def test_decode_maps_status_and_code(
    status: int, body: Any, error: type[Exception], code: int | None
) -> None:
    import json

    with pytest.raises(error) as info:
        decode_response(
            "GET /fapi/v1/x", status, {"Retry-After": "2"}, json.dumps(body).encode(), market="BTCUSDT"
        )
    assert getattr(info.value, "code", None) == code and "BTCUSDT" in str(info.value)
    if isinstance(info.value, AsterRateLimitedError):
        assert info.value.retry_after_seconds == 2


def test_decode_refuses_a_body_that_is_not_json() -> None:
    with pytest.raises(AsterDataError, match="not JSON"):
        decode_response("GET x", 200, {}, b"<html>")


async def test_reads_are_retried_and_429_pauses_the_venue(stub: tuple[Stub, str]) -> None:
    s, url = stub
    s.replies["/fapi/v1/time"] = [
        Reply(503, {"code": -1001, "msg": "x"}),
        Reply(429, {"code": -1003, "msg": "y"}, headers={"Retry-After": "0"}),
    ]
    s.default["/fapi/v1/time"] = lambda q: {"serverTime": 1}
    http = make_http(url)
    try:
        assert await http.public("time") == {"serverTime": 1}
        assert len(s.seen) == 3 and http.limiter.penalties == 1
    finally:
        await http.close()


async def test_signed_reads_are_signed_again_per_attempt(stub: tuple[Stub, str]) -> None:
    s, url = stub
    s.replies["/fapi/v2/balance"] = [Reply(502, raw=b"bad gateway")]
    s.default["/fapi/v2/balance"] = lambda q: []
    clock = iter([1000, 2000])
    http = make_http(url, signer=HmacSigner("A" * 20, "B" * 20, clock_ms=lambda: next(clock)))
    try:
        assert await http.signed_read("balance") == []
        stamps = [q["timestamp"] for _, path, q in s.seen]
        assert stamps == ["1000", "2000"] and all("signature" in q for _, _, q in s.seen)
    finally:
        await http.close()


async def test_writes_are_sent_once(stub: tuple[Stub, str]) -> None:
    s, url = stub
    s.replies["/fapi/v1/order"] = [Reply(503, {"code": -1001, "msg": "x"})]
    http = make_http(url, signer=HmacSigner("A" * 20, "B" * 20))
    try:
        with pytest.raises(AsterUnavailableError):
            await http.write("POST", "order", [("symbol", "BTCUSDT")], what="order")
        assert [(m, p) for m, p, _ in s.seen] == [("POST", "/fapi/v1/order")]
    finally:
        await http.close()


async def test_history_pages_until_a_short_page(stub: tuple[Stub, str]) -> None:
    """1000 rows a page: 2,500 hourly settlements arrive in three requests, each starting after the last row."""
    s, url = stub
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    start_ms = int(start.timestamp() * 1000)
    rows = [
        {"symbol": "WIFUSDT", "fundingTime": start_ms + i * H, "fundingRate": "0.00001000"}
        for i in range(2500)
    ]

    def page(q: dict[str, str]) -> list[dict[str, Any]]:
        lo, hi, limit = int(q["startTime"]), int(q["endTime"]), int(q["limit"])
        return [r for r in rows if lo <= r["fundingTime"] <= hi][:limit]

    s.default["/fapi/v1/fundingRate"] = page
    config = AsterConfig(rest_url=url, http=HttpConfig(timeout_seconds=2, retries=0))
    adapter = AsterFundingAdapter(config, VenueScope(config, VenueRateLimiter("aster", 0, 1)))
    market = MarketInfo("aster", "WIFUSDT", "WIF", "WIFUSDT", "USDT", funding_period_hours=D(1))
    try:
        result = await adapter.fetch_funding_history(market, start, start + timedelta(hours=2500))
    finally:
        await adapter.close()
    assert len(result.samples) == 2500 and len(s.seen) == 3
    assert [int(q["startTime"]) for _, _, q in s.seen] == [
        start_ms,
        start_ms + 1000 * H - H + 1,
        start_ms + 2000 * H - H + 1,
    ]
    assert {x.raw_period_hours for x in result.samples} == {D(1)} and result.samples[0].rate_hourly == D(
        "0.00001"
    )


async def test_adapter_on_recorded_payloads(stub: tuple[Stub, str]) -> None:
    """exchangeInfo (docs example), fundingInfo, ticker and premiumIndex recordings served verbatim."""
    s, url = stub
    info = load_payload("aster", "rest_exchangeInfo_docexample")
    btc_row = {**info["symbols"][0], "symbol": "BTCUSDT", "pair": "BTCUSDT"}
    s.default["/fapi/v1/exchangeInfo"] = lambda q: {**info, "symbols": [btc_row]}
    s.default["/fapi/v1/fundingInfo"] = lambda q: load_payload("aster", "rest_fundingInfo_BTCUSDT_2025-10")
    s.default["/fapi/v1/ticker/24hr"] = lambda q: [load_payload("aster", "rest_ticker_24hr_BTCUSDT_2025-06")]
    s.default["/fapi/v1/premiumIndex"] = lambda q: load_payload(
        "aster", "rest_premiumIndex_all_BTCUSDT_2025-06_fragment"
    )
    config = AsterConfig(rest_url=url, http=HttpConfig(timeout_seconds=2, retries=0))
    adapter = AsterFundingAdapter(config, VenueScope(config, VenueRateLimiter("aster", 0, 1)))
    try:
        md = await adapter.fetch_market_data()
        (m,) = md.markets
        assert (
            m.symbol,
            m.funding_period_hours,
            m.stats.mark_price,
            m.stats.volume_24h_usd,
            m.stats.open_interest_usd,
        ) == ("BTC", D(8), D("106729.84047826"), D("918896966.74"), None)
        (sample,) = (await adapter.fetch_funding_rates(md.markets)).samples
        assert (sample.rate_hourly, sample.volume_24h_usd) == (D("0.0000125"), D("918896966.74"))
        assert [p for _, p, _ in s.seen].count("/fapi/v1/premiumIndex") == 1  # reused within 5 s
    finally:
        await adapter.close()
