"""Retry with exponential backoff for idempotent venue reads.

Hand-written rather than tenacity/aiohttp-retry: the decision needs this project's typed errors
(`VenueError.retryable`, `VenueRateLimitedError.retry_after_seconds`) and a per-attempt timeout that turns
`asyncio.TimeoutError` into `VenueUnavailableError`; the whole thing is a dozen lines.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import TypeVar

from perparb_core.errors import VenueError, VenueRateLimitedError, VenueUnavailableError

T = TypeVar("T")
log = logging.getLogger("perparb.retry")


async def call_with_retry(
    fn: Callable[[], Awaitable[T]],
    *,
    venue: str,
    what: str,
    retries: int,
    backoff_seconds: float,
    timeout_seconds: float,
) -> T:
    """Await `fn()` with a per-attempt timeout; retry retryable `VenueError`s up to `retries` times.

    Delay before retry n (0-based) is `backoff_seconds * 2**n` with ±20 % jitter, or the venue's
    Retry-After when it is longer. Only for idempotent calls (reads).

    Raises:
        VenueUnavailableError: the last attempt timed out.
        VenueError: the last error, or the first non-retryable one.
    """
    attempt = 0
    while True:
        try:
            return await asyncio.wait_for(fn(), timeout=timeout_seconds)
        except asyncio.TimeoutError:
            err: VenueError = VenueUnavailableError(venue, f"{what}: timed out after {timeout_seconds:g} s")
        except VenueError as exc:
            if not exc.retryable:
                raise
            err = exc
        if attempt >= retries:
            raise err
        delay = backoff_seconds * (2**attempt) * random.uniform(0.8, 1.2)
        if isinstance(err, VenueRateLimitedError) and err.retry_after_seconds:
            delay = max(delay, err.retry_after_seconds)
        log.info("%s; retry %d/%d in %.2f s", err, attempt + 1, retries, delay)
        await asyncio.sleep(delay)
        attempt += 1


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After header -> seconds to wait (>= 0), or None when absent or unreadable.

    Accepts delay-seconds ("2", "1.5") and an HTTP-date (RFC 9110 §10.2.3); `now` is for tests.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return max(seconds, 0.0)
