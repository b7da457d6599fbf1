"""Lighter funding client and adapter through the REAL lighter-sdk `ApiClient` against a tiny local aiohttp
server on 127.0.0.1 (a free port): HTTP error mapping, retries, Retry-After, timeouts, pagination and the
recorded payloads end to end with exact values."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

from exchange_clients.base.retry import parse_retry_after
from exchange_clients.lighter.common import (
    LighterAuthError,
    LighterDataError,
    LighterRateLimitedError,
    LighterRejectedError,
    LighterUnavailableError,
)
from exchange_clients.lighter.config import LighterConfig
from exchange_clients.lighter.funding_adapter import LighterFundingAdapter
from exchange_clients.lighter.funding_adapter.adapter import FUNDINGS_ROWS_PER_REQUEST, history_windows
from perparb_core.errors import VenueRateLimitedError, VenueRejectedError, VenueUnavailableError
from perparb_core.models import FundingKind, MarketInfo
from tests.configs import venue_config
from tests.shared_data import load_payload

FUNDING_RATES_BODY = {
    "code": 200,
    "funding_rates": [{"market_id": 0, "exchange": "lighter", "symbol": "ETH", "rate": 0.0008}],
}
ETH = MarketInfo(venue="lighter", venue_symbol="ETH", symbol="ETH", venue_market_id="0")


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw: bytes | None = None


@dataclass
class Seen:
    path: str
    query: dict[str, str]
    at: float


class StubLighter:
    """A Lighter REST stand-in: per path, a list of replies served in turn (the last one repeats)."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Reply] | Callable[[dict[str, str]], Reply]] = {}
        self.seen: list[Seen] = []
        self.url = ""

    def hits(self, path: str) -> int:
        return sum(1 for s in self.seen if s.path == path)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        self.seen.append(Seen(request.path, query, time.monotonic()))
        route = self.routes.get(request.path)
        if route is None:
            return web.json_response({"code": 20001, "message": "no such path"}, status=404)
        if callable(route):
            reply = route(query)
        else:
            reply = route.pop(0) if len(route) > 1 else route[0]
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.raw is not None:
            return web.Response(status=reply.status, body=reply.raw, headers=reply.headers)
        return web.json_response(reply.body, status=reply.status, headers=reply.headers)


@pytest_asyncio.fixture
async def stub() -> AsyncIterator[StubLighter]:
    lighter_stub = StubLighter()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", lighter_stub.handle)
    server = TestServer(app, host="127.0.0.1")  # a free port
    await server.start_server()
    lighter_stub.url = f"http://127.0.0.1:{server.port}"
    yield lighter_stub
    await server.close()


def make_adapter(url: str, *, timeout: float = 2.0, retries: int = 2) -> LighterFundingAdapter:
    config = venue_config("lighter", url, timeout=timeout, retries=retries, backoff=0.01)
    assert isinstance(config, LighterConfig)
    return LighterFundingAdapter(config)


def utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


# --- error mapping and retries ---------------------------------------------------------------------------


async def test_http_500_is_unavailable_after_retries(stub: StubLighter) -> None:
    stub.routes["/api/v1/funding-rates"] = [Reply(500, {"code": 500, "message": "internal"})]
    async with make_adapter(stub.url, retries=2) as adapter:
        with pytest.raises(LighterUnavailableError, match="HTTP 500 internal") as info:
            await adapter.fetch_funding_rates([ETH])
    assert isinstance(info.value, VenueUnavailableError)
    assert info.value.venue == "lighter"
    assert stub.hits("/api/v1/funding-rates") == 3  # first attempt + 2 retries


async def test_http_503_then_success(stub: StubLighter) -> None:
    stub.routes["/api/v1/funding-rates"] = [Reply(503, raw=b"upstream down"), Reply(200, FUNDING_RATES_BODY)]
    async with make_adapter(stub.url) as adapter:
        result = await adapter.fetch_funding_rates([ETH])
    assert [s.rate_hourly for s in result.samples] == [Decimal("0.0001")]
    assert stub.hits("/api/v1/funding-rates") == 2


