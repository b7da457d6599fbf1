"""Lighter client converters on the recorded account, order, trade and positionFunding payloads of
../shared/venue-data/lighter (skipped when absent), and the `account_all` event decoder fed with those rows.

Files: rest_account_with_eth_position, rest_account_main_and_subaccount, rest_account_by_l1_address_with_assets,
rest_accountActiveOrders, rest_accountInactiveOrders, rest_trades_account, rest_positionFunding_fragment.
"""

from __future__ import annotations

import copy
import logging
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from exchange_clients.base.trading import (
    BalanceInfo,
    EventKind,
    Fill,
    FundingPaymentInfo,
    OrderInfo,
    OrderStatus,
    OrderType,
    PositionSnapshot,
    Side,
    TimeInForce,
)
from exchange_clients.lighter.client.managers.account_manager import AccountManager
from exchange_clients.lighter.client.utils.caching import MarketCache
from exchange_clients.lighter.client.utils.converters import (
    parse_order,
    parse_position,
    parse_position_funding,
    parse_trade,
)
from exchange_clients.lighter.client.websocket_handlers import AccountEventDecoder
from tests.shared_data import load_payload

pytestmark = pytest.mark.conformance

D = Decimal
ACCOUNT = 1077


def utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def symbol_of(market_id: int) -> str:
    return {0: "ETH"}.get(market_id, f"market-{market_id}")


EXPECTED_ORDER = OrderInfo(
    venue="lighter",
    symbol="ETH",
    order_id="281474977354074",
    client_order_id=None,
    side=Side.SELL,
    order_type=OrderType.MARKET,
    time_in_force=TimeInForce.IOC,
    price=D("2221.60"),
    quantity=D("36.0386"),
    filled_quantity=D("0.0000"),
    status=OrderStatus.CANCELED,
    reduce_only=False,
    reject_reason="canceled-margin-not-allowed",
    updated_at=utc(1766387932),
)

EXPECTED_ETH_POSITION = PositionSnapshot(
    venue="lighter",
    symbol="ETH",
    quantity=D("18.0193"),
    entry_price=D("2669.84"),
    mark_price=D("3013.80"),  # position_value 54306.566340 / 18.0193
    unrealized_pnl=D("6197.829558"),
    funding_accrued=None,  # the recorded row has no total_funding_paid_out
    liquidation_price=D("2191.1107231380406"),
    margin=D("2715.328317"),  # cross: position_value x 5.00 %
    leverage=D(20),
)


# ----------------------------------------------------------------------------------------------- accounts


def test_account_with_eth_position() -> None:
    body = load_payload("lighter", "rest_account_with_eth_position")
    [account] = [a for a in body["accounts"] if a["index"] == ACCOUNT]
    [row] = account["positions"]
    snap = parse_position(row, symbol_of(row["market_id"]))
    assert snap == EXPECTED_ETH_POSITION
    assert snap is not None and snap.liquidation_distance == (D("3013.80") - D("2191.1107231380406")) / D(
        "3013.80"
    )


@pytest.mark.parametrize(
    ("name", "index", "expected"),
    [
        ("rest_account_with_eth_position", ACCOUNT, ("12582.743947", "15298.072264000002", "9100.242706")),
        ("rest_account_main_and_subaccount", ACCOUNT, ("4048.997878", "4052.2289849999997", "4087.486845")),
        ("rest_account_main_and_subaccount", 281474976710588, ("0.000000", "0", "0.000000")),
        ("rest_account_by_l1_address_with_assets", ACCOUNT, ("12606.880799", "15323.479477", "9100.242706")),
    ],
)
async def test_recorded_account_balances(name: str, index: int, expected: tuple[str, str, str]) -> None:
    body = load_payload("lighter", name)
    [row] = [a for a in body["accounts"] if a["index"] == index]

    async def account() -> dict[str, Any]:
        return row

    manager = AccountManager.__new__(AccountManager)  # only `account()` is used by `balance()`
    manager.account = account  # type: ignore[method-assign]
    assert await manager.balance() == BalanceInfo(
        venue="lighter", available=D(expected[0]), equity=D(expected[1]), collateral=D(expected[2])
    )
    if name != "rest_account_with_eth_position":
        assert [parse_position(p, "ETH") for p in row["positions"]] == []


