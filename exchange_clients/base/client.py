"""`BaseExchangeClient`: what strategies need from a venue to trade, venue-neutral.

One client serves many markets at once (no "current market" state). Prices and sizes are `Decimal` (quote
currency, base units); rounding to the market grid happens only in `exchange_clients.base.trading`
(`round_price` / `round_quantity`), in the direction that never worsens the user's limit. Errors are the venue's
`VenueError` subclasses (unavailable / rate limited / rejected / auth) naming venue, market and value.

Rules every implementation keeps:
* market orders are always bounded: the worst price comes from the live order book and `max_slippage_bps`
  (`market_order_limit_price`); without a fresh book the order is refused, never sent unbounded;
* a placement may be retried only with the same client order id, and the client then reconciles by that id, so a
  retry never doubles an order;
* blocking SDK calls run in `asyncio.to_thread`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from decimal import Decimal

from exchange_clients.base.account_state import AccountState
from exchange_clients.base.order_book import Level, OrderBook
from exchange_clients.base.trading import (
    BalanceInfo,
    ClientEvent,
    ContractAttributes,
    Fill,
    FundingPaymentInfo,
    OrderInfo,
    PositionSnapshot,
    RoundingError,
    Side,
    round_price,
    round_quantity,
)
from perparb_core.errors import VenueRejectedError

BPS = Decimal(10_000)


class StaleBookError(VenueRejectedError):
    """A market order was refused because no fresh order book bounds its price."""


def market_order_limit_price(
    book: OrderBook,
    side: Side,
    quantity: Decimal,
    *,
    max_slippage_bps: Decimal,
    tick: Decimal,
    max_age_seconds: float,
    venue: str,
) -> Decimal:
    """The worst acceptable price of a market order: the touch price moved by `max_slippage_bps` against the
    taker, rounded to the tick in the direction that does not widen the bound (BUY down, SELL up); and the book
    must hold `quantity` within that bound.

    Raises:
        StaleBookError: book out of sync, older than `max_age_seconds`, empty, or too thin within the bound.
    """
    age = book.age_seconds()
    if not book.is_synced or age is None or age > max_age_seconds:
        raise StaleBookError(
            venue, f"no fresh order book (age {age}); market order refused", market=book.market
        )
    touch = book.best_ask() if side is Side.BUY else book.best_bid()
    if touch is None:
        raise StaleBookError(venue, "empty book side; market order refused", market=book.market)
    factor = 1 + max_slippage_bps / BPS if side is Side.BUY else 1 - max_slippage_bps / BPS
    bound = round_price(touch[0] * factor, tick, side)
    reach = book.worst_price_for(side.value, quantity)
    if reach is None or (reach > bound if side is Side.BUY else reach < bound):
        raise StaleBookError(
            venue,
            f"book too thin: {quantity} does not fill within {max_slippage_bps} bps of {touch[0]}",
            market=book.market,
        )
    return bound


def round_order_size(
    quantity: Decimal,
    *,
    size_step: Decimal,
    min_size: Decimal | None,
    rejected: Callable[[str], VenueRejectedError],
) -> Decimal:
    """`quantity` (base units) DOWN to `size_step` (`round_quantity`), refused below `min_size`.

    Raises:
        the venue's rejected error built by `rejected(message)`: the quantity rounds to zero or below `min_size`
        (the message gives the quantity, the rounded value, the step and the minimum).
    """
    try:
        return round_quantity(quantity, size_step, min_size=min_size)
    except RoundingError as exc:
        grid = f"size step {size_step}" + (f", minimum size {min_size}" if min_size is not None else "")
        raise rejected(f"{exc} ({grid})") from None


def check_min_notional(
    size: Decimal,
    price: Decimal,
    *,
    min_notional: Decimal | None,
    reduce_only: bool,
    rejected: Callable[[str], VenueRejectedError],
) -> None:
    """Refuse an order whose notional `size * price` (quote currency) is below `min_notional`; reduce-only orders
    and markets without a minimum (None) pass.

    Raises:
        the venue's rejected error built by `rejected(message)` (the message gives size, price, notional, minimum).
    """
    if not reduce_only and min_notional is not None and size * price < min_notional:
        raise rejected(
            f"order notional {size} x {price} = {size * price} is below the minimum {min_notional}"
        )


def bound_market_order(
    book: OrderBook,
    side: Side,
    quantity: Decimal,
    *,
    max_slippage_bps: Decimal,
    max_age_seconds: float,
    size_step: Decimal,
    min_size: Decimal | None,
    tick: Decimal | Callable[[Decimal], Decimal],
    min_notional: Decimal | None,
    reduce_only: bool,
    venue: str,
    rejected: Callable[[str], VenueRejectedError],
    reprice: Callable[[Decimal], Decimal] | None = None,
) -> tuple[Decimal, Decimal]:
    """The decision part of a market order, before anything is signed or sent: (quantity, limit price).

    1. `quantity` (base units) DOWN to `size_step`, refused below `min_size` (`round_order_size`);
    2. the worst price from the live `book`: `market_order_limit_price` (the touch moved by `max_slippage_bps`
       against the taker, on the tick, BUY down / SELL up; the book fresh within `max_age_seconds` and deep enough
       for the quantity). `tick` is the price step, or a function giving the step at a price (a price-dependent
       grid: called with the touch price); `reprice`, when given, puts the bound on the venue's own price grid
       (a rounding that never widens it);
    3. the notional check (`check_min_notional`, reduce-only exempt).

    Prices are in quote currency, sizes in base units (`Decimal`).

    Raises:
        StaleBookError: no fresh book, empty side, or too thin within the bound (nothing decided).
        the venue's rejected error built by `rejected(message)`: size below the grid or `min_size`, notional below
            `min_notional`.
    """
    size = round_order_size(quantity, size_step=size_step, min_size=min_size, rejected=rejected)
    if callable(tick):
        touch = book.best_ask() if side is Side.BUY else book.best_bid()
        # without a touch `market_order_limit_price` refuses the order before it uses the tick
        tick = tick(touch[0]) if touch is not None else size_step
    bound = market_order_limit_price(
        book,
        side,
        size,
        max_slippage_bps=max_slippage_bps,
        tick=tick,
        max_age_seconds=max_age_seconds,
        venue=venue,
    )
    if reprice is not None:
        bound = reprice(bound)
    check_min_notional(size, bound, min_notional=min_notional, reduce_only=reduce_only, rejected=rejected)
    return size, bound


class PreparedOrder:
    """An order prepared by `prepare_market_order`: `await prepared()` sends it (once); `release()` gives back
    what the preparation holds when it will not be sent (a Lighter transaction signed with a managed nonce gives
    its nonce back). Releasing after the send, or twice, does nothing.

    Args:
        send: the coroutine function that sends the prepared order and returns its `OrderInfo`.
        release: called at most once, and only when the order was never sent (None: nothing to give back).
    """

    def __init__(
        self, send: Callable[[], Awaitable[OrderInfo]], release: Callable[[], None] | None = None
    ) -> None:
        self._send = send
        self._release = release
        self.state = "prepared"  # prepared -> sent | released

    async def __call__(self) -> OrderInfo:
        if self.state == "prepared":
            self.state = "sent"
        return await self._send()

    def release(self) -> None:
        if self.state != "prepared":
            return
        self.state = "released"
        if self._release is not None:
            self._release()


class BaseExchangeClient(ABC):
    """A venue's trading client. See the module docstring for the rules.

    Attributes:
        account_state: balance, positions and open orders kept from the venue's account streams
            (`exchange_clients.base.account_state`), or None for a client that keeps none.
    """

    venue: str
    account_state: AccountState | None = None

    def cached_balance(self, max_age_seconds: float | None = None) -> tuple[BalanceInfo | None, str]:
        """The balance from the account streams when it may be served (synced, heard from within
        `max_age_seconds`, default the state's own bound): (balance, ""); else (None, why), and the caller reads
        `get_account_balance()` (REST) instead."""
        if self.account_state is None:
            return None, f"{self.venue}: this client keeps no account state from its streams"
        balance, why = self.account_state.fresh_balance(max_age_seconds)
        return balance, why or ""

    @abstractmethod
    async def connect(self) -> None:
        """Authenticate, load markets, start streams. Raises VenueUnavailableError / VenueAuthError."""

    @abstractmethod
    async def disconnect(self) -> None:
        """Stop streams and close sessions. Idempotent."""

    def get_exchange_name(self) -> str:
        return self.venue

    @abstractmethod
    async def get_contract_attributes(self, symbol: str) -> ContractAttributes:
        """Grid and limits of `symbol` (canonical base asset). Raises VenueRejectedError for an unknown or
        untradeable market."""

    @abstractmethod
    async def fetch_bbo_prices(self, symbol: str) -> tuple[Decimal, Decimal]:
        """(best bid, best ask) from the live book. Raises StaleBookError when not fresh."""

    @abstractmethod
    async def get_order_book_depth(self, symbol: str, levels: int) -> tuple[list[Level], list[Level]]:
        """Top `levels` bids and asks, best first, as (price, size)."""

    @abstractmethod
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
        """Place a limit order (rounded on the grid, never worse than `price`)."""

    @abstractmethod
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
        """Place a market order bounded by `market_order_limit_price`."""

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
        """Two-phase `place_market_order`: do the slow local work now (book bound, rounding, signing) and return
        a coroutine function that only sends. Executors prepare both legs, then send both together, so the legs
        reach their venues at nearly the same moment. Default: nothing is prepared (for venues whose signing is
        fast); a venue with slow signing overrides it.

        Raises: what `place_market_order` raises before sending (e.g. StaleBookError)."""

        async def send() -> OrderInfo:
            return await self.place_market_order(
                symbol,
                side,
                quantity,
                max_slippage_bps=max_slippage_bps,
                reduce_only=reduce_only,
                client_order_id=client_order_id,
            )

        return send

    @abstractmethod
    async def cancel_order(
        self, symbol: str, *, order_id: str | None = None, client_order_id: str | None = None
    ) -> None:
        """Cancel one order by venue id or client id."""

    @abstractmethod
    async def cancel_all_orders(self, symbol: str | None = None) -> None: ...

    @abstractmethod
    async def get_order_info(
        self, symbol: str, *, order_id: str | None = None, client_order_id: str | None = None
    ) -> OrderInfo | None: ...

    @abstractmethod
    async def get_active_orders(self, symbol: str | None = None) -> list[OrderInfo]: ...

    @abstractmethod
    async def get_position_snapshot(self, symbol: str) -> PositionSnapshot | None: ...

    @abstractmethod
    async def get_positions(self) -> list[PositionSnapshot]: ...

    @abstractmethod
    async def get_account_balance(self) -> BalanceInfo: ...

    @abstractmethod
    async def get_fills(self, since: datetime, symbol: str | None = None) -> list[Fill]: ...

    @abstractmethod
    async def get_funding_payments(
        self, since: datetime, symbol: str | None = None
    ) -> list[FundingPaymentInfo]: ...

    @abstractmethod
    async def get_leverage_info(self, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        """(current leverage, maximum leverage) of `symbol`."""

    @abstractmethod
    async def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        """Raises VenueRejectedError above the market's maximum."""

    @abstractmethod
    def events(self) -> AsyncIterator[ClientEvent]:
        """Order, fill, position and liquidation events from the account streams."""
