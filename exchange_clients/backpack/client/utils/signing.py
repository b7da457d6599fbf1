"""Signed requests through bpx-py (`bpx.base.base_account.BaseAccount`), and client ids.

bpx-py 2.0.11 builds every signed request: `BaseAccount.execute_order(...)` -> `RequestConfiguration(url,
headers, params | data)`, the headers carrying `X-API-Key`, `X-Signature` (base64 ED25519 over
`instruction=<name>&<params sorted by key, booleans lower-case>&timestamp=<ms>&window=<ms>`), `X-Timestamp`,
`X-Window` (docs "Authentication"; bpx-api-client `client/src/lib.rs` `build_signed_request`). Its URLs start with
the class attribute `BPX_API_URL` (mainnet): `BackpackSigner` sets it on its own instance to the configured
`rest_url`, so the same code signs for mainnet, the simulator or a stub. Signing is one ED25519 signature through
`cryptography` (OpenSSL, ~50 µs): it runs on the event loop. The secret seed lives inside bpx-py's private-key
object only; nothing here logs or formats it (`debug=False`: bpx-py would print headers otherwise).

WebSocket private streams are signed the same way with instruction "subscribe" and no parameters
(`ws_signature`).

Client ids: Backpack's `clientId` is a u32 (venue-data/backpack/rest_order_execute_market_clientId_ADA_perp_*.json
source note; bpx-py types it `int`). perparb's ids are decimal numbers 2^47 + run_id x 2^23 + seq below 2^48
(`strategies.state.client_order_id`), so `ClientIds.wire(id)` sends their low 32 bits, (run_id mod 512) x 2^23 +
seq, and remembers the id it stands for; the same id always gives the same `clientId`, so after a restart an
order is found by the id the database holds (`GET /api/v1/order?clientId=`). `ClientIds.perparb(client_id)` maps a
venue `clientId` back: the remembered id, else the number itself as text (an order placed by another process whose
id this one has not asked about yet). Two runs whose ids agree modulo 512 share `clientId`s: reconciliation only
ever asks about an order of the run being recovered. Ids that are numbers below 2^32 are sent as they are; any
other text maps to a stable CRC-32 (never 0), remembered.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Callable
from typing import Any

from exchange_clients.backpack.common import VENUE
from exchange_clients.backpack.http import SignedRequest

U32 = 1 << 32
PERPARB_BASE = 1 << 47
PERPARB_TOP = 1 << 48


class ClientIdError(ValueError):
    """An empty client order id."""


def wire_client_id(client_order_id: str) -> int:
    """The u32 `clientId` of a client order id (module docstring). Pure.

    Raises:
        ClientIdError: an empty id."""
    value = client_order_id.strip()
    if not value:
        raise ClientIdError(f"{VENUE}: empty client order id")
    if value.isdigit():
        number = int(value)
        if 0 < number < U32:
            return number
        if PERPARB_BASE < number < PERPARB_TOP:
            return (number - PERPARB_BASE) % U32
    return zlib.crc32(value.encode()) or 1


class ClientIds:
    """Client order id <-> u32 `clientId`, remembering the ids this process has used (thread-safe)."""

    def __init__(self) -> None:
        self._by_wire: dict[int, str] = {}
        self._lock = threading.Lock()

    def wire(self, client_order_id: str) -> int:
        """The `clientId` of `client_order_id`, remembered. Raises ClientIdError for an empty id."""
        wire = wire_client_id(client_order_id)
        with self._lock:
            self._by_wire[wire] = client_order_id.strip()
        return wire

    def perparb(self, client_id: Any) -> str | None:
        """The caller's id of a venue `clientId` (number or text); None for none."""
        if client_id is None or client_id == "":
            return None
        try:
            wire = int(str(client_id))
        except ValueError:
            return str(client_id)
        with self._lock:
            return self._by_wire.get(wire, str(wire))


class BackpackSigner:
    """bpx-py's request builder and signer for one API key pair, pointed at `rest_url`.

    Args:
        api_key: base64 ED25519 public key; api_secret: base64 seed (secret); rest_url: the API root;
        window_ms: `X-Window`.
    """

    def __init__(self, api_key: str, api_secret: str, rest_url: str, window_ms: int = 5000) -> None:
        from bpx.base.base_account import BaseAccount

        self.api_key = api_key
        self.window_ms = window_ms
        self._account = BaseAccount(api_key, api_secret, window_ms, False)
        self._account.BPX_API_URL = rest_url.rstrip("/") + "/"

    def build(self, method: str, name: str, *args: Any, **kwargs: Any) -> SignedRequest:
        """`BaseAccount.<name>(*args, **kwargs)` as a `SignedRequest` sent with `method`."""
        config = getattr(self._account, name)(*args, **kwargs)
        return SignedRequest(method, config.url, config.headers or {}, params=config.params, data=config.data)

    def builder(self, method: str, name: str, *args: Any, **kwargs: Any) -> Callable[[], SignedRequest]:
        """A function building (and so signing, with a fresh timestamp) the request on every call."""
        return lambda: self.build(method, name, *args, **kwargs)

    def ws_signature(self) -> list[str]:
        """`[api_key, signature, timestamp, window]` of a private WebSocket SUBSCRIBE (instruction "subscribe",
        docs "Streams: private")."""
        timestamp = int(time.time() * 1000)
        signature = self._account._sign({}, "subscribe", timestamp, self.window_ms)
        return [self.api_key, signature, str(timestamp), str(self.window_ms)]
