"""Backpack's request signatures in the simulator: every signed request's ED25519 signature is VERIFIED.

Headers (docs "Authentication"; bpx-py `BaseAccount._headers`): `X-API-Key` (base64 ED25519 public key),
`X-Signature` (base64 signature), `X-Timestamp` (ms), `X-Window` (ms, default 5000, at most 60000). The signed text
is `instruction=<name>&<params sorted by key>&timestamp=<ms>&window=<ms>`: the query parameters of a GET, the JSON
body fields of a POST / DELETE / PATCH, booleans as `true` / `false`, other values as their text (bpx-py `_sign`;
bpx-api-client `build_signee_query_and_payload`). The instruction follows from the method and path
(`INSTRUCTIONS`).

Refusals (bodies `{"code", "message"}`; statuses are the simulator's guesses, codes are `ApiErrorCode` names):
missing headers -> 401 UNAUTHORIZED "Missing ..."; an API key no account holds -> 401 UNAUTHORIZED "API key not
found"; a signature that does not verify -> 401 INVALID_SIGNATURE "Invalid signature"; a timestamp outside its
window -> 400 INVALID_CLIENT_REQUEST "Request has expired". The window is checked on the WALL clock (bpx-py stamps
requests with `time.time()`, the simulation clock may run faster). Keys are public; secrets never reach the simulator.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from simulator.backpack.errors import BackpackApiError, invalid

INSTRUCTIONS = {
    ("GET", "/api/v1/account"): "accountQuery",
    ("PATCH", "/api/v1/account"): "accountUpdate",
    ("GET", "/api/v1/capital"): "balanceQuery",
    ("GET", "/api/v1/capital/collateral"): "collateralQuery",
    ("GET", "/api/v1/position"): "positionQuery",
    ("POST", "/api/v1/order"): "orderExecute",
    ("DELETE", "/api/v1/order"): "orderCancel",
    ("GET", "/api/v1/order"): "orderQuery",
    ("GET", "/api/v1/orders"): "orderQueryAll",
    ("DELETE", "/api/v1/orders"): "orderCancelAll",
    ("GET", "/wapi/v1/history/fills"): "fillHistoryQueryAll",
    ("GET", "/wapi/v1/history/funding"): "fundingHistoryQueryAll",
    ("GET", "/wapi/v1/history/orders"): "orderHistoryQueryAll",
}
MAX_WINDOW_MS = 60_000


def signing_text(instruction: str, params: Mapping[str, Any], timestamp: int, window: int) -> str:
    """The text Backpack signs (module docstring)."""
    parts = [f"instruction={instruction}"]
    for key in sorted(params):
        value = params[key]
        parts.append(f"{key}={str(value).lower() if isinstance(value, bool) else value}")
    parts += [f"timestamp={timestamp}", f"window={window}"]
    return "&".join(parts)


def public_key(api_key: str) -> Ed25519PublicKey:
    """The ED25519 public key of a base64 `X-API-Key`. Raises ValueError."""
    try:
        raw = base64.b64decode(api_key, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("X-API-Key is not base64") from None
    if len(raw) != 32:
        raise ValueError("X-API-Key is not a 32-byte ED25519 key")
    return Ed25519PublicKey.from_public_bytes(raw)


def verify(
    headers: Mapping[str, str],
    instruction: str,
    params: Mapping[str, Any],
    known: Mapping[str, Any],
    *,
    now_ms: int | None = None,
) -> str:
    """Check a signed request; returns its API key.

    Args:
        headers: the request headers; instruction: from `INSTRUCTIONS`; params: the signed parameters;
        known: API key -> its account (a key absent here is unknown).

    Raises:
        BackpackApiError: the refusals of the module docstring.
    """
    api_key, signature = headers.get("X-API-Key"), headers.get("X-Signature")
    stamp, window_text = headers.get("X-Timestamp"), headers.get("X-Window", "5000")
    if not api_key or not signature or not stamp:
        raise BackpackApiError(401, "UNAUTHORIZED", "Missing X-API-Key, X-Signature or X-Timestamp header")
    try:
        timestamp, window = int(stamp), int(window_text)
    except ValueError:
        raise invalid("X-Timestamp and X-Window must be integers") from None
    if not 0 < window <= MAX_WINDOW_MS:
        raise invalid(f"X-Window must be 1..{MAX_WINDOW_MS}")
    now = int(time.time() * 1000) if now_ms is None else now_ms
    if timestamp > now + window or now - timestamp > window:
        raise invalid("Request has expired")
    if api_key not in known:
        raise BackpackApiError(401, "UNAUTHORIZED", "API key not found")
    try:
        key = public_key(api_key)
        key.verify(
            base64.b64decode(signature, validate=True),
            signing_text(instruction, params, timestamp, window).encode(),
        )
    except (ValueError, binascii.Error, InvalidSignature):
        raise BackpackApiError(401, "INVALID_SIGNATURE", "Invalid signature") from None
    return api_key


def verify_ws(signature: Any, known: Mapping[str, Any]) -> str:
    """Check the `signature` of a private WebSocket SUBSCRIBE: `[api_key, signature, timestamp, window]` over
    `instruction=subscribe&timestamp=..&window=..`; returns the API key.

    Raises:
        BackpackApiError: as `verify`."""
    if (
        not isinstance(signature, list)
        or len(signature) != 4
        or not all(isinstance(s, str) for s in signature)
    ):
        raise BackpackApiError(
            401, "UNAUTHORIZED", "signature must be [api_key, signature, timestamp, window]"
        )
    api_key, sig, stamp, window = signature
    return verify(
        {"X-API-Key": api_key, "X-Signature": sig, "X-Timestamp": stamp, "X-Window": window},
        "subscribe",
        {},
        known,
    )
