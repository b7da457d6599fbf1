"""Order wires, actions and their signatures, through hyperliquid-python-sdk's `hyperliquid.utils.signing`.

What the SDK does here (0.24.0 `hyperliquid/utils/signing.py`; line numbers in
../shared/reference/hyperliquid_funding_units.md "Signing"):
* `order_request_to_order_wire` (l. 505): `{a, b, p, s, r, t[, c]}`, prices and sizes as `float_to_wire` strings
  (8 decimals at most, trailing zeros stripped: "1670.1");
* `order_wires_to_order_action` (l. 519): `{"type":"order","orders":[...],"grouping":"na"}`;
* `sign_l1_action` (l. 240): keccak of msgpack(action) || nonce (8 bytes BE) || vault flag, wrapped in the
  phantom agent `{source: "a" mainnet | "b" testnet, connectionId}` and signed as EIP-712 `Agent` (chainId 1337)
  -> `{"r": hex, "s": hex, "v": 27|28}`.
Cancel, cancel-by-cloid and update-leverage actions are built here with the SDK's key order (`Exchange.cancel`,
`cancel_by_cloid`, `update_leverage`: msgpack hashes the dict in insertion order, so the order matters).

Prices and sizes are `Decimal`s already on the venue's grid (`exchange_clients.base.trading`); they are handed to
the SDK as floats (its API), and the wire string is checked to be exactly the Decimal's: a value that a float
would change is refused, never sent rounded differently from what the caller asked.

Client order ids (`cloid`, 16 bytes hex): perparb's ids are decimal strings below 2^48
(`strategies.state.client_order_id`); `cloid_for("1741234567890123")` is that number as 16 big-endian bytes
(`Cloid.from_int`), and `client_order_id_of` gives the decimal string back, so an order is reconciled by its
cloid after a restart. Any other string maps to 0x01 followed by the first 15 bytes of its SHA-256 (stable
across restarts), remembered in `ClientOrderIds` to map back.

Signing is a pure-Python secp256k1 signature (eth-account, ~1 ms): callers run it in `asyncio.to_thread`. The
private key lives in the `LocalAccount` only; nothing here logs or formats it.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from hyperliquid.utils.signing import (
    action_hash,
    construct_phantom_agent,
    order_request_to_order_wire,
    order_wires_to_order_action,
    sign_l1_action,
)
from hyperliquid.utils.types import Cloid

from exchange_clients.base.trading import TimeInForce
from exchange_clients.hyperliquid.common import VENUE

MAX_PERPARB_ID = 2**48
_NUMERIC_TOP = bytes(10)  # a numeric id below 2^48 fills the last 6 of 16 bytes
TIF_WIRE = {TimeInForce.GTC: "Gtc", TimeInForce.IOC: "Ioc", TimeInForce.POST_ONLY: "Alo"}
"""perparb time in force -> Hyperliquid `tif` ("Alo" = add liquidity only = post-only; docs exchange-endpoint.md)."""


class SigningError(ValueError):
    """A value cannot be put on the wire exactly (a float would change it) or an id cannot be a cloid."""


def decimal_wire(value: Decimal) -> str:
    """The wire text of a price or size: `Decimal` normalised, no exponent, no trailing zeros ("1670.10" ->
    "1670.1", "100" -> "100")."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def cloid_for(client_order_id: str) -> str:
    """The 16-byte cloid (`0x` + 32 hex) of a client order id (module docstring).

    Raises:
        SigningError: an empty id.
    """
    value = client_order_id.strip()
    if not value:
        raise SigningError(f"{VENUE}: empty client order id")
    if value.isdigit() and not (len(value) > 1 and value[0] == "0") and 0 < int(value) < MAX_PERPARB_ID:
        return str(Cloid.from_int(int(value)))
    if (
        value.lower().startswith("0x")
        and len(value) == 34
        and all(c in "0123456789abcdefABCDEF" for c in value[2:])
    ):
        return "0x" + value[2:].lower()  # already a cloid (an order placed elsewhere)
    return "0x01" + hashlib.sha256(value.encode()).hexdigest()[:30]


def client_order_id_of(cloid: str | None, known: Callable[[str], str | None] | None = None) -> str | None:
    """The client order id a cloid stands for: the decimal string of a numeric one, the remembered string of a
    hashed one (`known(cloid)`), else the cloid itself; None for no cloid."""
    if not cloid:
        return None
    raw = cloid.lower()
    try:
        data = bytes.fromhex(raw[2:] if raw.startswith("0x") else raw)
    except ValueError:
        return cloid
    if len(data) == 16 and data[:10] == _NUMERIC_TOP and int.from_bytes(data, "big") > 0:
        return str(int.from_bytes(data, "big"))
    found = known(raw) if known is not None else None
    return found if found is not None else raw


class ClientOrderIds:
    """Client order id <-> cloid, remembering hashed (non-numeric) ids of this process (thread-safe)."""

    def __init__(self) -> None:
        self._by_cloid: dict[str, str] = {}
        self._lock = threading.Lock()

    def cloid(self, client_order_id: str) -> str:
        """The cloid of `client_order_id` (remembered when hashed). Raises SigningError for an empty id."""
        cloid = cloid_for(client_order_id)
        if cloid.startswith("0x01"):
            with self._lock:
                self._by_cloid[cloid] = client_order_id
        return cloid

    def client_order_id(self, cloid: str | None) -> str | None:
        """The caller's id of `cloid` (see `client_order_id_of`)."""
        return client_order_id_of(cloid, self._by_cloid.get)


