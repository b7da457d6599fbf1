"""The venue-neutral trading engine of the simulator (issue #4 items 1, 2 and 5): books, accounts, matching,
margin, liquidation, funding, synthetic liquidity and fault hooks, all in process and synchronous.

No HTTP or protocol code lives here: the venue protocols (`simulator/<venue>/`) call `Engine.submit`,
`Engine.cancel*`, read accounts/books/fills, and listen to `EngineEvent`s. One `Engine` serves one venue
(`VenueRules`), any number of markets and accounts. Every timestamp comes from the engine's clock (a `SimClock`,
usually a `ScaledClock` with a speed factor); every public call first `sync`s the engine to the clock, which
settles `FundingMode.SETTLE_EVERY_INTERVAL` markets at each interval boundary crossed, accrues the funding indices
of `FundingMode.CONTINUOUS_INDEX` markets, moves marks along the mid paths, refreshes the synthetic liquidity and
liquidates accounts below maintenance. A background task
(`Engine.run_forever`) keeps syncing when nobody calls.

Matching (`Engine.submit`): price-time priority against the book; each fill at the resting order's price;
the resting order is the maker, the incoming one the taker (fees `MarketSpec.maker_fee` / `taker_fee`, fractions
of notional, rounded to 1e-12 USDC). A resting order of the taker's own account is cancelled when met
(`Reason.SELF_TRADE`, expire-maker self-trade prevention) and matching goes on. Order checks, in order:
fault hook, market, size (> 0, size step, min, max), price (tick), type, client order id, reduce-only, minimum
notional, post-only crossing, margin (see `simulator.engine.accounts`).

Liquidation (simplified; venues liquidate partially): when an account's equity falls below its maintenance
requirement, all its orders are cancelled and every position is taken over by the insurance-fund account at
the mark price (a `TradeKind.LIQUIDATION` trade), the account paying `liquidation_fee x notional` to the fund.
No partial liquidation, no auto-deleveraging; a negative balance left behind is not socialised.
Market-maker and insurance accounts are `exempt`: no margin check, never liquidated.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from exchange_clients.base.errors import PerparbError
from simulator.engine import accounts as margin
from simulator.engine.accounts import Account, Position
from simulator.engine.book import OrderBook
from simulator.engine.clock import ScaledClock, SimClock
from simulator.engine.faults import EngineFaults
from simulator.engine.funding import (
    SETTLEMENT_INTERVAL_MS,
    ConstantRate,
    FundingPayment,
    RateProvider,
    accrue_index,
    index_payment,
    money,
    rate_at,
    settlement_payment,
)
from simulator.engine.liquidity import LiquidityConfig, MidPath, SeriesMid, SyntheticLiquidity, quotes
from simulator.engine.market import FundingMode, MarketSpec, MarketState
from simulator.engine.orders import (
    ZERO,
    ClientId,
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

log = logging.getLogger("perparb.simulator.engine")

# The insurance fund's account id: 2^48 - 1, the index Lighter gives its insurance fund
# (orderBookDetails market_config.insurance_fund_account_index).
INSURANCE_ACCOUNT_ID = 281474976710655


class EngineError(PerparbError):
    """A call the engine cannot serve (unknown account/market/order, bad argument). Order rejections are not
    errors: `submit` returns the order with `status == REJECTED` and its `reason`."""


class UnknownAccountError(EngineError):
    """No account with this id."""


class UnknownMarketError(EngineError):
    """No market with this symbol."""


class OrderNotFoundError(EngineError):
    """The account has no order with this id / client order id (Paradex ORDER_ID_NOT_FOUND)."""


class InvalidModifyError(EngineError):
    """A modification the market's grid refuses; `reason` is the engine's `Reason`."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class OrderNotOpenError(EngineError):
    """The order exists but is no longer open (Paradex ORDER_IS_CLOSED)."""


class InsufficientMarginError(EngineError):
    """A withdrawal would leave equity below the initial margin requirement."""


class LeverageError(EngineError):
    """A leverage the market refuses: below 1 or above the market's maximum (1 / its minimum initial margin
    fraction)."""


# ------------------------------------------------------------------------------------------------ events


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """An order was accepted, rejected, filled (partly or fully) or cancelled. `order` is the live object:
    serialise it in the listener."""

    order: Order


