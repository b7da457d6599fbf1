"""`ManagedExchangeClient`: a `BaseExchangeClient` whose trading calls are one-line delegations to its managers.

Every venue client is a thin core over four managers (DESIGN.md "Layout"): market data, orders, account and
positions. The delegations are the same on every venue, so they live here once; a venue client keeps only what
differs: construction, `connect()` / `disconnect()`, its streams and `events()`, and its own extras. The managers
are typed by the Protocols below (they differ in class from venue to venue but share these method names).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Generic, Protocol, TypeVar

from exchange_clients.base.client import BaseExchangeClient
from exchange_clients.base.order_book import Level
from exchange_clients.base.trading import (
    BalanceInfo,
    ContractAttributes,
    Fill,
    FundingPaymentInfo,
    OrderInfo,
    PositionSnapshot,
    Side,
)
from perparb_core.errors import VenueError


class MarketDataLike(Protocol):
    """A venue's market-data manager: markets and live books (served without a connected account)."""

    async def contract_attributes(self, symbol: str) -> ContractAttributes: ...

    async def depth(self, symbol: str, levels: int) -> tuple[list[Level], list[Level]]: ...


class OrderManagerLike(Protocol):
    """A venue's order manager: placement (limit, market, two-phase market), cancels, order reads."""

    async def place_limit(
        self,
        symbol: str,
        side: Side,
        quantity: Decimal,
        price: Decimal,
        *,
        post_only: bool,
        reduce_only: bool,
        client_order_id: str,
    ) -> OrderInfo: ...

    async def place_market(
        self,
        symbol: str,
        side: Side,
        quantity: Decimal,
        *,
        max_slippage_bps: Decimal,
        reduce_only: bool,
        client_order_id: str,
    ) -> OrderInfo: ...

    async def prepare_market(
        self,
        symbol: str,
        side: Side,
        quantity: Decimal,
        *,
        max_slippage_bps: Decimal,
        reduce_only: bool,
        client_order_id: str,
    ) -> Callable[[], Awaitable[OrderInfo]]: ...

    async def cancel(self, symbol: str, *, order_id: str | None, client_order_id: str | None) -> None: ...

    async def cancel_all(self, symbol: str | None) -> None: ...

    async def order_info(
        self, symbol: str, *, order_id: str | None, client_order_id: str | None
    ) -> OrderInfo | None: ...

    async def active_orders(self, symbol: str | None) -> list[OrderInfo]: ...


class AccountManagerLike(Protocol):
    """A venue's account manager: balance, fills, funding payments and leverage."""

    async def balance(self) -> BalanceInfo: ...

    async def fills(self, since: datetime, symbol: str | None) -> list[Fill]: ...

    async def funding_payments(self, since: datetime, symbol: str | None) -> list[FundingPaymentInfo]: ...

    async def leverage_info(self, symbol: str) -> tuple[Decimal | None, Decimal | None]: ...

    async def set_leverage(self, symbol: str, leverage: Decimal) -> None: ...


class PositionManagerLike(Protocol):
    """A venue's position manager: open positions."""

    async def positions(self) -> list[PositionSnapshot]: ...

    async def snapshot(self, symbol: str) -> PositionSnapshot | None: ...


OrdersT = TypeVar("OrdersT", bound=OrderManagerLike)
AccountT = TypeVar("AccountT", bound=AccountManagerLike)
PositionsT = TypeVar("PositionsT", bound=PositionManagerLike)


