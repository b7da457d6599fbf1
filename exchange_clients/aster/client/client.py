"""`AsterClient`: the Aster `BaseExchangeClient`, a thin core delegating to its managers.

    market data (markets, diff-depth books over the WS stream)        managers/market_data.py
    orders (place / cancel / read; market orders bounded; client ids) managers/order_manager.py
    positions (positionRisk)                                          managers/position_manager.py
    balance, fills, funding payments, leverage                        managers/account_manager.py
    user-data stream -> events(), account_state                       client/websocket_handlers.py

One client serves many markets; symbols are canonical base assets ("BTC") or Aster symbols ("BTCUSDT"). Requests
are signed with the account's scheme (`credentials.scheme`: V3 API wallet, EIP-712, under /fapi/v3; V1 API key,
HMAC, under /fapi/v1 and /fapi/v2; `client/utils/signing.py`). `connect()` loads the markets, starts the book
stream and (unless `account_stream=False`) the user-data stream (a listenKey request, which also proves the
credentials: a bad signature fails there with `AsterAuthError` -1022).

Account state (issue #16): with the user-data stream, `account_state` (balance, positions, open orders) is seeded by
one REST reading (balance, positionRisk, openOrders) when the stream connects (and again after every reconnect),
then kept from `ORDER_TRADE_UPDATE` / `ACCOUNT_UPDATE`, the balance re-read in the background after each
ACCOUNT_UPDATE (`websocket_handlers` module docstring); `cached_balance()` serves it while synced and fresh.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from exchange_clients.aster.client.managers.account_manager import AccountManager
from exchange_clients.aster.client.managers.market_data import MarketDataManager
from exchange_clients.aster.client.managers.order_manager import OrderManager
from exchange_clients.aster.client.managers.position_manager import PositionManager
from exchange_clients.aster.client.utils.signing import HmacSigner, NonceClock, Signer, WalletSigner
from exchange_clients.aster.client.websocket_handlers import AccountEventDecoder, AccountStream
from exchange_clients.aster.common import AsterError
from exchange_clients.aster.config import AsterConfig
from exchange_clients.aster.credentials import AsterCredentials
from exchange_clients.aster.http import AsterHttp
from exchange_clients.base.account_state import AccountState, AccountStateKeeper, Reading
from exchange_clients.base.managed import ManagedExchangeClient
from exchange_clients.base.scope import VenueScope, venue_scope
from exchange_clients.base.trading import (
    ClientEvent,
    Fill,
)

log = logging.getLogger("perparb.aster.client")
_NONCES: dict[str, NonceClock] = {}


def signer_for(credentials: AsterCredentials, config: AsterConfig) -> Signer:
    """The signer of the credentials' scheme (one nonce clock per API wallet in the process: the venue keeps
    nonces per signer)."""
    if credentials.signer_private_key is not None:
        assert credentials.user_address is not None and credentials.signer_address is not None
        nonces = _NONCES.setdefault(credentials.signer_address, NonceClock())
        return WalletSigner(
            credentials.user_address,
            credentials.signer_address,
            credentials.signer_private_key.get_secret_value(),
            nonces,
        )
    assert credentials.api_key is not None and credentials.api_secret is not None
    return HmacSigner(
        credentials.api_key.get_secret_value(),
        credentials.api_secret.get_secret_value(),
        recv_window_ms=config.recv_window_ms,
    )


class AsterClient(ManagedExchangeClient[OrderManager, AccountManager, PositionManager]):
    """Trading client of one Aster account.

    Args:
        credentials: V3 API wallet or V1 API key (secrets never logged).
        config: `rest_url`, `websocket_url`, HTTP timeouts and retries, the weight budget (shared by every Aster
            client and funding adapter of this URL in the process).
        scope: the venue scope (default `venue_scope(config)`).
        markets: symbols whose books are subscribed at connect (others on first use).
        max_book_age_seconds: prices older than this are refused (StaleBookError).
        account_stream: open the user-data stream for `events()` at connect (and keep the account state from it).
        account_state_max_age_seconds: the account state (`account_state`; `cached_balance`) is served only when
            the stream was heard from within this time (pings go every third of it).
        ws_options: `ReconnectingWebSocket` options of both streams (backoff, ...).

    The trading calls are `ManagedExchangeClient`'s delegations to the managers (built here, usable once
    connected); limit orders are GTC, or GTX with `post_only`; `set_leverage` is `POST leverage`.
    """

    market_data: MarketDataManager

    def __init__(
        self,
        credentials: AsterCredentials,
        config: AsterConfig,
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
        self.ws_base = config.websocket_url
        self.http = AsterHttp(config, scope or venue_scope(config), signer_for(credentials, config))
        self.market_data = MarketDataManager(
            self.http, self.ws_base, markets, max_book_age_seconds=max_book_age_seconds, **ws_options
        )
        self.orders = OrderManager(self.http, self.market_data, max_book_age_seconds=max_book_age_seconds)
        self.positions = PositionManager(self.http, self.market_data)
        self.account = AccountManager(self.http, self.market_data, self.positions, self.orders)
        self.use_account_stream = account_stream
        self._ws_options = ws_options
        self.account_stream: AccountStream | None = None
        self._connected = False

    async def connect(self) -> None:
        """Load markets, start the book stream and the user-data stream.

        Raises:
            AsterUnavailableError: Aster cannot be reached (nothing is left running); AsterAuthError: the
            credentials are refused (listenKey); AsterError subclasses from the market list.
        """
        if self._connected:
            return
        try:
            await self.market_data.load_markets()
            await self.market_data.start()
            if self.use_account_stream:
                decoder = AccountEventDecoder(
                    self.venue, self.market_data.markets.symbol_of, self.orders.client_id_of
                )
                self.account_state = AccountState(self.venue, max_age_seconds=self.account_state_max_age)
                keeper = AccountStateKeeper(
                    self.account_state,
                    self._account_reading,
                    balance_read=self.account.balance,
                    name=f"{self.venue} user data",
                )
                stream = AccountStream(
                    self.http, self.ws_base, decoder, self._backfill, keeper=keeper, **self._ws_options
                )
                await stream.start()
                self.account_stream = stream
                if not await stream.wait_subscribed(self.config.http.timeout_seconds):
                    log.warning(
                        "%s: user-data stream not connected yet; events() will start when it is", self.venue
                    )
                if not await keeper.wait_seeded(self.config.http.timeout_seconds):
                    log.warning(
                        "%s: account state not seeded yet; balances come from REST until it is", self.venue
                    )
        except BaseException:
            await self.disconnect()
            raise
        self._connected = True

    async def _account_reading(self) -> Reading:
        """The REST reading that seeds the account state: balance, positions, open orders (concurrently)."""
        balance, positions, orders = await asyncio.gather(
            self.account.balance(), self.positions.positions(), self.orders.active_orders(None)
        )
        return balance, positions, orders

    async def _backfill(self, since: datetime | None) -> list[Fill]:
        start = since - timedelta(seconds=1) if since else datetime.now(timezone.utc) - timedelta(minutes=10)
        return await self.account.fills(start)

    async def disconnect(self) -> None:
        """Stop the streams, give the HTTP session back. Idempotent."""
        stream, self.account_stream = self.account_stream, None
        if self.account_state is not None:
            self.account_state.desync("client disconnected")
        if stream is not None:
            await stream.stop()
        await self.market_data.stop()
        self._connected = False
        await self.http.close()

    def _not_connected_error(self) -> AsterError:
        return AsterError("client is not connected: call connect() first")

    def _need(self) -> tuple[OrderManager, AccountManager, PositionManager]:
        """The managers (built with the client) once connected. Raises AsterError before `connect()`."""
        if not self._connected:
            raise self._not_connected_error()
        return self.orders, self.account, self.positions

    async def fetch_bbo_prices(self, symbol: str) -> tuple[Decimal, Decimal]:
        bid, ask = await self.market_data.bbo(symbol)
        return bid[0], ask[0]

    def events(self) -> AsyncIterator[ClientEvent]:
        """Order, fill, position and liquidation events of the account (`websocket_handlers`).

        Raises:
            AsterError: not connected, or built with `account_stream=False`."""
        if self.account_stream is None:
            raise AsterError("events() needs a connected client built with account_stream=True")
        return self.account_stream.events()
