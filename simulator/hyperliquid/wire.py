"""Hyperliquid's spellings of the engine's values in the simulator: numbers as the venue writes them, order status
words, fill directions, and the order / fill / funding row bodies shared by `/info` and the WebSocket.

Numbers are decimal strings (docs for-developers/api/info-endpoint.md; recordings in
../shared/venue-data/hyperliquid): prices and sizes the way the venue prints them, with at least one decimal
("84143.0", "0.11693", "1.0"; `num`), money in USDC with at most 6 decimals ("-3.625312"; `usd`). Times are epoch
ms, order ids (`oid`) and trade ids (`tid`) integers, cloids `0x` + 32 hex.

Order status words (docs info-endpoint.md "Query order status by oid or cloid"), from the engine's `Reason`:

| engine                                             | status word                |
|----------------------------------------------------|----------------------------|
| resting (OPEN, PARTIALLY_FILLED)                   | `open`                     |
| FILLED                                             | `filled`                   |
| USER_CANCELLED, PARTIAL_FILL_FAULT, IOC remainder after a fill | `canceled`     |
| IOC_REMAINDER / NO_LIQUIDITY / PRICE_BOUND, nothing filled | `iocCancelRejected` |
| POST_ONLY_WOULD_CROSS                              | `badAloPxRejected`         |
| MIN_SIZE / MIN_NOTIONAL                            | `minTradeNtlRejected`      |
| INSUFFICIENT_MARGIN                                | `perpMarginRejected`       |
| REDUCE_ONLY_WOULD_INCREASE / _EXCEEDS_POSITION     | `reduceOnlyRejected`       |
| REDUCE_ONLY_POSITION_CHANGED                       | `reduceOnlyCanceled`       |
| TICK_SIZE                                          | `tickRejected`             |
| SELF_TRADE                                         | `selfTradeCanceled`        |
| LIQUIDATION                                        | `liquidatedCanceled`       |
| FAULT_INJECTED, anything else refused              | `rejected`                 |
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from simulator.engine import Fill, FundingPayment, Order, OrderStatus, OrderType, Reason, Side, TimeInForce

ZERO_HASH = (
    "0x" + "00" * 32
)  # what the venue reports as the hash of funding entries (rest_info_userFunding_*.json)
USD_QUANTUM = Decimal("0.000001")
TIF_WIRE = {TimeInForce.GTC: "Gtc", TimeInForce.IOC: "Ioc", TimeInForce.POST_ONLY: "Alo"}
WIRE_TIF = {v: k for k, v in TIF_WIRE.items()}

_REJECTED_WORDS = {
    Reason.POST_ONLY_WOULD_CROSS: "badAloPxRejected",
    Reason.MIN_SIZE: "minTradeNtlRejected",
    Reason.MIN_NOTIONAL: "minTradeNtlRejected",
    Reason.INSUFFICIENT_MARGIN: "perpMarginRejected",
    Reason.REDUCE_ONLY_WOULD_INCREASE: "reduceOnlyRejected",
    Reason.REDUCE_ONLY_EXCEEDS_POSITION: "reduceOnlyRejected",
    Reason.TICK_SIZE: "tickRejected",
}
_CANCELED_WORDS = {
    Reason.REDUCE_ONLY_POSITION_CHANGED: "reduceOnlyCanceled",
    Reason.SELF_TRADE: "selfTradeCanceled",
    Reason.LIQUIDATION: "liquidatedCanceled",
}
_IOC_ENDS = (Reason.IOC_REMAINDER, Reason.NO_LIQUIDITY, Reason.PRICE_BOUND)


def num(value: Decimal) -> str:
    """A price or size as the venue writes it: plain, no trailing zeros, at least one decimal ("3600.0")."""
    text = format(value.normalize(), "f")
    if text in ("-0", "0"):
        return "0.0"
    return text if "." in text else text + ".0"


def usd(value: Decimal) -> str:
    """USDC money: rounded half-even to 6 decimals, trailing zeros removed ("-3.625312", "0.0")."""
    return num(value.quantize(USD_QUANTUM, rounding=ROUND_HALF_EVEN))


def status_word(order: Order) -> str:
    """The venue's status word of an engine order (module table)."""
    if order.resting:
        return "open"
    if order.status is OrderStatus.FILLED:
        return "filled"
    reason = order.reason
    if order.status is OrderStatus.REJECTED:
        return _REJECTED_WORDS.get(reason, "rejected") if reason is not None else "rejected"
    if reason in _IOC_ENDS:
        return "canceled" if order.filled > 0 else "iocCancelRejected"
    if reason in _CANCELED_WORDS:
        return _CANCELED_WORDS[reason]
    return "canceled"


