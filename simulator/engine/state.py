"""The state every concern of the engine shares (`EngineState`), and the lookups on it.

`simulator.engine.engine.Engine` is assembled from one mixin per concern, each in its own module and each a subclass
of `EngineState` (so every one sees the same attributes):

| module            | mixin               | concern                                                          |
|-------------------|---------------------|------------------------------------------------------------------|
| `matching.py`     | `MatchingMixin`     | order checks, matching, trades and fills (`submit`, `place`)     |
| `cancels.py`      | `OrderChangesMixin` | cancels, modify, reduce-only upkeep                              |
| `risk.py`         | `RiskMixin`         | margin queries, leverage, withdrawals, liquidation               |
| `settlement.py`   | `SettlementMixin`   | the two `FundingMode`s: interval settlement, index accrual       |
| `market_maker.py` | `MarketMakerMixin`  | synthetic liquidity: the market maker's quotes                   |
| `engine.py`       | `Engine`            | set-up (markets, accounts, deposits, marks) and time (`sync`)    |

The methods one concern calls on another are declared here for the type checker only.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING

from simulator.engine.accounts import Account, Position
from simulator.engine.clock import SimClock
from simulator.engine.errors import OrderNotFoundError, UnknownAccountError, UnknownMarketError
from simulator.engine.events import EngineEvent, Listener
from simulator.engine.faults import EngineFaults
from simulator.engine.funding import RateProvider
from simulator.engine.liquidity import SyntheticLiquidity
from simulator.engine.market import MarketState
from simulator.engine.orders import Fill, Liquidity, Order, Reason, Side, TradeKind, VenueRules

log = logging.getLogger("perparb.simulator.engine")

# The insurance fund's account id: 2^48 - 1, the index Lighter gives its insurance fund
# (orderBookDetails market_config.insurance_fund_account_index).
INSURANCE_ACCOUNT_ID = 281474976710655


class EngineState:
    """Attributes shared by the engine's concerns (set by `Engine.__init__`) and the lookups on them.

    Attributes:
        rules: the venue's order-entry rules; clock: the time source; default_funding: rate provider of markets
            added without one; markets / accounts: by symbol / id; faults: engine fault hooks; listeners: called
            with every `EngineEvent`; insurance: the insurance-fund account.
    """

    rules: VenueRules
    clock: SimClock
    default_funding: RateProvider
    markets: dict[str, MarketState]
    accounts: dict[int, Account]
    faults: EngineFaults
    listeners: list[Listener]
    insurance: Account
    _order_seq: int
    _trade_seq: int
    _fill_seq: int
    _payment_seq: int
    _now: int
    _last_settlement_ms: int
    _settles: bool
    _liquidity: list[tuple[MarketState, SyntheticLiquidity]]

    def account(self, account_id: int) -> Account:
        """The account. Raises UnknownAccountError."""
        try:
            return self.accounts[account_id]
        except KeyError:
            raise UnknownAccountError(f"no account {account_id}") from None

    def market(self, market: str) -> MarketState:
        """The market. Raises UnknownMarketError."""
        try:
            return self.markets[market]
        except KeyError:
            raise UnknownMarketError(f"no market {market!r}") from None

    def order(self, account_id: int, order_id: int) -> Order:
        """An order of the account (any state). Raises UnknownAccountError, OrderNotFoundError."""
        order = self.account(account_id).orders.get(order_id)
        if order is None:
            raise OrderNotFoundError(f"account {account_id} has no order {order_id}")
        return order

    def position(self, account_id: int, market: str) -> Position | None:
        """The account's position record in `market` (None when it never traded there)."""
        return self.account(account_id).positions.get(market)

    def now_ms(self) -> int:
        """The engine's time (the clock's, as of the last sync)."""
        return self._now

    def _emit(self, event: EngineEvent) -> None:
        for listener in self.listeners:
            listener(event)

    if TYPE_CHECKING:  # provided by the concern mixins (module docstring)

        def sync(self, now_ms: int | None = None) -> None: ...

        def create_account(
            self, account_id: int | None = None, collateral: Decimal = ..., *, exempt: bool = False
        ) -> Account: ...

        def _advance_to(self, t: int) -> None: ...

        def _move_mark(self, state: MarketState, price: Decimal, t: int) -> None: ...

        def _accrue(self, state: MarketState, t: int) -> None: ...

        def _settle(self, hour_ms: int) -> None: ...

        def _pay_funding(
            self,
            account: Account,
            pos: Position,
            amount: Decimal,
            *,
            ts_ms: int,
            rate: Decimal,
            mark: Decimal | None,
            index: Decimal | None,
            fill_id: int | None,
        ) -> None: ...

        def _execute(
            self, account: Account, order: Order, state: MarketState, fraction: Decimal | None
        ) -> None: ...

        def _finish(self, order: Order, reason: Reason) -> None: ...

        def _apply_fill(
            self,
            account: Account,
            state: MarketState,
            order: Order | None,
            side: Side,
            qty: Decimal,
            price: Decimal,
            fee: Decimal,
            liquidity: Liquidity,
            trade_id: int,
            kind: TradeKind = ...,
        ) -> Fill: ...

        def _cancel_resting(self, account: Account, order: Order, reason: Reason) -> None: ...

        def _check_reduce_only(self, account: Account, market: str) -> None: ...

        def _check_holders(self, state: MarketState) -> None: ...

        def _check_liquidation(self, account: Account) -> bool: ...

        def _refresh(self, state: MarketState, liq: SyntheticLiquidity) -> None: ...