def test_short_and_flat_positions_of_the_recorded_row() -> None:
    body = load_payload("lighter", "rest_account_with_eth_position")
    row = dict(body["accounts"][0]["positions"][0], sign=-1, total_funding_paid_out="1.250000")
    snap = parse_position(row, "ETH")
    assert snap is not None
    assert (snap.quantity, snap.funding_accrued) == (D("-18.0193"), D("-1.250000"))
    assert parse_position(dict(row, position="0.0000", sign=0), "ETH") is None


# ----------------------------------------------------------------------------------------------- orders


@pytest.mark.parametrize("name", ["rest_accountActiveOrders", "rest_accountInactiveOrders"])
def test_recorded_orders(name: str) -> None:
    [row] = load_payload("lighter", name)["orders"]
    assert parse_order(row, symbol_of(row["market_index"])) == EXPECTED_ORDER


def test_recorded_order_with_the_callers_client_id_and_partial_fill() -> None:
    [row] = load_payload("lighter", "rest_accountActiveOrders")["orders"]
    row = dict(row, client_order_index=42, status="open", filled_base_amount="10.0000", type="limit")
    row["time_in_force"] = "post-only"
    order = parse_order(row, "ETH", "my-id")
    assert (order.client_order_id, order.status, order.filled_quantity, order.order_type) == (
        "my-id",
        OrderStatus.PARTIALLY_FILLED,
        D("10.0000"),
        OrderType.LIMIT,
    )
    assert order.time_in_force is TimeInForce.POST_ONLY
    assert parse_order(dict(row, client_order_index=42), "ETH").client_order_id == "42"


# ----------------------------------------------------------------------------------------------- trades


def test_recorded_trade_for_each_side() -> None:
    [row] = load_payload("lighter", "rest_trades_account")["trades"]
    bid = parse_trade(row, ACCOUNT, "ETH")
    assert bid == Fill(
        venue="lighter",
        symbol="ETH",
        order_id="562949952870533",
        client_order_id=None,
        side=Side.BUY,
        price=D("2958.75"),
        quantity=D("10.2304"),
        fee=D(0),  # no taker_fee in the row: 0
        liquidity="taker",  # is_maker_ask: the ask (account 20) made
        ts=datetime(2025, 12, 22, 6, 48, 32, 741000, tzinfo=timezone.utc),
        fill_id="17609",
    )
    ask = parse_trade(row, 20, "ETH")
    assert ask is not None
    assert (ask.side, ask.liquidity, ask.order_id, ask.quantity) == (
        Side.SELL,
        "maker",
        "281474977339869",
        D("10.2304"),
    )
    assert parse_trade(row, 999, "ETH") is None


def test_trade_fee_is_millionths_of_notional() -> None:
    [row] = load_payload("lighter", "rest_trades_account")["trades"]
    fill = parse_trade(dict(row, taker_fee=200, maker_fee=-20), ACCOUNT, "ETH")
    maker = parse_trade(dict(row, taker_fee=200, maker_fee=-20), 20, "ETH")
    assert fill is not None and maker is not None
    assert fill.fee == D("30269.196000") * 200 / 1_000_000 == D("6.0538392")
    assert maker.fee == D("-0.60538392")


# ----------------------------------------------------------------------------------------------- funding


def test_recorded_position_funding() -> None:
    body = load_payload("lighter", "rest_positionFunding_fragment")
    [row] = body["position_fundings"]
    cache = MarketCache()
    payment = parse_position_funding(row, cache.symbol_of(row["market_id"]))
    assert payment == FundingPaymentInfo(
        venue="lighter",
        symbol="market-139",
        amount=D("-0.001840"),
        ts=utc(1791525600),
        rate=D("0.0000158"),
        position_quantity=D("0.0071"),
    )
    short = parse_position_funding(dict(row, position_side="short"), "X")
    assert short.position_quantity == D("-0.0071")


