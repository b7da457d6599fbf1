"""Venue-neutral trading models and the ONE place where prices and sizes are rounded to a market's grid.

Rounding rules (issue #5: "in the direction that never worsens the user's limit"):
* a BUY limit price rounds DOWN to the tick (never pay more than asked), a SELL limit price rounds UP (never
  receive less);
* a quantity rounds DOWN to the size step (never trade more than asked); a result below the market's minimum
  size is refused by the caller, never silently bumped up.
Prices and sizes are `Decimal` in quote currency and base units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import Enum
from math import lcm
from typing import Any

from perparb_core.errors import PerparbError


class Side(str, Enum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(str, Enum):
    LIMIT = "limit"
    MARKET = "market"


class TimeInForce(str, Enum):
    GTC = "gtc"
    IOC = "ioc"
    POST_ONLY = "post_only"


class OrderStatus(str, Enum):
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    UNKNOWN = "unknown"

    @property
    def is_final(self) -> bool:
        return self in (OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED)


class RoundingError(PerparbError, ValueError):
    """A value cannot be placed on the market's grid (non-positive tick/step, or below the minimum)."""


def exponent(value: Decimal) -> int:
    """The decimal exponent of a finite `value` (Decimal("0.01") -> -2).

    Raises:
        RoundingError: `value` is NaN or infinite.
    """
    exp = value.as_tuple().exponent
    if not isinstance(exp, int):
        raise RoundingError(f"{value} is not a finite number")
    return exp


def round_price(price: Decimal, tick: Decimal, side: Side) -> Decimal:
    """`price` on the tick grid, rounded so the limit never gets worse for the user (BUY down, SELL up).

    Raises:
        RoundingError: tick <= 0 or price <= 0.
    """
    if tick <= 0:
        raise RoundingError(f"tick size must be positive, got {tick}")
    if price <= 0:
        raise RoundingError(f"price must be positive, got {price}")
    steps = (price / tick).to_integral_value(rounding=ROUND_FLOOR if side is Side.BUY else ROUND_CEILING)
    rounded = (steps * tick).quantize(tick) if exponent(tick) < 0 else steps * tick
    if rounded <= 0:
        raise RoundingError(f"price {price} rounds to {rounded} on tick {tick}")
    return rounded


def significant_price_step(price: Decimal, *, significant_figures: int, max_decimals: int) -> Decimal:
    """The price increment at `price` on a grid of "at most `significant_figures` significant figures and at most
    `max_decimals` decimals, integers always allowed" (Hyperliquid's perp rule: 5 significant figures, at most
    6 - szDecimals decimals; docs for-developers/api/tick-and-lot-size.md).

    For a price whose leading digit is at 10^e the step is 10^(e - significant_figures + 1), never above 1
    (integers are always valid: 123456 is, 12345.6 is not) and never below 10^-max_decimals.
    E.g. (5 figures, 6 decimals): 65000.5 -> 1; 1234.56 -> 0.1; 0.0012345 -> 0.000001.

    Raises:
        RoundingError: price <= 0, significant_figures < 1 or max_decimals < 0.
    """
    if price <= 0:
        raise RoundingError(f"price must be positive, got {price}")
    if significant_figures < 1 or max_decimals < 0:
        raise RoundingError(f"bad price grid: {significant_figures} figures, {max_decimals} decimals")
    leading = price.adjusted()  # exponent of the leading digit: 65000.5 -> 4, 0.0012 -> -3
    step_exp = min(leading - significant_figures + 1, 0)
    return Decimal(1).scaleb(max(step_exp, -max_decimals))


def round_price_significant(
    price: Decimal, side: Side, *, significant_figures: int, max_decimals: int
) -> Decimal:
    """`price` on the significant-figures grid of `significant_price_step`, rounded so the limit never gets
    worse for the user (BUY down, SELL up). Rounding up across a power of ten lands on it (99999.5 SELL ->
    100000), which is valid.

    Raises:
        RoundingError: price <= 0, a bad grid, or a result that is not positive.
    """
    step = significant_price_step(price, significant_figures=significant_figures, max_decimals=max_decimals)
    return round_price(price, step, side).normalize() + 0


