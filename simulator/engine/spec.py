"""A market's static parameters (`MarketSpec`) and how its funding reaches the accounts (`FundingMode`).

Apart from `simulator.engine.market` (the market's live state) so that the modules that only need the parameters
(the synthetic liquidity, the venue packages' market tables) do not import the state, which holds a liquidity
model: the two imported each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from simulator.engine.orders import ZERO


class FundingMode(str, Enum):
    """How a market's funding reaches the accounts (each venue package chooses per market).

    SETTLE_EVERY_INTERVAL: every holder is paid `-size x mark x rate_hourly x hours` at the end of every settlement
    interval of the market (`MarketSpec.settlement_interval_hours`, on the UTC hours divisible by it): Lighter's
    mechanics with 1 hour (docs.lighter.xyz "Funding"), Aster's and Binance-style venues' with the symbol's
    interval (8, 4 or 1 hours).
    CONTINUOUS_INDEX: a funding index accrues continuously and a position realises
    `-size x (index - index at its last realisation)` when it changes (a fill, a liquidation); Paradex's mechanics
    (docs.paradex.trade "Funding Mechanism").
    """

    SETTLE_EVERY_INTERVAL = "settle_every_interval"
    CONTINUOUS_INDEX = "continuous_index"


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """Static parameters of one perpetual market.

    Attributes:
        symbol: engine market key ("ETH" for Lighter, "ETH-USD-PERP" for Paradex).
        tick_size: price increment (quote); size_step: size increment (base); min_size: minimum order size (base).
        min_notional: minimum order value (USD); max_size: maximum order size (base), None = unlimited.
        initial_margin_fraction / maintenance_margin_fraction: fractions of notional at mark;
            `initial_margin_fraction` is the default an account uses until it sets a leverage
            (`Engine.set_leverage`).
        min_initial_margin_fraction: the lowest initial fraction an account may choose (1 / maximum leverage);
            None = `initial_margin_fraction` (Paradex: the maximum leverage is 1 / `imf_base`).
        maker_fee / taker_fee: fractions of notional (negative = rebate).
        liquidation_fee: fraction of the notional closed by a liquidation, charged to the liquidated account.
        funding_mode: see `FundingMode`; funding_period_hours: the period the venue quotes rates for (Lighter 1,
            Paradex usually 8) – the engine works with hourly rates throughout and uses it only to report.
        settlement_interval_hours: SETTLE_EVERY_INTERVAL markets: hours between two settlements (1 = every hour
            on the hour; 8 = 00/08/16 UTC); must divide 24.
        market_id: the venue's integer id when it has one (Lighter), else None.
        mark_price: initial mark price (USD), None when the payload gives none.
    """

    symbol: str
    tick_size: Decimal
    size_step: Decimal
    min_size: Decimal
    min_notional: Decimal
    initial_margin_fraction: Decimal
    maintenance_margin_fraction: Decimal
    maker_fee: Decimal = ZERO
    taker_fee: Decimal = ZERO
    liquidation_fee: Decimal = ZERO
    max_size: Decimal | None = None
    funding_mode: FundingMode = FundingMode.SETTLE_EVERY_INTERVAL
    funding_period_hours: Decimal = Decimal(1)
    market_id: int | None = None
    mark_price: Decimal | None = None
    min_initial_margin_fraction: Decimal | None = None
    settlement_interval_hours: int = 1

    @property
    def min_imf(self) -> Decimal:
        """The lowest initial margin fraction an account may choose (fraction)."""
        m = self.min_initial_margin_fraction
        return m if m is not None else self.initial_margin_fraction

    @property
    def max_leverage(self) -> Decimal:
        """1 / `min_imf` (x)."""
        return 1 / self.min_imf

    def __post_init__(self) -> None:
        for name in ("tick_size", "size_step", "initial_margin_fraction", "maintenance_margin_fraction"):
            value = getattr(self, name)
            if value <= 0:
                raise ValueError(f"market {self.symbol}: {name} must be positive, got {value}")
        if self.min_size < 0 or self.min_notional < 0 or self.liquidation_fee < 0:
            raise ValueError(f"market {self.symbol}: min_size, min_notional, liquidation_fee must be >= 0")
        if self.maintenance_margin_fraction > self.initial_margin_fraction:
            raise ValueError(
                f"market {self.symbol}: maintenance fraction {self.maintenance_margin_fraction} exceeds "
                f"initial fraction {self.initial_margin_fraction}"
            )
        if self.settlement_interval_hours < 1 or 24 % self.settlement_interval_hours:
            raise ValueError(
                f"market {self.symbol}: settlement_interval_hours must divide 24, got {self.settlement_interval_hours}"
            )
        m = self.min_initial_margin_fraction
        if m is not None and not (self.maintenance_margin_fraction <= m <= self.initial_margin_fraction):
            raise ValueError(
                f"market {self.symbol}: minimum initial fraction {m} must lie between the maintenance fraction "
                f"{self.maintenance_margin_fraction} and the initial fraction {self.initial_margin_fraction}"
            )
