"""What every strategy gets from the runner (`RunContext`) and must provide (`Strategy`).

The runner (`strategies.runner`) owns the lease, the run record, the clients and the loop; a strategy owns its
decisions. A cycle is `await strategy.step()`; the runner heartbeats and checks the lease between cycles, and
calls `stop(close=...)` once on SIGINT/SIGTERM or after `max_cycles`.

Time: `ctx.now()` is the clock decisions use: wall-clock UTC live, the simulator's clock in paper mode (a paper
run at `--speed 3600` lives one funding hour per second, and hold times, data ages and funding windows follow).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from database.alerts import raise_alert
from exchange_clients.base.client import BaseExchangeClient
from exchange_clients.base.funding_adapter import BaseFundingAdapter
from perparb_core.settings import TradingConfig
from strategies import state
from strategies.book import RunBook
from strategies.state import OrderIds, RunInfo

EVENT_ALERTS: dict[str, str] = {
    "open": "position_opened",
    "closed": "position_closed",
    "hedge": "hedge_used",
    "unwind": "unwind_used",
    "naked_leg": "leg_unbalanced",
}
"""Event kinds of a run that also raise an operator alert (`database.alerts.ALERT_EVENTS`), in the same
transaction. Other alerts are raised explicitly (`RunContext.event(..., alert=...)`)."""


def wall_clock() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class RunContext:
    """Everything a strategy may use. `clients` by venue name (connected); `adapters` the funding adapters of
    the config's venues (the funding-arbitrage scan collects through them into the database); `settings` the
    venues' configs (pointing at the simulator in paper mode) and the scan budget."""

    engine: AsyncEngine
    run: RunInfo
    config: Any
    clients: dict[str, BaseExchangeClient]
    settings: TradingConfig
    order_ids: OrderIds
    adapters: list[BaseFundingAdapter] = field(default_factory=list)
    now: Callable[[], datetime] = wall_clock
    entries_paused: str | None = None
    """Why new entries are paused (an operator's `perparb pause`, the risk guardian), or None."""
    entry_gate: Callable[[], Awaitable[str | None]] | None = None
    """Set by the runner: reads pending operator commands and returns why an entry may not start now (or None).
    Strategies call `may_enter()` before their entries: the grid before each, funding arbitrage once per cycle for
    the cycle's concurrent entries (read while the scan fetches; read again when older than 1 s)."""

    @property
    def mode(self) -> str:
        return self.run.mode

    @property
    def account(self) -> str:
        return self.run.account_name

    async def event(
        self,
        kind: str,
        message: str,
        *,
        level: str = "info",
        detail: dict[str, Any] | None = None,
        alert: str | None = None,
        subject: str | None = None,
    ) -> None:
        """Record an event of this run (database + log). `detail` holds no secret.

        When `kind` is in `EVENT_ALERTS`, or `alert` names an alert event, an operator alert is recorded in the
        same transaction (`database.alerts.raise_alert`); `subject` (default: the account and, when `detail`
        has one, the position id) is its de-duplication key."""
        alert = alert or EVENT_ALERTS.get(kind)
        async with self.engine.begin() as conn:
            await state.insert_event(conn, self.run.id, kind, message, level=level, detail=detail)
            if alert is not None:
                position = (detail or {}).get("position_id")
                await raise_alert(
                    conn,
                    self.settings.alerts,
                    alert,
                    subject or (f"{self.account}/position {position}" if position else self.account),
                    message,
                    account=self.account,
                    run_id=self.run.id,
                    detail=detail,
                )

    async def may_enter(self) -> str | None:
        """Why no entry may start now (entries paused, by whom and why), or None: checked before every entry."""
        if self.entry_gate is not None:
            return await self.entry_gate()
        return self.entries_paused


class Strategy(ABC):
    """A strategy driven by the runner. Implementations must keep every venue call behind a persisted order
    row (see `strategies.state`) so a crash at any point is recoverable by `start()` of the next run."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx

    @abstractmethod
    async def start(self) -> None:
        """Reconcile the database with the venues (orders by client order id, positions), before any step."""

    @abstractmethod
    async def step(self) -> bool:
        """One cycle. Returns False when the strategy wants the run to end (e.g. a grid's stop price hit)."""

    @abstractmethod
    async def stop(self, *, close: bool) -> None:
        """No new entries; cancel resting orders; close positions when `close` (reduce-only, bounded)."""

    @abstractmethod
    async def book(self) -> RunBook:
        """The run's book now: legs, exposure, PnL decomposition (`strategies.book`)."""

    @abstractmethod
    async def reduce(self, reason: str) -> str:
        """Close the riskiest position (`RunBook.riskiest_position`; a grid: its inventory), reduce-only and
        bounded; returns what was done, one line."""
