"""The venue-neutral trading engine of the simulator (issue #4 items 1, 2 and 5): books, accounts, matching,
margin, liquidation, funding, synthetic liquidity and fault hooks, all in process and synchronous.

No HTTP or protocol code lives here: the venue protocols (`simulator/<venue>/`) call `Engine.submit`,
`Engine.cancel*`, read accounts/books/fills, and listen to `EngineEvent`s. One `Engine` serves one venue
(`VenueRules`), any number of markets and accounts. Every timestamp comes from the engine's clock (a `SimClock`,
usually a `ScaledClock` with a speed factor); every public call first `sync`s the engine to the clock, which
settles `FundingMode.SETTLE_EVERY_INTERVAL` markets at each interval boundary crossed, accrues the funding indices
of `FundingMode.CONTINUOUS_INDEX` markets, moves marks along the mid paths, refreshes the synthetic liquidity and
liquidates accounts below maintenance. A background task (`Engine.run_forever`) keeps syncing when nobody calls.

The concerns live in one module each (`simulator.engine.state` lists them): matching, cancels, risk and
liquidation, funding settlement, the market maker; this module assembles `Engine` and holds set-up and time.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from perparb_core.errors import PerparbError
from simulator.engine.accounts import Account
from simulator.engine.book import OrderBook
from simulator.engine.cancels import OrderChangesMixin
from simulator.engine.clock import ScaledClock, SimClock
from simulator.engine.errors import EngineError
from simulator.engine.events import Listener, MarkEvent
from simulator.engine.faults import EngineFaults
from simulator.engine.funding import SETTLEMENT_INTERVAL_MS, ConstantRate, RateProvider, rate_at
from simulator.engine.liquidity import SeriesMid, SyntheticLiquidity
from simulator.engine.market import MarketState
from simulator.engine.market_maker import MarketMakerMixin
from simulator.engine.matching import MatchingMixin
from simulator.engine.orders import ZERO, VenueRules
from simulator.engine.risk import RiskMixin
from simulator.engine.settlement import SettlementMixin
from simulator.engine.spec import FundingMode, MarketSpec
from simulator.engine.state import INSURANCE_ACCOUNT_ID, EngineState, log


def _floor_interval(ts_ms: int) -> int:
    return ts_ms - ts_ms % SETTLEMENT_INTERVAL_MS


class Engine(MatchingMixin, OrderChangesMixin, RiskMixin, SettlementMixin, MarketMakerMixin, EngineState):
    """One simulated venue's matching and risk engine.

    Args:
        rules: the venue's order-entry rules (`LIGHTER_RULES`, `PARADEX_RULES`).
        clock: time source (default: a real-time `ScaledClock`). Shared with the venue's servers.
        funding: default rate provider for markets added without one (default: 0 %/h).
        insurance_account_id: id of the insurance-fund account (created exempt, 0 collateral).

    Not thread-safe: call it from one thread (the servers' event loop).
    """

    def __init__(
        self,
        rules: VenueRules,
        *,
        clock: SimClock | None = None,
        funding: RateProvider | None = None,
        insurance_account_id: int = INSURANCE_ACCOUNT_ID,
    ) -> None:
        self.rules = rules
        self.clock: SimClock = clock if clock is not None else ScaledClock()
        self.default_funding: RateProvider = funding if funding is not None else ConstantRate(ZERO)
        self.markets: dict[str, MarketState] = {}
        self.accounts: dict[int, Account] = {}
        self.faults = EngineFaults()
        self.listeners: list[Listener] = []
        self._order_seq = 0
        self._trade_seq = 0
        self._fill_seq = 0
        self._payment_seq = 0
        now = self.clock.now_ms()
        self._now = now
        self._last_settlement_ms = _floor_interval(now)
        self._settles = False  # some market is in FundingMode.SETTLE_EVERY_INTERVAL
        self._liquidity: list[tuple[MarketState, SyntheticLiquidity]] = []
        self.insurance = self.create_account(insurance_account_id, exempt=True)

    # ------------------------------------------------------------------------------------------ set-up

    def add_market(
        self, spec: MarketSpec, *, mark_price: Decimal | None = None, funding: RateProvider | None = None
    ) -> MarketState:
        """Open a market.

        Args:
            spec: its parameters; mark_price: initial mark (default `spec.mark_price`).
            funding: its rate provider (default the engine's).

        Raises:
            EngineError: the symbol exists already, or no positive mark price is known.
        """
        if spec.symbol in self.markets:
            raise EngineError(f"market {spec.symbol} exists already")
        mark = mark_price if mark_price is not None else spec.mark_price
        if mark is None or mark <= 0:
            raise EngineError(f"market {spec.symbol}: a positive mark price is needed, got {mark}")
        self.sync()
        state = MarketState(
            spec=spec,
            book=OrderBook(spec.symbol),
            mark_price=mark,
            funding=funding if funding is not None else self.default_funding,
            funding_index_ms=self._now,
        )
        state.rate_hourly = rate_at(state.funding, spec.symbol, self._now)
        self.markets[spec.symbol] = state
        if spec.funding_mode is FundingMode.SETTLE_EVERY_INTERVAL:
            self._settles = True
        return state

    def create_account(
        self, account_id: int | None = None, collateral: Decimal = ZERO, *, exempt: bool = False
    ) -> Account:
        """Open an account (id default: one above the highest below the insurance fund's).

        Args:
            collateral: initial USDC deposit (>= 0).
            exempt: never margin-checked nor liquidated (market makers, insurance fund).

        Raises:
            EngineError: the id exists already or collateral < 0.
        """
        if account_id is None:
            ids = [a for a in self.accounts if a != INSURANCE_ACCOUNT_ID]
            account_id = max(ids, default=0) + 1
        if account_id in self.accounts:
            raise EngineError(f"account {account_id} exists already")
        if collateral < 0:
            raise EngineError(f"account {account_id}: initial collateral must be >= 0, got {collateral}")
        account = Account(account_id, exempt=exempt)
        self.accounts[account_id] = account
        if collateral:
            self.deposit(account_id, collateral)
        return account

    def deposit(self, account_id: int, amount: Decimal) -> Decimal:
        """Add `amount` USDC (> 0) to collateral; returns the new collateral.

        Raises:
            UnknownAccountError, EngineError (amount <= 0).
        """
        account = self.account(account_id)
        if amount <= 0:
            raise EngineError(f"account {account_id}: deposit must be positive, got {amount}")
        account.collateral += amount
        account.deposits += amount
        return account.collateral

    def set_mark_price(self, market: str, price: Decimal) -> None:
        """Move `market`'s mark price to `price` (admin "move prices"). With a market maker, its mid path
        becomes the constant `price` and its quotes move with it. Continuous funding is accrued at the old mark
        up to now first; accounts below maintenance are liquidated.

        Raises:
            UnknownMarketError; EngineError for price <= 0.
        """
        state = self.market(market)
        if price <= 0:
            raise EngineError(f"market {market}: mark price must be positive, got {price}")
        self.sync()
        if state.liquidity is not None:
            state.liquidity.path = SeriesMid([(self._now, price)])
            self._advance_to(self._now)
        else:
            self._move_mark(state, price, self._now)
            self._check_holders(state)

    # ------------------------------------------------------------------------------------------ time

    def sync(self, now_ms: int | None = None) -> None:
        """Bring the engine to the clock's time (or `now_ms`; never backwards).

        In order: for each settlement boundary H crossed (when a market is in SETTLE_EVERY_INTERVAL mode): marks
        move along the mid paths to H, continuous funding accrues to H, interval funding is paid at H, holders below
        maintenance are liquidated; then the same to now, plus liquidity refreshes.
        """
        now = self.clock.now_ms() if now_ms is None else now_ms
        if now <= self._now:
            return
        if self._settles:
            boundary = self._last_settlement_ms + SETTLEMENT_INTERVAL_MS
            while boundary <= now:
                self._advance_to(boundary)
                self._settle(boundary)
                self._last_settlement_ms = boundary
                boundary += SETTLEMENT_INTERVAL_MS
        else:
            self._last_settlement_ms = _floor_interval(now)
        self._advance_to(now)

    def _advance_to(self, t: int) -> None:
        # accrue first (at the marks in force until now), so fills below realise an up-to-date index
        self._now = max(self._now, t)
        for state in self.markets.values():
            if state.spec.funding_mode is FundingMode.CONTINUOUS_INDEX:
                self._accrue(state, t)
            state.rate_hourly = rate_at(state.funding, state.spec.symbol, t)
        for state, liq in self._liquidity:
            mid = liq.path(t)
            if mid != liq.last_mid:
                self._move_mark(state, mid, t)
                self._refresh(state, liq)
                self._check_holders(state)
            elif liq.hit and t - liq.last_refresh_ms >= liq.config.replenish_ms:
                self._refresh(state, liq)

    def _move_mark(self, state: MarketState, price: Decimal, t: int) -> None:
        if price == state.mark_price:
            return
        if state.spec.funding_mode is FundingMode.CONTINUOUS_INDEX:
            self._accrue(state, t)
        state.mark_price = price
        if self.listeners:
            self._emit(MarkEvent(state.spec.symbol, price, t))

    async def run_forever(self, interval_seconds: float = 0.05) -> None:
        """Sync every `interval_seconds` of real time until cancelled (funding and liquidity keep moving
        while no request arrives). Errors in a sync are logged and do not stop the loop."""
        while True:
            try:
                self.sync()
            except (ArithmeticError, LookupError, ValueError, PerparbError):
                log.exception("engine sync failed")
            await asyncio.sleep(interval_seconds)
