"""Market parameters of the trading engine, and their reading from the venues' own market payloads.

`MarketSpec` is venue-neutral: fractions are fractions (0.05 = 5 %), prices in quote per base, sizes in base
units, notional in USD. The two builders read one market row as the venue publishes it:

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
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any

from perparb_core import units
from simulator.engine.book import OrderBook
from simulator.engine.orders import ZERO, Trade

if TYPE_CHECKING:
    from simulator.engine.funding import RateProvider
    from simulator.engine.liquidity import SyntheticLiquidity

LIGHTER_MARGIN_TICK = Decimal(10_000)  # lighter-go MarginFractionTick, PROTOCOL_NOTES §1.2
DEFAULT_PARADEX_LIQUIDATION_FEE = Decimal("0.7")  # docs.paradex.trade "Liquidations": "set to 70%" of the MMR
TRADES_KEPT = 1000


class FundingStyle(str, Enum):
    """HOURLY: Lighter, paid every hour on the hour. CONTINUOUS: Paradex, a funding index realised on change."""

    HOURLY = "hourly"
    CONTINUOUS = "continuous"


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
        funding_style: see `FundingStyle`; funding_period_hours: the period the venue quotes rates for (Lighter 1,
            Paradex usually 8) – the engine works with hourly rates throughout and uses it only to report.
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
    funding_style: FundingStyle = FundingStyle.HOURLY
    funding_period_hours: Decimal = Decimal(1)
    market_id: int | None = None
    mark_price: Decimal | None = None
    min_initial_margin_fraction: Decimal | None = None

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
        m = self.min_initial_margin_fraction
        if m is not None and not (self.maintenance_margin_fraction <= m <= self.initial_margin_fraction):
            raise ValueError(
                f"market {self.symbol}: minimum initial fraction {m} must lie between the maintenance fraction "
                f"{self.maintenance_margin_fraction} and the initial fraction {self.initial_margin_fraction}"
            )


@dataclass(slots=True, eq=False)
class MarketState:
    """A market inside the engine: spec, book, mark price, funding state, holders, recent trades.

    Attributes:
        mark_price: USD; set by `Engine.set_mark_price` or the liquidity model's mid path.
        funding: the rate provider (`simulator.engine.funding.RateProvider`), fraction per hour.
        funding_index: CONTINUOUS markets: cumulative funding per unit of base (USD), Paradex `funding_index`.
        funding_index_ms: clock time the index was last accrued to.
        rate_hourly: the rate in force at the last sync (reporting).
        holders: ids of accounts with a non-zero position.
        trades: the last `TRADES_KEPT` trades, oldest first.
    """

    spec: MarketSpec
    book: OrderBook
    mark_price: Decimal
    funding: RateProvider
    funding_index: Decimal = ZERO
    funding_index_ms: int = 0
    rate_hourly: Decimal = ZERO
    holders: set[int] = field(default_factory=set)
    trades: deque[Trade] = field(default_factory=lambda: deque(maxlen=TRADES_KEPT))
    liquidity: SyntheticLiquidity | None = None


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
        funding_style=FundingStyle.HOURLY,
        funding_period_hours=Decimal(1),
        market_id=market_id if isinstance(market_id, int) and not isinstance(market_id, bool) else None,
        mark_price=mark if mark else None,
        min_initial_margin_fraction=min_imf / LIGHTER_MARGIN_TICK if min_imf else None,
    )


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
        funding_style=FundingStyle.CONTINUOUS,
        funding_period_hours=period if period else Decimal(8),
        mark_price=mark_price,
    )
