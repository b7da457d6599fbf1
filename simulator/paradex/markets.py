"""Paradex markets in the simulator's engine: the `/markets` row read into a `MarketSpec`, and the venue's
order-entry rules (`PARADEX_RULES`).

Paradex `GET /v1/markets` row (PROTOCOL_NOTES §2.2, docs.paradex.trade "Cross Margin Requirement" and
"Liquidations"; payloads `rest_markets_btc.json`, the demo's `paradex/markets.json`):

| field                                         | unit                   | engine                                 |
|-----------------------------------------------|------------------------|----------------------------------------|
| `price_tick_size` / `order_size_increment`    | quote / base           | tick / step (min_size = one step)      |
| `min_notional`, `max_order_size`              | USD / base             | min_notional / max_size                |
| `delta1_cross_margin_params.imf_base`         | fraction               | initial_margin_fraction (see below)    |
| `delta1_cross_margin_params.mmf_factor`       | fraction of the IMF    | maintenance = imf_base x mmf_factor    |
| `fee_config.api_fee.{maker,taker}_fee.fee`    | fraction               | maker_fee / taker_fee                  |
| `funding_period_hours`                        | hours                  | funding_period_hours                   |
| system config `liquidation_fee`               | fraction of the MMR    | liquidation_fee = it x maintenance fraction |

`imf_factor` / `imf_shift` (a size-dependent initial margin; the API reference says "always 0", but the recorded
BTC market has 0.00007 / 180000) are not modelled: the IMF is `imf_base` at every size.

Funding: `FundingMode.CONTINUOUS_INDEX` (docs.paradex.trade "Funding Mechanism").
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from perparb_core import units
from simulator.engine import FundingMode, MarketSpec, NotionalBasis, ReduceOnlyPolicy, VenueRules
from simulator.engine.orders import ZERO

DEFAULT_PARADEX_LIQUIDATION_FEE = Decimal("0.7")  # docs.paradex.trade "Liquidations": "set to 70%" of the MMR

# Reduce-only orders larger than the position are refused, the minimum notional is checked at the mark price and a
# reduce-only order closing the whole position is exempt from it (docs.paradex.trade "Order Instructions",
# "Placing Orders").
PARADEX_RULES = VenueRules("paradex", ReduceOnlyPolicy.REJECT, NotionalBasis.MARK_PRICE, True)


def _dec(row: dict[str, Any], key: str, *, allow_zero: bool = True) -> Decimal:
    return units.to_decimal(row.get(key), key, allow_negative=False, allow_zero=allow_zero)


def paradex_market_spec(
    row: dict[str, Any],
    *,
    liquidation_fee: Decimal = DEFAULT_PARADEX_LIQUIDATION_FEE,
    mark_price: Decimal | None = None,
) -> MarketSpec:
    """`MarketSpec` of one Paradex `/markets` row (table in the module docstring).

    Args:
        row: the `/markets` `results[]` element.
        liquidation_fee: system config `liquidation_fee` (fraction of the maintenance requirement; docs say 70 %).
        mark_price: initial mark (e.g. `markets/summary.mark_price`); `/markets` carries none.

    Raises:
        units.UnitError: a required field is missing or not a number (`field` names it).
    """
    params = row.get("delta1_cross_margin_params") or {}
    imf = _dec(params, "imf_base", allow_zero=False)
    mmf = imf * _dec(params, "mmf_factor", allow_zero=False)
    fees = ((row.get("fee_config") or {}).get("api_fee")) or {}
    maker = units.optional_decimal((fees.get("maker_fee") or {}).get("fee"), "maker_fee.fee")
    taker = units.optional_decimal((fees.get("taker_fee") or {}).get("fee"), "taker_fee.fee")
    step = _dec(row, "order_size_increment", allow_zero=False)
    max_size = units.optional_decimal(row.get("max_order_size"), "max_order_size", allow_negative=False)
    period = units.optional_decimal(
        row.get("funding_period_hours"), "funding_period_hours", allow_negative=False
    )
    return MarketSpec(
        symbol=str(row.get("symbol")),
        tick_size=_dec(row, "price_tick_size", allow_zero=False),
        size_step=step,
        min_size=step,
        min_notional=_dec(row, "min_notional"),
        max_size=max_size if max_size else None,
        initial_margin_fraction=imf,
        maintenance_margin_fraction=mmf,
        maker_fee=maker if maker is not None else ZERO,
        taker_fee=taker if taker is not None else ZERO,
        liquidation_fee=liquidation_fee * mmf,
        funding_mode=FundingMode.CONTINUOUS_INDEX,
        funding_period_hours=period if period else Decimal(8),
        mark_price=mark_price,
    )
