"""Funding in the engine (`SettlementMixin`): the two `FundingMode`s.

`SETTLE_EVERY_INTERVAL`: at the end of each of the market's settlement intervals (`MarketSpec.settlement_interval_hours`
hours, on the UTC hours divisible by it: every hour on the hour for 1, 00/08/16 UTC for 8; `Engine.sync` walks the
hour boundaries) every holder is paid `settlement_payment(size, mark, r)` where r is the sum over the interval's
hours of the hourly rate in force during each hour (= interval x rate for a constant rate: the venue's rate per
interval). `CONTINUOUS_INDEX`: the market's funding index accrues (`accrue_index`) before every mark change
and sync, and a position realises `index_payment` at its next fill (`MatchingMixin._apply_fill`). Formulas:
`simulator.engine.funding`.
"""

from __future__ import annotations

from decimal import Decimal

from simulator.engine.accounts import Account, Position
from simulator.engine.events import FundingEvent
from simulator.engine.funding import HOUR_MS, FundingPayment, accrue_index, rate_at, settlement_payment
from simulator.engine.market import MarketState
from simulator.engine.spec import FundingMode
from simulator.engine.state import EngineState


class SettlementMixin(EngineState):
    """Funding rates in force, index accrual, interval settlement, payments."""

    def funding_rate(self, market: str) -> Decimal:
        """The hourly rate in force now for `market` (fraction per hour)."""
        self.sync()
        return self.market(market).rate_hourly

    def _accrue(self, state: MarketState, t: int) -> None:
        if t > state.funding_index_ms:
            state.funding_index = accrue_index(
                state.funding_index,
                state.funding,
                state.spec.symbol,
                state.mark_price,
                state.funding_index_ms,
                t,
            )
            state.funding_index_ms = t

    def _settle(self, hour_ms: int) -> None:
        """Every SETTLE_EVERY_INTERVAL market whose interval ends at `hour_ms` pays `-size x mark x r` to each
        holder, r = the sum of the hourly rates in force during the interval's hours (module docstring); the
        payment's `rate_hourly` is r / interval hours."""
        for state in self.markets.values():
            if state.spec.funding_mode is not FundingMode.SETTLE_EVERY_INTERVAL or not state.holders:
                continue
            hours = state.spec.settlement_interval_hours
            if (hour_ms // HOUR_MS) % hours:
                continue
            name = state.spec.symbol
            total = sum(
                (rate_at(state.funding, name, hour_ms - k * HOUR_MS - 1) for k in range(hours)), Decimal(0)
            )
            if not total:
                continue
            rate = total / hours
            mark = state.mark_price
            for account_id in sorted(state.holders):
                account = self.accounts[account_id]
                pos = account.positions[name]
                amount = settlement_payment(pos.size, mark, total)
                self._pay_funding(
                    account, pos, amount, ts_ms=hour_ms, rate=rate, mark=mark, index=None, fill_id=None
                )
            self._check_holders(state)

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
    ) -> None:
        account.collateral += amount
        account.funding += amount
        pos.funding += amount
        self._payment_seq += 1
        payment = FundingPayment(
            self._payment_seq,
            account.account_id,
            pos.market,
            ts_ms,
            amount,
            pos.size,
            rate,
            mark,
            index,
            fill_id,
        )
        account.funding_payments.append(payment)
        if self.listeners:
            self._emit(FundingEvent(payment))
