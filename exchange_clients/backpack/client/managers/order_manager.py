"""Orders of the Backpack client: placement, cancellation and order queries.

Requests are built and signed by bpx-py (`BaseAccount.execute_order`, `cancel_order`, `get_open_order`,
`get_open_orders`, `cancel_all_orders`, `get_order_history`: `utils/signing.py`) and sent by the venue's HTTP stack:
* limit orders (`POST /api/v1/order`, instruction orderExecute): `orderType` "Limit", `timeInForce` "GTC" or
  "IOC", `postOnly` true for post-only, `reduceOnly`, `clientId` always (u32, `utils/signing.ClientIds`);
* bounded market orders: an IOC limit at the worst price `market_order_limit_price` allows on the live book
  (Backpack's own "Market" type has no price bound); `prepare_market` does the book bound, rounding, signing and
  takes the limiter slot; the returned coroutine only sends;
* cancel (`DELETE /api/v1/order`, orderCancel) by `orderId` or `clientId`; cancel-all per market
  (`DELETE /api/v1/orders`, orderCancelAll);
* order status: `GET /api/v1/order` (orderQuery: OPEN orders only; 404 `RESOURCE_NOT_FOUND` otherwise), then the
  order history `GET /wapi/v1/history/orders` (orderHistoryQueryAll) for a finished one.

The placement answer is the order itself, synchronously (venue-data/backpack/rest_order_execute_*.json: "New"
resting, "Filled"; an IOC's unfilled rest "Expired"). A post-only order that would take is refused by the venue
(HTTP 400 `INVALID_ORDER`): it comes back as a REJECTED `OrderInfo` with the venue's message (a normal outcome);
any other refusal raises `BackpackRejectedError`.

Idempotent retries: a placement whose outcome is unknown (timeout, 5xx, connection lost, 429) is looked up by its
`clientId`; only when the venue does not know it is it sent again, re-signed (fresh timestamp) with the SAME
`clientId`, once. So a retry never doubles an order.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from exchange_clients.backpack.client.managers.market_data import MarketDataManager
from exchange_clients.backpack.client.utils.caching import BackpackMarket
from exchange_clients.backpack.client.utils.converters import WIRE_SIDE, parse_order
from exchange_clients.backpack.client.utils.helpers import decimal_wire
from exchange_clients.backpack.client.utils.signing import BackpackSigner, ClientIdError, ClientIds
from exchange_clients.backpack.common import (
    VENUE,
    BackpackDataError,
    BackpackRateLimitedError,
    BackpackRejectedError,
    BackpackUnavailableError,
)
from exchange_clients.backpack.http import BackpackHttp, SignedRequest
from exchange_clients.base.client import bound_market_order, round_order_size
from exchange_clients.base.rate_limit import ORDER
from exchange_clients.base.trading import (
    OrderInfo,
    OrderStatus,
    OrderType,
    RoundingError,
    Side,
    TimeInForce,
)

log = logging.getLogger("perparb.backpack.client")

HISTORY_PAGE = 200


def would_take(exc: BackpackRejectedError) -> bool:
    """True for the venue's refusal of a post-only order that would take liquidity."""
    text = str(exc).lower()
    return exc.code == "INVALID_ORDER" and (
        "immediately match" in text or "post only" in text or "post-only" in text
    )


