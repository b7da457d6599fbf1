"""`ParadexClient`: the Paradex `BaseExchangeClient`, a thin core delegating to its managers.

    session (paradex-py, JWT, typed errors, worker threads)   client/session.py
    market data (markets, order books over the WS stream)     managers/market_data.py
    orders (place / cancel / read; market orders bounded)     managers/order_manager.py
    positions and leverage                                   managers/position_manager.py
    balance, fills, funding payments                         managers/account_manager.py
    account stream -> events(), account_state                client/websocket_handlers.py

One client serves many markets; symbols are canonical base assets ("ETH") or Paradex symbols ("ETH-USD-PERP").
The WebSocket URL is `config.websocket_url` (set, or derived from `config.rest_url`). Nothing here calls the SDK's own
WebSocket client.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

from exchange_clients.base.account_state import AccountState
from exchange_clients.base.managed import ManagedExchangeClient
from exchange_clients.base.scope import VenueScope
from exchange_clients.base.trading import (
    BalanceInfo,
    ClientEvent,
    OrderInfo,
    PositionSnapshot,
)
from exchange_clients.paradex.client.managers.account_manager import AccountManager
from exchange_clients.paradex.client.managers.market_data import MarketDataManager
from exchange_clients.paradex.client.managers.order_manager import OrderManager
from exchange_clients.paradex.client.managers.position_manager import PositionManager
from exchange_clients.paradex.client.session import ParadexSession
from exchange_clients.paradex.client.websocket_handlers import AccountStream
from exchange_clients.paradex.common import VENUE
from exchange_clients.paradex.credentials import ParadexCredentials
from perparb_core.settings import VenueConfig


class ParadexClient(ManagedExchangeClient[OrderManager, AccountManager, PositionManager]):
    """Paradex trading client for one account.

    Args:
        credentials: L1-key account or subkey.
        config: `rest_url` (REST base ending in /v1), `websocket_url`, HTTP timeout/retries, REST budget.
        scope: the venue scope (default `venue_scope(config)`).
        markets: symbols whose order books are streamed from `connect()` (others are added on first use).
        max_book_age_seconds: a book older than this is stale (fetch_bbo / depth / market orders refuse it).
        account_stream: open the private channels for `events()` at connect.
        ws_url: override of the derived WebSocket URL.
        backoff_initial_seconds: first WebSocket reconnect delay.
        account_state_max_age_seconds: the account state kept from the private channels (`account_state`: balance,
            positions, open orders; `cached_balance`) is served only when heard from within this time.

    The trading calls are `ManagedExchangeClient`'s delegations to the managers (built here). Limit orders are
    POST_ONLY (`post_only`) or GTC and come back as the venue holds them after placement (a post-only order that
    would cross comes back REJECTED with reject_reason POST_ONLY_WOULD_CROSS); market orders are sent as a
    LIMIT IOC at `market_order_limit_price` (the venue reports them as LIMIT / IOC); `prepare_market_order` signs
    now (paradex-py's Stark signing is the slow part) and sends later.
    """

    venue = VENUE
    market_data: MarketDataManager

    def __init__(
        self,
        credentials: ParadexCredentials,
        config: VenueConfig,
        scope: VenueScope | None = None,
        *,
        markets: list[str] | None = None,
        max_book_age_seconds: float = 30.0,
        account_stream: bool = True,
        ws_url: str | None = None,
        backoff_initial_seconds: float = 0.5,
        account_state_max_age_seconds: float = 10.0,
    ) -> None:
        self.config = config
        self.ws_url = ws_url or config.websocket_url
        self.session = ParadexSession(credentials, config, scope)
        self.market_data = MarketDataManager(
            self.session,
            self.ws_url,
            markets=markets,
            max_book_age_seconds=max_book_age_seconds,
            backoff_initial_seconds=backoff_initial_seconds,
        )
        self.orders = OrderManager(self.session, self.market_data)
        self.positions = PositionManager(self.session, self.market_data)
        self.account = AccountManager(self.session, self.market_data, self.positions)
        self.account_state: AccountState | None = (
            AccountState(VENUE, max_age_seconds=account_state_max_age_seconds) if account_stream else None
        )
        self.account_stream = (
            AccountStream(
                self.session,
                self.ws_url,
                backoff_initial_seconds=backoff_initial_seconds,
                state=self.account_state,
                reseed=self._account_reading,
            )
            if account_stream
            else None
        )
        self._connected = False

    # ------------------------------------------------------------------------------------------ lifecycle

    async def connect(self) -> None:
        """Authenticate (onboarding an L1-key account if needed), load markets, start the streams.

        Raises:
            ParadexUnavailableError: venue unreachable / 5xx. ParadexAuthError: credentials refused.
            ParadexRejectedError: an unknown market in `markets`.
        """
        if self._connected:
            return
        await self.session.open()
        try:
            await self.market_data.start()
            if self.account_stream is not None:
                await self.account_stream.start()
        except BaseException:
            await self.disconnect()
            raise
        self._connected = True

    async def _account_reading(self) -> tuple[BalanceInfo, list[PositionSnapshot], list[OrderInfo]]:
        """The REST reading that seeds the account state: balance, positions, open orders (read concurrently)."""
        balance, positions, orders = await asyncio.gather(
            self.account.balance(), self.positions.positions(), self.orders.active_orders(None)
        )
        return balance, positions, orders

    async def disconnect(self) -> None:
        """Stop the streams and close the HTTP client. Idempotent."""
        self._connected = False
        if self.account_state is not None:
            self.account_state.desync("client disconnected")
        if self.account_stream is not None:
            await self.account_stream.stop()
        await self.market_data.stop()
        await self.session.close()

    def _need(self) -> tuple[OrderManager, AccountManager, PositionManager]:
        """The managers, built with the client (calls before `connect()` fail in the session, as before)."""
        return self.orders, self.account, self.positions

    async def fetch_bbo_prices(self, symbol: str) -> tuple[Decimal, Decimal]:
        return await self.market_data.bbo(symbol)

    def events(self) -> AsyncIterator[ClientEvent]:
        """Order, fill, position and liquidation events from the account stream.

        Raises:
            RuntimeError: the client was built with `account_stream=False`.
        """
        if self.account_stream is None:
            raise RuntimeError("paradex: events() needs account_stream=True")
        return self.account_stream.events()
