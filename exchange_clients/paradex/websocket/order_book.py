"""Paradex `order_book.{m}.snapshot@15@{50|100}ms` / `.deltas@...` pushes -> `OrderBook` (PROTOCOL_NOTES §2.5).

`update_type "s"`: the full top of book (levels in `inserts`); `"d"`: changes in `inserts`/`updates` (absolute
sizes) and `deletes`. `seq_no` increases by one per message. On the deltas feed any other step is a gap: the book goes
out of sync and the manager's `on_gap` asks for a resubscription; on the snapshot feed a skipped `seq_no` is
counted in `book.gaps` and the push itself resynchronises the book. Recorded frame:
venue-data/paradex/ws_order_book_btc_snapshot.json.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from exchange_clients.base.order_book import Level
from exchange_clients.base.order_book_manager import OrderBookManager
from exchange_clients.paradex.common import ParadexDataError

_ZERO = Decimal(0)


def apply_frame(manager: OrderBookManager, frame: dict[str, Any]) -> bool | None:
    """Apply one decoded JSON-RPC push. Returns True (applied), False (gap) or None (not an order-book push).

    Raises:
        ParadexDataError: an order-book push with a missing or malformed field.
    """
    params = frame.get("params") or {}
    channel = params.get("channel", "")
    if frame.get("method") != "subscription" or not channel.startswith("order_book."):
        return None
    data = params.get("data") or {}
    market = data.get("market") or channel.split(".")[1]
    try:
        seq = int(data["seq_no"])
        bids: list[Level] = []
        asks: list[Level] = []
        for key in ("inserts", "updates"):
            for row in data.get(key) or []:
                level = (Decimal(row["price"]), Decimal(row["size"]))
                (bids if row["side"] == "BUY" else asks).append(level)
        for row in data.get("deletes") or []:
            (bids if row["side"] == "BUY" else asks).append((Decimal(row["price"]), _ZERO))
        kind = data["update_type"]
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise ParadexDataError(f"malformed order_book push on {channel!r}: {exc!r}", market=market) from None
    book = manager.book(market)
    if kind == "s":
        # A snapshot push is complete in itself: a skipped seq_no is counted (and logged by the caller via
        # `gaps`) but heals at once, no resubscription needed.
        if book.is_synced and book.sequence is not None and seq != book.sequence + 1:
            book.gaps += 1
        book.apply_snapshot(bids, asks, sequence=seq)
        return True
    if book.apply_update(bids, asks, sequence=seq):
        return True
    manager.gap(market)
    return False
