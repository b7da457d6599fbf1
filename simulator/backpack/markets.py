"""Backpack market rows -> engine `MarketSpec`s, the venue's order rules, and its wire spellings.

`backpack_market_spec(row, mark)`: tick `filters.price.tickSize`, step `filters.quantity.stepSize`, minimum size
`minQuantity`, no minimum notional, initial margin fraction max(`imfFunction.base`, 1 / `DEFAULT_LEVERAGE`) with the
lowest an account may choose `imfFunction.base` (maximum leverage 1 / base), maintenance `mmfFunction.base` (the
size-dependent sqrt terms of both functions are not simulated), fees 0.02 % maker / 0.05 % taker (the spec's
standard tier), funding `SETTLE_EVERY_INTERVAL` (hourly on the hour, `-size x mark x rate`; an 8-hour market of an
old scenario is paid an eighth of its rate every hour), `funding_period_hours` = `fundingInterval` / 3600000.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from perparb_core import units
from simulator.engine import FundingMode, MarketSpec, NotionalBasis, ReduceOnlyPolicy, Side, VenueRules
from simulator.engine import OrderStatus as EngineStatus

DEFAULT_LEVERAGE = Decimal(10)
MAKER_FEE = Decimal("0.0002")
TAKER_FEE = Decimal("0.0005")
BACKPACK_RULES = VenueRules(
    venue="backpack",
    reduce_only=ReduceOnlyPolicy.CLAMP,
    min_notional_basis=NotionalBasis.ORDER_PRICE,
    reduce_only_close_exempt_from_min_notional=False,
)
SIDE_WORDS = {Side.BUY: "Bid", Side.SELL: "Ask"}
WORD_SIDES = {v: k for k, v in SIDE_WORDS.items()}


def _dec(value: Any, name: str, *, positive: bool = True) -> Decimal:
    return units.to_decimal(value, name, allow_negative=not positive, allow_zero=not positive)


def backpack_market_spec(row: dict[str, Any], mark: Decimal) -> MarketSpec:
    """The engine market of a `markets` perp row (module docstring).

    Raises:
        units.UnitError: a missing or unreadable field; ValueError: inconsistent margin fractions.
    """
    filters = row.get("filters") or {}
    price_f, qty_f = filters.get("price") or {}, filters.get("quantity") or {}
    imf = row.get("imfFunction") or {}
    mmf = row.get("mmfFunction") or {}
    imf_base = _dec(imf.get("base"), "imfFunction.base")
    mmf_base = _dec(mmf.get("base"), "mmfFunction.base")
    min_size = units.optional_decimal(
        qty_f.get("minQuantity"), "minQuantity", allow_negative=False
    ) or Decimal(0)
    return MarketSpec(
        symbol=str(row["symbol"]),
        tick_size=_dec(price_f.get("tickSize"), "tickSize"),
        size_step=_dec(qty_f.get("stepSize"), "stepSize"),
        min_size=min_size,
        min_notional=Decimal(0),
        initial_margin_fraction=max(imf_base, 1 / DEFAULT_LEVERAGE),
        maintenance_margin_fraction=mmf_base,
        min_initial_margin_fraction=imf_base,
        maker_fee=MAKER_FEE,
        taker_fee=TAKER_FEE,
        funding_mode=FundingMode.SETTLE_EVERY_INTERVAL,
        funding_period_hours=units.hours_from_ms(row.get("fundingInterval"), "fundingInterval"),
        mark_price=mark,
    )


def status_word(status: EngineStatus, *, ioc: bool) -> str:
    """Backpack's order status of an engine status: New, PartiallyFilled, Filled, Cancelled (a user cancel, a
    fault), Expired (an IOC remainder)."""
    if status is EngineStatus.OPEN:
        return "New"
    if status is EngineStatus.PARTIALLY_FILLED:
        return "PartiallyFilled"
    if status is EngineStatus.FILLED:
        return "Filled"
    return "Expired" if ioc else "Cancelled"


def num(value: Decimal | None) -> str | None:
    """Decimal text without exponent or trailing zeros ("3600.50" -> "3600.5"); None stays None."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text
