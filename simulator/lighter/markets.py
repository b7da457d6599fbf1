"""Lighter markets in the simulator's engine: the orderBookDetails row read into a `MarketSpec`, and the venue's
order-entry rules (`LIGHTER_RULES`), and `LighterMarket` (a traded market's ids and decimals).

Lighter `GET /api/v1/orderBookDetails` row (PROTOCOL_NOTES §1.2, payloads `rest_orderBookDetails_market0.json`
and the demo scenario's `lighter/orderBookDetails.json`):

| field                                   | unit                                   | engine                          |
|-----------------------------------------|----------------------------------------|---------------------------------|
| `price_decimals` / `size_decimals`      | decimals                               | tick = 10^-pd, step = 10^-sd    |
| `min_base_amount` / `min_quote_amount`  | base / USDC                            | min_size / min_notional         |
| `default_initial_margin_fraction`       | 1e-4 units (500 = 5 %)                 | initial_margin_fraction         |
| `maintenance_margin_fraction`           | 1e-4 units (120 = 1.2 %)               | maintenance_margin_fraction     |
| `min_initial_margin_fraction` (optional) | 1e-4 units (200 = 2 % -> 50x)         | min_initial_margin_fraction     |
| `maker_fee` / `taker_fee`               | PERCENT ("0.0280" = 0.00028), inferred | fractions                       |
| `liquidation_fee`                       | PERCENT ("1.0000" = 1 %), inferred     | fraction of closed notional     |
| `mark_price`, else `last_trade_price`   | USD                                    | initial mark                    |

Funding: `FundingMode.SETTLE_EVERY_INTERVAL` (Lighter pays every hour on the hour, docs.lighter.xyz "Funding").
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from perparb_core import units
from simulator.engine import FundingMode, MarketSpec, NotionalBasis, ReduceOnlyPolicy, VenueRules
from simulator.formats import fixed

LIGHTER_MARGIN_TICK = Decimal(10_000)  # lighter-go MarginFractionTick, PROTOCOL_NOTES §1.2

# Reduce-only orders larger than the position are clamped (docs.lighter.xyz "Order Types and Matching"); the basis
# of `min_quote_amount` is not documented: the order price is assumed.
LIGHTER_RULES = VenueRules("lighter", ReduceOnlyPolicy.CLAMP, NotionalBasis.ORDER_PRICE, False)


def _dec(row: dict[str, Any], key: str, *, allow_zero: bool = True) -> Decimal:
    return units.to_decimal(row.get(key), key, allow_negative=False, allow_zero=allow_zero)


def lighter_market_spec(row: dict[str, Any]) -> MarketSpec:
    """`MarketSpec` of one Lighter `orderBookDetails` row (table in the module docstring).

    Raises:
        units.UnitError: a required field is missing or not a number (`field` names it).
    """
    price_decimals = row.get("price_decimals")
    size_decimals = row.get("size_decimals")
    if not isinstance(price_decimals, int) or isinstance(price_decimals, bool) or price_decimals < 0:
        raise units.UnitError("price_decimals", price_decimals, "expected a non-negative integer")
    if not isinstance(size_decimals, int) or isinstance(size_decimals, bool) or size_decimals < 0:
        raise units.UnitError("size_decimals", size_decimals, "expected a non-negative integer")
    imf = _dec(row, "default_initial_margin_fraction", allow_zero=False) / LIGHTER_MARGIN_TICK
    mmf = _dec(row, "maintenance_margin_fraction", allow_zero=False) / LIGHTER_MARGIN_TICK
    min_imf = units.optional_decimal(
        row.get("min_initial_margin_fraction"), "min_initial_margin_fraction", allow_negative=False
    )
    mark = units.optional_decimal(row.get("mark_price"), "mark_price", allow_negative=False)
    if mark is None or mark == 0:
        mark = units.optional_decimal(row.get("last_trade_price"), "last_trade_price", allow_negative=False)
    market_id = row.get("market_id")
    return MarketSpec(
        symbol=str(row.get("symbol")),
        tick_size=Decimal(1).scaleb(-price_decimals),
        size_step=Decimal(1).scaleb(-size_decimals),
        min_size=_dec(row, "min_base_amount"),
        min_notional=_dec(row, "min_quote_amount"),
        initial_margin_fraction=imf,
        maintenance_margin_fraction=mmf,
        maker_fee=units.to_decimal(row.get("maker_fee"), "maker_fee") / units.PERCENT,
        taker_fee=units.to_decimal(row.get("taker_fee"), "taker_fee") / units.PERCENT,
        liquidation_fee=_dec(row, "liquidation_fee") / units.PERCENT,
        funding_mode=FundingMode.SETTLE_EVERY_INTERVAL,
        funding_period_hours=Decimal(1),
        market_id=market_id if isinstance(market_id, int) and not isinstance(market_id, bool) else None,
        mark_price=mark if mark else None,
        min_initial_margin_fraction=min_imf / LIGHTER_MARGIN_TICK if min_imf else None,
    )


MAKER_ACCOUNT_BASE = (
    281_474_976_700_000  # + market id: the simulator's market makers (below the insurance fund)
)


@dataclass
class LighterMarket:
    """One traded market: the venue's id and decimals, the engine key, the recorded reference prices.

    Attributes:
        market_id: Lighter market index; symbol: engine market key (orderBookDetails `symbol`).
        size_decimals / price_decimals: scaling of `BaseAmount` / `Price` integers and of every text amount.
        mark0 / index0: the recorded mark and index price (USD); the served index moves with the mark.
        funding_overridden: the admin API or `scenario.json` `funding` replaced the recorded funding rate (then
            `funding-rates` and `market_stats` show the engine's rate).
    """

    market_id: int
    symbol: str
    size_decimals: int
    price_decimals: int
    spec: MarketSpec
    mark0: Decimal
    index0: Decimal
    funding_overridden: bool = False

    def size_text(self, value: Decimal) -> str:
        return fixed(value, self.size_decimals)

    def price_text(self, value: Decimal) -> str:
        return fixed(value, self.price_decimals)

    def scaled_size(self, value: Decimal) -> int:
        return int(value.scaleb(self.size_decimals).to_integral_value())

    def scaled_price(self, value: Decimal) -> int:
        return int(value.scaleb(self.price_decimals).to_integral_value())
