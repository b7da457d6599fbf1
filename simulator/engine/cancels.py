"""Cancels and modifications of resting orders (`OrderChangesMixin`), and the upkeep of resting reduce-only
orders when positions change (`ReduceOnlyPolicy`)."""

from __future__ import annotations

from decimal import Decimal

from simulator.engine.accounts import Account
from simulator.engine.errors import InvalidModifyError, OrderNotFoundError, OrderNotOpenError
from simulator.engine.events import OrderEvent
from simulator.engine.orders import (
    ZERO,
    ClientId,
    Order,
    OrderStatus,
    Reason,
    ReduceOnlyPolicy,
    Side,
    TimeInForce,
)
from simulator.engine.state import EngineState


class OrderChangesMixin(EngineState):
    """`Engine.cancel*`, `Engine.modify`."""

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