def side_word(side: Side) -> str:
    """ "B" (bid, buy) or "A" (ask, sell)."""
    return "B" if side is Side.BUY else "A"


def order_body(order: Order, cloid: str | None, *, frontend: bool) -> dict[str, Any]:
    """The order object of `orderStatus` / `frontendOpenOrders` (`frontend`: every field, as
    rest_info_orderStatus_open_alo.json) or of `openOrders` / WS `orderUpdates` (the basic fields, as
    ws_orderUpdates_open.json, plus `cloid` when the order has one). `sz` is what remains; a finished order keeps
    the unfilled part (size - filled)."""
    remaining = order.remaining if order.resting else order.size - order.filled
    body: dict[str, Any] = {
        "coin": order.market,
        "side": side_word(order.side),
        "limitPx": num(order.price) if order.price is not None else "0.0",
        "sz": num(remaining),
        "oid": order.order_id,
        "timestamp": order.created_ms,
    }
    if frontend:
        body.update(
            {
                "triggerCondition": "N/A",
                "isTrigger": False,
                "triggerPx": "0.0",
                "children": [],
                "isPositionTpsl": False,
                "reduceOnly": order.reduce_only,
                "orderType": "Limit" if order.type is OrderType.LIMIT else "Market",
                "origSz": num(order.size),
                "tif": TIF_WIRE[order.tif],
                "cloid": cloid,
            }
        )
    else:
        body["origSz"] = num(order.size)
        if cloid is not None:
            body["cloid"] = cloid
    return body


def direction(before: Decimal, after: Decimal) -> str:
    """`dir` of a fill from the signed position around it ("Open Long", "Close Short", "Long > Short", ...)."""
    if before == 0 or (before > 0 and after > before) or (before < 0 and after < before):
        return "Open Long" if after > 0 else "Open Short"
    if (before > 0) == (after > 0) or after == 0:
        return "Close Long" if before > 0 else "Close Short"
    return "Long > Short" if before > 0 else "Short > Long"


def trade_hash(trade_id: int) -> str:
    """A deterministic 32-byte transaction hash of a trade (the venue's L1 hash; made up here)."""
    return "0x" + format(trade_id, "064x")


def fill_body(fill: Fill, cloid: str | None, *, liquidated_user: str | None = None) -> dict[str, Any]:
    """A `userFills` / WS `userFills` fill (rest_info_userFills_*.json, ws_userFills_snapshot.json): `crossed` =
    taker, `fee` + paid in USDC, `closedPnl` the PnL realised, `startPosition` the signed position before.
    A liquidation fill carries `liquidation: {liquidatedUser, markPx, method: "market"}`
    (ws_user_fills_liquidation_2026-06.json)."""
    body: dict[str, Any] = {
        "coin": fill.market,
        "px": num(fill.price),
        "sz": num(fill.size),
        "side": side_word(fill.side),
        "time": fill.ts_ms,
        "startPosition": num(fill.position_before),
        "dir": direction(fill.position_before, fill.position_after),
        "closedPnl": usd(fill.realized_pnl),
        "hash": trade_hash(fill.trade_id),
        "oid": fill.order_id,
        "crossed": fill.liquidity.value == "taker",
        "fee": usd(fill.fee),
        "tid": fill.fill_id,
        "cloid": cloid,
        "feeToken": "USDC",
    }
    if liquidated_user is not None:
        body["liquidation"] = {
            "liquidatedUser": liquidated_user,
            "markPx": num(fill.price),
            "method": "market",
        }
    return body


def funding_delta(payment: FundingPayment) -> dict[str, Any]:
    """The `delta` of a `userFunding` row (rest_info_userFunding_docexample.json): `usdc` + received / - paid,
    `szi` the signed position, `fundingRate` per hour."""
    return {
        "type": "funding",
        "coin": payment.market,
        "usdc": usd(payment.amount),
        "szi": num(payment.position_size),
        "fundingRate": num(payment.rate_hourly),
        "nSamples": None,
    }


def funding_row(payment: FundingPayment) -> dict[str, Any]:
    """A `userFunding` row `{time, hash, delta}` (the venue reports the zero hash for funding entries)."""
    return {"delta": funding_delta(payment), "hash": ZERO_HASH, "time": payment.ts_ms}


def ws_funding(payment: FundingPayment) -> dict[str, Any]:
    """A WS `userFundings` entry `{time, coin, usdc, szi, fundingRate}` (docs websocket/subscriptions.md)."""
    return {
        "time": payment.ts_ms,
        "coin": payment.market,
        "usdc": usd(payment.amount),
        "szi": num(payment.position_size),
        "fundingRate": num(payment.rate_hourly),
    }
