"""Authentication state of the simulated venues: Lighter API keys, Paradex onboarding, subkeys and JWTs.

Serves what credential verification needs (`exchange_clients/*/auth.py`; PROTOCOL_NOTES §1.3, §2.3, §3):

Lighter (`lighter-sdk` `SignerClient.check_client()` -> Go `CheckClient` -> `GET /api/v1/apikeys`):

| path | params | answer |
|---|---|---|
| `GET /api/v1/apikeys` | `account_index` (required), `api_key_index?` (255 or absent = every slot) | `{code:200, api_keys:[{account_index, api_key_index, nonce, public_key (hex WITHOUT 0x), transaction_time}]}` |
| `GET /api/v1/nextNonce` | `account_index`, `api_key_index` (both required) | `{code:200, nonce}` |

An account is known once one of its keys is registered. Unknown account -> HTTP 400
`{"code":21100,"message":"account not found"}`: Lighter's own code and message as reported in a public issue
(elliottech/lighter-python#132); the HTTP status is not stated there and is a guess (Lighter answers its other
errors with 400). A known account asked for an empty slot -> `api_keys: []` (the Go signer then reports
"no api key returned for index N"); `nextNonce` of an empty slot -> nonce 0 (a guess, not recorded).
Missing/malformed parameters -> 400 `{"code":20001,"message":"invalid param "}` (recorded).

Paradex (`paradex-py` `Paradex(...)` / `ParadexSubkey(...)` init):

| path | headers / body | answer |
|---|---|---|
| `POST /v1/onboarding` | `PARADEX-ETHEREUM-ACCOUNT`, `PARADEX-STARKNET-ACCOUNT`, `PARADEX-STARKNET-SIGNATURE`; body `{"public_key":"0x..."}` | 200, empty body (OpenAPI: "An empty response"); idempotent |
| `POST /v1/auth/{public_key}` | `PARADEX-STARKNET-ACCOUNT`, `PARADEX-STARKNET-SIGNATURE`, `PARADEX-TIMESTAMP` (`PARADEX-SIGNATURE-EXPIRATION` optional) | `{"jwt_token": <JWT>}` |

Decision of `/auth` for account A (header) and public key K (path):
1. K is an active subkey registered for A, or A was onboarded with K -> 200 and a JWT (HS256, header/payload/
   signature base64url; payload `{typ:"at+JWT", iss, sub: A, pubkey: K, iat, exp}`, `exp` = simulator clock + 300 s,
   the ~5 min lifetime of PROTOCOL_NOTES §2.3).
2. A is known (onboarded, or main account of a registered subkey) but K is neither -> HTTP 401
   `{"error":"UNAUTHORIZED_ERROR", ...}` (code from the OpenAPI `responses.ErrorCode` enum; the venue's answer
   for an unregistered subkey is not recorded).
3. A is unknown -> HTTP 400 `{"error":"NOT_ONBOARDED","message":"User has never called /onboarding endpoint"}`
   (venue-data/paradex/rest_error_not_onboarded.json), which makes paradex-py onboard and retry.

**No signature is verified** (neither Stark signatures in the headers nor that A derives from K): the simulator
cannot check them without re-implementing the venues' cryptography, and does not try. `GET /v1/onboarding` is not
served (paradex-py calls it only with `server_derive_address=True`).

Registration: scenario files `DIR/lighter/apikeys.json` (the `GET /api/v1/apikeys` body, listing keys) and
`DIR/paradex/subkeys.json` (the `GET /v1/account/keys/subkeys` body: `{"results":[{"account_id", "public_key",
"state", "revoked_at", ...}]}`; rows whose `state` is not "active" or whose `revoked_at` is non-zero are kept but
not accepted), and at run time the loopback-only admin API:

    POST /_sim/lighter/apikeys {"account_index": 7, "api_key_index": 3, "public_key": "0x<80 hex>"}
    GET  /_sim/lighter/apikeys
    POST /_sim/paradex/subkeys {"l2_address": "0x<main account>", "public_key": "0x<subkey public key>"}
    GET  /_sim/paradex/subkeys, GET /_sim/paradex/accounts   (registered subkeys, onboarded accounts)

Tokens and private keys are never logged; public keys and addresses are.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from simulator.faults import ADMIN_PREFIX, _is_loopback
from simulator.formats import dumps, json_response
from simulator.scenario import SimClock

log = logging.getLogger("perparb.simulator")

LIGHTER_ACCOUNT_NOT_FOUND: dict[str, Any] = {"code": 21100, "message": "account not found"}
LIGHTER_INVALID_PARAM: dict[str, Any] = {"code": 20001, "message": "invalid param "}
LIGHTER_ALL_KEYS = 255  # api_key_index meaning "every slot" (lighter-sdk SignerClient.DEFAULT_API_KEY_INDEX)
NOT_ONBOARDED_MESSAGE = "User has never called /onboarding endpoint"  # rest_error_not_onboarded.json
JWT_LIFETIME_SECONDS = 300
JWT_ISSUER = "Paradex simulator"

_LIGHTER_PUBKEY = re.compile(r"^(0x)?[0-9a-fA-F]{80}$")
_FELT = re.compile(r"^0x[0-9a-fA-F]{1,64}$")


class SimAuthError(Exception):
    """A request the venue refuses: HTTP `status` with the venue-shaped `body`."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body
        super().__init__(f"{status} {body}")


