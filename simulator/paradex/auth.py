"""Paradex authentication state of the simulator: onboarding, subkeys and JWTs, and their admin routes.

Serves what credential verification needs (`exchange_clients/paradex/auth.py`; PROTOCOL_NOTES §2.3, §3):

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

Registration: scenario file `DIR/paradex/subkeys.json` (the `GET /v1/account/keys/subkeys` body:
`{"results":[{"account_id", "public_key", "state", "revoked_at", ...}]}`; rows whose `state` is not "active" or whose `revoked_at` is non-zero are kept but
not accepted), and at run time the loopback-only admin API:

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
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, field_validator

from simulator.admin import ADMIN_PREFIX, admin_spec, local_only
from simulator.auth import SimAuthError
from simulator.engine import ScaledClock
from simulator.formats import dumps, json_response
from simulator.scenario import SimClock

log = logging.getLogger("perparb.simulator")

NOT_ONBOARDED_MESSAGE = "User has never called /onboarding endpoint"  # rest_error_not_onboarded.json
JWT_LIFETIME_SECONDS = 300
JWT_ISSUER = "Paradex simulator"

_FELT = re.compile(r"^0x[0-9a-fA-F]{1,64}$")


def _paradex_error(status: int, code: str, message: str) -> SimAuthError:
    return SimAuthError(status, {"error": code, "message": message, "data": None})


def parse_felt(value: Any, what: str) -> int:
    """A Starknet felt given as `0x` + 1..64 hex digits, as an int.

    Raises:
        ValueError: naming `what`.
    """
    if not isinstance(value, str) or not _FELT.match(value.strip()):
        raise ValueError(f"{what} must be 0x followed by 1-64 hex digits, got {value!r}")
    return int(value.strip(), 16)


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
        spec = await admin_spec(request, ParadexSubkeySpec)
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
    app.router.add_post(ADMIN_PREFIX + "paradex/subkeys", local_only(post_subkey))
    app.router.add_get(ADMIN_PREFIX + "paradex/subkeys", local_only(get_subkeys))
    app.router.add_get(ADMIN_PREFIX + "paradex/accounts", local_only(get_accounts))


def auth_clock_for(clock: SimClock) -> SimClock:
    """The clock JWTs are issued and checked with: `clock` itself, unless it is a running `ScaledClock` faster
    than real time, then a real-time `SimClock`.

    paradex-py refreshes its JWT 30 s before `exp` measured with `time.time()`; a JWT stamped on a 3600x clock
    would expire (on that clock) 83 ms after issue while the SDK keeps sending it, so every private call would
    fail with 401.
    """
    if isinstance(clock, ScaledClock) and clock.speed > 1:
        return SimClock()
    return clock
