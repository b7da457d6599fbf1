"""Lighter's spellings of the engine's values (the wire layer): order status words per engine `Reason`.

The engine keeps ONE internal enum (`OrderStatus`, `Reason`, spelled `CANCELLED`); Lighter spells a cancelled order
"canceled" / "canceled-<why>" (lighter-sdk 1.1.8 `lighter/models/order.py`).
"""

from __future__ import annotations

from simulator.engine import Order, OrderStatus, Reason

# Lighter `Order.status` per reason (enum of lighter-sdk 1.1.8 `lighter/models/order.py`). Rejections that
# Lighter answers at `sendTx` (bad tick, size...) are the venue's API errors; they map to plain "canceled".
LIGHTER_STATUS: dict[Reason, str] = {
    Reason.POST_ONLY_WOULD_CROSS: "canceled-post-only",
    Reason.REDUCE_ONLY_WOULD_INCREASE: "canceled-reduce-only",
    Reason.REDUCE_ONLY_EXCEEDS_POSITION: "canceled-reduce-only",
    Reason.REDUCE_ONLY_POSITION_CHANGED: "canceled-reduce-only",
    Reason.INSUFFICIENT_MARGIN: "canceled-margin-not-allowed",
    Reason.PRICE_BOUND: "canceled-too-much-slippage",
    Reason.NO_LIQUIDITY: "canceled-not-enough-liquidity",
    Reason.SELF_TRADE: "canceled-self-trade",
    Reason.LIQUIDATION: "canceled-liquidation",
}


def lighter_status(order: Order) -> str:
    """Lighter `status` word of an order ("open", "filled", "canceled-post-only", ...)."""
    if order.status is OrderStatus.OPEN or order.status is OrderStatus.PARTIALLY_FILLED:
        return "open" if order.resting else "filled"
    if order.status is OrderStatus.FILLED:
        return "filled"
    return LIGHTER_STATUS.get(order.reason, "canceled") if order.reason is not None else "canceled"
