"""Backpack payloads -> venue-neutral trading models. Pure; each raises `ValueError` (naming the field) for a row
that cannot be read; callers turn it into `BackpackDataError` or skip the row with a log line.

Spellings (recorded payloads in ../shared/venue-data/backpack/; docs "Order", "Streams"):
* side: "Bid" = buy, "Ask" = sell;
* order status: "New" -> OPEN, "PartiallyFilled" -> PARTIALLY_FILLED, "Filled" -> FILLED, "Cancelled" / "Expired"
  -> CANCELED (an IOC remainder expires), "TriggerPending" -> OPEN, "TriggerFailed" -> REJECTED;
* order type "Limit" / "Market" (REST), "LIMIT" / "MARKET" (WebSocket); time in force "GTC" / "IOC" / "FOK",
  `postOnly` true;
* times: REST `createdAt` epoch ms as text, fills' `timestamp` ISO without zone (UTC), WebSocket `E` / `T` µs;
* funding payments: `quantity` USDC signed from the user's view (+ received, - paid); positions: `netQuantity`
  signed (+ long), `estLiquidationPrice` ("0" = none), `cumulativeFundingPayment` user's view.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from exchange_clients.backpack.funding_adapter.fetchers import parse_utc
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
from perparb_core import units
from perparb_core.units import UnitError

SIDES = {"Bid": Side.BUY, "Ask": Side.SELL}
WIRE_SIDE = {Side.BUY: "Bid", Side.SELL: "Ask"}
STATUSES = {
    "New": OrderStatus.OPEN,
    "PartiallyFilled": OrderStatus.PARTIALLY_FILLED,
    "Filled": OrderStatus.FILLED,
    "Cancelled": OrderStatus.CANCELED,
    "Expired": OrderStatus.CANCELED,
    "TriggerPending": OrderStatus.OPEN,
    "TriggerFailed": OrderStatus.REJECTED,
}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

SymbolOf = Callable[[str], str]
ClientIdOf = Callable[[Any], "str | None"]


def _dec(row: Mapping[str, Any], name: str, *, default: Decimal | None = None) -> Decimal:
    value = row.get(name)
    if value is None or value == "":
        if default is not None:
            return default
        raise ValueError(f"{name} missing")
    try:
        return units.to_decimal(value, name)
    except UnitError as exc:
        raise ValueError(str(exc)) from None


def _opt_dec(row: Mapping[str, Any], name: str) -> Decimal | None:
    value = row.get(name)
    if value is None or value == "":
        return None
    return _dec(row, name)


def _side(value: Any) -> Side:
    side = SIDES.get(str(value))
    if side is None:
        raise ValueError(f"side {value!r} is not Bid or Ask")
    return side


def from_micros(value: Any) -> datetime | None:
    """WebSocket `E` / `T` (µs, number or text) -> aware UTC; None when absent or unreadable."""
    try:
        return _EPOCH + timedelta(microseconds=int(str(value)))
    except (TypeError, ValueError):
        return None


def _ts_ms(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        return parse_utc(value, "createdAt")
    except UnitError:
        return None


def status_of(value: Any) -> OrderStatus:
    """Backpack order status -> `OrderStatus` (module docstring); unknown words -> UNKNOWN."""
    return STATUSES.get(str(value), OrderStatus.UNKNOWN)


def parse_order(row: Mapping[str, Any], *, symbol_of: SymbolOf, client_id_of: ClientIdOf) -> OrderInfo:
    """An order object (REST `POST/GET/DELETE /api/v1/order`, `GET /api/v1/orders`, `/wapi/v1/history/orders`;
    venue-data/backpack/rest_order_*.json) -> `OrderInfo`.

    A "Filled" order reports `filled_quantity` = `executedQuantity`; "Cancelled"/"Expired" keep the part filled.

    Raises:
        ValueError: no id, symbol, side or quantity."""
    if not isinstance(row.get("id"), (str, int)) or not isinstance(row.get("symbol"), str):
        raise ValueError(f"order without id or symbol: {dict(row)!r:.120}")
    otype = str(row.get("orderType", "Limit")).lower()
    tif_text = str(row.get("timeInForce") or "GTC").upper()
    if row.get("postOnly") is True:
        tif = TimeInForce.POST_ONLY
    elif tif_text in ("IOC", "FOK"):
        tif = TimeInForce.IOC
    else:
        tif = TimeInForce.GTC
    quantity = _dec(row, "quantity", default=Decimal(0))
    if quantity == 0 and row.get("triggerQuantity") not in (None, ""):
        quantity = _dec(row, "triggerQuantity")
    return OrderInfo(
        venue="backpack",
        symbol=symbol_of(row["symbol"]),
        order_id=str(row["id"]),
        client_order_id=client_id_of(row.get("clientId")),
        side=_side(row.get("side")),
        order_type=OrderType.MARKET if otype == "market" else OrderType.LIMIT,
        time_in_force=tif,
        price=_opt_dec(row, "price"),
        quantity=quantity,
        filled_quantity=_dec(row, "executedQuantity", default=Decimal(0)),
        status=status_of(row.get("status")),
        reduce_only=row.get("reduceOnly") is True,
        updated_at=_ts_ms(row.get("createdAt")),
    )


def parse_fill(row: Mapping[str, Any], *, symbol_of: SymbolOf, client_id_of: ClientIdOf) -> Fill:
    """A fill of `GET /wapi/v1/history/fills` (venue-data/backpack/rest_history_fills_2025-08.json: `tradeId`,
    `orderId`, `clientId`, `side`, `price`, `quantity`, `fee` in `feeSymbol`, `isMaker`, `timestamp` ISO UTC) ->
    `Fill`. Perp fees are charged in USDC (the quote); `fee` is taken as is.

    Raises:
        ValueError: a row that cannot be read."""
    ts = parse_utc(row.get("timestamp"), "timestamp") if row.get("timestamp") is not None else _EPOCH
    return Fill(
        venue="backpack",
        symbol=symbol_of(str(row.get("symbol"))),
        order_id=str(row.get("orderId", "")),
        client_order_id=client_id_of(row.get("clientId")),
        side=_side(row.get("side")),
        price=_dec(row, "price"),
        quantity=_dec(row, "quantity"),
        fee=_dec(row, "fee", default=Decimal(0)),
        liquidity="maker" if row.get("isMaker") is True else "taker",
        ts=ts,
        fill_id=str(row.get("tradeId", "")),
    )


def parse_position(
    row: Mapping[str, Any], *, symbol_of: SymbolOf, leverage: Decimal | None
) -> PositionSnapshot:
    """A `GET /api/v1/position` row (venue-data/backpack/rest_position_ETH_USDC_PERP_long_2025-09.json) ->
    `PositionSnapshot`: quantity = `netQuantity` (signed), liquidation price = `estLiquidationPrice` ("0" =
    none), unrealised PnL = `pnlUnrealized`, funding = `cumulativeFundingPayment` (user's view), margin =
    |`netExposureNotional`| x `imf`, leverage = the account's leverage limit (Backpack's leverage is per
    account).

    Raises:
        ValueError: no symbol or netQuantity."""
    liq = _opt_dec(row, "estLiquidationPrice")
    notional = _opt_dec(row, "netExposureNotional")
    imf = _opt_dec(row, "imf")
    entry = _opt_dec(row, "entryPrice")
    return PositionSnapshot(
        venue="backpack",
        symbol=symbol_of(str(row.get("symbol"))),
        quantity=_dec(row, "netQuantity"),
        entry_price=entry if entry else None,
        mark_price=_opt_dec(row, "markPrice"),
        unrealized_pnl=_opt_dec(row, "pnlUnrealized"),
        funding_accrued=_opt_dec(row, "cumulativeFundingPayment"),
        liquidation_price=liq if liq else None,
        margin=abs(notional) * imf if notional is not None and imf is not None else None,
        leverage=leverage,
    )


def parse_funding_payment(row: Mapping[str, Any], *, symbol_of: SymbolOf) -> FundingPaymentInfo:
    """A `GET /wapi/v1/history/funding` row -> `FundingPaymentInfo`: amount = `quantity` (USDC, + received,
    - paid), ts = `intervalEndTimestamp`, rate = `fundingRate` (per that interval)
    (venue-data/backpack/rest_history_funding_user_*.json).

    Raises:
        ValueError: a row that cannot be read."""
    try:
        ts = parse_utc(row.get("intervalEndTimestamp"), "intervalEndTimestamp")
    except UnitError as exc:
        raise ValueError(str(exc)) from None
    return FundingPaymentInfo(
        venue="backpack",
        symbol=symbol_of(str(row.get("symbol"))),
        amount=_dec(row, "quantity"),
        ts=ts,
        rate=_opt_dec(row, "fundingRate"),
    )


def parse_collateral(body: Any) -> BalanceInfo:
    """`GET /api/v1/capital/collateral` (instruction collateralQuery) -> `BalanceInfo`: equity = `netEquity`,
    available = `netEquityAvailable`, collateral = `assetsValue` (USD).

    Raises:
        ValueError: not an object, or no netEquity / netEquityAvailable."""
    if not isinstance(body, dict):
        raise ValueError(f"collateral body is {type(body).__name__}, expected an object")
    return BalanceInfo(
        venue="backpack",
        available=_dec(body, "netEquityAvailable"),
        equity=_dec(body, "netEquity"),
        collateral=_opt_dec(body, "assetsValue"),
    )


def order_from_update(data: Mapping[str, Any], *, symbol_of: SymbolOf, client_id_of: ClientIdOf) -> OrderInfo:
    """An `account.orderUpdate` push's `data` (venue-data/backpack/ws_orderUpdate_*.json: `i` order id, `c`
    client id, `s`, `S` side, `o` type, `f` time in force, `q`, `p`, `X` status, `z` executed quantity, `r`
    reduce-only, `E` µs) -> `OrderInfo`.

    Raises:
        ValueError: no order id, symbol or side."""
    if not isinstance(data.get("i"), (str, int)) or not isinstance(data.get("s"), str):
        raise ValueError("orderUpdate without i or s")
    tif_text = str(data.get("f") or "GTC").upper()
    post_only = data.get("y") is True
    return OrderInfo(
        venue="backpack",
        symbol=symbol_of(data["s"]),
        order_id=str(data["i"]),
        client_order_id=client_id_of(data.get("c")),
        side=_side(data.get("S")),
        order_type=OrderType.MARKET if str(data.get("o", "")).upper() == "MARKET" else OrderType.LIMIT,
        time_in_force=TimeInForce.POST_ONLY
        if post_only
        else (TimeInForce.IOC if tif_text in ("IOC", "FOK") else TimeInForce.GTC),
        price=_opt_dec(data, "p"),
        quantity=_dec(data, "q", default=Decimal(0)),
        filled_quantity=_dec(data, "z", default=Decimal(0)),
        status=status_of(data.get("X")),
        reduce_only=data.get("r") is True,
        updated_at=from_micros(data.get("E")),
    )


def fill_from_update(data: Mapping[str, Any], *, symbol_of: SymbolOf, client_id_of: ClientIdOf) -> Fill:
    """An `orderFill` event of `account.orderUpdate` (`t` trade id, `l` fill quantity, `L` fill price, `m` maker,
    `n` fee, `N` fee symbol, `T` µs) -> `Fill`.

    Raises:
        ValueError: no trade id, fill quantity or price."""
    if data.get("t") is None:
        raise ValueError("orderFill without t")
    return Fill(
        venue="backpack",
        symbol=symbol_of(str(data.get("s"))),
        order_id=str(data.get("i", "")),
        client_order_id=client_id_of(data.get("c")),
        side=_side(data.get("S")),
        price=_dec(data, "L"),
        quantity=_dec(data, "l"),
        fee=_dec(data, "n", default=Decimal(0)),
        liquidity="maker" if data.get("m") is True else "taker",
        ts=from_micros(data.get("T")) or from_micros(data.get("E")) or _EPOCH,
        fill_id=str(data["t"]),
    )


def position_from_update(data: Mapping[str, Any], *, symbol_of: SymbolOf) -> PositionSnapshot:
    """An `account.positionUpdate` push's `data` (venue-data/backpack/ws_positionUpdate_positionOpened_2025-08.json:
    `q` net quantity (signed), `b` entry price, `M` mark, `l` estimated liquidation price ("0" = none), `P`
    unrealised PnL, `n` notional, `f` imf) -> `PositionSnapshot`.

    Raises:
        ValueError: no symbol or quantity."""
    liq = _opt_dec(data, "l")
    notional, imf = _opt_dec(data, "n"), _opt_dec(data, "f")
    return PositionSnapshot(
        venue="backpack",
        symbol=symbol_of(str(data.get("s"))),
        quantity=_dec(data, "q"),
        entry_price=_opt_dec(data, "b"),
        mark_price=_opt_dec(data, "M"),
        unrealized_pnl=_opt_dec(data, "P"),
        funding_accrued=None,
        liquidation_price=liq if liq else None,
        margin=abs(notional) * imf if notional is not None and imf is not None else None,
        leverage=None,
    )
