"""Lighter `order_book/{m}` frames -> `OrderBook` (PROTOCOL_NOTES §1.5).

`subscribed/order_book` is a full snapshot (`begin_nonce` 0); each `update/order_book` carries absolute level
sizes ("0.0000" deletes) and chains `begin_nonce` to the previous frame's `nonce`. A frame that does not chain
is a lost batch (recorded: venue-data/lighter/ws_update_order_book_market0_gap_delete.json): the book goes out of
sync and the manager's `on_gap` asks for a resubscription (Lighter sends no new snapshot on a duplicate subscribe,
error 30003: unsubscribe first). Channel names in responses use ":" ("order_book:0").
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from exchange_clients.base.order_book import Level
from exchange_clients.base.order_book_manager import OrderBookManager
from exchange_clients.lighter.common import LighterDataError


def _levels(rows: list[dict[str, str]]) -> list[Level]:
    return [(Decimal(r["price"]), Decimal(r["size"])) for r in rows]


def apply_frame(manager: OrderBookManager, frame: dict[str, Any]) -> bool | None:
    """Apply one decoded frame. Returns True (applied), False (gap: book out of sync, `on_gap` called) or None
    (not an order-book frame).

    Raises:
        LighterDataError: an order-book frame without its `order_book` object, nonces or levels.
    """
    kind = frame.get("type", "")
    if not kind.endswith("/order_book"):
        return None
    channel = frame.get("channel", "")
    market = channel.split(":", 1)[1] if ":" in channel else channel
    try:
        ob = frame["order_book"]
        bids, asks = _levels(ob["bids"]), _levels(ob["asks"])
        nonce = int(ob["nonce"])
        begin = int(ob.get("begin_nonce", 0))
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise LighterDataError(f"malformed order_book frame on {channel!r}: {exc!r}", market=market) from None
    book = manager.book(market)
    if kind == "subscribed/order_book":
        book.apply_snapshot(bids, asks, sequence=nonce)
        return True
    if book.apply_update(bids, asks, sequence=nonce, prev_sequence=begin):
        return True
    manager.gap(market)
    return False
