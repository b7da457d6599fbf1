"""Thin HTTP layer of the Lighter funding adapter: raw JSON bodies through the official SDK.

Requests go through `lighter.ApiClient(lighter.Configuration(host=settings.lighter_url))` and the SDK's
`*_without_preload_content` methods, which return the raw `aiohttp.ClientResponse` instead of a pydantic
model. The body is read and decoded here and handed, as a plain dict, to the pure parsers in `fetchers.py`:
the SDK's strict models would fail the whole response over one bad row (e.g. `"rate": ""`), the parsers
reject only that row.

HTTP outcome -> error (PROTOCOL_NOTES §1.1; venue-data/lighter/rest_orderBookOrders_errors.json):

| outcome                                                 | raises                                     |
|---------------------------------------------------------|--------------------------------------------|
| 429                                                     | `LighterRateLimitedError` (+ Retry-After)  |
| 401, 403                                                | `LighterAuthError`                         |
| >= 500, timeout, aiohttp error, ApiException(status=0)  | `LighterUnavailableError` (retried)        |
| other >= 400 (Lighter: 400 `{"code":20001,...}`)        | `LighterRejectedError` (not retried)       |
| 2xx with body `code` other than 200                     | `LighterRejectedError`                     |
| 2xx, not JSON / not an object / top-level list missing  | `LighterDataError`                         |

Every request runs through `exchange_clients.base.retry.call_with_retry` with `settings.http_timeout_seconds`
(per attempt), `settings.http_retries` and `settings.http_backoff_seconds`. All I/O is async (the SDK's
ApiClient is aiohttp-based); nothing blocks the event loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
import lighter

from exchange_clients.base.errors import VenueUnavailableError
from exchange_clients.base.retry import call_with_retry, parse_retry_after
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
from perparb.settings import Settings

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
    return body


class LighterFundingClient:
    """Raw JSON reads of Lighter's public market and funding endpoints.

    The SDK `ApiClient` (an aiohttp session) is created lazily on the first request, inside the running
    event loop, and released by `close()`.

    Args:
        settings: `lighter_url` (REST base, e.g. "https://mainnet.zklighter.elliot.ai"),
            `http_timeout_seconds` (per attempt), `http_retries`, `http_backoff_seconds`.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._api_client: lighter.ApiClient | None = None

    def _api(self) -> lighter.ApiClient:
        if self._api_client is None:
            self._api_client = lighter.ApiClient(lighter.Configuration(host=self._settings.lighter_url))
        return self._api_client

    async def _attempt(
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
                status = response.status
                headers = response.headers
                raw = await response.read()
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

    async def _get(
        self,
        what: str,
        list_key: str,
        send: Callable[[], Awaitable[aiohttp.ClientResponse]],
        market: str | None = None,
    ) -> JsonObject:
        settings = self._settings
        try:
            return await call_with_retry(
                lambda: self._attempt(what, list_key, send, market),
                venue=VENUE,
                what=what,
                retries=settings.http_retries,
                backoff_seconds=settings.http_backoff_seconds,
                timeout_seconds=settings.http_timeout_seconds,
            )
        except VenueUnavailableError as exc:
            if isinstance(exc, LighterError):
                raise
            # call_with_retry reports its per-attempt timeout as the venue-neutral class: keep ours.
            raise LighterUnavailableError(str(exc).removeprefix(f"{VENUE}: "), market) from exc

    async def order_book_details(self) -> JsonObject:
        """`GET /api/v1/orderBookDetails` (all markets).

        Returns `{code, order_book_details:[PerpsOrderBookDetail], spot_order_book_details:[...]}`.

        Raises:
            LighterError subclasses, see the module table.
        """
        api = lighter.OrderApi(self._api())
        timeout = float(self._settings.http_timeout_seconds)
        return await self._get(
            "GET /api/v1/orderBookDetails",
            "order_book_details",
            lambda: api.order_book_details_without_preload_content(_request_timeout=timeout),
        )

    async def funding_rates(self) -> JsonObject:
        """`GET /api/v1/funding-rates` (current rates of Lighter and other venues).

        Returns `{code, funding_rates:[{market_id, exchange, symbol, rate}]}`, rate a fraction per 8 h.

        Raises:
            LighterError subclasses, see the module table.
        """
        api = lighter.FundingApi(self._api())
        timeout = float(self._settings.http_timeout_seconds)
        return await self._get(
            "GET /api/v1/funding-rates",
            "funding_rates",
            lambda: api.funding_rates_without_preload_content(_request_timeout=timeout),
        )

    async def fundings(
        self,
        market_id: int,
        start_timestamp: int,
        end_timestamp: int,
        count_back: int,
        *,
        resolution: str = "1h",
        market: str | None = None,
    ) -> JsonObject:
        """`GET /api/v1/fundings` (settled funding history of one market).

        Returns `{code, resolution, fundings:[{timestamp (s), value, rate (% per hour), direction}]}`.

        Args:
            market_id: Lighter market id; start_timestamp / end_timestamp: epoch SECONDS;
            count_back: number of rows wanted (the SDK documents at most 750 per call); resolution: "1h".
            market: the symbol, for error messages.

        Raises:
            LighterError subclasses, see the module table.
        """
        api = lighter.CandlestickApi(self._api())
        timeout = float(self._settings.http_timeout_seconds)
        what = (
            f"GET /api/v1/fundings?market_id={market_id}&resolution={resolution}"
            f"&start_timestamp={start_timestamp}&end_timestamp={end_timestamp}&count_back={count_back}"
        )
        return await self._get(
            what,
            "fundings",
            lambda: api.fundings_without_preload_content(
                market_id=market_id,
                resolution=resolution,
                start_timestamp=start_timestamp,
                end_timestamp=end_timestamp,
                count_back=count_back,
                _request_timeout=timeout,
            ),
            market,
        )

    async def close(self) -> None:
        """Close the SDK ApiClient (its aiohttp session). Idempotent."""
        client, self._api_client = self._api_client, None
        if client is not None:
            await client.close()
