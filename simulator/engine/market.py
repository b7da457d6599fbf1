"""Market parameters of the trading engine (venue-neutral).

`MarketSpec` is venue-neutral: fractions are fractions (0.05 = 5 %), prices in quote per base, sizes in base
units, notional in USD. Each venue package reads its own market payloads into one (`simulator/<venue>/markets.py`,
e.g. `lighter_market_spec` from an orderBookDetails row, `paradex_market_spec` from a `/markets` row) and chooses
the market's `FundingMode`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from simulator.engine.book import OrderBook
from simulator.engine.orders import ZERO, Trade
from simulator.engine.spec import MarketSpec

if TYPE_CHECKING:
    from simulator.engine.funding import RateProvider
    from simulator.engine.liquidity import SyntheticLiquidity

TRADES_KEPT = 1000


@dataclass(slots=True, eq=False)
class MarketState:
    """A market inside the engine: spec, book, mark price, funding state, holders, recent trades.

    Attributes:
        mark_price: USD; set by `Engine.set_mark_price` or the liquidity model's mid path.
        funding: the rate provider (`simulator.engine.funding.RateProvider`), fraction per hour.
        funding_index: CONTINUOUS_INDEX markets: cumulative funding per unit of base (USD), Paradex `funding_index`.
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
