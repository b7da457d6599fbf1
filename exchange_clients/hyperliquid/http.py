"""The one HTTP stack of Hyperliquid: `POST /info` and `POST /exchange` over aiohttp, behind the venue's limiter.

Why not the SDK's `Info` / `Exchange` / `API`: hyperliquid-python-sdk 0.24.0 is synchronous (`requests.Session`,
one per object) and its `Info()` constructor itself makes blocking requests (`spotMeta`, `meta`, and
`perpDexs` when dexes are given) and by default starts a `websocket-client` thread. Used from asyncio every call
would need a worker thread, and neither the session nor the 429 pause could be shared with the funding adapter
through the venue scope. Its error handling (`API._handle_exception`) also expects a `{"code","msg"}` 4xx body
that Hyperliquid does not send (it answers plain text, e.g. 422 "Failed to deserialize the JSON body into the
target type"), raising `KeyError` instead of a typed error, and it hides Retry-After. So reads and actions go
through this module (the request bodies are the ones the SDK sends); the SDK is used for what it does in pure
Python and does well: signing (`client/utils/signing.py`).

One aiohttp session per event loop is shared through the `VenueScope` (the scope of "hyperliquid" for every dex:
the weight budget is per IP). Every attempt first takes its WEIGHT from the limiter (`info_weight`,
`exchange_weight`; docs rate-limits-and-user-limits.md) and endpoints that weigh 1 more per 20 items returned
charge it after the answer (`limiter.charge`).

HTTP outcome -> error (`decode_response`):

| outcome                                                     | raises                                   |
|-------------------------------------------------------------|------------------------------------------|
| 429                                                         | `HyperliquidRateLimitedError` (+ Retry-After); every caller paused |
| 401, 403                                                    | `HyperliquidAuthError`                   |
| >= 500, timeout, aiohttp error                              | `HyperliquidUnavailableError` (reads retried) |
| other >= 400 (422 "Failed to deserialize ...")              | `HyperliquidRejectedError`               |
| 2xx body not JSON                                           | `HyperliquidDataError`                   |
| `/exchange` 200 `{"status":"err","response":"... does not exist."}` | `HyperliquidAuthError` (unknown signer: wrong or unapproved agent) |
| `/exchange` 200 `{"status":"err","response":"<text>"}` (other) | `HyperliquidRejectedError` (rate-limit texts: `HyperliquidRateLimitedError`) |
| `/exchange` 200 without `status` "ok" / "err"               | `HyperliquidDataError`                   |

Reads (`info`) are idempotent and go through `call_with_retry` (`config.http`). Actions (`exchange`) are never
retried here: a placement whose outcome is unknown is reconciled by its client order id (cloid) by the order
manager. Nothing secret passes through this module except signatures (public by nature); request bodies are not
logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any

import aiohttp

from exchange_clients.base.rate_limit import ORDER
from exchange_clients.base.retry import call_with_retry, parse_retry_after
from exchange_clients.base.scope import VenueScope
from exchange_clients.hyperliquid.common import (
    HyperliquidAuthError,
    HyperliquidDataError,
    HyperliquidError,
    HyperliquidRateLimitedError,
    HyperliquidRejectedError,
    HyperliquidUnavailableError,
)
from exchange_clients.hyperliquid.config import HyperliquidConfig
from perparb_core.errors import VenueUnavailableError

log = logging.getLogger("perparb.hyperliquid.http")

#: `info` request types of weight 2 (docs rate-limits-and-user-limits.md).
LIGHT_INFO = frozenset(
    {"l2Book", "allMids", "clearinghouseState", "orderStatus", "spotClearinghouseState", "exchangeStatus"}
)
#: `info` request types that weigh 1 more per 20 items returned (same page).
PER_20_ITEMS = frozenset(
    {
        "recentTrades",
        "historicalOrders",
        "userFills",
        "userFillsByTime",
        "fundingHistory",
        "userFunding",
        "nonUserFundingUpdates",
        "twapHistory",
        "userTwapSliceFills",
        "userTwapSliceFillsByTime",
        "delegatorHistory",
        "delegatorRewards",
        "validatorStats",
    }
)
_SESSION = "hyperliquid.aiohttp"


def info_weight(request_type: str) -> int:
    """Weight of an `info` request before its answer: 2 (LIGHT_INFO), 60 (userRole) or 20 (every other)."""
    if request_type in LIGHT_INFO:
        return 2
    if request_type == "userRole":
        return 60
    return 20


def extra_weight(request_type: str, body: Any) -> int:
    """Weight an answer adds: 1 per 20 items of a PER_20_ITEMS list, 1 per 60 candles of `candleSnapshot`."""
    if not isinstance(body, list):
        return 0
    if request_type in PER_20_ITEMS:
        return len(body) // 20
    if request_type == "candleSnapshot":
        return len(body) // 60
    return 0


def exchange_weight(batch_length: int) -> int:
    """Weight of an `exchange` action: 1 + floor(batch_length / 40) (unbatched = 1, 79 orders = 2)."""
    return 1 + max(batch_length, 0) // 40


def _snippet(raw: bytes) -> str:
    return " ".join(raw[:200].decode("utf-8", errors="replace").split()) or "(empty body)"


def decode_response(
    what: str,
    status: int,
    headers: Mapping[str, str],
    raw: bytes,
    *,
    venue: str,
    market: str | None = None,
) -> Any:
    """Map one HTTP response of Hyperliquid to its decoded JSON body or the matching error (module table,
    HTTP part; `exchange_response` adds the `/exchange` body rules).

    Raises:
        HyperliquidRateLimitedError, HyperliquidAuthError, HyperliquidUnavailableError,
        HyperliquidRejectedError, HyperliquidDataError.
    """
    if status == 429:
        retry_after = parse_retry_after(headers.get("Retry-After"))
        shown = "absent" if retry_after is None else f"{retry_after:g} s"
        raise HyperliquidRateLimitedError(
            f"{what}: HTTP 429 rate limited (Retry-After {shown})",
            market,
            venue=venue,
            retry_after_seconds=retry_after,
        )
    if status >= 500:
        raise HyperliquidUnavailableError(f"{what}: HTTP {status}: {_snippet(raw)}", market, venue=venue)
    if status in (401, 403):
        raise HyperliquidAuthError(f"{what}: HTTP {status}: {_snippet(raw)}", market, venue=venue)
    if status >= 400:
        raise HyperliquidRejectedError(f"{what}: HTTP {status}: {_snippet(raw)}", market, venue=venue)
    if not 200 <= status < 300:
        raise HyperliquidDataError(f"{what}: unexpected HTTP status {status}", market, venue=venue)
    try:
        return json.loads(raw)
    except ValueError:
        raise HyperliquidDataError(
            f"{what}: body is not JSON: {_snippet(raw)!r}", market, venue=venue
        ) from None


def exchange_response(what: str, body: Any, *, venue: str, market: str | None = None) -> Any:
    """The `response` of an `/exchange` answer `{"status":"ok","response":...}`.

    Raises:
        HyperliquidAuthError: `{"status":"err"}` naming an unknown user or API wallet ("... does not exist.",
            venue-data/hyperliquid/rest_exchange_err_wallet_does_not_exist.json).
        HyperliquidRateLimitedError: `{"status":"err"}` whose text says the address is rate limited.
        HyperliquidRejectedError: any other `{"status":"err","response":"<text>"}`
            (rest_exchange_err_scheduleCancel.json).
        HyperliquidDataError: a body without `status` "ok" or "err".
    """
    if not isinstance(body, dict):
        raise HyperliquidDataError(
            f"{what}: body is {type(body).__name__}, expected an object", market, venue=venue
        )
    status = body.get("status")
    if status == "ok":
        return body.get("response")
    if status == "err":
        text = " ".join(str(body.get("response", "")).split())[:300]
        lowered = text.lower()
        if "does not exist" in lowered:
            raise HyperliquidAuthError(f"{what}: {text}", market, venue=venue)
        if "rate limit" in lowered or "too many" in lowered:
            raise HyperliquidRateLimitedError(f"{what}: {text}", market, venue=venue)
        raise HyperliquidRejectedError(f"{what}: {text}", market, venue=venue)
    raise HyperliquidDataError(f"{what}: status {status!r}, expected 'ok' or 'err'", market, venue=venue)


async def _close_session(session: aiohttp.ClientSession) -> None:
    await session.close()


class HyperliquidHttp:
    """`POST /info` and `POST /exchange` through the venue scope's shared session and weight budget.

    Args:
        config: `rest_url`, `http` (timeout per attempt, retries, backoff), `venue` (named in errors).
        scope: the scope of "hyperliquid" (`venue_scope(config)`), shared by every dex and by the trading clients.

    The session is taken from the scope lazily, inside the running loop; `close()` gives it back.
    """

    def __init__(self, config: HyperliquidConfig, scope: VenueScope) -> None:
        self.config = config
        self.scope = scope
        self.limiter = scope.limiter
        self.venue = config.venue
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The shared aiohttp session of this loop. Call inside a running loop."""
        if self._session is None:
            self._session = self.scope.acquire(_SESSION, aiohttp.ClientSession, _close_session)
        return self._session

    async def _post(self, path: str, body: Mapping[str, Any], what: str, market: str | None) -> Any:
        """One HTTP attempt, decoded (transport failures -> Unavailable)."""
        timeout = aiohttp.ClientTimeout(total=self.config.http.timeout_seconds)
        try:
            async with self.session.post(
                self.config.rest_url + path, json=dict(body), timeout=timeout
            ) as resp:
                status, headers, raw = resp.status, resp.headers, await resp.read()
        except asyncio.TimeoutError as exc:
            raise HyperliquidUnavailableError(
                f"{what}: timed out ({type(exc).__name__})", market, venue=self.venue
            ) from exc
        except aiohttp.ClientError as exc:
            raise HyperliquidUnavailableError(
                f"{what}: {type(exc).__name__}: {exc}", market, venue=self.venue
            ) from exc
        try:
            return decode_response(what, status, headers, raw, venue=self.venue, market=market)
        except HyperliquidRateLimitedError as exc:
            self.limiter.penalise(exc.retry_after_seconds)
            raise

    async def info(self, body: Mapping[str, Any], *, market: str | None = None) -> Any:
        """One idempotent `POST /info` read with retries; returns the decoded JSON (list, object or null).

        Args:
            body: the request (`{"type": ..., ...}`; the caller adds `dex` where it applies).
            market: the coin concerned, for error messages.

        Raises:
            HyperliquidError subclasses (module table).
        """
        request_type = str(body.get("type", ""))
        what = f"POST /info {request_type}" + (f" {market}" if market else "")
        http = self.config.http

        async def attempt() -> Any:
            await self.limiter.acquire(info_weight(request_type))
            answer = await self._post("/info", body, what, market)
            self.limiter.charge(extra_weight(request_type, answer))
            return answer

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
            if isinstance(exc, HyperliquidError):
                raise
            # call_with_retry reports its per-attempt timeout with the venue-neutral class: keep ours.
            raise HyperliquidUnavailableError(
                str(exc).removeprefix(f"{self.venue}: "), market, venue=self.venue
            ) from exc

    async def exchange(
        self,
        payload: Mapping[str, Any],
        *,
        what: str,
        market: str | None = None,
        batch_length: int = 1,
        slot_taken: bool = False,
    ) -> Any:
        """One `POST /exchange` (a signed action), NOT retried; returns the `response` of a `status` "ok" body.

        Args:
            payload: `{"action", "nonce", "signature", "vaultAddress", "expiresAfter"}` (SDK
                `Exchange._post_action`).
            what: the action, for messages ("order 1741... buy 0.01 BTC @ 65000").
            batch_length: orders or cancels in the action (weight 1 + floor(n / 40)).
            slot_taken: the caller already took the weight (`prepare_market_order`).

        Raises:
            HyperliquidError subclasses (module table); `HyperliquidUnavailableError` means the outcome is
            UNKNOWN (the action may have been applied).
        """
        if not slot_taken:
            await self.limiter.acquire(exchange_weight(batch_length), priority=ORDER)
        timeout = self.config.http.timeout_seconds
        try:
            body = await asyncio.wait_for(
                self._post("/exchange", payload, f"POST /exchange {what}", market), timeout
            )
        except asyncio.TimeoutError:
            raise HyperliquidUnavailableError(
                f"POST /exchange {what}: timed out after {timeout:g} s (outcome unknown)",
                market,
                venue=self.venue,
            ) from None
        return exchange_response(f"POST /exchange {what}", body, venue=self.venue, market=market)

    async def close(self) -> None:
        """Give the shared session back to the scope. Idempotent."""
        if self._session is not None:
            self._session = None
            await self.scope.release(_SESSION)
