"""Paradex's spellings of the engine's values and its number and paging formats (the wire layer): `cancel_reason`
per engine `Reason`, order sides / types / instructions, plain decimal text, subscription frames, query integers and
paged results.

The engine keeps ONE internal enum (`OrderStatus`, `Reason`, spelled `CANCELLED`); Paradex spells a user
cancellation "USER_CANCELED" (recorded `rest_order_closed_user_canceled.json`).
"""

from __future__ import annotations

import base64
import binascii
import json
from decimal import Decimal, InvalidOperation
from typing import Any

from simulator.engine import OrderType, Reason, Side, TimeInForce
from simulator.formats import dumps
from simulator.paradex.errors import ParadexApiError

PAGE_SIZE_DEFAULT = 100
PAGE_SIZE_MAX = 5000
SETTLEMENT_ASSET = "USDC"
# The engine's self-trade prevention cancels the resting order (simulator.engine.matching docstring).
ENGINE_STP = "EXPIRE_MAKER"
PRIVATE_PREFIXES = ("orders.", "fills.", "funding_payments.")
PRIVATE_EXACT = ("positions", "account")
INSTRUCTIONS = {"GTC": TimeInForce.GTC, "POST_ONLY": TimeInForce.POST_ONLY, "IOC": TimeInForce.IOC}
ORDER_TYPES = {"LIMIT": OrderType.LIMIT, "MARKET": OrderType.MARKET}
SIDES = {"BUY": Side.BUY, "SELL": Side.SELL}
STP_MODES = ("EXPIRE_MAKER", "EXPIRE_TAKER", "EXPIRE_BOTH")

# Paradex `cancel_reason` per reason. Recorded: USER_CANCELED (rest_order_closed_user_canceled.json),
# NOT_ENOUGH_MARGIN (rest_order_create_docexample.json), ORDER_SIZE_BELOW_MIN (rest_orders-history_sol.json).
# The others are not recorded: the wire layer falls back to the reason's name in upper case.
PARADEX_CANCEL_REASON: dict[Reason, str] = {
    Reason.USER_CANCELLED: "USER_CANCELED",
    Reason.INSUFFICIENT_MARGIN: "NOT_ENOUGH_MARGIN",
    Reason.MIN_NOTIONAL: "ORDER_SIZE_BELOW_MIN",
    Reason.MIN_SIZE: "ORDER_SIZE_BELOW_MIN",
}


def paradex_cancel_reason(reason: Reason | None) -> str:
    """Paradex `cancel_reason` text for `reason` ("" when None)."""
    if reason is None:
        return ""
    return PARADEX_CANCEL_REASON.get(reason, reason.name)


def dec_text(value: Decimal) -> str:
    """Plain decimal text of `value` without exponent or trailing zeros ("0.5", "3600", "-0.00012"; 0 -> "0")."""
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def subscription_frame(channel: str, data: dict[str, Any]) -> dict[str, Any]:
    """A JSON-RPC `subscription` push on `channel` (the exact subscribed name)."""
    return {"jsonrpc": "2.0", "method": "subscription", "params": {"channel": channel, "data": data}}


def choice(table: dict[str, Any], value: Any) -> Any:
    """`table[value]` for a string key, else None (unhashable JSON values included)."""
    return table.get(value) if isinstance(value, str) else None


def parse_decimal(value: Any, name: str, *, positive: bool = False) -> Decimal:
    """A decimal string (or number) from an order body. Raises 400 VALIDATION_ERROR."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ParadexApiError(400, "VALIDATION_ERROR", f"{name} must be a decimal string, got {value!r}")
    try:
        dec = Decimal(str(value).strip())
    except InvalidOperation:
        raise ParadexApiError(400, "VALIDATION_ERROR", f"{name} is not a number: {value!r}") from None
    if not dec.is_finite() or (positive and dec <= 0):
        raise ParadexApiError(400, "VALIDATION_ERROR", f"{name} must be a positive number, got {value!r}")
    return dec


def query_int(query: Any, name: str, *, low: int | None = None, high: int | None = None) -> int | None:
    """Integer query parameter (None when absent), optionally within [low, high].

    Raises:
        ParadexApiError: 400 INVALID_REQUEST_PARAMETER otherwise.
    """
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ParadexApiError(
            400, "INVALID_REQUEST_PARAMETER", f"{name} must be an integer, got {raw!r}"
        ) from None
    if (low is not None and value < low) or (high is not None and value > high):
        raise ParadexApiError(400, "INVALID_REQUEST_PARAMETER", f"{name} must be {low}..{high}, got {value}")
    return value


def paged(rows: list[dict[str, Any]], key: str, query: Any) -> dict[str, Any]:
    """`PaginatedAPIResults` of `rows` (newest first, each with `created_at` ms): `start_at`/`end_at` window,
    `page_size` (1..5000, default 100), opaque `cursor` (base64url JSON `{k, o, s, e}`: endpoint key, offset,
    window; a cursor carries its window)."""
    size = query_int(query, "page_size", low=1, high=PAGE_SIZE_MAX) or PAGE_SIZE_DEFAULT
    start_at, end_at = query_int(query, "start_at"), query_int(query, "end_at")
    offset = 0
    cursor = query.get("cursor")
    if cursor:
        try:
            data = json.loads(base64.urlsafe_b64decode(cursor.encode()).decode())
            cur_key, offset, start_at, end_at = data["k"], data["o"], data["s"], data["e"]
        except (binascii.Error, ValueError, UnicodeDecodeError, KeyError, TypeError):
            raise ParadexApiError(400, "INVALID_REQUEST_PARAMETER", "invalid cursor") from None
        if cur_key != key or not isinstance(offset, int) or offset < 0:
            raise ParadexApiError(400, "INVALID_REQUEST_PARAMETER", "invalid cursor")
    if start_at is not None and end_at is not None and start_at > end_at:
        raise ParadexApiError(400, "INVALID_REQUEST_PARAMETER", "start_at is after end_at")
    selected = [
        r
        for r in rows
        if (start_at is None or r["created_at"] >= start_at) and (end_at is None or r["created_at"] <= end_at)
    ]

    def encode(at: int) -> str:
        raw = dumps({"k": key, "o": at, "s": start_at, "e": end_at})
        return base64.urlsafe_b64encode(raw.encode()).decode()

    return {
        "next": encode(offset + size) if offset + size < len(selected) else None,
        "prev": encode(max(0, offset - size)) if offset > 0 else None,
        "results": selected[offset : offset + size],
    }
