"""`BackpackClient`: the Backpack `BaseExchangeClient`, a thin core delegating to its managers.

    market data (perps, depth books over the WS stream + REST snapshots)   managers/market_data.py
    orders (place / cancel / read; market orders bounded; clientIds)       managers/order_manager.py
    positions (GET /api/v1/position)                                       managers/position_manager.py
    balance, fills, funding payments, leverage (per account)               managers/account_manager.py
    account stream -> events(), account_state                              client/websocket_handlers.py

One client serves many markets at once; symbols are canonical base assets ("SOL") or venue symbols
("SOL_USDC_PERP"). Every signed request is built and signed by bpx-py (`utils/signing.py`) and sent by the venue's
one HTTP stack (`exchange_clients.backpack.http`, why: its module docstring). `connect()` loads the markets and
starts the book stream and (unless `account_stream=False`) the account stream; it does not check the key (that is
`perparb accounts verify-account`, `auth.py`): an unknown key's first request fails with `BackpackAuthError`.

Account state (issue #16): with the account stream, `account_state` (balance, positions, open orders) is seeded by
one REST reading (collateral, positions, open orders) at each (re)subscription and kept from `orderUpdate` /
`positionUpdate`; Backpack streams no balance, so it is re-read in the background after fills and position
changes (`websocket_handlers` module docstring). `cached_balance()` serves it while synced and fresh.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

from exchange_clients.backpack.client.managers.account_manager import AccountManager
from exchange_clients.backpack.client.managers.market_data import MarketDataManager
from exchange_clients.backpack.client.managers.order_manager import OrderManager
from exchange_clients.backpack.client.managers.position_manager import PositionManager
from exchange_clients.backpack.client.utils.signing import BackpackSigner, ClientIds
from exchange_clients.backpack.client.websocket_handlers import AccountEventDecoder, AccountStream
from exchange_clients.backpack.common import VENUE, BackpackError
from exchange_clients.backpack.config import BackpackConfig
from exchange_clients.backpack.credentials import BackpackCredentials
from exchange_clients.backpack.http import BackpackHttp
from exchange_clients.base.account_state import AccountState, AccountStateKeeper, Reading
from exchange_clients.base.managed import ManagedExchangeClient
from exchange_clients.base.scope import VenueScope, venue_scope
from exchange_clients.base.trading import (
    ClientEvent,
    OrderInfo,
    Side,
)

log = logging.getLogger("perparb.backpack.client")


class BackpackClient(ManagedExchangeClient[OrderManager, AccountManager, PositionManager]):
    """Trading client of one Backpack account.

    Args:
        credentials: the API key pair (the secret is never logged).
        config: `rest_url`, `websocket_url`, `window_ms`, HTTP timeouts and retries, the rate budget (shared by
            every Backpack client and the funding adapter of this URL in the process).
        scope: the venue scope (default `venue_scope(config)`).
        markets: symbols whose books are subscribed at connect (others on first use).
        max_book_age_seconds: prices older than this are refused (StaleBookError); depth deltas come when the book
            changes (raise it for illiquid markets).
        account_stream: open the private streams for `events()` at connect (and keep the account state from them).
        account_state_max_age_seconds: the account state (`account_state`; `cached_balance`) is served only when
            the stream was heard from within this time (pings go every third of it).
        ws_options: `ReconnectingWebSocket` options of both streams (backoff, ...).

    The trading calls are `ManagedExchangeClient`'s delegations to the managers (built by `connect()`);
    limit orders are GTC, or post-only with `post_only`; `set_leverage` sets the ACCOUNT's leverage limit
    (Backpack has no per-market leverage).
    """

    market_data: MarketDataManager

    def __init__(
        self,
        credentials: BackpackCredentials,
        config: BackpackConfig,
        *,
        scope: VenueScope | None = None,
        markets: list[str] | None = None,
        max_book_age_seconds: float = 10.0,
        account_stream: bool = True,
        account_state_max_age_seconds: float = 10.0,
        **ws_options: Any,
    ) -> None:
        self.venue = VENUE
        self.account_state_max_age = account_state_max_age_seconds
        self.account_state: AccountState | None = None
        self.credentials = credentials
        self.config = config
        self.ws_url = config.websocket_url
        self.http = BackpackHttp(config, scope or venue_scope(config))
        self.market_data = MarketDataManager(
            self.http, self.ws_url, markets, max_book_age_seconds=max_book_age_seconds, **ws_options
        )
        self.ids = ClientIds()
        self.max_book_age = max_book_age_seconds
        self.use_account_stream = account_stream
        self._ws_options = ws_options
        self.signer: BackpackSigner | None = None
        self.account_stream: AccountStream | None = None

    async def connect(self) -> None:
        """Load markets, start the book stream and the account stream.

        Raises:
            BackpackUnavailableError: Backpack cannot be reached (nothing is left running);
            BackpackError subclasses from the market list.
        """
        if self.signer is not None:
            return
        signer = BackpackSigner(
            self.credentials.api_key,
            self.credentials.api_secret.get_secret_value(),
            self.config.rest_url,
            self.config.window_ms,
        )
        try:
            await self.market_data.load_markets()
            await self.market_data.start()
        except BaseException:
            await self.market_data.stop()
            raise
        self.signer = signer
        self._orders = OrderManager(
            self.http, self.market_data, signer, self.ids, max_book_age_seconds=self.max_book_age
        )
        self._account = AccountManager(self.http, self.market_data, signer, self.ids)
        self._positions = PositionManager(self.http, self.market_data, signer, self._account.account_leverage)
        if self.use_account_stream:
            decoder = AccountEventDecoder(self.market_data.markets.symbol_of, self.ids.perparb)
            self.account_state = AccountState(self.venue, max_age_seconds=self.account_state_max_age)
            keeper = AccountStateKeeper(
                self.account_state,
                self._account_reading,
                balance_read=self._account.balance,
                name=f"{self.venue} account",
            )
            self.account_stream = AccountStream(
                self.ws_url, signer, decoder, backfill=self._account.fills, keeper=keeper, **self._ws_options
            )
            await self.account_stream.start()
            if not await self.account_stream.wait_subscribed(self.config.http.timeout_seconds):
                log.warning(
                    "%s: account stream not subscribed yet; events() will start when it is", self.venue
                )
            if not await keeper.wait_seeded(self.config.http.timeout_seconds):
                log.warning(
                    "%s: account state not seeded yet; balances come from REST until it is", self.venue
                )

    async def _account_reading(self) -> Reading:
        """The REST reading that seeds the account state: collateral, positions, open orders (concurrently)."""
        orders, account, positions = self._need()
        balance, snaps, active = await asyncio.gather(
            account.balance(), positions.positions(), orders.active_orders(None)
        )
        return balance, snaps, active

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

    def _not_connected_error(self) -> BackpackError:
        return BackpackError("client is not connected: call connect() first")

    async def fetch_bbo_prices(self, symbol: str) -> tuple[Decimal, Decimal]:
        bid, ask = await self.market_data.bbo(symbol)
        return bid[0], ask[0]

    async def place_ioc_order(
        self,
        symbol: str,
        side: Side,
        quantity: Decimal,
        price: Decimal,
        *,
        reduce_only: bool = False,
        client_order_id: str,
    ) -> OrderInfo:
        """IOC limit order at `price` (what is not filled at once expires)."""
        from exchange_clients.base.trading import TimeInForce

        return await self._need()[0].place_limit(
            symbol,
            side,
            quantity,
            price,
            post_only=False,
            reduce_only=reduce_only,
            client_order_id=client_order_id,
            time_in_force=TimeInForce.IOC,
        )

    def events(self) -> AsyncIterator[ClientEvent]:
        """Order, fill and position events of the account (`websocket_handlers`).

        Raises:
            BackpackError: not connected, or built with `account_stream=False`."""
        if self.account_stream is None:
            raise BackpackError("events() needs a connected client built with account_stream=True")
        return self.account_stream.events()
