"""Venue-neutral trading engine of the simulator: order books, matching, accounts, margin, liquidation,
funding (Lighter hourly settlement, Paradex continuous index), synthetic liquidity, fault hooks and a clock
with a speed factor. Pure and in process; the Lighter/Paradex protocol adapters sit on top.

| module         | role                                                                 |
|----------------|----------------------------------------------------------------------|
| `engine.py`    | `Engine`: submit / cancel / sync, matching, margin checks, liquidation, events |
| `book.py`      | `OrderBook`: price-time priority book (bisect + deques), seq, depth, deltas |
| `orders.py`    | order/fill/trade models, `Reason`, venue rules (`LIGHTER_RULES`, `PARADEX_RULES`) |
| `market.py`    | `MarketSpec` and its builders from Lighter / Paradex market payloads |
| `accounts.py`  | `Account`, `Position`, equity and margin requirements                |
| `funding.py`   | rate providers (constant, series, history replay), payment formulas  |
| `liquidity.py` | mid paths (series, seeded random walk) and the market maker's quotes  |
| `faults.py`    | `EngineFaults`: reject next N orders, fill only a fraction            |
| `clock.py`     | `ScaledClock`: a `SimClock` with a speed factor                       |

Quick use:

    engine = Engine(LIGHTER_RULES, clock=ScaledClock(speed=3600))
    engine.add_market(lighter_market_spec(order_book_details_row))
    engine.add_liquidity("ETH", RandomWalkMid(Decimal(3000), start_ms=engine.now_ms(), seed=7))
    trader = engine.create_account(collateral=Decimal(10_000))
    order = engine.place(trader.account_id, "ETH", Side.BUY, Decimal("0.5"), type=OrderType.MARKET)
"""

from simulator.engine.accounts import Account, Position
from simulator.engine.book import BookSnapshot, Match, OrderBook
from simulator.engine.clock import ScaledClock
from simulator.engine.engine import (
    INSURANCE_ACCOUNT_ID,
    Engine,
    EngineError,
    EngineEvent,
    FundingEvent,
    InsufficientMarginError,
    InvalidModifyError,
    LeverageError,
    LiquidationEvent,
    MarkEvent,
    OrderEvent,
    OrderNotFoundError,
    OrderNotOpenError,
    TradeEvent,
    UnknownAccountError,
    UnknownMarketError,
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
from simulator.engine.market import (
    FundingStyle,
    MarketSpec,
    MarketState,
    lighter_market_spec,
    paradex_market_spec,
)
from simulator.engine.orders import (
    LIGHTER_RULES,
    PARADEX_RULES,
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
    lighter_status,
    paradex_cancel_reason,
)

__all__ = [
    "INSURANCE_ACCOUNT_ID",
    "LIGHTER_RULES",
    "PARADEX_RULES",
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
    "FundingPayment",
    "FundingStyle",
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
    "SyntheticLiquidity",
    "TimeInForce",
    "Trade",
    "TradeEvent",
    "TradeKind",
    "UnknownAccountError",
    "UnknownMarketError",
    "VenueRules",
    "lighter_market_spec",
    "lighter_status",
    "paradex_cancel_reason",
    "paradex_market_spec",
]
