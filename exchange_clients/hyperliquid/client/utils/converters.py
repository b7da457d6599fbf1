"""Pure parsers of Hyperliquid's trading payloads (account state, orders, fills, funding payments, action
answers) into the venue-neutral models of `exchange_clients.base.trading`. No I/O.

Sources: venue-data/hyperliquid/rest_info_clearinghouseState_*.json, rest_info_orderStatus_*.json,
rest_info_frontendOpenOrders_*.json, rest_info_userFills_*.json, rest_info_userFunding_*.json,
rest_exchange_*.json, ws_orderUpdates_open.json, ws_userFills_snapshot.json, ws_user_fills_liquidation_2026-06.json
(docs info-endpoint.md, info-endpoint/perpetuals.md, exchange-endpoint.md, websocket/subscriptions.md).

Conventions on the wire: numbers are decimal strings (third-party recordings sometimes hold JSON numbers, and ccxt
stored some ints as strings: both are read); `side` "B" = bid/buy, "A" = ask/sell; `szi` is the signed position
(+ long); `time`/`timestamp` are epoch ms; `sz` of an order is what REMAINS, `origSz` what was asked.

Signs of money:
* `userFunding` / `userFundings` `delta.usdc`: + received, - paid (the account's view; a short receives when the
  rate is positive: rest_info_userFunding_SOL_short_2024-12.json, szi -7375.9, rate +0.00004381, usdc +75.635);
  kept as is in `FundingPaymentInfo.amount` (+ received, - paid);
* `clearinghouseState` `cumFunding.sinceOpen`: + = PAID by the account (inferred from recordings, not documented:
  longs in positive-rate periods carry positive values); `PositionSnapshot.funding_accrued` is + received, so it is
  the NEGATED `sinceOpen`;
* fill `fee`: + paid (negative = rebate), in `feeToken` (USDC; USDH on some HIP-3 dexes), as `Fill.fee`.

Each parser raises `ValueError` (or `units.UnitError`, a `ValueError`) naming the field for a row it cannot read;
callers turn that into a rejection of that row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta, timezone
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
from exchange_clients.hyperliquid.common import HyperliquidDataError, HyperliquidRejectedError
from perparb_core import units
from perparb_core.units import UnitError

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
SymbolOf = Callable[[str], str]
ClientIdOf = Callable[[str | None], str | None]

IOC_NO_MATCH = "could not immediately match"
ALO_WOULD_CROSS = "post only order would have immediately matched"
#: Order status strings (docs info-endpoint.md "Query order status by oid or cloid") -> perparb status.
#: "open" with some size filled is PARTIALLY_FILLED; every "...Canceled" and "scheduledCancel" is CANCELED; every
#: "...Rejected" and "rejected" is REJECTED; "triggered" (a trigger order that became a live order) is OPEN.
STATUS_MAP = {
    "open": OrderStatus.OPEN,
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "triggered": OrderStatus.OPEN,
    "rejected": OrderStatus.REJECTED,
    "scheduledCancel": OrderStatus.CANCELED,
}
TIF_MAP = {"Gtc": TimeInForce.GTC, "Ioc": TimeInForce.IOC, "Alo": TimeInForce.POST_ONLY}


def utc_ms(ms: int) -> datetime:
    """Epoch ms -> aware UTC datetime, exactly."""
    return _EPOCH + timedelta(milliseconds=ms)


def to_ms(ts: datetime) -> int:
    """Aware datetime -> epoch ms (floor). Raises ValueError for a naive datetime."""
    if ts.tzinfo is None:
        raise ValueError(f"naive datetime {ts!r}")
    delta = ts - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def int_field(row: Mapping[str, Any], name: str) -> int:
    """An integer field (JSON int or integral decimal string). Raises UnitError naming it."""
    value = row.get(name)
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        raise UnitError(name, value, "missing" if value in (None, "") else "not an integer")
    dec = units.to_decimal(value, name)
    if dec != dec.to_integral_value():
        raise UnitError(name, value, "not an integer")
    return int(dec)


def dec_field(row: Mapping[str, Any], name: str, *, allow_negative: bool = True) -> Decimal:
    """A number field (string or JSON number). Raises UnitError naming it."""
    return units.to_decimal(row.get(name), name, allow_negative=allow_negative)


def opt_dec(row: Mapping[str, Any], name: str) -> Decimal | None:
    """A number that may be null / absent / "" (-> None). Raises UnitError for a present bad value."""
    return units.optional_decimal(row.get(name), name)


def side_of(value: Any) -> Side:
    """ "B" -> BUY, "A" -> SELL. Raises UnitError."""
    if value == "B":
        return Side.BUY
    if value == "A":
        return Side.SELL
    raise UnitError("side", value, "expected 'B' or 'A'")


def order_status(status: str, remaining: Decimal, original: Decimal) -> OrderStatus:
    """Hyperliquid status string (+ sizes) -> `OrderStatus` (`STATUS_MAP`)."""
    if status == "open" and remaining < original:
        return OrderStatus.PARTIALLY_FILLED
    if status in STATUS_MAP:
        return STATUS_MAP[status]
    if status.endswith("Canceled"):
        return OrderStatus.CANCELED
    if status.endswith("Rejected"):
        return OrderStatus.REJECTED
    return OrderStatus.UNKNOWN


def parse_order(
    order: Mapping[str, Any],
    status: str,
    *,
    venue: str,
    symbol_of: SymbolOf,
    client_id_of: ClientIdOf,
    status_ts_ms: int | None = None,
) -> OrderInfo:
    """An order object (`orderStatus.order.order`, `frontendOpenOrders[i]`, `orderUpdates[i].order`, `openOrders[i]`)
    with its status string -> `OrderInfo`.

    `quantity` = `origSz` (the size asked; `sz` when absent, older bodies), `filled_quantity` = origSz - sz
    (`sz` is what remains), `price` = `limitPx`, `order_type` MARKET for `orderType` "Market" / tif
    "FrontendMarket" or "Ioc", else LIMIT; `time_in_force` from `tif` (GTC when absent); `reduce_only`
    = `reduceOnly`; `client_order_id` = the caller's id of `cloid`; `order_id` = `oid` as text.

    Raises:
        UnitError / ValueError: a missing or unreadable `coin`, `oid`, `side`, `limitPx` or size.
    """
    coin = order.get("coin")
    if not isinstance(coin, str) or not coin:
        raise UnitError("coin", coin, "missing")
    oid = int_field(order, "oid")
    remaining = dec_field(order, "sz", allow_negative=False)
    original = opt_dec(order, "origSz")
    quantity = original if original is not None else remaining
    tif_raw = order.get("tif")
    tif = TIF_MAP.get(tif_raw, TimeInForce.GTC) if isinstance(tif_raw, str) else TimeInForce.GTC
    market = order.get("orderType") == "Market" or tif_raw in ("FrontendMarket", "Ioc")
    cloid = order.get("cloid")
    ts_ms = (
        status_ts_ms
        if status_ts_ms is not None
        else (int_field(order, "timestamp") if order.get("timestamp") is not None else None)
    )
    return OrderInfo(
        venue=venue,
        symbol=symbol_of(coin),
        order_id=str(oid),
        client_order_id=client_id_of(cloid if isinstance(cloid, str) else None),
        side=side_of(order.get("side")),
        order_type=OrderType.MARKET if market else OrderType.LIMIT,
        time_in_force=TimeInForce.IOC if tif_raw == "FrontendMarket" else tif,
        price=dec_field(order, "limitPx", allow_negative=False),
        quantity=quantity,
        filled_quantity=max(quantity - remaining, Decimal(0)),
        status=order_status(status, remaining, quantity),
        reduce_only=order.get("reduceOnly") is True,
        updated_at=utc_ms(ts_ms) if ts_ms is not None else None,
    )


def parse_order_status_body(
    body: Any, *, venue: str, symbol_of: SymbolOf, client_id_of: ClientIdOf
) -> OrderInfo | None:
    """`POST /info {"type":"orderStatus","user","oid": int | "0x<cloid>"}` -> the order, or None for
    `{"status":"unknownOid"}` (rest_info_orderStatus_unknownOid.json).

    Raises:
        ValueError: any other shape (named).
    """
    if not isinstance(body, dict):
        raise ValueError(f"orderStatus: body is {type(body).__name__}, expected an object")
    if body.get("status") == "unknownOid":
        return None
    wrapper = body.get("order")
    if (
        body.get("status") != "order"
        or not isinstance(wrapper, dict)
        or not isinstance(wrapper.get("order"), dict)
    ):
        raise ValueError(f"orderStatus: status {body.get('status')!r} without an order object")
    status = wrapper.get("status")
    if not isinstance(status, str):
        raise UnitError("status", status, "missing")
    ts = wrapper.get("statusTimestamp")
    return parse_order(
        wrapper["order"],
        status,
        venue=venue,
        symbol_of=symbol_of,
        client_id_of=client_id_of,
        status_ts_ms=int_field(wrapper, "statusTimestamp") if ts is not None else None,
    )


def parse_position(position: Mapping[str, Any], *, venue: str, symbol_of: SymbolOf) -> PositionSnapshot:
    """`clearinghouseState.assetPositions[i].position` -> `PositionSnapshot`.

    quantity = `szi` (signed, + long, base units); entry = `entryPx`; mark = positionValue / |szi| (the venue's
    notional at its mark; None when flat); unrealized_pnl = `unrealizedPnl`; funding_accrued = -`cumFunding.sinceOpen`
    (+ received; module docstring); liquidation_price = `liquidationPx` (null = none, e.g. a well-margined cross
    position); margin = `marginUsed`; leverage = `leverage.value`.

    Raises:
        UnitError / ValueError: a missing `coin` or `szi`, or an unreadable number.
    """
    coin = position.get("coin")
    if not isinstance(coin, str) or not coin:
        raise UnitError("coin", coin, "missing")
    szi = dec_field(position, "szi")
    value = opt_dec(position, "positionValue")
    leverage = position.get("leverage")
    cum = position.get("cumFunding")
    since_open = opt_dec(cum, "sinceOpen") if isinstance(cum, dict) else None
    return PositionSnapshot(
        venue=venue,
        symbol=symbol_of(coin),
        quantity=szi,
        entry_price=opt_dec(position, "entryPx"),
        mark_price=abs(value / szi) if value is not None and szi != 0 else None,
        unrealized_pnl=opt_dec(position, "unrealizedPnl"),
        funding_accrued=-since_open if since_open is not None else None,
        liquidation_price=opt_dec(position, "liquidationPx"),
        margin=opt_dec(position, "marginUsed"),
        leverage=opt_dec(leverage, "value") if isinstance(leverage, dict) else None,
    )


def clearinghouse_positions(body: Any) -> list[dict[str, Any]]:
    """The `position` objects of a `clearinghouseState` body.

    Raises:
        ValueError: not an object with an `assetPositions` list."""
    rows = body.get("assetPositions") if isinstance(body, dict) else None
    if not isinstance(rows, list):
        raise ValueError("clearinghouseState: assetPositions missing or not a list")
    return [r["position"] for r in rows if isinstance(r, dict) and isinstance(r.get("position"), dict)]


def parse_balance(body: Any, *, venue: str) -> BalanceInfo:
    """`clearinghouseState` -> balance: equity = `marginSummary.accountValue` (collateral + unrealised PnL,
    USDC), available = `withdrawable` (free for new margin or withdrawal), collateral = `marginSummary.totalRawUsd`.

    Raises:
        UnitError / ValueError: `marginSummary` or `withdrawable` missing or unreadable."""
    summary = body.get("marginSummary") if isinstance(body, dict) else None
    if not isinstance(summary, dict):
        raise ValueError("clearinghouseState: marginSummary missing")
    return BalanceInfo(
        venue=venue,
        available=dec_field(body, "withdrawable"),
        equity=dec_field(summary, "accountValue"),
        collateral=opt_dec(summary, "totalRawUsd"),
    )


def parse_fill(row: Mapping[str, Any], *, venue: str, symbol_of: SymbolOf, client_id_of: ClientIdOf) -> Fill:
    """A `userFills` / `userFillsByTime` / WS `userFills` / `user` fill -> `Fill`.

    price `px`, quantity `sz` (base), fee `fee` (+ paid; total fee incl. `builderFee`), liquidity "taker" when
    `crossed` else "maker", ts `time`, fill_id = `tid` as text (unique per fill; deduplication key), order_id
    `oid`, client id from `cloid`.

    Raises:
        UnitError / ValueError: a missing or unreadable field (named)."""
    coin = row.get("coin")
    if not isinstance(coin, str) or not coin:
        raise UnitError("coin", coin, "missing")
    cloid = row.get("cloid")
    return Fill(
        venue=venue,
        symbol=symbol_of(coin),
        order_id=str(int_field(row, "oid")),
        client_order_id=client_id_of(cloid if isinstance(cloid, str) else None),
        side=side_of(row.get("side")),
        price=dec_field(row, "px", allow_negative=False),
        quantity=dec_field(row, "sz", allow_negative=False),
        fee=dec_field(row, "fee"),
        liquidity="taker" if row.get("crossed") is True else "maker",
        ts=utc_ms(int_field(row, "time")),
        fill_id=(
            str(int_field(row, "tid"))
            if row.get("tid") is not None
            else f"{row.get('hash')}/{int_field(row, 'oid')}/{row.get('px')}/{row.get('sz')}/{row.get('startPosition')}"
        ),
    )


def parse_funding_payment(row: Mapping[str, Any], *, venue: str, symbol_of: SymbolOf) -> FundingPaymentInfo:
    """A `userFunding` row `{time, hash, delta:{type:"funding", coin, usdc, szi, fundingRate, nSamples}}` (or a
    WS `userFundings` entry `{time, coin, usdc, szi, fundingRate}`) -> `FundingPaymentInfo`: amount = `usdc`
    (+ received, - paid), rate = `fundingRate` (per hour; per 8 h before 2023-06-08), position = `szi`.

    Raises:
        UnitError / ValueError: a missing or unreadable field, or a delta of another type."""
    delta = row.get("delta", row)
    if not isinstance(delta, dict):
        raise UnitError("delta", delta, "not an object")
    if "delta" in row and delta.get("type") != "funding":
        raise UnitError("delta.type", delta.get("type"), "not a funding entry")
    coin = delta.get("coin")
    if not isinstance(coin, str) or not coin:
        raise UnitError("coin", coin, "missing")
    return FundingPaymentInfo(
        venue=venue,
        symbol=symbol_of(coin),
        amount=dec_field(delta, "usdc"),
        ts=utc_ms(int_field(row, "time")),
        rate=opt_dec(delta, "fundingRate"),
        position_quantity=opt_dec(delta, "szi"),
    )


def action_statuses(response: Any, expected_type: str) -> list[Any]:
    """`statuses` of an `/exchange` `response` `{"type": expected_type, "data": {"statuses": [...]}}`.

    Raises:
        ValueError: another shape."""
    if not isinstance(response, dict) or response.get("type") != expected_type:
        raise ValueError(f"/exchange {expected_type}: response {str(response)[:120]!r}")
    data = response.get("data")
    statuses = data.get("statuses") if isinstance(data, dict) else None
    if not isinstance(statuses, list):
        raise ValueError(f"/exchange {expected_type}: data.statuses missing")
    return statuses


def parse_order_answer(status: Any, sent: OrderInfo, *, what: str, coin: str) -> OrderInfo:
    """One `statuses[i]` of an order answer -> the order as sent (`sent`: side, size, price, tif, client id)
    updated with the venue's outcome:

    * `{"resting":{"oid"[, "cloid"]}}` -> OPEN, order_id = oid (rest_exchange_order_resting.json);
    * `{"filled":{"totalSz","avgPx","oid"}}` -> FILLED when totalSz reaches the size, else CANCELED with
      filled_quantity = totalSz (an IOC's unfilled rest is cancelled at once) (rest_exchange_order_filled_*.json);
    * `{"error": text}` -> REJECTED with the text as reason when an IOC matched nothing ("Order could not
      immediately match ...") or a post-only would have crossed ("Post only order would have immediately
      matched ..."): normal outcomes of those order types, not failures.

    Raises:
        HyperliquidRejectedError: any other `{"error": text}` (e.g. "Order must have minimum value of $10.",
            "Insufficient margin to place order. asset=84"), naming the order (`what`) and the venue's text.
        HyperliquidDataError: any other status (e.g. the bare string "waitingForTrigger" of a TP/SL child, which
            perparb never sends) or an unreadable number.
    """
    try:
        if isinstance(status, dict) and isinstance(status.get("resting"), dict):
            return replace(sent, order_id=str(int_field(status["resting"], "oid")), status=OrderStatus.OPEN)
        if isinstance(status, dict) and isinstance(status.get("filled"), dict):
            filled = status["filled"]
            total = dec_field(filled, "totalSz", allow_negative=False)
            state = OrderStatus.FILLED if total >= sent.quantity else OrderStatus.CANCELED
            return replace(sent, order_id=str(int_field(filled, "oid")), status=state, filled_quantity=total)
    except UnitError as exc:
        raise HyperliquidDataError(f"{what}: {exc}", coin, venue=sent.venue) from None
    if isinstance(status, dict) and "error" in status:
        text = " ".join(str(status["error"]).split())
        lowered = text.lower()
        if IOC_NO_MATCH in lowered or ALO_WOULD_CROSS in lowered:
            return replace(sent, status=OrderStatus.REJECTED, reject_reason=text)
        raise HyperliquidRejectedError(f"{what}: {text}", coin, venue=sent.venue)
    raise HyperliquidDataError(f"{what}: unexpected status {str(status)[:120]!r}", coin, venue=sent.venue)
