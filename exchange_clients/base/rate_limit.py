"""Per-venue request limiter: a token bucket shared by every client of one venue in the process.

`venue_limiter(venue, base_url, rate_per_second=..., burst=...)` returns THE limiter of that venue and base URL
(a module-level registry), so two accounts on Lighter mainnet share one budget while the simulator and mainnet do
not. Every REST call awaits `acquire()` first; a client that receives HTTP 429 calls `penalise(retry_after)`,
which pauses every caller of that venue until the Retry-After has passed, after which requests resume evenly
spaced (no burst straight after a 429).

Priorities (issue #16, "rate budget"): the placement path never waits for a slot that a read could have taken.
`acquire(priority=ORDER)` (placements, cancels, every state-changing transaction) reserves its slot at once,
ahead of every waiting read, and may use the whole bucket; `acquire(priority=READ)` (the default: every
idempotent read) takes a slot only when one is free NOW beyond the `order_reserve` tokens kept for orders, and
otherwise sleeps and tries again WITHOUT holding a reservation (reads are served in arrival order among
themselves: only the oldest waiting read polls). So reads queued behind a busy budget never delay an order: an order waits only for requests already sent (and, with `order_reserve` >= 1 and `burst` >= 2,
not even for those while the reserve lasts). Reads can be starved by a stream of orders; orders are rare.

Hand-written rather than aiolimiter / pyrate-limiter: the registry and the 429 pause (`penalise`) are the point
and neither library has the pause; the bucket itself is a GCRA ("theoretical arrival time"), equivalent to a
token bucket of `burst` tokens refilled at `rate_per_second`, in a dozen lines. It holds no `asyncio.Lock` (which
binds to one event loop in Python 3.10): a caller reserves its slot synchronously and then sleeps, so one limiter
serves any loop and callers are served in arrival order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Literal

log = logging.getLogger("perparb.rate_limit")

Priority = Literal["order", "read"]
ORDER: Priority = "order"
"""Placements, cancels and other state-changing requests: served before any waiting read."""
READ: Priority = "read"
"""Idempotent reads: only free slots beyond the orders' reserve, never a reservation while waiting."""


