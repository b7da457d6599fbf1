"""Paradex funding client and adapter through the REAL paradex-py `ParadexApiClient` against a local HTTP
server on 127.0.0.1 (a free port): error mapping, retries, Retry-After, timeouts, pagination, exact values."""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal as D
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from exchange_clients.paradex.common import (
    ParadexAuthError,
    ParadexDataError,
    ParadexError,
    ParadexRateLimitedError,
    ParadexRejectedError,
    ParadexUnavailableError,
)
from exchange_clients.paradex.funding_adapter import ParadexFundingAdapter
from exchange_clients.paradex.funding_adapter.fetchers import epoch_ms
from exchange_clients.paradex.funding_adapter.funding_client import ParadexFundingClient, parse_retry_after
from perparb_core.errors import (
    VenueAuthError,
    VenueRateLimitedError,
    VenueRejectedError,
    VenueUnavailableError,
)
from perparb_core.models import FundingKind
from perparb_core.settings import VenueConfig
from tests.configs import venue_config
from tests.shared_data import load_payload


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


class StubParadex:
    """A tiny Paradex REST stand-in: per path, a function of the query giving a `Reply`."""

    def __init__(self) -> None:
        self.routes: dict[str, Callable[[dict[str, str]], Reply]] = {}
        self.seen: list[Seen] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                stub.seen.append(Seen(url.path, query))
                route = stub.routes.get(url.path)
                reply = route(query) if route else Reply(404, {"error": "NOT_FOUND", "message": url.path})
                if reply.delay:
                    time.sleep(reply.delay)
                data = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def sequence(self, path: str, *replies: Reply) -> None:
        """Serve `replies` in order on `path`; the last one repeats."""
        queue = list(replies)

        def route(query: dict[str, str]) -> Reply:
            return queue.pop(0) if len(queue) > 1 else queue[0]

        self.routes[path] = route

    def calls(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub() -> Iterator[StubParadex]:
    server = StubParadex()
    yield server
    server.close()


def make_settings(stub: StubParadex, *, retries: int = 2, timeout: float = 2.0) -> VenueConfig:
    return venue_config("paradex", stub.url, retries=retries, backoff=0.01, timeout=timeout)


def markets_body() -> dict[str, Any]:
    body = copy.deepcopy(load_payload("paradex", "rest_markets_btc"))
    body["results"][0]["fee_config"] = load_payload("paradex", "rest_markets_fee_config")["results"][0][
        "fee_config"
    ]
    return body


# -------------------- errors


def test_error_classes_are_per_venue_and_per_kind() -> None:
    err = ParadexUnavailableError("GET /markets -> HTTP 502: bad gateway", "BTC-USD-PERP")
    assert isinstance(err, ParadexError) and isinstance(err, VenueUnavailableError)
    assert err.retryable and (err.venue, err.market) == ("paradex", "BTC-USD-PERP")
    assert str(err) == "paradex BTC-USD-PERP: GET /markets -> HTTP 502: bad gateway"
    limited = ParadexRateLimitedError("slow down", retry_after_seconds=3.0)
    assert isinstance(limited, VenueRateLimitedError) and limited.retryable
    assert (limited.retry_after_seconds, limited.market) == (3.0, None)
    assert (
        isinstance(ParadexRejectedError("x"), VenueRejectedError) and not ParadexRejectedError("x").retryable
    )
    assert isinstance(ParadexAuthError("x"), VenueAuthError) and not ParadexAuthError("x").retryable


def test_parse_retry_after() -> None:
    now = datetime(2025, 1, 1, 12, 0, tzinfo=timezone.utc)
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("Wed, 01 Jan 2025 12:00:07 GMT", now) == 7.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("soon") is None


async def test_http_500_is_unavailable_after_retries(stub: StubParadex) -> None:
    stub.sequence("/v1/markets", Reply(500, {"error": "INTERNAL_ERROR", "message": "boom", "data": None}))
    client = ParadexFundingClient(make_settings(stub, retries=2))
    try:
        with pytest.raises(ParadexUnavailableError) as info:
            await client.fetch_markets()
    finally:
        await client.close()
    assert len(stub.calls("/v1/markets")) == 3  # first attempt + 2 retries
    assert str(info.value) == "paradex: GET /v1/markets -> HTTP 500: INTERNAL_ERROR: boom"


async def test_http_503_then_success_is_retried(stub: StubParadex) -> None:
    stub.sequence("/v1/markets", Reply(503, raw=b"<html>busy</html>"), Reply(200, markets_body()))
    client = ParadexFundingClient(make_settings(stub, retries=2))
    try:
        body = await client.fetch_markets()
    finally:
        await client.close()
    assert body["results"][0]["symbol"] == "BTC-USD-PERP"
    assert len(stub.calls("/v1/markets")) == 2


async def test_http_429_retry_after_is_honoured(stub: StubParadex) -> None:
    stub.sequence(
        "/v1/markets",
        Reply(429, {"error": "RATE_LIMITED", "message": "too many requests"}, headers={"Retry-After": "1"}),
        Reply(200, markets_body()),
    )
    client = ParadexFundingClient(make_settings(stub, retries=1))
    started = time.monotonic()
    try:
        body = await client.fetch_markets()
    finally:
        await client.close()
    elapsed = time.monotonic() - started
    assert body["results"][0]["symbol"] == "BTC-USD-PERP"
    assert len(stub.calls("/v1/markets")) == 2
    # backoff alone would be ~0.01 s; the venue asked for 1 s
    assert elapsed >= 0.95


async def test_http_429_without_retries_carries_retry_after(stub: StubParadex) -> None:
    stub.sequence("/v1/markets/summary", Reply(429, {"message": "slow down"}, headers={"Retry-After": "7"}))
    client = ParadexFundingClient(make_settings(stub, retries=0))
    try:
        with pytest.raises(ParadexRateLimitedError) as info:
            await client.fetch_markets_summary()
    finally:
        await client.close()
    assert info.value.retry_after_seconds == 7.0
    assert info.value.market is None  # market=ALL names no single market
    assert "HTTP 429" in str(info.value)


async def test_timeout_is_unavailable(stub: StubParadex) -> None:
    stub.sequence("/v1/markets", Reply(200, markets_body(), delay=1.0))
    client = ParadexFundingClient(make_settings(stub, retries=1, timeout=0.2))
    try:
        with pytest.raises(ParadexUnavailableError, match="timed out"):
            await client.fetch_markets()
    finally:
        await client.close()
    assert len(stub.calls("/v1/markets")) == 2


async def test_connection_refused_is_unavailable() -> None:
    server = StubParadex()
    url = server.url
    server.close()  # nothing listens on that port any more
    client = ParadexFundingClient(venue_config("paradex", url, retries=0, backoff=0.01, timeout=2.0))
    try:
        with pytest.raises(ParadexUnavailableError, match="ConnectError"):
            await client.fetch_markets()
    finally:
        await client.close()


async def test_http_400_error_body_is_rejected_without_retry(stub: StubParadex) -> None:
    stub.sequence("/v1/funding/data", Reply(400, load_payload("paradex", "rest_error_not_onboarded")))
    client = ParadexFundingClient(make_settings(stub, retries=3))
    try:
        with pytest.raises(ParadexRejectedError) as info:
            await client.fetch_funding_data("BTC-USD-PERP", start_ms=1, end_ms=2)
    finally:
        await client.close()
    assert len(stub.calls("/v1/funding/data")) == 1
    assert info.value.market == "BTC-USD-PERP"
    assert str(info.value) == (
        "paradex BTC-USD-PERP: GET /v1/funding/data -> HTTP 400: "
        "NOT_ONBOARDED: User has never called /onboarding endpoint"
    )


@pytest.mark.parametrize("status", [401, 403])
async def test_http_401_403_are_auth_errors_without_retry(stub: StubParadex, status: int) -> None:
    stub.sequence("/v1/markets", Reply(status, {"error": "INVALID_TOKEN", "message": "bad", "data": None}))
    client = ParadexFundingClient(make_settings(stub, retries=3))
    try:
        with pytest.raises(ParadexAuthError, match=f"HTTP {status}: INVALID_TOKEN: bad"):
            await client.fetch_markets()
    finally:
        await client.close()
    assert len(stub.calls("/v1/markets")) == 1


@pytest.mark.parametrize(
    ("reply", "match"),
    [(Reply(200, raw=b"not json"), "non-JSON"), (Reply(200, {"data": []}), "'results' missing")],
)
async def test_unusable_body_is_a_data_error(stub: StubParadex, reply: Reply, match: str) -> None:
    stub.sequence("/v1/markets", reply)
    client = ParadexFundingClient(make_settings(stub, retries=2))
    try:
        with pytest.raises(ParadexDataError, match=match):
            await client.fetch_markets()
    finally:
        await client.close()
    assert len(stub.calls("/v1/markets")) == 1  # not retryable


async def test_closed_client_refuses_calls(stub: StubParadex) -> None:
    client = ParadexFundingClient(make_settings(stub, retries=0))
    await client.close()
    await client.close()  # idempotent
    with pytest.raises(ParadexUnavailableError, match="closed"):
        await client.fetch_markets()
    assert stub.seen == []


# -------------------- happy path


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


async def test_adapter_happy_path_with_recorded_payloads(stub: StubParadex) -> None:
    recorded = load_payload("paradex", "rest_funding_data_btc_ccxt")
    recorded_row = recorded["results"][0]  # 2025-11-26 12:32:07.843, period 0, funding_rate_8h ""

    def fd(at: datetime, rate: str) -> dict[str, Any]:
        row = dict(recorded_row)
        row.update(created_at=epoch_ms(at), funding_rate=rate)
        return row

    page1 = {
        "next": recorded["next"],
        "prev": None,
        "results": [recorded_row, fd(utc(2025, 11, 26, 12, 10), "-0.00007007401074")],
    }
    page2 = {
        "next": "c3-must-not-be-followed",
        "prev": recorded["next"],
        "results": [
            fd(utc(2025, 11, 26, 11, 59, 55), "0.00001"),
            fd(utc(2025, 11, 26, 11, 20), "0.00003"),
            fd(utc(2025, 11, 26, 9, 59), "0.5"),  # older than the window: ends pagination, ignored
        ],
    }

    def funding_route(query: dict[str, str]) -> Reply:
        if query.get("cursor") is None:
            return Reply(200, page1)
        if query["cursor"] == recorded["next"]:
            return Reply(200, page2)
        return Reply(400, {"error": "INVALID_REQUEST_PARAMETER", "message": f"cursor {query['cursor']}"})

    stub.sequence("/v1/markets", Reply(200, markets_body()))
    stub.sequence("/v1/markets/summary", Reply(200, load_payload("paradex", "rest_markets_summary_btc_1")))
    stub.routes["/v1/funding/data"] = funding_route

    clock_now = utc(2025, 11, 26, 13, 5)
    adapter = ParadexFundingAdapter(make_settings(stub), clock=lambda: clock_now)
    try:
        data = await adapter.fetch_market_data()
        rates = await adapter.fetch_funding_rates(data.markets)
        history = await adapter.fetch_funding_history(
            data.markets[0], utc(2025, 11, 26, 11), utc(2025, 11, 26, 14)
        )
    finally:
        await adapter.close()

    # markets + stats
    assert data.rejections == []
    (btc,) = data.markets
    assert (btc.venue_symbol, btc.symbol, btc.tick_size, btc.size_step, btc.min_notional) == (
        "BTC-USD-PERP",
        "BTC",
        D("0.1"),
        D("0.001"),
        D("500"),
    )
    assert (btc.max_leverage, btc.funding_period_hours, btc.maker_fee, btc.taker_fee) == (
        D(50),
        D(8),
        D("0.000075"),
        D("0.000125"),
    )
    assert btc.stats.mark_price == D("67307.7225876")
    assert btc.stats.index_price == D("66806.71304318")
    assert btc.stats.open_interest_usd == D("10283071.9337657652")
    assert btc.stats.volume_24h_usd == D("2611476.262600002")
    assert btc.stats.ts == datetime(2024, 6, 14, 15, 12, 42, 698000, tzinfo=timezone.utc)
    assert stub.calls("/v1/markets/summary")[0].query == {"market": "ALL"}

    # current rate
    assert rates.rejections == []
    (now_rate,) = rates.samples
    assert (now_rate.kind, now_rate.raw_rate, now_rate.rate_hourly) == (
        FundingKind.PREDICTED,
        D("0.00749938923192"),
        D("0.00093742365399"),
    )

    # history: one SETTLED sample per UTC hour, ts = hour end, mean of the rows
    assert history.rejections == []
    assert [(s.kind, s.ts, s.raw_rate, s.raw_period_hours, s.rate_hourly) for s in history.samples] == [
        (FundingKind.SETTLED, utc(2025, 11, 26, 12), D("0.00002"), D(8), D("0.0000025")),
        # (-0.00006992598926 + -0.00007007401074) / 2 = -0.00007
        (FundingKind.SETTLED, utc(2025, 11, 26, 13), D("-0.00007"), D(8), D("-0.00000875")),
    ]
    assert {s.source for s in history.samples} == {"paradex:funding/data"}
    calls = stub.calls("/v1/funding/data")
    assert len(calls) == 2
    window = {
        "market": "BTC-USD-PERP",
        "page_size": "5000",
        "start_at": str(epoch_ms(utc(2025, 11, 26, 10))),  # the hour ending at `start`
        "end_at": str(epoch_ms(utc(2025, 11, 26, 13)) - 1),  # the last hour ended by now (13:05)
    }
    assert calls[0].query == window
    assert calls[1].query == {**window, "cursor": recorded["next"]}


async def test_history_window_in_the_future_requests_nothing(stub: StubParadex) -> None:
    adapter = ParadexFundingAdapter(make_settings(stub), clock=lambda: utc(2025, 11, 26, 13, 5))
    market = await _btc_market(stub, adapter)
    try:
        result = await adapter.fetch_funding_history(market, utc(2025, 11, 26, 14), utc(2025, 11, 26, 18))
    finally:
        await adapter.close()
    assert result.samples == [] and result.rejections == []
    assert stub.calls("/v1/funding/data") == []


async def test_history_repeated_cursor_is_a_data_error(stub: StubParadex) -> None:
    row = dict(load_payload("paradex", "rest_funding_data_btc_ccxt")["results"][0])
    row["created_at"] = epoch_ms(utc(2025, 11, 26, 12, 30))
    stub.sequence("/v1/funding/data", Reply(200, {"next": "same", "results": [row]}))
    adapter = ParadexFundingAdapter(make_settings(stub), clock=lambda: utc(2025, 11, 26, 13, 5))
    market = await _btc_market(stub, adapter)
    try:
        with pytest.raises(ParadexDataError, match="repeats"):
            await adapter.fetch_funding_history(market, utc(2025, 11, 26, 12), utc(2025, 11, 26, 14))
    finally:
        await adapter.close()
    assert len(stub.calls("/v1/funding/data")) == 2


async def _btc_market(stub: StubParadex, adapter: ParadexFundingAdapter) -> Any:
    stub.sequence("/v1/markets", Reply(200, markets_body()))
    stub.sequence("/v1/markets/summary", Reply(200, load_payload("paradex", "rest_markets_summary_btc_1")))
    return (await adapter.fetch_market_data()).markets[0]
