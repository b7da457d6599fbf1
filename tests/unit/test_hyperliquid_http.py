"""Hyperliquid's HTTP stack and funding adapter against a local aiohttp stub on 127.0.0.1 (only the internet is
mocked): status -> typed error mapping, retries and Retry-After, the weight budget, `/exchange` bodies, history
paging, the predicted-rate references, and the recorded payloads end to end with exact values."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

from exchange_clients.base.rate_limit import VenueRateLimiter
from exchange_clients.base.scope import VenueScope
from exchange_clients.hyperliquid.common import (
    HyperliquidAuthError,
    HyperliquidDataError,
    HyperliquidError,
    HyperliquidRateLimitedError,
    HyperliquidRejectedError,
    HyperliquidUnavailableError,
)
from exchange_clients.hyperliquid.config import HyperliquidConfig, config_type_for
from exchange_clients.hyperliquid.funding_adapter.adapter import HyperliquidFundingAdapter, adapter_type_for
from exchange_clients.hyperliquid.http import HyperliquidHttp, exchange_weight, extra_weight, info_weight
from perparb_core.errors import VenueRateLimitedError, VenueUnavailableError
from perparb_core.models import FundingKind, MarketInfo
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
    """POST /info and /exchange: answers queued per request type (`replies[type]`), else `default[type]`."""

    replies: dict[str, list[Reply]] = field(default_factory=dict)
    default: dict[str, Any] = field(default_factory=dict)
    seen: list[dict[str, Any]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/info", self.handle)
        app.router.add_post("/exchange", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.seen.append({"path": request.path, **body})
        self.times.append(time.monotonic())
        kind = body.get("type") or body.get("action", {}).get("type", "")
        queue = self.replies.get(kind)
        reply = queue.pop(0) if queue else Reply(body=self.default.get(kind))
        if reply.raw is not None:
            return web.Response(status=reply.status, body=reply.raw, headers=reply.headers)
        return web.json_response(reply.body, status=reply.status, headers=reply.headers)


@pytest_asyncio.fixture
async def stub() -> AsyncIterator[tuple[Stub, str]]:
    s = Stub()
    server = TestServer(s.app(), host="127.0.0.1")
    await server.start_server()
    yield s, str(server.make_url("")).rstrip("/")
    await server.close()


def config(url: str, dex: str = "", **kw: Any) -> HyperliquidConfig:
    values: dict[str, Any] = {
        "rest_url": url,
        "http": HttpConfig(timeout_seconds=2, retries=2, backoff_seconds=0.01),
        "rate_limit": RateLimitConfig(rate_per_second=0),
        **kw,
    }
    return config_type_for(dex)(**values)


def http_of(cfg: HyperliquidConfig, limiter: VenueRateLimiter | None = None) -> HyperliquidHttp:
    return HyperliquidHttp(cfg, VenueScope(cfg, limiter or VenueRateLimiter("hyperliquid", 0)))


# ------------------------------------------------------------------------------------------- error mapping


@pytest.mark.parametrize(
    ("reply", "error", "retried"),
    [
        (Reply(500, raw=b"oops"), HyperliquidUnavailableError, True),
        (Reply(502, raw=b"<html>bad gateway</html>"), HyperliquidUnavailableError, True),
        (Reply(429, raw=b"", headers={"Retry-After": "0.05"}), HyperliquidRateLimitedError, True),
        (
            Reply(422, raw=b"Failed to deserialize the JSON body into the target type"),
            HyperliquidRejectedError,
            False,
        ),
        (Reply(400, raw=b"bad"), HyperliquidRejectedError, False),
        (Reply(401, raw=b"no"), HyperliquidAuthError, False),
        (Reply(403, raw=b"no"), HyperliquidAuthError, False),
        (Reply(200, raw=b"not json"), HyperliquidDataError, False),
    ],
)
async def test_info_status_mapping(stub: tuple[Stub, str], reply: Reply, error: type, retried: bool) -> None:
    s, url = stub
    s.replies["meta"] = [reply, reply, reply]
    http = http_of(config(url))
    with pytest.raises(error) as caught:
        await http.info({"type": "meta"}, market="BTC")
    await http.close()
    assert len(s.seen) == (
        3 if retried else 1
    )  # retries = 2 after the first attempt, for retryable errors only
    assert isinstance(caught.value, HyperliquidError)
    assert caught.value.venue == "hyperliquid" and caught.value.market == "BTC"
    assert "POST /info meta" in str(caught.value)
    if error is HyperliquidRateLimitedError:
        assert isinstance(caught.value, VenueRateLimitedError) and caught.value.retry_after_seconds == 0.05
    if retried:
        assert isinstance(caught.value, VenueUnavailableError | VenueRateLimitedError)


async def test_a_429_pauses_every_caller_and_a_retry_succeeds(stub: tuple[Stub, str]) -> None:
    s, url = stub
    s.replies["meta"] = [Reply(429, raw=b"", headers={"Retry-After": "0.3"}), Reply(body={"universe": []})]
    limiter = VenueRateLimiter("hyperliquid", 0)
    http = http_of(config(url), limiter)
    assert await http.info({"type": "meta"}) == {"universe": []}
    await http.close()
    assert limiter.penalties == 1 and s.times[1] - s.times[0] >= 0.25


async def test_a_sub_venue_names_itself_in_errors(stub: tuple[Stub, str]) -> None:
    s, url = stub
    s.replies["metaAndAssetCtxs"] = [Reply(400, raw=b"bad dex")]
    http = http_of(config(url, "xyz"))
    with pytest.raises(HyperliquidRejectedError) as caught:
        await http.info({"type": "metaAndAssetCtxs", "dex": "xyz"})
    await http.close()
    assert caught.value.venue == "hyperliquid:xyz" and str(caught.value).startswith("hyperliquid:xyz: ")


async def test_exchange_is_not_retried_and_maps_err_bodies(stub: tuple[Stub, str]) -> None:
    s, url = stub
    s.replies["order"] = [
        Reply(500, raw=b"down"),
        Reply(body=load_payload("hyperliquid", "rest_exchange_err_wallet_does_not_exist")),
        Reply(body={"status": "err", "response": "Too many requests: rate limited"}),
        Reply(body={"status": "weird"}),
    ]
    http = http_of(config(url))
    payload = {
        "action": {"type": "order"},
        "nonce": 1,
        "signature": {},
        "vaultAddress": None,
        "expiresAfter": None,
    }
    with pytest.raises(HyperliquidUnavailableError):
        await http.exchange(payload, what="order 1")
    assert len(s.seen) == 1  # never retried blindly: the order manager reconciles by cloid
    with pytest.raises(HyperliquidAuthError, match="does not exist"):
        await http.exchange(payload, what="order 1")
    with pytest.raises(HyperliquidRateLimitedError):
        await http.exchange(payload, what="order 1")
    with pytest.raises(HyperliquidDataError, match="status 'weird'"):
        await http.exchange(payload, what="order 1")
    await http.close()
    assert s.seen[0]["path"] == "/exchange" and set(s.seen[0]) >= {"action", "nonce", "signature"}


def test_documented_weights() -> None:
    assert [
        info_weight(t)
        for t in ("l2Book", "orderStatus", "clearinghouseState", "userRole", "metaAndAssetCtxs")
    ] == [
        2,
        2,
        2,
        60,
        20,
    ]
    assert (exchange_weight(1), exchange_weight(39), exchange_weight(40), exchange_weight(79)) == (1, 1, 2, 2)
    assert extra_weight("fundingHistory", [{}] * 500) == 25 and extra_weight("meta", [{}] * 500) == 0
    assert extra_weight("candleSnapshot", [{}] * 120) == 2


async def test_the_limiter_spends_request_weights(stub: tuple[Stub, str]) -> None:
    """20 weight/s with a burst of 40: two `metaAndAssetCtxs` (20 each) go at once, the third waits ~1 s."""
    s, url = stub
    s.default["metaAndAssetCtxs"] = [{"universe": []}, []]
    limiter = VenueRateLimiter("hyperliquid", 20, 40)
    http = http_of(config(url), limiter)
    t0 = time.monotonic()
    for _ in range(3):
        await http.info({"type": "metaAndAssetCtxs"})
    await http.close()
    assert s.times[1] - t0 < 0.5 and s.times[2] - t0 >= 0.9


# ------------------------------------------------------------------------------------------- funding adapter


async def test_adapter_on_recorded_payloads(stub: tuple[Stub, str]) -> None:
    s, url = stub
    s.default["metaAndAssetCtxs"] = load_payload("hyperliquid", "rest_info_metaAndAssetCtxs_docexample")
    s.default["predictedFundings"] = load_payload(
        "hyperliquid", "rest_info_predictedFundings_BTC_ETH_2025-08_docexample"
    )
    cfg = config(url)
    adapter = HyperliquidFundingAdapter(cfg, VenueScope(cfg, VenueRateLimiter("hyperliquid", 0)))
    markets = (await adapter.fetch_market_data()).markets
    rates = await adapter.fetch_funding_rates(markets)
    await adapter.close()
    assert [m.symbol for m in markets] == ["BTC", "ETH", "HPOS"]
    assert [(r.symbol, r.rate_hourly) for r in rates.samples] == [
        ("BTC", D("0.0000125")),
        ("ETH", D("0.0000125")),
        ("HPOS", D("0.0000125")),
    ]
    assert {(r.venue, r.symbol) for r in rates.reference_rates} == {
        ("binance", "BTC"),
        ("bybit", "BTC"),
        ("binance", "ETH"),
        ("bybit", "ETH"),
    }
    kinds = [b["type"] for b in s.seen]
    assert kinds == ["metaAndAssetCtxs", "predictedFundings"]  # the market read was reused for the rates


async def test_hip3_adapter_sends_its_dex_and_skips_predicted_fundings(stub: tuple[Stub, str]) -> None:
    s, url = stub
    body = load_payload("hyperliquid", "rest_info_metaAndAssetCtxs_docexample")
    for asset in body[0]["universe"]:
        asset["name"] = "xyz:" + asset["name"]
    s.default["metaAndAssetCtxs"] = body
    cfg = config(url, "xyz")
    adapter = adapter_type_for("xyz")(cfg, VenueScope(cfg, VenueRateLimiter("hyperliquid", 0)))
    assert adapter.venue == "hyperliquid:xyz"
    markets = (await adapter.fetch_market_data()).markets
    rates = await adapter.fetch_funding_rates(markets)
    await adapter.close()
    assert {m.venue for m in markets} == {"hyperliquid:xyz"} and markets[0].venue_symbol == "xyz:BTC"
    assert {r.venue for r in rates.samples} == {"hyperliquid:xyz"} and rates.reference_rates == []
    assert s.seen == [{"path": "/info", "type": "metaAndAssetCtxs", "dex": "xyz"}]


async def test_history_pages_and_keeps_the_window(stub: tuple[Stub, str]) -> None:
    s, url = stub
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    base = int(start.timestamp() * 1000)
    page1 = [
        {"coin": "ETH", "fundingRate": "0.0000125", "premium": "0", "time": base + i * H + 37}
        for i in range(500)
    ]
    page2 = [
        {"coin": "ETH", "fundingRate": "-0.00001", "premium": "0", "time": base + i * H + 41}
        for i in range(500, 600)
    ]
    s.replies["fundingHistory"] = [Reply(body=page1), Reply(body=page2)]
    cfg = config(url)
    adapter = HyperliquidFundingAdapter(cfg, VenueScope(cfg, VenueRateLimiter("hyperliquid", 0)))
    eth = MarketInfo(venue="hyperliquid", venue_symbol="ETH", symbol="ETH", venue_market_id="1")
    result = await adapter.fetch_funding_history(eth, start, start + timedelta(hours=590))
    await adapter.close()
    assert [b["startTime"] for b in s.seen] == [base, base + 499 * H + 38]  # next page: last time + 1 ms
    assert s.seen[0]["endTime"] == base + 590 * H - 1
    assert len(result.samples) == 590 and result.samples[0].ts == start  # hour 590 is outside [start, end)
    assert all(x.kind is FundingKind.SETTLED and x.raw_period_hours == 1 for x in result.samples)
    assert result.samples[-1].rate_hourly == D("-0.00001")


async def test_history_rejects_bad_rows_and_refuses_naive_times(stub: tuple[Stub, str]) -> None:
    s, url = stub
    t = int(datetime(2024, 1, 1, 5, tzinfo=timezone.utc).timestamp() * 1000)
    s.replies["fundingHistory"] = [
        Reply(
            body=[
                {"coin": "ETH", "fundingRate": "", "time": t},
                {"coin": "BTC", "fundingRate": "0.1", "time": t + H},
                {"coin": "ETH", "fundingRate": "0.00002", "time": t + 2 * H},
            ]
        )
    ]
    cfg = config(url)
    adapter = HyperliquidFundingAdapter(cfg, VenueScope(cfg, VenueRateLimiter("hyperliquid", 0)))
    eth = MarketInfo(venue="hyperliquid", venue_symbol="ETH", symbol="ETH", venue_market_id="1")
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    result = await adapter.fetch_funding_history(eth, start, start + timedelta(days=1))
    with pytest.raises(ValueError, match="timezone-aware"):
        await adapter.fetch_funding_history(eth, datetime(2024, 1, 1), datetime(2024, 1, 2))
    await adapter.close()
    assert [r.field for r in result.rejections] == ["fundingRate", "coin"]
    assert [x.rate_hourly for x in result.samples] == [D("0.00002")]
