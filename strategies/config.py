"""Strategy configs: YAML files validated by pydantic models that reject unknown keys and explain every error
by field and value. Units are in the field names (`_usd`, `_bps`, `_hours`, `_seconds`; APRs and fractions are
plain fractions: `min_net_apr: 0.15` means 15 %).

The same file drives live trading, paper trading and the backtester: the decision code reads these models and
nothing else (`strategies.funding_arbitrage.decision`).
"""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from exchange_clients.registry import venue_names
from perparb_core.errors import ConfigError
from perparb_core.files import load_yaml_file

Fraction = Annotated[Decimal, Field(ge=0, le=1)]
PositiveUsd = Annotated[Decimal, Field(gt=0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SignalRules(_Model):
    """What the strategy believes a direction will pay (`strategies.funding_arbitrage.signals`): an estimator of
    the expected spread from the hourly history known at decision time, and the window of the stability
    statistics. The same settings drive live, paper and backtest runs."""

    estimator: Literal["instantaneous", "mean", "ewma"] = Field(
        default="instantaneous",
        description="instantaneous: the last hour known on both legs; mean: trailing mean over window_hours; "
        "ewma: exponentially weighted mean with half_life_hours over window_hours",
    )
    half_life_hours: Decimal | None = Field(default=None, gt=0, le=24 * 90, description="ewma only")
    window_hours: int | None = Field(
        default=None,
        ge=1,
        le=24 * 90,
        description="mean: the window (required); ewma: hours of history weighed (default 4 half-lives)",
    )
    stability_days: int = Field(
        default=7,
        ge=3,
        le=60,
        description="daily blocks of the stability statistics (t-stat, CV, sign share)",
    )
    min_hours: int | None = Field(
        default=None,
        ge=1,
        description="known aligned hours needed in the window for an estimate (default: half the window; 1 for "
        "instantaneous)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> SignalRules:
        if self.estimator == "ewma" and self.half_life_hours is None:
            raise ValueError("signal.half_life_hours: required with estimator ewma")
        if self.estimator != "ewma" and self.half_life_hours is not None:
            raise ValueError(f"signal.half_life_hours: only used by estimator ewma, not {self.estimator}")
        if self.estimator == "mean" and self.window_hours is None:
            raise ValueError("signal.window_hours: required with estimator mean")
        if self.estimator == "instantaneous" and self.window_hours not in (None, 1):
            raise ValueError(
                f"signal.window_hours: the instantaneous estimator reads one hour, not {self.window_hours}"
            )
        if self.min_hours is not None and self.min_hours > self.lookback_hours:
            raise ValueError(
                f"signal.min_hours ({self.min_hours}) exceeds the window ({self.lookback_hours} h)"
            )
        return self

    @property
    def lookback_hours(self) -> int:
        """Hours in the estimator's window."""
        if self.estimator == "instantaneous":
            return 1
        if self.window_hours is not None:
            return self.window_hours
        assert self.half_life_hours is not None
        return max(1, math.ceil(4 * self.half_life_hours))

    @property
    def required_hours(self) -> int:
        """Known aligned hours needed for an estimate."""
        if self.min_hours is not None:
            return self.min_hours
        return 1 if self.estimator == "instantaneous" else max(1, self.lookback_hours // 2)


class EntryRules(_Model):
    """When to open a position. Every threshold is evaluated on the signal (`signal`), i.e. on one hour's spread
    only with the `instantaneous` estimator; at least one of `min_net_apr` and `min_signal_apr` is required."""

    min_net_apr: Decimal | None = Field(
        default=None,
        gt=-1,
        description="expected net APR over the horizon: (signal x H - round-trip cost) / H x 8760, fraction",
    )
    min_signal_apr: Decimal | None = Field(
        default=None, gt=-1, description="expected gross APR of the signal (spread x 8760), fraction"
    )
    min_stability: Decimal | None = Field(
        default=None, description="t-statistic of the daily mean spread in the trade's direction"
    )
    max_spread_cv: Decimal | None = Field(
        default=None, gt=0, description="standard deviation / |mean| of the hourly spread"
    )
    min_sign_share: Fraction | None = Field(
        default=None, description="share of known hours whose spread had the trade's sign"
    )
    horizon_hours: Decimal = Field(
        default=Decimal(168), gt=0, description="holding horizon over which costs are amortised"
    )
    min_spread_persistence_hours: Decimal = Field(
        default=Decimal(0), ge=0, description="the spread kept its sign at least this long"
    )
    min_volume_24h_usd: Decimal = Field(default=Decimal(0), ge=0, description="smaller leg")
    min_open_interest_usd: Decimal = Field(default=Decimal(0), ge=0, description="smaller leg")
    max_data_age_seconds: Decimal = Field(default=Decimal(900), gt=0)

    @model_validator(mode="after")
    def _a_threshold(self) -> EntryRules:
        if self.min_net_apr is None and self.min_signal_apr is None:
            raise ValueError("entry: give min_signal_apr and/or min_net_apr (the entry threshold)")
        return self


class ExitRules(_Model):
    """When to close a position (any rule suffices; nothing but liquidation risk and a stale leg closes before
    `min_hold_hours`). Costs already paid, and the exit cost every position pays whenever it closes, never
    decide an exit."""

    exit_signal_apr: Decimal = Field(
        default=Decimal(0),
        description="close when the signal's gross APR falls below this (hysteresis: below the entry threshold)",
    )
    exit_on_flip: bool = Field(default=False, description="also close when one hour's spread is <= 0")
    max_stale_hours: Decimal = Field(
        default=Decimal(24),
        gt=0,
        description="a leg without a fresh non-zero rate for this long is stale: closed, never entered",
    )
    max_hold_hours: Decimal | None = Field(default=None, gt=0)
    min_hold_hours: Decimal = Field(default=Decimal(0), ge=0)
    min_liquidation_distance: Fraction = Field(
        default=Decimal("0.1"),
        description="close when a leg's mark is within this fraction of its liquidation",
    )
    switch_cost_multiple: Decimal = Field(
        default=Decimal(2),
        ge=1,
        description="switch only if the expected gain over the remaining horizon exceeds this x the cost",
    )
    max_leg_drift: Fraction = Field(
        default=Decimal("0.02"), description="re-hedge when |long qty - short qty| exceeds this fraction"
    )

    @model_validator(mode="before")
    @classmethod
    def _removed(cls, data: Any) -> Any:
        if isinstance(data, dict) and "exit_net_apr" in data:
            raise ValueError(
                "exit_net_apr was removed: exits act on the signal (exit.exit_signal_apr, gross APR), and the exit "
                "cost is paid whenever a position closes, so it cannot decide whether to close"
            )
        return data


class SizingRules(_Model):
    """How big, and the limits."""

    target_notional_usd: PositiveUsd
    leverage: Decimal = Field(
        default=Decimal(1), ge=1, le=100, description="x; below 1 a leg needs more margin than its notional"
    )
    max_positions: int = Field(default=1, ge=1)
    max_exposure_per_venue_usd: PositiveUsd | None = None
    max_total_exposure_usd: PositiveUsd | None = None
    margin_buffer: Fraction = Field(default=Decimal("0.2"), description="keep this fraction of margin free")
    max_slippage_bps: Decimal = Field(default=Decimal(10), ge=0, le=500)
    max_price_divergence_bps: Decimal = Field(default=Decimal(50), ge=0)


class CostRules(_Model):
    """Costs assumed by the ranking and the backtest (fractions of notional)."""

    fee_mode: Literal["taker", "maker"] = "taker"
    fee_overrides: dict[str, dict[Literal["taker", "maker"], Decimal]] = Field(default_factory=dict)
    slippage_bps: Decimal = Field(default=Decimal(0), ge=0, description="per fill")

    @model_validator(mode="after")
    def _venues_known(self) -> CostRules:
        for venue in self.fee_overrides:
            if venue not in venue_names() and venue not in BACKTEST_VENUES:
                raise ValueError(f"fee_overrides: unknown venue {venue!r}")
        return self


class ExecutionRules(_Model):
    """How both legs are sent (`strategies.execution.two_leg`)."""

    mode: Literal["post_only", "ioc"] = Field(
        default="ioc",
        description="ioc: both legs as bounded IOC market orders; post_only: both as post-only limits at the touch",
    )
    post_only_timeout_seconds: Decimal = Field(
        default=Decimal(10), gt=0, description="cancel the unfilled rest of a post-only leg after this"
    )
    hedge_max_slippage_bps: Decimal = Field(
        default=Decimal(50), ge=0, le=1000, description="bound on the aggressive orders that hedge or unwind"
    )
    hedge_attempts: int = Field(
        default=3, ge=1, le=10, description="aggressive orders tried per hedge/unwind"
    )


# Venues whose history the backtester replays (../shared/funding-history), beside the tradeable ones.
BACKTEST_VENUES = ("binance", "bybit")


RiskAction = Literal["alert", "pause_entries", "reduce", "flatten"]


class RiskLimit(_Model):
    """One portfolio limit and what the runner does when it is breached: `alert` (an alert only), `pause_entries`
    (no new entries until `perparb resume`), `reduce` (close the riskiest position: the smallest liquidation
    distance, else the largest notional), `flatten` (close every position and stop the run). Every breach also
    raises a `risk_triggered` alert."""

    limit: Decimal = Field(ge=0)
    action: RiskAction


class RiskRules(_Model):
    """Portfolio-level limits of a run, enforced by the runner between cycles and before every entry
    (`strategies.risk`). Equity is the run's funding + realised + unrealised PnL in USD (`strategies.book`).

    Attributes:
        max_drawdown_usd: equity's fall from its peak since the run started, USD.
        max_consecutive_failed_cycles: cycles in a row that failed on a venue error (a whole number).
        max_net_delta_usd: |signed sum of the legs' notionals| (long +, short -), USD.
        min_liquidation_distance: the smallest |mark - liquidation| / mark of any leg, a fraction (breached below).
        max_daily_loss_usd: equity at the first cycle of the UTC day minus equity now, USD.
        liquidation_warning: a leg closer to liquidation than this fraction raises a `liquidation_warning` alert
            (default: PERPARB_ALERT_LIQUIDATION_WARNING, 0.25).
    """

    max_drawdown_usd: RiskLimit | None = None
    max_consecutive_failed_cycles: RiskLimit | None = None
    max_net_delta_usd: RiskLimit | None = None
    min_liquidation_distance: RiskLimit | None = None
    max_daily_loss_usd: RiskLimit | None = None
    liquidation_warning: Decimal | None = Field(default=None, gt=0, lt=1)

    @model_validator(mode="after")
    def _consistent(self) -> RiskRules:
        cycles = self.max_consecutive_failed_cycles
        if cycles is not None and (cycles.limit < 1 or cycles.limit != cycles.limit.to_integral_value()):
            raise ValueError(
                f"risk.max_consecutive_failed_cycles.limit: a whole number of cycles >= 1 (got {cycles.limit})"
            )
        liq = self.min_liquidation_distance
        if liq is not None and not 0 < liq.limit < 1:
            raise ValueError(
                f"risk.min_liquidation_distance.limit: a fraction of the mark price in (0, 1) (got {liq.limit})"
            )
        return self

    def limits(self) -> dict[str, RiskLimit]:
        """The configured limits by name."""
        names = (
            "max_drawdown_usd",
            "max_consecutive_failed_cycles",
            "max_net_delta_usd",
            "min_liquidation_distance",
            "max_daily_loss_usd",
        )
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}


class FundingArbitrageConfig(_Model):
    """A delta-neutral funding-arbitrage strategy."""

    strategy: Literal["funding_arbitrage"]
    name: str = Field(min_length=1, max_length=64)
    venues: list[str] = Field(min_length=2, description="venues the strategy may trade")
    symbols: list[str] | None = Field(default=None, description="base assets; omit for all")
    signal: SignalRules = Field(default_factory=SignalRules)
    entry: EntryRules
    exit: ExitRules = Field(default_factory=ExitRules)
    sizing: SizingRules
    costs: CostRules = Field(default_factory=CostRules)
    execution: ExecutionRules = Field(default_factory=ExecutionRules)
    risk: RiskRules = Field(default_factory=RiskRules)
    on_stop: Literal["keep", "close"] = "keep"
    unknown_positions: Literal["report", "close"] = "report"
    loop_interval_seconds: Decimal = Field(
        default=Decimal(10), gt=0, description="seconds between scan/monitor cycles (live and paper)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> FundingArbitrageConfig:
        known = venue_names()
        unknown = [v for v in self.venues if v not in known and v not in BACKTEST_VENUES]
        if unknown:
            raise ValueError(f"venues: unknown venue(s) {unknown}; known: {known + list(BACKTEST_VENUES)}")
        if len(set(self.venues)) != len(self.venues):
            raise ValueError(f"venues: duplicates in {self.venues}")
        entry = self.entry.min_signal_apr if self.entry.min_signal_apr is not None else self.entry.min_net_apr
        name = "entry.min_signal_apr" if self.entry.min_signal_apr is not None else "entry.min_net_apr"
        if entry is not None and self.exit.exit_signal_apr >= entry:
            raise ValueError(
                f"exit.exit_signal_apr ({self.exit.exit_signal_apr}) must be below {name} ({entry}): the gap is "
                "the hysteresis that stops churning"
            )
        if self.exit.max_hold_hours is not None and self.exit.max_hold_hours <= self.exit.min_hold_hours:
            raise ValueError("exit.max_hold_hours must be greater than exit.min_hold_hours")
        sizing = self.sizing
        # limits that make every entry impossible are refused here, not discovered as a run that enters nothing
        if (
            sizing.max_exposure_per_venue_usd is not None
            and sizing.max_exposure_per_venue_usd < sizing.target_notional_usd
        ):
            raise ValueError(
                f"sizing.max_exposure_per_venue_usd ({sizing.max_exposure_per_venue_usd}) is below "
                f"sizing.target_notional_usd ({sizing.target_notional_usd}): no position could ever be opened"
            )
        if (
            sizing.max_total_exposure_usd is not None
            and sizing.max_total_exposure_usd < 2 * sizing.target_notional_usd
        ):
            raise ValueError(
                f"sizing.max_total_exposure_usd ({sizing.max_total_exposure_usd}) is below two legs of "
                f"sizing.target_notional_usd (2 x {sizing.target_notional_usd}): no position could ever be opened"
            )
        return self

    @property
    def symbol_set(self) -> frozenset[str] | None:
        return None if self.symbols is None else frozenset(s.upper() for s in self.symbols)

    @property
    def traded_venues(self) -> list[str]:
        """The venues a live or paper run trades: `venues` without the history-only ones (`BACKTEST_VENUES`),
        which only the backtester replays. So one file lists both and runs unchanged in either."""
        return [v for v in self.venues if v not in BACKTEST_VENUES]


class GridConfig(_Model):
    """A grid on one venue and market (`strategies.grid`).

    Levels: `levels` prices evenly spaced from `lower_price` to `upper_price` inclusive (or every `step_price`
    from `lower_price` up to `upper_price`; exactly one of `levels` and `step_price`). Below the reference price
    each level rests a post-only BUY of `quantity_per_level`; above it a post-only SELL. When a level fills, the
    opposite order is placed `take_profit_price` away (default: one grid step). `stop_price_low` /
    `stop_price_high`: the mark crossing either cancels the ladder, closes the position (reduce-only, bounded) and
    stops the run. `pause_price_low` / `pause_price_high`: outside them no new order is placed until the mark
    returns. `max_position` caps |position| in base units: no order that could exceed it is placed.
    `on_stop` (grid only also accepts `cancel`): what a normal stop does with the ladder and the position.
    """

    strategy: Literal["grid"]
    name: str = Field(min_length=1, max_length=64)
    venue: str
    symbol: str = Field(min_length=1, max_length=32, description="base asset, e.g. ETH")
    lower_price: Decimal = Field(gt=0)
    upper_price: Decimal = Field(gt=0)
    levels: int | None = Field(default=None, ge=2, le=500)
    step_price: Decimal | None = Field(default=None, gt=0)
    quantity_per_level: Decimal = Field(gt=0, description="base units per order")
    take_profit_price: Decimal | None = Field(
        default=None, gt=0, description="distance of the opposite order"
    )
    max_position: Decimal = Field(gt=0, description="largest |position| in base units")
    stop_price_low: Decimal | None = Field(default=None, gt=0)
    stop_price_high: Decimal | None = Field(default=None, gt=0)
    pause_price_low: Decimal | None = Field(default=None, gt=0)
    pause_price_high: Decimal | None = Field(default=None, gt=0)
    leverage: Decimal = Field(
        default=Decimal(1), ge=1, le=100, description="x; below 1 a leg needs more margin than its notional"
    )
    max_slippage_bps: Decimal = Field(
        default=Decimal(20), ge=0, le=500, description="bound on closing orders"
    )
    risk: RiskRules = Field(default_factory=RiskRules)
    on_stop: Literal["keep", "cancel", "close"] = Field(
        default="keep",
        description="keep: the ladder stays resting (a later run adopts it); cancel: cancel the ladder, keep the "
        "position; close: cancel the ladder and close the position (reduce-only, bounded)",
    )
    loop_interval_seconds: Decimal = Field(default=Decimal(2), gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> GridConfig:
        if self.venue not in venue_names():
            raise ValueError(f"venue: unknown venue {self.venue!r}; known: {venue_names()}")
        if self.upper_price <= self.lower_price:
            raise ValueError(
                f"upper_price ({self.upper_price}) must be above lower_price ({self.lower_price})"
            )
        if (self.levels is None) == (self.step_price is None):
            raise ValueError("give exactly one of levels and step_price")
        if self.stop_price_low is not None and self.stop_price_low >= self.lower_price:
            raise ValueError(
                f"stop_price_low ({self.stop_price_low}) must be below lower_price ({self.lower_price})"
            )
        if self.stop_price_high is not None and self.stop_price_high <= self.upper_price:
            raise ValueError(
                f"stop_price_high ({self.stop_price_high}) must be above upper_price ({self.upper_price})"
            )
        if (
            self.pause_price_low is not None
            and self.pause_price_high is not None
            and self.pause_price_high <= self.pause_price_low
        ):
            raise ValueError("pause_price_high must be above pause_price_low")
        return self

    @property
    def venues(self) -> list[str]:
        return [self.venue]

    @property
    def traded_venues(self) -> list[str]:
        """The venue a live or paper run trades (`venue`)."""
        return [self.venue]

    @property
    def symbol_set(self) -> frozenset[str]:
        return frozenset({self.symbol.upper()})

    def level_prices(self) -> list[Decimal]:
        """The grid's prices, ascending (not yet rounded to the venue's tick)."""
        if self.levels is not None:
            step = (self.upper_price - self.lower_price) / (self.levels - 1)
            return [self.lower_price + step * i for i in range(self.levels)]
        assert self.step_price is not None
        out, price = [], self.lower_price
        while price <= self.upper_price:
            out.append(price)
            price += self.step_price
        return out


StrategyConfig = FundingArbitrageConfig | GridConfig
STRATEGY_MODELS: dict[str, type[FundingArbitrageConfig] | type[GridConfig]] = {
    "funding_arbitrage": FundingArbitrageConfig,
    "grid": GridConfig,
}


def _format_errors(exc: ValidationError) -> str:
    lines = []
    for e in exc.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        got = e.get("input")
        shown = "" if isinstance(got, dict | list) or got is None else f" (got {got!r})"
        lines.append(f"{loc}: {e['msg']}{shown}")
    return "; ".join(lines)


def parse_config(data: Any, *, source: str = "config") -> Any:
    """Validate a decoded YAML document into the model its `strategy` names (`FundingArbitrageConfig` or
    `GridConfig`). Raises ConfigError listing every problem by field and value."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    kind = data.get("strategy")
    model = STRATEGY_MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise ConfigError(f"{source}: strategy: unknown strategy {kind!r}; known: {sorted(STRATEGY_MODELS)}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_format_errors(exc)}") from None


def load_config(path: Path) -> Any:
    """Read and validate a YAML config.

    Raises:
        ConfigError: one line naming the file: missing, a directory, not UTF-8, YAML syntax or a duplicate key
            (`perparb_core.files`), or invalid fields.
    """
    return parse_config(load_yaml_file(path, what="strategy config"), source=str(path))
