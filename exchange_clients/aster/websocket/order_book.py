"""Local order books of Aster's diff-depth stream, kept with the venue's sequence rules.

Rules (asterdex/api-docs@265e024 V3 "How to manage a local order book correctly"; frame
venue-data/aster/ws_depthUpdate_BTCUSDT_2025-08.json `{e:"depthUpdate", E, T, s, U, u, pu, b, a}`):

1. buffer the `<symbol>@depth` events; 2. take a REST snapshot (`GET /fapi/v1/depth?limit=1000`, `lastUpdateId`);
3. drop buffered events with `u` < `lastUpdateId`; 4. the first event applied must have `U` <= `lastUpdateId` <= `u` (or continue it: `pu` == `lastUpdateId`, the
case of a snapshot taken after the subscription);
5. every later event's `pu` must equal the previous event's `u`, otherwise the book is out of sync and the process
starts again from the snapshot (a GAP); 6. quantities are absolute, 0 removes the level.

`DepthSync` is pure (no I/O): `on_event` returns True when it needs a (new) snapshot; the stream fetches one and
calls `on_snapshot`. The book (`exchange_clients.base.order_book.OrderBook`) serves no price while out of sync.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal
from typing import Any

from exchange_clients.aster.common import AsterDataError
from exchange_clients.base.order_book import Level, OrderBook

MAX_BUFFER = 1000


def levels(rows: Any, what: str, market: str) -> list[Level]:
    """`[[price, qty], ...]` -> (Decimal, Decimal) levels.

    Raises:
        AsterDataError: not a list of two-element rows of numbers."""
    if not isinstance(rows, list):
        raise AsterDataError(f"{what}: levels are {type(rows).__name__}, expected a list", market)
    out = []
    for row in rows:
        try:
            price, size = row[0], row[1]
            out.append((Decimal(str(price)), Decimal(str(size))))
        except (TypeError, IndexError, ArithmeticError, ValueError):
            raise AsterDataError(f"{what}: bad level {row!r}", market) from None
    return out


class DepthSync:
    """One market's book fed by depth events and REST snapshots (module docstring).

    Attributes:
        book: the `OrderBook` (sequence = the last applied `u`); buffer: events waiting for a snapshot;
        snapshots: snapshots applied; resyncs: snapshots asked for after a gap.
    """

    def __init__(self, book: OrderBook) -> None:
        self.book = book
        self.buffer: deque[dict[str, Any]] = deque(maxlen=MAX_BUFFER)
        self.snapshots = 0
        self.resyncs = 0
        self.waiting = False
        self.bridged = False

    def on_event(self, event: dict[str, Any]) -> bool:
        """Apply (or buffer) one `depthUpdate`; True when a snapshot must be fetched.

        Raises:
            AsterDataError: an event without integer `U`, `u`, `pu` or with bad levels."""
        market = self.book.market
        for key in ("U", "u", "pu"):
            if not isinstance(event.get(key), int):
                raise AsterDataError(f"depthUpdate: {key}={event.get(key)!r} is not an integer", market)
        if not self.book.is_synced:
            self.buffer.append(event)
            if self.waiting:
                return False
            self.waiting = True
            return True
        return self._apply(event)

    def _apply(self, event: dict[str, Any]) -> bool:
        """Apply one event to a synced book: the first after a snapshot bridges it (`U` <= last <= `u`; older
        events are dropped), later ones chain (`pu` == the previous `u`). True on a gap (book out of sync)."""
        market = self.book.market
        last = self.book.sequence
        assert last is not None
        if not self.bridged and event["u"] < last:
            return False  # older than the snapshot
        bids, asks = (
            levels(event.get("b"), "depthUpdate b", market),
            levels(event.get("a"), "depthUpdate a", market),
        )
        if not self.bridged:
            if not (event["U"] <= last <= event["u"] or event["pu"] == last):
                return self._gap(event)
            self.book.apply_update(bids, asks, sequence=event["u"], prev_sequence=last)
            self.bridged = True
            return False
        if self.book.apply_update(bids, asks, sequence=event["u"], prev_sequence=event["pu"]):
            return False
        return self._gap(event, counted=True)

    def on_snapshot(self, body: Any) -> bool:
        """Apply a `depth` snapshot and the buffered events after it; True when another snapshot is needed (the
        buffered events do not bridge it: the snapshot is older or newer than the stream).

        Raises:
            AsterDataError: a body without integer `lastUpdateId` or with bad levels."""
        market = self.book.market
        if not isinstance(body, dict) or not isinstance(body.get("lastUpdateId"), int):
            raise AsterDataError(f"depth snapshot: no integer lastUpdateId in {str(body)[:80]!r}", market)
        last = body["lastUpdateId"]
        self.book.apply_snapshot(
            levels(body.get("bids"), "depth bids", market),
            levels(body.get("asks"), "depth asks", market),
            sequence=last,
        )
        self.snapshots += 1
        self.waiting = False
        self.bridged = False
        pending = list(self.buffer)
        self.buffer.clear()
        for event in pending:
            if self._apply(event):
                return True
        return False

    def _gap(self, event: dict[str, Any], *, counted: bool = False) -> bool:
        """Out of sync: keep `event` for the next snapshot; True (fetch one)."""
        self.book.mark_out_of_sync()
        if not counted:  # apply_update counts the gaps it sees
            self.book.gaps += 1
        self.resyncs += 1
        self.buffer.clear()
        self.buffer.append(event)
        self.waiting = True
        return True