async def test_http_429_retry_after_is_honoured(stub: StubLighter) -> None:
    stub.routes["/api/v1/funding-rates"] = [
        Reply(429, {"code": 429, "message": "Too Many Requests"}, headers={"Retry-After": "1"}),
        Reply(200, FUNDING_RATES_BODY),
    ]
    async with make_adapter(stub.url, retries=1) as adapter:
        result = await adapter.fetch_funding_rates([ETH])
    assert result.samples[0].rate_hourly == Decimal("0.0001")
    first, second = stub.seen
    assert second.at - first.at >= 0.95  # Retry-After 1 s, not the 0.01 s backoff


async def test_http_429_without_retry_after_pauses_the_venue_then_raises(stub: StubLighter) -> None:
    """A 429 without Retry-After pauses every caller of the venue (the shared limiter's default 1 s) before the
    retry: the funding adapter spends the same rate budget as the trading clients."""
    stub.routes["/api/v1/funding-rates"] = [Reply(429, {"code": 429, "message": "slow down"})]
    started = time.monotonic()
    async with make_adapter(stub.url, retries=2) as adapter:
        with pytest.raises(LighterRateLimitedError) as info:
            await adapter.fetch_funding_rates([ETH])
        assert adapter._client.rest.limiter.penalties >= 3
    assert 1.9 <= time.monotonic() - started < 4.0  # two 1 s pauses before the two retries
    assert isinstance(info.value, VenueRateLimitedError)
    assert info.value.retry_after_seconds is None
    assert stub.hits("/api/v1/funding-rates") == 3


async def test_timeout_is_unavailable(stub: StubLighter) -> None:
    stub.routes["/api/v1/orderBookDetails"] = [Reply(200, {"code": 200, "order_book_details": []}, delay=1.0)]
    started = time.monotonic()
    async with make_adapter(stub.url, timeout=0.2, retries=1) as adapter:
        with pytest.raises(LighterUnavailableError, match="timed out"):
            await adapter.fetch_market_data()
    assert time.monotonic() - started < 0.9  # two attempts of 0.2 s, not the server's 1 s
    assert stub.hits("/api/v1/orderBookDetails") == 2


async def test_http_400_code_20001_is_rejected_without_retry(stub: StubLighter) -> None:
    # the body Lighter sends for a bad parameter (venue-data/lighter/rest_orderBookOrders_errors.json)
    stub.routes["/api/v1/fundings"] = [Reply(400, {"code": 20001, "message": "invalid param "})]
    async with make_adapter(stub.url, retries=3) as adapter:
        with pytest.raises(LighterRejectedError, match="HTTP 400 code 20001: invalid param") as info:
            await adapter.fetch_funding_history(ETH, utc(1790665200), utc(1790668800))
    assert isinstance(info.value, VenueRejectedError)
    assert info.value.market == "ETH"
    assert stub.hits("/api/v1/fundings") == 1


async def test_http_401_is_auth_error_without_retry(stub: StubLighter) -> None:
    stub.routes["/api/v1/funding-rates"] = [Reply(401, {"code": 20013, "message": "invalid auth"})]
    async with make_adapter(stub.url) as adapter:
        with pytest.raises(LighterAuthError, match="HTTP 401"):
            await adapter.fetch_funding_rates([ETH])
    assert stub.hits("/api/v1/funding-rates") == 1


async def test_body_code_other_than_200_is_rejected(stub: StubLighter) -> None:
    stub.routes["/api/v1/funding-rates"] = [Reply(200, {"code": 20001, "message": "invalid param "})]
    async with make_adapter(stub.url) as adapter:
        with pytest.raises(LighterRejectedError, match="code 20001"):
            await adapter.fetch_funding_rates([ETH])
    assert stub.hits("/api/v1/funding-rates") == 1


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(200, raw=b"<html>gateway</html>"), "body is not JSON"),
        (Reply(200, {"code": 200}), "top-level 'funding_rates' is missing"),
        (Reply(200, {"code": 200, "funding_rates": {"0": 1}}), "top-level 'funding_rates' is a dict"),
        (Reply(200, [1, 2]), "body is list"),
    ],
)
async def test_unusable_body_is_a_data_error(stub: StubLighter, reply: Reply, message: str) -> None:
    stub.routes["/api/v1/funding-rates"] = [reply]
    async with make_adapter(stub.url) as adapter:
        with pytest.raises(LighterDataError, match=message):
            await adapter.fetch_funding_rates([ETH])
    assert stub.hits("/api/v1/funding-rates") == 1


