"""Retry with exponential backoff for idempotent venue reads.

Hand-written rather than tenacity/aiohttp-retry: the decision needs this project's typed errors
(`VenueError.retryable`, `VenueRateLimitedError.retry_after_seconds`) and a per-attempt timeout that turns
`asyncio.TimeoutError` into `VenueUnavailableError`; the whole thing is a dozen lines.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from exchange_clients.base.errors import VenueError, VenueRateLimitedError, VenueUnavailableError

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
