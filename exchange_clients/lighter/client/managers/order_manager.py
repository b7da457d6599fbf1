"""Orders of the Lighter client: placement, cancellation and order queries through lighter-sdk.

Transactions go through `SignerClient` (PROTOCOL_NOTES §1.3): create order (tx 14) signed AHEAD of its send with
an explicitly managed nonce (`signing.TxSigner`: `sign_create_order` in the signing thread, then `send_tx`),
`cancel_order` (tx 15, `Index` = venue order index >= 2^48 or client order index) and `cancel_all_orders` (tx 16,
immediate) through the SDK's own sign-and-send calls (same nonce manager, same per-key lock). Sizes and prices are rounded ONLY by `exchange_clients.base.trading` (BUY price down, SELL up,
size down, below `min_base_amount` refused) and then scaled to integers (`converters.scale_to_int`).

Nonces: the SDK's OPTIMISTIC nonce manager fetches `nextNonce` once per key, then counts locally under a per-key
lock. When the venue answers 21104 "invalid nonce" the SDK's refetch (`async_hard_refresh_nonce`) runs and the
client then signs the SAME order (same client order index) again with the fresh nonce and sends it once more. When the outcome of a send is unknown (5xx,
429, timeout, connection error: the SDK does not roll its nonce back for those) the client refetches the nonce,
looks the order up by its client order index, and only if the venue has no such order sends it again with the
same index; a duplicate is refused by the venue (21728 "client order index already exists") and reconciled the
same way, so a retry never doubles an order.

After `sendTx` accepts a placement the order's state comes from the "sequencer" (open, filled, canceled-post-only,
...): the client polls the account's orders by client order index for up to `ack_timeout_seconds` and returns what
it finds (status UNKNOWN with an empty order id if it has not appeared).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import lighter

from exchange_clients.base.client import PreparedOrder, bound_market_order, round_order_size
from exchange_clients.base.rate_limit import ORDER
from exchange_clients.base.retry import parse_retry_after
from exchange_clients.base.trading import (
    OrderInfo,
    OrderStatus,
    OrderType,
    RoundingError,
    Side,
    TimeInForce,
    round_price,
)
from exchange_clients.lighter.client.managers.market_data import MarketDataManager
from exchange_clients.lighter.client.managers.signing import SignedTx, TxSigner
from exchange_clients.lighter.client.utils.caching import AuthTokenCache, ClientOrderIds, LighterMarket
from exchange_clients.lighter.client.utils.converters import (
    MAX_BASE_AMOUNT,
    MAX_PRICE,
    parse_order,
    scale_to_int,
    venue_error_code,
)
from exchange_clients.lighter.common import (
    VENUE,
    LighterRateLimitedError,
    LighterRejectedError,
    LighterUnavailableError,
)
from exchange_clients.lighter.http import LighterRest

log = logging.getLogger("perparb.lighter.client")

INVALID_NONCE = 21104
CLIENT_ORDER_INDEX_EXISTS = 21728
RATE_LIMITED = 23000
TxResult = tuple[Any, Any, str | None]


class OrderManager:
    """Placement, cancellation and order reads for one account.

    Args:
        signer: a `lighter.SignerClient` built inside the running loop; api_key_index: its key slot;
        account_index: the Lighter account; rest / market_data / tokens / ids: shared client parts;
        ack_timeout_seconds: how long a placement waits for the order to show; max_book_age_seconds: market
        orders need a book at most this old; sign_hold_seconds: a transaction signed ahead (`prepare_market`)
        and not sent within this time gives its nonce back (`signing.TxSigner`).
    """

    def __init__(
        self,
        signer: lighter.SignerClient,
        *,
        api_key_index: int,
        account_index: int,
        rest: LighterRest,
        market_data: MarketDataManager,
        tokens: AuthTokenCache,
        ids: ClientOrderIds,
        ack_timeout_seconds: float = 3.0,
        max_book_age_seconds: float = 5.0,
        sign_hold_seconds: float = 2.0,
    ) -> None:
        self.signer = signer
        self.api_key_index = api_key_index
        self.account_index = account_index
        self.rest = rest
        self.market_data = market_data
        self.tokens = tokens
        self.ids = ids
        self.ack_timeout = ack_timeout_seconds
        self.max_book_age = max_book_age_seconds
        self.sent = 0  # transactions accepted by sendTx (tests, metrics)
        self.tx_signer = TxSigner(signer, api_key_index, hold_seconds=sign_hold_seconds)

    # ------------------------------------------------------------------------------------------- placement

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
    ) -> OrderInfo:
        """Limit order, GTT (28 days) or post-only. Raises LighterRejectedError (grid, venue refusal),
        LighterUnavailableError / LighterRateLimitedError (outcome unknown after the retry)."""
        m = await self.market_data.market(symbol)
        size, px = self._on_grid(m, side, quantity, price)
        tif = (
            self.signer.ORDER_TIME_IN_FORCE_POST_ONLY
            if post_only
            else self.signer.ORDER_TIME_IN_FORCE_GOOD_TILL_TIME
        )
        return await self._place(
            m, side, size, px, self.signer.ORDER_TYPE_LIMIT, tif, reduce_only, client_order_id, expiry=-1
        )

    async def place_market(
        self,
        symbol: str,
        side: Side,
        quantity: Decimal,
        *,
        max_slippage_bps: Decimal,
        reduce_only: bool,
        client_order_id: str,
    ) -> OrderInfo:
        """Market order (IOC) whose worst price is `market_order_limit_price` on the live book.

        Raises:
            StaleBookError: no fresh book, or too thin within the bound: nothing is sent.
            LighterRejectedError / LighterUnavailableError as `place_limit`.
        """
        send = await self.prepare_market(
            symbol,
            side,
            quantity,
            max_slippage_bps=max_slippage_bps,
            reduce_only=reduce_only,
            client_order_id=client_order_id,
        )
        return await send()

    async def prepare_market(
        self,
        symbol: str,
        side: Side,
        quantity: Decimal,
        *,
        max_slippage_bps: Decimal,
        reduce_only: bool,
        client_order_id: str,
    ) -> PreparedOrder:
        """`place_market` in two phases: now the book bound, rounding, the venue rate-limit slot (ORDER priority:
        never behind waiting reads) and the SIGNATURE with an explicitly managed nonce (`signing.TxSigner`, in the
        signing thread); the returned `PreparedOrder` only sends. Until it is sent the signed transaction holds
        the key's nonce lock; `release()` (or `TxSigner.hold_seconds`) gives the nonce back, so an abandoned
        order never blocks the key. A slot taken and not used is simply spent.

        Raises (here, nothing sent): StaleBookError, LighterRejectedError (grid, signer refusal)."""
        m, book = await self.market_data.book(symbol)
        size, bound = bound_market_order(
            book,
            side,
            quantity,
            max_slippage_bps=max_slippage_bps,
            max_age_seconds=self.max_book_age,
            size_step=m.size_step,
            min_size=m.min_base_amount,
            tick=m.tick_size,
            min_notional=None,  # Lighter orders are checked against the minimum base amount only
            reduce_only=reduce_only,
            venue=VENUE,
            rejected=self._rejected(m),
        )
        await self.rest.limiter.acquire(priority=ORDER)
        order_type = self.signer.ORDER_TYPE_MARKET
        tif = self.signer.ORDER_TIME_IN_FORCE_IMMEDIATE_OR_CANCEL
        _, fields = self._order_fields(m, side, size, bound, order_type, tif, reduce_only, client_order_id, 0)
        signed = await self.tx_signer.sign_create_order(**fields)

        async def send() -> OrderInfo:
            return await self._place(
                m,
                side,
                size,
                bound,
                order_type,
                tif,
                reduce_only,
                client_order_id,
                expiry=0,
                slot_taken=True,
                signed=signed,
            )

        return PreparedOrder(send, release=lambda: self.tx_signer.release(signed))

    @staticmethod
    def _rejected(m: LighterMarket) -> Callable[[str], LighterRejectedError]:
        return lambda message: LighterRejectedError(message, m.symbol)

    def _size(self, m: LighterMarket, quantity: Decimal) -> Decimal:
        return round_order_size(
            quantity, size_step=m.size_step, min_size=m.min_base_amount, rejected=self._rejected(m)
        )

    def _on_grid(
        self, m: LighterMarket, side: Side, quantity: Decimal, price: Decimal
    ) -> tuple[Decimal, Decimal]:
        size = self._size(m, quantity)
        try:
            return size, round_price(price, m.tick_size, side)
        except RoundingError as exc:
            raise LighterRejectedError(str(exc), m.symbol) from None

    def _order_fields(
        self,
        m: LighterMarket,
        side: Side,
        size: Decimal,
        price: Decimal,
        order_type: int,
        tif: int,
        reduce_only: bool,
        client_order_id: str,
        expiry: int,
    ) -> tuple[int, dict[str, Any]]:
        """(client order index, `SignerClient.sign_create_order` keyword arguments) of an order on the grid.

        Raises:
            LighterRejectedError: size or price beyond the venue's integer ranges, or an unusable client order id.
        """
        try:
            coi = self.ids.index_for(client_order_id)
            base_amount = scale_to_int(
                size, m.size_decimals, what="size", maximum=MAX_BASE_AMOUNT, market=m.symbol
            )
            price_int = scale_to_int(
                price, m.price_decimals, what="price", maximum=MAX_PRICE, market=m.symbol
            )
        except ValueError as exc:
            raise LighterRejectedError(str(exc), m.symbol) from None
        return coi, {
            "market_index": m.market_id,
            "client_order_index": coi,
            "base_amount": base_amount,
            "price": price_int,
            "is_ask": side is Side.SELL,
            "order_type": order_type,
            "time_in_force": tif,
            "reduce_only": reduce_only,
            "order_expiry": expiry,
        }

    async def _place(
        self,
        m: LighterMarket,
        side: Side,
        size: Decimal,
        price: Decimal,
        order_type: int,
        tif: int,
        reduce_only: bool,
        client_order_id: str,
        *,
        expiry: int,
        slot_taken: bool = False,
        signed: SignedTx | None = None,
    ) -> OrderInfo:
        """Send a create-order transaction (`signed` when prepared, else signed here after taking the rate-limit
        slot) through `submit`, then wait for the order to show (`_await_order`)."""
        coi, fields = self._order_fields(
            m, side, size, price, order_type, tif, reduce_only, client_order_id, expiry
        )
        if signed is None:
            if not slot_taken:
                await self.rest.limiter.acquire(priority=ORDER)
                slot_taken = True
            signed = await self.tx_signer.sign_create_order(**fields)
        tx = signed

        what = f"create order {client_order_id!r} (index {coi}) {side.value} {size} @ {price}"
        try:
            existing = await self.submit(what, m, lambda: self.tx_signer.send(tx), coi, slot_taken=slot_taken)
        finally:
            self.tx_signer.release(tx)  # no-op once sent; frees the key if submit failed before sending
        if existing is not None:
            return existing
        found = await self._await_order(m, coi)
        if found is not None:
            return found
        return OrderInfo(
            venue=VENUE,
            symbol=m.symbol,
            order_id="",
            client_order_id=client_order_id,
            side=side,
            order_type=OrderType.MARKET if order_type == self.signer.ORDER_TYPE_MARKET else OrderType.LIMIT,
            time_in_force={0: TimeInForce.IOC, 1: TimeInForce.GTC, 2: TimeInForce.POST_ONLY}[tif],
            price=price,
            quantity=size,
            filled_quantity=Decimal(0),
            status=OrderStatus.UNKNOWN,
            reduce_only=reduce_only,
            reject_reason=f"accepted by sendTx but not seen within {self.ack_timeout:g} s",
        )

    async def submit(
        self,
        what: str,
        m: LighterMarket,
        send: Callable[[], Awaitable[TxResult]],
        coi: int | None,
        *,
        slot_taken: bool = False,
    ) -> OrderInfo | None:
        """Send a transaction, with the nonce and unknown-outcome handling of the module docstring.
        `slot_taken`: the caller already holds the rate-limit slot of the first attempt (`prepare_market`).

        Returns None when accepted, or the order found by `coi` when a retry turned out to be a duplicate.
        """
        for attempt in range(2):
            last = attempt == 1
            if attempt > 0 or not slot_taken:
                await self.rest.limiter.acquire(priority=ORDER)
            try:
                _tx, resp, err = await send()
            except (lighter.ApiException, aiohttp.ClientError, asyncio.TimeoutError) as exc:
                status = getattr(exc, "status", None)
                if status == 429:
                    headers = getattr(exc, "headers", None) or {}
                    self.rest.limiter.penalise(parse_retry_after(headers.get("Retry-After")))
                await self._resync_nonce()
                if coi is not None:
                    found = await self.find_by_client_index(m, coi)
                    if found is not None:
                        return found
                if isinstance(exc, lighter.ApiException) and status and 400 <= status < 500 and status != 429:
                    raise LighterRejectedError(
                        f"{what}: HTTP {status}: {exc.body or exc.reason}", m.symbol
                    ) from None
                if last:
                    if status == 429:
                        raise LighterRateLimitedError(f"{what}: HTTP 429 (after a retry)", m.symbol) from None
                    raise LighterUnavailableError(
                        f"{what}: {type(exc).__name__}: {status or exc}", m.symbol
                    ) from None
                log.warning(
                    "lighter: %s: outcome unknown (%s); not on the venue, sending again", what, status or exc
                )
                continue
            if err is None and resp is not None and getattr(resp, "code", 200) == 200:
                self.sent += 1
                return None
            code, message = venue_error_code(err if err is not None else str(getattr(resp, "message", "")))
            if code == INVALID_NONCE and not last:
                log.info("lighter: %s: invalid nonce, the SDK refetched it; sending again", what)
                continue
            if code == CLIENT_ORDER_INDEX_EXISTS and coi is not None:
                found = await self.find_by_client_index(m, coi)
                if found is not None:
                    return found
            if code == RATE_LIMITED:
                self.rest.limiter.penalise(None)
                raise LighterRateLimitedError(f"{what}: code {code}: {message}", m.symbol)
            raise LighterRejectedError(f"{what}: code {code}: {message}", m.symbol)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _resync_nonce(self) -> None:
        try:
            await self.tx_signer.resync()
        except (lighter.ApiException, aiohttp.ClientError, asyncio.TimeoutError) as exc:
            # the SDK refetches it on the next "invalid nonce" answer anyway
            log.warning("lighter: nonce refresh failed (%s); the SDK will recover on invalid nonce", exc)

    async def _await_order(self, m: LighterMarket, coi: int) -> OrderInfo | None:
        deadline = asyncio.get_running_loop().time() + self.ack_timeout
        while True:
            found = await self.find_by_client_index(m, coi)
            if found is not None and found.status is not OrderStatus.UNKNOWN:
                return found
            if asyncio.get_running_loop().time() >= deadline:
                return found
            await asyncio.sleep(0.05)

    # ------------------------------------------------------------------------------------------- cancels

    async def cancel(self, symbol: str, *, order_id: str | None, client_order_id: str | None) -> None:
        """Cancel by venue order index (`order_id`) or client order id.

        Raises:
            ValueError: neither or both given; LighterRejectedError: unknown id or order not open (21600).
        """
        if (order_id is None) == (client_order_id is None):
            raise ValueError(f"{VENUE}: give exactly one of order_id and client_order_id")
        m = await self.market_data.market(symbol)
        if order_id is not None:
            if not order_id.isdigit():
                raise LighterRejectedError(f"order id {order_id!r} is not a Lighter order index", m.symbol)
            index = int(order_id)
        else:
            assert client_order_id is not None
            found = self.ids.lookup(client_order_id)
            if found is None:
                raise LighterRejectedError(f"unknown client order id {client_order_id!r}", m.symbol)
            index = found
        await self.submit(
            f"cancel order {order_id or client_order_id}",
            m,
            lambda: self.signer.cancel_order(m.market_id, index),
            None,
        )

    async def cancel_all(self, symbol: str | None) -> None:
        """All markets: one cancel-all transaction (tx 16, immediate). One market: a cancel per open order of it."""
        if symbol is None:
            any_market = next(iter(self.market_data.markets.by_symbol.values()), None)
            if any_market is None:
                await self.market_data.load_markets()
                any_market = next(iter(self.market_data.markets.by_symbol.values()))
            await self.submit(
                "cancel all orders",
                any_market,
                lambda: self.signer.cancel_all_orders(self.signer.CANCEL_ALL_TIF_IMMEDIATE, 0),
                None,
            )
            return
        for order in await self.active_orders(symbol):
            await self.cancel(symbol, order_id=order.order_id, client_order_id=None)

    # ------------------------------------------------------------------------------------------- reads

    def _info(self, row: dict[str, Any]) -> OrderInfo:
        market_id = int(row.get("market_index", -1))
        symbol = self.market_data.markets.symbol_of(market_id)
        return parse_order(row, symbol, self.ids.id_for(int(row.get("client_order_index") or 0)))

    async def active_orders(self, symbol: str | None = None) -> list[OrderInfo]:
        """Open orders (`GET /api/v1/accountActiveOrders`, auth), oldest first."""
        market_id = (await self.market_data.market(symbol)).market_id if symbol else None
        api = lighter.OrderApi(self.rest.api)
        body = await self.rest.get(
            f"GET /api/v1/accountActiveOrders?account_index={self.account_index}&market_id={market_id}",
            "orders",
            lambda: api.account_active_orders_without_preload_content(
                authorization=self.tokens.get(),
                account_index=self.account_index,
                market_id=market_id,
                _request_timeout=self.rest.timeout,
            ),
            symbol,
        )
        return [self._info(row) for row in body["orders"]]

    async def inactive_orders(self, symbol: str | None = None, limit: int = 100) -> list[OrderInfo]:
        """Finished orders (`GET /api/v1/accountInactiveOrders`, auth), newest first, at most `limit` (<= 100)."""
        market_id = (await self.market_data.market(symbol)).market_id if symbol else None
        api = lighter.OrderApi(self.rest.api)
        body = await self.rest.get(
            f"GET /api/v1/accountInactiveOrders?account_index={self.account_index}&market_id={market_id}",
            "orders",
            lambda: api.account_inactive_orders_without_preload_content(
                authorization=self.tokens.get(),
                account_index=self.account_index,
                limit=limit,
                market_id=market_id,
                _request_timeout=self.rest.timeout,
            ),
            symbol,
        )
        return [self._info(row) for row in body["orders"]]

    async def find_by_client_index(self, m: LighterMarket, coi: int) -> OrderInfo | None:
        """The order of client order index `coi` in market `m`, open or finished (newest 100), or None."""
        wanted = self.ids.id_for(coi)
        for read in (self.active_orders, self.inactive_orders):
            for order in await read(m.symbol):
                if order.client_order_id == wanted:
                    return order
        return None

    async def order_info(
        self, symbol: str, *, order_id: str | None, client_order_id: str | None
    ) -> OrderInfo | None:
        """One order by venue id or client id, open or among the newest 100 finished ones; None if not found."""
        if (order_id is None) == (client_order_id is None):
            raise ValueError(f"{VENUE}: give exactly one of order_id and client_order_id")
        m = await self.market_data.market(symbol)
        if client_order_id is not None:
            coi = self.ids.lookup(client_order_id)
            return None if coi is None else await self.find_by_client_index(m, coi)
        for read in (self.active_orders, self.inactive_orders):
            for order in await read(m.symbol):
                if order.order_id == order_id:
                    return order
        return None