async def test_connection_refused_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # nothing listens on `port` any more
    async with make_adapter(f"http://127.0.0.1:{port}", retries=1) as adapter:
        with pytest.raises(LighterUnavailableError, match="ClientConnectorError"):
            await adapter.fetch_market_data()


def test_parse_retry_after_forms() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("1") == 1.0
    assert parse_retry_after(" 2.5 ") == 2.5
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:07 GMT", now) == 7.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("nan") is None


# --- happy path on the recorded payloads -----------------------------------------------------------------


async def test_recorded_payloads_end_to_end(stub: StubLighter) -> None:
    stub.routes["/api/v1/orderBookDetails"] = [
        Reply(200, load_payload("lighter", "rest_orderBookDetails_market0"))
    ]
    stub.routes["/api/v1/funding-rates"] = [Reply(200, load_payload("lighter", "rest_funding-rates"))]
    stub.routes["/api/v1/fundings"] = [
        Reply(200, load_payload("lighter", "rest_fundings_market_1h_fragment"))
    ]
    adapter = make_adapter(stub.url)
    try:
        markets = await adapter.fetch_market_data()
        assert markets.rejections == []
        (eth,) = markets.markets
        assert (eth.venue_symbol, eth.venue_market_id, eth.max_leverage) == ("ETH", "0", Decimal(50))
        assert (eth.tick_size, eth.size_step, eth.min_size, eth.min_notional) == (
            Decimal("0.01"),
            Decimal("0.0001"),
            Decimal("0.005"),
            Decimal("10"),
        )
        assert eth.stats.open_interest_usd == Decimal("39559.3278") * Decimal("3550.69")

        rates = await adapter.fetch_funding_rates(markets.markets)
        assert rates.rejections == [] and rates.reference_rates == []
        (predicted,) = rates.samples
        assert predicted.kind is FundingKind.PREDICTED
        assert predicted.rate_hourly == Decimal("0.000012")
        assert predicted.rate_8h == Decimal("0.000096")
        assert predicted.apr == Decimal("0.10512")
        assert predicted.mark_price == Decimal("3550.69")

        history = await adapter.fetch_funding_history(eth, utc(1790665200), utc(1790672400 + 3600))
        assert [(s.ts, s.rate_hourly, s.kind) for s in history.samples] == [
            (utc(1790665200), Decimal("0.000012"), FundingKind.SETTLED),
            (utc(1790668800), Decimal("-0.000006"), FundingKind.SETTLED),
        ]
        assert [r.field for r in history.rejections] == ["direction"]
    finally:
        await adapter.close()
        await adapter.close()  # idempotent

    paths = [s.path for s in stub.seen]
    assert paths == ["/api/v1/orderBookDetails", "/api/v1/funding-rates", "/api/v1/fundings"]
    assert stub.seen[2].query == {
        "market_id": "0",
        "resolution": "1h",
        "start_timestamp": "1790665200",
        "end_timestamp": "1790676000",
        "count_back": "4",
    }


# --- history pagination ----------------------------------------------------------------------------------

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z, on the hour


def synthetic_fundings(conflict_at: int | None = None) -> Callable[[dict[str, str]], Reply]:
    """Hourly rows for every hour in [start_timestamp, end_timestamp] (inclusive), newest first.

    Row for hour k: rate k % 7 / 10000 percent, "long" for even k, "short" for odd k. `conflict_at`: a
    timestamp whose rate is changed in every response after the first that contains it.
    """
    served: set[int] = set()

    def reply(query: dict[str, str]) -> Reply:
        lo, hi = int(query["start_timestamp"]), int(query["end_timestamp"])
        rows = []
        for ts in range(lo - lo % 3600 + (3600 if lo % 3600 else 0), hi + 1, 3600):
            k = (ts - T0) // 3600
            rate = Decimal(k % 7) / 10000
            if ts == conflict_at and ts in served:
                rate += Decimal("0.5")
            served.add(ts)
            rows.append(
                {
                    "timestamp": ts,
                    "value": "0.1",
                    "rate": str(rate),
                    "direction": "long" if k % 2 == 0 else "short",
                }
            )
        rows.reverse()
        assert len(rows) <= int(query["count_back"]) <= FUNDINGS_ROWS_PER_REQUEST
        return Reply(200, {"code": 200, "resolution": "1h", "fundings": rows})

    return reply


