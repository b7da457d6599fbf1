"""The one HTTP stack of Lighter: raw JSON bodies through the official SDK, behind the venue's shared limiter.

Used by the funding adapter (`funding_adapter/funding_client.py`: the public endpoints) and by the trading client
(its managers' public and authenticated reads); both get the venue's `VenueScope`, so they share one SDK
`ApiClient` (one aiohttp session) per event loop and one rate budget.

Requests go through `lighter.ApiClient(lighter.Configuration(host=config.rest_url))` and the SDK's
`*_without_preload_content` methods, which return the raw `aiohttp.ClientResponse` instead of a pydantic model.
The body is read and decoded here and handed, as a plain dict, to the pure parsers (`funding_adapter/fetchers.py`,
`client/utils/converters.py`): the SDK's strict models would fail the whole response over one bad row (e.g.
`"rate": ""`), the parsers reject only that row.

HTTP outcome -> error (PROTOCOL_NOTES §1.1; venue-data/lighter/rest_orderBookOrders_errors.json):

| outcome                                                 | raises                                     |
|---------------------------------------------------------|--------------------------------------------|
| 429                                                     | `LighterRateLimitedError` (+ Retry-After)  |
| 401, 403                                                | `LighterAuthError`                         |
| >= 500, timeout, aiohttp error, ApiException(status=0)  | `LighterUnavailableError` (retried)        |
| other >= 400 (Lighter: 400 `{"code":20001,...}`)        | `LighterRejectedError` (not retried)       |
| 2xx with body `code` other than 200                     | `LighterRejectedError`                     |
| 2xx, not JSON / not an object / top-level list missing  | `LighterDataError`                         |

Reads are idempotent: they run through `call_with_retry` (`config.http`: timeout per attempt, retries, backoff;
Retry-After honoured). Every attempt first takes a slot of the venue's limiter, and a 429 pauses every Lighter
caller of the same base URL for its Retry-After (`penalise`). All I/O is async (the SDK's ApiClient is
aiohttp-based); nothing blocks the event loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
import lighter

from exchange_clients.base.retry import call_with_retry, parse_retry_after
from exchange_clients.base.scope import VenueScope
from exchange_clients.lighter.common import (
    VENUE,
    LighterAuthError,
    LighterDataError,
    LighterError,
    LighterRateLimitedError,
    LighterRejectedError,
    LighterUnavailableError,
)
from exchange_clients.lighter.funding_adapter.fetchers import envelope_rows
from perparb_core.errors import VenueUnavailableError
from perparb_core.settings import VenueConfig

JsonObject = dict[str, Any]


def _body_code_and_message(raw: bytes) -> tuple[Any, str]:
    """Best-effort `code` and `message` of an error body (Lighter `ResultCode`), for error messages."""
    try:
        body = json.loads(raw)
    except ValueError:
        return None, raw[:200].decode("utf-8", errors="replace")
    if isinstance(body, dict):
        return body.get("code"), str(body.get("message", "")).strip()
    return None, str(body)[:200]


def decode_response(
    what: str, status: int, headers: Mapping[str, str], raw: bytes, list_key: str, market: str | None = None
) -> JsonObject:
    """Map one HTTP response of Lighter to its JSON object or the matching `LighterError`.

    Args:
        what: the request, for messages ("GET /api/v1/funding-rates").
        status: HTTP status; headers: response headers; raw: the body bytes.
        list_key: the top-level list the endpoint must carry ("funding_rates", "order_book_details",
            "fundings").
        market: the market concerned, for messages.

    Returns:
        The decoded body (a dict whose `list_key` is a list).

    Raises:
        LighterRateLimitedError, LighterAuthError, LighterUnavailableError, LighterRejectedError or
        LighterDataError: see the module table.
    """
    if status == 429:
        retry_after = parse_retry_after(headers.get("Retry-After"))
        shown = "absent" if retry_after is None else f"{retry_after:g} s"
        raise LighterRateLimitedError(
            f"{what}: HTTP 429 rate limited (Retry-After {shown})",
            market,
            retry_after_seconds=retry_after,
        )
    if status >= 500:
        _code, message = _body_code_and_message(raw)
        raise LighterUnavailableError(f"{what}: HTTP {status} {message}".rstrip(), market)
    if status in (401, 403):
        code, message = _body_code_and_message(raw)
        raise LighterAuthError(f"{what}: HTTP {status} code {code}: {message}", market)
    if status >= 400:
        code, message = _body_code_and_message(raw)
        raise LighterRejectedError(f"{what}: HTTP {status} code {code}: {message}", market)
    if not 200 <= status < 300:
        raise LighterDataError(f"{what}: unexpected HTTP status {status}", market)
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise LighterDataError(f"{what}: body is not JSON ({exc}): {raw[:80]!r}", market) from None
    # Checks the object shape, the body `code` and the top-level list (raises LighterRejectedError /
    # LighterDataError); the rows themselves are validated by the parsers.
    envelope_rows(body, list_key, what)
    decoded: JsonObject = body  # envelope_rows checked it is an object
    return decoded


_API_CLIENT = "lighter.ApiClient"


async def _close_api_client(client: lighter.ApiClient) -> None:
    await client.close()


class LighterRest:
    """Raw JSON reads of Lighter through the venue scope's shared SDK `ApiClient` and limiter.

    Args:
        config: `rest_url` (REST root, e.g. "https://mainnet.zklighter.elliot.ai") and `http` (timeout per
            attempt, retries, backoff).
        scope: the venue's `VenueScope` (`venue_scope(config)`): its limiter is also taken by the order path,
            so placements and reads share the budget.

    The `ApiClient` is taken from the scope lazily, inside the running loop; `close()` gives it back (the last
    holder closes it).
    """

    def __init__(self, config: VenueConfig, scope: VenueScope) -> None:
        self.config = config
        self.scope = scope
        self.limiter = scope.limiter
        self._api_client: lighter.ApiClient | None = None

    @property
    def api(self) -> lighter.ApiClient:
        """The shared SDK `ApiClient` (an aiohttp session) of this loop. Call inside a running loop."""
        if self._api_client is None:
            url = self.config.rest_url
            self._api_client = self.scope.acquire(
                _API_CLIENT,
                lambda: lighter.ApiClient(lighter.Configuration(host=url)),
                _close_api_client,
            )
        return self._api_client

    @property
    def timeout(self) -> float:
        """Per-attempt timeout in seconds (`config.http.timeout_seconds`)."""
        return float(self.config.http.timeout_seconds)

    async def _attempt(
        self,
        what: str,
        list_key: str,
        send: Callable[[], Awaitable[aiohttp.ClientResponse]],
        market: str | None,
    ) -> JsonObject:
        await self.limiter.acquire()
        try:
            return await self._send(what, list_key, send, market)
        except LighterRateLimitedError as exc:
            self.limiter.penalise(exc.retry_after_seconds)
            raise

    async def _send(
        self,
        what: str,
        list_key: str,
        send: Callable[[], Awaitable[aiohttp.ClientResponse]],
        market: str | None,
    ) -> JsonObject:
        """One HTTP attempt: send, read the whole body, decode (transport failure -> Unavailable)."""
        try:
            response = await send()
            try:
                status, headers, raw = response.status, response.headers, await response.read()
            finally:
                response.release()
        except lighter.ApiException as exc:
            if not exc.status:
                raise LighterUnavailableError(f"{what}: {exc.reason or exc}", market) from exc
            return decode_response(
                what, int(exc.status), exc.headers or {}, (exc.body or "").encode(), list_key, market
            )
        except asyncio.TimeoutError as exc:  # aiohttp's own timeouts (ServerTimeoutError is one)
            raise LighterUnavailableError(f"{what}: timed out ({type(exc).__name__})", market) from exc
        except aiohttp.ClientError as exc:
            raise LighterUnavailableError(f"{what}: {type(exc).__name__}: {exc}", market) from exc
        return decode_response(what, status, headers, raw, list_key, market)

    async def get(
        self,
        what: str,
        list_key: str,
        send: Callable[[], Awaitable[aiohttp.ClientResponse]],
        market: str | None = None,
    ) -> JsonObject:
        """One idempotent read with retries. Returns the decoded body (its `list_key` is a list).

        Raises:
            LighterError subclasses (module table).
        """
        http = self.config.http
        try:
            return await call_with_retry(
                lambda: self._attempt(what, list_key, send, market),
                venue=VENUE,
                what=what,
                retries=http.retries,
                backoff_seconds=http.backoff_seconds,
                timeout_seconds=http.timeout_seconds,
            )
        except VenueUnavailableError as exc:
            if isinstance(exc, LighterError):
                raise
            # call_with_retry reports its per-attempt timeout as the venue-neutral class: keep ours.
            raise LighterUnavailableError(str(exc).removeprefix(f"{VENUE}: "), market) from exc

    async def close(self) -> None:
        """Give the shared `ApiClient` back to the scope. Idempotent."""
        if self._api_client is not None:
            self._api_client = None
            await self.scope.release(_API_CLIENT)
