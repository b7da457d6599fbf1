"""Account state kept in memory from a venue's account streams (issue #16): balance and margin, positions, open
orders. Entry checks read it instead of a rate-limited REST read.

Life cycle, the same for every venue (the venue's client feeds it):
1. SEED: one REST read at connect (`seed`): balance, positions, open orders. The state is `synced` from then on
   as long as the account stream is subscribed.
2. STREAM: each account frame updates what it carries (`apply_balance`, `apply_position`, `apply_order`) and marks
   the state as heard from (`touch`); a keepalive answer (pong) on the account connection `touch`es it too, so an
   idle account stays fresh while its connection lives.
3. RESYNC: when the connection drops, or a gap is detected (a missing sequence number where the venue numbers its
   frames), the state is `desync`ed at once: nothing is served from it until it is seeded again (the client
   re-reads REST and/or takes the venue's subscription snapshot after the reconnect).

Staleness: `fresh_balance(max_age_seconds)` serves the balance only when synced and heard from within
`max_age_seconds` (default `max_age_seconds` of the state); otherwise it returns None and WHY, and the caller reads
REST instead and says so in an event (`FundingArbitrageStrategy.available_balances`).

Units: `BalanceInfo` in USD (the venue's settlement asset), positions in base units, as the REST reads give them.
Why not a library: a small in-memory cache over the venues' own stream payloads; nothing generic fits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from exchange_clients.base.trading import BalanceInfo, OrderInfo, PositionSnapshot


class AccountState:
    """The in-memory state of one account on one venue (see the module docstring).

    Args:
        venue: venue name (messages).
        max_age_seconds: default staleness bound of `fresh_balance` (> 0).
        clock: monotonic clock in seconds (tests).

    Attributes:
        balance / positions (symbol -> snapshot) / open_orders (order id -> order): the state;
        synced: seeded and the stream subscribed since; seeds: how many times it was (re)seeded; desyncs: how many
        times it was invalidated, and `desync_reason` the last reason.

    Raises:
        ValueError: `max_age_seconds` <= 0.
    """

    def __init__(
        self, venue: str, *, max_age_seconds: float = 10.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_age_seconds <= 0:
            raise ValueError(f"{venue}: account state max_age_seconds must be > 0, got {max_age_seconds}")
        self.venue = venue
        self.max_age_seconds = max_age_seconds
        self._clock = clock
        self.balance: BalanceInfo | None = None
        self.positions: dict[str, PositionSnapshot] = {}
        self.open_orders: dict[str, OrderInfo] = {}
        self.synced = False
        self.seeds = 0
        self.desyncs = 0
        self.desync_reason = "never seeded"
        self._heard_at: float | None = None

    # ------------------------------------------------------------------------------------------------ feed

    def seed(
        self,
        balance: BalanceInfo | None,
        positions: Iterable[PositionSnapshot] | None = None,
        open_orders: Iterable[OrderInfo] | None = None,
    ) -> None:
        """Replace the state with a complete reading (a REST read, or a venue's subscription snapshot); parts
        given as None keep what is known. The state is synced and fresh from now."""
        if balance is not None:
            self.balance = balance
        if positions is not None:
            self.positions = {p.symbol: p for p in positions if p.quantity != 0}
        if open_orders is not None:
            self.open_orders = {o.order_id: o for o in open_orders if not o.status.is_final}
        self.synced = True
        self.seeds += 1
        self.touch()

    def desync(self, reason: str) -> None:
        """The stream can no longer be trusted (connection lost, gap): serve nothing until seeded again."""
        if self.synced:
            self.desyncs += 1
        self.synced = False
        self.desync_reason = reason

    def touch(self) -> None:
        """Something arrived on the account connection (a frame or a keepalive answer)."""
        self._heard_at = self._clock()

    def apply_balance(self, balance: BalanceInfo) -> None:
        self.balance = balance
        self.touch()

    def apply_position(self, snap: PositionSnapshot) -> None:
        if snap.quantity == 0:
            self.positions.pop(snap.symbol, None)
        else:
            self.positions[snap.symbol] = snap
        self.touch()

    def apply_order(self, order: OrderInfo) -> None:
        if order.status.is_final:
            self.open_orders.pop(order.order_id, None)
        else:
            self.open_orders[order.order_id] = order
        self.touch()

    # ------------------------------------------------------------------------------------------------ read

    def age_seconds(self) -> float | None:
        """Seconds since the account connection was last heard from (None: never)."""
        return None if self._heard_at is None else self._clock() - self._heard_at

    def staleness(self, max_age_seconds: float | None = None) -> str | None:
        """None when the state may be served, else why not (naming the venue and the figures)."""
        bound = self.max_age_seconds if max_age_seconds is None else max_age_seconds
        if not self.synced:
            return f"{self.venue}: account state not synced ({self.desync_reason})"
        age = self.age_seconds()
        if age is None or age > bound:
            return f"{self.venue}: account state stale (last heard {age if age is None else f'{age:.1f} s'} ago > {bound:g} s)"
        return None

    def fresh_balance(self, max_age_seconds: float | None = None) -> tuple[BalanceInfo | None, str | None]:
        """(balance, None) when synced and heard from within `max_age_seconds` (default: the state's bound),
        else (None, why)."""
        why = self.staleness(max_age_seconds)
        if why is None and self.balance is None:
            why = f"{self.venue}: account state has no balance yet"
        return (self.balance, None) if why is None else (None, why)