def _paradex_error(status: int, code: str, message: str) -> SimAuthError:
    return SimAuthError(status, {"error": code, "message": message, "data": None})


def normalise_lighter_public_key(value: str) -> str:
    """Lighter API public key as the venue returns it: 80 lowercase hex digits, no `0x`.

    Raises:
        ValueError: not 40 bytes of hex.
    """
    if not isinstance(value, str) or not _LIGHTER_PUBKEY.match(value.strip()):
        raise ValueError("public_key must be 40 bytes of hex (80 hex digits, optional 0x)")
    raw = value.strip()
    return (raw[2:] if raw.lower().startswith("0x") else raw).lower()


def parse_felt(value: Any, what: str) -> int:
    """A Starknet felt given as `0x` + 1..64 hex digits, as an int.

    Raises:
        ValueError: naming `what`.
    """
    if not isinstance(value, str) or not _FELT.match(value.strip()):
        raise ValueError(f"{what} must be 0x followed by 1-64 hex digits, got {value!r}")
    return int(value.strip(), 16)


# ----------------------------------------------------------------------------------------------- Lighter


@dataclass
class LighterApiKey:
    """One registered Lighter API key slot (the venue's `ApiKey` model)."""

    account_index: int
    api_key_index: int
    nonce: int
    public_key: str  # 80 lowercase hex digits, no 0x
    transaction_time: int


