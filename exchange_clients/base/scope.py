"""`VenueScope`: the shared resources of one venue in this process, its rate limiter and its HTTP stack.

`venue_scope(config)` returns THE scope of (`config.budget_venue`, `config.rest_url`): the funding adapter that
scans a venue and every trading client on it get the same scope (sub-venues that share their parent's limits, e.g.
Hyperliquid's HIP-3 dexes, get the parent's scope), so they spend one rate budget (a 429 seen by one pauses
all) and read public data through one HTTP session. Two accounts on one venue share the scope; the simulator and
mainnet do not (different URLs).

Resources are per event loop: an aiohttp or SDK session binds to the loop that created it, and a process may run
several loops one after another (a CLI command, a test session). `acquire(key, factory, close)` returns the
loop's shared instance, creating it on first use; each holder calls `release(key)` once when done, and the last
release closes it. The limiter is loop-independent (`exchange_clients.base.rate_limit`).

Two live processes on one machine each have their own scope: give each a share of the venue's budget with
`PERPARB_<VENUE>_RATE_PER_SECOND` (docs/operations.md, "Rate limits").

Why hand-written: a keyed, reference-counted, per-loop registry of a dozen lines; no library offers the pairing
of a shared limiter with shared, loop-bound sessions.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from exchange_clients.base.rate_limit import VenueRateLimiter, venue_limiter
from perparb_core.settings import VenueConfig

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass
class _Held:
    value: Any
    close: Callable[[Any], Awaitable[None]] | None
    holders: int


class VenueScope:
    """Rate limiter and loop-bound shared resources of one venue (see the module docstring).

    Attributes:
        config: the venue's config (URLs, HTTP and rate-limit settings).
        limiter: the venue's process-wide limiter for this URL.
    """

    def __init__(self, config: VenueConfig, limiter: VenueRateLimiter) -> None:
        self.config = config
        self.limiter = limiter
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Held]] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def venue(self) -> str:
        """The venue whose budget this scope holds (`config.budget_venue`)."""
        return self.config.budget_venue

    def _held(self) -> dict[str, _Held]:
        loop = asyncio.get_running_loop()
        held = self._by_loop.get(loop)
        if held is None:
            held = self._by_loop[loop] = {}
        return held

    def acquire(
        self, key: str, factory: Callable[[], T], close: Callable[[T], Awaitable[None]] | None = None
    ) -> T:
        """The running loop's shared `key` resource, created by `factory()` on first use; the caller holds it
        until `release(key)`. Must be called inside a running event loop.

        Raises:
            RuntimeError: no running event loop.
        """
        held = self._held()
        entry = held.get(key)
        if entry is None:
            entry = held[key] = _Held(factory(), close, 0)
        entry.holders += 1
        value: T = entry.value
        return value

    async def release(self, key: str) -> None:
        """Give back one hold of `key`; the last holder closes it. Releasing an unknown key is a no-op."""
        held = self._held()
        entry = held.get(key)
        if entry is None:
            return
        entry.holders -= 1
        if entry.holders <= 0:
            del held[key]
            if entry.close is not None:
                await entry.close(entry.value)


_SCOPES: dict[tuple[str, str], VenueScope] = {}


def venue_scope(config: VenueConfig) -> VenueScope:
    """THE scope of (`config.budget_venue`, `config.rest_url`) in this process, created on first use with this
    config's rate limit (later callers share it; a different rate asked later is logged and ignored: first come
    sets it). `scope.config` is the config of the first caller: read URLs and HTTP settings from your own config.
    """
    key = (config.budget_venue, config.rest_url.rstrip("/"))
    scope = _SCOPES.get(key)
    if scope is None:
        limiter = venue_limiter(
            config.budget_venue,
            config.rest_url,
            rate_per_second=config.rate_limit.rate_per_second,
            burst=config.rate_limit.burst,
            order_reserve=config.rate_limit.order_reserve,
        )
        scope = _SCOPES[key] = VenueScope(config, limiter)
    return scope


def reset_scopes() -> None:
    """Forget every scope (tests); their resources are not closed here."""
    _SCOPES.clear()
