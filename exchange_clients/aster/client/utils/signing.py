"""Aster request signing: V1 (API key, HMAC-SHA256) and V3 (API wallet, EIP-712).

Sources: asterdex/api-docs@265e024 `V1(Legacy)/EN/aster-finance-futures-api.md` "SIGNED (TRADE and USER_DATA)
Endpoint Security" and `V3(Recommended)/EN/aster-finance-futures-api-v3.md` "Authentication signature payload",
"Example of POST /fapi/v3/order", "V3 Nonce Mechanism"; "Difference between V1 and V3 interfaces.md".

* V1: parameters + `recvWindow` + `timestamp` (ms) are url-encoded into `totalParams` (query string, or body for
  POST/PUT/DELETE); `signature` = hex HMAC-SHA256(secret, totalParams) is appended LAST; the API key goes in the
  `X-MBX-APIKEY` header. The docs' worked example (key `2b5eb1...`, payload `symbol=BTCUSDT&side=BUY&...
  &timestamp=1591702613943` -> `3c6612...`) is pinned by tests/unit/test_aster_signing.py.
* V3: parameters + `user` (main wallet), `signer` (API wallet) and `nonce` (µs, unique per signer: the venue keeps
  each signer's last 100 nonces and refuses a repeat or a stale one) are url-encoded, keys sorted by ASCII
  ("Difference between V1 and V3": "Sort them by ASCII key order"); that exact string is `msg` of the EIP-712
  message `Message{msg: string}` in the domain {name "AsterSignTransaction", version "1", chainId 1666,
  verifyingContract 0x0}; `signature` (65 bytes hex, r s v) is appended. The venue verifies the string as sent
  ("the signed string must equal the final sent querystring"). Nothing else (no API key header) is sent.

Signing is pure: `sign(params)` returns the encoded string to send and the headers. V3 signing (eth-account, pure
Python keccak + secp256k1) takes about a millisecond: callers run it in a worker thread.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

EIP712_DOMAIN = {
    "name": "AsterSignTransaction",
    "version": "1",
    "chainId": 1666,
    "verifyingContract": "0x0000000000000000000000000000000000000000",
}
EIP712_TYPES = {"Message": [{"name": "msg", "type": "string"}]}
API_KEY_HEADER = "X-MBX-APIKEY"

Params = Sequence[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Signed:
    """A signed request: `payload` is the url-encoded parameters ending with `&signature=...` (query string for
    GET, form body otherwise); `headers` to add."""

    payload: str
    headers: Mapping[str, str]


class Signer(Protocol):
    """Signs the parameters of one request (fresh timestamp / nonce each call)."""

    scheme: str
    path_version: str
    """The `/fapi/<version>/` the scheme's private endpoints live under ("v1" or "v3")."""

    def sign(self, params: Params) -> Signed: ...

    def api_key_headers(self) -> Mapping[str, str]:
        """Headers of an API-key-only request (V1 `listenKey`); empty for V3 (it signs those too)."""
        ...


def hmac_hex(secret: str, payload: str) -> str:
    """hex HMAC-SHA256(secret, payload) (V1 `signature`)."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def encode(params: Params) -> str:
    """`k=v&...` url-encoded in the given order (values already text)."""
    return urlencode(list(params))


class HmacSigner:
    """V1: `X-MBX-APIKEY` + HMAC-SHA256 over the url-encoded parameters with `recvWindow` and `timestamp`.

    Args:
        api_key, api_secret: the key pair (never logged); recv_window_ms: `recvWindow`; clock_ms: epoch ms (tests).
    """

    scheme = "v1"
    path_version = "v1"

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        *,
        recv_window_ms: int = 5000,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self._key = api_key
        self._secret = api_secret
        self.recv_window_ms = recv_window_ms
        self._clock_ms = clock_ms

    def __repr__(self) -> str:
        return "HmacSigner(<secret>)"

    def sign(self, params: Params) -> Signed:
        body = encode(
            [*params, ("recvWindow", str(self.recv_window_ms)), ("timestamp", str(self._clock_ms()))]
        )
        return Signed(f"{body}&signature={hmac_hex(self._secret, body)}", {API_KEY_HEADER: self._key})

    def api_key_headers(self) -> Mapping[str, str]:
        return {API_KEY_HEADER: self._key}


class NonceClock:
    """Strictly increasing microsecond nonces (`time.time_ns() // 1000`, or the previous + 1). Thread-safe."""

    def __init__(self, clock_us: Callable[[], int] = lambda: time.time_ns() // 1000) -> None:
        self._clock_us = clock_us
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            self._last = max(self._last + 1, self._clock_us())
            return self._last


def eip712_message(msg: str) -> Any:
    """The `SignableMessage` of `Message{msg}` in Aster's domain (eth-account `encode_typed_data`)."""
    from eth_account.messages import encode_typed_data

    return encode_typed_data(domain_data=EIP712_DOMAIN, message_types=EIP712_TYPES, message_data={"msg": msg})


def eip712_sign(private_key: str, msg: str) -> str:
    """`0x` + 130 hex: the API wallet's signature of `msg` (r, s, v with v 27/28)."""
    from eth_account import Account

    signed = Account.sign_message(eip712_message(msg), private_key=private_key)
    text: str = signed.signature.hex()
    return text if text.startswith("0x") else "0x" + text


def eip712_recover(msg: str, signature: str) -> str:
    """The address (lower-case) whose key signed `msg` with `signature`.

    Raises:
        ValueError: a signature that is not 65 bytes of hex, or does not recover."""
    from eth_account import Account

    address: str = Account.recover_message(eip712_message(msg), signature=signature)
    return address.lower()


class WalletSigner:
    """V3: `user`, `signer`, `nonce` added, keys sorted by ASCII, url-encoded, EIP-712 signed by the API wallet.

    Args:
        user: the main account's address; signer: the API wallet's address; private_key: its key (never logged);
        nonces: the nonce source (share one per signer across clients of one process).
    """

    scheme = "v3"
    path_version = "v3"

    def __init__(self, user: str, signer: str, private_key: str, nonces: NonceClock | None = None) -> None:
        self.user = user
        self.signer = signer
        self._key = private_key
        self.nonces = nonces or NonceClock()

    def __repr__(self) -> str:
        return f"WalletSigner(user={self.user}, signer={self.signer})"

    def sign(self, params: Params) -> Signed:
        full = [*params, ("user", self.user), ("signer", self.signer), ("nonce", str(self.nonces.next()))]
        msg = encode(sorted(full, key=lambda kv: kv[0]))
        return Signed(f"{msg}&signature={eip712_sign(self._key, msg)}", {})

    def api_key_headers(self) -> Mapping[str, str]:
        return {}
