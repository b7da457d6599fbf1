"""Orders, fills and the venue rules of the simulator's trading engine (venue-neutral).

Units: prices in quote currency (USD/USDC) per base unit, sizes in base units, money (fees, PnL, funding) in
USDC, timestamps in epoch milliseconds from the engine's clock. Every number is a `Decimal`.

Order model (what the Lighter and Paradex protocol adapters map onto):

| engine                          | Lighter (PROTOCOL_NOTES §1.3)          | Paradex (PROTOCOL_NOTES §2.3)             |
|---------------------------------|----------------------------------------|-------------------------------------------|
| `OrderType.LIMIT`               | Type 0                                 | `type: LIMIT`                             |
| `OrderType.MARKET` + `price`    | Type 1, `Price` = worst acceptable     | `type: MARKET` (no price: no bound)       |
| `TimeInForce.GTC`               | TimeInForce 1 (GTT; expiry not modelled) | `instruction: GTC`                      |
| `TimeInForce.IOC`               | TimeInForce 0                          | `instruction: IOC`                        |
| `TimeInForce.POST_ONLY`         | TimeInForce 2                          | `instruction: POST_ONLY`                  |
| `reduce_only`                   | `ReduceOnly: 1`                        | `flags: ["REDUCE_ONLY"]`                  |
| `client_id`                     | `ClientOrderIndex` (int)               | `client_id` (str)                         |

A market order always behaves as IOC (Lighter: "Market => IOC"); its optional `price` is the worst price it may
trade at (each fill, not the average: a simplification of Lighter's average-price limit, docs.lighter.xyz
"Order Types and Matching").

States: `OPEN` (resting, nothing filled), `PARTIALLY_FILLED` (resting or finished with some fills),
`FILLED`, `CANCELLED` (accepted, then removed; `reason` says why, the fills stay), `REJECTED` (refused
before touching the book; `reason` says why). This is the ONE internal spelling: each venue's wire layer maps it
to the venue's own words (`simulator/<venue>/wire.py`: Lighter's "canceled-post-only" status words, Paradex's
"USER_CANCELED" cancel reasons).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

ZERO = Decimal(0)


class Side(str, Enum):
    """Order side. `sign` is +1 for a buy (position grows), -1 for a sell."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(str, Enum):
    LIMIT = "limit"
    MARKET = "market"


class TimeInForce(str, Enum):
    """GTC rests until filled or cancelled; IOC never rests; POST_ONLY rests or is rejected when it would cross."""

    GTC = "gtc"
    IOC = "ioc"
    POST_ONLY = "post_only"


class OrderStatus(str, Enum):
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


class Liquidity(str, Enum):
    """Role of one side of a trade: the resting order is the MAKER, the incoming one the TAKER."""

    MAKER = "maker"
    TAKER = "taker"


class TradeKind(str, Enum):
    """`TRADE`: matched on the book. `LIQUIDATION`: a position taken over by the insurance fund at mark."""

    TRADE = "trade"
    LIQUIDATION = "liquidation"


class Reason(str, Enum):
    """Why an order was rejected (before the book) or cancelled (after acceptance)."""

    # rejections
    UNKNOWN_MARKET = "unknown_market"
    INVALID_SIZE = "invalid_size"  # size <= 0
    INVALID_PRICE = "invalid_price"  # limit without price, price <= 0
    INVALID_TYPE = "invalid_type"  # post-only market order
    TICK_SIZE = "tick_size"  # price not a multiple of the tick
    LOT_SIZE = "lot_size"  # size not a multiple of the size step
    MIN_SIZE = "min_size"
    MAX_SIZE = "max_size"
    MIN_NOTIONAL = "min_notional"
    DUPLICATE_CLIENT_ID = "duplicate_client_id"
    POST_ONLY_WOULD_CROSS = "post_only_would_cross"
    REDUCE_ONLY_WOULD_INCREASE = "reduce_only_would_increase"  # no position, or same side
    REDUCE_ONLY_EXCEEDS_POSITION = "reduce_only_exceeds_position"  # REJECT policy only
    INSUFFICIENT_MARGIN = "insufficient_margin"
    FAULT_INJECTED = "fault_injected"
    # cancellations
    USER_CANCELLED = "user_cancelled"
    IOC_REMAINDER = "ioc_remainder"  # IOC limit: unfilled remainder
    NO_LIQUIDITY = "no_liquidity"  # market order: book ran out
    PRICE_BOUND = "price_bound"  # market order: next level beyond its worst price
    SELF_TRADE = "self_trade"  # resting order of the taker's own account met: the resting one is cancelled
    REDUCE_ONLY_POSITION_CHANGED = "reduce_only_position_changed"
    LIQUIDATION = "liquidation"
    PARTIAL_FILL_FAULT = "partial_fill_fault"  # fault hook capped the fill; remainder cancelled
    LIQUIDITY_REFRESH = "liquidity_refresh"  # market maker quotes replaced


class ReduceOnlyPolicy(str, Enum):
    """What a reduce-only order larger than the position does.

    CLAMP (Lighter, docs.lighter.xyz "Order Types and Matching": "reduces the position size towards zero,
    executing partially if the order size exceeds the position, with any remaining portion canceled once the
    position reaches zero"): accepted; every fill is capped at the live position; the remainder is cancelled
    when the position reaches zero.

    REJECT (Paradex, docs.paradex.trade "Order Instructions": "accepted only if it serves to reduce an open
    position"; resting reduce-only orders "that has an amount greater than the current position will be
    cancelled"): refused at submission when larger than the position; a resting one is cancelled as soon as
    the position shrinks below its remaining size.

    Under both, a reduce-only order with no position or on the position's side is rejected, and a resting one
    is cancelled when the position reaches zero or flips. Either way no fill ever flips or grows a position.
    """

    CLAMP = "clamp"
    REJECT = "reject"


