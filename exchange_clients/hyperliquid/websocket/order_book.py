"""Hyperliquid `l2Book` pushes -> `OrderBook`.

Every `l2Book` push is a WHOLE snapshot of the top levels (20 per side by default), not a delta, and carries no
sequence number: `{"channel":"l2Book","data":{"coin","time" (ms),"levels":[[bids best first],[asks best first]]}}`,
each level `{px, sz, n}` (venue-data/hyperliquid/ws_l2Book_BTC_2026-09_trimmed.json; docs websocket/subscriptions.md
`WsBook`; the probe report behind the recording: "Every l2Book push is a whole snapshot (no deltas, no sequence
id)"). So there is no gap to detect: each push replaces the book (`SnapshotOrderBook.replace`), its `time`
is kept as the book's sequence, and a push OLDER than the book's (a reordering across a reconnect) is ignored.
A delisted coin has both sides empty on every push (ws_l2Book_MATIC_delisted_empty_2026-09.json): the book is
then synced and empty, and serves no price.

Cost of a push: each side is replaced wholesale from the snapshot (no diff against the previous one). Prices come
back push after push (the book moves by a tick now and then), so they are memoised (`positive`: a dict lookup
for a price seen before); sizes change on every push in an active market, so they are parsed in one pass
(`map(Decimal, ...)`) and checked together (smallest > 0, largest finite) instead of one function call per level.
Measured throughput, both the realistic case and the worst case where every size is new on every push:
bench/bench_hyperliquid_book.py.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from operator import itemgetter
from typing import Any

from exchange_clients.base.order_book import SnapshotOrderBook
from exchange_clients.base.order_book_manager import OrderBookManager
from exchange_clients.hyperliquid.common import HyperliquidDataError

_POSITIVE: dict[str, Decimal] = {}
_KEPT = 100_000
_PX = itemgetter("px")
_SZ = itemgetter("sz")


def positive(text: str) -> Decimal:
    """A price or size string -> a positive finite Decimal, memoised: the same strings come back push after
    push (a snapshot repeats most levels), so a repeated string costs a dict lookup, not a parse and a check.

    Raises:
        ValueError: not a positive finite number (e.g. "0.0", "-1", "NaN", "")."""
    found = _POSITIVE.get(text)
    if found is not None:
        return found
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError):
        raise ValueError(f"{text!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{text!r} is not a positive number")
    if len(_POSITIVE) >= _KEPT:
        _POSITIVE.clear()
    _POSITIVE[text] = value
    return value


def side_of(rows: list[dict[str, Any]]) -> tuple[list[Decimal], list[Decimal]]:
    """`[{px, sz, n}]` -> (prices, sizes) as positive finite Decimals, the venue's order kept. Prices through the
    memo (`positive`), sizes parsed in one pass and checked together (module docstring).

    Raises:
        KeyError / TypeError / ValueError / InvalidOperation: a level without `px` / `sz`, or a value that is not
            a positive finite number (a NaN size raises InvalidOperation when compared)."""
    get = _POSITIVE.get
    prices = [get(p) or positive(p) for p in map(_PX, rows)]
    sizes = list(map(Decimal, map(_SZ, rows)))
    if sizes and not (min(sizes) > 0 and max(sizes).is_finite()):
        raise ValueError(f"a size of {[str(x) for x in sizes]} is not a positive finite number")
    return prices, sizes


def new_book_manager() -> OrderBookManager:
    """An `OrderBookManager` of `SnapshotOrderBook`s (whole-snapshot books)."""
    return OrderBookManager(factory=SnapshotOrderBook)


def apply_l2book(
    manager: OrderBookManager, frame: dict[str, Any], *, venue: str = "hyperliquid"
) -> bool | None:
    """Apply one decoded frame to the book of its coin (a `SnapshotOrderBook`, see `new_book_manager`).
    True: applied; False: older than the book (ignored) or a side out of order (book OUT_OF_SYNC until the next
    push); None: not an `l2Book` frame.

    Raises:
        HyperliquidDataError: an `l2Book` frame without `coin`, `time` or two level lists, or a level whose
            `px` / `sz` is missing or not a positive number.
    """
    if frame.get("channel") != "l2Book":
        return None
    data: Any = frame.get("data")
    try:
        coin = data["coin"]
        ts = int(data["time"])
        bid_rows, ask_rows = data["levels"]
        bid_px, bid_sz = side_of(bid_rows)
        ask_px, ask_sz = side_of(ask_rows)
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        market = data.get("coin") if isinstance(data, dict) else None
        raise HyperliquidDataError(f"malformed l2Book frame: {exc!r}", market, venue=venue) from None
    book = manager.book(coin)
    if not isinstance(book, SnapshotOrderBook):
        raise TypeError(f"{venue}: l2Book needs SnapshotOrderBook books (new_book_manager)")
    if book.is_synced and book.sequence is not None and ts < book.sequence:
        return False
    return book.replace(bid_px, bid_sz, ask_px, ask_sz, sequence=ts)
