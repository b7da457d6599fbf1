"""Hyperliquid parsers on bad input: every bad row is rejected with the field named (never stored as zero), the
rest of the payload is kept; an unusable envelope raises `HyperliquidDataError`. Also the units rules in
isolation (hourly vs the 8-hour era, predicted intervals, signs)."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from exchange_clients.hyperliquid.client.utils.converters import (
    parse_fill,
    parse_funding_payment,
    parse_order,
    parse_order_status_body,
    parse_position,
)
from exchange_clients.hyperliquid.common import HyperliquidDataError, dex_of, normalize_symbol, venue_id
from exchange_clients.hyperliquid.funding_adapter.fetchers import (
    HOURLY_SINCE,
    parse_funding_history,
    parse_meta_and_asset_ctxs,
    parse_predicted_fundings,
    reference_venue,
    settled_period_hours,
)
from exchange_clients.hyperliquid.websocket.order_book import apply_l2book, new_book_manager
from perparb_core.models import MarketInfo
from perparb_core.units import UnitError

D = Decimal
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
V = "hyperliquid"


def ctx(**over: Any) -> dict[str, Any]:
    base = {
        "funding": "0.00001",
        "markPx": "100.5",
        "oraclePx": "100.4",
        "openInterest": "10",
        "dayNtlVlm": "5000",
    }
    return {**base, **over}


def body(universe: list[Any], ctxs: list[Any]) -> list[Any]:
    return [{"universe": universe}, ctxs]


def asset(name: str = "ETH", **over: Any) -> dict[str, Any]:
    return {"name": name, "szDecimals": 4, "maxLeverage": 25, **over}


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"funding": ""}, "funding"),
        ({"funding": None}, "funding"),
        ({"funding": "NaN"}, "funding"),
        ({"funding": "abc"}, "funding"),
        ({"markPx": "0"}, "markPx"),
        ({"markPx": "-1"}, "markPx"),
        ({"openInterest": "-5"}, "openInterest"),
        ({"dayNtlVlm": "x"}, "dayNtlVlm"),
        ({"oraclePx": "0.0"}, "oraclePx"),
    ],
)
def test_a_bad_ctx_field_is_rejected_alone(bad: dict[str, Any], field: str) -> None:
    parsed = parse_meta_and_asset_ctxs(
        body([asset(), asset("BTC")], [ctx(**bad), ctx()]), venue=V, dex="", now=NOW
    )
    # no mark price: the open interest cannot be converted to USD either, and says so
    assert [r.field for r in parsed.rejections] == [field] + (["openInterest"] if field == "markPx" else [])
    assert parsed.rejections[0].venue_symbol == "ETH"
    eth, btc = parsed.markets  # the market is kept, the field is None (never 0)
    if field == "funding":
        assert [s.venue_symbol for s in parsed.samples] == ["BTC"]
    else:
        assert len(parsed.samples) == 2
    values = {
        "markPx": eth.stats.mark_price,
        "oraclePx": eth.stats.index_price,
        "dayNtlVlm": eth.stats.volume_24h_usd,
    }
    if field in values:
        assert values[field] is None
    if field in ("openInterest", "markPx"):
        assert eth.stats.open_interest_usd is None
    assert btc.stats.mark_price == D("100.5")


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"szDecimals": 4, "maxLeverage": 5}, "name"),
        (asset(name=""), "name"),
        (asset(szDecimals="two"), "szDecimals"),
        (asset(szDecimals=9), "szDecimals"),
        (asset(szDecimals=1.5), "szDecimals"),
        ("ETH", "universe[0]"),
    ],
)
def test_a_bad_universe_row_drops_its_market(row: Any, field: str) -> None:
    parsed = parse_meta_and_asset_ctxs(body([row, asset("BTC")], [ctx(), ctx()]), venue=V, dex="", now=NOW)
    assert [r.field for r in parsed.rejections] == [field]
    assert [m.venue_symbol for m in parsed.markets] == ["BTC"]


def test_missing_ctx_duplicates_and_delisted() -> None:
    parsed = parse_meta_and_asset_ctxs(
        body(
            [asset("ETH"), asset("ETH"), asset("LOOM", isDelisted=True), asset("SOL")], [ctx(), ctx(), ctx()]
        ),
        venue=V,
        dex="",
        now=NOW,
    )
    assert [(r.field, r.reason) for r in parsed.rejections] == [
        ("name", "duplicate market"),
        ("assetCtxs[3]", "no asset context"),
    ]
    assert [(m.venue_symbol, m.status) for m in parsed.markets] == [("ETH", "active"), ("LOOM", "delisted")]
    assert [s.venue_symbol for s in parsed.samples] == ["ETH"]  # no predicted rate for a delisted market


@pytest.mark.parametrize(
    "bad", [None, {}, [], [{"universe": []}], [{"universe": "x"}, []], [{"universe": []}, {}]]
)
def test_unusable_meta_envelopes_raise(bad: Any) -> None:
    with pytest.raises(HyperliquidDataError):
        parse_meta_and_asset_ctxs(bad, venue=V, dex="", now=NOW)


def test_funding_history_units_across_the_switch_to_hourly() -> None:
    eth = MarketInfo(venue=V, venue_symbol="ETH", symbol="ETH", venue_market_id="1")
    t8 = int(datetime(2023, 6, 8, 0, tzinfo=timezone.utc).timestamp() * 1000) + 254
    t1 = int(HOURLY_SINCE.timestamp() * 1000) + 31
    result = parse_funding_history(
        [
            {"coin": "ETH", "fundingRate": "0.0001", "time": t8},
            {"coin": "ETH", "fundingRate": "0.0000125", "time": t1},
            {"coin": "ETH", "fundingRate": "0.00002", "time": t1 + 5},
            {"coin": "ETH", "fundingRate": "0.1", "time": "later"},
            "row",
        ],
        eth,
    )
    old, new = result.samples
    assert (old.raw_period_hours, old.rate_hourly) == (D(8), D("0.0000125"))  # the same baseline, per 8 h
    assert (new.raw_period_hours, new.rate_hourly) == (D(1), D("0.0000125"))
    assert [r.field for r in result.rejections] == ["time", "time", "[4]"]
    assert settled_period_hours(HOURLY_SINCE) == 1
    with pytest.raises(HyperliquidDataError):
        parse_funding_history({"coin": "ETH"}, eth)


def test_predicted_fundings_bad_entries() -> None:
    result = parse_predicted_fundings(
        [
            ["BTC", [["BinPerp", None], ["BybitPerp", {"fundingRate": "x", "nextFundingTime": 1}]]],
            [
                "ETH",
                [
                    ["BinPerp", {"fundingRate": "0.0001", "fundingIntervalHours": 0}],
                    ["OkxPerp", {"fundingRate": "0.0004", "fundingIntervalHours": 4}],
                ],
            ],
            [
                "SOL",
                [
                    ["HlPerp", {"fundingRate": "0.0000125", "fundingIntervalHours": 1}],
                    ["Weird", {"fundingRate": "0.1"}],
                ],
            ],
            "junk",
        ],
        source_venue=V,
        now=NOW,
    )
    assert [r.field for r in result.rejections] == [
        "BinPerp",
        "BybitPerp.fundingRate",
        "BinPerp.fundingIntervalHours",
        "venue",
        "[3]",
    ]
    (okx,) = result.reference_rates
    assert (okx.venue, okx.symbol, okx.rate_hourly) == ("okx", "ETH", D("0.0001"))  # 0.0004 per 4 h
    assert reference_venue("HlPerp") is None and reference_venue("BinPerp") == "binance"
    with pytest.raises(UnitError):
        reference_venue("Perp")


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"coin": "ETH", "side": "B", "limitPx": "1", "sz": "1"}, "oid"),
        ({"coin": "ETH", "side": "X", "limitPx": "1", "sz": "1", "oid": 5}, "side"),
        ({"coin": "ETH", "side": "B", "limitPx": "", "sz": "1", "oid": 5}, "limitPx"),
        ({"side": "B", "limitPx": "1", "sz": "1", "oid": 5}, "coin"),
    ],
)
def test_bad_orders_name_the_field(row: dict[str, Any], field: str) -> None:
    with pytest.raises(UnitError) as caught:
        parse_order(row, "open", venue=V, symbol_of=normalize_symbol, client_id_of=lambda c: c)
    assert caught.value.field == field


def test_bad_account_rows_name_the_field() -> None:
    def field_of(fn: Any, *args: Any, **kw: Any) -> str:
        with pytest.raises(UnitError) as caught:
            fn(*args, **kw)
        return caught.value.field

    kw: dict[str, Any] = {"venue": V, "symbol_of": normalize_symbol}
    assert field_of(parse_position, {"coin": "ETH", "szi": ""}, **kw) == "szi"
    assert (
        field_of(
            parse_fill,
            {"coin": "ETH", "oid": 1, "side": "B", "px": "0x", "sz": "1"},
            client_id_of=lambda c: c,
            **kw,
        )
        == "px"
    )
    assert (
        field_of(parse_funding_payment, {"time": 1, "delta": {"type": "deposit", "usdc": "1"}}, **kw)
        == "delta.type"
    )
    assert (
        field_of(
            parse_funding_payment, {"time": 1, "delta": {"type": "funding", "coin": "ETH", "usdc": ""}}, **kw
        )
        == "usdc"
    )
    with pytest.raises(ValueError, match="orderStatus"):
        parse_order_status_body(
            {"status": "order"}, venue=V, symbol_of=normalize_symbol, client_id_of=lambda c: c
        )


def test_l2book_frames() -> None:
    books = new_book_manager()
    frame = {
        "channel": "l2Book",
        "data": {"coin": "BTC", "time": 10, "levels": [[{"px": "10", "sz": "1"}], [{"px": "11", "sz": "2"}]]},
    }
    assert apply_l2book(books, frame) is True
    older = {"channel": "l2Book", "data": {**frame["data"], "time": 9, "levels": [[], []]}}  # type: ignore[dict-item]
    assert apply_l2book(books, older) is False and books.book("BTC").best_bid() == (D(10), D(1))
    crossed_order = {
        "channel": "l2Book",
        "data": {
            "coin": "BTC",
            "time": 11,
            "levels": [[{"px": "9", "sz": "1"}, {"px": "10", "sz": "1"}], []],
        },
    }
    assert (
        apply_l2book(books, crossed_order) is False and not books.book("BTC").is_synced
    )  # bids must descend
    assert apply_l2book(books, {"channel": "trades", "data": []}) is None
    for bad in (
        {"channel": "l2Book", "data": {"coin": "BTC", "levels": [[], []]}},
        {
            "channel": "l2Book",
            "data": {"coin": "BTC", "time": 12, "levels": [[{"px": "10", "sz": "0.0"}], []]},
        },
        {
            "channel": "l2Book",
            "data": {"coin": "BTC", "time": 12, "levels": [[{"px": "NaN", "sz": "1"}], []]},
        },
        {"channel": "l2Book", "data": None},
    ):
        with pytest.raises(HyperliquidDataError):
            apply_l2book(books, bad)


def test_venue_ids_and_symbols() -> None:
    assert (venue_id(""), venue_id("xyz"), dex_of("hyperliquid"), dex_of("hyperliquid:xyz")) == (
        "hyperliquid",
        "hyperliquid:xyz",
        "",
        "xyz",
    )
    for bad in ("XYZ", "x-y", "", "a" * 17):
        if bad:
            with pytest.raises(ValueError):
                venue_id(bad)
    with pytest.raises(ValueError):
        dex_of("lighter")
    assert [normalize_symbol(c) for c in ("BTC", "kPEPE", "xyz:XYZ100", " sol ")] == [
        "BTC",
        "KPEPE",
        "XYZ100",
        "SOL",
    ]