class LighterApiKeys:
    """Registered Lighter API keys: account index -> slot -> key. Used from the server's event loop only."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self._keys: dict[int, dict[int, LighterApiKey]] = {}

    def register(
        self, account_index: int, api_key_index: int, public_key: str, *, nonce: int = 0
    ) -> LighterApiKey:
        """Register (or replace) the key of a slot; the account becomes known.

        Raises:
            ValueError: a malformed public key.
        """
        entry = LighterApiKey(
            account_index=account_index,
            api_key_index=api_key_index,
            nonce=nonce,
            public_key=normalise_lighter_public_key(public_key),
            transaction_time=self.clock.now_us(),
        )
        self._keys.setdefault(account_index, {})[api_key_index] = entry
        log.info("lighter api key registered: account %d slot %d", account_index, api_key_index)
        return entry

    def load_body(self, body: dict[str, Any]) -> None:
        """Register every row of a `GET /api/v1/apikeys` body (rows checked by the scenario loader)."""
        for row in body.get("api_keys") or []:
            entry = self.register(
                row["account_index"],
                row["api_key_index"],
                row["public_key"],
                nonce=int(row.get("nonce") or 0),
            )
            if isinstance(row.get("transaction_time"), int):
                entry.transaction_time = row["transaction_time"]

    def _account(self, account_index: int) -> dict[int, LighterApiKey]:
        slots = self._keys.get(account_index)
        if slots is None:
            raise SimAuthError(400, dict(LIGHTER_ACCOUNT_NOT_FOUND))
        return slots

    def apikeys(self, account_index: int, api_key_index: int | None) -> dict[str, Any]:
        """`GET /api/v1/apikeys` body: every slot of the account, or the one asked for ([] when empty).

        Raises:
            SimAuthError: 400 code 21100 for an unknown account.
        """
        slots = self._account(account_index)
        if api_key_index is None or api_key_index == LIGHTER_ALL_KEYS:
            rows = [slots[i] for i in sorted(slots)]
        else:
            rows = [slots[api_key_index]] if api_key_index in slots else []
        return {"code": 200, "api_keys": [asdict(row) for row in rows]}

    def next_nonce(self, account_index: int, api_key_index: int) -> dict[str, Any]:
        """`GET /api/v1/nextNonce` body (nonce 0 for an empty slot of a known account).

        Raises:
            SimAuthError: 400 code 21100 for an unknown account.
        """
        entry = self._account(account_index).get(api_key_index)
        return {"code": 200, "nonce": entry.nonce if entry is not None else 0}

    def snapshot(self) -> list[dict[str, Any]]:
        """Every registered key (admin API view)."""
        return [asdict(self._keys[a][i]) for a in sorted(self._keys) for i in sorted(self._keys[a])]


class LighterApiKeySpec(BaseModel):
    """Body of `POST /_sim/lighter/apikeys`."""

    model_config = ConfigDict(extra="forbid")

    account_index: int = Field(ge=0)
    api_key_index: int = Field(ge=0, le=254)
    public_key: str
    nonce: int = Field(default=0, ge=0)

    @field_validator("public_key")
    @classmethod
    def _check_key(cls, value: str) -> str:
        return normalise_lighter_public_key(value)


# ----------------------------------------------------------------------------------------------- Paradex


@dataclass
class ParadexAccount:
    """An onboarded Paradex account: its address, main public key and Ethereum account (all public)."""

    address: int
    public_key: int
    ethereum_account: str


@dataclass
class ParadexSubkey:
    """A subkey registered for a main account. Only `state == "active"` and `revoked_at == 0` authenticate."""

    account: int
    public_key: int
    state: str = "active"
    revoked_at: int = 0

    @property
    def active(self) -> bool:
        return self.state == "active" and self.revoked_at == 0


class ParadexAuth:
    """Paradex onboarding, subkeys and JWTs. Used from the server's event loop only.

    JWTs are HS256 with a random per-process secret; `account_for_token` checks one (signature and `exp` on the
    simulator clock) for the authenticated endpoints of the trading engine.
    """

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.accounts: dict[int, ParadexAccount] = {}
        self.subkeys: dict[int, dict[int, ParadexSubkey]] = {}
        self._secret = secrets.token_bytes(32)

    def __repr__(self) -> str:
        return f"ParadexAuth(accounts={len(self.accounts)}, subkeys={sum(map(len, self.subkeys.values()))})"

    def register_subkey(
        self, l2_address: int, public_key: int, *, state: str = "active", revoked_at: int = 0
    ) -> ParadexSubkey:
        """Register (or replace) a subkey of main account `l2_address`; the main account becomes known."""
        entry = ParadexSubkey(l2_address, public_key, state, revoked_at)
        self.subkeys.setdefault(l2_address, {})[public_key] = entry
        log.info("paradex subkey %s registered for account %s (%s)", hex(public_key), hex(l2_address), state)
        return entry

    def load_body(self, body: dict[str, Any]) -> None:
        """Register every row of a `GET /v1/account/keys/subkeys` body (rows checked by the scenario loader)."""
        for row in body.get("results") or []:
            self.register_subkey(
                parse_felt(row["account_id"], "account_id"),
                parse_felt(row["public_key"], "public_key"),
                state=str(row.get("state") or "active"),
                revoked_at=int(row.get("revoked_at") or 0),
            )

    def onboard(self, headers: Any, body: Any) -> None:
        """`POST /v1/onboarding`: record the account (idempotent). Signatures are not verified.

        Raises:
            SimAuthError: 400 VALIDATION_ERROR for a missing header/body field, INVALID_STARKNET_ADDRESS or
                PUBLIC_KEY_INVALID for malformed values or an account onboarded with another key.
        """
        for name in ("PARADEX-ETHEREUM-ACCOUNT", "PARADEX-STARKNET-ACCOUNT", "PARADEX-STARKNET-SIGNATURE"):
            if not headers.get(name):
                raise _paradex_error(400, "VALIDATION_ERROR", f"header {name} is required")
        try:
            address = parse_felt(headers["PARADEX-STARKNET-ACCOUNT"], "PARADEX-STARKNET-ACCOUNT")
        except ValueError as exc:
            raise _paradex_error(400, "INVALID_STARKNET_ADDRESS", str(exc)) from None
        if not isinstance(body, dict) or "public_key" not in body:
            raise _paradex_error(400, "VALIDATION_ERROR", "body must be a JSON object with public_key")
        try:
            public_key = parse_felt(body["public_key"], "public_key")
        except ValueError as exc:
            raise _paradex_error(400, "PUBLIC_KEY_INVALID", str(exc)) from None
        known = self.accounts.get(address)
        if known is not None and known.public_key != public_key:
            raise _paradex_error(
                400, "PUBLIC_KEY_INVALID", f"account {hex(address)} is onboarded with another public key"
            )
        self.accounts[address] = ParadexAccount(address, public_key, headers["PARADEX-ETHEREUM-ACCOUNT"])
        log.info("paradex account %s onboarded (public key %s)", hex(address), hex(public_key))

    def authenticate(self, headers: Any, public_key_text: str) -> dict[str, Any]:
        """`POST /v1/auth/{public_key}` body `{"jwt_token": ...}` (decision rules in the module docstring).

        Raises:
            SimAuthError: 400 VALIDATION_ERROR (missing header), INVALID_STARKNET_ADDRESS / PUBLIC_KEY_INVALID
                (malformed), NOT_ONBOARDED (unknown account); 401 UNAUTHORIZED_ERROR (key not allowed).
        """
        for name in ("PARADEX-STARKNET-ACCOUNT", "PARADEX-STARKNET-SIGNATURE", "PARADEX-TIMESTAMP"):
            if not headers.get(name):
                raise _paradex_error(400, "VALIDATION_ERROR", f"header {name} is required")
        try:
            address = parse_felt(headers["PARADEX-STARKNET-ACCOUNT"], "PARADEX-STARKNET-ACCOUNT")
        except ValueError as exc:
            raise _paradex_error(400, "INVALID_STARKNET_ADDRESS", str(exc)) from None
        try:
            public_key = parse_felt(public_key_text, "public key")
        except ValueError as exc:
            raise _paradex_error(400, "PUBLIC_KEY_INVALID", str(exc)) from None
        account = self.accounts.get(address)
        subkey = self.subkeys.get(address, {}).get(public_key)
        if subkey is not None and subkey.active:
            kind = "subkey"
        elif account is not None and account.public_key == public_key:
            kind = "main key"
        elif account is not None or address in self.subkeys:
            log.info("paradex auth refused: key %s for account %s", hex(public_key), hex(address))
            raise _paradex_error(
                401,
                "UNAUTHORIZED_ERROR",
                f"public key {hex(public_key)} is neither the key nor an active subkey of account {hex(address)}",
            )
        else:
            raise _paradex_error(400, "NOT_ONBOARDED", NOT_ONBOARDED_MESSAGE)
        log.info("paradex auth: account %s, %s %s -> JWT issued", hex(address), kind, hex(public_key))
        return {"jwt_token": self._jwt(address, public_key)}

    def _jwt(self, address: int, public_key: int) -> str:
        now = self.clock.now_s()
        header = {"alg": "HS256", "typ": "JWT"}
        payload = {
            "typ": "at+JWT",
            "iss": JWT_ISSUER,
            "sub": hex(address),
            "pubkey": hex(public_key),
            "iat": now,
            "exp": now + JWT_LIFETIME_SECONDS,
        }
        signing_input = f"{_b64(dumps(header).encode())}.{_b64(dumps(payload).encode())}"
        signature = hmac.new(self._secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(signature)}"

    def account_for_token(self, token: str) -> int | None:
        """The account address a JWT issued here authenticates, or None (bad signature, malformed, expired)."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        expected = hmac.new(self._secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        try:
            if not hmac.compare_digest(expected, _unb64(parts[2])):
                return None
            payload = json.loads(_unb64(parts[1]))
        except ValueError:
            return None
        if not isinstance(payload, dict) or int(payload.get("exp", 0)) < self.clock.now_s():
            return None
        return int(payload["sub"], 16)

    def accounts_snapshot(self) -> list[dict[str, Any]]:
        """Onboarded accounts (admin API view)."""
        return [
            {
                "address": hex(a.address),
                "public_key": hex(a.public_key),
                "ethereum_account": a.ethereum_account,
            }
            for a in self.accounts.values()
        ]

    def subkeys_snapshot(self) -> list[dict[str, Any]]:
        """Registered subkeys in the venue's `responses.Subkey` field names (admin API view)."""
        return [
            {
                "account_id": hex(s.account),
                "public_key": hex(s.public_key),
                "state": s.state,
                "revoked_at": s.revoked_at,
            }
            for keys in self.subkeys.values()
            for s in keys.values()
        ]


