"""Simulator building blocks without sockets: scenario loading, history shift, body builders, paging, faults."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.faults import FaultInjector, FaultSpec
from simulator.formats import aggregate_levels, fixed
from simulator.lighter.errors import InvalidParam, lighter_error_body
from simulator.lighter.market_data import LighterMarketData
from simulator.lighter.scenario import LighterData
from simulator.paradex.errors import ParadexApiError, paradex_error_body
from simulator.paradex.market_data import ParadexMarketData, decode_cursor, encode_cursor
from simulator.paradex.scenario import ParadexData
from simulator.scenario import (
    Scenario,
    ScenarioError,
    ScenarioSettings,
    SimClock,
)
from simulator.scenario_loader import load_scenario
from simulator.server import start_simulator

NOW_MS = 1_800_000_000_000  # 2027-01-15T08:00:00Z, a whole hour


def write(folder: Path, rel: str, body: Any) -> Path:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body if isinstance(body, str) else json.dumps(body))
    return path


# ------------------------------------------------------------------------------------------ loading


@pytest.mark.parametrize(
    ("rel", "content", "problem"),
    [
        (
            "lighter/funding-rates.json",
            '{"code": 200, "funding_rates": [',
            "is not valid JSON: Expecting value at line 1",
        ),
        ("lighter/orderBookDetails.json", "[]", "must hold a JSON object (the response body), got list"),
        ("lighter/funding-rates.json", '{"code": 200}', "lacks the 'funding_rates' list"),
        (
            "lighter/fundings_3.json",
            '{"fundings": [{"timestamp": "1700000000"}]}',
            "fundings[0].timestamp must be an integer",
        ),
        (
            "lighter/orderBookDetails.json",
            '{"order_book_details": [{"market_id": true, "symbol": "ETH"}]}',
            "order_book_details[0].market_id must be an integer",
        ),
        ("lighter/fundings_ETH.json", "{}", "unexpected file name in lighter/"),
        (
            "paradex/markets.json",
            '{"results": [{"symbol": ""}]}',
            "results[0].symbol must be a non-empty string",
        ),
        (
            "paradex/funding_data_BTC-USD-PERP.json",
            '{"results": [{"created_at": 1.5}]}',
            "results[0].created_at must be an integer",
        ),
        ("paradex/orderbook_BTC-USD-PERP.json", '{"asks": []}', "lacks the 'bids' list"),
        ("paradex/summary.json", "{}", "unexpected file name in paradex/"),
        (
            "scenario.json",
            '{"restamp": true, "colour": "blue"}',
            "invalid settings: colour: Extra inputs are not permitted",
        ),
        ("scenario.json", '{"push_interval_seconds": 0}', "invalid settings: push_interval_seconds"),
    ],
)
def test_malformed_scenario_files_name_the_file(tmp_path: Path, rel: str, content: str, problem: str) -> None:
    path = write(tmp_path, rel, content)
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path)
    assert info.value.path == path
    assert str(info.value).startswith(f"scenario file {path}: ")
    assert problem in str(info.value)


def test_missing_folder_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="scenario folder does not exist"):
        load_scenario(tmp_path / "nope")


async def test_start_simulator_refuses_a_malformed_scenario(tmp_path: Path) -> None:
    write(tmp_path, "paradex/markets.json", '{"results": {}}')
    with pytest.raises(ScenarioError, match=r"markets\.json: 'results' must be a list, got dict"):
        await start_simulator(tmp_path)


def test_history_shift_moves_every_row_by_whole_hours(tmp_path: Path) -> None:
    newest_s = 1_790_672_400  # 2026-09-29T09:00:00Z
    write(tmp_path, "scenario.json", {"shift_history_to_now": True})
    write(
        tmp_path,
        "lighter/fundings_0.json",
        {"fundings": [{"timestamp": newest_s - 3600}, {"timestamp": newest_s}]},
    )
    write(tmp_path, "paradex/funding_data_X.json", {"results": [{"created_at": newest_s * 1000 - 1234}]})
    clock = SimClock(frozen_ms=NOW_MS + 30 * 60_000)  # half past the hour
    scenario = load_scenario(tmp_path, clock=clock)
    shift = NOW_MS - newest_s * 1000
    assert scenario.history_shift_ms == shift and shift % 3_600_000 == 0
    assert [r["timestamp"] for r in scenario.venues["lighter"].fundings[0]["fundings"]] == [
        NOW_MS // 1000 - 3600,
        NOW_MS // 1000,
    ]
    assert scenario.venues["paradex"].funding_data["X"]["results"][0]["created_at"] == NOW_MS - 1234
    assert scenario.settings.synthetic is False and scenario.settings.restamp is True


def test_history_is_served_as_recorded_by_default(tmp_path: Path) -> None:
    write(tmp_path, "lighter/fundings_0.json", {"fundings": [{"timestamp": 1_790_672_400}]})
    scenario = load_scenario(tmp_path, clock=SimClock(frozen_ms=NOW_MS))
    assert scenario.history_shift_ms == 0
    assert scenario.venues["lighter"].fundings[0]["fundings"][0]["timestamp"] == 1_790_672_400


# ------------------------------------------------------------------------------------------ formats


def test_fixed_rounds_half_even_and_drops_negative_zero() -> None:
    assert [fixed(Decimal(v), 4) for v in ("0.00125", "0.00135", "-0.00001", "3")] == [
        "0.0012",
        "0.0014",
        "0.0000",
        "3.0000",
    ]


def test_aggregate_levels_sums_orders_per_price_and_skips_bad_rows() -> None:
    orders = [
        {"price": "10.50", "remaining_base_amount": "1.2500"},
        {"price": "10.40", "remaining_base_amount": "0.5000"},
        {"price": "10.50", "remaining_base_amount": "0.0001"},
        {"price": "", "remaining_base_amount": "9"},
        {"price": "10.30", "remaining_base_amount": "0"},
        {"price": "10.20"},
    ]
    assert aggregate_levels(orders, ascending=True, size_places=4) == [
        {"price": "10.40", "size": "0.5000"},
        {"price": "10.50", "size": "1.2501"},
    ]
    assert [lv["price"] for lv in aggregate_levels(orders, ascending=False, size_places=None)] == [
        "10.50",
        "10.40",
    ]


# ------------------------------------------------------------------------------------------ Lighter bodies


def lighter_scenario(**lighter: Any) -> Scenario:
    return Scenario(
        Path("."), ScenarioSettings(), {"lighter": LighterData(**lighter), "paradex": ParadexData()}
    )


DETAIL = {
    "symbol": "ETH",
    "market_id": 0,
    "price_decimals": 2,
    "size_decimals": 4,
    "last_trade_price": 2000.5,
    "open_interest": 10.0,
}


def test_market_stats_units_and_fallbacks() -> None:
    fundings = {
        "fundings": [
            {"timestamp": 100, "rate": "0.0020", "direction": "short"},
            {"timestamp": 200, "rate": "0.0010", "direction": "???"},  # bad row: skipped
        ]
    }
    rates = {
        "funding_rates": [
            {"market_id": 0, "exchange": "binance", "symbol": "ETH", "rate": 0.0008},
            {"market_id": 0, "exchange": "lighter", "symbol": "ETH", "rate": 0.00009599999999999999},
        ]
    }
    md = LighterMarketData(
        lighter_scenario(
            order_book_details={"order_book_details": [DETAIL]}, funding_rates=rates, fundings={0: fundings}
        ),
        SimClock(frozen_ms=NOW_MS + 5_000),
    )
    stats = md.market_stats(0)
    assert stats is not None
    assert (stats["mark_price"], stats["index_price"], stats["mid_price"]) == (
        "2000.50",
        "2000.50",
        "2000.50",
    )
    assert stats["current_funding_rate"] == "0.0012"  # 0.000096 per 8 h = 0.0012 % per hour
    assert stats["funding_rate"] == "-0.0020"  # newest well-formed settled row, "short" = negative
    assert stats["open_interest"] == "20005.000000"  # 10 base x 2000.5
    assert stats["funding_timestamp"] == NOW_MS + 1
    assert "daily_base_token_volume" not in stats  # absent from the row: not invented
    assert md.market_stats(1) is None


def test_market_stats_without_any_price_is_skipped() -> None:
    detail = {"symbol": "X", "market_id": 5, "last_trade_price": ""}
    md = LighterMarketData(
        lighter_scenario(order_book_details={"order_book_details": [detail]}), SimClock(NOW_MS)
    )
    assert md.market_stats(5) is None and md.market_stats_all() == {}


ROWS = st.lists(st.integers(min_value=0, max_value=10_000), max_size=40, unique=True)


@settings(max_examples=150, deadline=None)
@given(stamps=ROWS, start=st.integers(0, 10_000), span=st.integers(0, 10_000), count_back=st.integers(1, 50))
def test_fundings_window_is_the_newest_count_back_rows_ascending(
    stamps: list[int], start: int, span: int, count_back: int
) -> None:
    body = {
        "code": 200,
        "resolution": "1h",
        "fundings": [{"timestamp": t, "rate": "0.0001", "direction": "long"} for t in stamps],
    }
    md = LighterMarketData(lighter_scenario(fundings={1: body}), SimClock(NOW_MS))
    got = [r["timestamp"] for r in md.fundings(1, "1h", start, start + span, count_back)["fundings"]]
    assert got == sorted(t for t in stamps if start <= t <= start + span)[-count_back:]


def test_lighter_params_refused_like_the_venue() -> None:
    md = LighterMarketData(
        lighter_scenario(order_book_details={"order_book_details": [DETAIL]}), SimClock(NOW_MS)
    )
    for call in (
        lambda: md.order_book_orders(0, 0),
        lambda: md.order_book_orders(0, 251),
        lambda: md.fundings(0, "1d", 0, 1, 1),
        lambda: md.fundings(0, "1h", 5, 1, 1),
        lambda: md.fundings(9, "1h", 0, 1, 1),
        lambda: md.order_book_details(9, None),
        lambda: md.order_book_details(None, "options"),
    ):
        with pytest.raises(InvalidParam):
            call()
    assert md.fundings(0, "1h", 0, 1, 1) == {
        "code": 200,
        "resolution": "1h",
        "fundings": [],
    }  # known, no history
    assert lighter_error_body(400) == {"code": 20001, "message": "invalid param "}
    assert lighter_error_body(429) == {"code": 23000, "message": "Too Many Requests!"}
    assert lighter_error_body(502) == {"code": 502, "message": "Bad Gateway"}


# ------------------------------------------------------------------------------------------ Paradex paging


def paradex_md(stamps: list[int]) -> ParadexMarketData:
    rows = [{"market": "BTC-USD-PERP", "funding_rate": "0.0001", "created_at": t} for t in stamps]
    data = ParadexData(funding_data={"BTC-USD-PERP": {"next": None, "prev": None, "results": rows}})
    return ParadexMarketData(
        Scenario(Path("."), ScenarioSettings(), {"lighter": LighterData(), "paradex": data}), SimClock(NOW_MS)
    )


@settings(max_examples=150, deadline=None)
@given(
    stamps=ROWS,
    page_size=st.integers(1, 15),
    start=st.none() | st.integers(0, 10_000),
    end=st.none() | st.integers(0, 10_000),
)
def test_funding_data_pages_concatenate_to_the_window_newest_first(
    stamps: list[int], page_size: int, start: int | None, end: int | None
) -> None:
    if start is not None and end is not None and start > end:
        start, end = end, start
    md = paradex_md(stamps)
    served: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = md.funding_data("BTC-USD-PERP", start, end, page_size, cursor)
        assert len(page["results"]) <= page_size
        assert (page["prev"] is None) == (pages == 0)
        served += [r["created_at"] for r in page["results"]]
        pages += 1
        cursor = page["next"]
        if cursor is None:
            break
    expected = sorted(
        (t for t in stamps if (start is None or t >= start) and (end is None or t <= end)), reverse=True
    )
    assert served == expected
    assert pages == max(1, -(-len(expected) // page_size))


def test_cursor_round_trip_and_rejections() -> None:
    cursor = encode_cursor("ETH-USD-PERP", 200, None, 1_700_000_000_000)
    assert decode_cursor(cursor) == ("ETH-USD-PERP", 200, None, 1_700_000_000_000)
    md = paradex_md([1, 2, 3])
    for bad in ("%%%", "bm90IGpzb24=", encode_cursor("BTC-USD-PERP", -1, None, None)):
        with pytest.raises(ParadexApiError) as info:
            md.funding_data("BTC-USD-PERP", None, None, 2, bad)
        assert info.value.status == 400 and info.value.body["error"] == "INVALID_REQUEST_PARAMETER"
    with pytest.raises(ParadexApiError) as other_market:
        md.funding_data("BTC-USD-PERP", None, None, 2, encode_cursor("ETH-USD-PERP", 0, None, None))
    assert other_market.value.body["message"] == "cursor belongs to another market"
    assert paradex_error_body(503) == {
        "error": "SERVICE_UNAVAILABLE",
        "message": "simulated fault: HTTP 503",
        "data": None,
    }


# ------------------------------------------------------------------------------------------ faults


def test_fault_counts_are_consumed_per_request() -> None:
    faults = FaultInjector("lighter", lighter_error_body)
    faults.configure(FaultSpec(http_status=500, latency_seconds=0.25, count=2))
    first, second, third = faults.take(), faults.take(), faults.take()
    assert (first[0], first[1].status if first[1] else None) == (0.25, 500)
    assert (second[0], second[1].status if second[1] else None) == (0.25, 500)
    assert third == (0.0, None)
    faults.configure(FaultSpec(http_status=429))
    for _ in range(5):
        assert faults.take()[1] is not None  # no count: until cleared
    faults.configure(FaultSpec(clear=True))
    assert faults.snapshot() == {"status": None, "latency": None}


def test_fault_aimed_at_a_method_and_path_after_skipping_some() -> None:
    faults = FaultInjector("paradex", paradex_error_body)
    faults.configure(FaultSpec(http_status=500, count=1, method="POST", path="/v1/orders", skip=1))
    assert faults.take("GET", "/v1/orders") == (0.0, None)  # other method: untouched, not counted
    assert faults.take("POST", "/v1/positions") == (0.0, None)  # other path
    assert faults.take("POST", "/v1/orders") == (0.0, None)  # the first matching request is skipped
    _, status = faults.take("post", "/v1/orders/")
    assert status is not None and status.status == 500  # the second matching one fails
    assert faults.take("POST", "/v1/orders") == (0.0, None)  # count used up
    faults.configure(FaultSpec(latency_seconds=0.5, method="POST", path="/api/v1/sendTx"))
    assert faults.take("GET", "/api/v1/account") == (0.0, None)
    assert faults.take("POST", "/api/v1/sendTx") == (0.5, None)
