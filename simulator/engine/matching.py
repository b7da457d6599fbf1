"""Order entry and matching of the engine (`MatchingMixin`): checks, price-time matching, trades and fills.

Matching (`submit`): price-time priority against the book; each fill at the resting order's price; the resting order
is the maker, the incoming one the taker (fees `MarketSpec.maker_fee` / `taker_fee`, fractions of notional, rounded
to 1e-12 USDC). A resting order of the taker's own account is cancelled when met (`Reason.SELF_TRADE`,
expire-maker self-trade prevention) and matching goes on. Order checks, in order: fault hook, market, size (> 0,
size step, min, max), price (tick), type, client order id, reduce-only, minimum notional, post-only crossing,
margin (see `simulator.engine.accounts`).
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from simulator.engine import accounts as margin
from simulator.engine.accounts import Account
from simulator.engine.events import OrderEvent, TradeEvent
from simulator.engine.funding import index_payment, money
from simulator.engine.market import MarketState
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
)
from simulator.engine.spec import FundingMode
from simulator.engine.state import EngineState, log


class MatchingMixin(EngineState):
    """`Engine.place` / `Engine.submit` and the matching loop (module docstring)."""

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
