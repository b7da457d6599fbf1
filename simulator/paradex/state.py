"""The state the concerns of the Paradex venue share (`ParadexState`), its accounts, and what the venue echoes
beyond the engine (`OrderMeta`, `PositionMeta`, `Pending`).

`simulator.paradex.trading.ParadexTrading` is assembled from one mixin per concern, each a subclass of
`ParadexState`: `orders.OrdersMixin` (order entry, cancels, order bodies), `account.AccountMixin` (positions,
margin, account, balance, fills, funding payments), `books.BooksMixin` (the engine's books in the market-data
bodies), `feeds.FeedsMixin` (the private WebSocket channels), `admin.AdminMixin` (the trading admin API);
`trading.py` holds the engine set-up. The methods one concern calls on another are declared here for the type
checker only.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web

from simulator.engine import Account, Engine, Fill, FundingPayment, Order, Position
from simulator.paradex.auth import ParadexAuth
from simulator.paradex.config import ParadexTradingConfig
from simulator.paradex.errors import ParadexApiError
from simulator.scenario import Scenario, SimClock

if TYPE_CHECKING:
    from simulator.paradex.books import BookFeeds

log = logging.getLogger("perparb.simulator")


class FrameSink(Protocol):
    """Something that takes WebSocket frames to send (a `/v1` session)."""

    def push_nowait(self, frame: dict[str, Any]) -> None: ...


@dataclass
class OrderMeta:
    """What the venue echoes but the engine does not keep."""

    address: int
    instruction: str
    signature_timestamp: int
    announced: bool = False


@dataclass
class PositionMeta:
    """Per (account, market): open time, last fill, realised amounts of the current position."""

    side: str = "LONG"
    created_at: int = 0
    closed_at: int | None = None
    last_fill_id: int = 0
    last_updated_at: int = 0
    pnl: Decimal = Decimal(0)
    funding: Decimal = Decimal(0)


@dataclass
class Pending:
    """Engine changes not pushed yet (coalesced until the next event-loop turn)."""

    orders: dict[int, Order] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)
    payments: list[FundingPayment] = field(default_factory=list)
    positions: dict[tuple[int, str], None] = field(default_factory=dict)
    accounts: dict[int, None] = field(default_factory=dict)


class ParadexState:
    """Attributes the concerns of `ParadexTrading` share (set by `ParadexTrading.__init__`) and the accounts.

    Attributes:
        scenario / config / clock / auth: as given to `ParadexTrading`; engine: its engine (`PARADEX_RULES`).
        accounts / addresses: Paradex address -> engine account id and back; books: the order-book channels.
        _orders / _client_orders / _fill_remaining / _positions: what the venue echoes beyond the engine.
        _funding_overrides / _funding_from_settings: markets whose rate the admin API / `scenario.json` set.
        _subscribers / _pending / _flush_scheduled: the private WebSocket fan-out; _seq: the last `seq_no`.
    """

    scenario: Scenario
    config: ParadexTradingConfig
    clock: SimClock
    auth: ParadexAuth
    engine: Engine
    accounts: dict[int, int]
    addresses: dict[int, int]
    books: BookFeeds
    _orders: dict[int, OrderMeta]
    _client_orders: dict[tuple[int, str], int]
    _fill_remaining: dict[int, Decimal]
    _positions: dict[tuple[int, str], PositionMeta]
    _funding_overrides: dict[str, Decimal]
    _funding_from_settings: set[str]
    _subscribers: dict[int, dict[FrameSink, set[str]]]
    _pending: Pending
    _flush_scheduled: bool
    _seq: int

    def next_seq(self) -> int:
        """Process-wide increasing `seq_no` (epoch ns, or the previous + 1)."""
        self._seq = max(self._seq + 1, time.time_ns())
        return self._seq

    def ensure_account(self, address: int) -> Account:
        """The engine account of a Paradex address, created with 0 USDC on first use."""
        account_id = self.accounts.get(address)
        if account_id is None:
            account = self.engine.create_account()
            self.accounts[address] = account.account_id
            self.addresses[account.account_id] = address
            log.info("paradex account %s -> engine account %d", hex(address), account.account_id)
            return account
        return self.engine.account(account_id)

    def account_for_request(self, request: web.Request) -> Account:
        """The account of the request's `Authorization: Bearer <JWT>`.

        Raises:
            ParadexApiError: 401 UNAUTHORIZED_ERROR when the header is missing or the JWT was not issued here,
                is malformed or expired.
        """
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ParadexApiError(
                401, "UNAUTHORIZED_ERROR", "missing bearer token (Authorization: Bearer <JWT>)"
            )
        address = self.auth.account_for_token(token.strip())
        if address is None:
            raise ParadexApiError(401, "UNAUTHORIZED_ERROR", "invalid or expired bearer token")
        return self.ensure_account(address)

    def address_of(self, account: Account) -> str:
        """`0x...` address of an engine account (user accounts only)."""
        return hex(self.addresses[account.account_id])

    def fund(self, address: int, amount: Decimal) -> Account:
        """Create the account if needed and deposit `amount` USDC (0 = create only)."""
        account = self.ensure_account(address)
        if amount > 0:
            self.engine.deposit(account.account_id, amount)
            self._touch_account(account.account_id)
        return account

    if TYPE_CHECKING:  # provided by ParadexTrading's mixins

        def order_json(self, order: Order, *, new: bool = False) -> dict[str, Any]: ...

        def position_json(self, account: Account, pos: Position, meta: PositionMeta) -> dict[str, Any]: ...

        def _position_rows(self, account: Account) -> list[dict[str, Any]]: ...

        def account_summary(self, account: Account) -> dict[str, Any]: ...

        def fill_json(self, fill: Fill) -> dict[str, Any]: ...

        def payment_json(self, payment: FundingPayment) -> dict[str, Any]: ...

        def _touch_account(self, account_id: int) -> None: ...

        def _schedule_flush(self) -> None: ...

        def is_traded(self, market: str) -> bool: ...

        def bbo_body(self, market: str) -> dict[str, Any] | None: ...
