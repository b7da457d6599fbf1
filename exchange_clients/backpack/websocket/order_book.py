"""Backpack's depth feed onto the shared `OrderBook`: REST snapshot + WebSocket deltas with Backpack's sequence rule.

The `depth.<symbol>` stream sends no snapshot (venue-data/backpack/ws_depth_BTC_USDC_PERP_2026-09.json: "First frame
... after SUBSCRIBE (no snapshot, no ack): an ordinary delta; U must equal previous u + 1"): the book is seeded from
`GET /api/v1/depth` (`lastUpdateId`, a STRING on the wire, venue-data/backpack/rest_depth_SOL_fixture.json) and
deltas are applied on top:

* deltas arriving before the snapshot are buffered;
* a delta with `u` <= the book's last id is old and dropped;
* the first delta applied after a snapshot must straddle it (`U` <= last + 1 <= `u`); every later one must
  continue it (`U` == last `u` + 1). Anything else is a GAP: the book goes OUT_OF_SYNC (no prices served) and
  the stream fetches a new snapshot.

Levels are absolute sizes; a size of 0 ("0.00", "0.00000") deletes the level
(ws_depth_AAPL_US_USDC_PERP_delete_2026-09.json). Both REST sides are ascending by price (the best bid is the LAST
bid): the book sorts itself, order does not matter.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from exchange_clients.base.order_book import Level, OrderBook
from perparb_core import units


def levels(rows: Any, what: str) -> list[Level]:
    """`[[price, size], ...]` (decimal text) -> levels.

    Raises:
        ValueError: not a list of pairs, or a number that cannot be read."""
    if not isinstance(rows, list):
        raise ValueError(f"{what}: expected a list of [price, size]")
    out = []
    for row in rows:
        if not isinstance(row, (list, tuple)) or len(row) < 2:
            raise ValueError(f"{what}: level {row!r} is not [price, size]")
        try:
            out.append(
                (
                    units.to_decimal(row[0], f"{what} price"),
                    units.to_decimal(row[1], f"{what} size", allow_negative=False),
                )
            )
        except units.UnitError as exc:
            raise ValueError(str(exc)) from None
    return out


class DepthSync:
    """One market's book fed by snapshots and deltas (module docstring).

    Attributes:
        book: the shared `OrderBook` (its `sequence` is the last update id applied).
        buffered: deltas held until the next snapshot.
        resyncs: snapshots applied after a gap or a reconnect (not counting the first).
    """

    def __init__(self, book: OrderBook) -> None:
        self.book = book
        self.buffered: list[tuple[int, int, list[Level], list[Level]]] = []
        self.snapshots = 0
        self.waiting = True

    @property
    def resyncs(self) -> int:
        return max(self.snapshots - 1, 0)

    def reset(self) -> None:
        """Connection lost or gap: invalidate the book and buffer from now on until the next snapshot."""
        self.book.mark_out_of_sync()
        self.buffered.clear()
        self.waiting = True

    def on_snapshot(self, last_update_id: int, bids: Iterable[Level], asks: Iterable[Level]) -> bool:
        """Apply a REST snapshot, then the buffered deltas that follow it. Returns False on a gap among them."""
        self.book.apply_snapshot(bids, asks, sequence=last_update_id)
        self.snapshots += 1
        self.waiting = False
        pending, self.buffered = self.buffered, []
        return all(self.on_delta(first, last, b, a) for first, last, b, a in pending)

    def on_delta(self, first: int, last: int, bids: list[Level], asks: list[Level]) -> bool:
        """Apply one delta (`U` = `first`, `u` = `last`). Returns False on a gap (the book is then OUT_OF_SYNC
        and waits for a snapshot); True when applied, buffered or dropped as old."""
        if self.waiting:
            self.buffered.append((first, last, bids, asks))
            return True
        seq = self.book.sequence
        if not self.book.is_synced or seq is None:
            self.reset()
            return False
        if last <= seq:
            return True
        if not first <= seq + 1 <= last:
            self.book.mark_out_of_sync()
            self.book.gaps += 1
            self.waiting = True
            self.buffered = [(first, last, bids, asks)]
            return False
        return self.book.apply_update(bids, asks, sequence=last, prev_sequence=seq)


def parse_depth_delta(data: Any) -> tuple[str, int, int, list[Level], list[Level]]:
    """A `depth` push's `data` (`{e: "depth", s, U, u, b, a, E, T}`) -> (symbol, U, u, bids, asks).

    Raises:
        ValueError: not a depth event, or unreadable ids / levels."""
    if not isinstance(data, dict) or data.get("e") != "depth" or not isinstance(data.get("s"), str):
        raise ValueError("not a depth event")
    try:
        first, last = int(str(data["U"])), int(str(data["u"]))
    except (KeyError, ValueError):
        raise ValueError("depth event without integer U / u") from None
    return data["s"], first, last, levels(data.get("b", []), "b"), levels(data.get("a", []), "a")


def parse_depth_snapshot(body: Any) -> tuple[int, list[Level], list[Level]]:
    """`GET /api/v1/depth` -> (lastUpdateId, bids, asks).

    Raises:
        ValueError: not an object, or unreadable `lastUpdateId` / levels."""
    if not isinstance(body, dict):
        raise ValueError("depth body is not an object")
    try:
        last = int(str(body["lastUpdateId"]))
    except (KeyError, ValueError):
        raise ValueError("depth body without an integer lastUpdateId") from None
    return last, levels(body.get("bids", []), "bids"), levels(body.get("asks", []), "asks")


__all__ = ["Decimal", "DepthSync", "levels", "parse_depth_delta", "parse_depth_snapshot"]
