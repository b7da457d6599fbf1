"""Engine-level fault hooks (issue #4 item 6, the parts that live below the protocols).

* `reject_next(n)`: the next n submitted orders are rejected (`Reason.FAULT_INJECTED`) before any check.
* `fill_fraction(f, count)`: the next `count` accepted orders (None = until cleared) may execute at most
  `f x size` (rounded down to the size step) when they arrive; once that cap is reached the rest of the order
  is cancelled (`Reason.PARTIAL_FILL_FAULT`) instead of resting, so the book never crosses. Orders that do not
  reach the cap behave normally (rest or cancel per time in force). Fills as a resting maker are not capped.

HTTP faults (status codes, latency, dropped sockets) stay in `simulator.faults`, in front of the protocols.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(slots=True)
class EngineFaults:
    """Pending engine faults. Not thread-safe (the engine runs on one event loop)."""

    reject_remaining: int = 0
    reject_message: str = "injected fault"
    fraction: Decimal | None = None
    fraction_remaining: int | None = None

    def reject_next(self, count: int, message: str = "injected fault") -> None:
        """Reject the next `count` orders (replaces a pending count).

        Raises:
            ValueError: count < 0.
        """
        if count < 0:
            raise ValueError("count must be >= 0")
        self.reject_remaining = count
        self.reject_message = message

    def fill_fraction(self, fraction: Decimal, count: int | None = None) -> None:
        """Cap the immediate execution of the next `count` orders (None = until cleared) at `fraction` of size.

        Raises:
            ValueError: fraction outside [0, 1) or count < 1.
        """
        if not (0 <= fraction < 1):
            raise ValueError("fraction must be in [0, 1)")
        if count is not None and count < 1:
            raise ValueError("count must be >= 1 (or None for until cleared)")
        self.fraction = fraction
        self.fraction_remaining = count

    def clear(self) -> None:
        """Remove every engine fault."""
        self.reject_remaining = 0
        self.fraction = None
        self.fraction_remaining = None

    def take_reject(self) -> bool:
        """Consume one rejection; True when this order must be rejected."""
        if self.reject_remaining > 0:
            self.reject_remaining -= 1
            return True
        return False

    def take_fraction(self) -> Decimal | None:
        """Consume one capped order; the fraction to apply, or None."""
        fraction = self.fraction
        if fraction is None:
            return None
        if self.fraction_remaining is not None:
            self.fraction_remaining -= 1
            if self.fraction_remaining <= 0:
                self.fraction = None
                self.fraction_remaining = None
        return fraction

    def snapshot(self) -> dict[str, Any]:
        """JSON view for the admin API."""
        return {
            "reject_next": self.reject_remaining,
            "fill_fraction": str(self.fraction) if self.fraction is not None else None,
            "fill_fraction_remaining": self.fraction_remaining,
        }
