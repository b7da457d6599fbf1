"""Pure converters of Aster's account payloads into perparb's trading models (one per payload).

Shapes (asterdex/api-docs@265e024 V1/V3 futures API; recorded payloads in ../shared/venue-data/aster/):

| payload                                   | model               | rules                                           |
|-------------------------------------------|---------------------|-------------------------------------------------|
| order object (`POST/GET/DELETE order`, `openOrders`; rest_order_post_docexample, rest_batchOrders_post_market_2026-04) | `OrderInfo` | status NEW -> OPEN, PARTIALLY_FILLED, FILLED, CANCELED, EXPIRED -> CANCELED (an IOC / post-only remainder; a post-only `GTX` that filled nothing -> REJECTED "post-only would cross"), REJECTED; `executedQty` base units; `timeInForce` GTX = post-only; `updateTime` ms |
| `userTrades` row                          | `Fill`              | `commission` in `commissionAsset` (USDT), + paid; `maker` bool; `id` trade id |
| `income` row, incomeType FUNDING_FEE      | `FundingPaymentInfo` | `income` USDT signed from the user's view (+ received, - paid) |
| `positionRisk` row (rest_positionRisk_*)  | `PositionSnapshot`  | `positionAmt` signed base units (+ long); `liquidationPrice` "0" = none; `leverage` text; one-way mode `positionSide` BOTH |
| `balance` rows (rest_balance_v2_2026-04)  | `BalanceInfo`       | the margin asset's row (USDT): equity = `balance` + `crossUnPnl`, available = `availableBalance` |
| WS `ORDER_TRADE_UPDATE` `o`               | `OrderInfo` (+ `Fill` when `x` is TRADE) | `z` cumulative filled, `l`/`L` last fill qty/price, `n` commission, `m` maker, `t` trade id |

Every converter raises `ValueError` (naming the field) for a row it cannot read; callers skip and log such rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

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
from perparb_core.models import utc_from_ms

SymbolOf = Callable[[str], str]
MARGIN_ASSETS = ("USDT", "USDC", "USD1")

_STATUS = {
    "NEW": OrderStatus.OPEN,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "EXPIRED": OrderStatus.CANCELED,
    "REJECTED": OrderStatus.REJECTED,
    "NEW_INSURANCE": OrderStatus.FILLED,
    "NEW_ADL": OrderStatus.FILLED,
}
_TIF = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.IOC, "GTX": TimeInForce.POST_ONLY}
POST_ONLY_REJECT = "post-only order would cross (GTX expired)"


def _dec(row: Mapping[str, Any], name: str, *, allow_negative: bool = True) -> Decimal:
    try:
        return units.to_decimal(row.get(name), name, allow_negative=allow_negative)
    except units.UnitError as exc:
        raise ValueError(str(exc)) from None


def _opt_dec(row: Mapping[str, Any], name: str) -> Decimal | None:
    try:
        return units.optional_decimal(row.get(name), name)
    except units.UnitError as exc:
        raise ValueError(str(exc)) from None


def _ms(row: Mapping[str, Any], name: str) -> int:
    value = row.get(name)
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{name}={value!r}: missing")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value!r}: not an epoch ms") from None


def _side(value: Any) -> Side:
    if value == "BUY":
        return Side.BUY
    if value == "SELL":
        return Side.SELL
    raise ValueError(f"side={value!r}: expected BUY or SELL")


def parse_order(
    row: Mapping[str, Any],
    *,
    venue: str,
    symbol_of: SymbolOf,
    client_id_of: Callable[[str | None], str | None],
) -> OrderInfo:
    """An Aster order object -> `OrderInfo` (module table). Raises ValueError naming the field."""
    status_word = row.get("status")
    status = _STATUS.get(str(status_word))
    if status is None:
        raise ValueError(f"status={status_word!r}: unknown order status")
    tif = _TIF.get(str(row.get("timeInForce", "GTC")), TimeInForce.GTC)
    filled = _dec(row, "executedQty", allow_negative=False)
    reason = None
    if status_word == "EXPIRED" and tif is TimeInForce.POST_ONLY and filled == 0:
        status, reason = OrderStatus.REJECTED, POST_ONLY_REJECT
    order_type = (
        OrderType.MARKET if str(row.get("origType", row.get("type"))) == "MARKET" else OrderType.LIMIT
    )
    price = _opt_dec(row, "price")
    updated = row.get("updateTime", row.get("time"))
    venue_symbol = str(row.get("symbol", ""))
    if not venue_symbol:
        raise ValueError("symbol: missing")
    client = row.get("clientOrderId")
    return OrderInfo(
        venue=venue,
        symbol=symbol_of(venue_symbol),
        order_id=str(row.get("orderId", "")),
        client_order_id=client_id_of(str(client) if client else None),
        side=_side(row.get("side")),
        order_type=order_type,
        time_in_force=tif,
        price=price if price else None,
        quantity=_dec(row, "origQty", allow_negative=False),
        filled_quantity=filled,
        status=status,
        reduce_only=row.get("reduceOnly") is True,
        reject_reason=reason,
        updated_at=utc_from_ms(int(updated)) if isinstance(updated, int) and updated > 0 else None,
    )


def parse_user_trade(
    row: Mapping[str, Any],
    *,
    venue: str,
    symbol_of: SymbolOf,
    client_id_of: Callable[[str], str | None],
) -> Fill:
    """A `userTrades` row -> `Fill`; `client_id_of(orderId)` gives the order's client id when the client knows it.
    Raises ValueError naming the field."""
    venue_symbol = str(row.get("symbol", ""))
    order_id = str(row.get("orderId", ""))
    return Fill(
        venue=venue,
        symbol=symbol_of(venue_symbol),
        order_id=order_id,
        client_order_id=client_id_of(order_id),
        side=_side(row.get("side")),
        price=_dec(row, "price", allow_negative=False),
        quantity=_dec(row, "qty", allow_negative=False),
        fee=_dec(row, "commission"),
        liquidity="maker" if row.get("maker") is True else "taker",
        ts=utc_from_ms(_ms(row, "time")),
        fill_id=f"{venue_symbol}:{row.get('id')}",
    )


def parse_income(row: Mapping[str, Any], *, venue: str, symbol_of: SymbolOf) -> FundingPaymentInfo:
    """An `income` row of incomeType FUNDING_FEE -> `FundingPaymentInfo` (+ received). Raises ValueError."""
    if row.get("incomeType") != "FUNDING_FEE":
        raise ValueError(f"incomeType={row.get('incomeType')!r}: not FUNDING_FEE")
    return FundingPaymentInfo(
        venue=venue,
        symbol=symbol_of(str(row.get("symbol", ""))),
        amount=_dec(row, "income"),
        ts=utc_from_ms(_ms(row, "time")),
    )


def parse_position(row: Mapping[str, Any], *, venue: str, symbol_of: SymbolOf) -> PositionSnapshot:
    """A `positionRisk` row -> `PositionSnapshot` (signed size; "0" liquidation price = none). Raises ValueError."""
    size = _dec(row, "positionAmt")
    side = row.get("positionSide", "BOTH")
    if side == "SHORT" and size > 0:
        size = -size
    liq = _opt_dec(row, "liquidationPrice")
    entry = _opt_dec(row, "entryPrice")
    mark = _opt_dec(row, "markPrice")
    margin = _opt_dec(row, "isolatedMargin") if row.get("marginType") == "isolated" else None
    return PositionSnapshot(
        venue=venue,
        symbol=symbol_of(str(row.get("symbol", ""))),
        quantity=size,
        entry_price=entry if entry else None,
        mark_price=mark if mark else None,
        unrealized_pnl=_opt_dec(row, "unRealizedProfit"),
        funding_accrued=None,
        liquidation_price=liq if liq else None,
        margin=margin,
        leverage=_opt_dec(row, "leverage"),
    )


def parse_balance(rows: Any, *, venue: str) -> BalanceInfo:
    """`balance` rows -> `BalanceInfo` of the margin assets (USDT, USDC, USD1 summed at par): equity = `balance` +
    `crossUnPnl`, available = `availableBalance`, collateral = `balance`. Raises ValueError (not a list)."""
    if not isinstance(rows, list):
        raise ValueError(f"balance: body is {type(rows).__name__}, expected a list")
    equity = available = collateral = Decimal(0)
    for row in rows:
        if not isinstance(row, dict) or row.get("asset") not in MARGIN_ASSETS:
            continue
        wallet = _dec(row, "balance")
        collateral += wallet
        equity += wallet + (_opt_dec(row, "crossUnPnl") or Decimal(0))
        available += _dec(row, "availableBalance")
    return BalanceInfo(venue=venue, available=available, equity=equity, collateral=collateral)


def parse_order_update(
    o: Mapping[str, Any],
    *,
    venue: str,
    symbol_of: SymbolOf,
    client_id_of: Callable[[str | None], str | None],
    event_ms: int | None = None,
) -> tuple[OrderInfo, Fill | None]:
    """The `o` object of a WS `ORDER_TRADE_UPDATE` -> (`OrderInfo`, the `Fill` when `x` is TRADE). Raises
    ValueError naming the field."""
    as_order = {
        "symbol": o.get("s"),
        "clientOrderId": o.get("c"),
        "side": o.get("S"),
        "type": o.get("o"),
        "origType": o.get("ot", o.get("o")),
        "timeInForce": o.get("f"),
        "origQty": o.get("q"),
        "price": o.get("p"),
        "status": o.get("X"),
        "orderId": o.get("i"),
        "executedQty": o.get("z"),
        "reduceOnly": o.get("R"),
        "updateTime": o.get("T", event_ms),
    }
    order = parse_order(as_order, venue=venue, symbol_of=symbol_of, client_id_of=client_id_of)
    if o.get("x") != "TRADE":
        return order, None
    venue_symbol = str(o.get("s", ""))
    fee = _opt_dec(o, "n") or Decimal(0)
    fill = Fill(
        venue=venue,
        symbol=order.symbol,
        order_id=order.order_id,
        client_order_id=order.client_order_id,
        side=order.side,
        price=_dec(o, "L", allow_negative=False),
        quantity=_dec(o, "l", allow_negative=False),
        fee=fee,
        liquidity="maker" if o.get("m") is True else "taker",
        ts=utc_from_ms(_ms(o, "T")),
        fill_id=f"{venue_symbol}:{o.get('t')}",
    )
    return order, fill


def positions_of_account_update(
    a: Mapping[str, Any], *, venue: str, symbol_of: SymbolOf
) -> Sequence[PositionSnapshot]:
    """Positions `P` of a WS `ACCOUNT_UPDATE` `a` (ws_ACCOUNT_UPDATE_2026-01.json) -> snapshots (size `pa`, entry
    `ep`, unrealised `up`); rows that cannot be read are skipped."""
    out = []
    for p in a.get("P") or []:
        if not isinstance(p, dict):
            continue
        try:
            size = _dec(p, "pa")
            entry = _opt_dec(p, "ep")
            out.append(
                PositionSnapshot(
                    venue=venue,
                    symbol=symbol_of(str(p.get("s", ""))),
                    quantity=-abs(size) if p.get("ps") == "SHORT" else size,
                    entry_price=entry if entry else None,
                    mark_price=None,
                    unrealized_pnl=_opt_dec(p, "up"),
                    funding_accrued=None,
                    liquidation_price=None,
                    margin=_opt_dec(p, "iw") if p.get("mt") == "isolated" else None,
                    leverage=None,
                )
            )
        except ValueError:
            continue
    return out
