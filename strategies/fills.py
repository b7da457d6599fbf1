"""Fills the database is missing, fetched again from the venue.

An order's outcome and its fills are written together (`state.apply_order_info`), the fills read from the venue's
fill list (`get_fills`, filtered by client order id). When that read fails (a 429, a 5xx, a timeout) or the venue's
list lags the order's answer, the order is recorded `filled` with no fill rows, and nothing read them later: the
database then disagrees with the venue about the account's position, fees and balance. The soak found it (issue
#18, `perparb soak --seed 2`: "venue fill ETHUSDT:52 stored 0 times").

`FillBackfill.run(ctx)`, called by the runner after every cycle, finds the account's orders of the last
`LOOKBACK` whose recorded `filled_quantity` exceeds the quantity of their stored fills, reads the venue's fills of
those orders (one `get_fills` per venue and symbol), and stores the missing ones (idempotent by venue fill id). An
order is retried at most every `RETRY_SECONDS`, so an order the venue never reports fills for costs one read per
venue that often, not one per cycle.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from exchange_clients.base.trading import Fill
from strategies import state
from strategies.base import RunContext

log = logging.getLogger(__name__)

LOOKBACK = timedelta(days=2)
RETRY_SECONDS = 30.0

_SHORT_ORDERS = text(
    "SELECT o.id, o.venue, o.symbol, o.client_order_id, o.venue_order_id, o.filled_quantity, o.created_at, "
    "coalesce((SELECT sum(f.quantity) FROM fills f WHERE f.order_id = o.id), 0) AS stored "
    "FROM orders o JOIN strategy_runs r ON r.id = o.run_id "
    "WHERE o.account_name = :account AND r.mode = :mode AND o.filled_quantity > 0 "
    "AND o.created_at > now() - make_interval(secs => :lookback) "
    "AND o.filled_quantity > coalesce((SELECT sum(f.quantity) FROM fills f WHERE f.order_id = o.id), 0)"
)


class FillBackfill:
    """The missing-fill repair of one run (see the module docstring)."""

    def __init__(self) -> None:
        self._tried: dict[int, float] = {}

    async def run(self, ctx: RunContext) -> int:
        """Store the venue's fills of this account's short orders; returns how many fill rows were added.

        Raises:
            VenueError subclasses: a venue's fill list could not be read (nothing is lost: the next call retries).
        """
        now = time.monotonic()
        async with ctx.engine.connect() as conn:
            rows = (
                await conn.execute(
                    _SHORT_ORDERS,
                    {"account": ctx.account, "mode": ctx.mode, "lookback": LOOKBACK.total_seconds()},
                )
            ).all()
        due = [r for r in rows if now - self._tried.get(r.id, -RETRY_SECONDS) >= RETRY_SECONDS]
        if not due:
            return 0
        groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for r in due:
            self._tried[r.id] = now
            if r.venue in ctx.clients:
                groups[(r.venue, r.symbol)].append(r)
        added = 0
        for (venue, symbol), orders in groups.items():
            since = min(r.created_at for r in orders) - timedelta(hours=1)
            fills: list[Fill] = await ctx.clients[venue].get_fills(since, symbol)
            for r in orders:
                mine = [
                    f
                    for f in fills
                    if (f.client_order_id and f.client_order_id == r.client_order_id)
                    or (r.venue_order_id and f.order_id == r.venue_order_id)
                ]
                if not mine:
                    continue
                async with ctx.engine.begin() as conn:
                    new = await state.store_fills(conn, r.id, mine)
                added += new
                if new:
                    got = sum((f.quantity for f in mine), Decimal(0))
                    log.warning(
                        "%s order %s: %d missing fill(s) stored (%s of %s filled)",
                        venue,
                        r.client_order_id,
                        new,
                        got,
                        r.filled_quantity,
                    )
                if sum((f.quantity for f in mine), Decimal(0)) >= r.filled_quantity:
                    self._tried.pop(r.id, None)
        return added