class VenueRateLimiter:
    """Token bucket of `burst` requests refilled at `rate_per_second`, plus a venue-wide pause after a 429.

    Args:
        venue: venue name (for logs).
        rate_per_second: sustained requests per second (> 0), or 0 for no rate limit (the 429 pause still applies).
        burst: requests allowed back to back from a full bucket (>= 1).
        order_reserve: tokens of the bucket reads may not take (kept for orders; 0 .. burst - 1).
        clock: monotonic clock in seconds (tests).

    Raises:
        ValueError: a negative rate, a burst below 1, or an order reserve outside 0 .. burst - 1 (naming the
            venue and the values).
    """

    def __init__(
        self,
        venue: str,
        rate_per_second: float,
        burst: int = 1,
        *,
        order_reserve: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate_per_second < 0 or burst < 1:
            raise ValueError(
                f"{venue}: rate_per_second must be >= 0 and burst >= 1 (got {rate_per_second}, {burst})"
            )
        if not 0 <= order_reserve <= burst - 1:
            raise ValueError(
                f"{venue}: order_reserve must be between 0 and burst - 1 = {burst - 1} (got {order_reserve})"
            )
        self.venue = venue
        self.rate_per_second = rate_per_second
        self.burst = burst
        self.order_reserve = order_reserve
        self._clock = clock
        self._interval = 1.0 / rate_per_second if rate_per_second > 0 else 0.0
        self._tolerance = self._interval * (burst - 1)
        self._read_tolerance = self._interval * (burst - 1 - order_reserve)
        self._tat = 0.0  # theoretical arrival time of the next request when the bucket is empty
        self._paused_until = 0.0
        self.penalties = 0
        self._reads: deque[asyncio.Future[None]] = deque()  # waiting reads, oldest first

    @property
    def paused_for(self) -> float:
        """Seconds left of the current 429 pause (0 when none)."""
        return max(0.0, self._paused_until - self._clock())

    def reserve(self, cost: int = 1) -> float:
        """Take `cost` slots now; return how many seconds the caller must wait before sending (0 = at once).

        `cost` is the request's weight for venues that weigh requests (Hyperliquid: an `l2Book` read weighs 2,
        `metaAndAssetCtxs` 20): a request of weight w waits as w requests of weight 1 would, so a limiter of
        `rate_per_second` tokens is a weight budget per second. A weight above `burst` is allowed; it waits for
        the tokens it lacks.

        Raises:
            ValueError: `cost` < 1.
        """
        if cost < 1:
            raise ValueError(f"{self.venue}: request weight must be >= 1, got {cost}")
        now = self._clock()
        start = max(now, self._paused_until)
        if self._interval <= 0:
            return start - now
        tat = max(self._tat, start)
        send_at = max(start, tat + (cost - 1) * self._interval - self._tolerance)
        self._tat = tat + cost * self._interval
        return send_at - now

    def try_read(self, cost: int = 1) -> float:
        """Take `cost` slots for a READ if they are free now beyond the orders' reserve: returns 0 (taken), or
        the seconds after which to try again (nothing taken). A read heavier than the reads' share of the bucket
        (`burst - order_reserve`) goes when that share is full and overdraws the rest (later callers wait).

        Raises:
            ValueError: `cost` < 1."""
        if cost < 1:
            raise ValueError(f"{self.venue}: request weight must be >= 1, got {cost}")
        now = self._clock()
        if self._paused_until > now:
            return self._paused_until - now
        if self._interval <= 0:
            return 0.0
        tat = max(self._tat, now)
        share = self.burst - self.order_reserve
        send_at = tat + (min(cost, share) - 1) * self._interval - self._read_tolerance
        if send_at > now:
            return send_at - now
        self._tat = tat + cost * self._interval
        return 0.0

    async def acquire(self, cost: int = 1, *, priority: Priority = READ) -> None:
        """Wait for `cost` slots (the request's weight; see `reserve`) and for any 429 pause, including one
        that starts while waiting. `priority`: ORDER reserves at once ahead of waiting reads (`reserve`); READ
        (default) polls `try_read`, holding nothing while it waits (module docstring).

        Raises:
            ValueError: `cost` < 1, or an unknown priority."""
        if priority == ORDER:
            delay = self.reserve(cost)
            while delay > 0:
                await asyncio.sleep(delay)
                delay = self.paused_for
            return None
        if priority != READ:
            raise ValueError(f"{self.venue}: priority must be {ORDER!r} or {READ!r}, got {priority!r}")
        # reads are served first come, first served among themselves: only the oldest waiting read polls the
        # bucket (holding no slot while it waits); the others wait for their turn
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._reads.append(turn)
        try:
            if self._reads[0] is not turn:
                await turn
            while True:
                delay = self.try_read(cost)
                if delay <= 0:
                    return None
                await asyncio.sleep(delay)
        finally:
            self._reads.remove(turn)
            if self._reads and not self._reads[0].done():
                self._reads[0].set_result(None)  # the next read's turn

    def charge(self, cost: int) -> None:
        """Spend `cost` more slots without waiting: weight a venue adds after the fact (Hyperliquid charges 1
        per 20 rows returned by `fundingHistory`, `userFills`, ...). The next callers wait for it. A cost <= 0
        is ignored."""
        if cost > 0:
            self.reserve(cost)

    def penalise(self, seconds: float | None, default_seconds: float = 1.0) -> None:
        """HTTP 429 seen: pause every caller of this venue for `seconds` (the Retry-After; `default_seconds`
        when the venue sent none). Requests then resume one `1 / rate_per_second` apart."""
        pause = seconds if seconds is not None and seconds > 0 else default_seconds
        until = self._clock() + pause
        if until > self._paused_until:
            self._paused_until = until
        self._tat = max(self._tat, self._paused_until + self._tolerance)
        self.penalties += 1
        log.info("%s: HTTP 429, every request to the venue paused for %.2f s", self.venue, pause)


_REGISTRY: dict[tuple[str, str], VenueRateLimiter] = {}


def venue_limiter(
    venue: str, base_url: str, *, rate_per_second: float, burst: int = 1, order_reserve: int = 0
) -> VenueRateLimiter:
    """The process-wide limiter of (`venue`, `base_url` without trailing "/"), created on first use with these
    rates; later callers share it (a different rate asked later is logged and ignored: first come sets it).

    Raises:
        ValueError: as `VenueRateLimiter`."""
    key = (venue, base_url.rstrip("/"))
    limiter = _REGISTRY.get(key)
    if limiter is None:
        limiter = _REGISTRY[key] = VenueRateLimiter(
            venue, rate_per_second, burst, order_reserve=order_reserve
        )
    elif (limiter.rate_per_second, limiter.burst, limiter.order_reserve) != (
        rate_per_second,
        burst,
        order_reserve,
    ):
        log.info(
            "%s %s: limiter already set at %g/s burst %d; keeping it (asked %g/s burst %d)",
            venue,
            key[1],
            limiter.rate_per_second,
            limiter.burst,
            rate_per_second,
            burst,
        )
    return limiter


def reset_limiters() -> None:
    """Forget every registered limiter (tests)."""
    _REGISTRY.clear()
