"""Aster markets in the simulator's engine: the `exchangeInfo` symbol row read into a `MarketSpec`, and the venue's
order-entry rules (`ASTER_RULES`).

`GET /fapi/v1/exchangeInfo` symbol row (venue-data/aster/rest_exchangeInfo_docexample.json) and
`GET /fapi/v1/fundingInfo` (rest_fundingInfo_*):

| field                                         | unit          | engine                                          |
|-----------------------------------------------|---------------|-------------------------------------------------|
| `PRICE_FILTER.tickSize`, `LOT_SIZE.stepSize`  | quote / base  | tick / step                                     |
| `LOT_SIZE.minQty`, `LOT_SIZE.maxQty`          | base          | min_size / max_size                             |
| `MIN_NOTIONAL.notional`                       | USDT          | min_notional (at the order price; mark for market orders) |
| `requiredMarginPercent`, `maintMarginPercent` | percent       | initial (the maximum leverage is 1 / it) / maintenance fraction |
| `liquidationFee`                              | fraction of notional | liquidation_fee                          |
| `fundingInfo.fundingIntervalHours`            | hours         | settlement_interval_hours and funding_period_hours (8 when absent) |

Funding: `FundingMode.SETTLE_EVERY_INTERVAL` with the symbol's interval: every holder pays or receives
`notional x rate per interval` at each interval's end (00/08/16 UTC for 8 h; docs.asterdex.com funding-rate page).
Fees: the standard tier's 0.01 % maker / 0.035 % taker (recorded commissionRate).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from perparb_core import units
from simulator.engine import FundingMode, MarketSpec, NotionalBasis, ReduceOnlyPolicy, VenueRules

MAKER_FEE = Decimal("0.0001")
TAKER_FEE = Decimal("0.00035")
DEFAULT_INTERVAL_HOURS = 8
DEFAULT_LIQUIDATION_FEE = Decimal("0.01")

# Binance-style: a reduce-only order larger than the position is capped at the position (never flips it), the
# minimum notional is checked at the order's price (mark price for market orders: V3 docs "MIN_NOTIONAL") and a
# reduce-only order is exempt from it ("Order's notional must be no smaller than 5.0 (unless you choose reduce
# only)", -4164).
ASTER_RULES = VenueRules("aster", ReduceOnlyPolicy.CLAMP, NotionalBasis.ORDER_PRICE, True)


def filters(row: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The row's filters by `filterType`."""
    return {f["filterType"]: f for f in row.get("filters") or [] if isinstance(f, dict) and "filterType" in f}


def _dec(row: dict[str, Any], key: str, *, allow_zero: bool = False) -> Decimal:
    return units.to_decimal(row.get(key), key, allow_negative=False, allow_zero=allow_zero)


def aster_market_spec(
    row: dict[str, Any], *, interval_hours: int = DEFAULT_INTERVAL_HOURS, mark_price: Decimal | None = None
) -> MarketSpec:
    """`MarketSpec` of one exchangeInfo symbol row (module table).

    Raises:
        units.UnitError: a required field is missing or not a number (`field` names it).
        ValueError: the MarketSpec's own checks (maintenance above initial, interval not dividing 24).
    """
    f = filters(row)
    price_f, lot_f = f.get("PRICE_FILTER", {}), f.get("LOT_SIZE", {})
    required = _dec(row, "requiredMarginPercent") / 100
    maint = _dec(row, "maintMarginPercent") / 100
    max_qty = units.optional_decimal(lot_f.get("maxQty"), "maxQty", allow_negative=False)
    notional = units.optional_decimal(
        f.get("MIN_NOTIONAL", {}).get("notional"), "notional", allow_negative=False
    )
    fee = units.optional_decimal(row.get("liquidationFee"), "liquidationFee", allow_negative=False)
    return MarketSpec(
        symbol=str(row.get("symbol")),
        tick_size=_dec(price_f, "tickSize"),
        size_step=_dec(lot_f, "stepSize"),
        min_size=_dec(lot_f, "minQty"),
        min_notional=notional or Decimal(0),
        max_size=max_qty or None,
        initial_margin_fraction=required,
        maintenance_margin_fraction=min(maint, required),
        maker_fee=MAKER_FEE,
        taker_fee=TAKER_FEE,
        liquidation_fee=fee if fee is not None else DEFAULT_LIQUIDATION_FEE,
        funding_mode=FundingMode.SETTLE_EVERY_INTERVAL,
        funding_period_hours=Decimal(interval_hours),
        settlement_interval_hours=interval_hours,
        mark_price=mark_price,
    )