class ParadexSubkeySpec(BaseModel):
    """Body of `POST /_sim/paradex/subkeys`."""

    model_config = ConfigDict(extra="forbid")

    l2_address: str
    public_key: str
    state: str = "active"

    @field_validator("l2_address", "public_key")
    @classmethod
    def _check_felt(cls, value: str) -> str:
        parse_felt(value, "value")
        return value


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# ----------------------------------------------------------------------------------------------- HTTP

Handler = Callable[[web.Request], Awaitable[web.Response]]
SpecT = TypeVar("SpecT", bound=BaseModel)


def _admin(handler: Handler) -> Handler:
    async def wrapped(request: web.Request) -> web.Response:
        if not _is_loopback(request):
            return web.json_response({"error": "admin API is local-only"}, status=403)
        return await handler(request)

    return wrapped


async def _admin_body(request: web.Request, model: type[SpecT]) -> SpecT | web.Response:
    try:
        raw = await request.json()
    except json.JSONDecodeError as exc:
        return web.json_response({"error": f"body is not JSON: {exc.msg}"}, status=400)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        reasons = "; ".join(f"{'.'.join(map(str, e['loc'])) or '<body>'}: {e['msg']}" for e in exc.errors())
        return web.json_response({"error": reasons}, status=400)


def _lighter_int(request: web.Request, name: str) -> int | None:
    """Integer query parameter, None when absent/empty. Raises `SimAuthError` 400 20001 when not an integer."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise SimAuthError(400, dict(LIGHTER_INVALID_PARAM)) from None


def _lighter_req_int(request: web.Request, name: str) -> int:
    """Required integer query parameter. Raises `SimAuthError` 400 20001 when absent or not an integer."""
    value = _lighter_int(request, name)
    if value is None:
        raise SimAuthError(400, dict(LIGHTER_INVALID_PARAM))
    return value


def add_lighter_auth_routes(app: web.Application, keys: LighterApiKeys) -> None:
    """Register `GET /api/v1/apikeys`, `GET /api/v1/nextNonce` and the `/_sim/lighter/apikeys` admin routes."""

    async def apikeys(request: web.Request) -> web.Response:
        try:
            body = keys.apikeys(
                _lighter_req_int(request, "account_index"), _lighter_int(request, "api_key_index")
            )
        except SimAuthError as exc:
            log.info("lighter %s -> %d %s", request.path_qs, exc.status, exc.body)
            return json_response(exc.body, status=exc.status)
        return json_response(body)

    async def next_nonce(request: web.Request) -> web.Response:
        try:
            body = keys.next_nonce(
                _lighter_req_int(request, "account_index"), _lighter_req_int(request, "api_key_index")
            )
        except SimAuthError as exc:
            log.info("lighter %s -> %d %s", request.path_qs, exc.status, exc.body)
            return json_response(exc.body, status=exc.status)
        return json_response(body)

    async def post_key(request: web.Request) -> web.Response:
        spec = await _admin_body(request, LighterApiKeySpec)
        if isinstance(spec, web.Response):
            return spec
        entry = keys.register(spec.account_index, spec.api_key_index, spec.public_key, nonce=spec.nonce)
        return json_response({"api_key": asdict(entry)})

    async def get_keys(request: web.Request) -> web.Response:
        return json_response({"api_keys": keys.snapshot()})

    app.router.add_get("/api/v1/apikeys", apikeys)
    app.router.add_get("/api/v1/nextNonce", next_nonce)
    app.router.add_post(ADMIN_PREFIX + "lighter/apikeys", _admin(post_key))
    app.router.add_get(ADMIN_PREFIX + "lighter/apikeys", _admin(get_keys))


def add_paradex_auth_routes(app: web.Application, auth: ParadexAuth) -> None:
    """Register `POST /v1/onboarding`, `POST /v1/auth/{public_key}` and the `/_sim/paradex/` admin routes."""

    async def onboarding(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            body = None
        try:
            auth.onboard(request.headers, body)
        except SimAuthError as exc:
            log.info("paradex %s -> %d %s", request.path, exc.status, exc.body)
            return json_response(exc.body, status=exc.status)
        return web.Response(status=200)

    async def authenticate(request: web.Request) -> web.Response:
        try:
            body = auth.authenticate(request.headers, request.match_info["public_key"])
        except SimAuthError as exc:
            log.info("paradex %s -> %d %s", request.path, exc.status, exc.body)
            return json_response(exc.body, status=exc.status)
        return json_response(body)

    async def post_subkey(request: web.Request) -> web.Response:
        spec = await _admin_body(request, ParadexSubkeySpec)
        if isinstance(spec, web.Response):
            return spec
        entry = auth.register_subkey(
            parse_felt(spec.l2_address, "l2_address"),
            parse_felt(spec.public_key, "public_key"),
            state=spec.state,
        )
        return json_response(
            {
                "subkey": {
                    "account_id": hex(entry.account),
                    "public_key": hex(entry.public_key),
                    "state": entry.state,
                }
            }
        )

    async def get_subkeys(request: web.Request) -> web.Response:
        return json_response({"results": auth.subkeys_snapshot()})

    async def get_accounts(request: web.Request) -> web.Response:
        return json_response({"results": auth.accounts_snapshot()})

    app.router.add_post("/v1/onboarding", onboarding)
    app.router.add_post("/v1/auth/{public_key}", authenticate)
    app.router.add_post(ADMIN_PREFIX + "paradex/subkeys", _admin(post_subkey))
    app.router.add_get(ADMIN_PREFIX + "paradex/subkeys", _admin(get_subkeys))
    app.router.add_get(ADMIN_PREFIX + "paradex/accounts", _admin(get_accounts))
