"""Order placement, cancellation and order reads for a Paradex client.

Orders are paradex-py `Order`s signed by the SDK and sent with `POST /orders` (PROTOCOL_NOTES §2.3):
`instruction` GTC / POST_ONLY / IOC, flag REDUCE_ONLY, `client_id`. Prices and sizes are rounded on the market's
grid only by `exchange_clients.base.trading` (BUY price down, SELL up, size down). A MARKET order is never sent:
Paradex MARKET orders carry no price bound, so `place_market` sends a LIMIT IOC at `market_order_limit_price`
(the live book's touch moved by `max_slippage_bps`), and refuses without a fresh book.

`POST /orders` answers 201 with `status: "NEW"`; the venue then decides (OPEN, or CLOSED with a `cancel_reason`
such as POST_ONLY_WOULD_CROSS), so the returned `OrderInfo` is the order read back by id after placement.

Retries: a placement that fails with a retryable error (5xx, timeout, 429) is reconciled by its client order id
(`GET /orders/by_client_id/{cid}`) before being sent again with the SAME client id, so a retry never doubles an
order; a `DUPLICATED_CLIENT_ID` answer to a retry means the first attempt landed and is reconciled the same way,
as is a caller re-sending the same placement (same market, side, size, price) under the same client id; a client id
reused for a different order stays a `ParadexRequestRejectedError` (code DUPLICATED_CLIENT_ID).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from paradex_py.common.order import Order
from paradex_py.common.order import OrderSide as SdkSide
from paradex_py.common.order import OrderType as SdkType

from exchange_clients.base.client import bound_market_order, check_min_notional
from exchange_clients.base.trading import (
    ContractAttributes,
    OrderInfo,
    RoundingError,
    Side,
    round_price,
    round_quantity,
)
from exchange_clients.paradex.client.managers.market_data import MarketDataManager
from exchange_clients.paradex.client.session import ParadexRequestRejectedError, ParadexSession
from exchange_clients.paradex.client.utils.converters import order_from_resp, parse_rows
from exchange_clients.paradex.common import VENUE, ParadexRejectedError, normalize_symbol
from exchange_clients.paradex.funding_adapter.fetchers import results_of
from perparb_core.errors import VenueError

log = logging.getLogger("perparb.paradex.client")

NOT_FOUND_CODES = frozenset({"ORDER_ID_NOT_FOUND", "CLIENT_ORDER_ID_NOT_FOUND"})


class OrderManager:
    """Places, cancels and reads orders. See the module docstring for the rules."""

    def __init__(self, session: ParadexSession, market_data: MarketDataManager) -> None:
        self.session = session
        self.market_data = market_data

    # ------------------------------------------------------------------------------------------ placement

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
        instruction: str | None = None,
    ) -> OrderInfo:
        """Round (`round_price` / `round_quantity`), check the minimum notional (not for reduce-only), send.

        Raises:
            ParadexRejectedError: unknown market, a quantity/price that rounds off the grid or below the minimum
                notional (nothing sent), or a request Paradex refused (`ParadexRequestRejectedError` with code).
            ParadexUnavailableError / ParadexRateLimitedError: after the retries, with nothing placed.
        """
        if not client_order_id:
            raise ValueError("client_order_id is required (Paradex reconciles retries by it)")
        attrs = await self.market_data.contract_attributes(symbol)
        market = attrs.venue_market_id
        try:
            qty = round_quantity(quantity, attrs.size_step, min_size=attrs.min_size)
            px = round_price(price, attrs.tick_size, side)
        except RoundingError as exc:
            raise ParadexRejectedError(f"order {client_order_id!r}: {exc}", market) from exc
        self._check_notional(attrs, qty, px, reduce_only, client_order_id)
        chosen = instruction or ("POST_ONLY" if post_only else "GTC")
        return await self._submit(market, side, qty, px, chosen, reduce_only, client_order_id)

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
        """A LIMIT IOC at the worst price `market_order_limit_price` allows (the live book's touch moved by
        `max_slippage_bps` against the taker, on the tick, and the book must hold `quantity` within it).

        Raises:
            StaleBookError: no fresh book, empty side, or too thin within the bound (nothing sent).
            the errors of `place_limit`.
        """
        _, qty, bound = await self._market_bound(
            symbol, side, quantity, max_slippage_bps, reduce_only, client_order_id
        )
        return await self.place_limit(
            symbol,
            side,
            qty,
            bound,
            post_only=False,
            reduce_only=reduce_only,
            client_order_id=client_order_id,
            instruction="IOC",
        )

    async def prepare_market(
        self,
        symbol: str,
        side: Side,
        quantity: Decimal,
        *,
        max_slippage_bps: Decimal,
        reduce_only: bool,
        client_order_id: str,
    ) -> Callable[[], Awaitable[OrderInfo]]:
        """Do everything of `place_market` except the HTTP send: bound from the live book, rounding, and the
        order's Stark signature (paradex-py signs in Python: tens of milliseconds). Returns a coroutine function
        that sends the pre-signed order and gives what `place_market` gives; so a two-leg executor can sign both
        legs first and then release both sends together.

        The send replicates paradex-py's own `submit_order` path for an L1-key account (`account.sign_order`, the
        account's signature headers, `POST /orders`), which the SDK offers only as one blocking call. When the
        SDK would sign differently (a custom signer) nothing is pre-signed and the send is `place_market`. A
        retryable failure of the pre-signed send reconciles by client order id and then falls back to the
        normal retried placement (a duplicate is recognised by `DUPLICATED_CLIENT_ID`).

        Raises (here, nothing sent): StaleBookError, ParadexRejectedError (grid / minimum notional).
        """
        attrs, qty, px = await self._market_bound(
            symbol, side, quantity, max_slippage_bps, reduce_only, client_order_id
        )
        market = attrs.venue_market_id
        cid = client_order_id
        api = self.session.api

        async def plain() -> OrderInfo:
            return await self._submit(market, side, qty, px, "IOC", reduce_only, cid)

        if getattr(api, "signer", None) is not None or api.account is None:
            return plain
        order = Order(
            market,
            SdkType.Limit,
            SdkSide.Buy if side is Side.BUY else SdkSide.Sell,
            qty,
            px,
            client_id=cid,
            instruction="IOC",
            reduce_only=reduce_only,
        )

        def sign() -> dict[str, Any]:
            with self.session.lock:
                account = api.account
                if account is None:  # the session is open (checked above): the SDK holds the account
                    raise ParadexRejectedError("no account to sign with (session not open)", market)
                order.signature = account.sign_order(order)
                return api._signature_headers()

        headers = await asyncio.to_thread(sign)
        payload = order.dump_to_dict()

        async def send() -> OrderInfo:
            try:
                created = await self.session.call(
                    f"POST /orders {cid}",
                    lambda a: a._post_authorized(path="orders", payload=payload, **headers),
                    market,
                )
            except VenueError as exc:
                if not exc.retryable:
                    raise
                log.warning("paradex order %s: %s; reconciling by client id", cid, exc)
                found = await self._reconcile(cid)
                return found if found is not None else await plain()
            order_id = str(created.get("id") or "") if isinstance(created, dict) else ""
            if not order_id:
                found = await self.by_client_id(cid)
                if found is None:
                    raise ParadexRejectedError(f"order {cid!r}: POST /orders answered without an id", market)
                return found
            return await self.by_id(order_id) or order_from_resp(created)

        return send

    async def _market_bound(
        self,
        symbol: str,
        side: Side,
        quantity: Decimal,
        max_slippage_bps: Decimal,
        reduce_only: bool,
        client_order_id: str,
    ) -> tuple[ContractAttributes, Decimal, Decimal]:
        """(market grid, quantity on the size grid, worst price from the fresh book): the part a market order
        decides before anything is sent (`bound_market_order`). Raises StaleBookError, ParadexRejectedError
        (below the grid or the minimum notional)."""
        book = await self.market_data.fresh_book(symbol)
        attrs = await self.market_data.contract_attributes(symbol)
        qty, bound = bound_market_order(
            book,
            side,
            quantity,
            max_slippage_bps=max_slippage_bps,
            max_age_seconds=self.market_data.max_book_age_seconds,
            size_step=attrs.size_step,
            min_size=attrs.min_size,
            tick=attrs.tick_size,
            min_notional=attrs.min_notional,
            reduce_only=reduce_only,
            venue=VENUE,
            rejected=self._rejected(attrs, client_order_id),
        )
        return attrs, qty, bound

    @staticmethod
    def _rejected(attrs: ContractAttributes, client_order_id: str) -> Callable[[str], ParadexRejectedError]:
        return lambda message: ParadexRejectedError(
            f"order {client_order_id!r}: {message}", attrs.venue_market_id
        )

    @classmethod
    def _check_notional(
        cls, attrs: ContractAttributes, qty: Decimal, px: Decimal, reduce_only: bool, client_order_id: str
    ) -> None:
        """Raises ParadexRejectedError below the market's minimum notional (reduce-only orders are exempt)."""
        check_min_notional(
            qty,
            px,
            min_notional=attrs.min_notional,
            reduce_only=reduce_only,
            rejected=cls._rejected(attrs, client_order_id),
        )

    async def _submit(
        self,
        market: str,
        side: Side,
        qty: Decimal,
        px: Decimal,
        instruction: str,
        reduce_only: bool,
        cid: str,
    ) -> OrderInfo:
        http_config = self.session.config.http
        attempt = 0
        while True:
            order = Order(
                market,
                SdkType.Limit,
                SdkSide.Buy if side is Side.BUY else SdkSide.Sell,
                qty,
                px,
                client_id=cid,
                instruction=instruction,
                reduce_only=reduce_only,
            )

            def submit(api: Any, order: Order = order) -> Any:
                return api.submit_order(order)

            try:
                created = await self.session.call(f"POST /orders {cid}", submit, market)
            except ParadexRequestRejectedError as exc:
                if exc.code == "DUPLICATED_CLIENT_ID":
                    # our own earlier attempt landed (attempt > 0), or the caller re-sent the same placement
                    # (same market, side, size and price): reconcile to that order instead of failing or doubling
                    found = await self.by_client_id(cid)
                    if found is not None and (
                        attempt > 0
                        or (found.symbol, found.side, found.quantity, found.price)
                        == (normalize_symbol(market), side, qty, px)
                    ):
                        return found
                raise
            except VenueError as exc:
                if not exc.retryable:
                    raise
                log.warning("paradex order %s: %s; reconciling by client id", cid, exc)
                found = await self._reconcile(cid)
                if found is not None:
                    return found
                if attempt >= http_config.retries:
                    raise
                delay = http_config.backoff_seconds * (2**attempt) * random.uniform(0.8, 1.2)
                retry_after = getattr(exc, "retry_after_seconds", None)
                await asyncio.sleep(max(delay, retry_after or 0.0))
                attempt += 1
                continue
            order_id = str(created.get("id") or "") if isinstance(created, dict) else ""
            if not order_id:
                found = await self.by_client_id(cid)
                if found is None:
                    raise ParadexRejectedError(f"order {cid!r}: POST /orders answered without an id", market)
                return found
            return await self.by_id(order_id) or order_from_resp(created)

    async def _reconcile(self, cid: str) -> OrderInfo | None:
        try:
            return await self.by_client_id(cid)
        except VenueError as exc:
            log.warning("paradex order %s: reconciliation failed: %s", cid, exc)
            return None

    # ------------------------------------------------------------------------------------------ cancel

    async def cancel(self, symbol: str, *, order_id: str | None, client_order_id: str | None) -> None:
        """`DELETE /orders/{id}` or `/orders/by_client_id/{cid}` (exactly one id). Cancelling an order that is
        already closed (ORDER_IS_CLOSED) is a no-op.

        Raises:
            ValueError: neither or both ids. ParadexRequestRejectedError: unknown order (ORDER_ID_NOT_FOUND...).
        """
        if (order_id is None) == (client_order_id is None):
            raise ValueError("give exactly one of order_id or client_order_id")
        market = (await self.market_data.market_info(symbol)).venue_symbol
        try:
            if order_id is not None:
                await self.session.call(
                    f"DELETE /orders/{order_id}", lambda api: api.cancel_order(order_id), market
                )
            else:
                assert client_order_id is not None
                await self.session.call(
                    f"DELETE /orders/by_client_id/{client_order_id}",
                    lambda api: api.cancel_order_by_client_id(client_order_id),
                    market,
                )
        except ParadexRequestRejectedError as exc:
            if exc.code != "ORDER_IS_CLOSED":
                raise
            log.info("paradex cancel of %s: already closed", order_id or client_order_id)

    async def cancel_all(self, symbol: str | None) -> None:
        """`DELETE /orders[?market=]`: every open order of the account, or of one market."""
        params: dict[str, Any] = {}
        if symbol is not None:
            params["market"] = (await self.market_data.market_info(symbol)).venue_symbol
        await self.session.call(
            "DELETE /orders", lambda api: api.cancel_all_orders(params), params.get("market")
        )

    # ------------------------------------------------------------------------------------------ reads

    async def by_id(self, order_id: str) -> OrderInfo | None:
        """`GET /orders/{id}` (any state), None for ORDER_ID_NOT_FOUND."""
        return await self._one(f"GET /orders/{order_id}", lambda api: api.fetch_order(order_id))

    async def by_client_id(self, client_order_id: str) -> OrderInfo | None:
        """`GET /orders/by_client_id/{cid}` (any state), None for CLIENT_ORDER_ID_NOT_FOUND."""
        return await self._one(
            f"GET /orders/by_client_id/{client_order_id}",
            lambda api: api.fetch_order_by_client_id(client_order_id),
        )

    async def _one(self, what: str, fn: Any) -> OrderInfo | None:
        try:
            body = await self.session.read(what, fn)
        except ParadexRequestRejectedError as exc:
            if exc.code in NOT_FOUND_CODES:
                return None
            raise
        return order_from_resp(body)

    async def order_info(
        self, symbol: str, *, order_id: str | None, client_order_id: str | None
    ) -> OrderInfo | None:
        """One order in any state by venue id or client id (exactly one), None when Paradex does not know it
        or it belongs to another market than `symbol`."""
        if (order_id is None) == (client_order_id is None):
            raise ValueError("give exactly one of order_id or client_order_id")
        info = await self.market_data.market_info(symbol)
        found = await (
            self.by_id(order_id) if order_id is not None else self.by_client_id(client_order_id or "")
        )
        return found if found is not None and found.symbol == info.symbol else None

    async def active_orders(self, symbol: str | None) -> list[OrderInfo]:
        """`GET /orders[?market=]`: open orders; unusable rows are rejected (logged) and skipped."""
        params: dict[str, Any] = {}
        if symbol is not None:
            params["market"] = (await self.market_data.market_info(symbol)).venue_symbol
        body = await self.session.read(
            "GET /orders", lambda api: api.fetch_orders(params), params.get("market")
        )
        return parse_rows(results_of(body, "GET /orders"), order_from_resp, "paradex:orders")
