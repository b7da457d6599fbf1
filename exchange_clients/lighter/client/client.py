"""`LighterClient`: the Lighter `BaseExchangeClient`, a thin core delegating to its managers.

* `MarketDataManager`: markets (orderBookDetails, cached, reloaded on an unknown symbol) and live books
  (WebSocket `/stream`: `config.websocket_url`);
* `OrderManager`: `SignerClient` transactions (create / cancel / cancel-all) and order reads;
* `AccountManager`: balance, fills, funding payments, leverage; `PositionManager`: positions.

`connect()` builds the SDK's `SignerClient` inside the running loop (its aiohttp session needs one), verifies the
API key with `check_client()` in a worker thread (blocking Go code doing HTTP), loads the markets and starts the
book stream. Private reads carry an auth token from `create_auth_token_with_expiry` (10 min, renewed 1 min before
its deadline). One client serves many markets; prices and sizes are `Decimal`.

`events()`: the `account_all/{a}` stream of `websocket_handlers.AccountStream` (own WebSocket, subscribed with the
auth token, resubscribed after every reconnect), started by `connect()` unless `account_stream=False`. The same
stream (plus `user_stats/{a}`) keeps `account_state` (balance, positions, open orders), seeded at connect by one
REST `account` read and re-seeded by the subscription snapshots after a reconnect; `cached_balance()` serves it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from decimal import Decimal

import lighter

from exchange_clients.base.account_state import AccountState
from exchange_clients.base.client import PreparedOrder
from exchange_clients.base.managed import ManagedExchangeClient
from exchange_clients.base.scope import VenueScope, venue_scope
from exchange_clients.base.trading import (
    ClientEvent,
    Side,
)
from exchange_clients.lighter.auth import describe_check_error
from exchange_clients.lighter.client.managers.account_manager import AccountManager
from exchange_clients.lighter.client.managers.market_data import MarketDataManager
from exchange_clients.lighter.client.managers.order_manager import OrderManager
from exchange_clients.lighter.client.managers.position_manager import PositionManager
from exchange_clients.lighter.client.utils.caching import AuthTokenCache, ClientOrderIds
from exchange_clients.lighter.client.websocket_handlers import AccountEventDecoder, AccountStream
from exchange_clients.lighter.common import VENUE, LighterAuthError, LighterError, LighterUnavailableError
from exchange_clients.lighter.config import LighterConfig
from exchange_clients.lighter.credentials import LighterCredentials
from exchange_clients.lighter.http import LighterRest

log = logging.getLogger("perparb.lighter.client")


class LighterClient(ManagedExchangeClient[OrderManager, AccountManager, PositionManager]):
    """Trading client of one Lighter account (API key slot `credentials.api_key_index`).

    Args:
        credentials: account index, API key slot, API private key (secret; never logged).
        config: `rest_url` (REST root), `websocket_url`, HTTP timeouts and retries, the REST budget (`rate_limit`,
            shared by every Lighter client and the funding adapter of this URL in the process through the venue
            scope: `exchange_clients.base.scope`; the first one sets it). Lighter limits per account / IP
            (standard accounts ~60 weighted requests a minute; set it from the account tier).
        scope: the venue scope (default `venue_scope(config)`).
        markets: symbols whose books are subscribed at connect (others on first use).
        max_book_age_seconds: prices older than this are refused (StaleBookError).
        verify_key: run `check_client()` at connect (default True).
        account_state_max_age_seconds: the account state kept from the streams (`account_state`: balance,
            positions, open orders; `cached_balance`) is served only when heard from within this time; the
            account stream pings every third of it.
        sign_hold_seconds: an order signed ahead (`prepare_market_order`) and not sent within this time gives its
            nonce back (`managers.signing.TxSigner`).
        account_stream: open the `account_all` channel for `events()` at connect (default True); `connect()` waits
            up to `config.http.timeout_seconds` for its first snapshot (logs a warning and goes on otherwise).

    The trading calls are `ManagedExchangeClient`'s delegations to the managers (built by `connect()`); limit
    orders are GTT (28 days) or post-only.
    """

    venue = VENUE
    market_data: MarketDataManager

    def __init__(
        self,
        credentials: LighterCredentials,
        config: LighterConfig,
        *,
        scope: VenueScope | None = None,
        markets: list[str] | None = None,
        max_book_age_seconds: float = 5.0,
        ack_timeout_seconds: float = 3.0,
        verify_key: bool = True,
        account_stream: bool = True,
        sign_hold_seconds: float = 2.0,
        account_state_max_age_seconds: float = 10.0,
    ) -> None:
        self.credentials = credentials
        self.config = config
        self.ws_url = config.websocket_url
        self.rest = LighterRest(config, scope or venue_scope(config))
        self.market_data = MarketDataManager(
            self.rest, self.ws_url, markets, max_book_age_seconds=max_book_age_seconds
        )
        self.ids = ClientOrderIds()
        self.max_book_age = max_book_age_seconds
        self.ack_timeout = ack_timeout_seconds
        self.verify_key = verify_key
        self.sign_hold_seconds = sign_hold_seconds
        self.account_state_max_age = account_state_max_age_seconds
        self.account_state: AccountState | None = None
        self.signer: lighter.SignerClient | None = None
        self.use_account_stream = account_stream
        self.account_stream: AccountStream | None = None

    # ------------------------------------------------------------------------------------------- lifecycle

    async def connect(self) -> None:
        """Build the signer, verify the key, load markets, start the book stream.

        Raises:
            LighterAuthError: the key is refused by the SDK or does not match the one registered on Lighter.
            LighterUnavailableError: Lighter cannot be reached (nothing is left running).
        """
        if self.signer is not None:
            return
        c = self.credentials
        secret = c.api_private_key.get_secret_value()
        try:
            signer = lighter.SignerClient(
                url=self.config.rest_url,
                account_index=c.account_index,
                api_private_keys={c.api_key_index: secret},
            )
        except Exception as exc:  # the SDK raises bare Exception(<Go error>) from CreateClient
            raise LighterAuthError(
                f"lighter-sdk refused API key {c.api_key_index}: {type(exc).__name__}"
            ) from None
        try:
            if self.verify_key:
                error = await asyncio.wait_for(
                    asyncio.to_thread(signer.check_client), timeout=self.config.http.timeout_seconds
                )
                if error is not None:
                    detail = describe_check_error(
                        str(error),
                        url=self.config.rest_url,
                        account_index=c.account_index,
                        api_key_index=c.api_key_index,
                    )
                    cls = LighterUnavailableError if "unavailable" in detail else LighterAuthError
                    raise cls(detail)
            await self.market_data.load_markets()
            await self.market_data.start()
        except asyncio.TimeoutError:
            await signer.close()
            raise LighterUnavailableError(
                f"no answer from {self.config.rest_url} within {self.config.http.timeout_seconds:g} s"
            ) from None
        except BaseException:
            await signer.close()
            await self.market_data.stop()
            raise
        self.signer = signer
        tokens = AuthTokenCache(
            lambda seconds: signer.create_auth_token_with_expiry(seconds, api_key_index=c.api_key_index)
        )
        self._orders = OrderManager(
            signer,
            api_key_index=c.api_key_index,
            account_index=c.account_index,
            rest=self.rest,
            market_data=self.market_data,
            tokens=tokens,
            ids=self.ids,
            ack_timeout_seconds=self.ack_timeout,
            max_book_age_seconds=self.max_book_age,
            sign_hold_seconds=self.sign_hold_seconds,
        )
        self._account = AccountManager(
            account_index=c.account_index,
            rest=self.rest,
            market_data=self.market_data,
            tokens=tokens,
            orders=self._orders,
        )
        self._positions = PositionManager(account=self._account, market_data=self.market_data)
        if self.use_account_stream:
            decoder = AccountEventDecoder(
                c.account_index, lambda m: self.market_data.markets.symbol_of(m), self.ids.id_for
            )
            self.account_state = AccountState(VENUE, max_age_seconds=self.account_state_max_age)
            self.account_stream = AccountStream(
                self.ws_url,
                decoder,
                tokens.get,
                state=self.account_state,
                app_ping_seconds=min(60.0, self.account_state_max_age / 3),
            )
            await self.account_stream.start()
            if not await self.account_stream.wait_subscribed(self.config.http.timeout_seconds):
                log.warning("lighter: account stream not subscribed yet; events() will start when it is")
            # the seed: one REST read of the account (balance and positions); the stream keeps it from here (a
            # stream not subscribed yet seeds the state with its snapshots instead)
            if self.account_stream.subscribed.is_set():
                row = await self._account.account()
                positions = await self._positions.positions(row)
                self.account_state.seed(self._account.balance_of(row), positions, None)

    async def disconnect(self) -> None:
        """Stop the streams, close the SDK sessions. Idempotent."""
        stream, self.account_stream = self.account_stream, None
        if self.account_state is not None:
            self.account_state.desync("client disconnected")
        if stream is not None:
            await stream.stop()
        await self.market_data.stop()
        signer, self.signer = self.signer, None
        self._orders = self._account = self._positions = None
        if signer is not None:
            await signer.close()
        await self.rest.close()

    def _not_connected_error(self) -> LighterError:
        return LighterError("client is not connected: call connect() first")

    def new_client_order_id(self) -> str:
        """A fresh client order id (numeric string = its own ClientOrderIndex; reconcilable after a restart)."""
        return self.ids.allocate()

    async def fetch_bbo_prices(self, symbol: str) -> tuple[Decimal, Decimal]:
        (bid, _), (ask, _) = await self.market_data.bbo(symbol)
        return bid[0], ask[0]

    async def prepare_market_order(
        self,
        symbol: str,
        side: Side,
        quantity: Decimal,
        *,
        max_slippage_bps: Decimal,
        reduce_only: bool = False,
        client_order_id: str,
    ) -> PreparedOrder:
        """Take the rate-limit slot and sign now (managed nonce, signing thread), send later; `release()` on the
        result gives the nonce back if it is never sent: see `OrderManager.prepare_market`."""
        return await self._need()[0].prepare_market(
            symbol,
            side,
            quantity,
            max_slippage_bps=max_slippage_bps,
            reduce_only=reduce_only,
            client_order_id=client_order_id,
        )

    def events(self) -> AsyncIterator[ClientEvent]:
        """Order, fill, position and liquidation events of the account (`websocket_handlers` says which).

        Raises:
            LighterError: the client is not connected, or was built with `account_stream=False`.
        """
        if self.account_stream is None:
            raise LighterError("lighter: events() needs a connected client built with account_stream=True")
        return self.account_stream.events()
