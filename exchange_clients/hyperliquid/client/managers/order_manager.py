"""Orders of the Hyperliquid client: placement, cancellation and order queries.

Actions (docs for-developers/api/exchange-endpoint.md) are built and signed with the SDK's signing functions
(`client/utils/signing.py`: order wire `{a,b,p,s,r,t,c}`, `sign_l1_action`) in a worker thread
(`asyncio.to_thread`: eth-account signing is pure Python) and POSTed by the venue's HTTP stack:
* limit orders: tif "Gtc", "Ioc" or "Alo" (add liquidity only = post-only), reduce-only, a cloid always;
* bounded market orders: an "Ioc" limit at the worst price `market_order_limit_price` allows on the live book
  (rounded on the price grid in the direction that does not widen the bound); `prepare_market` does the book
  bound, rounding, signing and takes the weight slot; the returned coroutine only sends;
* cancel by oid (`cancel`) or by cloid (`cancelByCloid`); cancel-all of a market is one batched `cancel`;
* order status: `orderStatus` by oid or cloid (weight 2), open orders: `frontendOpenOrders` (weight 20).

Prices and sizes are rounded only by `exchange_clients.base.trading` (`round_price_significant`: 5 significant
figures, at most 6 - szDecimals decimals, BUY down / SELL up; `round_quantity`: down to szDecimals).

Answers (`statuses[0]`): `{"resting":{"oid"}}` -> OPEN; `{"filled":{"totalSz","avgPx","oid"}}` -> FILLED, or
CANCELED with the filled part for an IOC that filled partly (the rest is cancelled at once); `{"error": text}` ->
a REJECTED `OrderInfo` (reason = text) for an IOC that matched nothing or a post-only that would have crossed
(normal outcomes), `HyperliquidRejectedError` for anything else (e.g. "Order must have minimum value of $10.").

Idempotent retries: a placement whose outcome is unknown (timeout, 5xx, connection lost, 429) is looked up by its
cloid (`orderStatus`); only when the venue does not know it is it sent again, re-signed with a fresh nonce and the
SAME cloid, once. So a retry never doubles an order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from exchange_clients.base.client import bound_market_order, check_min_notional, round_order_size
from exchange_clients.base.rate_limit import ORDER
from exchange_clients.base.trading import (
    OrderInfo,
    OrderStatus,
    OrderType,
    RoundingError,
    Side,
    TimeInForce,
    significant_price_step,
)
from exchange_clients.hyperliquid.client.managers.market_data import MarketDataManager
from exchange_clients.hyperliquid.client.utils.caching import HyperliquidMarket
from exchange_clients.hyperliquid.client.utils.converters import (
    action_statuses,
    parse_order,
    parse_order_answer,
    parse_order_status_body,
)
from exchange_clients.hyperliquid.client.utils.helpers import belongs_to_dex
from exchange_clients.hyperliquid.client.utils.signing import (
    ActionSigner,
    ClientOrderIds,
    NonceClock,
    SigningError,
    cancel_action,
    cancel_by_cloid_action,
    order_action,
    order_wire,
)
from exchange_clients.hyperliquid.common import (
    HyperliquidDataError,
    HyperliquidRateLimitedError,
    HyperliquidRejectedError,
    HyperliquidUnavailableError,
)
from exchange_clients.hyperliquid.funding_adapter.fetchers import PRICE_SIGNIFICANT_FIGURES
from exchange_clients.hyperliquid.http import HyperliquidHttp, exchange_weight

log = logging.getLogger("perparb.hyperliquid.client")

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class OrderManager:
    """Placement, cancellation and order reads of one account on one perp dex.

    Args:
        http: the venue's HTTP stack; market_data: markets and books; signer: the agent key's signer;
        nonces: the signer's nonce clock; ids: client order id <-> cloid; account_address: the account (reads);
        max_book_age_seconds: market orders need a book at most this old.
    """

    def __init__(
        self,
        http: HyperliquidHttp,
        market_data: MarketDataManager,
        signer: ActionSigner,
        nonces: NonceClock,
        ids: ClientOrderIds,
        account_address: str,
        *,
        max_book_age_seconds: float = 10.0,
    ) -> None:
        self.http = http
        self.venue = http.venue
        self.market_data = market_data
        self.signer = signer
        self.nonces = nonces
        self.ids = ids
        self.user = account_address
        self.max_book_age = max_book_age_seconds
        self.sent = 0  # actions accepted (tests, metrics)

    # ------------------------------------------------------------------------------------------- signing

    async def signed(self, action: dict[str, Any]) -> dict[str, Any]:
        """The `/exchange` payload of `action`, signed with a fresh nonce in a worker thread."""
        return await asyncio.to_thread(self.signer.payload, action, self.nonces.next())

    def _wire(
        self,
        m: HyperliquidMarket,
        side: Side,
        size: Decimal,
        price: Decimal,
        tif: TimeInForce,
        reduce_only: bool,
        cloid: str,
    ) -> dict[str, Any]:
        try:
            return order_wire(
                m.asset,
                is_buy=side is Side.BUY,
                price=price,
                size=size,
                reduce_only=reduce_only,
                tif=tif,
                cloid=cloid,
            )
        except SigningError as exc:
            raise HyperliquidRejectedError(str(exc), m.coin, venue=self.venue) from None

    def _rejected(self, m: HyperliquidMarket) -> Callable[[str], HyperliquidRejectedError]:
        return lambda message: HyperliquidRejectedError(message, m.coin, venue=self.venue)

    def _size(self, m: HyperliquidMarket, quantity: Decimal) -> Decimal:
        """`quantity` down to szDecimals (size step 10^-szDecimals); no minimum size, the $10 notional applies."""
        return round_order_size(quantity, size_step=m.size_step, min_size=None, rejected=self._rejected(m))

    def _price(self, m: HyperliquidMarket, price: Decimal, side: Side) -> Decimal:
        try:
            return m.round_price(price, side)
        except RoundingError as exc:
            raise HyperliquidRejectedError(str(exc), m.coin, venue=self.venue) from None

    def _check_notional(self, m: HyperliquidMarket, size: Decimal, price: Decimal, reduce_only: bool) -> None:
        check_min_notional(
            size, price, min_notional=m.min_notional, reduce_only=reduce_only, rejected=self._rejected(m)
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
        """Limit order: GTC, or ALO (post-only) with `post_only`, or `time_in_force` (IOC). The price is rounded
        on the grid never worse than `price`, the size down to szDecimals.

        Raises:
            HyperliquidRejectedError: grid, minimum notional or venue refusal; HyperliquidUnavailableError /
            HyperliquidRateLimitedError: outcome still unknown after the cloid lookup and one retry.
        """
        m = await self.market_data.market(symbol)
        size, px = self._size(m, quantity), self._price(m, price, side)
        self._check_notional(m, size, px, reduce_only)
        tif = time_in_force or (TimeInForce.POST_ONLY if post_only else TimeInForce.GTC)
        cloid = self.ids.cloid(client_order_id)
        wire = self._wire(m, side, size, px, tif, reduce_only, cloid)
        payload = await self.signed(order_action([wire]))
        return await self._submit(m, payload, wire, side, size, px, tif, reduce_only, client_order_id, cloid)

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
        """Phase one of a market order: the book bound (`market_order_limit_price` with the price step at the
        touch), rounding it on the grid without widening it (BUY down, SELL up), the size down to szDecimals,
        the signature (worker thread) and the weight slot. The returned coroutine function only sends.

        Raises (nothing sent): StaleBookError, HyperliquidRejectedError (grid, minimum notional)."""
        m, book = await self.market_data.book(symbol)
        size, px = bound_market_order(
            book,
            side,
            quantity,
            max_slippage_bps=max_slippage_bps,
            max_age_seconds=self.max_book_age,
            size_step=m.size_step,
            min_size=None,
            tick=lambda touch: significant_price_step(
                touch, significant_figures=PRICE_SIGNIFICANT_FIGURES, max_decimals=m.max_price_decimals
            ),
            min_notional=m.min_notional,
            reduce_only=reduce_only,
            venue=self.venue,
            rejected=self._rejected(m),
            reprice=lambda bound: self._price(m, bound, side),
        )
        cloid = self.ids.cloid(client_order_id)
        wire = self._wire(m, side, size, px, TimeInForce.IOC, reduce_only, cloid)
        payload = await self.signed(order_action([wire]))
        await self.http.limiter.acquire(exchange_weight(1), priority=ORDER)

        async def send() -> OrderInfo:
            return await self._submit(
                m,
                payload,
                wire,
                side,
                size,
                px,
                TimeInForce.IOC,
                reduce_only,
                client_order_id,
                cloid,
                slot_taken=True,
            )

        return send

    async def _submit(
        self,
        m: HyperliquidMarket,
        payload: dict[str, Any],
        wire: dict[str, Any],
        side: Side,
        size: Decimal,
        price: Decimal,
        tif: TimeInForce,
        reduce_only: bool,
        client_order_id: str,
        cloid: str,
        *,
        slot_taken: bool = False,
    ) -> OrderInfo:
        what = f"order {client_order_id!r} (cloid {cloid}) {side.value} {size} {m.coin} @ {price} {tif.value}"
        for attempt in range(2):
            try:
                response = await self.http.exchange(
                    payload, what=what, market=m.coin, slot_taken=slot_taken and attempt == 0
                )
            except (HyperliquidUnavailableError, HyperliquidRateLimitedError) as exc:
                found = await self.find_by_cloid(cloid)
                if found is not None:
                    log.info("%s: %s; found by cloid: %s", self.venue, exc, found.status.value)
                    return found
                if attempt == 1:
                    raise
                log.warning(
                    "%s: %s: outcome unknown (%s); not on the venue, sending again", self.venue, what, exc
                )
                payload = await self.signed(payload["action"])
                continue
            self.sent += 1
            return self._order_answer(m, response, what, side, size, price, tif, reduce_only, client_order_id)
        raise AssertionError("unreachable")  # pragma: no cover

    def _order_answer(
        self,
        m: HyperliquidMarket,
        response: Any,
        what: str,
        side: Side,
        size: Decimal,
        price: Decimal,
        tif: TimeInForce,
        reduce_only: bool,
        client_order_id: str,
    ) -> OrderInfo:
        try:
            status = action_statuses(response, "order")[0]
        except (ValueError, IndexError) as exc:
            raise HyperliquidDataError(f"{what}: {exc}", m.coin, venue=self.venue) from None
        return parse_order_answer(
            status,
            OrderInfo(
                venue=self.venue,
                symbol=m.symbol,
                order_id="",
                client_order_id=client_order_id,
                side=side,
                order_type=OrderType.MARKET if tif is TimeInForce.IOC else OrderType.LIMIT,
                time_in_force=tif,
                price=price,
                quantity=size,
                filled_quantity=Decimal(0),
                status=OrderStatus.UNKNOWN,
                reduce_only=reduce_only,
            ),
            what=what,
            coin=m.coin,
        )

    # ------------------------------------------------------------------------------------------- cancels

    async def cancel(self, symbol: str, *, order_id: str | None, client_order_id: str | None) -> None:
        """Cancel by venue order id (`cancel`) or client order id (`cancelByCloid`).

        Raises:
            ValueError: neither or both given. HyperliquidRejectedError: "Order was never placed, already
            canceled, or filled." (venue-data/hyperliquid/rest_exchange_cancel_error_docexample.json) or a bad id.
        """
        if (order_id is None) == (client_order_id is None):
            raise ValueError(f"{self.venue}: give exactly one of order_id and client_order_id")
        m = await self.market_data.market(symbol)
        if order_id is not None:
            if not order_id.isdigit():
                raise HyperliquidRejectedError(
                    f"order id {order_id!r} is not a Hyperliquid oid", m.coin, venue=self.venue
                )
            action = cancel_action([(m.asset, int(order_id))])
        else:
            assert client_order_id is not None
            action = cancel_by_cloid_action([(m.asset, self.ids.cloid(client_order_id))])
        await self._cancel(m.coin, action, f"cancel {order_id or client_order_id}", 1)

    async def _cancel(self, coin: str, action: dict[str, Any], what: str, count: int) -> None:
        payload = await self.signed(action)
        response = await self.http.exchange(payload, what=what, market=coin, batch_length=count)
        try:
            statuses = action_statuses(response, "cancel")
        except ValueError as exc:
            raise HyperliquidDataError(f"{what}: {exc}", coin, venue=self.venue) from None
        errors = [str(s["error"]) for s in statuses if isinstance(s, dict) and "error" in s]
        self.sent += 1
        if errors:
            raise HyperliquidRejectedError(f"{what}: {'; '.join(errors)}", coin, venue=self.venue)

    async def cancel_all(self, symbol: str | None) -> None:
        """Cancel every open order of the dex (or of `symbol`) in one batched `cancel` action."""
        orders = await self.active_orders(symbol)
        if not orders:
            return
        cancels = []
        for order in orders:
            m = await self.market_data.market(order.symbol)
            cancels.append((m.asset, int(order.order_id)))
        await self._cancel(
            symbol or self.venue, cancel_action(cancels), f"cancel {len(cancels)} orders", len(cancels)
        )

    # ------------------------------------------------------------------------------------------- reads

    def _symbol(self, coin: str) -> str:
        return self.market_data.markets.symbol_of(coin)

    async def active_orders(self, symbol: str | None = None) -> list[OrderInfo]:
        """Open orders of the dex (`frontendOpenOrders`, user = the account), oldest first; of `symbol` only when
        given. Rows that cannot be read are skipped (logged)."""
        coin = (await self.market_data.market(symbol)).coin if symbol else None
        body: dict[str, Any] = {"type": "frontendOpenOrders", "user": self.user}
        if self.market_data.dex:
            body["dex"] = self.market_data.dex
        rows = await self.http.info(body, market=coin)
        if not isinstance(rows, list):
            raise HyperliquidDataError(
                f"frontendOpenOrders: body is {type(rows).__name__}", coin, venue=self.venue
            )
        out = []
        for row in rows:
            if not isinstance(row, dict) or not belongs_to_dex(
                str(row.get("coin", "")), self.market_data.dex
            ):
                continue
            if coin is not None and row.get("coin") != coin:
                continue
            try:
                out.append(
                    parse_order(
                        row,
                        "open",
                        venue=self.venue,
                        symbol_of=self._symbol,
                        client_id_of=self.ids.client_order_id,
                    )
                )
            except ValueError as exc:
                log.warning("%s: open order skipped: %s", self.venue, exc)
        return sorted(out, key=lambda o: o.updated_at or _EPOCH)

    async def find_by_cloid(self, cloid: str) -> OrderInfo | None:
        """The order of `cloid` (`orderStatus`, weight 2), or None when the venue does not know it."""
        body = await self.http.info({"type": "orderStatus", "user": self.user, "oid": cloid})
        try:
            return parse_order_status_body(
                body, venue=self.venue, symbol_of=self._symbol, client_id_of=self.ids.client_order_id
            )
        except ValueError as exc:
            raise HyperliquidDataError(f"orderStatus {cloid}: {exc}", venue=self.venue) from None

    async def order_info(
        self, symbol: str, *, order_id: str | None, client_order_id: str | None
    ) -> OrderInfo | None:
        """One order by venue oid or client order id (`orderStatus`), open or finished; None when unknown.

        Raises:
            ValueError: neither or both given."""
        if (order_id is None) == (client_order_id is None):
            raise ValueError(f"{self.venue}: give exactly one of order_id and client_order_id")
        if client_order_id is not None:
            return await self.find_by_cloid(self.ids.cloid(client_order_id))
        assert order_id is not None
        if not order_id.isdigit():
            return None
        body = await self.http.info({"type": "orderStatus", "user": self.user, "oid": int(order_id)})
        try:
            return parse_order_status_body(
                body, venue=self.venue, symbol_of=self._symbol, client_id_of=self.ids.client_order_id
            )
        except ValueError as exc:
            raise HyperliquidDataError(f"orderStatus {order_id}: {exc}", symbol, venue=self.venue) from None
