"""Venue-neutral trading engine of the simulator: order books, matching, accounts, margin, liquidation,
funding (two modes: settlement at every interval, a continuous index), synthetic liquidity, fault hooks and a clock
with a speed factor. Pure, in process and venue-neutral: the venue protocols (`simulator/<venue>/`) sit on top and
choose the rules (`VenueRules`), each market's `FundingMode` and the wire spellings of its enums.

| module         | role                                                                 |
|----------------|----------------------------------------------------------------------|
| `engine.py`    | `Engine`: set-up and time (`sync`), assembled from one mixin per concern:  |
| `state.py`     | `EngineState`: the attributes the concerns share, lookups                 |
| `matching.py`  | order checks, matching, trades and fills (`submit`, `place`)              |
| `cancels.py`   | cancels, modify, reduce-only upkeep                                       |
| `risk.py`      | margin queries, leverage, withdrawals, liquidation                        |
| `settlement.py`| the two `FundingMode`s: interval settlement, index accrual                |
| `market_maker.py` | the synthetic market maker's quotes                                    |
| `errors.py` / `events.py` | `EngineError` and subclasses / `EngineEvent`s                      |
| `book.py`      | `OrderBook`: price-time priority book (bisect + deques), seq, depth, deltas |
| `orders.py`    | order/fill/trade models, `OrderStatus`, `Reason`, `VenueRules`                 |
| `market.py`    | `MarketSpec`, `MarketState`, `FundingMode`                           |
| `accounts.py`  | `Account`, `Position`, equity and margin requirements                |
| `funding.py`   | rate providers (constant, series, history replay), payment formulas  |
| `liquidity.py` | mid paths (series, seeded random walk) and the market maker's quotes  |
| `faults.py`    | `EngineFaults`: reject next N orders, fill only a fraction            |
| `clock.py`     | `SimClock`, and `ScaledClock`: a `SimClock` with a speed factor       |

Quick use:

    engine = Engine(rules, clock=ScaledClock(speed=3600))   # rules: a venue's `VenueRules`
    engine.add_market(MarketSpec("ETH", tick_size=Decimal("0.01"), size_step=Decimal("0.001"), min_size=...))
    engine.add_liquidity("ETH", RandomWalkMid(Decimal(3000), start_ms=engine.now_ms(), seed=7))
    trader = engine.create_account(collateral=Decimal(10_000))
    order = engine.place(trader.account_id, "ETH", Side.BUY, Decimal("0.5"), type=OrderType.MARKET)
"""

from simulator.engine.accounts import Account, Position
from simulator.engine.book import BookSnapshot, Match, OrderBook
from simulator.engine.clock import ScaledClock, SimClock
from simulator.engine.engine import Engine
from simulator.engine.errors import (
    EngineError,
    InsufficientMarginError,
    InvalidModifyError,
    LeverageError,
    OrderNotFoundError,
    OrderNotOpenError,
    UnknownAccountError,
    UnknownMarketError,
)
from simulator.engine.events import (
    EngineEvent,
    FundingEvent,
    LiquidationEvent,
    MarkEvent,
    OrderEvent,
    TradeEvent,
)
from simulator.engine.faults import EngineFaults
from simulator.engine.funding import (
    CallableRate,
    ConstantRate,
    FundingHistoryReplay,
    FundingPayment,
    RateProvider,
    SeriesRate,
)
from simulator.engine.liquidity import LiquidityConfig, MidPath, RandomWalkMid, SeriesMid, SyntheticLiquidity
from simulator.engine.market import MarketState
from simulator.engine.orders import (
    Fill,
    Liquidity,
    NotionalBasis,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Reason,
    ReduceOnlyPolicy,
    Side,
    TimeInForce,
    Trade,
    TradeKind,
    VenueRules,
)
from simulator.engine.spec import FundingMode, MarketSpec
from simulator.engine.state import INSURANCE_ACCOUNT_ID

__all__ = [
    "INSURANCE_ACCOUNT_ID",
    "Account",
    "BookSnapshot",
    "CallableRate",
    "ConstantRate",
    "Engine",
    "EngineError",
    "EngineEvent",
    "EngineFaults",
    "Fill",
    "FundingEvent",
    "FundingHistoryReplay",
    "FundingMode",
    "FundingPayment",
    "InsufficientMarginError",
    "InvalidModifyError",
    "LeverageError",
    "LiquidationEvent",
    "Liquidity",
    "LiquidityConfig",
    "MarkEvent",
    "MarketSpec",
    "MarketState",
    "Match",
    "MidPath",
    "NotionalBasis",
    "Order",
    "OrderBook",
    "OrderEvent",
    "OrderNotFoundError",
    "OrderNotOpenError",
    "OrderRequest",
    "OrderStatus",
    "OrderType",
    "Position",
    "RandomWalkMid",
    "RateProvider",
    "Reason",
    "ReduceOnlyPolicy",
    "ScaledClock",
    "SeriesMid",
    "SeriesRate",
    "Side",
    "SimClock",
    "SyntheticLiquidity",
    "TimeInForce",
    "Trade",
    "TradeEvent",
    "TradeKind",
    "UnknownAccountError",
    "UnknownMarketError",
    "VenueRules",
]
