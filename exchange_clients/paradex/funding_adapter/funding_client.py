"""Paradex public REST reads for the funding adapter, through paradex-py's `ParadexApiClient`.

paradex-py 0.8.2 is synchronous (httpx) and turns HTTP errors into bare `ValueError` strings
(`HttpClient._handle_response`: "Rate limit exceeded" for 429, `str(ApiErrorSchema)` otherwise), losing the
status code and Retry-After. So this module builds the `httpx.Client` itself and gives it a `response`
event hook that raises this project's typed errors *before* paradex-py looks at the response:

| HTTP status        | error                                                         | retried |
|--------------------|---------------------------------------------------------------|---------|
| 429                | `ParadexRateLimitedError` (`retry_after_seconds` = Retry-After) | yes     |
| >= 500             | `ParadexUnavailableError`                                     | yes     |
| 401, 403           | `ParadexAuthError`                                            | no      |
| other >= 300       | `ParadexRejectedError` (`{"error","message","data"}` quoted)   | no      |
| timeout            | `ParadexUnavailableError` (httpx.TimeoutException)            | yes     |
| connection error   | `ParadexUnavailableError` (httpx.TransportError)              | yes     |
| not JSON / no `results` list | `ParadexDataError`                                  | no      |

Checked in paradex_py/api/http_client.py (0.8.2): `HttpClient.request` calls `self.client.request(...)`
inside `try: ... except Exception as e:` and, with no `retry_strategy` (we pass none), re-raises `e` with a
bare `raise`, so an exception raised in the httpx response hook (httpx runs response hooks inside
`Client.send`, before reading the body) reaches us unchanged; a non-JSON 200 body makes paradex-py return
None (logged), which we turn into `ParadexDataError`. The hook calls `response.read()` before using
`.text` / `.json()`, because hooks run before httpx has read the body.

Every call is blocking, so it runs in `asyncio.to_thread`, wrapped in `call_with_retry` (retries =
`config.http.retries`, backoff `config.http.backoff_seconds`, Retry-After honoured). httpx's own
connect/read/write/pool timeouts are `config.http.timeout_seconds`; the whole attempt is capped at twice
that (a slowly dripping body could otherwise exceed it). Every attempt first takes a slot of the venue scope's
limiter (`exchange_clients.base.scope`), the same budget the trading clients spend, and a 429 pauses them all.
The public `ParadexApiClient` (one httpx connection pool) is shared through the scope by every funding client of
the venue in the process. Only public, unauthenticated endpoints are used:
nothing secret is ever sent or logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
from paradex_py.api.api_client import ParadexApiClient
from paradex_py.api.http_client import HttpClient

from exchange_clients.base.retry import call_with_retry, parse_retry_after
from exchange_clients.base.scope import VenueScope, venue_scope
from exchange_clients.paradex.common import (
    VENUE,
    ParadexAuthError,
    ParadexDataError,
    ParadexRateLimitedError,
    ParadexRejectedError,
    ParadexUnavailableError,
)
from exchange_clients.paradex.funding_adapter.fetchers import results_of
from perparb_core.settings import VenueConfig

log = logging.getLogger("perparb.paradex")

FUNDING_DATA_MAX_PAGE_SIZE = 5000
"""OpenAPI `GET /funding/data` `page_size`: minimum 1, maximum 5000, default 100."""


def _error_detail(response: httpx.Response) -> str:
    """`ERROR_CODE: message` from a Paradex error body, else the first 200 characters of the body."""
    text = response.text
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict) and (body.get("error") or body.get("message")):
        code = body.get("error") or "ERROR"
        message = body.get("message") or ""
        return f"{code}: {message}" if message else str(code)
    snippet = " ".join(text.split())[:200]
    return snippet or "(empty body)"


def raise_for_paradex_status(response: httpx.Response) -> None:
    """httpx `response` event hook: raise the typed error for a status >= 300 (see the module table).

    The market named in the error is the request's `market` query parameter (unless "ALL").

    Raises:
        ParadexRateLimitedError, ParadexUnavailableError, ParadexAuthError, ParadexRejectedError.
    """
    status = response.status_code
    if status < 300:
        return
    response.read()
    request = response.request
    market = request.url.params.get("market")
    if market == "ALL":
        market = None
    message = f"{request.method} {request.url.path} -> HTTP {status}: {_error_detail(response)}"
    if status == 429:
        raise ParadexRateLimitedError(
            message, market, retry_after_seconds=parse_retry_after(response.headers.get("Retry-After"))
        )
    if status >= 500:
        raise ParadexUnavailableError(message, market)
    if status in (401, 403):
        raise ParadexAuthError(message, market)
    raise ParadexRejectedError(message, market)


class ParadexFundingClient:
    """Async facade over paradex-py's blocking `ParadexApiClient` for the public market/funding reads.

    Args:
        config: `rest_url` (REST base ending in /v1) and `http` (timeout, retries, backoff).
        scope: the venue scope (default `venue_scope(config)`): limiter and the shared public client.
        transport: optional httpx transport (tests); the client is then private (not shared).

    Methods return the decoded JSON body (a dict with a `results` list) and raise the `ParadexError`
    subclasses of the module table.
    """

    def __init__(
        self,
        config: VenueConfig,
        scope: VenueScope | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.config = config
        self.scope = scope or venue_scope(config)
        self._retries = config.http.retries
        self._backoff = config.http.backoff_seconds
        self._timeout = config.http.timeout_seconds
        self._transport = transport
        self._public: _PublicClient | None = None
        self._closed = False

    def _client(self) -> _PublicClient:
        """The public client: the scope's shared one, or a private one when a test transport is given."""
        if self._public is None:
            if self._transport is not None:
                self._public = _PublicClient(self.config, self._transport)
            else:
                config = self.config
                self._public = self.scope.acquire(_PUBLIC, lambda: _PublicClient(config, None), _close_public)
        return self._public

    @property
    def api(self) -> ParadexApiClient:
        """The underlying paradex-py client (for tests and diagnostics). Call inside a running loop."""
        return self._client().api

    def _blocking(self, what: str, call: Callable[[], Any], market: str | None) -> dict[str, Any]:
        """Run one paradex-py call in this thread and return a body with a `results` list."""
        if self._closed:
            raise ParadexUnavailableError(f"{what}: client is closed", market)
        try:
            body = call()
        except httpx.TimeoutException as exc:
            raise ParadexUnavailableError(f"{what}: timed out ({type(exc).__name__})", market) from exc
        except httpx.TransportError as exc:
            raise ParadexUnavailableError(f"{what}: {type(exc).__name__}: {exc}", market) from exc
        except httpx.DecodingError as exc:
            raise ParadexDataError(f"{what}: undecodable body: {exc}", market) from exc
        except httpx.RequestError as exc:
            raise ParadexUnavailableError(f"{what}: {type(exc).__name__}: {exc}", market) from exc
        except ValueError as exc:  # paradex-py's own error for anything the hook let through
            raise ParadexDataError(f"{what}: {exc}", market) from exc
        if body is None:
            raise ParadexDataError(f"{what}: empty or non-JSON body", market)
        results_of(body, what, market)  # raises unless an object with a `results` list
        decoded: dict[str, Any] = body
        return decoded

    async def _get(self, what: str, call: Callable[[], Any], market: str | None = None) -> dict[str, Any]:
        if not self._closed:
            self._client()  # taken on the loop: the calls below run in worker threads

        async def attempt() -> dict[str, Any]:
            await self.scope.limiter.acquire()
            try:
                return await asyncio.to_thread(self._blocking, what, call, market)
            except ParadexRateLimitedError as exc:
                self.scope.limiter.penalise(exc.retry_after_seconds)
                raise

        return await call_with_retry(
            attempt,
            venue=VENUE,
            what=what,
            retries=self._retries,
            backoff_seconds=self._backoff,
            timeout_seconds=2 * self._timeout,
        )

    async def fetch_markets(self) -> dict[str, Any]:
        """`GET /markets` -> `{"results": [MarketResp, ...]}`.

        Raises:
            ParadexError subclasses (module table).
        """
        return await self._get("GET /markets", lambda: self.api.fetch_markets())

    async def fetch_markets_summary(self) -> dict[str, Any]:
        """`GET /markets/summary?market=ALL` -> `{"results": [MarketSummaryResp, ...]}`.

        Raises:
            ParadexError subclasses (module table).
        """
        return await self._get(
            "GET /markets/summary", lambda: self.api.fetch_markets_summary({"market": "ALL"})
        )

    async def fetch_funding_data(
        self,
        market: str,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        page_size: int = FUNDING_DATA_MAX_PAGE_SIZE,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """`GET /funding/data?market=..&start_at=..&end_at=..&page_size=..&cursor=..` (times in epoch ms)
        -> `{"next": str|null, "prev": ..., "results": [FundingDataResult, ...]}`, newest first.

        Raises:
            ValueError: page_size outside 1..5000.
            ParadexError subclasses (module table).
        """
        if not 1 <= page_size <= FUNDING_DATA_MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be in 1..{FUNDING_DATA_MAX_PAGE_SIZE}, got {page_size}")
        params: dict[str, Any] = {"market": market, "page_size": page_size}
        if start_ms is not None:
            params["start_at"] = start_ms
        if end_ms is not None:
            params["end_at"] = end_ms
        if cursor:
            params["cursor"] = cursor
        return await self._get("GET /funding/data", lambda: self.api.fetch_funding_data(params), market)

    async def close(self) -> None:
        """Give the public client back (the last holder closes it; a private one is closed). Idempotent."""
        if self._closed:
            return
        self._closed = True
        public, self._public = self._public, None
        if public is None:
            return
        if self._transport is not None:
            public.close()
        else:
            await self.scope.release(_PUBLIC)


_PUBLIC = "paradex.public"


class _PublicClient:
    """A public paradex-py `ParadexApiClient` on an httpx client whose response hook raises the typed errors."""

    def __init__(self, config: VenueConfig, transport: httpx.BaseTransport | None) -> None:
        self.http = httpx.Client(
            timeout=httpx.Timeout(config.http.timeout_seconds),
            event_hooks={"response": [raise_for_paradex_status]},
            transport=transport,
        )
        # ParadexApiClient types `http_client` as its own HttpClient and unwraps `.client`, so this hands it
        # exactly our httpx.Client (with the hook); no network happens at construction.
        self.api = ParadexApiClient(
            env="prod", api_base_url=config.rest_url, http_client=HttpClient(self.http)
        )

    def close(self) -> None:
        self.http.close()


async def _close_public(client: _PublicClient) -> None:
    client.close()
