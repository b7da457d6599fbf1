"""Per-venue margin reservations of one run: entries checked concurrently within a cycle stay honest.

Entries of one cycle run concurrently (`FundingArbitrageStrategy.enter`). Each entry's check reads the free
margin of both its venues; without reservations two entries checked at the same moment would both see the same
free margin and together spend more than the venue has. So, as each entry is chosen, the margin it will use
(`notional / leverage` per leg, USD) is RESERVED on each of its venues, and every later check subtracts what is
reserved: `free = usable - reserved`. A reservation lives from the check until the entry's orders are done
(filled, refused or unwound), when the venue's own available balance reflects what was really used; it is then
released.

The ledger is plain synchronous code on the event loop: a check reads the balances (awaiting the venues), then
compares and reserves WITHOUT awaiting in between, so two concurrent checks can never both take the same margin.

Why not a library: this is a few lines of bookkeeping over the venues' own balance figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal(0)


@dataclass
class MarginReservation:
    """Margin held for one entry: USD per venue. `released` once given back (releasing twice is a no-op)."""

    amounts: dict[str, Decimal]
    released: bool = False


@dataclass
class MarginLedger:
    """USD margin reserved per venue by this run's entries in flight (see the module docstring)."""

    reserved: dict[str, Decimal] = field(default_factory=dict)

    def reserved_on(self, venue: str) -> Decimal:
        """USD currently reserved on `venue` (0 when none)."""
        return self.reserved.get(venue, ZERO)

    def shortfall(self, need: Mapping[str, Decimal], usable: Mapping[str, Decimal]) -> str | None:
        """The first venue (in `need`'s order) whose `usable` margin minus what is reserved there is below
        `need`, as "venue", or None when every venue has room. `need` / `usable`: USD per venue.

        Raises:
            KeyError: a venue of `need` has no `usable` figure."""
        for venue, amount in need.items():
            if usable[venue] - self.reserved_on(venue) < amount:
                return venue
        return None

    def reserve(self, need: Mapping[str, Decimal]) -> MarginReservation:
        """Reserve `need` (USD per venue, each >= 0).

        Raises:
            ValueError: a negative amount (naming the venue and the value)."""
        for venue, amount in need.items():
            if amount < 0:
                raise ValueError(f"margin reservation on {venue}: amount must be >= 0, got {amount}")
        for venue, amount in need.items():
            self.reserved[venue] = self.reserved_on(venue) + amount
        return MarginReservation(dict(need))

    def release(self, reservation: MarginReservation) -> None:
        """Give `reservation` back (idempotent)."""
        if reservation.released:
            return
        reservation.released = True
        for venue, amount in reservation.amounts.items():
            left = self.reserved_on(venue) - amount
            if left > 0:
                self.reserved[venue] = left
            else:
                self.reserved.pop(venue, None)