async def test_history_paginates_in_windows_dedupes_and_sorts(stub: StubLighter) -> None:
    stub.routes["/api/v1/fundings"] = synthetic_fundings()
    hours = 2000
    async with make_adapter(stub.url) as adapter:
        result = await adapter.fetch_funding_history(ETH, utc(T0), utc(T0 + hours * 3600))
    assert result.rejections == []
    assert [s.ts for s in result.samples] == [
        utc(T0 + k * 3600) for k in range(hours)
    ]  # oldest first, no dupes
    for k in (0, 1, 749, 1998, 1999):
        expected = Decimal(k % 7) / 10000 / 100 * (1 if k % 2 == 0 else -1)
        assert result.samples[k].rate_hourly == expected
    windows = [
        (int(s.query["start_timestamp"]), int(s.query["end_timestamp"]), int(s.query["count_back"]))
        for s in stub.seen
    ]
    assert windows == [
        (T0, T0 + 749 * 3600, 750),
        (T0 + 749 * 3600, T0 + 1498 * 3600, 750),
        (T0 + 1498 * 3600, T0 + 2000 * 3600, 503),
    ]
    assert all(s.query["market_id"] == "0" and s.query["resolution"] == "1h" for s in stub.seen)


async def test_history_conflicting_duplicate_hour_is_rejected(stub: StubLighter) -> None:
    boundary = T0 + 749 * 3600  # served by both the first and the second window
    stub.routes["/api/v1/fundings"] = synthetic_fundings(conflict_at=boundary)
    async with make_adapter(stub.url) as adapter:
        result = await adapter.fetch_funding_history(ETH, utc(T0), utc(T0 + 800 * 3600))
    assert len(result.samples) == 800
    kept = next(s for s in result.samples if s.ts == utc(boundary))
    assert kept.raw_rate == Decimal(749 % 7) / 10000 * -1  # the first row seen (749 is odd: short)
    (rej,) = result.rejections
    assert (rej.field, rej.value) == ("timestamp", str(boundary))


async def test_history_empty_range_makes_no_request(stub: StubLighter) -> None:
    async with make_adapter(stub.url) as adapter:
        result = await adapter.fetch_funding_history(ETH, utc(T0), utc(T0))
    assert result.samples == [] and stub.seen == []


async def test_history_argument_errors(stub: StubLighter) -> None:
    async with make_adapter(stub.url) as adapter:
        with pytest.raises(ValueError, match="timezone-aware"):
            await adapter.fetch_funding_history(ETH, datetime(2026, 1, 1), datetime(2026, 1, 2))
        paradex = MarketInfo(
            venue="paradex", venue_symbol="BTC-USD-PERP", symbol="BTC", venue_market_id="BTC-USD-PERP"
        )
        with pytest.raises(ValueError, match="not a Lighter market"):
            await adapter.fetch_funding_history(paradex, utc(T0), utc(T0) + timedelta(hours=1))
    assert stub.seen == []


def test_history_windows_cover_the_range() -> None:
    assert history_windows(0, 0) == []
    assert history_windows(0, 3600) == [(0, 3600)]
    windows = history_windows(T0, T0 + 10 * 3600, rows=4)
    assert windows == [
        (T0, T0 + 3 * 3600),
        (T0 + 3 * 3600, T0 + 6 * 3600),
        (T0 + 6 * 3600, T0 + 9 * 3600),
        (T0 + 9 * 3600, T0 + 10 * 3600),
    ]
    with pytest.raises(ValueError):
        history_windows(0, 10, rows=1)
