"""`HyperliquidClient`: the Hyperliquid `BaseExchangeClient`, a thin core delegating to its managers.

    market data (markets of the dex, l2Book books over the WS stream)   managers/market_data.py
    orders (place / cancel / read; market orders bounded; cloids)     managers/order_manager.py
    positions (clearinghouseState)                                    managers/position_manager.py
    balance, fills, funding payments, leverage                        managers/account_manager.py
    account stream -> events(), account_state                         client/websocket_handlers.py

One client serves many markets of ONE perp dex ("hyperliquid" = the first perp dex; "hyperliquid:xyz" a HIP-3
dex); symbols are canonical base assets ("BTC", "XYZ100") or coins ("xyz:XYZ100"). Account data is read with the
account's address; actions are signed by the agent key (`credentials.agent_private_key`, an API wallet approved
for the account, or the account's own key). `connect()` loads the markets, starts the book stream and (unless
`account_stream=False`) the account stream; it does not check the agent's approval (that is
`perparb accounts verify-account`, `auth.py`): an unapproved agent's first action fails with
`HyperliquidAuthError` ("User or API Wallet 0x... does not exist.").

Account state (issue #16): with the account stream, `account_state` (balance, positions, open orders of the dex)
is kept from `clearinghouseState` + `orderUpdates` pushes (`websocket_handlers` module docstring), seeded by one
REST reading (clearinghouseState + frontendOpenOrders) once the channels of a connection are subscribed (at
connect, and again after every reconnect); `cached_balance()` serves it while it is synced and fresh.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

from exchange_clients.base.account_state import AccountState, AccountStateKeeper, Reading
from exchange_clients.base.managed import ManagedExchangeClient
from exchange_clients.base.scope import VenueScope, venue_scope
from exchange_clients.base.trading import (
    BalanceInfo,
    ClientEvent,
    PositionSnapshot,
)
from exchange_clients.hyperliquid.client.managers.account_manager import AccountManager
from exchange_clients.hyperliquid.client.managers.market_data import MarketDataManager
from exchange_clients.hyperliquid.client.managers.order_manager import OrderManager
from exchange_clients.hyperliquid.client.managers.position_manager import PositionManager
from exchange_clients.hyperliquid.client.utils.converters import parse_balance
from exchange_clients.hyperliquid.client.utils.signing import ActionSigner, ClientOrderIds, NonceClock
from exchange_clients.hyperliquid.client.websocket_handlers import AccountEventDecoder, AccountStream
from exchange_clients.hyperliquid.common import HyperliquidDataError, HyperliquidError
from exchange_clients.hyperliquid.config import HyperliquidConfig
from exchange_clients.hyperliquid.credentials import HyperliquidCredentials
from exchange_clients.hyperliquid.http import HyperliquidHttp

log = logging.getLogger("perparb.hyperliquid.client")


class HyperliquidClient(ManagedExchangeClient[OrderManager, AccountManager, PositionManager]):
    """Trading client of one Hyperliquid account on one perp dex.

    Args:
        credentials: the account's address and the agent key (secret; never logged).
        config: `rest_url`, `websocket_url`, `dex`, HTTP timeouts and retries, the weight budget (shared by every
            Hyperliquid client and funding adapter of this URL in the process, every dex included).
        scope: the venue scope (default `venue_scope(config)`).
        markets: symbols whose books are subscribed at connect (others on first use).
        max_book_age_seconds: prices older than this are refused (StaleBookError); `l2Book` pushes come when the
            book changes (a quiet market may push rarely: raise it for illiquid markets).
        account_stream: open `orderUpdates` / `userFills` / `userFundings` for `events()` at connect, and
            `clearinghouseState` for the account state.
        account_state_max_age_seconds: the account state kept from the stream (`account_state`; `cached_balance`)
            is served only when heard from within this time (pings go every third of it).
        ws_options: `ReconnectingWebSocket` options of both streams (backoff, ...).

    The trading calls are `ManagedExchangeClient`'s delegations to the managers (built by `connect()`);
    limit orders are GTC, or ALO with `post_only`; `set_leverage` is `updateLeverage`, cross margin;
    `prepare_market_order` signs in a worker thread.
    """

    market_data: MarketDataManager

    def __init__(
        self,
        credentials: HyperliquidCredentials,
        config: HyperliquidConfig,
        *,
        scope: VenueScope | None = None,
        markets: list[str] | None = None,
        max_book_age_seconds: float = 10.0,
        account_stream: bool = True,
        account_state_max_age_seconds: float = 10.0,
        **ws_options: Any,
    ) -> None:
        self.venue = config.venue
        self.account_state_max_age = account_state_max_age_seconds
        self.account_state: AccountState | None = None
        self.credentials = credentials
        self.config = config
        self.dex = credentials.dex
        self.user = credentials.account_address
        self.ws_url = config.websocket_url
        self.http = HyperliquidHttp(config, scope or venue_scope(config))
        self.market_data = MarketDataManager(
            self.http, self.dex, self.ws_url, markets, max_book_age_seconds=max_book_age_seconds, **ws_options
        )
        self.ids = ClientOrderIds()
        self.nonces = NonceClock()
        self.max_book_age = max_book_age_seconds
        self.use_account_stream = account_stream
        self._ws_options = ws_options
        self.signer: ActionSigner | None = None
        self.account_stream: AccountStream | None = None

    async def connect(self) -> None:
        """Load markets, start the book stream and the account stream.

        Raises:
            HyperliquidUnavailableError: Hyperliquid cannot be reached (nothing is left running);
            HyperliquidError subclasses from the market list.
        """
        if self.signer is not None:
            return
        signer = ActionSigner(
            self.credentials.agent_private_key.get_secret_value(), is_mainnet=self.config.is_mainnet
        )
        try:
            await self.market_data.load_markets()
            await self.market_data.start()
        except BaseException:
            await self.market_data.stop()
            raise
        self.signer = signer
        self._orders = OrderManager(
            self.http,
            self.market_data,
            signer,
            self.nonces,
            self.ids,
            self.user,
            max_book_age_seconds=self.max_book_age,
        )
        self._positions = PositionManager(self.http, self.market_data, self.user)
        self._account = AccountManager(self.http, self.market_data, self._positions, self._orders, self.user)
        if self.use_account_stream:
            decoder = AccountEventDecoder(
                self.venue, self.dex, self.user, self.market_data.markets.symbol_of, self.ids.client_order_id
            )
            self.account_state = AccountState(self.venue, max_age_seconds=self.account_state_max_age)
            keeper = AccountStateKeeper(
                self.account_state, self._account_reading, name=f"{self.venue} account"
            )
            self.account_stream = AccountStream(
                self.ws_url, decoder, keeper=keeper, state_of=self._state_of, **self._ws_options
            )
            await self.account_stream.start()
            if not await self.account_stream.wait_subscribed(self.config.http.timeout_seconds):
                log.warning(
                    "%s: account stream not subscribed yet; events() will start when it is", self.venue
                )
            if not await keeper.wait_seeded(self.config.http.timeout_seconds):
                log.warning(
                    "%s: account state not seeded yet; balances are read from REST until it is", self.venue
                )

    async def _account_reading(self) -> Reading:
        """The REST reading that seeds the account state: one clearinghouseState (balance and positions) and the
        open orders, read concurrently."""
        orders, _account, positions = self._need()
        body, active = await asyncio.gather(positions.clearinghouse_state(), orders.active_orders(None))
        balance, snaps = self._state_of(body)
        return balance, snaps, active

    def _state_of(self, body: Any) -> tuple[BalanceInfo, list[PositionSnapshot]]:
        """(balance, open positions of the dex) of a `clearinghouseState` body (REST answer or push).

        Raises:
            HyperliquidDataError: unreadable."""
        positions = self._need()[2]
        try:
            balance = parse_balance(body, venue=self.venue)
        except ValueError as exc:
            raise HyperliquidDataError(f"clearinghouseState: {exc}", venue=self.venue) from None
        return balance, positions.parse_positions(body)

    async def disconnect(self) -> None:
        """Stop the streams, give the HTTP session back. Idempotent."""
        stream, self.account_stream = self.account_stream, None
        if self.account_state is not None:
            self.account_state.desync("client disconnected")
        if stream is not None:
            await stream.stop()
        await self.market_data.stop()
        self.signer = None
        self._orders = self._positions = self._account = None
        await self.http.close()

    def _not_connected_error(self) -> HyperliquidError:
        return HyperliquidError("client is not connected: call connect() first", venue=self.venue)

    async def fetch_bbo_prices(self, symbol: str) -> tuple[Decimal, Decimal]:
        bid, ask = await self.market_data.bbo(symbol)
        return bid[0], ask[0]

    def events(self) -> AsyncIterator[ClientEvent]:
        """Order, fill and liquidation events of the account on this dex (`websocket_handlers`).

        Raises:
            HyperliquidError: not connected, or built with `account_stream=False`."""
        if self.account_stream is None:
            raise HyperliquidError(
                "events() needs a connected client built with account_stream=True", venue=self.venue
            )
        return self.account_stream.events()
