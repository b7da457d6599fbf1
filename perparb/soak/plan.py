"""What a soak runs: the plan (accounts, hours, seed, venues, speed), each account's strategy config, and the seeded
chaos schedule.

The schedule is a pure function of the plan: `chaos_schedule(plan)` with the same seed, accounts, hours and venues
gives the same list of `ChaosEvent`s (times in seconds of wall time after trading starts), so a soak that finds a
broken invariant can be replayed with `--seed`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

VENUE_FAULTS = (
    "reject",
    "partial_fill",
    "latency",
    "http_429",
    "http_5xx",
    "ws_drop",
    "ws_skip",
    "venue_down",
    "price_move",
)
"""Faults injected through the simulator's admin API (simulator/README.md "Faults and admin API")."""

PROCESS_FAULTS = ("sigkill", "sigkill_between_legs", "sigterm_close", "db_restart", "lease_kill")
"""Faults applied to processes: SIGKILL of a runner (at random; between the legs of an entry), SIGTERM of a runner
whose config says `on_stop: close`, a restart of the database, a lease connection killed from the database side
(`pg_terminate_backend`). Every killed or stopped runner is restarted."""

FAULT_KINDS = VENUE_FAULTS + PROCESS_FAULTS

STARTUP_SECONDS = 15.0
"""Wall seconds the runners take to start (imports, connections, reconciliation) before the first fault."""

FA = "funding_arbitrage"
GRID = "grid"


