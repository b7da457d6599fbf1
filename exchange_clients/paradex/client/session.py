"""The authenticated paradex-py session of one account: construction, JWT refresh, typed errors, threading.

* L1-key account: `paradex_py.Paradex(env, l1_address, l1_private_key, api_base_url=config.rest_url,
  retry_strategy=None, auto_start_ws_reader=False)`: GET /system/config, POST /auth (onboarding first when
  Paradex answers NOT_ONBOARDED). Subkey: `ParadexSubkey(env, l2_private_key, l2_address=<main account>,
  ws_enabled=False, http_client=...)`, whose httpx client uses `ParadexBaseUrlTransport` to reach
  `config.rest_url` (exchange_clients/paradex/auth.py; PROTOCOL_NOTES §2.3). The SDK's own WebSocket is
  never opened.
* JWT refresh is the SDK's: before every private call `ParadexApiClient._validate_auth` re-authenticates when
  `time.time()` is within 30 s of the token's `exp` (Paradex JWTs live ~5 min; the simulator issues them on the
  wall clock). If a token is refused anyway (HTTP 401: clock skew, a server restart), `call` authenticates again
  once and repeats the request.
* Errors: after construction an httpx response hook raises this project's typed errors before paradex-py sees
  the response (`raise_for_paradex_status`: 429 -> ParadexRateLimitedError with Retry-After, >= 500 ->
  ParadexUnavailableError, 401/403 -> ParadexAuthError, other >= 300 -> `ParadexRequestRejectedError` carrying
  Paradex's `error` code, e.g. ORDER_ID_NOT_FOUND). Transport errors and timeouts -> ParadexUnavailableError.
* Rate limit: every call (and the authentication at `open`) first takes a slot of the venue's shared limiter
  (the venue scope's, `exchange_clients.base.scope`, shared with the funding adapter); a 429 pauses every Paradex client of
  that URL for its Retry-After (`penalise`) before `read`'s retry.
* Every SDK call blocks (httpx, Stark signing), so it runs in `asyncio.to_thread`, one at a time per session (a
  lock: the SDK keeps per-signature header state and swaps the Authorization header when it refreshes).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import httpx
from paradex_py import Paradex, ParadexSubkey

from exchange_clients.base.rate_limit import ORDER, READ, Priority
from exchange_clients.base.retry import call_with_retry
from exchange_clients.base.scope import VenueScope, venue_scope
from exchange_clients.paradex.auth import ParadexBaseUrlTransport, env_for_url, sdk_base_url
from exchange_clients.paradex.common import (
    VENUE,
    ParadexAuthError,
    ParadexDataError,
    ParadexError,
    ParadexRateLimitedError,
    ParadexRejectedError,
    ParadexUnavailableError,
)
from exchange_clients.paradex.credentials import ParadexCredentials
from exchange_clients.paradex.funding_adapter.funding_client import raise_for_paradex_status
from exchange_clients.paradex.l1_account import paradex_for_l1
from perparb_core.settings import VenueConfig

if TYPE_CHECKING:
    from paradex_py.api.api_client import ParadexApiClient

log = logging.getLogger("perparb.paradex.client")

T = TypeVar("T")


class ParadexRequestRejectedError(ParadexRejectedError):
    """Paradex refused a request (HTTP 4xx other than 401/403/429). `code` is Paradex's `error` field
    ("ORDER_ID_NOT_FOUND", "DUPLICATED_CLIENT_ID", "VALIDATION_ERROR", ...; OpenAPI `responses.ErrorCode`), ""
    when the body had none."""

    def __init__(self, message: str, market: str | None = None, *, code: str = "") -> None:
        super().__init__(message, market)
        self.code = code


def raise_for_status_with_code(response: httpx.Response) -> None:
    """httpx response hook: `raise_for_paradex_status`, with 4xx refusals raised as
    `ParadexRequestRejectedError` carrying the error code."""
    if response.status_code < 300:
        return
    try:
        raise_for_paradex_status(response)
    except ParadexRequestRejectedError:
        raise
    except ParadexRejectedError as exc:
        code = ""
        try:
            body = json.loads(response.text)
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            code = body["error"]
        raise ParadexRequestRejectedError(str(exc).split(": ", 1)[-1], exc.market, code=code) from None


class ParadexSession:
    """One account's paradex-py client.

    Args:
        credentials: L1-key account or subkey (`credentials.is_subkey`).
        config: `rest_url` (REST base ending in /v1) and `http` (timeout per request, retries, backoff).
        scope: the venue scope (default `venue_scope(config)`): its limiter is the venue-wide REST budget, shared
            by every Paradex session and the funding adapter of this URL in the process (the first one sets it
            from `config.rate_limit`).
    """

    def __init__(
        self,
        credentials: ParadexCredentials,
        config: VenueConfig,
        scope: VenueScope | None = None,
    ) -> None:
        self.credentials = credentials
        self.config = config
        self.base_url = config.rest_url
        self.limiter = (scope or venue_scope(config)).limiter
        self._sdk: Paradex | ParadexSubkey | None = None
        self._http: httpx.Client | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------------------------ lifecycle

    @property
    def api(self) -> ParadexApiClient:
        """The SDK's REST client. Raises ParadexError before `open()`."""
        if self._sdk is None:
            raise ParadexError("session is not open (call connect first)")
        return self._sdk.api_client

    @property
    def lock(self) -> threading.Lock:
        """The lock every blocking SDK call holds (the SDK's account state is not thread-safe)."""
        return self._lock

    @property
    def account_address(self) -> str:
        """The L2 account address (hex) the JWT authenticates."""
        if self._sdk is None or self._sdk.account is None:
            raise ParadexError("session is not open (call connect first)")
        if self.credentials.is_subkey:
            assert self.credentials.l2_address is not None
            return self.credentials.l2_address
        return hex(self._sdk.account.l2_address)

    @property
    def jwt(self) -> str:
        """The current JWT (for the account WebSocket `auth`); never logged."""
        account = self._sdk.account if self._sdk is not None else None
        token = getattr(account, "jwt_token", None)
        if not token:
            raise ParadexAuthError("no JWT (session not open)")
        return str(token)

    def _build(self) -> None:
        creds, http_config = self.credentials, self.config.http
        env = env_for_url(self.base_url)
        errors: list[tuple[int, str]] = []

        def record(response: httpx.Response) -> None:
            if response.status_code >= 300:
                response.read()
                errors.append((response.status_code, " ".join(response.text.split())[:200]))

        transport: httpx.BaseTransport | None = None
        if creds.is_subkey and self.base_url != sdk_base_url(env):
            transport = ParadexBaseUrlTransport(sdk_base_url(env), self.base_url)
        http = httpx.Client(
            timeout=http_config.timeout_seconds, transport=transport, event_hooks={"response": [record]}
        )
        try:
            if creds.is_subkey:
                assert creds.l2_private_key is not None and creds.l2_address is not None
                sdk: Paradex | ParadexSubkey = ParadexSubkey(
                    env=env,
                    l2_private_key=creds.l2_private_key.get_secret_value(),
                    l2_address=creds.l2_address,
                    ws_enabled=False,
                    http_client=http,  # type: ignore[arg-type]  # unwrapped as a bare httpx.Client
                )
            else:
                assert creds.l1_address is not None and creds.l1_private_key is not None
                sdk = paradex_for_l1(
                    env=env,
                    l1_address=creds.l1_address,
                    l1_private_key=creds.l1_private_key.get_secret_value(),
                    api_base_url=self.base_url,
                    http_client=http,
                    retry_strategy=None,
                    auto_start_ws_reader=False,
                )
        except httpx.TransportError as exc:
            http.close()
            raise ParadexUnavailableError(f"cannot reach {self.base_url}: {type(exc).__name__}") from exc
        except Exception as exc:  # SDK: ValueError(<ApiError>), marshmallow errors, ...
            http.close()
            status, body = errors[-1] if errors else (0, "")
            if status >= 500:
                raise ParadexUnavailableError(f"{self.base_url} answered HTTP {status}: {body}") from exc
            detail = f"HTTP {status}: {body}" if status else f"{type(exc).__name__}"
            raise ParadexAuthError(f"authentication failed: {detail}") from exc
        if sdk.account is None or not getattr(sdk.account, "jwt_token", None):
            http.close()
            raise ParadexAuthError("authentication gave no JWT")
        http.event_hooks = {"response": [raise_for_status_with_code]}
        self._sdk, self._http = sdk, http

    async def open(self) -> None:
        """Authenticate (onboarding an L1-key account when needed). Idempotent.

        Raises:
            ParadexUnavailableError: venue unreachable or 5xx. ParadexAuthError: refused credentials.
        """
        if self._sdk is None:
            await self.limiter.acquire()
            try:
                await asyncio.to_thread(self._build)
            except ParadexRateLimitedError as exc:
                self.limiter.penalise(exc.retry_after_seconds)
                raise

    async def close(self) -> None:
        """Close the HTTP client. Idempotent."""
        http, self._http, self._sdk = self._http, None, None
        if http is not None:
            await asyncio.to_thread(http.close)

    # ------------------------------------------------------------------------------------------ calls

    def _blocking(self, what: str, fn: Callable[[ParadexApiClient], T], market: str | None) -> T:
        with self._lock:
            api = self.api
            try:
                try:
                    return fn(api)
                except ParadexAuthError:
                    log.info("paradex %s: token refused, authenticating again", what)
                    api.auth(params=api.auth_params)
                    return fn(api)
            except ParadexError:
                raise
            except httpx.TimeoutException as exc:
                raise ParadexUnavailableError(f"{what}: timed out ({type(exc).__name__})", market) from exc
            except httpx.TransportError as exc:
                raise ParadexUnavailableError(f"{what}: {type(exc).__name__}", market) from exc
            except ValueError as exc:  # paradex-py's own error for anything the hook let through
                raise ParadexDataError(f"{what}: {exc}", market) from exc

    async def call(
        self,
        what: str,
        fn: Callable[[ParadexApiClient], T],
        market: str | None = None,
        *,
        priority: Priority = ORDER,
    ) -> T:
        """Run `fn(api)` once in a worker thread (for non-idempotent calls: placement, cancel). `priority`: the
        rate-limit class (`exchange_clients.base.rate_limit`; ORDER here, READ through `read`).

        Raises:
            ParadexError subclasses (module docstring).
        """
        await self.limiter.acquire(priority=priority)
        try:
            return await asyncio.to_thread(self._blocking, what, fn, market)
        except ParadexRateLimitedError as exc:
            self.limiter.penalise(exc.retry_after_seconds)
            raise

    async def read(self, what: str, fn: Callable[[ParadexApiClient], T], market: str | None = None) -> T:
        """`call` for an idempotent read, retried on retryable errors (`config.http.retries`, backoff,
        Retry-After honoured) with a per-attempt timeout of twice `http_timeout_seconds`."""
        return await call_with_retry(
            lambda: self.call(what, fn, market, priority=READ),
            venue=VENUE,
            what=what,
            retries=self.config.http.retries,
            backoff_seconds=self.config.http.backoff_seconds,
            timeout_seconds=2 * self.config.http.timeout_seconds,
        )

    async def fresh_jwt(self) -> str:
        """The JWT after the SDK's own expiry check (`ParadexApiClient._validate_auth`: re-authenticates within
        30 s of `exp`), for the account WebSocket `auth` frame."""

        def check(api: ParadexApiClient) -> str:
            api._validate_auth()
            return self.jwt

        return await self.call("JWT refresh", check)
