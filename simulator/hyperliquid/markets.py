"""Hyperliquid markets in the simulator's engine: a `meta.universe` row (+ its asset context) read into a
`MarketSpec`, the venue's order-entry rules (`HYPERLIQUID_RULES`), its price rule and asset ids.

`POST /info metaAndAssetCtxs` row (docs for-developers/api/info-endpoint/perpetuals.md; payloads
`rest_info_metaAndAssetCtxs_docexample.json`, the demo's `hyperliquid/metaAndAssetCtxs.json`):

| field                          | unit            | engine                                                      |
|--------------------------------|-----------------|-------------------------------------------------------------|
| `szDecimals`                   | decimals        | size step 10^-szDecimals (min_size = one step)              |
| `maxLeverage`                  | x               | min IMF 1 / maxLeverage; maintenance 1 / (2 x maxLeverage)  |
| ctx `markPx`                   | USD             | initial mark; tick = the price step there (below)           |
| ctx `funding`                  | fraction / hour | the rate, held constant (unless `scenario.json` sets one)   |

Price rule (docs for-developers/api/tick-and-lot-size.md): at most 5 significant figures and at most
`6 - szDecimals` decimals; integer prices are always valid (`valid_price`). The engine needs one fixed tick: it
is the 5-figure step at the scenario's mark (capped by the decimals; 1 for prices of 100000 or more), so the market
maker quotes on the venue's grid; a price that later crosses a power of ten keeps that tick (a simplification).
Sizes: multiples of 10^-szDecimals. Orders are worth at least $10 at their limit price ("Order must have minimum
value of $10.", rest_exchange_order_error_docexample.json); a reduce-only order closing the whole position is
exempt (assumed: the client never checks it for reduce-only orders).

Margin (docs trading/margining.md): initial margin = notional / leverage; an account's default leverage is
min(20, maxLeverage), cross (the recorded cross positions show 20x, rest_info_clearinghouseState_cross_long_2024-03
.json); maintenance margin is half the initial margin at maximum leverage; the liquidation fee charged is that
maintenance margin (docs trading/liquidations.md: the backstop liquidator keeps it). Fees: the standard tier,
0.045 % taker / 0.015 % maker (docs trading/fees.md, as `exchange_clients/hyperliquid/spec.py`). Reduce-only
orders larger than the position are clamped to it (CLAMP); one on the position's side is refused ("Reduce only
order would increase position.").

Funding (docs trading/funding.md): paid every hour on the hour, `FundingMode.SETTLE_EVERY_INTERVAL`, at
`size x price x rate`. Hyperliquid uses the ORACLE price; the simulator has one price per market, the mark, and
its `oraclePx` is that mark.

Asset ids (docs for-developers/api/asset-ids.md): the position in the first perp dex's universe; on a HIP-3 dex
100000 + 10000 x its `perpDexs` index + the position in its universe.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal
from typing import Any

from perparb_core import units
from simulator.engine import FundingMode, MarketSpec, NotionalBasis, ReduceOnlyPolicy, VenueRules

MAX_DECIMALS = 6  # perps (spot: 8)
SIGNIFICANT_FIGURES = 5
MIN_ORDER_VALUE = Decimal(10)
DEFAULT_LEVERAGE = 20
TAKER_FEE = Decimal("0.00045")
MAKER_FEE = Decimal("0.00015")

HYPERLIQUID_RULES = VenueRules("hyperliquid", ReduceOnlyPolicy.CLAMP, NotionalBasis.ORDER_PRICE, True)


def asset_id(dex_index: int, position: int) -> int:
    """Asset id of the coin at `position` in the universe of the perp dex at `dex_index` in `perpDexs`."""
    return position if dex_index == 0 else 100_000 + 10_000 * dex_index + position


def price_step(price: Decimal, sz_decimals: int) -> Decimal:
    """The grid step at `price`: 10^(digits before the point - 5), at least 10^-(6 - szDecimals), at most 1
    (integers are always valid). E.g. 3600.25 (szDecimals 4) -> 0.1; 97012 (5) -> 1; 0.38 (0) -> 0.00001."""
    exponent = price.adjusted() - (SIGNIFICANT_FIGURES - 1)
    step = Decimal(1).scaleb(max(exponent, -(MAX_DECIMALS - sz_decimals)))
    return min(step, Decimal(1))


def valid_price(price: Decimal, sz_decimals: int) -> bool:
    """Hyperliquid's perp price rule: positive, and an integer or at most 5 significant figures with at most
    6 - szDecimals decimals (module docstring)."""
    if price <= 0 or not price.is_finite():
        return False
    if price == price.to_integral_value():
        return True
    normal = price.normalize()
    exponent = normal.as_tuple().exponent
    assert isinstance(exponent, int)
    decimals = -exponent
    significant = len(normal.as_tuple().digits)
    return decimals <= MAX_DECIMALS - sz_decimals and significant <= SIGNIFICANT_FIGURES


def valid_size(size: Decimal, sz_decimals: int) -> bool:
    """Positive and a multiple of 10^-szDecimals."""
    return size > 0 and size.is_finite() and size % Decimal(1).scaleb(-sz_decimals) == 0


def hyperliquid_market_spec(row: dict[str, Any], ctx: dict[str, Any], *, asset: int) -> MarketSpec:
    """`MarketSpec` of one universe row and its asset context (table in the module docstring).

    Raises:
        units.UnitError: `szDecimals`, `maxLeverage` or `markPx` missing or not a number (`field` names it).
        ValueError: a negative `szDecimals` or one above 6.
    """
    sz = units.to_decimal(row.get("szDecimals"), "szDecimals", allow_negative=False)
    if sz != sz.to_integral_value() or sz > MAX_DECIMALS:
        raise ValueError(f"szDecimals must be an integer 0..{MAX_DECIMALS}, got {row.get('szDecimals')!r}")
    sz_decimals = int(sz)
    max_leverage = units.to_decimal(
        row.get("maxLeverage"), "maxLeverage", allow_negative=False, allow_zero=False
    ).to_integral_value(rounding=ROUND_FLOOR)
    mark = units.to_decimal(ctx.get("markPx"), "markPx", allow_negative=False, allow_zero=False)
    step = Decimal(1).scaleb(-sz_decimals)
    mmf = 1 / (2 * max_leverage)
    return MarketSpec(
        symbol=str(row["name"]),
        tick_size=price_step(mark, sz_decimals),
        size_step=step,
        min_size=step,
        min_notional=MIN_ORDER_VALUE,
        initial_margin_fraction=1 / min(Decimal(DEFAULT_LEVERAGE), max_leverage),
        maintenance_margin_fraction=mmf,
        min_initial_margin_fraction=1 / max_leverage,
        maker_fee=MAKER_FEE,
        taker_fee=TAKER_FEE,
        liquidation_fee=mmf,
        funding_mode=FundingMode.SETTLE_EVERY_INTERVAL,
        funding_period_hours=Decimal(1),
        market_id=asset,
        mark_price=mark,
    )