@dataclass(frozen=True)
class SoakPlan:
    """One soak.

    Attributes:
        accounts: runner processes, one account each (>= 2: at least one funding-arbitrage and one grid run).
        simulated_hours: venue time the soak covers (hours; funding settles every simulated hour).
        seed: seeds the chaos schedule, the funding phases and the price moves.
        venues: simulated venues traded (>= 2). Funding-arbitrage runs trade the `pairs` in turn, so every venue
            carries arbitrage legs; grid runs trade one venue each, round robin.
        speed: simulated seconds per real second; wall time = simulated_hours * 3600 / speed.
        symbol: the base asset every run trades ("ETH").
        settle_seconds: wall seconds after the last fault before the final checks (legs re-balance, runs stop).
    """

    accounts: int = 12
    simulated_hours: float = 6.0
    seed: int = 1
    venues: tuple[str, ...] = ()
    speed: float = 60.0
    symbol: str = "ETH"
    settle_seconds: float = 20.0

    def __post_init__(self) -> None:
        if self.accounts < 2:
            raise ValueError(
                f"accounts must be at least 2 (a funding-arbitrage and a grid run), got {self.accounts}"
            )
        if self.simulated_hours <= 0:
            raise ValueError(f"simulated_hours must be positive, got {self.simulated_hours}")
        if self.speed <= 0:
            raise ValueError(f"speed must be positive, got {self.speed}")
        if len(self.venues) < 2:
            raise ValueError(f"venues: a soak needs at least two simulated venues, got {list(self.venues)}")

    @property
    def wall_seconds(self) -> float:
        """Wall seconds of trading (faults injected in the first 85 %, then the settle window)."""
        return self.simulated_hours * 3600.0 / self.speed

    def strategy_of(self, index: int) -> str:
        """Account `index` (0-based) runs funding arbitrage when even, a grid when odd."""
        return FA if index % 2 == 0 else GRID

    def account_name(self, index: int, token: str) -> str:
        """`soak<seed>-<token>-<index>`: `token` keeps names unique in a shared database."""
        return f"soak{self.seed}-{token}-{index:02d}"

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """The funding-arbitrage pairs (long-side venue first for a +1 phase): consecutive venues (v0, v1), (v2, v3),
        ..., and with an odd count the last venue paired with v1. Every venue is in a pair, and every pair joins an
        even-indexed venue (rate `-d x spread` in phase d) with an odd-indexed one (`+d x spread`), so one rate per
        venue opens every pair at once (`venue_sign`)."""
        v = self.venues
        pairs = [(v[i], v[i + 1]) for i in range(0, len(v) - 1, 2)]
        if len(v) % 2:
            pairs.append((v[-1], v[1]))
        return pairs

    def venue_sign(self, venue: str) -> int:
        """-1 for an even-indexed venue of `venues`, +1 for an odd one: in phase d its funding rate is
        `venue_sign x d x spread` (fraction per hour).

        Raises:
            ValueError: `venue` is not in the plan."""
        if venue not in self.venues:
            raise ValueError(f"venue: {venue!r} is not one of the soak's venues {list(self.venues)}")
        return -1 if self.venues.index(venue) % 2 == 0 else 1

    def account_venues(self, index: int) -> list[str]:
        """The venues account `index` trades: funding arbitrage takes the next pair of `pairs` (the k-th arbitrage
        account, k = index // 2, the pair k mod the number of pairs); a grid one venue, round robin."""
        if self.strategy_of(index) == FA:
            return list(self.pairs[(index // 2) % len(self.pairs)])
        return [self.venues[(index // 2) % len(self.venues)]]

    def config(self, index: int, mark: float) -> dict[str, Any]:
        """The strategy config (YAML-able dict) of account `index`; `mark`: the symbol's mark price at start (USD).

        Funding arbitrage: enters on a spread of at least 50 % APR (the market driver sets +/-0.05 %/h), exits below
        10 % or on a flip, IOC legs of 1000 USD, 2x. Every other funding-arbitrage account says `on_stop: close`
        (the SIGTERM fault's target). Grid: nine levels 4 % either side of `mark`, 0.01 per level, 2x."""
        name = f"soak-{index:02d}"
        if self.strategy_of(index) == FA:
            return {
                "strategy": FA,
                "name": name,
                "venues": self.account_venues(index),
                "symbols": [self.symbol],
                "entry": {"min_net_apr": 0.5, "horizon_hours": 24, "max_data_age_seconds": 2_592_000},
                "exit": {"exit_signal_apr": 0.1, "min_hold_hours": 0, "exit_on_flip": True},
                "sizing": {
                    "target_notional_usd": 1000,
                    "leverage": 2,
                    "max_slippage_bps": 30,
                    "max_price_divergence_bps": 150,
                },
                "execution": {"mode": "ioc", "hedge_max_slippage_bps": 150},
                "on_stop": "close" if index % 4 == 0 else "keep",
                "loop_interval_seconds": 1,
            }
        low, high = round(mark * 0.96), round(mark * 1.04)
        return {
            "strategy": GRID,
            "name": name,
            "venue": self.account_venues(index)[0],
            "symbol": self.symbol,
            "lower_price": low,
            "upper_price": high,
            "levels": 9,
            "quantity_per_level": "0.01",
            "max_position": "0.1",
            "leverage": 2,
            "max_slippage_bps": 50,
            "on_stop": "close" if index % 4 == 1 else "keep",
            "loop_interval_seconds": 1,
        }


@dataclass(frozen=True)
class ChaosEvent:
    """One fault at `at` wall seconds after trading starts. `target`: a venue (venue faults), an account index
    (runner faults) or None (database faults); `params`: the fault's numbers (counts, seconds, price factor)."""

    at: float
    kind: str
    target: str | int | None = None
    params: dict[str, Any] = field(default_factory=dict)


def chaos_schedule(plan: SoakPlan) -> list[ChaosEvent]:
    """The seeded fault schedule of `plan`, sorted by time.

    Every kind of `FAULT_KINDS` appears at least once; longer soaks get more (one of each kind per simulated
    hour, about; a database restart, which ends every run, one per three hours). Faults fall between `STARTUP_SECONDS` (the runners' start-up; at most half the wall time) and
    85 % of the wall time, so the last ones have time to settle. Venue faults
    target a random venue of the plan, runner faults a random account (`sigterm_close`: an account whose config
    says `on_stop: close`; `sigkill_between_legs`: a funding-arbitrage account, chosen when an entry is seen).
    """
    rng = random.Random(plan.seed)
    per_kind = max(1, round(plan.simulated_hours))
    start = min(max(plan.wall_seconds * 0.05, STARTUP_SECONDS), plan.wall_seconds * 0.5)
    end = plan.wall_seconds * 0.85
    close_accounts = [i for i in range(plan.accounts) if i % 4 in (0, 1)]
    events: list[ChaosEvent] = []
    for kind in FAULT_KINDS:
        # a database restart ends every run (their leases die with their connections): every third hour
        count = max(1, round(plan.simulated_hours / 3)) if kind == "db_restart" else per_kind
        for _ in range(count):
            at = round(rng.uniform(start, end), 2)
            venue = rng.choice(plan.venues)
            account = rng.randrange(plan.accounts)
            params: dict[str, Any] = {}
            target: str | int | None = venue
            if kind == "reject":
                params = {"reject_next": rng.randint(1, 3)}
            elif kind == "partial_fill":
                params = {
                    "fill_fraction": rng.choice(["0.3", "0.5", "0.7"]),
                    "fill_fraction_count": rng.randint(1, 2),
                }
            elif kind == "latency":
                params = {"latency_seconds": round(rng.uniform(0.3, 1.5), 2), "count": rng.randint(3, 10)}
            elif kind == "http_429":
                params = {
                    "http_status": 429,
                    "count": rng.randint(2, 8),
                    "retry_after_seconds": rng.randint(1, 2),
                }
            elif kind == "http_5xx":
                # on order paths: every venue places orders with a POST (and reads market data with GETs)
                params = {
                    "http_status": rng.choice([500, 502, 503]),
                    "count": rng.randint(2, 6),
                    "method": "POST",
                }
            elif kind == "venue_down":
                params = {"down_seconds": round(rng.uniform(2, 6), 1)}
            elif kind == "price_move":
                target = None  # every venue moves together (a market move, not a divergence)
                params = {
                    "factor": round(rng.choice([-1, 1]) * rng.uniform(0.03, 0.08), 4),
                    "hold_seconds": 8,
                }
            elif kind in ("sigkill", "lease_kill"):
                target = account
                params = {"restart_after_seconds": round(rng.uniform(0.5, 3), 1)}
            elif kind == "sigterm_close":
                target = rng.choice(close_accounts)
                params = {"restart_after_seconds": round(rng.uniform(0.5, 3), 1)}
            elif kind == "sigkill_between_legs":
                target = None
                params = {"restart_after_seconds": 1.0, "watch_seconds": 25}
            elif kind == "db_restart":
                target = None
                params = {"down_seconds": round(rng.uniform(1, 3), 1)}
            events.append(ChaosEvent(at, kind, target, params))
    return sorted(events, key=lambda e: (e.at, e.kind))


def funding_phases(plan: SoakPlan) -> list[tuple[float, int]]:
    """The market driver's funding phases: (wall second, direction), direction +1 = every even-indexed venue's rate
    -0.05 %/h and every odd-indexed one's +0.05 %/h (long the first venue of each pair, short the second pays;
    `SoakPlan.pairs`), -1 the reverse, 0 = no spread (open positions exit). Phases last a fifth of a simulated hour... at least 10 wall seconds; seeded."""
    rng = random.Random(plan.seed * 7919 + 1)
    length = max(10.0, 720.0 / plan.speed)
    phases: list[tuple[float, int]] = []
    t = 0.0
    on = True
    while t < plan.wall_seconds * 0.9:
        phases.append((round(t, 2), rng.choice([1, -1]) if on else 0))
        t += length * rng.uniform(0.8, 1.5)
        on = not on
    phases.append((round(plan.wall_seconds * 0.9, 2), 0))
    return phases