class NotionalBasis(str, Enum):
    """Price used for the minimum-notional check: the order's own (limit, or the market order's bound, else
    mark) or the mark price (Paradex "Placing Orders": "The value of an order is calculated by multiplying the
    order size by the mark price")."""

    ORDER_PRICE = "order_price"
    MARK_PRICE = "mark_price"


@dataclass(frozen=True, slots=True)
class VenueRules:
    """Order-entry rules that differ between venues.

    Attributes:
        venue: the venue's name (`SimVenueProtocol.name`) or a test name; each venue package defines its rules.
        reduce_only: see `ReduceOnlyPolicy`.
        min_notional_basis: see `NotionalBasis`. Lighter's `min_quote_amount` basis is not documented; the order
            price is assumed.
        reduce_only_close_exempt_from_min_notional: a reduce-only order whose size equals the position may be
            below the minimum notional (Paradex "Placing Orders", exception).
    """

    venue: str
    reduce_only: ReduceOnlyPolicy
    min_notional_basis: NotionalBasis
    reduce_only_close_exempt_from_min_notional: bool


ClientId = str | int


@dataclass(slots=True)
class OrderRequest:
    """An order as submitted to `Engine.submit`.

    Attributes:
        account_id: the owner.
        market: the engine market key (`MarketSpec.symbol`).
        side: buy or sell.
        size: base units, > 0, a multiple of the market's size step.
        price: limit price (required for LIMIT); for MARKET the worst acceptable price, or None for no bound.
        type: LIMIT or MARKET (MARKET ignores `tif` and never rests).
        tif: GTC, IOC or POST_ONLY (POST_ONLY requires LIMIT).
        reduce_only: may only reduce the position (see `ReduceOnlyPolicy`).
        client_id: the client order id, unique per account over the account's life (reuse is rejected with
            `DUPLICATE_CLIENT_ID`); None = none.
    """

    account_id: int
    market: str
    side: Side
    size: Decimal
    price: Decimal | None = None
    type: OrderType = OrderType.LIMIT
    tif: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    client_id: ClientId | None = None


@dataclass(slots=True, eq=False)
class Order:
    """An order known to the engine (accepted or rejected). Mutated in place as it fills.

    Attributes:
        order_id: engine-wide sequence number (Lighter `order_index`; Paradex formats it as its `id`).
        size: requested size; remaining: still working (0 once finished); filled: executed so far.
        filled_quote: sum of price x size of the fills (USD), so `avg_fill_price = filled_quote / filled`.
        resting: True while the order sits in the book.
        reason: why it was rejected or cancelled (None otherwise).
        created_ms / updated_ms: engine clock, epoch ms.
    """

    order_id: int
    account_id: int
    market: str
    side: Side
    type: OrderType
    tif: TimeInForce
    price: Decimal | None
    size: Decimal
    reduce_only: bool
    client_id: ClientId | None
    created_ms: int
    updated_ms: int
    remaining: Decimal = ZERO
    filled: Decimal = ZERO
    filled_quote: Decimal = ZERO
    status: OrderStatus = OrderStatus.OPEN
    reason: Reason | None = None
    resting: bool = False

    @property
    def is_open(self) -> bool:
        """True while the order can still trade (resting in the book)."""
        return self.resting

    @property
    def avg_fill_price(self) -> Decimal | None:
        """Average execution price (quote per base), None before the first fill."""
        if self.filled == 0:
            return None
        return self.filled_quote / self.filled


@dataclass(slots=True, frozen=True)
class Trade:
    """One match between two orders (market-level view: Lighter `Trade`, Paradex `trades`).

    Attributes:
        trade_id: engine-wide sequence; price (quote), size (base); taker_side: side of the incoming order.
        maker_* / taker_*: order and account ids (for LIQUIDATION trades the insurance fund is the maker and its
            order id is 0).
        ts_ms: engine clock.
    """

    trade_id: int
    market: str
    price: Decimal
    size: Decimal
    taker_side: Side
    taker_order_id: int
    maker_order_id: int
    taker_account_id: int
    maker_account_id: int
    ts_ms: int
    kind: TradeKind = TradeKind.TRADE


@dataclass(slots=True, frozen=True)
class Fill:
    """One account's side of a trade (Paradex `fills`, Lighter account trades).

    Attributes:
        fee: USDC charged (negative = rebate); for a LIQUIDATION fill, the liquidation penalty (the insurance
            fund's side carries it negated).
        realized_pnl: USDC realised by this fill on the position it reduced (0 when it only increased it).
        realized_funding: USDC of continuous funding realised just before this fill (Paradex); 0 for hourly
            settlement markets.
        position_before / position_after: signed position size around the fill (base units).
    """

    fill_id: int
    trade_id: int
    account_id: int
    order_id: int
    client_id: ClientId | None
    market: str
    side: Side
    liquidity: Liquidity
    price: Decimal
    size: Decimal
    fee: Decimal
    realized_pnl: Decimal
    realized_funding: Decimal
    position_before: Decimal
    position_after: Decimal
    ts_ms: int
    kind: TradeKind = TradeKind.TRADE