def round_quantity(quantity: Decimal, step: Decimal, *, min_size: Decimal | None = None) -> Decimal:
    """`quantity` rounded DOWN to the size step (never trade more than asked).

    Raises:
        RoundingError: step <= 0, quantity <= 0, or the rounded quantity is below `min_size` (or zero).
    """
    if step <= 0:
        raise RoundingError(f"size step must be positive, got {step}")
    if quantity <= 0:
        raise RoundingError(f"quantity must be positive, got {quantity}")
    steps = (quantity / step).to_integral_value(rounding=ROUND_FLOOR)
    rounded = (steps * step).quantize(step) if exponent(step) < 0 else steps * step
    if rounded <= 0 or (min_size is not None and rounded < min_size):
        raise RoundingError(
            f"quantity {quantity} rounds to {rounded}, below the minimum size {min_size or step}"
        )
    return rounded


def common_quantity(quantity: Decimal, steps: list[Decimal], min_sizes: list[Decimal | None]) -> Decimal:
    """The largest quantity <= `quantity` that lies on EVERY step grid and meets every minimum: the equal base
    quantity both legs of a delta-neutral position can trade.

    Raises:
        RoundingError: no such quantity.
    """
    # a multiple of every step is a multiple of their least common multiple on a decimal grid
    exp = min(exponent(s) for s in steps)
    scale = Decimal(10) ** (-exp)
    ints = [int(s * scale) for s in steps]
    grid = Decimal(lcm(*ints)) / scale
    minimum = max((m for m in min_sizes if m is not None), default=None)
    return round_quantity(quantity, grid, min_size=minimum)


@dataclass(frozen=True, slots=True)
class ContractAttributes:
    """A market's trading grid as the client uses it. `venue_market_id` as the venue needs it (Lighter int as
    text, Paradex symbol)."""

    venue: str
    symbol: str
    venue_market_id: str
    tick_size: Decimal
    size_step: Decimal
    min_size: Decimal | None
    min_notional: Decimal | None
    max_leverage: Decimal | None


@dataclass(frozen=True, slots=True)
class OrderInfo:
    """An order as the venue reports it. Sizes in base units; `filled_quantity` cumulative."""

    venue: str
    symbol: str
    order_id: str
    client_order_id: str | None
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    price: Decimal | None
    quantity: Decimal
    filled_quantity: Decimal
    status: OrderStatus
    reduce_only: bool = False
    reject_reason: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution. `fee` in quote currency (negative = rebate); `liquidity` "maker"/"taker"."""

    venue: str
    symbol: str
    order_id: str
    client_order_id: str | None
    side: Side
    price: Decimal
    quantity: Decimal
    fee: Decimal
    liquidity: str
    ts: datetime
    fill_id: str = ""


@dataclass(frozen=True, slots=True)
class PositionSnapshot:
    """A position: signed quantity (+ long), prices in quote, PnL and funding in quote (USD(C))."""

    venue: str
    symbol: str
    quantity: Decimal
    entry_price: Decimal | None
    mark_price: Decimal | None
    unrealized_pnl: Decimal | None
    funding_accrued: Decimal | None
    liquidation_price: Decimal | None
    margin: Decimal | None
    leverage: Decimal | None

    @property
    def liquidation_distance(self) -> Decimal | None:
        """|mark - liquidation| / mark, the fraction the price may move before liquidation."""
        if self.mark_price is None or self.liquidation_price is None or self.mark_price <= 0:
            return None
        return abs(self.mark_price - self.liquidation_price) / self.mark_price


@dataclass(frozen=True, slots=True)
class FundingPaymentInfo:
    """A realised funding payment: `amount` in quote, + received, - paid."""

    venue: str
    symbol: str
    amount: Decimal
    ts: datetime
    rate: Decimal | None = None
    position_quantity: Decimal | None = None


@dataclass(frozen=True, slots=True)
class BalanceInfo:
    """Collateral figures in USD(C): `available` for new margin, `equity` including unrealised PnL."""

    venue: str
    available: Decimal
    equity: Decimal
    collateral: Decimal | None = None


class EventKind(str, Enum):
    ORDER = "order"
    FILL = "fill"
    POSITION = "position"
    LIQUIDATION = "liquidation"


@dataclass(frozen=True, slots=True)
class ClientEvent:
    """An item of a client's event stream."""

    kind: EventKind
    venue: str
    symbol: str
    order: OrderInfo | None = None
    fill: Fill | None = None
    position: PositionSnapshot | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
