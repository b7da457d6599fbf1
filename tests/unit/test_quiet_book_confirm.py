"""A quiet book is confirmed, not refused (issue #18, soak seed 2): the delta-only depth streams' `confirm` replaces
a synced book by a REST snapshot at least as new as the book, leaves it alone when the snapshot is older, and never
touches a book that is out of sync (its own resynchronisation owns it). The simulator's Aster market maker never
rests, so the integration test (tests/integration/test_quiet_book.py) can quiet only the Backpack book."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from exchange_clients.aster.websocket.manager import AsterMarketDataStream

D = Decimal


def body(last: int, bid: str = "3599", ask: str = "3601") -> dict[str, Any]:
    return {"lastUpdateId": last, "bids": [[bid, "1"]], "asks": [[ask, "2"]]}


async def test_aster_confirm_refreshes_a_quiet_book_and_ignores_older_snapshots() -> None:
    answers: list[dict[str, Any]] = []

    async def fetch(_symbol: str) -> dict[str, Any]:
        return answers.pop(0)

    stream = AsterMarketDataStream("ws://127.0.0.1:1", fetch, ["ETHUSDT"])
    book = stream.book("ETHUSDT")
    stream.sync_of("ETHUSDT").on_snapshot(body(5))
    assert book.is_synced and book.sequence == 5
    book.updated_at -= 60  # type: ignore[operator]  # quiet for a minute
    answers.append(body(5))
    await stream.confirm("ETHUSDT")
    assert (book.age_seconds() or 99) < 1 and book.sequence == 5  # confirmed: fresh again, same book
    answers.append(body(9, bid="3598"))
    await stream.confirm("ETHUSDT")
    assert book.sequence == 9 and book.best_bid() == (D("3598"), D("1"))  # newer: replaces it
    book.updated_at -= 60  # type: ignore[operator]
    answers.append(body(7, bid="3000"))
    await stream.confirm("ETHUSDT")
    assert book.sequence == 9 and book.best_bid() == (D("3598"), D("1"))  # older: ignored
    assert (book.age_seconds() or 0) > 59
    book.mark_out_of_sync()
    await stream.confirm("ETHUSDT")  # out of sync: no request (answers is empty: a request would fail)
    assert not book.is_synced and answers == []
