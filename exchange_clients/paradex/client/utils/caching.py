"""A small time-to-live cache for venue metadata (the market list), refreshed on expiry or on demand."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class TtlCache(Generic[T]):
    """Holds one value loaded by `loader`; `get()` reloads it when older than `ttl_seconds` or after
    `invalidate()`. Concurrent `get()`s share one load (an asyncio lock). A failed load raises and keeps the
    previous value for the next attempt.

    Args:
        loader: async function producing the value (raises the venue's errors).
        ttl_seconds: lifetime of a loaded value (seconds, monotonic clock).
    """

    def __init__(
        self,
        loader: Callable[[], Awaitable[T]],
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._loader = loader
        self._ttl = ttl_seconds
        self._clock = clock
        self._value: T | None = None
        self._loaded_at: float | None = None
        self._lock = asyncio.Lock()

    @property
    def value(self) -> T | None:
        """The last loaded value (possibly expired), or None before the first load."""
        return self._value

    def invalidate(self) -> None:
        self._loaded_at = None

    def _fresh(self) -> bool:
        return self._loaded_at is not None and self._clock() - self._loaded_at < self._ttl

    async def get(self) -> T:
        """The cached value, loading it first when absent or expired."""
        if self._fresh():
            assert self._value is not None
            return self._value
        async with self._lock:
            if not self._fresh():
                self._value = await self._loader()
                self._loaded_at = self._clock()
            assert self._value is not None
            return self._value