@dataclass(frozen=True, slots=True)
class TradeEvent:
    """A trade and both sides' fills (maker first)."""

    trade: Trade
    maker_fill: Fill
    taker_fill: Fill


@dataclass(frozen=True, slots=True)
class FundingEvent:
    """A funding payment was credited/debited."""

    payment: FundingPayment


@dataclass(frozen=True, slots=True)
class LiquidationEvent:
    """An account was liquidated; `fills` are its LIQUIDATION fills (one per position closed)."""

    account_id: int
    ts_ms: int
    fills: tuple[Fill, ...]


@dataclass(frozen=True, slots=True)
class MarkEvent:
    """A market's mark price changed."""

    market: str
    mark_price: Decimal
    ts_ms: int


EngineEvent = OrderEvent | TradeEvent | FundingEvent | LiquidationEvent | MarkEvent
Listener = Callable[[EngineEvent], None]


def _floor_interval(ts_ms: int) -> int:
    return ts_ms - ts_ms % SETTLEMENT_INTERVAL_MS


class Engine:
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

    def add_liquidity(
        self,
        market: str,
        path: MidPath,
        config: LiquidityConfig | None = None,
        *,
        account_id: int | None = None,
    ) -> SyntheticLiquidity:
        """Give `market` a market maker quoting `config` depth around `path` (see `simulator.engine.liquidity`).

        The maker's account is created exempt (id default: next free). Its first quotes are placed at once and
        the mark moves to the path's mid.

        Raises:
            UnknownMarketError; EngineError when the market has a maker already.
        """
        state = self.market(market)
        if state.liquidity is not None:
            raise EngineError(f"market {market} has a market maker already")
        if account_id is None or account_id not in self.accounts:
            maker = self.create_account(account_id, exempt=True)
        else:
            maker = self.accounts[account_id]
            maker.exempt = True
        maker.keep_order_history = False
        liq = SyntheticLiquidity(market, maker.account_id, config or LiquidityConfig(), path)
        state.liquidity = liq
        self._liquidity.append((state, liq))
        self.sync()
        self._move_mark(state, path(self._now), self._now)
        self._refresh(state, liq)
        return liq

    def set_mid_path(self, market: str, path: MidPath) -> None:
        """Replace the mid path of `market`'s market maker (takes effect at once).

        Raises:
            UnknownMarketError; EngineError when the market has no market maker.
        """
        state = self.market(market)
        if state.liquidity is None:
            raise EngineError(f"market {market} has no market maker")
        self.sync()
        state.liquidity.path = path
        self._advance_to(self._now)

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

    # ------------------------------------------------------------------------------------------ lookups

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

    def funding_rate(self, market: str) -> Decimal:
        """The hourly rate in force now for `market` (fraction per hour)."""
        self.sync()
        return self.market(market).rate_hourly

    def now_ms(self) -> int:
        """The engine's time (the clock's, as of the last sync)."""
        return self._now

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

    def _move_mark(self, state: MarketState, price: Decimal, t: int) -> None:
        if price == state.mark_price:
            return
        if state.spec.funding_mode is FundingMode.CONTINUOUS_INDEX:
            self._accrue(state, t)
        state.mark_price = price
        if self.listeners:
            self._emit(MarkEvent(state.spec.symbol, price, t))

    def _settle(self, hour_ms: int) -> None:
        """Every SETTLE_EVERY_INTERVAL market pays `-size x mark x rate` to each holder at `hour_ms` (the end of the
        interval; the rate in force during it)."""
        for state in self.markets.values():
            if state.spec.funding_mode is not FundingMode.SETTLE_EVERY_INTERVAL or not state.holders:
                continue
            name = state.spec.symbol
            rate = rate_at(state.funding, name, hour_ms - 1)
            if not rate:
                continue
            mark = state.mark_price
            for account_id in sorted(state.holders):
                account = self.accounts[account_id]
                pos = account.positions[name]
                amount = settlement_payment(pos.size, mark, rate)
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

    async def run_forever(self, interval_seconds: float = 0.05) -> None:
        """Sync every `interval_seconds` of real time until cancelled (funding and liquidity keep moving
        while no request arrives). Errors in a sync are logged and do not stop the loop."""
        while True:
            try:
                self.sync()
            except (ArithmeticError, LookupError, ValueError, PerparbError):
                log.exception("engine sync failed")
            await asyncio.sleep(interval_seconds)

    # ------------------------------------------------------------------------------------------ orders

    def place(
        self,
        account_id: int,
        market: str,
        side: Side,
        size: Decimal,
        price: Decimal | None = None,
        *,
        type: OrderType = OrderType.LIMIT,
        tif: TimeInForce = TimeInForce.GTC,
        reduce_only: bool = False,
        client_id: ClientId | None = None,
    ) -> Order:
        """`submit` with keyword arguments (see `OrderRequest`)."""
        return self.submit(
            OrderRequest(account_id, market, side, size, price, type, tif, reduce_only, client_id)
        )

    def submit(self, request: OrderRequest) -> Order:
        """Check, accept and match an order.

        Returns:
            The order: REJECTED with a `reason` when a check fails (nothing else changes); otherwise FILLED,
            PARTIALLY_FILLED/OPEN (resting) or CANCELLED (unfilled remainder of an IOC / market order, etc.).

        Raises:
            UnknownAccountError: no such account (an unknown market is a rejection, not an error).
        """
        self.sync()
        account = self.account(request.account_id)
        now = self._now
        self._order_seq += 1
        order = Order(
            order_id=self._order_seq,
            account_id=account.account_id,
            market=request.market,
            side=request.side,
            type=request.type,
            tif=request.tif,
            price=request.price,
            size=request.size,
            reduce_only=request.reduce_only,
            client_id=request.client_id,
            created_ms=now,
            updated_ms=now,
            remaining=request.size,
        )
        account.orders[order.order_id] = order
        state = self.markets.get(request.market)
        reason = self._check(account, order, state)
        if reason is not None:
            order.status = OrderStatus.REJECTED
            order.reason = reason
            order.remaining = ZERO
            log.debug("order %d of account %d rejected: %s", order.order_id, account.account_id, reason.value)
            if self.listeners:
                self._emit(OrderEvent(order))
            return order
        assert state is not None
        if order.client_id is not None:
            account.client_ids[order.client_id] = order.order_id
        if self.listeners:
            self._emit(OrderEvent(order))
        self._execute(account, order, state, self.faults.take_fraction())
        return order

    def _check(self, account: Account, order: Order, state: MarketState | None) -> Reason | None:
        if self.faults.take_reject():
            return Reason.FAULT_INJECTED
        if state is None:
            return Reason.UNKNOWN_MARKET
        spec = state.spec
        size = order.size
        if size <= 0:
            return Reason.INVALID_SIZE
        if size % spec.size_step:
            return Reason.LOT_SIZE
        if size < spec.min_size:
            return Reason.MIN_SIZE
        if spec.max_size is not None and size > spec.max_size:
            return Reason.MAX_SIZE
        price = order.price
        if price is None:
            if order.type is OrderType.LIMIT:
                return Reason.INVALID_PRICE
        else:
            if price <= 0:
                return Reason.INVALID_PRICE
            if price % spec.tick_size:
                return Reason.TICK_SIZE
        if order.type is OrderType.MARKET and order.tif is TimeInForce.POST_ONLY:
            return Reason.INVALID_TYPE
        if order.client_id is not None and order.client_id in account.client_ids:
            return Reason.DUPLICATE_CLIENT_ID
        pos = account.positions.get(spec.symbol)
        held = pos.size if pos is not None else ZERO
        is_buy = order.side is Side.BUY
        if order.reduce_only:
            if held == 0 or (held > 0) == is_buy:
                return Reason.REDUCE_ONLY_WOULD_INCREASE
            if self.rules.reduce_only is ReduceOnlyPolicy.REJECT and size > abs(held):
                return Reason.REDUCE_ONLY_EXCEEDS_POSITION
        if spec.min_notional:
            basis = state.mark_price
            if self.rules.min_notional_basis is NotionalBasis.ORDER_PRICE and price is not None:
                basis = price
            if size * basis < spec.min_notional and not (
                order.reduce_only
                and self.rules.reduce_only_close_exempt_from_min_notional
                and size == abs(held)
            ):
                return Reason.MIN_NOTIONAL
        if order.tif is TimeInForce.POST_ONLY:
            assert price is not None
            best = state.book.best_ask() if is_buy else state.book.best_bid()
            if best is not None and (price >= best if is_buy else price <= best):
                return Reason.POST_ONLY_WOULD_CROSS
        if not account.exempt and not order.reduce_only:
            s = held
            ob = pos.open_buy if pos is not None else ZERO
            os_ = pos.open_sell if pos is not None else ZERO
            long_side = abs(s + ob)
            short_side = abs(s - os_)
            before = max(long_side, short_side)
            after = max(long_side + size, short_side) if is_buy else max(long_side, abs(s - os_ - size))
            if after > before:
                markets = self.markets
                required = margin.initial_margin(account, markets) + (
                    (after - before) * state.mark_price * margin.initial_margin_fraction(account, state)
                )
                if margin.equity(account, markets) < required:
                    return Reason.INSUFFICIENT_MARGIN
        return None

    def _execute(self, account: Account, order: Order, state: MarketState, fraction: Decimal | None) -> None:
        """Match `order` (accepted) against the book, then rest or cancel its remainder."""
        book = state.book
        symbol = state.spec.symbol
        cap: Decimal | None = None
        if fraction is not None:
            step = state.spec.size_step
            cap = (order.size * fraction / step).to_integral_value(rounding=ROUND_FLOOR) * step
        is_buy = order.side is Side.BUY
        opposite = order.side.opposite
        limit = order.price
        touched: set[int] = set()
        stop: Reason | None = None
        while order.remaining > 0:
            if cap is not None and order.filled >= cap:
                stop = Reason.PARTIAL_FILL_FAULT
                break
            maker = book.best_order(opposite)
            if maker is None:
                stop = Reason.NO_LIQUIDITY
                break
            price = maker.price
            assert price is not None
            if limit is not None and (price > limit if is_buy else price < limit):
                stop = Reason.PRICE_BOUND
                break
            if maker.account_id == account.account_id:
                self._cancel_resting(account, maker, Reason.SELF_TRADE)
                continue
            maker_account = self.accounts[maker.account_id]
            qty = order.remaining if order.remaining < maker.remaining else maker.remaining
            if cap is not None and cap - order.filled < qty:
                qty = cap - order.filled
            if maker.reduce_only:
                held = maker_account.position_size(symbol)
                if held == 0 or (held > 0) == (maker.side is Side.BUY):
                    self._cancel_resting(maker_account, maker, Reason.REDUCE_ONLY_POSITION_CHANGED)
                    continue
                qty = min(qty, abs(held))
            if order.reduce_only:
                held = account.position_size(symbol)
                if held == 0 or (held > 0) == is_buy:
                    stop = Reason.REDUCE_ONLY_POSITION_CHANGED
                    break
                qty = min(qty, abs(held))
            self._trade(state, account, order, maker_account, maker, qty, price)
            touched.add(maker_account.account_id)
            touched.add(account.account_id)
            if maker.reduce_only and maker.resting and maker_account.position_size(symbol) == 0:
                self._cancel_resting(maker_account, maker, Reason.REDUCE_ONLY_POSITION_CHANGED)
        if order.remaining > 0:
            if order.reduce_only and account.position_size(symbol) == 0:
                self._finish(order, Reason.REDUCE_ONLY_POSITION_CHANGED)
            elif stop is Reason.PARTIAL_FILL_FAULT:
                self._finish(order, Reason.PARTIAL_FILL_FAULT)
            elif order.type is OrderType.MARKET:
                self._finish(order, stop if stop is not None else Reason.NO_LIQUIDITY)
            elif order.tif is TimeInForce.IOC:
                self._finish(order, Reason.IOC_REMAINDER)
            else:
                book.add(order)
                account.open_orders[order.order_id] = order
                pos = account.position(symbol)
                if order.reduce_only:
                    pos.reduce_only_orders += 1
                elif is_buy:
                    pos.open_buy += order.remaining
                else:
                    pos.open_sell += order.remaining
        if not order.resting and not account.keep_order_history:
            account.orders.pop(order.order_id, None)
        for account_id in touched:
            other = self.accounts[account_id]
            self._check_reduce_only(other, symbol)
            self._check_liquidation(other)

    def _finish(self, order: Order, reason: Reason) -> None:
        """Cancel the unfilled remainder of an order that never rested."""
        order.status = OrderStatus.CANCELLED
        order.reason = reason
        order.remaining = ZERO
        order.updated_ms = self._now
        if self.listeners:
            self._emit(OrderEvent(order))

    def _trade(
        self,
        state: MarketState,
        taker_account: Account,
        taker: Order,
        maker_account: Account,
        maker: Order,
        qty: Decimal,
        price: Decimal,
    ) -> None:
        now = self._now
        spec = state.spec
        self._trade_seq += 1
        trade_id = self._trade_seq
        # maker side of the book
        state.book.fill(maker, qty)
        notional = qty * price
        maker.filled += qty
        maker.filled_quote += notional
        maker.updated_ms = now
        maker_pos = maker_account.position(spec.symbol)
        if maker.reduce_only:
            if not maker.resting:
                maker_pos.reduce_only_orders -= 1
        elif maker.side is Side.BUY:
            maker_pos.open_buy -= qty
        else:
            maker_pos.open_sell -= qty
        if maker.resting:
            maker.status = OrderStatus.PARTIALLY_FILLED
        else:
            maker.status = OrderStatus.FILLED
            del maker_account.open_orders[maker.order_id]
            if not maker_account.keep_order_history:
                maker_account.orders.pop(maker.order_id, None)
        # taker
        taker.remaining -= qty
        taker.filled += qty
        taker.filled_quote += notional
        taker.updated_ms = now
        taker.status = OrderStatus.FILLED if taker.remaining == 0 else OrderStatus.PARTIALLY_FILLED
        maker_fee = money(notional * spec.maker_fee) if spec.maker_fee else ZERO
        taker_fee = money(notional * spec.taker_fee) if spec.taker_fee else ZERO
        maker_fill = self._apply_fill(
            maker_account, state, maker, maker.side, qty, price, maker_fee, Liquidity.MAKER, trade_id
        )
        taker_fill = self._apply_fill(
            taker_account, state, taker, taker.side, qty, price, taker_fee, Liquidity.TAKER, trade_id
        )
        trade = Trade(
            trade_id=trade_id,
            market=spec.symbol,
            price=price,
            size=qty,
            taker_side=taker.side,
            taker_order_id=taker.order_id,
            maker_order_id=maker.order_id,
            taker_account_id=taker_account.account_id,
            maker_account_id=maker_account.account_id,
            ts_ms=now,
        )
        state.trades.append(trade)
        liq = state.liquidity
        if liq is not None and (
            liq.account_id == maker_account.account_id or liq.account_id == taker_account.account_id
        ):
            liq.hit = True
        if self.listeners:
            self._emit(TradeEvent(trade, maker_fill, taker_fill))
            self._emit(OrderEvent(maker))
            self._emit(OrderEvent(taker))

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
        kind: TradeKind = TradeKind.TRADE,
    ) -> Fill:
        """Book one side of a trade on `account` (`order` None for a liquidation): realise continuous funding,
        charge the fee, move the position (average entry on increase, realised PnL on reduction, entry = price
        on a flip)."""
        symbol = state.spec.symbol
        pos = account.position(symbol)
        before = pos.size
        self._fill_seq += 1
        fill_id = self._fill_seq
        realized_funding = ZERO
        if state.spec.funding_mode is FundingMode.CONTINUOUS_INDEX:
            if before:
                realized_funding = index_payment(before, state.funding_index, pos.funding_index)
                if realized_funding:
                    self._pay_funding(
                        account,
                        pos,
                        realized_funding,
                        ts_ms=self._now,
                        rate=state.rate_hourly,
                        mark=None,
                        index=state.funding_index,
                        fill_id=fill_id,
                    )
            pos.funding_index = state.funding_index
        if fee:
            account.collateral -= fee
            account.fees_paid += fee
        delta = qty if side is Side.BUY else -qty
        after = before + delta
        realized = ZERO
        if before == 0 or (before > 0) == (delta > 0):
            pos.entry_price = (abs(before) * pos.entry_price + qty * price) / abs(after)
        else:
            closed = qty if qty < abs(before) else abs(before)
            realized = money(
                closed * (price - pos.entry_price) if before > 0 else closed * (pos.entry_price - price)
            )
            if after == 0:
                pos.entry_price = ZERO
            elif (after > 0) != (before > 0):
                pos.entry_price = price
            if realized:
                account.collateral += realized
                account.realized_pnl += realized
                pos.realized_pnl += realized
        pos.size = after
        if after == 0:
            state.holders.discard(account.account_id)
        elif before == 0:
            state.holders.add(account.account_id)
        fill = Fill(
            fill_id=fill_id,
            trade_id=trade_id,
            account_id=account.account_id,
            order_id=order.order_id if order is not None else 0,
            client_id=order.client_id if order is not None else None,
            market=symbol,
            side=side,
            liquidity=liquidity,
            price=price,
            size=qty,
            fee=fee,
            realized_pnl=realized,
            realized_funding=realized_funding,
            position_before=before,
            position_after=after,
            ts_ms=self._now,
            kind=kind,
        )
        account.fills.append(fill)
        return fill

    # ------------------------------------------------------------------------------------------ cancels

    def cancel(self, account_id: int, order_id: int) -> Order:
        """Cancel a resting order (`Reason.USER_CANCELLED`).

        Raises:
            UnknownAccountError, OrderNotFoundError, OrderNotOpenError.
        """
        self.sync()
        account = self.account(account_id)
        order = account.orders.get(order_id)
        if order is None:
            raise OrderNotFoundError(f"account {account_id} has no order {order_id}")
        if not order.resting:
            raise OrderNotOpenError(f"order {order_id} of account {account_id} is {order.status.value}")
        self._cancel_resting(account, order, Reason.USER_CANCELLED)
        return order

    def modify(self, account_id: int, order_id: int, *, price: Decimal, size: Decimal) -> Order:
        """Change a resting limit order's price and total size in place (Lighter tx type 17, "modify order"):
        same order id and client id; the order loses its time priority, is matched again if the new price
        crosses (a post-only one is cancelled with POST_ONLY_WOULD_CROSS instead), and a new total size at or
        below what has already filled finishes it.

        Returns:
            The order after the change.

        Raises:
            UnknownAccountError, OrderNotFoundError, OrderNotOpenError.
            InvalidModifyError: a price off the tick, a size off the step or below the minimum (nothing changes).
        """
        self.sync()
        account = self.account(account_id)
        order = account.orders.get(order_id)
        if order is None:
            raise OrderNotFoundError(f"account {account_id} has no order {order_id}")
        if not order.resting:
            raise OrderNotOpenError(f"order {order_id} of account {account_id} is {order.status.value}")
        state = self.markets[order.market]
        spec = state.spec
        if price <= 0 or price % spec.tick_size:
            raise InvalidModifyError(Reason.TICK_SIZE, f"price {price} is not on the tick {spec.tick_size}")
        if size <= 0 or size % spec.size_step:
            raise InvalidModifyError(Reason.LOT_SIZE, f"size {size} is not on the step {spec.size_step}")
        if size < spec.min_size:
            raise InvalidModifyError(Reason.MIN_SIZE, f"size {size} is below the minimum {spec.min_size}")
        # take it out of the book (purged: it will rest again, behind the queue) and of the position's open-order
        # reservations, as a cancel would
        state.book.remove(order, purge=True)
        account.open_orders.pop(order.order_id, None)
        pos = account.position(order.market)
        if order.reduce_only:
            pos.reduce_only_orders -= 1
        elif order.side is Side.BUY:
            pos.open_buy -= order.remaining
        else:
            pos.open_sell -= order.remaining
        order.price = price
        order.size = size
        order.remaining = size - order.filled if size > order.filled else ZERO
        order.updated_ms = self._now
        if order.remaining == 0:
            order.status = OrderStatus.FILLED if order.filled > 0 else OrderStatus.CANCELLED
            if self.listeners:
                self._emit(OrderEvent(order))
            return order
        if order.tif is TimeInForce.POST_ONLY:
            best = state.book.best_order(order.side.opposite)
            if (
                best is not None
                and best.price is not None
                and (best.price <= price if order.side is Side.BUY else best.price >= price)
            ):
                self._finish(order, Reason.POST_ONLY_WOULD_CROSS)
                if not account.keep_order_history:
                    account.orders.pop(order.order_id, None)
                return order
        if self.listeners:
            self._emit(OrderEvent(order))
        self._execute(account, order, state, None)
        return order

    def cancel_by_client_id(self, account_id: int, client_id: ClientId) -> Order:
        """Cancel a resting order by its client order id.

        Raises:
            UnknownAccountError, OrderNotFoundError, OrderNotOpenError.
        """
        account = self.account(account_id)
        order_id = account.client_ids.get(client_id)
        if order_id is None:
            raise OrderNotFoundError(f"account {account_id} has no order with client id {client_id!r}")
        return self.cancel(account_id, order_id)

    def cancel_all(self, account_id: int, market: str | None = None) -> list[Order]:
        """Cancel every resting order of the account (in `market` only when given); returns them, oldest first.

        Raises:
            UnknownAccountError.
        """
        self.sync()
        account = self.account(account_id)
        victims = [o for o in account.open_orders.values() if market is None or o.market == market]
        for order in victims:
            self._cancel_resting(account, order, Reason.USER_CANCELLED)
        return victims

    def _cancel_resting(self, account: Account, order: Order, reason: Reason) -> None:
        state = self.markets[order.market]
        state.book.remove(order)
        account.open_orders.pop(order.order_id, None)
        pos = account.position(order.market)
        if order.reduce_only:
            pos.reduce_only_orders -= 1
        elif order.side is Side.BUY:
            pos.open_buy -= order.remaining
        else:
            pos.open_sell -= order.remaining
        order.status = OrderStatus.CANCELLED
        order.reason = reason
        order.remaining = ZERO
        order.updated_ms = self._now
        if not account.keep_order_history:
            account.orders.pop(order.order_id, None)
        if self.listeners:
            self._emit(OrderEvent(order))

    def _check_reduce_only(self, account: Account, market: str) -> None:
        """Cancel resting reduce-only orders the position no longer allows (see `ReduceOnlyPolicy`)."""
        pos = account.positions.get(market)
        if pos is None or pos.reduce_only_orders == 0:
            return
        held = pos.size
        strict = self.rules.reduce_only is ReduceOnlyPolicy.REJECT
        for order in [o for o in account.open_orders.values() if o.reduce_only and o.market == market]:
            wrong_side = held == 0 or (held > 0) == (order.side is Side.BUY)
            if wrong_side or (strict and order.remaining > abs(held)):
                self._cancel_resting(account, order, Reason.REDUCE_ONLY_POSITION_CHANGED)

    # ------------------------------------------------------------------------------------------ risk

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

    # ------------------------------------------------------------------------------------------ liquidity

    def _refresh(self, state: MarketState, liq: SyntheticLiquidity) -> None:
        """Bring the maker's quotes to the target levels around its path's mid (= the mark): quotes at prices no
        longer wanted (or in excess) are cancelled, those still wanted keep their time priority, and missing
        size is added at the back of each level."""
        maker = self.accounts[liq.account_id]
        symbol = state.spec.symbol
        mid = state.mark_price
        bids, asks = quotes(mid, state.spec, liq.config)
        target: dict[tuple[Side, Decimal], Decimal] = {(Side.BUY, p): size for p, size in bids}
        target.update({(Side.SELL, p): size for p, size in asks})
        have: dict[tuple[Side, Decimal], Decimal] = {}
        for order in [o for o in maker.open_orders.values() if o.market == symbol]:
            assert order.price is not None
            key = (order.side, order.price)
            wanted = target.get(key)
            held = have.get(key, ZERO)
            if wanted is None or held + order.remaining > wanted:
                self._cancel_resting(maker, order, Reason.LIQUIDITY_REFRESH)
            else:
                have[key] = held + order.remaining
        now = self._now
        for side, levels in ((Side.BUY, bids), (Side.SELL, asks)):
            for price, size in levels:
                missing = size - have.get((side, price), ZERO)
                if missing <= 0:
                    continue
                self._order_seq += 1
                order = Order(
                    order_id=self._order_seq,
                    account_id=maker.account_id,
                    market=symbol,
                    side=side,
                    type=OrderType.LIMIT,
                    tif=TimeInForce.GTC,
                    price=price,
                    size=missing,
                    reduce_only=False,
                    client_id=None,
                    created_ms=now,
                    updated_ms=now,
                    remaining=missing,
                )
                maker.orders[order.order_id] = order
                self._execute(maker, order, state, None)
        liq.last_mid = mid
        liq.last_refresh_ms = now
        liq.hit = False
        liq.refreshes += 1

    # ------------------------------------------------------------------------------------------ events

    def _emit(self, event: EngineEvent) -> None:
        for listener in self.listeners:
            listener(event)
