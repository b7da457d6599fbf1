"""Hyperliquid conformance: EVERY recorded payload in ../shared/venue-data/hyperliquid/ goes through this project's
parsers (info, exchange and WebSocket), pinned to exact normalised values: rates and their units (per hour; per
8 h before 2023-06-08T01:00Z; predicted rows per their `fundingIntervalHours`), signs (+ = longs pay; funding
payments + received), markets, and the price rule (5 significant figures, at most 6 - szDecimals decimals) checked
on every recorded price. A payload perparb does not consume is listed in NOT_CONSUMED with the reason, so a new
recording cannot be silently ignored. Skips with a reason when ../shared is absent.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from exchange_clients.base.trading import OrderInfo, OrderStatus, OrderType, Side, TimeInForce
from exchange_clients.hyperliquid.client.utils.caching import HyperliquidMarket
from exchange_clients.hyperliquid.client.utils.converters import (
    action_statuses,
    clearinghouse_positions,
    parse_balance,
    parse_fill,
    parse_funding_payment,
    parse_order,
    parse_order_answer,
    parse_order_status_body,
    parse_position,
)
from exchange_clients.hyperliquid.client.websocket_handlers import AccountEventDecoder
from exchange_clients.hyperliquid.common import (
    HyperliquidAuthError,
    HyperliquidRejectedError,
    normalize_symbol,
)
from exchange_clients.hyperliquid.funding_adapter.fetchers import (
    SOURCE_FUNDING_HISTORY,
    SOURCE_FUNDING_HISTORY_8H,
    parse_active_asset_ctx,
    parse_funding_history,
    parse_meta_and_asset_ctxs,
    parse_predicted_fundings,
    price_decimals,
)
from exchange_clients.hyperliquid.http import exchange_response
from exchange_clients.hyperliquid.websocket.manager import HyperliquidMarketDataStream
from perparb_core.models import FundingKind, MarketInfo
from tests.shared_data import load_payload, shared_path

pytestmark = pytest.mark.conformance
D = Decimal
V = "hyperliquid"
NOW = datetime(2026, 9, 24, 12, 0, tzinfo=timezone.utc)

NOT_CONSUMED = {
    "rest_info_allMids_2023-07": "mid prices: perparb reads markPx / oraclePx from metaAndAssetCtxs and books from l2Book",
    "rest_info_exchangeStatus_2026-09": "no status poll: reachability is each request's own outcome",
    "rest_info_spotClearinghouseState": "spot balances: perparb trades perps only",
    "rest_info_userFees_2024-07": "fees come from the spec's FeeSchedule / PERPARB_FEE_OVERRIDES",
    "rest_info_userNonFundingLedgerUpdates_2024-09": "deposits / withdrawals are not tracked",
    "rest_info_userNonFundingLedgerUpdates_2025-08": "deposits / withdrawals are not tracked",
    "rest_info_userRateLimit_2025-08": "the per-address action budget is not polled (429 / err texts are mapped)",
    "ws_allDexsAssetCtxs_2026-05": "not subscribed: each dex is read through metaAndAssetCtxs with its dex",
    "ws_bbo_BTC_2026-09": "books come from l2Book",
    "ws_candle_BTC_1m_2026-09": "candles are not used",
    "ws_post_info_l2Book_null_2026-09": "perparb does not use WebSocket post requests",
    "ws_post_order_error": "perparb does not use WebSocket post requests (actions go over REST)",
}


def load(name: str) -> Any:
    return load_payload(V, name)


def use(name: str) -> Any:
    """A payload parsed by a test of this module (it must be listed in CONSUMED)."""
    assert name in CONSUMED, f"{name} is parsed here: list it in CONSUMED"
    return load(name)


CONSUMED = {
    "rest_info_metaAndAssetCtxs_docexample",
    "rest_info_metaAndAssetCtxs_SOL_fragment",
    "rest_info_meta_2023-07",
    "rest_info_fundingHistory_BTC_2023-05_8h",
    "rest_info_fundingHistory_ETH_2024-01_fragment",
    "rest_info_predictedFundings_BTC_ETH_2025-08_docexample",
    "rest_info_predictedFundings_docexample",
    "ws_activeAssetCtx_BTC_2026-09",
    "rest_info_clearinghouseState_short_and_long_2024-10",
    "rest_info_clearinghouseState_2023-03",
    "rest_info_clearinghouseState_cross_long_2024-03",
    "rest_info_clearinghouseState_docexample",
    "rest_info_clearinghouseState_empty_2024-10",
    "rest_info_clearinghouseState_isolated_short_2025-10",
    "rest_info_clearinghouseState_hip3_flx_isolated",
    "rest_info_orderStatus_filled_gtc",
    "rest_info_orderStatus_open_alo",
    "rest_info_orderStatus_hip3_xyz_open",
    "rest_info_orderStatus_unknownOid",
    "rest_info_openOrders_2023-03",
    "rest_info_frontendOpenOrders_2023-11",
    "rest_info_frontendOpenOrders_stop_limit_2024-05",
    "rest_info_historicalOrders_2025-08",
    "rest_info_userFills_2023-07",
    "rest_info_userFills_builderFee_liquidation_2026",
    "rest_info_userFunding_SOL_short_2024-12",
    "rest_info_userFunding_docexample",
    "rest_info_userFunding_2023-04-20_to_05-05",
    "rest_info_l2Book_DYDX_2023-07",
    "rest_info_candleSnapshot_kPEPE_1h_2023-05",
    "rest_exchange_order_resting",
    "rest_exchange_order_resting_docexample",
    "rest_exchange_order_filled_market",
    "rest_exchange_order_filled_docexample",
    "rest_exchange_order_filled_with_tpsl_waitingForTrigger",
    "rest_exchange_order_error_docexample",
    "rest_exchange_order_error_insufficient_margin",
    "rest_exchange_cancel_success",
    "rest_exchange_cancel_error_docexample",
    "rest_exchange_default_ok",
    "rest_exchange_updateLeverage_docexample",
    "rest_exchange_err_wallet_does_not_exist",
    "rest_exchange_err_scheduleCancel",
    "ws_l2Book_BTC_2026-09_trimmed",
    "ws_l2Book_BTC",
    "ws_l2Book_kPEPE_2026-09_trimmed",
    "ws_l2Book_xyz_SP500_2026-09_trimmed",
    "ws_l2Book_MATIC_delisted_empty_2026-09",
    "ws_subscriptionResponse_subscribe_l2Book_fast_2026-09",
    "ws_subscriptionResponse_trades_SOL_docexample",
    "ws_subscriptionResponse_unsubscribe_l2Book",
    "ws_subscriptionResponse_unsubscribe_l2Book_2026-09",
    "ws_pong",
    "ws_error_already_subscribed_2026-09",
    "ws_error_bad_request",
    "ws_error_parse_coin_array_2026-09",
    "ws_trades_BTC",
    "ws_trades_BTC_2026-09",
    "ws_orderUpdates_open",
    "ws_userFills_snapshot",
    "ws_user_fills_liquidation_2026-06",
}


def market(coin: str, index: int = 0, venue: str = V) -> MarketInfo:
    return MarketInfo(
        venue=venue, venue_symbol=coin, symbol=normalize_symbol(coin), venue_market_id=str(index)
    )


def sym(coin: str) -> str:
    return normalize_symbol(coin)


def same(cloid: str | None) -> str | None:
    return cloid


# --------------------------------------------------------------------------------------------- markets, rates


def test_meta_and_asset_ctxs_docexample() -> None:
    parsed = parse_meta_and_asset_ctxs(use("rest_info_metaAndAssetCtxs_docexample"), venue=V, dex="", now=NOW)
    assert parsed.rejections == []
    btc, eth, hpos = parsed.markets
    assert (btc.venue_symbol, btc.symbol, btc.venue_market_id) == ("BTC", "BTC", "0")
    assert (btc.size_step, btc.max_leverage, btc.min_notional) == (D("0.00001"), D(50), D(10))
    # ctxs[i] is universe[i]'s: BTC gets the first ctx (the docs example's numbers are not BTC's real ones)
    assert btc.stats.mark_price == D("14.3161") and btc.stats.index_price == D("14.32")
    assert btc.stats.open_interest_usd == D("688.11") * D("14.3161")  # base units x mark
    assert btc.stats.volume_24h_usd == D("1169046.29406")
    # price rule: szDecimals 5 -> at most 1 decimal, so at 14.3161 (five figures: 0.001) the step is 0.1;
    # ETH (szDecimals 4) at 6.0436: 0.01; HPOS (szDecimals 0) at 8.4542: five figures, 0.0001
    assert btc.tick_size == D("0.1") and eth.tick_size == D("0.01") and hpos.tick_size == D("0.0001")
    assert hpos.size_step == D(1) and hpos.max_leverage == D(3)
    sample = parsed.samples[0]
    assert (sample.kind, sample.raw_rate, sample.raw_period_hours) == (
        FundingKind.PREDICTED,
        D("0.0000125"),
        D(1),
    )
    assert sample.rate_hourly == D("0.0000125")  # fraction per hour: the 0.01 %/8 h baseline
    assert sample.rate_8h == D("0.0001") and sample.apr == D("0.1095")
    assert [s.venue_symbol for s in parsed.samples] == ["BTC", "ETH", "HPOS"]


def test_meta_and_asset_ctxs_sol_fragment() -> None:
    parsed = parse_meta_and_asset_ctxs(
        use("rest_info_metaAndAssetCtxs_SOL_fragment"), venue=V, dex="", now=NOW
    )
    (sol,) = parsed.markets
    (sample,) = parsed.samples
    assert (sol.symbol, sol.size_step, sol.max_leverage, sol.tick_size) == (
        "SOL",
        D("0.01"),
        D(50),
        D("0.01"),
    )
    assert sample.rate_hourly == D("0.0000198") and sample.apr == D("0.0000198") * 8760
    assert sample.mark_price == D("108.04") and sample.index_price == D("107.99")
    assert sample.open_interest_usd == D("10764.48") * D("108.04")


def test_hip3_universe_needs_the_dex_prefix() -> None:
    body = load("rest_info_metaAndAssetCtxs_SOL_fragment")
    parsed = parse_meta_and_asset_ctxs(body, venue="hyperliquid:xyz", dex="xyz", now=NOW)
    assert parsed.markets == [] and parsed.rejections[0].field == "name"


def test_funding_history_8h_era() -> None:
    rows = use("rest_info_fundingHistory_BTC_2023-05_8h")
    result = parse_funding_history(rows, market("BTC"))
    assert result.rejections == [] and len(result.samples) == len(rows) == 34
    first = result.samples[0]
    assert first.ts == datetime(2023, 5, 12, 0, tzinfo=timezone.utc)  # time 1683849600048 floored to the hour
    assert (first.kind, first.raw_rate, first.raw_period_hours) == (
        FundingKind.SETTLED,
        D("-0.00061334"),
        D(8),
    )
    assert (
        first.rate_hourly == D("-0.00061334") / 8
    )  # per 8 h before 2023-06-08T01:00Z; negative: shorts paid
    assert first.source == SOURCE_FUNDING_HISTORY_8H
    assert all(s.ts.hour % 8 == 0 and s.raw_period_hours == 8 for s in result.samples)
    assert [s.ts for s in result.samples] == sorted(s.ts for s in result.samples)


def test_funding_history_hourly_era() -> None:
    (sample,) = parse_funding_history(
        use("rest_info_fundingHistory_ETH_2024-01_fragment"), market("ETH")
    ).samples
    assert sample.ts == datetime(2024, 1, 3, 14, tzinfo=timezone.utc)
    assert (sample.raw_period_hours, sample.rate_hourly) == (D(1), D("0.0000125"))
    assert sample.source == SOURCE_FUNDING_HISTORY


def test_predicted_fundings_with_interval() -> None:
    result = parse_predicted_fundings(
        use("rest_info_predictedFundings_BTC_ETH_2025-08_docexample"), source_venue=V, now=NOW
    )
    assert result.samples == [] and result.rejections == []  # never Hyperliquid's own samples
    by_key = {(r.symbol, r.venue): r for r in result.reference_rates}
    assert set(by_key) == {("BTC", "binance"), ("BTC", "bybit"), ("ETH", "binance"), ("ETH", "bybit")}
    binance = by_key[("BTC", "binance")]
    assert (binance.source_venue, binance.raw_rate, binance.raw_period_hours) == (V, D("0.00008786"), D(8))
    assert binance.rate_hourly == D("0.00008786") / 8
    assert by_key[("ETH", "bybit")].rate_hourly == D("0.0001") / 8


def test_predicted_fundings_without_interval_assumes_8h() -> None:
    result = parse_predicted_fundings(use("rest_info_predictedFundings_docexample"), source_venue=V, now=NOW)
    assert {(r.venue, r.raw_period_hours, r.rate_hourly) for r in result.reference_rates} == {
        ("binance", D(8), D("0.0000125")),
        ("bybit", D(8), D("0.0000125")),
    }


def test_ws_active_asset_ctx() -> None:
    result = parse_active_asset_ctx(use("ws_activeAssetCtx_BTC_2026-09"), market("BTC"), NOW)
    (sample,) = result.samples
    assert sample.rate_hourly == D("0.0000018952") and sample.raw_period_hours == 1
    assert sample.mark_price == D("84148.0") and sample.index_price == D("84198.0")
    assert sample.open_interest_usd == D("36585.31848") * D("84148.0")


# --------------------------------------------------------------------------------------------- account state


def test_clearinghouse_state_positions_and_signs() -> None:
    state = use("rest_info_clearinghouseState_short_and_long_2024-10")
    sol, eth = (parse_position(p, venue=V, symbol_of=sym) for p in clearinghouse_positions(state))
    assert (sol.symbol, sol.quantity, sol.liquidation_price) == (
        "SOL",
        D("-0.5"),
        D("22881.19788911"),
    )  # short
    assert (eth.quantity, eth.liquidation_price, eth.leverage) == (D("1.6"), None, D(20))
    # cumFunding.sinceOpen is + paid; funding_accrued is + received
    assert eth.funding_accrued == D("-3855.422147") and sol.funding_accrued == 0
    balance = parse_balance(state, venue=V)
    assert (balance.equity, balance.available, balance.collateral) == (
        D("11524.216934"),
        D("11292.922399"),
        D("7773.996934"),
    )


@pytest.mark.parametrize(
    ("name", "coins", "equity"),
    [
        ("rest_info_clearinghouseState_2023-03", None, None),
        ("rest_info_clearinghouseState_cross_long_2024-03", ["SOL", "ETH"], D("19762.483455")),
        ("rest_info_clearinghouseState_docexample", ["ETH"], D("13109.482328")),
        ("rest_info_clearinghouseState_empty_2024-10", [], D("20.454862")),
        ("rest_info_clearinghouseState_isolated_short_2025-10", ["HYPE"], D("76.206517")),
        ("rest_info_clearinghouseState_hip3_flx_isolated", ["CRCL"], D("6.889701")),
    ],
)
def test_clearinghouse_states(name: str, coins: list[str] | None, equity: Decimal | None) -> None:
    state = use(name)
    positions = [parse_position(p, venue=V, symbol_of=sym) for p in clearinghouse_positions(state)]
    if coins is not None:
        assert [p.symbol for p in positions] == coins
    assert all(p.quantity != 0 and p.margin is not None and p.margin > 0 for p in positions)
    for p in positions:  # mark = notional / |size| lies between the entry and the liquidation price region
        assert p.mark_price is not None and p.mark_price > 0
    if equity is not None:
        assert parse_balance(state, venue=V).equity == equity
    if name.endswith("isolated_short_2025-10"):
        (hype,) = positions
        assert hype.quantity == D("-4.0") and hype.mark_price == D("192.58") / 4 and hype.leverage == D(10)
        assert (
            hype.liquidation_price is not None and hype.liquidation_price > hype.mark_price
        )  # a short's is above


def test_order_status_payloads() -> None:
    filled = parse_order_status_body(
        use("rest_info_orderStatus_filled_gtc"), venue=V, symbol_of=sym, client_id_of=same
    )
    assert filled is not None
    assert (filled.order_id, filled.side, filled.status, filled.quantity, filled.filled_quantity) == (
        "6463065738",
        Side.BUY,
        OrderStatus.FILLED,
        D("0.2"),
        D("0.2"),
    )
    alo = parse_order_status_body(
        use("rest_info_orderStatus_open_alo"), venue=V, symbol_of=sym, client_id_of=same
    )
    assert alo is not None and (alo.time_in_force, alo.status, alo.price) == (
        TimeInForce.POST_ONLY,
        OrderStatus.OPEN,
        D("13.5"),
    )
    xyz = parse_order_status_body(
        use("rest_info_orderStatus_hip3_xyz_open"), venue="hyperliquid:xyz", symbol_of=sym, client_id_of=same
    )
    assert xyz is not None and (xyz.symbol, xyz.venue, xyz.quantity) == (
        "XYZ100",
        "hyperliquid:xyz",
        D("0.0007"),
    )
    assert (
        parse_order_status_body(
            use("rest_info_orderStatus_unknownOid"), venue=V, symbol_of=sym, client_id_of=same
        )
        is None
    )


def test_open_and_historical_orders() -> None:
    opened = [
        parse_order(r, "open", venue=V, symbol_of=sym, client_id_of=same)
        for r in use("rest_info_openOrders_2023-03")
    ]
    assert len(opened) == 196 and opened[0].symbol == "MATIC" and opened[0].quantity == D("208.7")
    assert all(
        o.status is OrderStatus.OPEN and o.filled_quantity == 0 for o in opened
    )  # no origSz: sz is all
    for name in ("rest_info_frontendOpenOrders_2023-11", "rest_info_frontendOpenOrders_stop_limit_2024-05"):
        rows = [parse_order(r, "open", venue=V, symbol_of=sym, client_id_of=same) for r in use(name)]
        assert rows and all(r.status is OrderStatus.OPEN for r in rows)
    history = use("rest_info_historicalOrders_2025-08")
    parsed = [
        parse_order(h["order"], h["status"], venue=V, symbol_of=sym, client_id_of=same) for h in history
    ]
    ton = parsed[0]
    assert (ton.symbol, ton.time_in_force, ton.order_type, ton.status) == (
        "TON",
        TimeInForce.IOC,
        OrderType.MARKET,
        OrderStatus.REJECTED,  # "iocCancelRejected"
    )


def test_user_fills() -> None:
    old = [
        parse_fill(r, venue=V, symbol_of=sym, client_id_of=same) for r in use("rest_info_userFills_2023-07")
    ]
    assert (
        len(old) == 500 and len({f.fill_id for f in old}) == 500
    )  # no tid in 2023: hash/oid/px/sz/startPosition
    sui = old[0]
    assert (sui.symbol, sui.side, sui.price, sui.quantity, sui.liquidity) == (
        "SUI",
        Side.SELL,
        D("1.3189"),
        D("142.7"),
        "taker",
    )
    new = [
        parse_fill(r, venue=V, symbol_of=sym, client_id_of=same)
        for r in use("rest_info_userFills_builderFee_liquidation_2026")
    ]
    hype = new[0]
    assert (hype.fill_id, hype.fee, hype.side, hype.order_id) == (
        "882779857052503",
        D("0.012896"),
        Side.BUY,
        "314848230306",
    )
    assert new[1].symbol == "CRCL"  # flx:CRCL


def test_user_funding_signs() -> None:
    (sol,) = [
        parse_funding_payment(r, venue=V, symbol_of=sym)
        for r in use("rest_info_userFunding_SOL_short_2024-12")
    ]
    # a SHORT (szi < 0) with a POSITIVE rate received: + received
    assert (sol.position_quantity, sol.rate, sol.amount) == (D("-7375.9"), D("0.00004381"), D("75.635093"))
    (doc,) = [
        parse_funding_payment(r, venue=V, symbol_of=sym) for r in use("rest_info_userFunding_docexample")
    ]
    assert doc.amount == D("-3.625312")  # a long paid a positive rate (the docs' leading space is tolerated)
    rows = [
        parse_funding_payment(r, venue=V, symbol_of=sym)
        for r in use("rest_info_userFunding_2023-04-20_to_05-05")
    ]
    assert len(rows) == 218
    for p in rows:  # the payer is the side the rate's sign says: long pays a positive rate
        assert p.rate is not None and p.position_quantity is not None
        if p.rate != 0 and p.amount != 0:
            assert (p.amount < 0) == ((p.rate > 0) == (p.position_quantity > 0))


# --------------------------------------------------------------------------------------------- /exchange answers


def sent(size: str = "1.0", tif: TimeInForce = TimeInForce.GTC) -> OrderInfo:
    return OrderInfo(
        venue=V,
        symbol="ETH",
        order_id="",
        client_order_id="7",
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        time_in_force=tif,
        price=D("100"),
        quantity=D(size),
        filled_quantity=D(0),
        status=OrderStatus.UNKNOWN,
    )


def answer(name: str) -> Any:
    return action_statuses(exchange_response("order", use(name), venue=V), "order")[0]


def test_exchange_order_answers() -> None:
    resting = parse_order_answer(answer("rest_exchange_order_resting"), sent(), what="o", coin="ETH")
    assert (resting.status, resting.order_id) == (OrderStatus.OPEN, "5063830287")
    doc = parse_order_answer(answer("rest_exchange_order_resting_docexample"), sent(), what="o", coin="ETH")
    assert doc.status is OrderStatus.OPEN
    market_fill = parse_order_answer(
        answer("rest_exchange_order_filled_market"), sent("1.0", TimeInForce.IOC), what="o", coin="HYPE"
    )
    assert (market_fill.status, market_fill.filled_quantity, market_fill.order_id) == (
        OrderStatus.FILLED,
        D("1.0"),
        "296683658818",
    )
    partial = parse_order_answer(
        answer("rest_exchange_order_filled_docexample"), sent("1000", TimeInForce.IOC), what="o", coin="ETH"
    )
    assert partial.status is OrderStatus.CANCELED and 0 < partial.filled_quantity < 1000  # IOC rest cancelled
    tpsl = action_statuses(
        exchange_response("order", use("rest_exchange_order_filled_with_tpsl_waitingForTrigger"), venue=V),
        "order",
    )
    assert tpsl[1:] == ["waitingForTrigger", "waitingForTrigger"]
    for name, text in (
        ("rest_exchange_order_error_docexample", "minimum value of $10"),
        ("rest_exchange_order_error_insufficient_margin", "Insufficient margin"),
    ):
        with pytest.raises(HyperliquidRejectedError, match=text.replace("$", r"\$")):
            parse_order_answer(answer(name), sent(), what="order 7", coin="ETH")


def test_exchange_other_answers() -> None:
    assert action_statuses(
        exchange_response("cancel", use("rest_exchange_cancel_success"), venue=V), "cancel"
    ) == ["success"]
    (err,) = action_statuses(
        exchange_response("cancel", use("rest_exchange_cancel_error_docexample"), venue=V), "cancel"
    )
    assert "never placed" in err["error"]
    assert exchange_response("x", use("rest_exchange_default_ok"), venue=V) == {"type": "default"}
    assert exchange_response("x", use("rest_exchange_updateLeverage_docexample"), venue=V) == {
        "type": "default"
    }
    with pytest.raises(HyperliquidAuthError, match="does not exist"):
        exchange_response("order", use("rest_exchange_err_wallet_does_not_exist"), venue=V)
    with pytest.raises(HyperliquidRejectedError):
        exchange_response("scheduleCancel", use("rest_exchange_err_scheduleCancel"), venue=V)


# --------------------------------------------------------------------------------------------- WebSocket


def test_ws_books_and_control_frames() -> None:
    stream = HyperliquidMarketDataStream("ws://127.0.0.1:1/ws", venue=V)
    for name in (
        "ws_l2Book_BTC_2026-09_trimmed",
        "ws_l2Book_BTC",
        "ws_l2Book_kPEPE_2026-09_trimmed",
        "ws_l2Book_xyz_SP500_2026-09_trimmed",
        "ws_l2Book_MATIC_delisted_empty_2026-09",
    ):
        stream.on_frame(use(name))
    btc = stream.book("BTC")
    assert (
        btc.is_synced
        and btc.best_bid() == (D("84143.0"), D("10.25923"))
        and btc.best_ask() == (D("84144.0"), D("50.66449"))
    )
    assert btc.sequence == 1790232236546  # the newer push won; the older ccxt example was ignored
    assert stream.book("xyz:SP500").is_synced and stream.book("kPEPE").best_ask() is not None
    matic = stream.book("MATIC")
    assert matic.is_synced and matic.best_bid() is None and matic.best_ask() is None  # delisted: no price
    rest_book = use("rest_info_l2Book_DYDX_2023-07")
    stream.on_frame({"channel": "l2Book", "data": rest_book})
    assert stream.book("DYDX").best_bid() == (D("2.111"), D("134.4"))
    for name in (
        "ws_subscriptionResponse_subscribe_l2Book_fast_2026-09",
        "ws_subscriptionResponse_trades_SOL_docexample",
        "ws_subscriptionResponse_unsubscribe_l2Book",
        "ws_subscriptionResponse_unsubscribe_l2Book_2026-09",
    ):
        stream.on_frame(use(name))
    assert len(stream.acks) == 4
    stream.on_frame(use("ws_pong"))
    assert stream.pongs == 1
    for name in (
        "ws_error_already_subscribed_2026-09",
        "ws_error_bad_request",
        "ws_error_parse_coin_array_2026-09",
    ):
        stream.on_frame(use(name))
    assert len(stream.errors) == 3 and "Already subscribed" in stream.errors[0]
    seen: list[list[dict[str, Any]]] = []
    trades = HyperliquidMarketDataStream("ws://127.0.0.1:1/ws", venue=V, on_trades=seen.append)
    trades.on_frame(use("ws_trades_BTC"))
    trades.on_frame(use("ws_trades_BTC_2026-09"))
    assert len(seen) == 2 and seen[1][0]["px"] == "84143.0"


def test_ws_account_frames() -> None:
    decoder = AccountEventDecoder(V, "", "0x15f43d1f2dee81424afd891943262aa90f22cc2a", sym, same)
    (order,) = decoder.decode(use("ws_orderUpdates_open"))
    assert order.order is not None and (order.order.status, order.order.price, order.symbol) == (
        OrderStatus.OPEN,
        D("30000.0"),
        "BTC",
    )
    assert decoder.decode(use("ws_userFills_snapshot")) == []  # the first snapshot is history
    events = decoder.decode(use("ws_user_fills_liquidation_2026-06"))
    assert [e.kind.value for e in events] == ["fill"]  # the liquidated user is someone else
    assert (
        events[0].fill is not None and events[0].fill.client_order_id == "0xe8d5fd7ebbb4c3cff4d1803472a11463"
    )
    liquidated = AccountEventDecoder(V, "", "0x360878d351f05975e25f1807a27895e1e5e004fb", sym, same)
    assert [e.kind.value for e in liquidated.decode(use("ws_user_fills_liquidation_2026-06"))] == [
        "fill",
        "liquidation",
    ]


# --------------------------------------------------------------------------------------------- the price rule


def valid_price(px: Decimal, sz_decimals: int) -> bool:
    """Hyperliquid's rule (docs tick-and-lot-size.md): <= 5 significant figures unless an integer, <= 6 - szDecimals decimals."""
    px = px.normalize()
    decimals = max(-px.as_tuple().exponent, 0)  # type: ignore[operator]
    integer = px == px.to_integral_value()
    figures = len(px.as_tuple().digits) if not integer else 0
    return decimals <= price_decimals(sz_decimals) and (integer or figures <= 5)


