"""Lighter's spellings of the engine's values and its number formats (the wire layer): order status words per
engine `Reason`, time-in-force words, USDC / plain decimal text, transaction hashes, cursors, and `OrderMeta` (what
the venue shows of an order beyond the engine's).

The engine keeps ONE internal enum (`OrderStatus`, `Reason`, spelled `CANCELLED`); Lighter spells a cancelled order
"canceled" / "canceled-<why>" (lighter-sdk 1.1.8 `lighter/models/order.py`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from simulator.engine import Order, OrderStatus, Reason, TimeInForce
from simulator.formats import fixed
from simulator.lighter.errors import INVALID_PARAM, LighterRequestError

ORDER_INDEX_BASE = 1 << 48  # order indexes are >= 2^48; client order indexes are 1..2^48-1


USDC_PLACES = 6

TIF_WORDS = {
    TimeInForce.IOC: "immediate-or-cancel",
    TimeInForce.GTC: "good-till-time",
    TimeInForce.POST_ONLY: "post-only",
}

# Lighter `Order.status` per reason (enum of lighter-sdk 1.1.8 `lighter/models/order.py`). Rejections that
# Lighter answers at `sendTx` (bad tick, size...) are the venue's API errors; they map to plain "canceled".
LIGHTER_STATUS: dict[Reason, str] = {
    Reason.POST_ONLY_WOULD_CROSS: "canceled-post-only",
    Reason.REDUCE_ONLY_WOULD_INCREASE: "canceled-reduce-only",
    Reason.REDUCE_ONLY_EXCEEDS_POSITION: "canceled-reduce-only",
    Reason.REDUCE_ONLY_POSITION_CHANGED: "canceled-reduce-only",
    Reason.INSUFFICIENT_MARGIN: "canceled-margin-not-allowed",
    Reason.PRICE_BOUND: "canceled-too-much-slippage",
    Reason.NO_LIQUIDITY: "canceled-not-enough-liquidity",
    Reason.SELF_TRADE: "canceled-self-trade",
    Reason.LIQUIDATION: "canceled-liquidation",
}


def lighter_status(order: Order) -> str:
    """Lighter `status` word of an order ("open", "filled", "canceled-post-only", ...)."""
    if order.status is OrderStatus.OPEN or order.status is OrderStatus.PARTIALLY_FILLED:
        return "open" if order.resting else "filled"
    if order.status is OrderStatus.FILLED:
        return "filled"
    return LIGHTER_STATUS.get(order.reason, "canceled") if order.reason is not None else "canceled"


def usdc(value: Decimal) -> str:
    """USDC text with 6 decimals."""
    return fixed(value, USDC_PLACES)


def plain(value: Decimal) -> str:
    """Exact decimal text without exponent or trailing zeros ("0.00003", "-1.5", "0")."""
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


def hash_tx(text: str) -> str:
    """`tx_hash` of a transaction: BLAKE2b-320 of its text (80 hex digits; the signer's Poseidon hash is not
    recomputed)."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=40).hexdigest()


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
        offset = value["o"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise LighterRequestError(INVALID_PARAM, detail=f"cursor {cursor!r}") from None
    if not isinstance(offset, int) or offset < 0:
        raise LighterRequestError(INVALID_PARAM, detail=f"cursor {cursor!r}")
    return offset


def paginate(
    rows: list[dict[str, Any]], limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of `rows` from an opaque cursor (base64 offset) and the next cursor (None on the last page).

    Raises:
        LighterRequestError: 20001 for a malformed cursor.
    """
    start = _decode_cursor(cursor)
    chunk = rows[start : start + limit]
    nxt = _encode_cursor(start + limit) if start + limit < len(rows) else None
    return chunk, nxt


def sign_of(value: Decimal) -> int:
    """1, -1 or 0."""
    return 1 if value > 0 else (-1 if value < 0 else 0)


@dataclass
class OrderMeta:
    """What the venue shows of an order beyond the engine's `Order`.

    Attributes:
        order_index: the Lighter order index (recorded orders keep theirs; others 2^48 + engine order id).
        owner: account index shown as the owner (recorded orders: the recorded owner).
        nonce / api_key_index / tx_hash / block_height: of the transaction that created it (0 / "" for makers).
        order_expiry: `OrderExpiry` of the transaction (ms; 0 for IOC / market), or the recorded one.
        initial_size: size shown as `initial_base_amount` when it differs from the engine's (recorded orders).
    """

    order_index: int
    owner: int
    nonce: int = 0
    api_key_index: int = 0
    tx_hash: str = ""
    block_height: int = 0
    order_expiry: int = 0
    initial_size: Decimal | None = None
    transaction_time_us: int | None = None