class NonceClock:
    """Nonces of one signer: epoch milliseconds, strictly increasing in this process (docs
    nonces-and-api-wallets.md: the 100 highest nonces are kept per signer, a new one must exceed the smallest and
    be unused, and lie within (T - 2 days, T + 1 day))."""

    def __init__(self, clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000) -> None:
        self._clock_ms = clock_ms
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            self._last = max(self._last + 1, self._clock_ms())
            return self._last


def order_wire(
    asset: int,
    *,
    is_buy: bool,
    price: Decimal,
    size: Decimal,
    reduce_only: bool,
    tif: TimeInForce,
    cloid: str | None,
) -> dict[str, Any]:
    """One order wire `{a, b, p, s, r, t: {limit: {tif}}[, c]}` built by the SDK (`order_request_to_order_wire`).

    Raises:
        SigningError: the SDK's wire text of `price` or `size` differs from the Decimal's (`decimal_wire`), or
            a non-positive value.
    """
    if price <= 0 or size <= 0:
        raise SigningError(f"{VENUE}: price and size must be positive (got {price}, {size})")
    request: dict[str, Any] = {
        "coin": "",  # not read by order_request_to_order_wire (the asset id is)
        "is_buy": is_buy,
        "sz": float(size),
        "limit_px": float(price),
        "order_type": {"limit": {"tif": TIF_WIRE[tif]}},
        "reduce_only": reduce_only,
        "cloid": Cloid.from_str(cloid) if cloid else None,
    }
    try:
        wire: dict[str, Any] = order_request_to_order_wire(request, asset)
    except ValueError as exc:  # float_to_wire: "float_to_wire causes rounding"
        raise SigningError(f"{VENUE}: {price} / {size} cannot be sent exactly: {exc}") from None
    for key, value in (("p", price), ("s", size)):
        if wire[key] != decimal_wire(value):
            raise SigningError(f"{VENUE}: wire {key}={wire[key]!r} differs from {value}")
    return wire


def order_action(wires: list[dict[str, Any]]) -> dict[str, Any]:
    """`{"type":"order","orders":wires,"grouping":"na"}` (SDK `order_wires_to_order_action`)."""
    action: dict[str, Any] = order_wires_to_order_action(wires)
    return action


def cancel_action(cancels: list[tuple[int, int]]) -> dict[str, Any]:
    """`{"type":"cancel","cancels":[{"a": asset, "o": oid}]}` (SDK `Exchange.bulk_cancel` key order)."""
    return {"type": "cancel", "cancels": [{"a": asset, "o": oid} for asset, oid in cancels]}


def cancel_by_cloid_action(cancels: list[tuple[int, str]]) -> dict[str, Any]:
    """`{"type":"cancelByCloid","cancels":[{"asset": asset, "cloid": "0x..."}]}` (SDK `bulk_cancel_by_cloid`)."""
    return {
        "type": "cancelByCloid",
        "cancels": [{"asset": asset, "cloid": cloid} for asset, cloid in cancels],
    }


def update_leverage_action(asset: int, leverage: int, *, is_cross: bool) -> dict[str, Any]:
    """`{"type":"updateLeverage","asset","isCross","leverage"}` (SDK `Exchange.update_leverage`)."""
    return {"type": "updateLeverage", "asset": asset, "isCross": is_cross, "leverage": leverage}


class ActionSigner:
    """Signs L1 actions with one agent (or main) key.

    Args:
        private_key: the key (hex); kept only inside an eth_account `LocalAccount`.
        is_mainnet: phantom-agent source "a" (mainnet) or "b" (testnet / simulator).
        vault_address: trade for a vault or sub-account (`vaultAddress`); None for the account itself.
    """

    def __init__(self, private_key: str, *, is_mainnet: bool, vault_address: str | None = None) -> None:
        from eth_account import Account

        self._wallet = Account.from_key(private_key)
        self.address: str = self._wallet.address.lower()
        self.is_mainnet = is_mainnet
        self.vault_address = vault_address

    def __repr__(self) -> str:
        return f"ActionSigner(address={self.address}, mainnet={self.is_mainnet})"

    def sign(self, action: dict[str, Any], nonce: int) -> dict[str, Any]:
        """`{"r","s","v"}` of `action` at `nonce` (SDK `sign_l1_action`, no expiry). Blocking (~1 ms)."""
        signature: dict[str, Any] = sign_l1_action(
            self._wallet, action, self.vault_address, nonce, None, self.is_mainnet
        )
        return signature

    def payload(self, action: dict[str, Any], nonce: int) -> dict[str, Any]:
        """The `/exchange` body of `action` signed at `nonce`, as `Exchange._post_action` sends it:
        `{"action", "nonce", "signature", "vaultAddress", "expiresAfter"}`. Blocking (signs)."""
        return {
            "action": action,
            "nonce": nonce,
            "signature": self.sign(action, nonce),
            "vaultAddress": self.vault_address,
            "expiresAfter": None,
        }


def connection_id(
    action: dict[str, Any], nonce: int, *, is_mainnet: bool, vault_address: str | None = None
) -> str:
    """The phantom agent's `connectionId` (hex) of `action` at `nonce`: what the signature covers."""
    agent = construct_phantom_agent(action_hash(action, vault_address, nonce, None), is_mainnet)
    return "0x" + bytes(agent["connectionId"]).hex()
