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

`AccountStateKeeper` (below) is the venue-neutral part of that cycle for streams whose venue pushes no complete
snapshot at subscription (Hyperliquid, Aster, Backpack): a REST seed per connection with the pushes held
meanwhile, a background balance re-read for venues whose stream carries no usable balance, and the keepalive.

Units: `BalanceInfo` in USD (the venue's settlement asset), positions in base units, as the REST reads give them.
Why not a library: a small in-memory cache over the venues' own stream payloads; nothing generic fits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable

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


Reading = tuple[BalanceInfo | None, list[PositionSnapshot] | None, list[OrderInfo] | None]
log = logging.getLogger("perparb.account_state")


class AccountStateKeeper:
    """Keeps an `AccountState` from an account stream whose venue pushes no complete snapshot at subscription
    (Hyperliquid's order channel, Aster's user-data stream, Backpack's private streams): the life cycle of the
    module docstring, venue-neutral. The venue's stream calls:

    * `subscribed()` once every channel of a (re)connection is subscribed: the state is SEEDED by `reading` (one
      REST read: balance, positions, open orders), in a task; pushes arriving during that read are held
      (`apply`) and laid on after it, so nothing they carry is overwritten by the older reading;
    * `apply(change)` for each push (`change(state)` calls `apply_balance` / `apply_position` / `apply_order`);
    * `refresh_balance()` where the venue's stream carries no usable balance figure but a push says it changed (a
      fill, a position change): the balance is re-read over REST (`balance_read`) in the BACKGROUND, coalesced
      (one read at a time, one more after it when asked meanwhile), so the entry path never waits on REST; until
      it lands the state serves the previous balance;
    * `disconnected(reason)` when the connection drops or a gap is seen: desynced at once, a seed in flight is
      cancelled, held pushes are dropped (the next `subscribed()` seeds afresh);
    * `alive()` for a keepalive answer (pong) on the account connection (`AccountState.touch`).

    `keepalive(...)` is the loop a stream may run: every third of the staleness bound a keepalive (`ping`) whose
    answer `touch`es the state; a connection silent beyond the bound (or never seeded since) is a gap: the state is
    desynced and the connection re-opened (`reconnect`), whose subscription seeds it again.

    Args:
        state: the state to keep; reading: the seed read (REST); balance_read: the background balance read
            (REST; None: `refresh_balance` does nothing); name: log label ("aster user data").

    Attributes:
        seeded: set once the current connection's seed landed (cleared on disconnect); seed_failures /
        balance_refreshes: counters (tests, logs).
    """

    def __init__(
        self,
        state: AccountState,
        reading: Callable[[], Awaitable[Reading]],
        *,
        balance_read: Callable[[], Awaitable[BalanceInfo]] | None = None,
        name: str,
    ) -> None:
        self.state = state
        self.reading = reading
        self.balance_read = balance_read
        self.name = name
        self.seeded = asyncio.Event()
        self.seed_failures = 0
        self.balance_refreshes = 0
        self._held: list[Callable[[AccountState], None]] | None = None
        self._seeding: asyncio.Task[None] | None = None
        self._refresh: asyncio.Task[None] | None = None
        self._refresh_again = False
        self._forced_at = -float("inf")

    # ------------------------------------------------------------------------------------------------ stream hooks

    def subscribed(self) -> None:
        """Every channel of the current connection is subscribed: seed the state (a task; pushes are held)."""
        if self._seeding is not None:
            self._seeding.cancel()
        self._held = []
        self._seeding = asyncio.get_running_loop().create_task(self._seed())

    def disconnected(self, reason: str) -> None:
        self.state.desync(reason)
        self.seeded.clear()
        if self._seeding is not None:
            self._seeding.cancel()
            self._seeding = None
        self._held = None

    def alive(self) -> None:
        self.state.touch()

    def apply(self, change: Callable[[AccountState], None]) -> None:
        """Lay one push onto the state, or hold it while a seed is being read."""
        if self._held is not None:
            self._held.append(change)
        else:
            change(self.state)

    def refresh_balance(self) -> None:
        """Re-read the balance over REST in the background (coalesced); no-op without `balance_read`."""
        if self.balance_read is None:
            return
        if self._refresh is not None and not self._refresh.done():
            self._refresh_again = True
            return
        self._refresh = asyncio.get_running_loop().create_task(self._refresh_loop())

    async def wait_seeded(self, timeout_seconds: float) -> bool:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.seeded.wait(), timeout_seconds)
        return self.seeded.is_set()

    async def stop(self) -> None:
        tasks = (self._seeding, self._refresh)
        self._seeding = self._refresh = None
        for task in tasks:
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    # ------------------------------------------------------------------------------------------------ tasks

    async def _seed(self) -> None:
        try:
            balance, positions, orders = await self.reading()
        except Exception as exc:  # stay desynced: the keepalive re-opens the connection, which seeds again
            self.seed_failures += 1
            log.warning("%s: seed read failed (%s); account state not synced", self.name, exc)
            self._held = None
            self._seeding = None
            return
        self.state.seed(balance, positions, orders)
        held, self._held = self._held or [], None
        for change in held:
            change(self.state)
        self._seeding = None
        self.seeded.set()

    async def _refresh_loop(self) -> None:
        assert self.balance_read is not None
        while True:
            self._refresh_again = False
            try:
                balance = await self.balance_read()
            except Exception as exc:  # the state keeps the previous figure; the staleness bound still holds
                log.warning("%s: background balance read failed: %s", self.name, exc)
            else:
                self.balance_refreshes += 1
                self.apply(balance_change(balance))
            if not self._refresh_again:
                return

    async def keepalive(
        self,
        ping: Callable[[], Awaitable[object]],
        connected: Callable[[], bool],
        reconnect: Callable[[], Awaitable[None]],
        *,
        max_period: float | None = None,
    ) -> None:
        """The keepalive loop (class docstring): every third of the staleness bound (at most `max_period`, the
        venue's own keepalive limit), `ping()`, which raises ConnectionError / asyncio.TimeoutError when no answer
        comes; the answer `touch`es the state (`alive`: by `ping` itself, or where the stream receives it)."""
        period = self.state.max_age_seconds / 3
        if max_period is not None:
            period = min(period, max_period)
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(period)
            if not connected():
                continue
            try:
                await ping()
            except (ConnectionError, asyncio.TimeoutError) as exc:
                log.warning("%s: keepalive failed (%s)", self.name, type(exc).__name__)
            why = self.state.staleness()
            if (
                why is not None
                and self._seeding is None
                and loop.time() - self._forced_at >= self.state.max_age_seconds
            ):
                log.warning("%s: %s; reconnecting to re-synchronise", self.name, why)
                self.disconnected(f"connection silent: {why}")
                self._forced_at = loop.time()
                with contextlib.suppress(ConnectionError, OSError):
                    await reconnect()


def balance_change(balance: BalanceInfo) -> Callable[[AccountState], None]:
    """The state change of one balance reading (`AccountStateKeeper.apply`)."""
    return lambda state: state.apply_balance(balance)


def order_change(order: OrderInfo) -> Callable[[AccountState], None]:
    """The state change of one order push (`AccountStateKeeper.apply`)."""
    return lambda state: state.apply_order(order)


def position_change(position: PositionSnapshot) -> Callable[[AccountState], None]:
    """The state change of one position push (`AccountStateKeeper.apply`)."""
    return lambda state: state.apply_position(position)
