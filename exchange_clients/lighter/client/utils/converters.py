"""Pure conversions between Lighter's wire formats and the venue-neutral trading models.

Sources: PROTOCOL_NOTES §1.2 (REST models) and §1.3 (create-order tx_info), recorded payloads in
`../shared/venue-data/lighter/` (`rest_accountActiveOrders`, `rest_trades_account`, `rest_account_with_eth_position`,
`rest_positionFunding_fragment`, `generated_create_order_*`).

Integer scaling (tx_info of `SignerClient.create_order`):
* `BaseAmount = size x 10^size_decimals` (int64, 1..2^48-1);
* `Price = price x 10^price_decimals` (uint32, 1..2^32-1).
The values must already be ON the grid (`exchange_clients.base.trading.round_price` / `round_quantity` do the
rounding, the only place where that happens); a value off the grid raises instead of being truncated silently.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from exchange_clients.base.trading import (
    Fill,
    FundingPaymentInfo,
    OrderInfo,
    OrderStatus,
    OrderType,
    PositionSnapshot,
    Side,
    TimeInForce,
)
from exchange_clients.lighter.common import VENUE, LighterDataError

MAX_BASE_AMOUNT = 2**48 - 1
MAX_PRICE = 2**32 - 1
MAX_CLIENT_ORDER_INDEX = 2**48 - 1
ORDER_INDEX_MIN = 2**48  # a cancel `Index` >= 2^48 is a venue order index, below it a client order index
HUNDRED = Decimal(100)
MARGIN_FRACTION_TICK = Decimal(10_000)  # orderBookDetails margin fractions are in 1e-4 (lighter-go)
FEE_TICK = Decimal(1_000_000)  # Trade.taker_fee / maker_fee: integers in 1e-6 of notional


def scale_to_int(value: Decimal, decimals: int, *, what: str, maximum: int, market: str | None = None) -> int:
    """`value x 10^decimals` as an exact integer in 1..`maximum`.

    Raises:
        ValueError: the value is not on the 10^-decimals grid, or the integer is out of range.
    """
    scaled = value.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{VENUE} {market or ''}: {what} {value} is not a multiple of 1e-{decimals}".strip())
    out = int(scaled)
    if not 1 <= out <= maximum:
        raise ValueError(f"{VENUE} {market or ''}: {what} {value} scales to {out}, outside 1..{maximum}")
    return out


def unscale(value: int, decimals: int) -> Decimal:
    """Inverse of `scale_to_int`: 360097, 2 -> Decimal("3600.97")."""
    return Decimal(value).scaleb(-decimals)


def dec(row: Mapping[str, Any], name: str) -> Decimal:
    """A required decimal field ("3600.97", 3600.97 or 3600); raises LighterDataError naming the field."""
    value = row.get(name)
    if value is None or value == "" or isinstance(value, bool):
        raise LighterDataError(f"field {name!r} missing or empty in {_label(row)}")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise LighterDataError(f"field {name!r} = {value!r} is not a number in {_label(row)}") from None


def opt_dec(row: Mapping[str, Any], name: str) -> Decimal | None:
    """An optional decimal field: None when missing or ""."""
    value = row.get(name)
    if value is None or value == "":
        return None
    return dec(row, name)


def _label(row: Mapping[str, Any]) -> str:
    for key in ("order_index", "trade_id", "funding_id", "market_id", "index"):
        if key in row:
            return f"row {key}={row[key]}"
    return "row"


def from_epoch(value: int | float, unit: str) -> datetime:
    """Epoch `value` in "s", "ms" or "us" -> aware UTC datetime."""
    divisor = {"s": 1, "ms": 1_000, "us": 1_000_000}[unit]
    return datetime.fromtimestamp(value / divisor, tz=timezone.utc)


# Order.status strings (PROTOCOL_NOTES §1.2; simulator/README "Trading: Lighter"); every "canceled-*" is final.
_STATUS = {
    "open": OrderStatus.OPEN,
    "pending": OrderStatus.OPEN,
    "in-progress": OrderStatus.OPEN,
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
}
_TIF = {
    "good-till-time": TimeInForce.GTC,
    "immediate-or-cancel": TimeInForce.IOC,
    "post-only": TimeInForce.POST_ONLY,
}


def order_status(status: str, filled: Decimal) -> tuple[OrderStatus, str | None]:
    """Lighter `Order.status` -> (status, reject/cancel reason).

    "open" with a fill -> PARTIALLY_FILLED; "canceled-post-only", "canceled-reduce-only", ... -> CANCELED with the
    venue string as reason; anything unknown -> UNKNOWN (reason = the string).
    """
    if status.startswith("canceled-"):
        return OrderStatus.CANCELED, status
    mapped = _STATUS.get(status)
    if mapped is None:
        return OrderStatus.UNKNOWN, status or None
    if mapped is OrderStatus.OPEN and filled > 0:
        return OrderStatus.PARTIALLY_FILLED, None
    return mapped, None


def parse_order(row: Mapping[str, Any], symbol: str, client_order_id: str | None = None) -> OrderInfo:
    """One Lighter `Order` (REST `accountActiveOrders` / `accountInactiveOrders`, WS `account_all`) -> OrderInfo.

    `order_id` = `order_index` as text; `client_order_id` = the caller's string when given (see
    `caching.ClientOrderIds`), else `client_order_index` as text (None when 0 = none); quantity =
    `initial_base_amount`, filled = `filled_base_amount`; `updated_at` from `updated_at` (seconds).

    Raises:
        LighterDataError: a required field is missing or not a number.
    """
    try:
        order_index = int(row["order_index"])
        coi = int(row.get("client_order_index") or 0)
        is_ask = bool(row["is_ask"])
    except (KeyError, TypeError, ValueError):
        raise LighterDataError(f"order without usable order_index / is_ask: {_label(row)}", symbol) from None
    filled = opt_dec(row, "filled_base_amount") or Decimal(0)
    status, reason = order_status(str(row.get("status", "")), filled)
    kind = OrderType.MARKET if row.get("type") == "market" else OrderType.LIMIT
    updated = row.get("updated_at") or row.get("timestamp")
    return OrderInfo(
        venue=VENUE,
        symbol=symbol,
        order_id=str(order_index),
        client_order_id=client_order_id if client_order_id is not None else (str(coi) if coi else None),
        side=Side.SELL if is_ask else Side.BUY,
        order_type=kind,
        time_in_force=_TIF.get(str(row.get("time_in_force", "")), TimeInForce.GTC),
        price=opt_dec(row, "price"),
        quantity=dec(row, "initial_base_amount"),
        filled_quantity=filled,
        status=status,
        reduce_only=bool(row.get("reduce_only", False)),
        reject_reason=reason,
        updated_at=from_epoch(int(updated), "s") if isinstance(updated, int) and updated > 0 else None,
    )


def parse_trade(row: Mapping[str, Any], account_index: int, symbol: str) -> Fill | None:
    """One Lighter `Trade` of `account_index` (REST `/api/v1/trades?account_index=`) -> Fill, or None when the
    account is on neither side.

    Side: BUY when `bid_account_id` is the account. Liquidity: "maker" when the account's side is the maker
    (`is_maker_ask` says which side made). Fee: `taker_fee` / `maker_fee` integers in 1e-6 of notional (omitted when
    0) x `usd_amount`; negative = rebate. `ts` from `timestamp` (ms). `fill_id` = `trade_id`.

    Raises:
        LighterDataError: size, price or usd_amount missing or not a number.
    """
    if row.get("bid_account_id") == account_index:
        side, prefix = Side.BUY, "bid"
    elif row.get("ask_account_id") == account_index:
        side, prefix = Side.SELL, "ask"
    else:
        return None
    maker = bool(row.get("is_maker_ask")) == (side is Side.SELL)
    fee_units = row.get("maker_fee" if maker else "taker_fee") or 0
    notional = dec(row, "usd_amount")
    client_index = int(row.get(f"{prefix}_client_id") or 0)
    return Fill(
        venue=VENUE,
        symbol=symbol,
        order_id=str(row.get(f"{prefix}_id", "")),
        client_order_id=str(client_index) if client_index else None,
        side=side,
        price=dec(row, "price"),
        quantity=dec(row, "size"),
        fee=notional * Decimal(int(fee_units)) / FEE_TICK,
        liquidity="maker" if maker else "taker",
        ts=from_epoch(int(row.get("timestamp", 0)), "ms"),
        fill_id=str(row.get("trade_id", "")),
    )


def parse_position(row: Mapping[str, Any], symbol: str) -> PositionSnapshot | None:
    """One `AccountPosition` (REST `/api/v1/account`) -> PositionSnapshot, None when flat.

    quantity = `sign` x `position` (base units, + long); mark = `position_value` / `position`; leverage =
    100 / `initial_margin_fraction` (a percent string, "5.00" -> 20x); margin = `allocated_margin` for isolated
    (`margin_mode` 1), else `position_value` x IMF; funding_accrued = -`total_funding_paid_out` (+ received).

    Raises:
        LighterDataError: `position` or `sign` unusable.
    """
    size = dec(row, "position")
    sign = row.get("sign")
    if size == 0 or sign == 0:
        return None
    if sign not in (1, -1):
        raise LighterDataError(f"position sign {sign!r} is not 1 or -1 in {_label(row)}", symbol)
    value = opt_dec(row, "position_value")
    imf = opt_dec(row, "initial_margin_fraction")
    paid = opt_dec(row, "total_funding_paid_out")
    if row.get("margin_mode") == 1:
        margin = opt_dec(row, "allocated_margin")
    else:
        margin = value * imf / HUNDRED if value is not None and imf is not None else None
    return PositionSnapshot(
        venue=VENUE,
        symbol=symbol,
        quantity=size * sign,
        entry_price=opt_dec(row, "avg_entry_price"),
        mark_price=value / size if value is not None else None,
        unrealized_pnl=opt_dec(row, "unrealized_pnl"),
        funding_accrued=-paid if paid is not None else None,
        liquidation_price=opt_dec(row, "liquidation_price"),
        margin=margin,
        leverage=HUNDRED / imf if imf else None,
    )


def parse_position_funding(row: Mapping[str, Any], symbol: str) -> FundingPaymentInfo:
    """One `positionFunding` row -> FundingPaymentInfo.

    amount = `change` (USDC, negative = paid); rate = `rate` (fraction per hour, PROTOCOL_NOTES §1.4, as the
    simulator documents it; unverified on the venue); position_quantity signed by `position_side`; ts from
    `timestamp` (seconds).

    Raises:
        LighterDataError: `change` or `timestamp` unusable.
    """
    stamp = row.get("timestamp")
    if not isinstance(stamp, int) or isinstance(stamp, bool):
        raise LighterDataError(
            f"positionFunding timestamp {stamp!r} is not an integer in {_label(row)}", symbol
        )
    size = opt_dec(row, "position_size")
    if size is not None and row.get("position_side") == "short":
        size = -size
    return FundingPaymentInfo(
        venue=VENUE,
        symbol=symbol,
        amount=dec(row, "change"),
        ts=from_epoch(stamp, "s"),
        rate=opt_dec(row, "rate"),
        position_quantity=size,
    )


_MODEL_REPR = re.compile(r"code=(?P<code>-?\d+)(?: message=(?P<q>['\"])(?P<message>.*?)(?P=q))?")


def venue_error_code(message: str) -> tuple[int | None, str]:
    """(code, message) from the error string lighter-sdk returns for a refused transaction.

    The SDK answers `(None, None, err)` with the last line of the `BadRequestException` text, the HTTP body either
    as JSON ('HTTP response body: {"code":21104,"message":"invalid nonce"}') or, in 1.1.8, as the repr of its
    `ResultCode` model ("HTTP response body: code=21600 message='given order is not an active limit order'
    additional_properties={}"), measured against the simulator. A signer error is plain text ("OrderExpiry is
    invalid") and yields (None, text).
    """
    text = message.strip()
    start = text.find("{")
    if start >= 0:
        try:
            body = json.loads(text[start:])
        except ValueError:
            body = None
        if isinstance(body, dict) and "code" in body:
            code = body.get("code")
            return (code if isinstance(code, int) else None), str(body.get("message", "")).strip()
    found = _MODEL_REPR.search(text)
    if found:
        return int(found["code"]), (found["message"] or "").strip()
    return None, text


def book_levels(rows: Any) -> list[tuple[Decimal, Decimal]]:
    """`GET /api/v1/orderBookOrders` rows of one side (individual orders, venue-data/lighter/
    rest_orderBookOrders_market0_limit1.json: `price`, `remaining_base_amount`) -> (price, size) levels, the orders
    of one price summed, in no particular order (`OrderBook.apply_snapshot` sorts them).

    Raises:
        LighterDataError: not a list of objects, or a price / remaining amount missing or not a number."""
    if not isinstance(rows, list):
        raise LighterDataError(f"orderBookOrders side is {type(rows).__name__}, expected a list")
    levels: dict[Decimal, Decimal] = {}
    for row in rows:
        if not isinstance(row, Mapping):
            raise LighterDataError(f"orderBookOrders row is {type(row).__name__}, expected an object")
        price = dec(row, "price")
        levels[price] = levels.get(price, Decimal(0)) + dec(row, "remaining_base_amount")
    return [(p, q) for p, q in levels.items() if q > 0]
