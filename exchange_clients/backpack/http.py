"""The one HTTP stack of Backpack: public GETs and signed requests over aiohttp, behind the venue's limiter.

Why not bpx-py's own HTTP layer: bpx-py 2.0.11 has a synchronous client (`requests`) and an "async" one
(`bpx.http_client.async_http_client.AsyncHttpClient`) that opens a NEW `aiohttp.ClientSession` for every request,
returns the decoded body whatever the HTTP status (a 429, a 500 and a 200 look alike: the status code and
Retry-After are dropped) and falls back to the body text on a JSON error. Neither the session nor the 429 pause
could be shared with the funding adapter through the venue scope, and errors could not be typed. What bpx-py does
well is the request itself: `bpx.base.base_account.BaseAccount` builds every signed request (URL, query or JSON
body, the instruction name, and the ED25519 signature over `instruction=<name>&<sorted params>&timestamp=<ms>&
window=<ms>` in the `X-API-Key` / `X-Signature` / `X-Timestamp` / `X-Window` headers). So signed requests are built
by bpx-py (`client/utils/signing.py`) and SENT here; public reads are plain GETs.

One aiohttp session per event loop is shared through the `VenueScope`; every attempt first takes a slot of the
venue's limiter; a 429 pauses every caller (`limiter.penalise`).

HTTP outcome -> error (`decode_response`; bodies `{"code": <ApiErrorCode>, "message": ...}`, e.g.
venue-data/backpack/rest_error_invalid_market_symbol.json; parameter parse errors are plain text):

| outcome                                                        | raises                                     |
|----------------------------------------------------------------|--------------------------------------------|
| 429 (`TOO_MANY_REQUESTS`)                                      | `BackpackRateLimitedError` (+ Retry-After); every caller paused |
| 401, 403, or code `UNAUTHORIZED` / `INVALID_SIGNATURE` / `FORBIDDEN` | `BackpackAuthError`                  |
| >= 500 (`SERVER_ERROR`, `MAINTENANCE`), timeout, aiohttp error | `BackpackUnavailableError` (reads retried) |
| other >= 400 (`INVALID_CLIENT_REQUEST`, `INVALID_ORDER`, `RESOURCE_NOT_FOUND`, plain text) | `BackpackRejectedError` (`.code`) |
| 2xx body not JSON (an empty body is None)                      | `BackpackDataError`                        |

Reads (public and signed) are idempotent and go through `call_with_retry` (`config.http`), re-signed on every
attempt (the signature covers the timestamp). Order placement is never retried here: a placement whose outcome is
unknown is reconciled by its client id (`clientId`) by the order manager. Request bodies and headers are never
logged (the signature headers are public by nature, the secret never leaves `BaseAccount`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from exchange_clients.backpack.common import (
    VENUE,
    BackpackAuthError,
    BackpackDataError,
    BackpackError,
    BackpackRateLimitedError,
    BackpackRejectedError,
    BackpackUnavailableError,
)
from exchange_clients.backpack.config import BackpackConfig
from exchange_clients.base.rate_limit import ORDER
from exchange_clients.base.retry import call_with_retry, parse_retry_after
from exchange_clients.base.scope import VenueScope
from perparb_core.errors import VenueUnavailableError

log = logging.getLogger("perparb.backpack.http")

AUTH_CODES = frozenset({"UNAUTHORIZED", "INVALID_SIGNATURE", "FORBIDDEN"})
_SESSION = "backpack.aiohttp"


class SignedRequest:
    """A signed request as bpx-py builds it (`RequestConfiguration`): method, absolute URL, headers (with the
    signature), query `params` (GET) or JSON body `data` (POST / DELETE / PATCH)."""

    __slots__ = ("data", "headers", "method", "params", "url")

    def __init__(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        self.method = method
        self.url = url
        self.headers = dict(headers)
        self.params = dict(params) if params else None
        self.data = dict(data) if data is not None else None

    def __repr__(self) -> str:  # never the headers
        return f"SignedRequest({self.method} {self.url})"


def _snippet(raw: bytes) -> str:
    return " ".join(raw[:200].decode("utf-8", errors="replace").split()) or "(empty body)"


def error_code(raw: bytes) -> tuple[str | None, str]:
    """(code, message) of a Backpack error body `{"code", "message"}`; (None, text) for a plain-text body."""
    try:
        body = json.loads(raw)
    except ValueError:
        return None, _snippet(raw)
    if isinstance(body, dict) and isinstance(body.get("code"), str):
        return body["code"], " ".join(str(body.get("message", "")).split())[:200]
    return None, _snippet(raw)


def decode_response(
    what: str, status: int, headers: Mapping[str, str], raw: bytes, *, market: str | None = None
) -> Any:
    """Map one HTTP response of Backpack to its decoded JSON body (None for an empty 2xx body) or the matching
    error (module table).

    Raises:
        BackpackRateLimitedError, BackpackAuthError, BackpackUnavailableError, BackpackRejectedError,
        BackpackDataError.
    """
    if status == 429:
        retry_after = parse_retry_after(headers.get("Retry-After"))
        shown = "absent" if retry_after is None else f"{retry_after:g} s"
        code, message = error_code(raw)
        raise BackpackRateLimitedError(
            f"{what}: HTTP 429 rate limited ({message}; Retry-After {shown})",
            market,
            code=code,
            retry_after_seconds=retry_after,
        )
    if status >= 500:
        code, message = error_code(raw)
        raise BackpackUnavailableError(
            f"{what}: HTTP {status}: {code or ''} {message}".strip(), market, code=code
        )
    if status >= 400:
        code, message = error_code(raw)
        text = f"{what}: HTTP {status}: {code + ': ' if code else ''}{message}"
        if status in (401, 403) or code in AUTH_CODES:
            raise BackpackAuthError(text, market, code=code)
        raise BackpackRejectedError(text, market, code=code)
    if not 200 <= status < 300:
        raise BackpackDataError(f"{what}: unexpected HTTP status {status}", market)
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise BackpackDataError(f"{what}: body is not JSON: {_snippet(raw)!r}", market) from None


async def _close_session(session: aiohttp.ClientSession) -> None:
    await session.close()


class BackpackHttp:
    """Public GETs and signed requests through the venue scope's shared session and budget.

    Args:
        config: `rest_url`, `http` (timeout per attempt, retries, backoff).
        scope: the venue scope (`venue_scope(config)`), shared with every client and the funding adapter.

    The session is taken from the scope lazily, inside the running loop; `close()` gives it back.
    """

    def __init__(self, config: BackpackConfig, scope: VenueScope) -> None:
        self.config = config
        self.scope = scope
        self.limiter = scope.limiter
        self.venue = VENUE
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The shared aiohttp session of this loop. Call inside a running loop."""
        if self._session is None:
            self._session = self.scope.acquire(_SESSION, aiohttp.ClientSession, _close_session)
        return self._session

    async def _send(
        self,
        method: str,
        url: str,
        what: str,
        market: str | None,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """One HTTP attempt, decoded (transport failures -> Unavailable)."""
        timeout = aiohttp.ClientTimeout(total=self.config.http.timeout_seconds)
        query = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in (params or {}).items()}
        body = json.dumps(dict(data)) if data is not None else None
        try:
            async with self.session.request(
                method, url, params=query or None, data=body, headers=headers, timeout=timeout
            ) as resp:
                status, resp_headers, raw = resp.status, resp.headers, await resp.read()
        except asyncio.TimeoutError as exc:
            raise BackpackUnavailableError(f"{what}: timed out ({type(exc).__name__})", market) from exc
        except aiohttp.ClientError as exc:
            raise BackpackUnavailableError(f"{what}: {type(exc).__name__}: {exc}", market) from exc
        try:
            return decode_response(what, status, resp_headers, raw, market=market)
        except BackpackRateLimitedError as exc:
            self.limiter.penalise(exc.retry_after_seconds)
            raise

    async def _retrying(self, attempt: Callable[[], Any], what: str, market: str | None) -> Any:
        http = self.config.http
        try:
            return await call_with_retry(
                attempt,
                venue=self.venue,
                what=what,
                retries=http.retries,
                backoff_seconds=http.backoff_seconds,
                timeout_seconds=http.timeout_seconds,
            )
        except VenueUnavailableError as exc:
            if isinstance(exc, BackpackError):
                raise
            # call_with_retry reports its per-attempt timeout with the venue-neutral class: keep ours.
            raise BackpackUnavailableError(str(exc).removeprefix(f"{self.venue}: "), market) from exc

    async def get(
        self, path: str, params: Mapping[str, Any] | None = None, *, market: str | None = None
    ) -> Any:
        """One idempotent public GET (`path` under `rest_url`, e.g. "/api/v1/markets") with retries.

        Raises:
            BackpackError subclasses (module table).
        """
        what = f"GET {path}" + (f" {market}" if market else "")

        async def attempt() -> Any:
            await self.limiter.acquire()
            return await self._send("GET", self.config.rest_url + path, what, market, params=params)

        return await self._retrying(attempt, what, market)

    async def signed_read(
        self, build: Callable[[], SignedRequest], *, what: str, market: str | None = None
    ) -> Any:
        """An idempotent signed request, built (and so signed with a fresh timestamp) by `build()` on every
        attempt, with retries.

        Raises:
            BackpackError subclasses (module table).
        """

        async def attempt() -> Any:
            await self.limiter.acquire()
            request = build()
            return await self._send(
                request.method,
                request.url,
                what,
                market,
                params=request.params,
                data=request.data,
                headers=request.headers,
            )

        return await self._retrying(attempt, what, market)

    async def signed_action(
        self, request: SignedRequest, *, what: str, market: str | None = None, slot_taken: bool = False
    ) -> Any:
        """One signed request that changes state (an order, a cancel, a leverage change), NOT retried.

        Args:
            slot_taken: the caller already took the limiter slot (`prepare_market_order`).

        Raises:
            BackpackError subclasses (module table); `BackpackUnavailableError` means the outcome is UNKNOWN.
        """
        if not slot_taken:
            await self.limiter.acquire(priority=ORDER)
        timeout = self.config.http.timeout_seconds
        try:
            return await asyncio.wait_for(
                self._send(
                    request.method,
                    request.url,
                    what,
                    market,
                    params=request.params,
                    data=request.data,
                    headers=request.headers,
                ),
                timeout,
            )
        except asyncio.TimeoutError:
            raise BackpackUnavailableError(
                f"{what}: timed out after {timeout:g} s (outcome unknown)", market
            ) from None

    async def close(self) -> None:
        """Give the shared session back to the scope. Idempotent."""
        if self._session is not None:
            self._session = None
            await self.scope.release(_SESSION)
