"""Paradex orders in the simulator (`OrdersMixin` of `ParadexTrading`): `POST /v1/orders` validated and handed to
the engine, cancels, and the `OrderResp` bodies.

Order body (`paradex_py.common.order.Order.dump_to_dict()`): `market`, `side` BUY/SELL, `size`, `type`
LIMIT/MARKET, `instruction` GTC/POST_ONLY/IOC, `price` (LIMIT; ignored for MARKET: no price band is modelled),
`client_id` ("" = none), `flags` (`REDUCE_ONLY` only), `signature` + `signature_timestamp` (required, **never
verified**: the simulator does not re-implement Paradex's Stark typed-data hashing), `recv_window` (not checked),
`stp` (accepted; the engine always cancels the resting order of a self-trade, so responses say `EXPIRE_MAKER`).

Rejections: malformed body or unsupported feature (other order types, RPI, trigger prices, other flags,
MARKET + POST_ONLY) -> 400 `VALIDATION_ERROR`; unknown market -> 400 `MARKET_NOT_FOUND`; price off the tick or
size off the step -> 400 `INVALID_REQUEST_PARAMETER` (a guess: not recorded); a client id already used by the
account -> 400 `DUPLICATED_CLIENT_ID`. Everything the venue decides after accepting the order is an order that is
created and then `CLOSED` with `wire.paradex_cancel_reason`: `NOT_ENOUGH_MARGIN` and `ORDER_SIZE_BELOW_MIN`
(recorded), `POST_ONLY_WOULD_CROSS`, `REDUCE_ONLY_WOULD_INCREASE`, `IOC_REMAINDER`, `FAULT_INJECTED`, ... (the
engine's reason names, not recorded). A fully filled order is `CLOSED` with `cancel_reason: ""`.
Unknown / foreign order id -> 400 `ORDER_ID_NOT_FOUND`, unknown client id -> 400 `CLIENT_ORDER_ID_NOT_FOUND`,
cancelling a closed order -> 400 `ORDER_IS_CLOSED` (the spec declares 400 for every error of these paths).

Ids are decimal strings of the engine's sequences (orders, fills, funding payments); a position's id is
`<account>-<market>` as recorded. Money, prices and sizes are plain decimal strings of the engine's exact
`Decimal`s (trailing zeros removed). `seq_no` is a process-wide increasing number (epoch ns or later).
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from simulator.engine import (
    Account,
    Order,
    OrderNotFoundError,
    OrderNotOpenError,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from simulator.paradex.errors import ParadexApiError
from simulator.paradex.state import OrderMeta, ParadexState
from simulator.paradex.wire import (
    ENGINE_STP,
    INSTRUCTIONS,
    ORDER_TYPES,
    SIDES,
    STP_MODES,
    choice,
    dec_text,
    paged,
    paradex_cancel_reason,
    parse_decimal,
)

log = logging.getLogger("perparb.simulator")


class OrdersMixin(ParadexState):
    """Order entry, cancels and order bodies (module docstring)."""

    def submit(self, account: Account, body: Any) -> dict[str, Any]:
        """`POST /v1/orders`: validate, hand to the engine, answer the `OrderResp` with status NEW.

        Raises:
            ParadexApiError: 400 for a body the venue refuses before queueing (module docstring).
        """
        if not isinstance(body, dict):
            raise ParadexApiError(400, "VALIDATION_ERROR", "body must be a JSON object (OrderRequest)")
        market = body.get("market")
        if not isinstance(market, str) or not market:
            raise ParadexApiError(400, "VALIDATION_ERROR", "market is required")
        side = choice(SIDES, body.get("side"))
        if side is None:
            raise ParadexApiError(
                400, "VALIDATION_ERROR", f"side must be BUY or SELL, got {body.get('side')!r}"
            )
        order_type = choice(ORDER_TYPES, body.get("type"))
        if order_type is None:
            raise ParadexApiError(
                400, "VALIDATION_ERROR", f"order type {body.get('type')!r} is not simulated (LIMIT, MARKET)"
            )
        instruction = body.get("instruction") or "GTC"
        tif = choice(INSTRUCTIONS, instruction)
        if tif is None:
            raise ParadexApiError(
                400, "VALIDATION_ERROR", f"instruction {instruction!r} is not simulated (GTC, POST_ONLY, IOC)"
            )
        if order_type is OrderType.MARKET and tif is TimeInForce.POST_ONLY:
            raise ParadexApiError(400, "VALIDATION_ERROR", "a MARKET order cannot be POST_ONLY")
        size = parse_decimal(body.get("size"), "size", positive=True)
        price: Decimal | None = None
        if order_type is OrderType.LIMIT:
            price = parse_decimal(body.get("price"), "price", positive=True)
        if body.get("trigger_price") not in (None, "", "0"):
            raise ParadexApiError(400, "VALIDATION_ERROR", "trigger orders are not simulated")
        flags = body.get("flags") or []
        if not isinstance(flags, list) or any(f != "REDUCE_ONLY" for f in flags):
            raise ParadexApiError(400, "VALIDATION_ERROR", f"flags {flags!r}: only REDUCE_ONLY is simulated")
        client_id = body.get("client_id") or ""
        if not isinstance(client_id, str):
            raise ParadexApiError(400, "VALIDATION_ERROR", "client_id must be a string")
        signature, stamp = body.get("signature"), body.get("signature_timestamp")
        if not isinstance(signature, str) or not signature:
            raise ParadexApiError(400, "VALIDATION_ERROR", "signature is required (it is not verified)")
        if isinstance(stamp, bool) or not isinstance(stamp, int):
            raise ParadexApiError(400, "VALIDATION_ERROR", "signature_timestamp (ms) is required")
        stp = body.get("stp")
        if stp is not None and stp not in STP_MODES:
            raise ParadexApiError(400, "VALIDATION_ERROR", f"stp must be one of {STP_MODES}, got {stp!r}")
        state = self.engine.markets.get(market)
        if state is None:
            raise ParadexApiError(400, "MARKET_NOT_FOUND", f"market {market} not found")
        spec = state.spec
        if price is not None and price % spec.tick_size:
            raise ParadexApiError(
                400, "INVALID_REQUEST_PARAMETER", f"price {price} is not a multiple of {spec.tick_size}"
            )
        if size % spec.size_step:
            raise ParadexApiError(
                400, "INVALID_REQUEST_PARAMETER", f"size {size} is not a multiple of {spec.size_step}"
            )
        if client_id and client_id in account.client_ids:
            raise ParadexApiError(400, "DUPLICATED_CLIENT_ID", f"client_id {client_id} is already used")
        address = self.addresses[account.account_id]
        order = self.engine.submit(
            OrderRequest(
                account.account_id,
                market,
                side,
                size,
                price,
                order_type,
                tif,
                bool(flags),
                client_id or None,
            )
        )
        self._orders[order.order_id] = OrderMeta(address, instruction, stamp)
        if client_id:
            self._client_orders[(account.account_id, client_id)] = order.order_id
        if order.status is OrderStatus.REJECTED:
            log.info(
                "paradex order %d closed at once: %s", order.order_id, paradex_cancel_reason(order.reason)
            )
        self._pending.orders.setdefault(order.order_id, order)
        self._schedule_flush()
        return self.order_json(order, new=True)

    def _order_of(self, account: Account, order_id: str) -> Order:
        try:
            order = account.orders.get(int(order_id))
        except ValueError:
            order = None
        if order is None:
            raise ParadexApiError(400, "ORDER_ID_NOT_FOUND", f"order {order_id} not found")
        return order

    def _order_by_client_id(self, account: Account, client_id: str, market: str | None = None) -> Order:
        order_id = self._client_orders.get((account.account_id, client_id))
        order = account.orders.get(order_id) if order_id is not None else None
        if order is None or (market and order.market != market):
            raise ParadexApiError(400, "CLIENT_ORDER_ID_NOT_FOUND", f"client order id {client_id} not found")
        return order

    def _cancel(self, account: Account, order: Order) -> None:
        try:
            self.engine.cancel(account.account_id, order.order_id)
        except OrderNotOpenError:
            raise ParadexApiError(400, "ORDER_IS_CLOSED", f"order {order.order_id} is closed") from None
        except OrderNotFoundError:
            raise ParadexApiError(400, "ORDER_ID_NOT_FOUND", f"order {order.order_id} not found") from None

    def cancel(self, account: Account, order_id: str) -> None:
        """`DELETE /v1/orders/{id}`. Raises ParadexApiError 400 ORDER_ID_NOT_FOUND / ORDER_IS_CLOSED."""
        self._cancel(account, self._order_of(account, order_id))

    def cancel_by_client_id(self, account: Account, client_id: str, market: str | None) -> None:
        """`DELETE /v1/orders/by_client_id/{cid}`. Raises ParadexApiError 400 CLIENT_ORDER_ID_NOT_FOUND /
        ORDER_IS_CLOSED."""
        self._cancel(account, self._order_by_client_id(account, client_id, market))

    def cancel_all(self, account: Account, market: str | None) -> None:
        """`DELETE /v1/orders[?market]`. Raises ParadexApiError 400 MARKET_NOT_FOUND for an unknown market."""
        if market and market not in self.engine.markets:
            raise ParadexApiError(400, "MARKET_NOT_FOUND", f"market {market} not found")
        self.engine.cancel_all(account.account_id, market or None)

    def open_orders(self, account: Account, market: str | None) -> dict[str, Any]:
        """`GET /v1/orders` body: resting orders, oldest first."""
        self.engine.sync()
        rows = [o for o in account.open_orders.values() if not market or o.market == market]
        return {"results": [self.order_json(o) for o in sorted(rows, key=lambda o: o.order_id)]}

    def order(self, account: Account, order_id: str) -> dict[str, Any]:
        """`GET /v1/orders/{id}` body. Raises ParadexApiError 400 ORDER_ID_NOT_FOUND."""
        self.engine.sync()
        return self.order_json(self._order_of(account, order_id))

    def order_by_client_id(self, account: Account, client_id: str) -> dict[str, Any]:
        """`GET /v1/orders/by_client_id/{cid}` body. Raises ParadexApiError 400 CLIENT_ORDER_ID_NOT_FOUND."""
        self.engine.sync()
        return self.order_json(self._order_by_client_id(account, client_id))

    def orders_history(self, account: Account, query: Any) -> dict[str, Any]:
        """`GET /v1/orders-history` body (paged, newest first, filters in the module docstring)."""
        self.engine.sync()
        rows = [self.order_json(o) for o in sorted(account.orders.values(), key=lambda o: -o.order_id)]
        for name in ("market", "client_id", "side", "status", "type"):
            wanted = query.get(name)
            if wanted:
                rows = [r for r in rows if r[name] == wanted]
        return paged(rows, "orders-history", query)

    def order_json(self, order: Order, *, new: bool = False) -> dict[str, Any]:
        """`OrderResp` of an engine order; `new` = as just queued (status NEW, nothing filled)."""
        meta = self._orders.get(order.order_id)
        now = self.clock.now_ms()
        if new:
            status, remaining, avg, reason = "NEW", order.size, "", ""
        else:
            status = "OPEN" if order.resting else "CLOSED"
            # a closed order keeps its unfilled size (rest_order_closed_user_canceled.json: remaining = size)
            remaining = order.size - order.filled
            avg = dec_text(order.avg_fill_price) if order.avg_fill_price is not None else ""
            reason = (
                paradex_cancel_reason(order.reason)
                if status == "CLOSED" and order.status is not OrderStatus.FILLED
                else ""
            )
        return {
            "id": str(order.order_id),
            "account": hex(meta.address) if meta else hex(self.addresses.get(order.account_id, 0)),
            "market": order.market,
            "side": "BUY" if order.side is Side.BUY else "SELL",
            "type": "LIMIT" if order.type is OrderType.LIMIT else "MARKET",
            "size": dec_text(order.size),
            "remaining_size": dec_text(remaining),
            "price": dec_text(order.price) if order.price is not None else "0",
            "status": status,
            "created_at": order.created_ms,
            "last_updated_at": order.created_ms if new else order.updated_ms,
            "timestamp": meta.signature_timestamp if meta else order.created_ms,
            "cancel_reason": reason,
            "client_id": str(order.client_id) if order.client_id is not None else "",
            "seq_no": self.next_seq(),
            "instruction": meta.instruction if meta else order.tif.name,
            "avg_fill_price": avg,
            "stp": ENGINE_STP,
            "received_at": order.created_ms,
            "published_at": now,
            "flags": ["REDUCE_ONLY"] if order.reduce_only else [],
            "trigger_price": "0",
        }
