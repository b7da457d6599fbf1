"""Pure converters: Paradex REST/WS bodies -> venue-neutral trading models (`exchange_clients.base.trading`).

No I/O. A single object that cannot be used raises `ParadexDataError`; in a list, a bad row is rejected with
`perparb_core.models.reject(...)` (logged with its reason) and the rest is kept, never stored as zero.

Sources (OpenAPI `responses.*`, PROTOCOL_NOTES §2.2, recorded payloads in ../shared/venue-data/paradex):

| body                          | model                | recorded payload                                  |
|-------------------------------|----------------------|---------------------------------------------------|
| `OrderResp` (REST, WS orders) | `OrderInfo`          | rest_order_closed_user_canceled, rest_orders-history_sol, ws_orders_all_docexample |
| `FillResult`                  | `Fill`               | rest_fills, ws_fills_all                          |
| `PositionResp`                | `PositionSnapshot`   | rest_positions_sol_1, rest_positions_btc_leverage, ws_positions |
| `FundingPayment`              | `FundingPaymentInfo` | rest_funding_payments_docexample                  |
| `AccountSummary`              | `BalanceInfo`        | ws_account_docexample                             |

Units: prices in USD(C), sizes in base units, `fee` / `payment` / PnL in USDC, times epoch milliseconds (int or
a digit string in the recordings).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from exchange_clients.base.trading import (
    BalanceInfo,
    Fill,
    FundingPaymentInfo,
    OrderInfo,
    OrderStatus,
    OrderType,
    PositionSnapshot,
    Side,
    TimeInForce,
)
from exchange_clients.paradex.common import VENUE, ParadexDataError, normalize_symbol
from exchange_clients.paradex.funding_adapter.fetchers import utc_from_epoch_ms
from perparb_core import units
from perparb_core.models import Rejection, reject
from perparb_core.units import UnitError

log = logging.getLogger("perparb.paradex.client")

T = TypeVar("T")

REJECT_REASONS = frozenset(
    {
        "POST_ONLY_WOULD_CROSS",
        "NOT_ENOUGH_MARGIN",
        "ORDER_SIZE_BELOW_MIN",
        "REDUCE_ONLY_WOULD_INCREASE",
        "REDUCE_ONLY_EXCEEDS_POSITION",
        "SELF_TRADE",
        "FAULT_INJECTED",
        "NO_LIQUIDITY",
    }
)
"""`cancel_reason`s of orders the venue refused after queueing (simulator/README.md "Trading: Paradex", Paradex
docs "Order cancel reasons"). With nothing filled such an order is REJECTED; any other reason (USER_CANCELED,
IOC_REMAINDER, ...) or a partial fill gives CANCELED."""

_INSTRUCTIONS = {"GTC": TimeInForce.GTC, "POST_ONLY": TimeInForce.POST_ONLY, "IOC": TimeInForce.IOC}
_TYPES = {"LIMIT": OrderType.LIMIT, "MARKET": OrderType.MARKET}
_SIDES = {"BUY": Side.BUY, "SELL": Side.SELL}


def _text(row: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = row.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise UnitError(key, value, "missing")
        return ""
    return str(value).strip()


def _choice(row: dict[str, Any], key: str, table: dict[str, T]) -> T:
    raw = _text(row, key).upper()
    if raw not in table:
        raise UnitError(key, row.get(key), f"expected one of {sorted(table)}")
    return table[raw]


def epoch_ms_of(value: Any, field: str) -> datetime:
    """An epoch-millisecond timestamp (int or digit string, as recorded) -> aware UTC datetime.

    Raises:
        UnitError: missing, fractional, negative or not a number.
    """
    if isinstance(value, bool) or value is None:
        raise UnitError(field, value, "missing epoch milliseconds")
    if isinstance(value, int):
        ms = value
    elif isinstance(value, str) and value.strip().isdigit():
        ms = int(value.strip())
    else:
        raise UnitError(field, value, "not integral epoch milliseconds")
    if ms < 0:
        raise UnitError(field, value, "negative epoch milliseconds")
    return utc_from_epoch_ms(ms)


def order_status(status: str, cancel_reason: str, filled: Decimal, size: Decimal) -> OrderStatus:
    """Paradex `status` NEW/OPEN/CLOSED + `cancel_reason` + fill -> `OrderStatus`.

    NEW (queued) and OPEN give OPEN, or PARTIALLY_FILLED once something filled; CLOSED gives FILLED when
    everything filled, REJECTED for a `REJECT_REASONS` reason with nothing filled, else CANCELED.
    """
    if status in ("NEW", "OPEN", "UNTRIGGERED"):
        return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.OPEN
    if status == "CLOSED":
        if filled >= size and size > 0:
            return OrderStatus.FILLED
        if filled == 0 and cancel_reason in REJECT_REASONS:
            return OrderStatus.REJECTED
        return OrderStatus.CANCELED
    return OrderStatus.UNKNOWN


def order_from_resp(row: Any) -> OrderInfo:
    """One `OrderResp` -> `OrderInfo`.

    `quantity` = `size`; `filled_quantity` = `size - remaining_size` (a closed order keeps its unfilled size in
    `remaining_size`, rest_order_closed_user_canceled.json); `price` None for MARKET orders (price "0");
    `reduce_only` from `flags` containing "REDUCE_ONLY"; `client_order_id` None for ""; `reject_reason` =
    `cancel_reason` when not ""; `updated_at` from `last_updated_at` (epoch ms).

    Raises:
        ParadexDataError: not an object, or a field missing / unreadable (named).
    """
    if not isinstance(row, dict):
        raise ParadexDataError(f"order: expected an object, got {type(row).__name__}")
    market = row.get("market") if isinstance(row.get("market"), str) else None
    try:
        size = units.to_decimal(row.get("size"), "size", allow_negative=False)
        remaining = units.to_decimal(row.get("remaining_size"), "remaining_size", allow_negative=False)
        order_type = _choice(row, "type", _TYPES)
        raw_price = units.optional_decimal(row.get("price"), "price", allow_negative=False)
        price = None if order_type is OrderType.MARKET or not raw_price else raw_price
        filled = max(size - remaining, Decimal(0))
        reason = _text(row, "cancel_reason", required=False)
        flags = row.get("flags") or []
        client_id = _text(row, "client_id", required=False)
        updated = row.get("last_updated_at")
        return OrderInfo(
            venue=VENUE,
            symbol=normalize_symbol(_text(row, "market")),
            order_id=_text(row, "id"),
            client_order_id=client_id or None,
            side=_choice(row, "side", _SIDES),
            order_type=order_type,
            time_in_force=_INSTRUCTIONS.get(
                _text(row, "instruction", required=False).upper(), TimeInForce.GTC
            ),
            price=price,
            quantity=size,
            filled_quantity=filled,
            status=order_status(_text(row, "status").upper(), reason, filled, size),
            reduce_only=isinstance(flags, list) and "REDUCE_ONLY" in flags,
            reject_reason=reason or None,
            updated_at=epoch_ms_of(updated, "last_updated_at") if updated not in (None, "") else None,
        )
    except UnitError as exc:
        raise ParadexDataError(
            f"order {row.get('id')!r}: {exc.field}={exc.value!r}: {exc.reason}", market
        ) from exc


def fill_from_row(row: Any) -> Fill:
    """One `FillResult` -> `Fill`: `fee` USDC (negative = rebate), `liquidity` "maker"/"taker", `ts` from
    `created_at` (ms). Raises `ParadexDataError` naming the bad field."""
    if not isinstance(row, dict):
        raise ParadexDataError(f"fill: expected an object, got {type(row).__name__}")
    try:
        return Fill(
            venue=VENUE,
            symbol=normalize_symbol(_text(row, "market")),
            order_id=_text(row, "order_id", required=False),
            client_order_id=_text(row, "client_id", required=False) or None,
            side=_choice(row, "side", _SIDES),
            price=units.to_decimal(row.get("price"), "price", allow_negative=False, allow_zero=False),
            quantity=units.to_decimal(row.get("size"), "size", allow_negative=False, allow_zero=False),
            fee=units.to_decimal(row.get("fee"), "fee"),
            liquidity=_choice(row, "liquidity", {"MAKER": "maker", "TAKER": "taker"}),
            ts=epoch_ms_of(row.get("created_at"), "created_at"),
            fill_id=_text(row, "id"),
        )
    except UnitError as exc:
        raise ParadexDataError(f"fill {row.get('id')!r}: {exc.field}={exc.value!r}: {exc.reason}") from exc


def position_from_row(row: Any, mark_price: Decimal | None = None) -> PositionSnapshot:
    """One `PositionResp` -> `PositionSnapshot`.

    quantity: |`size`| signed by `side` (LONG +, SHORT -; CLOSED -> 0). `unrealized_pnl` is Paradex's, which
    includes `unrealized_funding_pnl`; `funding_accrued` = `unrealized_funding_pnl` (USDC, + received, not yet
    realised: Paradex realises funding on the next fill, PROTOCOL_NOTES §2.4). `margin` = |`cost`| / `leverage`
    when both are given. `liquidation_price` "" (as recorded) -> None. `mark_price` is not in the row: the caller
    passes it (mark = entry + upnl_ex_funding / size when not given).

    Raises:
        ParadexDataError: naming the bad field.
    """
    if not isinstance(row, dict):
        raise ParadexDataError(f"position: expected an object, got {type(row).__name__}")
    try:
        status = _text(row, "status").upper()
        size = abs(units.to_decimal(row.get("size"), "size"))
        side = _text(row, "side", required=False).upper()
        if status == "CLOSED":
            size = Decimal(0)
        elif side not in ("LONG", "SHORT"):
            raise UnitError("side", row.get("side"), "expected LONG or SHORT for an open position")
        quantity = -size if side == "SHORT" else size
        entry = units.optional_decimal(
            row.get("average_entry_price"), "average_entry_price", allow_negative=False
        )
        upnl = units.optional_decimal(row.get("unrealized_pnl"), "unrealized_pnl")
        funding = units.optional_decimal(row.get("unrealized_funding_pnl"), "unrealized_funding_pnl")
        leverage = units.optional_decimal(row.get("leverage"), "leverage", allow_negative=False) or None
        cost = units.optional_decimal(row.get("cost"), "cost")
        liq = units.optional_decimal(row.get("liquidation_price"), "liquidation_price", allow_negative=False)
        if mark_price is None and entry and upnl is not None and quantity:
            mark_price = entry + (upnl - (funding or 0)) / quantity
        return PositionSnapshot(
            venue=VENUE,
            symbol=normalize_symbol(_text(row, "market")),
            quantity=quantity,
            entry_price=entry or None,
            mark_price=mark_price,
            unrealized_pnl=upnl,
            funding_accrued=funding,
            liquidation_price=liq or None,
            margin=abs(cost) / leverage if cost is not None and leverage else None,
            leverage=leverage,
        )
    except UnitError as exc:
        raise ParadexDataError(
            f"position {row.get('market')!r}: {exc.field}={exc.value!r}: {exc.reason}"
        ) from exc


def funding_payment_from_row(row: Any, position_quantity: Decimal | None = None) -> FundingPaymentInfo:
    """One `FundingPayment` row -> `FundingPaymentInfo`: `amount` = `payment` (USDC, + received, - paid),
    `ts` from `created_at` (ms). Paradex gives no rate per payment (`index` is the cumulative funding index):
    `rate` stays None. Raises `ParadexDataError` naming the bad field."""
    if not isinstance(row, dict):
        raise ParadexDataError(f"funding payment: expected an object, got {type(row).__name__}")
    try:
        return FundingPaymentInfo(
            venue=VENUE,
            symbol=normalize_symbol(_text(row, "market")),
            amount=units.to_decimal(row.get("payment"), "payment"),
            ts=epoch_ms_of(row.get("created_at"), "created_at"),
            rate=None,
            position_quantity=position_quantity,
        )
    except UnitError as exc:
        raise ParadexDataError(
            f"funding payment {row.get('id')!r}: {exc.field}={exc.value!r}: {exc.reason}"
        ) from exc


def balance_from_summary(summary: Any) -> BalanceInfo:
    """`AccountSummary` (paradex-py object or the `account` JSON object) -> `BalanceInfo`:
    available = `free_collateral`, equity = `account_value`, collateral = `total_collateral` (USDC).

    Raises:
        ParadexDataError: a figure missing or not a number.
    """
    get: Callable[[str], Any] = (
        summary.get if isinstance(summary, dict) else lambda k: getattr(summary, k, None)
    )
    try:
        return BalanceInfo(
            venue=VENUE,
            available=units.to_decimal(get("free_collateral"), "free_collateral"),
            equity=units.to_decimal(get("account_value"), "account_value"),
            collateral=units.optional_decimal(get("total_collateral"), "total_collateral"),
        )
    except UnitError as exc:
        raise ParadexDataError(f"account summary: {exc.field}={exc.value!r}: {exc.reason}") from exc


def parse_rows(
    rows: Iterable[Any], convert: Callable[[Any], T], source: str, rejections: list[Rejection] | None = None
) -> list[T]:
    """Convert every row with `convert`; a row that raises `ParadexDataError` is rejected (logged with its
    reason, appended to `rejections`) and skipped, the rest kept."""
    out: list[T] = []
    for row in rows:
        try:
            out.append(convert(row))
        except ParadexDataError as exc:
            market = row.get("market") if isinstance(row, dict) else None
            rej = reject(VENUE, source, market if isinstance(market, str) else None, "row", row, str(exc))
            if rejections is not None:
                rejections.append(rej)
    return out


__all__ = [
    "REJECT_REASONS",
    "balance_from_summary",
    "epoch_ms_of",
    "fill_from_row",
    "funding_payment_from_row",
    "order_from_resp",
    "order_status",
    "parse_rows",
    "position_from_row",
]