def test_every_recorded_price_is_on_the_grid() -> None:
    """Every book, order and fill price recorded for a coin of known szDecimals satisfies the rule, and
    `HyperliquidMarket.round_price` leaves it unchanged (a price on the grid is never moved)."""
    sz_decimals = {a["name"]: a["szDecimals"] for a in use("rest_info_meta_2023-07")["universe"]}
    prices: list[tuple[str, Decimal]] = []
    for name in ("rest_info_l2Book_DYDX_2023-07",):
        book = use(name)
        prices += [(book["coin"], D(level["px"])) for side in book["levels"] for level in side]
    for name in ("ws_l2Book_BTC_2026-09_trimmed", "ws_l2Book_kPEPE_2026-09_trimmed"):
        data = use(name)["data"]
        prices += [(data["coin"], D(level["px"])) for side in data["levels"] for level in side]
    prices += [(r["coin"], D(r["limitPx"])) for r in use("rest_info_openOrders_2023-03")]
    prices += [(r["coin"], D(r["px"])) for r in use("rest_info_userFills_2023-07")]
    prices += [(c["s"], D(c[k])) for c in use("rest_info_candleSnapshot_kPEPE_1h_2023-05") for k in "ohlc"]
    checked = 0
    for coin, px in prices:
        if coin not in sz_decimals:
            continue
        m = HyperliquidMarket(coin, coin, 0, sz_decimals[coin], None, "active")
        assert valid_price(px, sz_decimals[coin]), (coin, px)
        assert m.round_price(px, Side.BUY) == px == m.round_price(px, Side.SELL)
        checked += 1
    assert checked > 600


def test_every_payload_is_consumed_or_explained() -> None:
    """Every recorded file is parsed by a test above (CONSUMED; `use` refuses a file not listed) or is listed,
    with the reason, in NOT_CONSUMED; and every listed name exists."""
    folder = shared_path("venue-data", V)
    names = {p.name.removesuffix(".json") for p in folder.glob("*.json")}
    assert sorted(names - CONSUMED - set(NOT_CONSUMED)) == [], (
        "recorded payloads neither parsed nor explained"
    )
    assert sorted((CONSUMED | set(NOT_CONSUMED)) - names) == []
    assert not CONSUMED & set(NOT_CONSUMED)
