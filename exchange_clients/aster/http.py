"""The one HTTP stack of Aster: public and signed REST requests over aiohttp, behind the venue's weight limiter.

Why not a library: Aster ships no official PyPI SDK, and ccxt does not fit (checked with ccxt 4.5.90, the current
release): (1) it pins `urllib3==2.8.0` while lighter-sdk 1.1.8 requires `urllib3<2.1`, so pip cannot install it
beside the Lighter SDK (`pip install --dry-run ccxt==4.5.90` in this environment would replace urllib3 2.0.7 by
2.8.0); (2) since 4.5.52 its Aster class signs V3 only (the wallet key), dropping the V1 API keys existing
accounts hold; (3) its `sign_in` approves ccxt's own builder fee on the user's account by default (a fee side
effect on a trader's account); (4) its throttle and session cannot be shared with the funding adapter through the
`VenueScope`. The protocol is Binance's (url-encoded parameters, `{"code","msg"}` errors), so a small client is
simpler and fully typed; signing lives in `client/utils/signing.py`.

One aiohttp session per event loop is shared through the venue scope. Every attempt first takes its documented
WEIGHT from the limiter (`weight_of`; asterdex/api-docs@265e024 V3 endpoint "Weight" lines); a 429/418 penalises
the limiter so every caller pauses.

HTTP outcome -> error (`decode_response`; codes from the V3 docs "Error Codes"):

| outcome                                                                 | raises                         |
|-------------------------------------------------------------------------|--------------------------------|
| 429, 418, or code -1003 / -1015                                         | `AsterRateLimitedError` (+ Retry-After); every caller paused |
| 401, 403, or code -1002, -1021, -1022, -2014, -2015, -4225              | `AsterAuthError`               |
| >= 500, timeout, aiohttp error, or code -1000, -1001, -1006, -1007, -1016 | `AsterUnavailableError` (reads retried; a write's outcome is UNKNOWN) |
| other 4xx `{"code","msg"}` (-1121 Invalid symbol, -2019, -4164, -2013, ...) | `AsterRejectedError` (`code` kept) |
| 2xx body not JSON                                                       | `AsterDataError`               |
| 2xx `{"code": <negative>, "msg"}` (the code an integer or text, "-2011")   | as its code above              |

Reads (GET) are idempotent and go through `call_with_retry` (`config.http`), re-signed on each attempt (fresh
timestamp / nonce). Writes are never retried here: a placement whose outcome is unknown is reconciled by its
client order id by the order manager. Request parameters and signatures are never logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from exchange_clients.aster.client.utils.signing import Signed, Signer, encode
from exchange_clients.aster.common import (
    AsterAuthError,
    AsterDataError,
    AsterError,
    AsterRateLimitedError,
    AsterRejectedError,
    AsterUnavailableError,
)
from exchange_clients.aster.config import AsterConfig
from exchange_clients.base.rate_limit import ORDER
from exchange_clients.base.retry import call_with_retry, parse_retry_after
from exchange_clients.base.scope import VenueScope
from perparb_core.errors import VenueUnavailableError

log = logging.getLogger("perparb.aster.http")

AUTH_CODES = frozenset({-1002, -1021, -1022, -2014, -2015, -4225})
RATE_CODES = frozenset({-1003, -1015})
UNAVAILABLE_CODES = frozenset({-1000, -1001, -1006, -1007, -1016})
_SESSION = "aster.aiohttp"

#: Request weights (V3 docs "Weight"; the V1 endpoints weigh the same). Keys: endpoint name after /fapi/vN/.
WEIGHTS: dict[str, int] = {
    "exchangeInfo": 1,
    "fundingInfo": 1,
    "fundingRate": 1,
    "premiumIndex": 1,
    "time": 1,
    "order": 1,
    "allOpenOrders": 1,
    "leverage": 1,
    "listenKey": 1,
    "balance": 5,
    "account": 5,
    "positionRisk": 5,
    "userTrades": 5,
    "allOrders": 5,
    "income": 30,
    "commissionRate": 20,
}


def depth_weight(limit: int) -> int:
    """`depth` weight by `limit`: 5/10/20/50 -> 2, 100 -> 5, 500 -> 10, 1000 -> 20."""
    return 2 if limit <= 50 else 5 if limit <= 100 else 10 if limit <= 500 else 20


def weight_of(endpoint: str, params: Mapping[str, str] | Sequence[tuple[str, str]] = ()) -> int:
    """The documented weight of `endpoint` (the name after `/fapi/vN/`) with these parameters: `ticker/24hr` and
    `openOrders` weigh 1 for one symbol and 40 for all; `depth` by its limit; unknown endpoints 1."""
    names = dict(params)
    if endpoint in ("ticker/24hr", "openOrders"):
        return 1 if "symbol" in names else 40
    if endpoint == "depth":
        return depth_weight(int(names.get("limit", "500")))
    return WEIGHTS.get(endpoint, 1)


def _snippet(raw: bytes) -> str:
    return " ".join(raw[:200].decode("utf-8", errors="replace").split()) or "(empty body)"


def code_of(body: Any) -> int | None:
    """The `code` of an Aster answer object as an int (JSON integer, or text: the recorded cancel-all success and
    batch errors send "200" / "-2011"), None when absent or not a number."""
    code = body.get("code") if isinstance(body, dict) else None
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        return code
    if isinstance(code, str) and code.strip().lstrip("-").isdigit():
        return int(code.strip())
    return None


def error_for_code(code: int, text: str, market: str | None, retry_after: float | None = None) -> AsterError:
    """The error class of an Aster error code (module table)."""
    if code in RATE_CODES:
        return AsterRateLimitedError(text, market, code=code, retry_after_seconds=retry_after)
    if code in AUTH_CODES:
        return AsterAuthError(text, market, code=code)
    if code in UNAVAILABLE_CODES:
        return AsterUnavailableError(text, market, code=code)
    return AsterRejectedError(text, market, code=code)


def decode_response(
    what: str, status: int, headers: Mapping[str, str], raw: bytes, *, market: str | None = None
) -> Any:
    """Map one HTTP response of Aster to its decoded JSON body or the matching error (module table).

    Raises:
        AsterRateLimitedError, AsterAuthError, AsterUnavailableError, AsterRejectedError, AsterDataError.
    """
    body: Any = None
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    code = code_of(body)
    msg = " ".join(str(body.get("msg", "")).split())[:300] if isinstance(body, dict) else _snippet(raw)
    if status in (429, 418):
        retry_after = parse_retry_after(headers.get("Retry-After"))
        shown = "absent" if retry_after is None else f"{retry_after:g} s"
        raise AsterRateLimitedError(
            f"{what}: HTTP {status} rate limited (Retry-After {shown}): {msg}",
            market,
            code=code,
            retry_after_seconds=retry_after,
        )
    if status >= 500:
        raise AsterUnavailableError(f"{what}: HTTP {status}: {msg}", market)
    if code is not None and code < 0:
        raise error_for_code(code, f"{what}: HTTP {status} code {code}: {msg}", market)
    if status in (401, 403):
        raise AsterAuthError(f"{what}: HTTP {status}: {msg}", market)
    if status >= 400:
        raise AsterRejectedError(f"{what}: HTTP {status}: {msg}", market)
    if not 200 <= status < 300:
        raise AsterDataError(f"{what}: unexpected HTTP status {status}", market)
    if body is None and raw.strip() not in (b"null",):
        raise AsterDataError(f"{what}: body is not JSON: {_snippet(raw)!r}", market)
    return body


async def _close_session(session: aiohttp.ClientSession) -> None:
    await session.close()


@dataclass(frozen=True, slots=True)
class Prepared:
    """A signed request ready to send (`AsterHttp.prepare`): method, path, the signed payload and its headers,
    its weight (already taken from the limiter when `slot_taken`)."""

    method: str
    path: str
    signed: Signed
    weight: int
    what: str
    market: str | None
    slot_taken: bool = False


class AsterHttp:
    """Public and signed REST requests through the venue scope's shared session and weight budget.

    Args:
        config: `rest_url`, `http` (timeout per attempt, retries, backoff).
        scope: the scope of "aster" (`venue_scope(config)`), shared with the trading clients.
        signer: the account's signer (None for a funding adapter: public endpoints only).
    """

    def __init__(self, config: AsterConfig, scope: VenueScope, signer: Signer | None = None) -> None:
        self.config = config
        self.scope = scope
        self.limiter = scope.limiter
        self.signer = signer
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The shared aiohttp session of this loop. Call inside a running loop."""
        if self._session is None:
            self._session = self.scope.acquire(_SESSION, aiohttp.ClientSession, _close_session)
        return self._session

    def private_path(self, endpoint: str) -> str:
        """`/fapi/<v>/<endpoint>` of the signer's scheme: V3 everything under /fapi/v3; V1 under /fapi/v1 except
        `balance` and `positionRisk` (/fapi/v2, the V1 docs' current versions).

        Raises:
            AsterAuthError: no signer (a public-data client)."""
        if self.signer is None:
            raise AsterAuthError(f"{endpoint}: a signed endpoint needs credentials")
        if self.signer.path_version == "v1" and endpoint in ("balance", "positionRisk"):
            return f"/fapi/v2/{endpoint}"
        return f"/fapi/{self.signer.path_version}/{endpoint}"

    async def _send(
        self, method: str, path: str, payload: str, headers: Mapping[str, str], what: str, market: str | None
    ) -> Any:
        """One HTTP attempt, decoded (transport failures -> Unavailable)."""
        timeout = aiohttp.ClientTimeout(total=self.config.http.timeout_seconds)
        url = self.config.rest_url + path
        kwargs: dict[str, Any] = {"timeout": timeout, "headers": dict(headers)}
        if method == "GET":
            if payload:
                url += "?" + payload
        elif payload:
            kwargs["data"] = payload.encode()
            kwargs["headers"]["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            async with self.session.request(method, url, **kwargs) as resp:
                status, resp_headers, raw = resp.status, resp.headers, await resp.read()
        except asyncio.TimeoutError as exc:
            raise AsterUnavailableError(f"{what}: timed out ({type(exc).__name__})", market) from exc
        except aiohttp.ClientError as exc:
            raise AsterUnavailableError(f"{what}: {type(exc).__name__}: {exc}", market) from exc
        try:
            return decode_response(what, status, resp_headers, raw, market=market)
        except AsterRateLimitedError as exc:
            self.limiter.penalise(exc.retry_after_seconds)
            raise

    async def _retrying(self, what: str, market: str | None, attempt: Any) -> Any:
        http = self.config.http
        try:
            return await call_with_retry(
                attempt,
                venue=self.config.venue,
                what=what,
                retries=http.retries,
                backoff_seconds=http.backoff_seconds,
                timeout_seconds=http.timeout_seconds,
            )
        except VenueUnavailableError as exc:
            if isinstance(exc, AsterError):
                raise
            raise AsterUnavailableError(str(exc).removeprefix(f"{self.config.venue}: "), market) from exc

    async def public(
        self, endpoint: str, params: Sequence[tuple[str, str]] = (), *, market: str | None = None
    ) -> Any:
        """One idempotent public `GET /fapi/v1/<endpoint>` with retries; the decoded JSON.

        Raises:
            AsterError subclasses (module table)."""
        path = f"/fapi/v1/{endpoint}"
        what = f"GET {path}" + (f" {market}" if market else "")
        query = encode(params)
        weight = weight_of(endpoint, params)

        async def attempt() -> Any:
            await self.limiter.acquire(weight)
            return await self._send("GET", path, query, {}, what, market)

        return await self._retrying(what, market, attempt)

    async def signed_read(
        self, endpoint: str, params: Sequence[tuple[str, str]] = (), *, market: str | None = None
    ) -> Any:
        """One idempotent signed `GET` of a private endpoint with retries (re-signed per attempt).

        Raises:
            AsterError subclasses (module table)."""
        path = self.private_path(endpoint)
        what = f"GET {path}" + (f" {market}" if market else "")
        weight = weight_of(endpoint, params)
        signer = self.signer
        assert signer is not None  # private_path checked

        async def attempt() -> Any:
            await self.limiter.acquire(weight)
            signed = await self._sign(signer, params)
            return await self._send("GET", path, signed.payload, signed.headers, what, market)

        return await self._retrying(what, market, attempt)

    async def _sign(self, signer: Signer, params: Sequence[tuple[str, str]]) -> Signed:
        if signer.scheme == "v3":
            return await asyncio.to_thread(signer.sign, params)
        return signer.sign(params)

    async def prepare(
        self,
        method: str,
        endpoint: str,
        params: Sequence[tuple[str, str]],
        *,
        what: str,
        market: str | None = None,
        take_slot: bool = False,
    ) -> Prepared:
        """Sign a write now (worker thread for V3); with `take_slot` also take its weight from the limiter, so
        `send` only sends (two-phase market orders).

        Raises:
            AsterAuthError: no signer."""
        path = self.private_path(endpoint)
        assert self.signer is not None
        signed = await self._sign(self.signer, params)
        weight = weight_of(endpoint, params)
        if take_slot:
            await self.limiter.acquire(weight, priority=ORDER)
        return Prepared(method, path, signed, weight, f"{method} {path} {what}", market, take_slot)

    async def send(self, prepared: Prepared) -> Any:
        """Send a prepared write ONCE (never retried); the decoded JSON.

        Raises:
            AsterError subclasses; `AsterUnavailableError` means the outcome is UNKNOWN (it may have been
            applied)."""
        if not prepared.slot_taken:
            await self.limiter.acquire(prepared.weight, priority=ORDER)
        timeout = self.config.http.timeout_seconds
        try:
            return await asyncio.wait_for(
                self._send(
                    prepared.method,
                    prepared.path,
                    prepared.signed.payload,
                    prepared.signed.headers,
                    prepared.what,
                    prepared.market,
                ),
                timeout,
            )
        except asyncio.TimeoutError:
            raise AsterUnavailableError(
                f"{prepared.what}: timed out after {timeout:g} s (outcome unknown)", prepared.market
            ) from None

    async def write(
        self,
        method: str,
        endpoint: str,
        params: Sequence[tuple[str, str]],
        *,
        what: str,
        market: str | None = None,
    ) -> Any:
        """`prepare` + `send` of a signed write (POST / PUT / DELETE), not retried.

        Raises:
            AsterError subclasses."""
        return await self.send(await self.prepare(method, endpoint, params, what=what, market=market))

    async def listen_key(self, method: str) -> Any:
        """`POST` (start / get), `PUT` (keepalive) or `DELETE` the user-data stream's listenKey: V1 with the API key
        header only, V3 signed. Not retried here (POST answers the same key again, so callers may retry).

        Raises:
            AsterError subclasses."""
        assert self.signer is not None
        path = self.private_path("listenKey")
        what = f"{method} {path}"
        await self.limiter.acquire(1)
        if self.signer.scheme == "v1":
            return await self._send(method, path, "", self.signer.api_key_headers(), what, None)
        signed = await self._sign(self.signer, ())
        return await self._send(method, path, signed.payload, signed.headers, what, None)

    async def close(self) -> None:
        """Give the shared session back to the scope. Idempotent."""
        if self._session is not None:
            self._session = None
            await self.scope.release(_SESSION)
