"""Strategy configs: YAML files validated by pydantic models that reject unknown keys and explain every error
by field and value. Units are in the field names (`_usd`, `_bps`, `_hours`, `_seconds`; APRs and fractions are
plain fractions: `min_net_apr: 0.15` means 15 %).

The same file drives live trading, paper trading and the backtester: the decision code reads these models and
nothing else (`strategies.funding_arbitrage.decision`).
"""

from __future__ import annotations

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


class EntryRules(_Model):
    """When to open a position."""

    min_net_apr: Decimal = Field(gt=0, description="net APR over the horizon, fraction (0.15 = 15 %)")
    horizon_hours: Decimal = Field(default=Decimal(168), gt=0, description="holding horizon for the net APR")
    min_spread_persistence_hours: Decimal = Field(
        default=Decimal(0), ge=0, description="the spread kept its sign at least this long"
    )
    min_volume_24h_usd: Decimal = Field(default=Decimal(0), ge=0, description="smaller leg")
    min_open_interest_usd: Decimal = Field(default=Decimal(0), ge=0, description="smaller leg")
    max_data_age_seconds: Decimal = Field(default=Decimal(900), gt=0)


class ExitRules(_Model):
    """When to close a position (any rule suffices, except that nothing but liquidation risk closes before
    `min_hold_hours`)."""

    exit_net_apr: Decimal = Field(
        default=Decimal(0), description="close when the spread's APR (net of exit costs) falls below this"
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
        description="switch only if the better opportunity gains more than this × cost",
    )
    max_leg_drift: Fraction = Field(
        default=Decimal("0.02"), description="re-hedge when |long qty - short qty| exceeds this fraction"
    )


class SizingRules(_Model):
    """How big, and the limits."""

    target_notional_usd: PositiveUsd
    leverage: Decimal = Field(default=Decimal(1), gt=0, le=100)
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


class FundingArbitrageConfig(_Model):
    """A delta-neutral funding-arbitrage strategy."""

    strategy: Literal["funding_arbitrage"]
    name: str = Field(min_length=1, max_length=64)
    venues: list[str] = Field(min_length=2, description="venues the strategy may trade")
    symbols: list[str] | None = Field(default=None, description="base assets; omit for all")
    entry: EntryRules
    exit: ExitRules = Field(default_factory=ExitRules)  # type: ignore[arg-type]
    sizing: SizingRules
    costs: CostRules = Field(default_factory=CostRules)  # type: ignore[arg-type]
    execution: ExecutionRules = Field(default_factory=ExecutionRules)  # type: ignore[arg-type]
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
        if self.exit.exit_net_apr >= self.entry.min_net_apr:
            raise ValueError(
                f"exit.exit_net_apr ({self.exit.exit_net_apr}) must be below entry.min_net_apr "
                f"({self.entry.min_net_apr}): the gap is the hysteresis that stops churning"
            )
        if self.exit.max_hold_hours is not None and self.exit.max_hold_hours <= self.exit.min_hold_hours:
            raise ValueError("exit.max_hold_hours must be greater than exit.min_hold_hours")
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
    leverage: Decimal = Field(default=Decimal(1), gt=0, le=100)
    max_slippage_bps: Decimal = Field(
        default=Decimal(20), ge=0, le=500, description="bound on closing orders"
    )
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
