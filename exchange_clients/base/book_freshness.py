"""Freshness of a live order book, venue-neutral: a quiet book is confirmed with one REST snapshot before it is
refused.

A book is fresh when it is synced and changed less than `max_age_seconds` ago. Several feeds push only when the
book changes (Aster and Backpack depth diffs, Paradex's top-15 snapshots, Hyperliquid `l2Book` between blocks,
Lighter when its heartbeats stop), so a synced book of a quiet market ages although it is right. Refusing a
market order on it would refuse every exit leg for as long as the market is quiet: a naked leg (soak seed 2,
issue #18; the runner's outage test left a Paradex short unclosable for minutes). So a synced book past the limit
is first confirmed with ONE REST snapshot read by the venue's `SnapshotReader`; only if that fails (or the
snapshot is older than the book) is it refused with `StaleBookError`. A book that is out of sync or never synced
is not confirmed: its stream's resynchronisation owns it.
"""

from __future__ import annotations

import logging
from typing import Protocol

from exchange_clients.base.client import StaleBookError
from exchange_clients.base.order_book import OrderBook
from perparb_core.errors import VenueError

log = logging.getLogger("perparb.exchange_clients.book")

#: What a failed confirmation may raise: the venue's errors (unavailable, rate limited, rejected, data) and those
#: of reading a malformed body. Anything else is a bug and propagates.
CONFIRM_ERRORS: tuple[type[Exception], ...] = (VenueError, KeyError, TypeError, ValueError, ArithmeticError)


class SnapshotReader(Protocol):
    """A venue's REST order-book reader for `book`: fetch one snapshot of `book.market` and apply it to `book`
    when it is at least as new as the book (the venue's own sequence rule); leave the book as it is otherwise.

    Raises:
        `CONFIRM_ERRORS`: the request or its body failed (the book is left as it was)."""

    async def __call__(self, book: OrderBook) -> None: ...


def is_quiet(book: OrderBook, max_age_seconds: float) -> bool:
    """True when `book` is synced but unchanged for longer than `max_age_seconds` (a confirmation is due)."""
    age = book.age_seconds()
    return book.is_synced and age is not None and age > max_age_seconds


async def confirm_if_quiet(
    book: OrderBook, max_age_seconds: float, read_snapshot: SnapshotReader, *, venue: str
) -> bool:
    """Confirm a quiet `book` (`is_quiet`) with one `read_snapshot`; a failure is logged, never raised (the
    caller's freshness check then refuses the book). Returns True when the book is fresh afterwards."""
    if is_quiet(book, max_age_seconds):
        try:
            await read_snapshot(book)
        except CONFIRM_ERRORS as exc:
            log.warning("%s %s: quiet book not confirmed: %s", venue, book.market, exc)
    return is_fresh(book, max_age_seconds)


def is_fresh(book: OrderBook, max_age_seconds: float) -> bool:
    """True when `book` is synced and younger than `max_age_seconds`."""
    age = book.age_seconds()
    return book.is_synced and age is not None and age <= max_age_seconds


def require_fresh(book: OrderBook, max_age_seconds: float, *, venue: str, market: str) -> OrderBook:
    """`book` if it is synced and younger than `max_age_seconds`.

    Raises:
        StaleBookError: "order book not fresh (state S, age A s, limit L s)", naming `venue` and `market`."""
    if not is_fresh(book, max_age_seconds):
        raise StaleBookError(
            venue,
            f"order book not fresh (state {book.state.value}, age {book.age_seconds()} s, limit {max_age_seconds} s)",
            market=market,
        )
    return book


async def confirmed_fresh(
    book: OrderBook, max_age_seconds: float, read_snapshot: SnapshotReader, *, venue: str, market: str
) -> OrderBook:
    """`confirm_if_quiet`, then `require_fresh`: the book a price may be read from.

    Raises:
        StaleBookError: out of sync, never synced, or older than the limit and not confirmed."""
    await confirm_if_quiet(book, max_age_seconds, read_snapshot, venue=venue)
    return require_fresh(book, max_age_seconds, venue=venue, market=market)
