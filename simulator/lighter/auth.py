"""Lighter authentication state of the simulator: API keys (`apikeys`, `nextNonce`) and their admin routes.

Serves what credential verification needs (`exchange_clients/lighter/auth.py`; PROTOCOL_NOTES §1.3, §3):

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

**No signature is verified**: the simulator cannot check them without re-implementing the venue's cryptography,
and does not try.

Registration: scenario file `DIR/lighter/apikeys.json` (the `GET /api/v1/apikeys` body, listing keys), and at run
time the loopback-only admin API:

    POST /_sim/lighter/apikeys {"account_index": 7, "api_key_index": 3, "public_key": "0x<80 hex>"}
    GET  /_sim/lighter/apikeys

Private keys are never logged; public keys are.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator

from simulator.admin import ADMIN_PREFIX, admin_spec, local_only
from simulator.auth import SimAuthError
from simulator.formats import json_response
from simulator.scenario import SimClock

log = logging.getLogger("perparb.simulator")

LIGHTER_ACCOUNT_NOT_FOUND: dict[str, Any] = {"code": 21100, "message": "account not found"}
LIGHTER_INVALID_PARAM: dict[str, Any] = {"code": 20001, "message": "invalid param "}
LIGHTER_ALL_KEYS = 255  # api_key_index meaning "every slot" (lighter-sdk SignerClient.DEFAULT_API_KEY_INDEX)

_LIGHTER_PUBKEY = re.compile(r"^(0x)?[0-9a-fA-F]{80}$")


def normalise_lighter_public_key(value: str) -> str:
    """Lighter API public key as the venue returns it: 80 lowercase hex digits, no `0x`.

    Raises:
        ValueError: not 40 bytes of hex.
    """
    if not isinstance(value, str) or not _LIGHTER_PUBKEY.match(value.strip()):
        raise ValueError("public_key must be 40 bytes of hex (80 hex digits, optional 0x)")
    raw = value.strip()
    return (raw[2:] if raw.lower().startswith("0x") else raw).lower()


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
        spec = await admin_spec(request, LighterApiKeySpec)
        entry = keys.register(spec.account_index, spec.api_key_index, spec.public_key, nonce=spec.nonce)
        return json_response({"api_key": asdict(entry)})

    async def get_keys(request: web.Request) -> web.Response:
        return json_response({"api_keys": keys.snapshot()})

    app.router.add_get("/api/v1/apikeys", apikeys)
    app.router.add_get("/api/v1/nextNonce", next_nonce)
    app.router.add_post(ADMIN_PREFIX + "lighter/apikeys", local_only(post_key))
    app.router.add_get(ADMIN_PREFIX + "lighter/apikeys", local_only(get_keys))
