"""Authentication of the simulated Aster: both signing schemes are VERIFIED, with the venue's error codes.

Sources: asterdex/api-docs@265e024 V1 "SIGNED (TRADE and USER_DATA) Endpoint Security" / "Timing Security", V3
"Authentication signature payload", "V3 Nonce Mechanism", and "Difference between V1 and V3 interfaces.md".

* V1 (`/fapi/v1/...`, `/fapi/v2/...`): header `X-MBX-APIKEY` names a registered key (absent or unknown -> 401
  -2015 "Invalid API-key, IP, or permissions for action."; malformed -> 401 -2014); `signature` must be the hex
  HMAC-SHA256, keyed by the key's secret, of `totalParams` = the query string followed by the form body, each
  without its `signature` parameter (the signature is the LAST parameter: the venue signs the text as sent); a
  mismatch -> 401 -1022 "Signature for this request is not valid."; `timestamp` must satisfy
  `timestamp < now + 1000` and `now - timestamp <= recvWindow` (default 5000, at most 60000) -> else 400 -1021.
  `listenKey` calls need the key header only (USER_STREAM).
* V3 (`/fapi/v3/...`): `user`, `signer`, `nonce` (µs) and `signature`; `msg` = the parameter text as sent without
  its `&signature=...`; the EIP-712 `Message{msg}` signature (domain AsterSignTransaction / 1 / chainId 1666 /
  0x0) must recover to `signer` (else 401 -1022) and `signer` must be a registered API wallet of `user` (else 401
  -2015); the nonce must lie within 60 s of the server's time and not be one of the signer's last 100 nonces, nor
  older than all of them when 100 are kept (-> 400 -4225 "Nonce Expired").

Time checks use the real wall clock, not the simulation clock (clients stamp real time; the simulation may run at
3600x). Keys and secrets registered here are never logged (addresses are).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from simulator.aster.errors import AsterApiError

log = logging.getLogger("perparb.simulator")

EIP712_DOMAIN = {
    "name": "AsterSignTransaction",
    "version": "1",
    "chainId": 1666,
    "verifyingContract": "0x0000000000000000000000000000000000000000",
}
EIP712_TYPES = {"Message": [{"name": "msg", "type": "string"}]}
ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
API_TOKEN = re.compile(r"^[A-Za-z0-9]{16,128}$")
NONCE_WINDOW_US = 60_000_000
NONCES_KEPT = 100
MAX_RECV_WINDOW_MS = 60_000


def recover_signer(msg: str, signature: str) -> str | None:
    """The address (lower-case) whose key signed `msg` (EIP-712 `Message{msg}` in Aster's domain), or None when
    the signature is not one."""
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    try:
        signable = encode_typed_data(
            domain_data=EIP712_DOMAIN, message_types=EIP712_TYPES, message_data={"msg": msg}
        )
        address: str = Account.recover_message(signable, signature=signature)
    except (ValueError, TypeError):
        return None
    return address.lower()


def strip_signature(text: str) -> tuple[str, str | None]:
    """(`text` without its trailing `&signature=<value>` or leading `signature=<value>`, the value or None)."""
    marker = "&signature="
    at = text.rfind(marker)
    if at >= 0:
        return text[:at], text[at + len(marker) :]
    if text.startswith("signature="):
        return "", text[len("signature=") :]
    return text, None


@dataclass
class _Signer:
    user: str
    nonces: deque[int] = field(default_factory=lambda: deque(maxlen=NONCES_KEPT))


class AsterAuth:
    """Registered V1 API keys and V3 API wallets, and the request checks (module docstring).

    Args:
        wall_us: real time in µs (tests).
    """

    def __init__(self, wall_us: Callable[[], int] = lambda: time.time_ns() // 1000) -> None:
        self._keys: dict[str, tuple[str, str]] = {}  # api key -> (secret, user)
        self._signers: dict[str, _Signer] = {}  # signer address -> its user and recent nonces
        self._wall_us = wall_us

    # -------------------------------------------------------------------------------- registration (admin)

    def add_agent(self, user: str, signer: str) -> None:
        """Register `signer` as an API wallet of `user` (addresses, 0x + 40 hex).

        Raises:
            ValueError: not addresses."""
        if not ADDRESS.match(user) or not ADDRESS.match(signer):
            raise ValueError("user and signer must be addresses: 0x followed by 40 hex digits")
        self._signers[signer.lower()] = _Signer(user.lower())
        log.info("aster: API wallet %s registered for %s", signer.lower(), user.lower())

    def add_api_key(self, api_key: str, api_secret: str, user: str | None = None) -> str:
        """Register a V1 key pair for `user` (default: an address derived from the key); returns the user.

        Raises:
            ValueError: a key or secret that is not 16-128 letters or digits, or a bad user address."""
        if not API_TOKEN.match(api_key) or not API_TOKEN.match(api_secret):
            raise ValueError("api_key and api_secret must be 16-128 letters or digits")
        if user is None:
            user = "0x" + hashlib.sha256(b"aster-sim-v1:" + api_key.encode()).hexdigest()[:40]
        elif not ADDRESS.match(user):
            raise ValueError("user must be an address: 0x followed by 40 hex digits")
        self._keys[api_key] = (api_secret, user.lower())
        log.info("aster: V1 API key registered for %s", user.lower())
        return user.lower()

    def agents(self) -> list[dict[str, str]]:
        return [{"signer": s, "user": v.user} for s, v in sorted(self._signers.items())]

    # -------------------------------------------------------------------------------- checks

    def user_of_key(self, headers: Any) -> str:
        """USER_STREAM with an API key only (V1 `listenKey`): the key's user.

        Raises:
            AsterApiError: -2014 / -2015."""
        key = headers.get("X-MBX-APIKEY")
        if not key:
            raise AsterApiError(401, -2015)
        if not API_TOKEN.match(key):
            raise AsterApiError(401, -2014)
        entry = self._keys.get(key)
        if entry is None:
            raise AsterApiError(401, -2015)
        return entry[1]

    def verify_v1(self, headers: Any, query: str, body: str) -> tuple[str, dict[str, str]]:
        """A V1 signed request: (the key's user, the parameters without `signature`).

        Raises:
            AsterApiError: -2014 / -2015 (key), -1022 (signature), -1021 (timestamp), -1102 (missing parameter)."""
        user = self.user_of_key(headers)
        secret = self._keys[headers["X-MBX-APIKEY"]][0]
        if body:
            q_unsigned, q_sig = strip_signature(query) if "signature=" in query else (query, None)
            b_unsigned, b_sig = strip_signature(body)
            signature = b_sig or q_sig
            total = (q_unsigned + b_unsigned) if b_sig is not None else (q_unsigned + body)
        else:
            total, signature = strip_signature(query)
        if not signature:
            raise AsterApiError(
                400, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed."
            )
        expected = hmac.new(secret.encode(), total.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature.strip().lower()):
            raise AsterApiError(401, -1022)
        params = dict(parse_qsl(total, keep_blank_values=True))
        self._check_timestamp(params)
        return user, params

    def _check_timestamp(self, params: dict[str, str]) -> None:
        try:
            ts = int(params["timestamp"])
            window = int(params.get("recvWindow", "5000"))
        except (KeyError, ValueError):
            raise AsterApiError(
                400, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed."
            ) from None
        now = self._wall_us() // 1000
        if window > MAX_RECV_WINDOW_MS or not (ts < now + 1000 and now - ts <= window):
            raise AsterApiError(400, -1021)

    def verify_v3(self, text: str) -> tuple[str, dict[str, str]]:
        """A V3 signed request (`text`: the query string of a GET, the form body otherwise): (user, parameters
        without `signature`).

        Raises:
            AsterApiError: -1102 (missing user / signer / nonce / signature), -1022 (signature), -2015 (signer not
            an API wallet of the user), -4225 (nonce outside the window or reused)."""
        msg, signature = strip_signature(text)
        params = dict(parse_qsl(msg, keep_blank_values=True))
        for name in ("user", "signer", "nonce"):
            if not params.get(name):
                raise AsterApiError(
                    400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
                )
        if not signature:
            raise AsterApiError(
                400, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed."
            )
        signer = params["signer"].lower()
        if recover_signer(msg, signature) != signer:
            raise AsterApiError(401, -1022)
        entry = self._signers.get(signer)
        if entry is None or entry.user != params["user"].lower():
            raise AsterApiError(401, -2015)
        try:
            nonce = int(params["nonce"])
        except ValueError:
            raise AsterApiError(
                400, -1102, "Mandatory parameter 'nonce' was not sent, was empty/null, or malformed."
            ) from None
        kept = entry.nonces
        if (
            abs(self._wall_us() - nonce) > NONCE_WINDOW_US
            or nonce in kept
            or (len(kept) == NONCES_KEPT and nonce < min(kept))
        ):
            raise AsterApiError(400, -4225)
        kept.append(nonce)
        return entry.user, params