class ManagedExchangeClient(BaseExchangeClient, Generic[OrdersT, AccountT, PositionsT]):
    """A venue client that delegates to its managers; parameterised by the venue's manager classes.

    Delegates (shapes and units as `BaseExchangeClient` gives them: prices in quote currency, sizes in base units,
    all `Decimal`; symbols canonical base assets or venue symbols):

        get_contract_attributes, get_order_book_depth        -> market_data.contract_attributes / depth
        place_limit_order, place_market_order,
        prepare_market_order, cancel_order, cancel_all_orders,
        get_order_info, get_active_orders                    -> orders.place_limit / place_market /
                                                                prepare_market / cancel / cancel_all /
                                                                order_info / active_orders
        get_position_snapshot, get_positions                 -> positions.snapshot / positions
        get_account_balance, get_fills, get_funding_payments,
        get_leverage_info, set_leverage                      -> account.balance / fills / funding_payments /
                                                                leverage_info / set_leverage

    Market orders stay bounded by `market_order_limit_price` in the managers (StaleBookError without a fresh book).
    Market data is served whether or not the client is connected; every other call goes through `_need()`.

    Attributes:
        market_data: the market-data manager (built with the client).
        _orders, _account, _positions: the order, account and position managers, None until the venue builds them
            (at construction or in `connect()`) and again after `disconnect()`.

    Raises:
        what `_not_connected_error()` gives (the venue's error; "client is not connected: call connect() first")
        when a manager is missing; else the managers' errors (the venue's `VenueError` subclasses).
    """

    market_data: MarketDataLike
    _orders: OrdersT | None = None
    _account: AccountT | None = None
    _positions: PositionsT | None = None

    def _not_connected_error(self) -> VenueError:
        """The error a call needing the account raises before `connect()`; venues return their own subclass."""
        return VenueError(self.venue, "client is not connected: call connect() first")

    def _need(self) -> tuple[OrdersT, AccountT, PositionsT]:
        """(orders, account, positions) managers.

        Raises:
            `_not_connected_error()`: one is missing (not connected, or disconnected)."""
        if self._orders is None or self._account is None or self._positions is None:
            raise self._not_connected_error()
        return self._orders, self._account, self._positions

    # ------------------------------------------------------------------------------------------- market data

    async def get_contract_attributes(self, symbol: str) -> ContractAttributes:
        return await self.market_data.contract_attributes(symbol)

    async def get_order_book_depth(self, symbol: str, levels: int) -> tuple[list[Level], list[Level]]:
        return await self.market_data.depth(symbol, levels)

    # ------------------------------------------------------------------------------------------- orders

    async def place_limit_order(
        self,
        symbol: str,
        side: Side,
        quantity: Decimal,
        price: Decimal,
        *,
        post_only: bool = False,
        reduce_only: bool = False,
        client_order_id: str,
    ) -> OrderInfo:
        """Limit order, post-only with `post_only` (the venue's time in force: the order manager's
        `place_limit`); rounded on the grid never worse than `price`."""
        return await self._need()[0].place_limit(
            symbol,
            side,
            quantity,
            price,
            post_only=post_only,
            reduce_only=reduce_only,
            client_order_id=client_order_id,
        )

    async def prepare_market_order(
        self,
        symbol: str,
        side: Side,
        quantity: Decimal,
        *,
        max_slippage_bps: Decimal,
        reduce_only: bool = False,
        client_order_id: str,
    ) -> Callable[[], Awaitable[OrderInfo]]:
        """Bound, round and sign now, send later: the order manager's `prepare_market`.

        Raises (nothing sent): StaleBookError, the venue's rejected error (grid, minimum size / notional)."""
        return await self._need()[0].prepare_market(
            symbol,
            side,
            quantity,
            max_slippage_bps=max_slippage_bps,
            reduce_only=reduce_only,
            client_order_id=client_order_id,
        )

    async def place_market_order(
        self,
        symbol: str,
        side: Side,
        quantity: Decimal,
        *,
        max_slippage_bps: Decimal,
        reduce_only: bool = False,
        client_order_id: str,
    ) -> OrderInfo:
        """IOC at the book-derived worst price (`market_order_limit_price`): the order manager's `place_market`.

        Raises: StaleBookError without a fresh book (nothing sent); the venue's errors."""
        return await self._need()[0].place_market(
            symbol,
            side,
            quantity,
            max_slippage_bps=max_slippage_bps,
            reduce_only=reduce_only,
            client_order_id=client_order_id,
        )

    async def cancel_order(
        self, symbol: str, *, order_id: str | None = None, client_order_id: str | None = None
    ) -> None:
        await self._need()[0].cancel(symbol, order_id=order_id, client_order_id=client_order_id)

    async def cancel_all_orders(self, symbol: str | None = None) -> None:
        await self._need()[0].cancel_all(symbol)

    async def get_order_info(
        self, symbol: str, *, order_id: str | None = None, client_order_id: str | None = None
    ) -> OrderInfo | None:
        return await self._need()[0].order_info(symbol, order_id=order_id, client_order_id=client_order_id)

    async def get_active_orders(self, symbol: str | None = None) -> list[OrderInfo]:
        return await self._need()[0].active_orders(symbol)

    # ------------------------------------------------------------------------------------------- account

    async def get_position_snapshot(self, symbol: str) -> PositionSnapshot | None:
        return await self._need()[2].snapshot(symbol)

    async def get_positions(self) -> list[PositionSnapshot]:
        return await self._need()[2].positions()

    async def get_account_balance(self) -> BalanceInfo:
        return await self._need()[1].balance()

    async def get_fills(self, since: datetime, symbol: str | None = None) -> list[Fill]:
        return await self._need()[1].fills(since, symbol)

    async def get_funding_payments(
        self, since: datetime, symbol: str | None = None
    ) -> list[FundingPaymentInfo]:
        return await self._need()[1].funding_payments(since, symbol)

    async def get_leverage_info(self, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        """(current leverage, maximum leverage) of `symbol`: the account manager's `leverage_info`."""
        return await self._need()[1].leverage_info(symbol)

    async def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        """The account manager's `set_leverage` (per market, or the account's limit where the venue has no
        per-market leverage). Raises the venue's rejected error above the market's maximum."""
        await self._need()[1].set_leverage(symbol, leverage)
