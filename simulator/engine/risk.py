"""Margin and risk of the engine (`RiskMixin`): margin queries, leverage, withdrawals and liquidation.

Liquidation (simplified; venues liquidate partially): when an account's equity falls below its maintenance
requirement, all its orders are cancelled and every position is taken over by the insurance-fund account at
the mark price (a `TradeKind.LIQUIDATION` trade), the account paying `liquidation_fee x notional` to the fund.
No partial liquidation, no auto-deleveraging; a negative balance left behind is not socialised.
Market-maker and insurance accounts are `exempt`: no margin check, never liquidated.
"""

from __future__ import annotations

from decimal import Decimal

from simulator.engine import accounts as margin
from simulator.engine.accounts import Account
from simulator.engine.errors import EngineError, InsufficientMarginError, LeverageError
from simulator.engine.events import LiquidationEvent, TradeEvent
from simulator.engine.funding import money
from simulator.engine.market import MarketState
from simulator.engine.orders import Fill, Liquidity, Reason, Side, Trade, TradeKind
from simulator.engine.state import EngineState, log


class RiskMixin(EngineState):
    """Margin queries, leverage, withdrawals, liquidation (module docstring)."""

    def withdraw(self, account_id: int, amount: Decimal) -> Decimal:
        """Take `amount` USDC (> 0) out of collateral if equity stays >= the initial margin requirement.

        Raises:
            UnknownAccountError, EngineError (amount <= 0), InsufficientMarginError.
        """
        self.sync()
        account = self.account(account_id)
        if amount <= 0:
            raise EngineError(f"account {account_id}: withdrawal must be positive, got {amount}")
        if not account.exempt:
            free = margin.equity(account, self.markets) - margin.initial_margin(account, self.markets)
            if amount > free:
                raise InsufficientMarginError(
                    f"account {account_id}: withdrawal {amount} exceeds free collateral {free}"
                )
        account.collateral -= amount
        account.deposits -= amount
        return account.collateral

    def equity(self, account_id: int) -> Decimal:
        """Collateral + unrealised PnL + unrealised continuous funding, USDC (after a sync)."""
        self.sync()
        return margin.equity(self.account(account_id), self.markets)

    def initial_margin(self, account_id: int) -> Decimal:
        """Initial margin requirement, USDC (after a sync)."""
        self.sync()
        return margin.initial_margin(self.account(account_id), self.markets)

    def maintenance_margin(self, account_id: int) -> Decimal:
        """Maintenance margin requirement, USDC (after a sync)."""
        self.sync()
        return margin.maintenance_margin(self.account(account_id), self.markets)

    def available_margin(self, account_id: int) -> Decimal:
        """Equity - initial margin requirement (Lighter `available_balance`, Paradex `free_collateral`)."""
        self.sync()
        account = self.account(account_id)
        return margin.equity(account, self.markets) - margin.initial_margin(account, self.markets)

    def set_leverage(self, account_id: int, market: str, leverage: Decimal) -> Decimal:
        """Choose `account_id`'s leverage in `market` (cross margin): its initial margin fraction there becomes
        max(1 / leverage, the market's minimum IMF) and is used by every later initial-margin check (orders,
        withdrawals, available margin) of this account in this market. Existing positions and orders stay.

        Returns:
            The initial margin fraction now in force (fraction).

        Raises:
            UnknownAccountError, UnknownMarketError.
            LeverageError: leverage < 1 or above `MarketSpec.max_leverage`.
        """
        state = self.market(market)
        if leverage < 1 or leverage > state.spec.max_leverage:
            raise LeverageError(
                f"market {market}: leverage {leverage} outside 1..{state.spec.max_leverage.normalize():f}"
            )
        return self.set_initial_margin_fraction(account_id, market, max(1 / leverage, state.spec.min_imf))

    def set_initial_margin_fraction(self, account_id: int, market: str, fraction: Decimal) -> Decimal:
        """Set `account_id`'s initial margin fraction in `market` directly (Lighter tx 20 carries the fraction in
        1e-4 units, so no 1 / leverage rounding happens). Returns the fraction.

        Raises:
            UnknownAccountError, UnknownMarketError.
            LeverageError: fraction outside [the market's minimum IMF, 1].
        """
        account = self.account(account_id)
        state = self.market(market)
        if fraction < state.spec.min_imf or fraction > 1:
            raise LeverageError(
                f"market {market}: initial margin fraction {fraction} outside {state.spec.min_imf}..1"
            )
        self.sync()
        account.initial_margin_fractions[market] = fraction
        return fraction

    def leverage(self, account_id: int, market: str) -> Decimal:
        """1 / the account's initial margin fraction in `market` (x; the market default when never set).

        Raises:
            UnknownAccountError, UnknownMarketError.
        """
        return 1 / margin.initial_margin_fraction(self.account(account_id), self.market(market))

    def _check_holders(self, state: MarketState) -> None:
        for account_id in sorted(state.holders):
            self._check_liquidation(self.accounts[account_id])

    def _check_liquidation(self, account: Account) -> bool:
        """Liquidate `account` when equity < maintenance requirement; True when it was."""
        if account.exempt:
            return False
        markets = self.markets
        mmr = margin.maintenance_margin(account, markets)
        if not mmr or margin.equity(account, markets) >= mmr:
            return False
        self._liquidate(account)
        return True

    def _liquidate(self, account: Account) -> None:
        log.info("liquidating account %d", account.account_id)
        for order in list(account.open_orders.values()):
            self._cancel_resting(account, order, Reason.LIQUIDATION)
        fund = self.insurance
        liquidation = TradeKind.LIQUIDATION
        fills: list[Fill] = []
        for name in sorted(account.positions):
            pos = account.positions[name]
            if not pos.size:
                continue
            state = self.markets[name]
            mark = state.mark_price
            qty = abs(pos.size)
            side = Side.SELL if pos.size > 0 else Side.BUY
            penalty = money(qty * mark * state.spec.liquidation_fee)
            self._trade_seq += 1
            trade_id = self._trade_seq
            fill = self._apply_fill(
                account, state, None, side, qty, mark, penalty, Liquidity.TAKER, trade_id, liquidation
            )
            fund_fill = self._apply_fill(
                fund, state, None, side.opposite, qty, mark, -penalty, Liquidity.MAKER, trade_id, liquidation
            )
            trade = Trade(
                trade_id=trade_id,
                market=name,
                price=mark,
                size=qty,
                taker_side=side,
                taker_order_id=0,
                maker_order_id=0,
                taker_account_id=account.account_id,
                maker_account_id=fund.account_id,
                ts_ms=self._now,
                kind=liquidation,
            )
            state.trades.append(trade)
            fills.append(fill)
            if self.listeners:
                self._emit(TradeEvent(trade, fund_fill, fill))
        account.liquidations += 1
        if self.listeners:
            self._emit(LiquidationEvent(account.account_id, self._now, tuple(fills)))
