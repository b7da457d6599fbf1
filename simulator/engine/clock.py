"""The simulator's clocks: `SimClock` (real time, or frozen) and `ScaledClock`, a `SimClock` with a speed factor
(issue #4 item 5).

`ScaledClock` is a drop-in `SimClock` (the market-data servers accept it unchanged), so
matching, funding and every restamped timestamp read the same time. Simulated time runs `speed` times faster
than real time from an anchor: `now = start_ms + elapsed_real x speed`. With `speed=3600` one funding hour
passes per real second. `freeze` pins it (tests, replays); `advance` jumps it forward.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class SimClock:
    """The simulator's clock. Real time by default; `frozen_ms` pins it (tests, replays).

    Shared by the market-data servers and the trading engines, so fills, funding and restamps agree.
    """

    def __init__(self, frozen_ms: int | None = None) -> None:
        self._frozen_ms = frozen_ms

    def now_ms(self) -> int:
        """Epoch milliseconds."""
        if self._frozen_ms is not None:
            return self._frozen_ms
        return time.time_ns() // 1_000_000

    def now_us(self) -> int:
        """Epoch microseconds (Lighter `last_updated_at`)."""
        if self._frozen_ms is not None:
            return self._frozen_ms * 1000
        return time.time_ns() // 1000

    def now_s(self) -> int:
        """Epoch seconds (Lighter `GET /` timestamp)."""
        return self.now_ms() // 1000

    def freeze(self, at_ms: int | None) -> None:
        """Pin the clock at `at_ms` (None = real time again)."""
        self._frozen_ms = at_ms


class ScaledClock(SimClock):
    """Simulated time at `speed` x real time.

    Args:
        start_ms: simulated epoch ms at construction (default: the real wall-clock time).
        speed: simulated seconds per real second (> 0); 1 = real time.
        frozen_ms: start frozen at this time (as `SimClock(frozen_ms=...)`).
        monotonic_ns: the real-time source (tests inject a fake one).

    Raises:
        ValueError: speed <= 0.
    """

    def __init__(
        self,
        *,
        start_ms: int | None = None,
        speed: float = 1.0,
        frozen_ms: int | None = None,
        monotonic_ns: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        super().__init__(frozen_ms)
        if speed <= 0:
            raise ValueError("clock speed must be positive")
        self._monotonic_ns = monotonic_ns
        self._speed = speed
        self._anchor_sim_us = (start_ms if start_ms is not None else time.time_ns() // 1_000_000) * 1000
        self._anchor_real_ns = monotonic_ns()

    @property
    def speed(self) -> float:
        return self._speed

    def _running_us(self) -> int:
        elapsed_ns = self._monotonic_ns() - self._anchor_real_ns
        return self._anchor_sim_us + int(elapsed_ns * self._speed) // 1000

    def now_us(self) -> int:
        """Simulated epoch microseconds."""
        if self._frozen_ms is not None:
            return self._frozen_ms * 1000
        return self._running_us()

    def now_ms(self) -> int:
        """Simulated epoch milliseconds."""
        if self._frozen_ms is not None:
            return self._frozen_ms
        return self._running_us() // 1000

    def set_speed(self, speed: float) -> None:
        """Change the speed from now on (simulated time stays continuous).

        Raises:
            ValueError: speed <= 0.
        """
        if speed <= 0:
            raise ValueError("clock speed must be positive")
        self._reanchor(self.now_us())
        self._speed = speed

    def freeze(self, at_ms: int | None) -> None:
        """Pin the clock at `at_ms`; `None` lets it run again at `speed` from the pinned time."""
        if at_ms is None:
            if self._frozen_ms is not None:
                self._reanchor(self._frozen_ms * 1000)
            self._frozen_ms = None
        else:
            self._frozen_ms = at_ms

    def advance(self, ms: int) -> None:
        """Jump simulated time forward by `ms` (frozen or running).

        Raises:
            ValueError: ms < 0 (time never goes back).
        """
        if ms < 0:
            raise ValueError("the clock only moves forward")
        if self._frozen_ms is not None:
            self._frozen_ms += ms
        else:
            self._anchor_sim_us += ms * 1000

    def _reanchor(self, sim_us: int) -> None:
        self._anchor_sim_us = sim_us
        self._anchor_real_ns = self._monotonic_ns()