class OrderManager:
    """Placement, cancellation and order reads of one account.

    Args:
        http: the venue's HTTP stack; market_data: markets and books; signer: bpx-py's signer of the account's
        key; ids: client order id <-> `clientId`; max_book_age_seconds: market orders need a book at most this old.
    """

    def __init__(
        self,
        http: BackpackHttp,
        market_data: MarketDataManager,
        signer: BackpackSigner,
        ids: ClientIds,
        *,
        max_book_age_seconds: float = 10.0,
    ) -> None:
        self.http = http
        self.venue = VENUE
        self.market_data = market_data
        self.signer = signer
        self.ids = ids
        self.max_book_age = max_book_age_seconds
        self.sent = 0

    def _parse(self, row: Any, what: str, market: str) -> OrderInfo:
        if not isinstance(row, dict):
            raise BackpackDataError(
                f"{what}: answer is {type(row).__name__}, expected an order object", market
            )
        try:
            return parse_order(
                row, symbol_of=self.market_data.markets.symbol_of, client_id_of=self.ids.perparb
            )
        except ValueError as exc:
            raise BackpackDataError(f"{what}: {exc}", market) from None

    @staticmethod
    def _rejected(m: BackpackMarket) -> Callable[[str], BackpackRejectedError]:
        return lambda message: BackpackRejectedError(message, m.venue_symbol)

    def _size(self, m: BackpackMarket, quantity: Decimal) -> Decimal:
        return round_order_size(
            quantity, size_step=m.size_step, min_size=m.min_size, rejected=self._rejected(m)
        )

    def _price(self, m: BackpackMarket, price: Decimal, side: Side) -> Decimal:
        try:
            return m.round_price(price, side)
        except RoundingError as exc:
            raise BackpackRejectedError(f"{exc} (tickSize {m.tick_size})", m.venue_symbol) from None

    def _wire_id(self, client_order_id: str, market: str) -> int:
        try:
            return self.ids.wire(client_order_id)
        except ClientIdError as exc:
            raise BackpackRejectedError(str(exc), market) from None

    def _order_request(
        self,
        m: BackpackMarket,
        side: Side,
        size: Decimal,
        price: Decimal,
        tif: TimeInForce,
        reduce_only: bool,
        client_id: int,
    ) -> SignedRequest:
        return self.signer.build(
            "POST",
            "execute_order",
            symbol=m.venue_symbol,
            side=WIRE_SIDE[side],
            order_type="Limit",
            time_in_force="IOC" if tif is TimeInForce.IOC else "GTC",
            quantity=decimal_wire(size),
            price=decimal_wire(price),
            client_id=client_id,
            post_only=True if tif is TimeInForce.POST_ONLY else None,
            reduce_only=True if reduce_only else None,
        )

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
        time_in_force: TimeInForce | None = None,
    ) -> OrderInfo:
        """Limit order: GTC, post-only with `post_only`, or `time_in_force` (IOC). The price is rounded on the tick
        never worse than `price`, the size down to the step (below `minQuantity` refused).

        Raises:
            BackpackRejectedError: grid, minimum size or venue refusal; BackpackUnavailableError /
            BackpackRateLimitedError: outcome still unknown after the clientId lookup and one retry.
        """
        m = await self.market_data.market(symbol)
        size, px = self._size(m, quantity), self._price(m, price, side)
        tif = time_in_force or (TimeInForce.POST_ONLY if post_only else TimeInForce.GTC)
        cid = self._wire_id(client_order_id, m.venue_symbol)
        request = self._order_request(m, side, size, px, tif, reduce_only, cid)
        return await self._submit(m, request, side, size, px, tif, reduce_only, client_order_id, cid)

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
        """IOC at the book-derived worst price (`prepare_market`), sent at once.

        Raises:
            StaleBookError: no fresh book, or too thin within the bound: nothing sent. Others as `place_limit`.
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
    ) -> Callable[[], Awaitable[OrderInfo]]:
        """Phase one of a market order: the book bound (`market_order_limit_price` on the market's tick, BUY down,
        SELL up), the size down to the step, the signed request (bpx-py) and the limiter slot. The returned
        coroutine function only sends (within the request's `X-Window`).

        Raises (nothing sent): StaleBookError, BackpackRejectedError (grid, minimum size)."""
        m, book = await self.market_data.book(symbol)
        size, bound = bound_market_order(
            book,
            side,
            quantity,
            max_slippage_bps=max_slippage_bps,
            max_age_seconds=self.max_book_age,
            size_step=m.size_step,
            min_size=m.min_size,
            tick=m.tick_size,
            min_notional=None,  # the market carries no minimum notional (`BackpackMarket`)
            reduce_only=reduce_only,
            venue=self.venue,
            rejected=self._rejected(m),
        )
        cid = self._wire_id(client_order_id, m.venue_symbol)
        request = self._order_request(m, side, size, bound, TimeInForce.IOC, reduce_only, cid)
        await self.http.limiter.acquire(priority=ORDER)

        async def send() -> OrderInfo:
            return await self._submit(
                m,
                request,
                side,
                size,
                bound,
                TimeInForce.IOC,
                reduce_only,
                client_order_id,
                cid,
                slot_taken=True,
            )

        return send

    async def _submit(
        self,
        m: BackpackMarket,
        request: SignedRequest,
        side: Side,
        size: Decimal,
        price: Decimal,
        tif: TimeInForce,
        reduce_only: bool,
        client_order_id: str,
        cid: int,
        *,
        slot_taken: bool = False,
    ) -> OrderInfo:
        what = f"order {client_order_id!r} (clientId {cid}) {side.value} {size} {m.venue_symbol} @ {price} {tif.value}"
        for attempt in range(2):
            try:
                answer = await self.http.signed_action(
                    request, what=what, market=m.venue_symbol, slot_taken=slot_taken and attempt == 0
                )
            except BackpackRejectedError as exc:
                if tif is TimeInForce.POST_ONLY and would_take(exc):
                    return OrderInfo(
                        venue=self.venue,
                        symbol=m.symbol,
                        order_id="",
                        client_order_id=client_order_id,
                        side=side,
                        order_type=OrderType.LIMIT,
                        time_in_force=tif,
                        price=price,
                        quantity=size,
                        filled_quantity=Decimal(0),
                        status=OrderStatus.REJECTED,
                        reduce_only=reduce_only,
                        reject_reason=str(exc),
                    )
                raise
            except (BackpackUnavailableError, BackpackRateLimitedError) as exc:
                found = await self.find_by_client_id(m.venue_symbol, client_order_id)
                if found is not None:
                    log.info("%s: %s; found by clientId: %s", self.venue, exc, found.status.value)
                    return found
                if attempt == 1:
                    raise
                log.warning(
                    "%s: %s: outcome unknown (%s); not on the venue, sending again", self.venue, what, exc
                )
                request = self._order_request(m, side, size, price, tif, reduce_only, cid)
                continue
            self.sent += 1
            info = self._parse(answer, what, m.venue_symbol)
            if info.client_order_id != client_order_id:
                from dataclasses import replace

                info = replace(info, client_order_id=client_order_id)
            return info
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------------------------------------- cancels

    async def cancel(self, symbol: str, *, order_id: str | None, client_order_id: str | None) -> None:
        """Cancel by venue order id or client order id (`DELETE /api/v1/order`).

        Raises:
            ValueError: neither or both given. BackpackRejectedError: the order is not open (404
            `RESOURCE_NOT_FOUND`) or another refusal.
        """
        if (order_id is None) == (client_order_id is None):
            raise ValueError(f"{self.venue}: give exactly one of order_id and client_order_id")
        m = await self.market_data.market(symbol)
        if order_id is not None:
            request = self.signer.build("DELETE", "cancel_order", m.venue_symbol, order_id=order_id)
        else:
            assert client_order_id is not None
            request = self.signer.build(
                "DELETE",
                "cancel_order",
                m.venue_symbol,
                client_id=self._wire_id(client_order_id, m.venue_symbol),
            )
        await self.http.signed_action(
            request, what=f"cancel {order_id or client_order_id}", market=m.venue_symbol
        )
        self.sent += 1

    async def cancel_all(self, symbol: str | None) -> None:
        """Cancel every open order of `symbol`, or of every market with open orders (`DELETE /api/v1/orders` per
        market)."""
        if symbol is not None:
            markets = [(await self.market_data.market(symbol)).venue_symbol]
        else:
            markets = sorted({o.symbol for o in await self.active_orders(None)})
            markets = [(await self.market_data.market(s)).venue_symbol for s in markets]
        for venue_symbol in markets:
            request = self.signer.build("DELETE", "cancel_all_orders", venue_symbol)
            await self.http.signed_action(request, what=f"cancel all {venue_symbol}", market=venue_symbol)
            self.sent += 1

    # ------------------------------------------------------------------------------------------- reads

    async def active_orders(self, symbol: str | None = None) -> list[OrderInfo]:
        """Open orders (`GET /api/v1/orders`, marketType PERP), of `symbol` only when given; rows that cannot be
        read are skipped (logged)."""
        venue_symbol = (await self.market_data.market(symbol)).venue_symbol if symbol else None
        build = self.signer.builder("GET", "get_open_orders", market_type="PERP", symbol=venue_symbol)
        rows = await self.http.signed_read(build, what="GET /api/v1/orders", market=venue_symbol)
        if not isinstance(rows, list):
            raise BackpackDataError(f"GET /api/v1/orders: body is {type(rows).__name__}", venue_symbol)
        out = []
        for row in rows:
            try:
                out.append(self._parse(row, "open order", venue_symbol or ""))
            except BackpackDataError as exc:
                log.warning("%s: open order skipped: %s", self.venue, exc)
        return out

    async def _open_order(self, venue_symbol: str, **query: Any) -> OrderInfo | None:
        build = self.signer.builder("GET", "get_open_order", venue_symbol, **query)
        try:
            row = await self.http.signed_read(build, what=f"GET /api/v1/order {query}", market=venue_symbol)
        except BackpackRejectedError as exc:
            if exc.code == "RESOURCE_NOT_FOUND":
                return None
            raise
        return self._parse(row, "GET /api/v1/order", venue_symbol)

    async def _history(
        self, venue_symbol: str, match: Callable[[dict[str, Any]], bool], **query: Any
    ) -> OrderInfo | None:
        build = self.signer.builder("GET", "get_order_history", HISTORY_PAGE, 0, symbol=venue_symbol, **query)
        rows = await self.http.signed_read(build, what="GET /wapi/v1/history/orders", market=venue_symbol)
        if not isinstance(rows, list):
            raise BackpackDataError(
                f"GET /wapi/v1/history/orders: body is {type(rows).__name__}", venue_symbol
            )
        for row in rows:
            if isinstance(row, dict) and match(row):
                return self._parse(row, "order history", venue_symbol)
        return None

    async def find_by_client_id(self, venue_symbol: str, client_order_id: str) -> OrderInfo | None:
        """The order of `client_order_id` on `venue_symbol`: open (`GET /api/v1/order?clientId`) or finished (the
        order history), None when the venue does not know it."""
        cid = self._wire_id(client_order_id, venue_symbol)
        found = await self._open_order(venue_symbol, client_id=cid)
        if found is None:
            found = await self._history(venue_symbol, lambda row: str(row.get("clientId")) == str(cid))
        if found is not None and found.client_order_id != client_order_id:
            from dataclasses import replace

            found = replace(found, client_order_id=client_order_id)
        return found

    async def order_info(
        self, symbol: str, *, order_id: str | None, client_order_id: str | None
    ) -> OrderInfo | None:
        """One order by venue id or client order id, open or finished; None when unknown.

        Raises:
            ValueError: neither or both given."""
        if (order_id is None) == (client_order_id is None):
            raise ValueError(f"{self.venue}: give exactly one of order_id and client_order_id")
        m = await self.market_data.market(symbol)
        if client_order_id is not None:
            return await self.find_by_client_id(m.venue_symbol, client_order_id)
        assert order_id is not None
        found = await self._open_order(m.venue_symbol, order_id=order_id)
        if found is None:
            found = await self._history(
                m.venue_symbol, lambda row: str(row.get("id")) == order_id, order_id=order_id
            )
        return found