# ----------------------------------------------------------------------------------------------- account_all


def recorded_frame(kind: str) -> dict[str, Any]:
    """An `account_all` frame (simulator/README "Trading: Lighter" shape) built from the recorded REST rows."""
    [order] = load_payload("lighter", "rest_accountActiveOrders")["orders"]
    [trade] = load_payload("lighter", "rest_trades_account")["trades"]
    position = load_payload("lighter", "rest_account_with_eth_position")["accounts"][0]["positions"][0]
    return {
        "type": kind,
        "channel": f"account_all:{ACCOUNT}",
        "orders": {"0": [copy.deepcopy(order)]},
        "trades": {"0": [copy.deepcopy(trade)]},
        "positions": {"0": copy.deepcopy(position)},
        "funding_histories": {},
    }


def test_account_all_snapshot_then_updates() -> None:
    decoder = AccountEventDecoder(ACCOUNT, symbol_of, lambda i: "mine" if i == 7 else None)
    events = decoder.decode(recorded_frame("subscribed/account_all"))
    # first snapshot: order + position; its trades are history (remembered, not emitted)
    assert [e.kind for e in events] == [EventKind.ORDER, EventKind.POSITION]
    assert events[0].order == EXPECTED_ORDER
    assert events[1].position == EXPECTED_ETH_POSITION
    assert {e.symbol for e in events} == {"ETH"}
    # the same state again: nothing new
    assert decoder.decode(recorded_frame("update/account_all")) == []

    update = recorded_frame("update/account_all")
    trade = update["trades"]["0"][0]
    trade.update(trade_id=17610, type="liquidation", bid_client_id=7)
    update["positions"]["0"].update(position="0.0000", sign=0)
    events = decoder.decode(update)
    assert [e.kind for e in events] == [EventKind.FILL, EventKind.LIQUIDATION, EventKind.POSITION]
    fill = events[0].fill
    assert fill is not None and events[1].fill == fill
    assert (fill.fill_id, fill.side, fill.client_order_id, fill.quantity) == (
        "17610",
        Side.BUY,
        "mine",
        D("10.2304"),
    )
    flat = events[2].position
    assert flat is not None and (flat.quantity, flat.entry_price) == (D(0), None)
    assert decoder.decode(update) == []


def test_account_all_reconnect_snapshot_emits_only_unseen_trades() -> None:
    decoder = AccountEventDecoder(ACCOUNT, symbol_of, lambda i: None)
    decoder.decode(recorded_frame("subscribed/account_all"))
    again = recorded_frame("subscribed/account_all")
    missed = dict(again["trades"]["0"][0], trade_id=17611, size="1.0000", usd_amount="2958.750000")
    again["trades"]["0"].append(missed)
    events = decoder.decode(again)
    assert [(e.kind, e.fill.fill_id if e.fill else None) for e in events] == [(EventKind.FILL, "17611")]
    assert events[0].fill is not None and events[0].fill.quantity == D("1.0000")


def test_account_all_bad_rows_are_rejected_and_the_rest_kept(caplog: pytest.LogCaptureFixture) -> None:
    decoder = AccountEventDecoder(ACCOUNT, symbol_of, lambda i: None)
    frame = recorded_frame("subscribed/account_all")
    bad = dict(frame["orders"]["0"][0], order_index=5)
    del bad["is_ask"]
    frame["orders"]["0"].insert(0, bad)
    frame["positions"]["1"] = dict(frame["positions"]["0"], market_id=1, sign=3)
    with caplog.at_level(logging.WARNING):
        events = decoder.decode(frame)
    assert [e.kind for e in events] == [EventKind.ORDER, EventKind.POSITION]
    assert events[0].order is not None and events[0].order.order_id == "281474977354074"
    assert decoder.rejected == 2
    assert "ws account_all" in caplog.text
    assert decoder.decode({"type": "update/order_book", "order_book": {}}) == []
