"""Accounts of the simulator's trading engine: collateral, positions, margin.

Units: collateral and every money amount in USDC; sizes in base units (signed: + long, - short); prices in USD.

Margin (cross margin, the same rules for both venues; docs.paradex.trade "Cross Margin Requirement" and
"Paradex Risk Checks"; Lighter's fractions from PROTOCOL_NOTES §1.2):

* open size of a market = max(|size + resting buys|, |size - resting sells|): the largest position the account
  can reach if every resting order on one side fills (the docs' definition; their worked example in
  "Paradex Risk Checks" – long 10 with sells 5 + 8 giving open size 13 – does not follow it, and is not
  followed here). Reduce-only orders never add to it (they cannot grow a position, see `ReduceOnlyPolicy`).
* initial margin requirement (IMR) = sum over markets of open size x mark x the account's initial margin fraction
  in that market (`initial_margin_fraction`: the one chosen with `Engine.set_leverage`, else the market's).
* maintenance margin requirement (MMR) = sum over markets of |size| x mark x maintenance_margin_fraction.
* equity (account value) = collateral + unrealised PnL at mark + unrealised continuous funding (Paradex).
* an order is accepted when it does not raise the IMR, or when equity >= the IMR with the order included
  (Paradex's order risk check; Lighter is assumed to check the same way).
* an account is liquidated when equity < MMR (`Engine` does it; see there for the simplification).

Bookkeeping identity (checked by the property tests): for every account, at all times,

    collateral == deposits - fees_paid + realized_pnl + funding

where `fees_paid` includes liquidation penalties (negative for the insurance fund that receives them),
`realized_pnl` is the PnL realised by reducing positions and `funding` the funding realised into collateral.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from simulator.engine.funding import FundingPayment
from simulator.engine.market import MarketState
from simulator.engine.orders import ZERO, ClientId, Fill, Order
from simulator.engine.spec import FundingMode


@dataclass(slots=True, eq=False)
class Position:
    """One account's position in one market.

    Attributes:
        size: signed base units (+ long, - short).
        entry_price: average entry price (USD) of the current position; 0 when flat.
        realized_pnl: USDC realised in this market over the account's life.
        funding: USDC of funding realised in this market (negative = paid) over the account's life.
        funding_index: CONTINUOUS_INDEX markets: the market's funding index when funding was last realised.
        open_buy / open_sell: remaining size of resting non-reduce-only orders (base units).
        reduce_only_orders: number of resting reduce-only orders.
    """

    market: str
    size: Decimal = ZERO
    entry_price: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    funding: Decimal = ZERO
    funding_index: Decimal = ZERO
    open_buy: Decimal = ZERO
    open_sell: Decimal = ZERO
    reduce_only_orders: int = 0

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        """`size x (mark - entry_price)` in USDC."""
        return self.size * (mark - self.entry_price) if self.size else ZERO

    def open_size(self) -> Decimal:
        """max(|size + open_buy|, |size - open_sell|) in base units."""
        return max(abs(self.size + self.open_buy), abs(self.size - self.open_sell))

    def unrealized_funding(self, market: MarketState) -> Decimal:
        """CONTINUOUS_INDEX markets: `-size x (index - funding_index)` not yet realised (USDC); 0 for
        SETTLE_EVERY_INTERVAL markets."""
        if not self.size or market.spec.funding_mode is not FundingMode.CONTINUOUS_INDEX:
            return ZERO
        return -self.size * (market.funding_index - self.funding_index)


@dataclass(slots=True, eq=False)
class Account:
    """A trading account.

    Attributes:
        account_id: the venue-side index (Lighter `account_index`; Paradex maps its address onto it).
        collateral: USDC balance (can go negative after a liquidation at a loss: bad debt is not socialised).
        exempt: market-maker / insurance-fund accounts: never margin-checked, never liquidated.
        orders: every order of the account (accepted or rejected) by id; open_orders: the resting ones.
        client_ids: client order id -> order id of every accepted order (ids are never reused).
        fills / funding_payments: history, oldest first.
        deposits, fees_paid, realized_pnl, funding: cumulative USDC (see the module's identity).
        liquidations: how many times the account was liquidated.
        initial_margin_fractions: market -> initial margin fraction the account chose (`Engine.set_leverage`);
            markets absent use `MarketSpec.initial_margin_fraction`.
        keep_order_history: False for market makers: finished orders leave `orders` (their quotes are
            replaced at every refresh; keeping them would grow without bound).
    """

    account_id: int
    collateral: Decimal = ZERO
    exempt: bool = False
    positions: dict[str, Position] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    open_orders: dict[int, Order] = field(default_factory=dict)
    client_ids: dict[ClientId, int] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)
    funding_payments: list[FundingPayment] = field(default_factory=list)
    deposits: Decimal = ZERO
    fees_paid: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    funding: Decimal = ZERO
    liquidations: int = 0
    keep_order_history: bool = True
    initial_margin_fractions: dict[str, Decimal] = field(default_factory=dict)

    def position(self, market: str) -> Position:
        """The position in `market`, created flat on first use."""
        pos = self.positions.get(market)
        if pos is None:
            pos = Position(market)
            self.positions[market] = pos
        return pos

    def position_size(self, market: str) -> Decimal:
        """Signed size in `market` (0 when none)."""
        pos = self.positions.get(market)
        return pos.size if pos is not None else ZERO


def initial_margin_fraction(account: Account, market: MarketState) -> Decimal:
    """The initial margin fraction `account` uses in `market`: its chosen one, else the market's default."""
    chosen = account.initial_margin_fractions.get(market.spec.symbol)
    return chosen if chosen is not None else market.spec.initial_margin_fraction


def equity(account: Account, markets: Mapping[str, MarketState]) -> Decimal:
    """Account value: collateral + unrealised PnL at mark + unrealised continuous funding (USDC)."""
    total = account.collateral
    for name, pos in account.positions.items():
        if pos.size:
            market = markets[name]
            total += pos.size * (market.mark_price - pos.entry_price) + pos.unrealized_funding(market)
    return total


def initial_margin(account: Account, markets: Mapping[str, MarketState]) -> Decimal:
    """IMR: sum of open size x mark x the account's `initial_margin_fraction` in the market (USDC)."""
    total = ZERO
    for name, pos in account.positions.items():
        if pos.size or pos.open_buy or pos.open_sell:
            market = markets[name]
            total += pos.open_size() * market.mark_price * initial_margin_fraction(account, market)
    return total


def maintenance_margin(account: Account, markets: Mapping[str, MarketState]) -> Decimal:
    """MMR: sum of |size| x mark x maintenance_margin_fraction (USDC)."""
    total = ZERO
    for name, pos in account.positions.items():
        if pos.size:
            market = markets[name]
            total += abs(pos.size) * market.mark_price * market.spec.maintenance_margin_fraction
    return total
