"""Paradex credential verification through paradex-py's own auth flow (PROTOCOL_NOTES §2.3).

* L1-key account (`l1_address` + `l1_private_key`): `paradex_py.Paradex(env, l1_address, l1_private_key,
  api_base_url=config.rest_url)`. On init the SDK fetches `GET /system/config`, derives the Stark key and L2
  address locally (no network), `POST /auth/{l2 public key}`; if that answers `NOT_ONBOARDED` it
  `POST /onboarding` and authenticates again. WebSocket readers are not started (`auto_start_ws_reader=False`), the
  Starknet RPC client is only constructed (no call), and retries are off (`retry_strategy=None`): one verification
  is one pass.
* Subkey (`l2_private_key` + the MAIN account's `l2_address`): `paradex_py.ParadexSubkey(env, l2_private_key,
  l2_address, ws_enabled=False, http_client=...)` does `GET /system/config` + `POST /auth/{subkey public key}`.
  It has no base-URL parameter, so the injected `httpx.Client` uses `ParadexBaseUrlTransport`, which sends what
  the SDK addresses to `https://api.{env}.paradex.trade/v1` to `config.rest_url` instead (PROTOCOL_NOTES
  §2.3: "point it at a mock by passing http_client=httpx.Client(transport=...)").

Success = a JWT was obtained (it is never shown). The SDK constructors block (HTTP, key derivation), so they run
in a worker thread. Paradex errors (`{"error": <ErrorCode>, "message": ..., "data": null}`) are read from the
HTTP responses by an httpx response hook, so the result gives the venue's code and message, not the SDK's
exception text.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import httpx
from paradex_py import ParadexSubkey
from paradex_py.account.utils import private_to_stark_key
from paradex_py.environment import Environment

from exchange_clients.base.auth import VerifyResult, scrub
from exchange_clients.base.credentials import BaseCredentials
from exchange_clients.paradex.common import VENUE
from exchange_clients.paradex.credentials import ParadexCredentials
from exchange_clients.paradex.l1_account import paradex_for_l1
from perparb_core.settings import VenueConfig

log = logging.getLogger(__name__)

PARADEX_ENVS: tuple[Environment, ...] = ("prod", "testnet", "nightly")


def sdk_base_url(env: str) -> str:
    """The REST base paradex-py uses for `env` when given no override: `https://api.{env}.paradex.trade/v1`."""
    return f"https://api.{env}.paradex.trade/v1"


def env_for_url(url: str) -> Environment:
    """The paradex-py environment of a REST base URL: `env` for `https://api.{env}.paradex.trade/...`, else
    "prod" (a simulator or proxy: the environment then only names the SDK's default URLs, which are rewritten)."""
    host = httpx.URL(url).host
    for env in PARADEX_ENVS:
        if host == f"api.{env}.paradex.trade":
            return env
    return "prod"


class ParadexUrlRewriteError(ValueError):
    """A request outside the base URL `ParadexBaseUrlTransport` rewrites; it is refused, never sent."""


class ParadexBaseUrlTransport(httpx.BaseTransport):
    """httpx transport sending requests addressed under `source` to the same path under `target`.

    `https://api.prod.paradex.trade/v1/auth/0xab?x=1` with target `http://127.0.0.1:8081/v1` goes to
    `http://127.0.0.1:8081/v1/auth/0xab?x=1` (scheme, host, port and base path replaced; rest of the path and the
    query kept; `Host` header updated). Any other URL raises `ParadexUrlRewriteError` and is not sent, so a
    client built for the simulator can never reach the venue.

    Args:
        source: the base the SDK addresses (`sdk_base_url(env)`).
        target: where to send instead (`config.rest_url`).
        inner: the transport that sends (default `httpx.HTTPTransport()`); closed with this one.
    """

    def __init__(self, source: str, target: str, inner: httpx.BaseTransport | None = None) -> None:
        self.source = httpx.URL(source)
        self.target = httpx.URL(target)
        self.inner = inner if inner is not None else httpx.HTTPTransport()

    def rewrite(self, url: httpx.URL) -> httpx.URL:
        """The target URL of `url`. Raises `ParadexUrlRewriteError` when `url` is not under `source`."""
        base = self.source.path.rstrip("/")
        same_origin = (url.scheme, url.host, url.port) == (
            self.source.scheme,
            self.source.host,
            self.source.port,
        )
        if not same_origin or not (url.path == base or url.path.startswith(base + "/")):
            raise ParadexUrlRewriteError(f"refusing to send {url} (only {self.source} is redirected)")
        path = self.target.path.rstrip("/") + url.path[len(base) :]
        return url.copy_with(
            scheme=self.target.scheme, host=self.target.host, port=self.target.port, path=path
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = self.rewrite(request.url)
        request.headers["Host"] = request.url.netloc.decode("ascii")
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@dataclass
class _Exchange:
    """What the response hook saw: (method, path, status) of every response and the error bodies."""

    calls: list[tuple[str, str, int]] = field(default_factory=list)
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (status, ErrorCode, message)

    def hook(self, response: httpx.Response) -> None:
        request = response.request
        self.calls.append((request.method, request.url.path, response.status_code))
        if response.status_code < 300:
            return  # success bodies (the JWT) are left to the SDK
        response.read()
        code, message = "", " ".join(response.text.split())[:200]
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            code, message = str(body.get("error") or ""), str(body.get("message") or "")
        self.errors.append((response.status_code, code, message))

    def onboarded(self) -> bool:
        return any(m == "POST" and p.endswith("/onboarding") and s < 300 for m, p, s in self.calls)


def _http_client(
    config: VenueConfig, exchange: _Exchange, transport: httpx.BaseTransport | None
) -> httpx.Client:
    return httpx.Client(
        timeout=config.http.timeout_seconds, transport=transport, event_hooks={"response": [exchange.hook]}
    )


def _verify_l1(creds: ParadexCredentials, config: VenueConfig, exchange: _Exchange) -> str:
    assert creds.l1_address is not None and creds.l1_private_key is not None  # ParadexCredentials checks it
    env = env_for_url(config.rest_url)
    http = _http_client(config, exchange, None)
    try:
        client = paradex_for_l1(
            env=env,
            l1_address=creds.l1_address,
            l1_private_key=creds.l1_private_key.get_secret_value(),
            api_base_url=config.rest_url,
            http_client=http,  # ParadexApiClient accepts a bare httpx.Client
            retry_strategy=None,
            auto_start_ws_reader=False,
        )
        account = client.account
        if account is None or not getattr(account, "jwt_token", None):
            raise _NoToken
        onboarded = " (onboarded now)" if exchange.onboarded() else ""
        return f"Paradex accepted L1 account {creds.l1_address}: JWT obtained for L2 account {hex(account.l2_address)}{onboarded}"
    finally:
        http.close()


def _verify_subkey(creds: ParadexCredentials, config: VenueConfig, exchange: _Exchange) -> str:
    assert creds.l2_address is not None and creds.l2_private_key is not None  # ParadexCredentials checks it
    env = env_for_url(config.rest_url)
    base = config.rest_url
    transport = None if base == sdk_base_url(env) else ParadexBaseUrlTransport(sdk_base_url(env), base)
    http = _http_client(config, exchange, transport)
    try:
        client = ParadexSubkey(
            env=env,
            l2_private_key=creds.l2_private_key.get_secret_value(),
            l2_address=creds.l2_address,
            ws_enabled=False,
            http_client=http,  # type: ignore[arg-type]  # ParadexApiClient accepts a bare httpx.Client
        )
        if not getattr(client.account, "jwt_token", None):
            raise _NoToken
        return f"Paradex accepted {_subkey_name(creds)}: JWT obtained"
    finally:
        http.close()


class _NoToken(Exception):
    """The SDK finished without a JWT (not expected: it raises on every failed /auth)."""


def _subkey_name(creds: ParadexCredentials) -> str:
    assert creds.l2_private_key is not None
    public_key = private_to_stark_key(int(creds.l2_private_key.get_secret_value(), 16))
    return f"subkey {hex(public_key)} of account {creds.l2_address}"


def _what(creds: ParadexCredentials) -> str:
    return _subkey_name(creds) if creds.is_subkey else f"L1 account {creds.l1_address}"


def describe_failure(exc: BaseException, exchange: _Exchange, *, url: str, what: str) -> str:
    """One line for a failed verification: the venue's error when one was answered, else the transport error.

    `what` names the credentials ("L1 account 0x..", "subkey 0x.. of account 0x.."). No secret handling.
    """
    if isinstance(exc, httpx.TransportError):
        return (
            f"Paradex unavailable at {url}: {type(exc).__name__}: {' '.join(str(exc).split()) or 'no detail'}"
        )
    if exchange.errors:
        status, code, message = exchange.errors[-1]
        answer = f"HTTP {status} {code}: {message}" if code else f"HTTP {status}: {message}"
        if status == 429:
            return f"Paradex rate-limited the check of {what} at {url}: {answer}"
        if status >= 500:
            return f"Paradex unavailable at {url}: {answer}"
        return f"Paradex rejected {what}: {answer}"
    if isinstance(exc, _NoToken):
        return f"Paradex answered {what} without a JWT"
    return f"Paradex check of {what} failed: {type(exc).__name__}: {' '.join(str(exc).split())}"


async def verify_paradex_credentials(creds: BaseCredentials, config: VenueConfig) -> VerifyResult:
    """Authenticate `creds` at Paradex (`config.rest_url`, e.g. "https://api.prod.paradex.trade/v1") with
    paradex-py, onboarding an L1-key account first if Paradex answers `NOT_ONBOARDED`.

    Args:
        creds: an L1-key account or a subkey (`creds.is_subkey`).
        config: `rest_url` (REST base ending in /v1) and `http.timeout_seconds` (per HTTP request).

    Returns:
        `VerifyResult(venue="paradex", ok, detail)`. ok: a JWT was obtained; `detail` names the account (for an
        L1 key, the derived L2 address, and "(onboarded now)" when the SDK had to onboard it). Failure: Paradex's
        `HTTP <status> <ErrorCode>: <message>`, or "Paradex unavailable at <url>: ..." for a transport error or
        5xx. Never raises for a venue answer, a network failure or an SDK error; never reports a private key or
        the JWT.

    Raises:
        TypeError: `creds` are not `ParadexCredentials` (a programming error, not a venue answer).
    """
    if not isinstance(creds, ParadexCredentials):
        raise TypeError(f"Paradex verification needs ParadexCredentials, got {type(creds).__name__}")
    exchange = _Exchange()
    secrets = list(creds.secret_fields().values())
    url = config.rest_url
    verify = _verify_subkey if creds.is_subkey else _verify_l1
    try:
        detail = await asyncio.to_thread(verify, creds, config, exchange)
        ok = True
    except Exception as exc:  # SDK: ValueError(<ApiError>), httpx errors, marshmallow errors, ...
        try:
            what = _what(creds)
        except ValueError:
            what = "subkey" if creds.is_subkey else "L1 account"
        detail, ok = describe_failure(exc, exchange, url=url, what=what), False
    clean = scrub(detail, secrets)
    log.info("paradex credential check (%s): %s", "ok" if ok else "failed", clean)
    return VerifyResult(VENUE, ok, clean)
