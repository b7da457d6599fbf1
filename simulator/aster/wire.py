"""Aster's spellings of the engine's values in the simulator: order statuses, order objects, decimal text.

Order object (Binance-futures shape; venue-data/aster/rest_order_post_docexample.json,
rest_batchOrders_post_market_2026-04.json): `orderId`, `symbol`, `status`, `clientOrderId`, `price`, `avgPrice`,
`origQty`, `executedQty`, `cumQty`, `cumQuote`, `timeInForce`, `type`, `reduceOnly`, `closePosition`, `side`,
`positionSide` "BOTH" (one-way mode), `stopPrice` "0", `workingType`, `priceProtect`, `origType`, `updateTime`
(ms), plus `time` on `GET order`.

| engine                                               | Aster `status` |
|------------------------------------------------------|----------------|
| OPEN                                                 | NEW            |
| PARTIALLY_FILLED (resting)                           | PARTIALLY_FILLED |
| FILLED                                               | FILLED         |
| CANCELLED by the user, a liquidation, reduce-only upkeep | CANCELED   |
| CANCELLED remainder of an IOC (IOC_REMAINDER, NO_LIQUIDITY, PRICE_BOUND, PARTIAL_FILL_FAULT) | EXPIRED |
| REJECTED POST_ONLY_WOULD_CROSS (a GTX that would take) | EXPIRED      |
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from simulator.engine import Order, OrderStatus, OrderType, Reason, Side, TimeInForce

EXPIRING = frozenset(
    {
        Reason.IOC_REMAINDER,
        Reason.NO_LIQUIDITY,
        Reason.PRICE_BOUND,
        Reason.PARTIAL_FILL_FAULT,
        Reason.POST_ONLY_WOULD_CROSS,
    }
)
TIF_WIRE = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.POST_ONLY: "GTX"}
WIRE_TIF = {
    "GTC": TimeInForce.GTC,
    "IOC": TimeInForce.IOC,
    "GTX": TimeInForce.POST_ONLY,
    "FOK": TimeInForce.IOC,
}


def dec_text(value: Decimal) -> str:
    """Plain decimal text ("0.001", "3600", "0")."""
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


def status_word(order: Order) -> str:
    """The Aster status of an engine order (module table)."""
    if order.status is OrderStatus.OPEN:
        return "NEW"
    if order.status is OrderStatus.PARTIALLY_FILLED:
        return "PARTIALLY_FILLED" if order.resting else "EXPIRED"
    if order.status is OrderStatus.FILLED:
        return "FILLED"
    if order.reason in EXPIRING:
        return "EXPIRED"
    if order.status is OrderStatus.REJECTED:
        return "REJECTED"
    return "CANCELED"


def order_json(order: Order, *, with_time: bool = False) -> dict[str, Any]:
    """The Aster order object of an engine order (module docstring)."""
    avg = order.avg_fill_price
    wire_type = "MARKET" if order.type is OrderType.MARKET else "LIMIT"
    body: dict[str, Any] = {
        "orderId": order.order_id,
        "symbol": order.market,
        "status": status_word(order),
        "clientOrderId": str(order.client_id) if order.client_id is not None else "",
        "price": dec_text(order.price) if order.price is not None else "0",
        "avgPrice": dec_text(avg) if avg is not None else "0.00000",
        "origQty": dec_text(order.size),
        "executedQty": dec_text(order.filled),
        "cumQty": dec_text(order.filled),
        "cumQuote": dec_text(order.filled_quote),
        "timeInForce": TIF_WIRE[order.tif],
        "type": wire_type,
        "reduceOnly": order.reduce_only,
        "closePosition": False,
        "side": "BUY" if order.side is Side.BUY else "SELL",
        "positionSide": "BOTH",
        "stopPrice": "0",
        "workingType": "CONTRACT_PRICE",
        "priceProtect": False,
        "origType": wire_type,
        "updateTime": order.updated_ms,
    }
    if with_time:
        body["time"] = order.created_ms
    return body
