"""Authenticated and public REST reads of the Lighter trading client, through lighter-sdk's `ApiClient`.

Requests use the SDK's `*_without_preload_content` methods (raw bodies: the parsers in `converters.py` reject a bad
row instead of failing the whole response on the SDK's strict models) and the shared decoding of the funding
client (`exchange_clients.lighter.funding_adapter.funding_client.decode_response`): 429 -> LighterRateLimitedError
(+ Retry-After), 401/403 -> LighterAuthError, >= 500 / transport -> LighterUnavailableError, other 4xx or a body
`code` != 200 -> LighterRejectedError. Reads are idempotent: they run through `call_with_retry` (retries,
backoff, Retry-After honoured) behind the venue's shared limiter (`exchange_clients.base.rate_limit`): every
attempt takes a slot, and a 429 pauses every Lighter client of the same base URL for its Retry-After.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import lighter

from exchange_clients.base.errors import VenueUnavailableError
from exchange_clients.base.rate_limit import VenueRateLimiter
from exchange_clients.base.retry import call_with_retry
from exchange_clients.lighter.common import (
    VENUE,
    LighterError,
    LighterRateLimitedError,
    LighterUnavailableError,
)
from exchange_clients.lighter.funding_adapter.funding_client import decode_response
from perparb.settings import Settings

JsonObject = dict[str, Any]


class LighterRest:
    """Raw JSON reads. The `ApiClient` is created lazily inside the running loop; `close()` releases it.

    Args:
        settings: `lighter_url`, `http_timeout_seconds`, `http_retries`, `http_backoff_seconds`.
        limiter: the venue's shared limiter (`venue_limiter(VENUE, settings.lighter_url, ...)`), also taken by
            the order path so placements and reads share the budget.
    """

    def __init__(self, settings: Settings, limiter: VenueRateLimiter) -> None:
        self._settings = settings
        self.limiter = limiter
        self._api_client: lighter.ApiClient | None = None

    @property
    def api(self) -> lighter.ApiClient:
        if self._api_client is None:
            self._api_client = lighter.ApiClient(lighter.Configuration(host=self._settings.lighter_url))
        return self._api_client

    @property
    def timeout(self) -> float:
        return float(self._settings.http_timeout_seconds)

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
        except asyncio.TimeoutError as exc:
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
            LighterError subclasses (module docstring).
        """
        s = self._settings
        try:
            return await call_with_retry(
                lambda: self._attempt(what, list_key, send, market),
                venue=VENUE,
                what=what,
                retries=s.http_retries,
                backoff_seconds=s.http_backoff_seconds,
                timeout_seconds=s.http_timeout_seconds,
            )
        except VenueUnavailableError as exc:
            if isinstance(exc, LighterError):
                raise
            raise LighterUnavailableError(str(exc).removeprefix(f"{VENUE}: "), market) from exc

    async def close(self) -> None:
        client, self._api_client = self._api_client, None
        if client is not None:
            await client.close()
