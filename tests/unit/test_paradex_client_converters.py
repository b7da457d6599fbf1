"""Paradex client converters on recorded payloads (../shared/venue-data/paradex) and the WS URL rule."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from exchange_clients.base.trading import OrderStatus, Side, TimeInForce
from exchange_clients.paradex.client.utils.converters import (
    balance_from_summary,
    fill_from_row,
    funding_payment_from_row,
    order_from_resp,
    order_status,
    parse_rows,
    position_from_row,
)
from exchange_clients.paradex.client.websocket_handlers import events_of
from exchange_clients.paradex.common import ParadexDataError
from exchange_clients.paradex.config import ws_url_from_rest
from tests.shared_data import load_payload

D = Decimal


def test_ws_url_from_rest() -> None:
    assert ws_url_from_rest("http://127.0.0.1:8081/v1/") == "ws://127.0.0.1:8081/v1"
    assert ws_url_from_rest("https://api.prod.paradex.trade/v1") == "wss://ws.api.prod.paradex.trade/v1"
    with pytest.raises(ValueError, match="http"):
        ws_url_from_rest("ftp://x/v1")


def test_closed_user_canceled_order() -> None:
    order = order_from_resp(load_payload("paradex", "rest_order_closed_user_canceled"))
    assert (order.symbol, order.order_id, order.side, order.price, order.quantity) == (
        "BTC",
        "1718941725080201704028870000",
        Side.SELL,
        D("70784.5"),
        D("10.153"),
    )
    assert (order.filled_quantity, order.status, order.reject_reason, order.client_order_id) == (
        D(0),
        OrderStatus.CANCELED,
        "USER_CANCELED",
        None,
    )
    assert order.updated_at == datetime(2024, 6, 21, 8, 20, 2, 991000, tzinfo=timezone.utc)


def test_ws_order_is_an_event_with_reduce_only() -> None:
    frame = load_payload("paradex", "ws_orders_all_docexample")["params"]
    (event,) = events_of(frame["channel"], frame["data"])
    order = event.order
    assert order is not None
    assert (
        order.client_order_id,
        order.reduce_only,
        order.status,
        order.time_in_force,
        order.filled_quantity,
    ) == (
        "x1234",
        True,
        OrderStatus.PARTIALLY_FILLED,  # status NEW with remaining 0 of 0.05
        TimeInForce.GTC,
        D("0.05"),
    )


def test_order_status_rules() -> None:
    assert order_status("CLOSED", "", D(1), D(1)) is OrderStatus.FILLED
    assert order_status("CLOSED", "POST_ONLY_WOULD_CROSS", D(0), D(1)) is OrderStatus.REJECTED
    assert order_status("CLOSED", "IOC_REMAINDER", D("0.5"), D(1)) is OrderStatus.CANCELED
    assert order_status("OPEN", "", D(0), D(1)) is OrderStatus.OPEN
    assert order_status("WEIRD", "", D(0), D(1)) is OrderStatus.UNKNOWN


def test_recorded_positions() -> None:
    (sol,) = load_payload("paradex", "rest_positions_sol_1")["results"]
    position = position_from_row(sol)
    assert (position.symbol, position.quantity, position.entry_price, position.funding_accrued) == (
        "SOL",
        D("3"),
        D("183.06499451"),
        D("-0.00059564"),
    )
    assert (position.liquidation_price, position.leverage, position.margin) == (None, None, None)
    (btc,) = load_payload("paradex", "rest_positions_btc_leverage")["results"]
    position = position_from_row(btc, D("64600"))
    assert (position.mark_price, position.leverage, position.margin) == (
        D("64600"),
        D("5"),
        D("648.39960537") / 5,
    )
    short = position_from_row(dict(btc, side="SHORT", size="-0.01"))
    assert short.quantity == D("-0.01")
    assert position_from_row(dict(btc, status="CLOSED")).quantity == 0


def test_recorded_fill_payment_and_account() -> None:
    (row,) = load_payload("paradex", "rest_fills")["results"]
    fill = fill_from_row(row)
    assert (fill.price, fill.quantity, fill.fee, fill.liquidity, fill.client_order_id, fill.side) == (
        D("64852.9"),
        D("0.01"),
        D("0.1945587"),
        "taker",
        None,
        Side.BUY,
    )
    (payment_row,) = load_payload("paradex", "rest_funding_payments_docexample")["results"]
    payment = funding_payment_from_row(payment_row)
    assert (payment.symbol, payment.amount, payment.rate) == ("BTC", D("34.4490622"), None)
    account = load_payload("paradex", "ws_account_docexample")["params"]["data"]
    balance = balance_from_summary(account)
    assert (balance.available, balance.equity, balance.collateral) == (
        D(str(account["free_collateral"])),
        D(str(account["account_value"])),
        D(str(account["total_collateral"])),
    )


def test_bad_rows_are_rejected_and_the_rest_kept() -> None:
    (row,) = load_payload("paradex", "rest_fills")["results"]
    rows = [row, dict(row, price=""), dict(row, side="SIDEWAYS")]
    assert [f.fill_id for f in parse_rows(rows, fill_from_row, "test")] == [row["id"]]
    with pytest.raises(ParadexDataError, match="price"):
        fill_from_row(dict(row, price="0"))
