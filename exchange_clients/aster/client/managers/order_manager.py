"""Orders of the Aster client: placement, cancellation and order queries.

Requests (asterdex/api-docs@265e024 V1 / V3 "New Order (TRADE)", "Cancel Order", "Cancel All Open Orders", "Query
Order", "Current All Open Orders"), signed by the account's signer and sent by the venue's HTTP stack:
* limit orders: `type=LIMIT`, `timeInForce` GTC, IOC or GTX (Good-Till-Crossing = post-only), `reduceOnly`,
  `newClientOrderId` always (the client order id itself, `helpers.venue_client_id`), `newOrderRespType=RESULT`
  (the answer carries the order's state after matching);
* bounded market orders: a `LIMIT` `IOC` at the worst price `market_order_limit_price` allows on the live book
  (Aster's `MARKET` type takes no price: it would be unbounded); `prepare_market` does the book bound, rounding,
  signing (a worker thread for V3) and takes the weight slot; the returned coroutine only sends;
* cancel by `orderId` or `origClientOrderId`; cancel-all: `DELETE allOpenOrders` per symbol;
* order status: `GET order` (by id or client id; -2013 "Order does not exist." -> None); open orders:
  `GET openOrders` (weight 1 for a symbol, 40 for all).

Prices and sizes are rounded only by `exchange_clients.base.trading` (tick: BUY down / SELL up; step: down, at
least LOT_SIZE minQty); an order below MIN_NOTIONAL is refused before sending (Aster -4164) unless reduce-only.

Answers: the order object (`converters.parse_order`): NEW -> OPEN, FILLED, PARTIALLY_FILLED, CANCELED / EXPIRED ->
CANCELED with the filled part (an IOC remainder), a GTX that would have crossed (EXPIRED, nothing filled) ->
REJECTED "post-only order would cross"; a refusal `{"code","msg"}` -> `AsterRejectedError` with the code.

Idempotent retries: a placement whose outcome is unknown (timeout, 5xx, connection lost, 429) is looked up by its
client order id (`GET order?origClientOrderId=`); only when the venue does not know it is it sent again, re-signed
(fresh timestamp / nonce) with the SAME client order id, once. So a retry never doubles an order (and the venue
itself refuses a second open order with a used client id).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from exchange_clients.aster.client.managers.market_data import MarketDataManager
from exchange_clients.aster.client.utils.caching import AsterMarket
from exchange_clients.aster.client.utils.converters import parse_order
from exchange_clients.aster.client.utils.helpers import venue_client_id
from exchange_clients.aster.common import (
    AsterDataError,
    AsterRateLimitedError,
    AsterRejectedError,
    AsterUnavailableError,
)
from exchange_clients.aster.http import AsterHttp, Prepared
from exchange_clients.base.client import bound_market_order, check_min_notional, round_order_size
from exchange_clients.base.trading import OrderInfo, OrderType, RoundingError, Side, TimeInForce

log = logging.getLogger("perparb.aster.client")

NO_SUCH_ORDER = -2013
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_TIF = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.POST_ONLY: "GTX"}


def plain(value: Decimal) -> str:
    """Decimal as plain text without exponent ("0.001", "65000")."""
    return format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")


class OrderManager:
    """Placement, cancellation and order reads of one account.

    Args:
        http: the venue's HTTP stack (with the account's signer); market_data: markets and books;
        max_book_age_seconds: market orders need a book at most this old.

    Attributes:
        sent: orders accepted (tests, metrics); traded: Aster symbols the client placed orders on (fills are read
        per symbol: `userTrades` requires one).
    """

    def __init__(
        self, http: AsterHttp, market_data: MarketDataManager, *, max_book_age_seconds: float = 10.0
    ) -> None:
        self.http = http
        self.venue = http.config.venue
        self.market_data = market_data
        self.max_book_age = max_book_age_seconds
        self.sent = 0
        self.traded: set[str] = set()
        self.client_ids: dict[str, str] = {}  # venue order id -> client order id

    def client_id_of(self, client: str | None) -> str | None:
        return client

    @staticmethod
    def _rejected(m: AsterMarket) -> Callable[[str], AsterRejectedError]:
        return lambda message: AsterRejectedError(message, m.venue_symbol)

    def _size(self, m: AsterMarket, quantity: Decimal) -> Decimal:
        return round_order_size(quantity, size_step=m.step, min_size=m.min_qty, rejected=self._rejected(m))

    def _price(self, m: AsterMarket, price: Decimal, side: Side) -> Decimal:
        try:
            return m.round_price(price, side)
        except RoundingError as exc:
            raise AsterRejectedError(str(exc), m.venue_symbol) from None

    def _check_notional(self, m: AsterMarket, size: Decimal, price: Decimal, reduce_only: bool) -> None:
        check_min_notional(
            size, price, min_notional=m.min_notional, reduce_only=reduce_only, rejected=self._rejected(m)
        )

    def _params(
        self,
        m: AsterMarket,
        side: Side,
        size: Decimal,
        price: Decimal,
        tif: TimeInForce,
        reduce_only: bool,
        client_id: str,
    ) -> list[tuple[str, str]]:
        params = [
            ("symbol", m.venue_symbol),
            ("side", "BUY" if side is Side.BUY else "SELL"),
            ("type", "LIMIT"),
            ("timeInForce", _TIF[tif]),
            ("quantity", plain(size)),
            ("price", plain(price)),
            ("newClientOrderId", client_id),
            ("newOrderRespType", "RESULT"),
        ]
        if reduce_only:
            params.append(("reduceOnly", "true"))
        return params

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
        """Limit order: GTC, GTX (post-only) with `post_only`, or `time_in_force` (IOC). Rounded on the grid never
        worse than `price`.

        Raises:
            AsterRejectedError: grid, minimum notional, client id or venue refusal; AsterUnavailableError /
            AsterRateLimitedError: outcome still unknown after the client-id lookup and one retry.
        """
        m = await self.market_data.market(symbol)
        size, px = self._size(m, quantity), self._price(m, price, side)
        self._check_notional(m, size, px, reduce_only)
        tif = time_in_force or (TimeInForce.POST_ONLY if post_only else TimeInForce.GTC)
        cid = venue_client_id(client_order_id, m.venue_symbol)
        params = self._params(m, side, size, px, tif, reduce_only, cid)
        what = f"order {cid} {side.value} {size} {m.venue_symbol} @ {px} {_TIF[tif]}"
        prepared = await self.http.prepare("POST", "order", params, what=what, market=m.venue_symbol)
        return await self._submit(m, prepared, params, cid)

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
        """Phase one of a market order: the book bound (`market_order_limit_price` on the tick, BUY down / SELL up
        so the bound never widens), the size down to the step, the signature and the weight slot. The returned
        coroutine function only sends.

        Raises (nothing sent): StaleBookError, AsterRejectedError (grid, minimum notional, client id)."""
        m, book = await self.market_data.book(symbol)
        size, bound = bound_market_order(
            book,
            side,
            quantity,
            max_slippage_bps=max_slippage_bps,
            max_age_seconds=self.max_book_age,
            size_step=m.step,
            min_size=m.min_qty,
            tick=m.tick,
            min_notional=m.min_notional,
            reduce_only=reduce_only,
            venue=self.venue,
            rejected=self._rejected(m),
        )
        cid = venue_client_id(client_order_id, m.venue_symbol)
        params = self._params(m, side, size, bound, TimeInForce.IOC, reduce_only, cid)
        what = f"order {cid} {side.value} {size} {m.venue_symbol} @ {bound} IOC (market)"
        prepared = await self.http.prepare(
            "POST", "order", params, what=what, market=m.venue_symbol, take_slot=True
        )

        async def send() -> OrderInfo:
            info = await self._submit(m, prepared, params, cid)
            return replace(info, order_type=OrderType.MARKET)

        return send

    async def _submit(
        self, m: AsterMarket, prepared: Prepared, params: list[tuple[str, str]], cid: str
    ) -> OrderInfo:
        self.traded.add(m.venue_symbol)
        for attempt in range(2):
            try:
                body = await self.http.send(prepared)
            except (AsterUnavailableError, AsterRateLimitedError) as exc:
                found = await self.find_by_client_id(m.venue_symbol, cid)
                if found is not None:
                    log.info("%s: %s; found by client order id: %s", self.venue, exc, found.status.value)
                    return found
                if attempt == 1:
                    raise
                log.warning(
                    "%s: %s: outcome unknown (%s); not on the venue, sending again",
                    self.venue,
                    prepared.what,
                    type(exc).__name__,
                )
                prepared = await self.http.prepare(
                    "POST", "order", params, what=prepared.what.split(" ", 2)[-1], market=m.venue_symbol
                )
                continue
            self.sent += 1
            return self._order(body, prepared.what, m.venue_symbol)
        raise AssertionError("unreachable")  # pragma: no cover

    def _order(self, body: Any, what: str, market: str) -> OrderInfo:
        if not isinstance(body, dict):
            raise AsterDataError(f"{what}: answer is {type(body).__name__}, expected an order object", market)
        try:
            info = parse_order(
                body,
                venue=self.venue,
                symbol_of=self.market_data.markets.symbol_of,
                client_id_of=self.client_id_of,
            )
        except ValueError as exc:
            raise AsterDataError(f"{what}: {exc}", market) from None
        if info.client_order_id:
            self.client_ids[info.order_id] = info.client_order_id
        return info

    # ------------------------------------------------------------------------------------------- cancels

    def _order_ref(self, order_id: str | None, client_order_id: str | None, market: str) -> tuple[str, str]:
        if (order_id is None) == (client_order_id is None):
            raise ValueError(f"{self.venue}: give exactly one of order_id and client_order_id")
        if order_id is not None:
            if not order_id.isdigit():
                raise AsterRejectedError(f"order id {order_id!r} is not an Aster orderId", market)
            return "orderId", order_id
        assert client_order_id is not None
        return "origClientOrderId", venue_client_id(client_order_id, market)

    async def cancel(self, symbol: str, *, order_id: str | None, client_order_id: str | None) -> None:
        """Cancel by venue order id or client order id (`DELETE order`).

        Raises:
            ValueError: neither or both given. AsterRejectedError: -2011 / -2013 (unknown or finished order) or a
            bad id."""
        m = await self.market_data.market(symbol)
        key, value = self._order_ref(order_id, client_order_id, m.venue_symbol)
        await self.http.write(
            "DELETE",
            "order",
            [("symbol", m.venue_symbol), (key, value)],
            what=f"cancel {value}",
            market=m.venue_symbol,
        )
        self.sent += 1

    async def cancel_all(self, symbol: str | None) -> None:
        """Cancel every open order (of `symbol` when given): `DELETE allOpenOrders` per symbol with open orders."""
        if symbol is not None:
            symbols = [(await self.market_data.market(symbol)).venue_symbol]
        else:
            symbols = sorted(
                {
                    self.market_data.markets.get(o.symbol).venue_symbol  # type: ignore[union-attr]
                    for o in await self.active_orders(None)
                    if self.market_data.markets.get(o.symbol) is not None
                }
            )
        for venue_symbol in symbols:
            await self.http.write(
                "DELETE", "allOpenOrders", [("symbol", venue_symbol)], what="cancel all", market=venue_symbol
            )
            self.sent += 1

    # ------------------------------------------------------------------------------------------- reads

    async def active_orders(self, symbol: str | None = None) -> list[OrderInfo]:
        """Open orders (of `symbol` when given), oldest first. Rows that cannot be read are skipped (logged)."""
        params: list[tuple[str, str]] = []
        venue_symbol = None
        if symbol:
            venue_symbol = (await self.market_data.market(symbol)).venue_symbol
            params.append(("symbol", venue_symbol))
        rows = await self.http.signed_read("openOrders", params, market=venue_symbol)
        if not isinstance(rows, list):
            raise AsterDataError(f"openOrders: body is {type(rows).__name__}", venue_symbol)
        out = []
        for row in rows:
            if not isinstance(row, dict):
                continue
            try:
                out.append(
                    parse_order(
                        row,
                        venue=self.venue,
                        symbol_of=self.market_data.markets.symbol_of,
                        client_id_of=self.client_id_of,
                    )
                )
            except ValueError as exc:
                log.warning("%s: open order skipped: %s", self.venue, exc)
        return sorted(out, key=lambda o: o.updated_at or _EPOCH)

    async def _query(self, venue_symbol: str, key: str, value: str) -> OrderInfo | None:
        try:
            body = await self.http.signed_read(
                "order", [("symbol", venue_symbol), (key, value)], market=venue_symbol
            )
        except AsterRejectedError as exc:
            if exc.code == NO_SUCH_ORDER:
                return None
            raise
        return self._order(body, f"GET order {value}", venue_symbol)

    async def find_by_client_id(self, venue_symbol: str, client_id: str) -> OrderInfo | None:
        """The order of `client_id` (`GET order?origClientOrderId=`), or None when the venue does not know it."""
        return await self._query(venue_symbol, "origClientOrderId", client_id)

    async def order_info(
        self, symbol: str, *, order_id: str | None, client_order_id: str | None
    ) -> OrderInfo | None:
        """One order by venue id or client order id, open or finished; None when unknown.

        Raises:
            ValueError: neither or both given."""
        m = await self.market_data.market(symbol)
        if order_id is not None and not order_id.isdigit():
            if client_order_id is None:
                return None
        key, value = self._order_ref(order_id, client_order_id, m.venue_symbol)
        return await self._query(m.venue_symbol, key, value)
