"""The risk guardian: a run's portfolio-level limits (`risk:` in the strategy YAML, `strategies.config.RiskRules`),
judged by the runner after every cycle and before every entry.

`RiskGuardian.evaluate(book, failed_cycles)` returns the breaches of the moment, each with the action its limit
names (`alert`, `pause_entries`, `reduce`, `flatten`); the runner carries them out (`strategies.runner`). Rules:

* drawdown: `peak - equity`, the peak being the highest equity this run has seen (its first book included);
* daily loss: equity at the run's first book of the current UTC day (of the run's clock: the simulator's in
  paper mode) minus equity now;
* net delta: |signed sum of the legs' notionals|; a delta-neutral book sits near 0, a naked leg shows its size;
* liquidation distance: the smallest |mark - liquidation| / mark over the open legs (legs without a liquidation
  price are not judged);
* failed cycles: cycles in a row that failed on a venue error, as the runner counts them.

A limit breached on consecutive evaluations is the same episode: `Breach.new` is True only on the first, so the
runner counts and announces an episode once while the action (pause is idempotent, reduce closes one more
position per cycle, flatten ends the run) is taken each time it still applies.

Why hand-written: these are this project's own trading rules on its own book; no risk library knows a
two-venue funding-arbitrage book.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from strategies.book import RunBook
from strategies.config import RiskRules


@dataclass(frozen=True, slots=True)
class Breach:
    """A limit breached now: `value` against `limit` (units of the limit's name), `action` to take, `new` when
    this evaluation starts the episode, `message` one line for events and alerts."""

    limit: str
    action: str
    value: Decimal
    threshold: Decimal
    new: bool
    message: str


class RiskGuardian:
    """Judges a run's books against its `RiskRules` (module docstring). One instance per run."""

    def __init__(self, rules: RiskRules) -> None:
        self.rules = rules
        self.peak: Decimal | None = None
        self.day: date | None = None
        self.day_start_equity: Decimal | None = None
        self._active: set[str] = set()

    def observe(self, book: RunBook) -> None:
        """Track the peak and the day's opening equity (called by `evaluate`)."""
        equity = book.equity_usd
        self.peak = equity if self.peak is None else max(self.peak, equity)
        today = book.at.date()
        if self.day != today:
            self.day, self.day_start_equity = today, equity

    def measures(self, book: RunBook, failed_cycles: int) -> dict[str, Decimal | None]:
        """The value of each limit's measure now (None: nothing to judge, e.g. no leg has a liquidation price)."""
        distances = [leg.liquidation_distance for leg in book.legs if leg.liquidation_distance is not None]
        equity = book.equity_usd
        return {
            "max_drawdown_usd": None if self.peak is None else self.peak - equity,
            "max_consecutive_failed_cycles": Decimal(failed_cycles),
            "max_net_delta_usd": abs(book.net_delta_usd),
            "min_liquidation_distance": min(distances) if distances else None,
            "max_daily_loss_usd": None if self.day_start_equity is None else self.day_start_equity - equity,
        }

    def evaluate(self, book: RunBook, failed_cycles: int = 0) -> list[Breach]:
        """The breaches of `book` (after `failed_cycles` failed cycles in a row), in the order of `RiskRules`."""
        self.observe(book)
        values = self.measures(book, failed_cycles)
        out: list[Breach] = []
        active: set[str] = set()
        for name, rule in self.rules.limits().items():
            value = values[name]
            if value is None:
                continue
            breached = value < rule.limit if name == "min_liquidation_distance" else value > rule.limit
            if name == "max_consecutive_failed_cycles":
                breached = value >= rule.limit
            if not breached:
                continue
            active.add(name)
            out.append(
                Breach(
                    limit=name,
                    action=rule.action,
                    value=value,
                    threshold=rule.limit,
                    new=name not in self._active,
                    message=_describe(name, value, rule.limit, rule.action, book, at=book.at),
                )
            )
        self._active = active
        return out


def _describe(name: str, value: Decimal, limit: Decimal, action: str, book: RunBook, *, at: datetime) -> str:
    what = {
        "max_drawdown_usd": f"drawdown {value:.2f} USD > {limit} USD (equity {book.equity_usd:.2f})",
        "max_consecutive_failed_cycles": f"{value} failed cycles in a row >= {limit}",
        "max_net_delta_usd": f"net delta {value:.2f} USD > {limit} USD",
        "min_liquidation_distance": f"a leg is {value:.4f} of its mark from liquidation < {limit}",
        "max_daily_loss_usd": f"loss today {value:.2f} USD > {limit} USD (equity {book.equity_usd:.2f})",
    }[name]
    return f"risk limit {name}: {what}; action {action}"
