"""Small helpers shared by the simulated venues: number formatting, level aggregation, JSON responses."""

from __future__ import annotations

import json
import logging
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from aiohttp import web

from perparb_core.units import UnitError, to_decimal

log = logging.getLogger("perparb.simulator")


def fixed(value: Decimal, places: int) -> str:
    """`value` rounded half-even to `places` decimals, as plain text ("0.0012", "-1.50")."""
    quantum = Decimal(1).scaleb(-places)
    text = format(value.quantize(quantum, rounding=ROUND_HALF_EVEN), "f")
    if text.startswith("-") and Decimal(text) == 0:
        text = text[1:]
    return text


def decimal_or_none(value: Any, field: str, *, context: str) -> Decimal | None:
    """Read a scenario number with `units.to_decimal`; None (logged at DEBUG) when absent or malformed.

    The simulator derives WebSocket frames from scenario bodies; a malformed value there is the scenario's
    business (it may be a deliberate bad row), so the derived field falls back instead of failing the frame.
    """
    if value is None:
        return None
    try:
        return to_decimal(value, field)
    except UnitError as exc:
        log.debug("%s: %s", context, exc)
        return None


def aggregate_levels(
    orders: list[dict[str, Any]], *, ascending: bool, size_places: int | None
) -> list[dict[str, str]]:
    """Aggregate individual orders (Lighter `SimpleOrder`: `price`, `remaining_base_amount`) into price levels.

    Args:
        orders: order rows; rows whose price or remaining size is missing/malformed/non-positive are skipped.
        ascending: True for asks (lowest first), False for bids (highest first).
        size_places: decimals of the summed size (the market's `size_decimals`); None keeps the exact sum.

    Returns:
        `[{"price": str, "size": str}]` — the Lighter WS `order_book` level shape, price text as first seen.
    """
    sizes: dict[Decimal, Decimal] = {}
    texts: dict[Decimal, str] = {}
    for row in orders:
        price = decimal_or_none(row.get("price"), "price", context="orderBookOrders")
        size = decimal_or_none(
            row.get("remaining_base_amount"), "remaining_base_amount", context="orderBookOrders"
        )
        if price is None or size is None or price <= 0 or size <= 0:
            continue
        sizes[price] = sizes.get(price, Decimal(0)) + size
        texts.setdefault(price, str(row["price"]))
    levels = []
    for price in sorted(sizes, reverse=not ascending):
        size = sizes[price]
        levels.append(
            {
                "price": texts[price],
                "size": fixed(size, size_places) if size_places is not None else str(size),
            }
        )
    return levels


def dumps(body: Any) -> str:
    """Compact JSON text (the venues send compact frames)."""
    return json.dumps(body, separators=(",", ":"))


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """An `application/json` response of `body`."""
    return web.Response(text=dumps(body), status=status, content_type="application/json", headers=headers)
