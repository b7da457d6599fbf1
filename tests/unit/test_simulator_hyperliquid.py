"""Pure rules of the simulated Hyperliquid: the price rule and grid (docs for-developers/api/tick-and-lot-size.md),
asset ids (asset-ids.md), the nonce window (nonces-and-api-wallets.md), wire spellings, and the scenario reader's
checks (each refusal names the file)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from simulator.engine import Order, OrderStatus, OrderType, Reason, Side, TimeInForce
from simulator.hyperliquid.auth import ActionRefused, Agents, NonceBook
from simulator.hyperliquid.markets import (
    asset_id,
    hyperliquid_market_spec,
    price_step,
    valid_price,
    valid_size,
)
from simulator.hyperliquid.scenario import history_coin, history_file_name, read_hyperliquid_folder
from simulator.hyperliquid.wire import direction, num, status_word, usd
from simulator.scenario import ScenarioError

D = Decimal
NOW = 1_790_000_000_000


@pytest.mark.parametrize(
    ("price", "sz", "ok"),
    [
        ("3600.2", 4, True),  # 5 significant figures, 1 decimal (<= 6 - 4)
        ("3600.25", 4, False),  # 6 significant figures
        ("123456", 5, True),  # integers are always valid
        ("0.0001234", 0, False),  # 7 decimals > 6
        ("0.000123", 0, True),
        ("1.23", 5, False),  # 2 decimals > 6 - 5
        ("0", 2, False),
    ],
)
def test_price_rule(price: str, sz: int, ok: bool) -> None:
    assert valid_price(D(price), sz) is ok


def test_grid_step_sizes_and_asset_ids() -> None:
    assert [
        price_step(D(p), sz) for p, sz in (("3600.25", 4), ("97012.4", 5), ("0.381245", 0), ("150000", 2))
    ] == [
        D("0.1"),
        D(1),
        D("0.00001"),
        D(1),
    ]
    assert valid_size(D("0.0001"), 4) and not valid_size(D("0.00001"), 4) and not valid_size(D(0), 4)
    assert (asset_id(0, 3), asset_id(1, 0), asset_id(2, 5)) == (3, 110000, 120005)
    spec = hyperliquid_market_spec(
        {"name": "ETH", "szDecimals": 4, "maxLeverage": 25}, {"markPx": "3600.2"}, asset=1
    )
    assert (spec.tick_size, spec.size_step, spec.min_notional, spec.market_id) == (
        D("0.1"),
        D("0.0001"),
        10,
        1,
    )
    assert (spec.initial_margin_fraction, spec.min_imf, spec.maintenance_margin_fraction) == (
        D("0.05"),
        D("0.04"),
        D("0.02"),
    )


def test_nonce_book_keeps_the_highest_hundred_within_the_time_window() -> None:
    book = NonceBook(clock_ms=lambda: NOW)
    for n in range(NOW - 150, NOW - 50):
        book.check("0xa", n)
        book.use("0xa", n)
    with pytest.raises(ActionRefused, match=f"^Invalid nonce: duplicate nonce {NOW - 60}$"):
        book.check("0xa", NOW - 60)
    with pytest.raises(ActionRefused, match="too low"):
        book.check("0xa", NOW - 151)  # below the smallest of the 100 kept
    book.check("0xb", NOW - 151)  # per signer
    with pytest.raises(ActionRefused, match="time window"):
        book.check("0xb", NOW + 86_400_000)
    with pytest.raises(ActionRefused, match="time window"):
        book.check("0xb", NOW - 2 * 86_400_000)


def test_agents_and_wire_spellings() -> None:
    agents = Agents()
    agents.approve("0xAA", "0xBB", "bot")
    assert agents.user_of("0xbb") == "0xaa" and agents.of_user("0xAA") == ["0xbb"]
    with pytest.raises(ValueError, match="the account itself"):
        agents.approve("0xaa", "0xAA")
    assert (num(D("3600.20")), num(D("97012")), num(D(0)), usd(D("-3.6253125")), usd(D("0.0000004"))) == (
        "3600.2",
        "97012.0",
        "0.0",
        "-3.625312",
        "0.0",
    )
    assert [
        direction(D(a), D(b)) for a, b in (("0", "1"), ("1", "2"), ("2", "1"), ("1", "-1"), ("-1", "0"))
    ] == [
        "Open Long",
        "Open Long",
        "Close Long",
        "Long > Short",
        "Close Short",
    ]
    order = Order(1, 1, "ETH", Side.BUY, OrderType.LIMIT, TimeInForce.IOC, D(1), D(1), False, None, 0, 0)
    order.status, order.reason = OrderStatus.CANCELLED, Reason.IOC_REMAINDER
    assert status_word(order) == "iocCancelRejected"
    order.filled = D("0.5")
    assert status_word(order) == "canceled"
    order.status, order.reason = OrderStatus.REJECTED, Reason.INSUFFICIENT_MARGIN
    assert status_word(order) == "perpMarginRejected"


def write(folder: Path, name: str, body: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(body))
    return path


def test_scenario_reader_checks_and_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "hyperliquid"
    assert read_hyperliquid_folder(folder).market_count() == 0  # absent folder reads as empty
    meta = [{"universe": [{"name": "BTC", "szDecimals": 5, "maxLeverage": 40}]}, [{"markPx": "97000"}]]
    write(folder, "metaAndAssetCtxs.json", meta)
    write(folder, history_file_name("BTC"), [{"coin": "BTC", "fundingRate": "0.0000125", "time": NOW}])
    data = read_hyperliquid_folder(folder)
    assert data.coins() == ["BTC"] and data.history_times_ms() == [NOW]
    data.shift_history(3_600_000)
    assert data.funding_history["BTC"][0]["time"] == NOW + 3_600_000
    assert (history_file_name("xyz:XYZ100"), history_coin("xyz_XYZ100"), history_coin("BTC")) == (
        "fundingHistory_xyz_XYZ100.json",
        "xyz:XYZ100",
        "BTC",
    )
    bad = write(
        folder, "metaAndAssetCtxs_xyz.json", [{"universe": [{"name": "xyz:A", "szDecimals": 1}]}, [{}]]
    )
    with pytest.raises(ScenarioError, match=r"not listed in perpDexs\.json"):
        read_hyperliquid_folder(folder)
    bad.unlink()
    broken = write(folder, "metaAndAssetCtxs.json", [{"universe": [{"name": "BTC"}]}, []])
    with pytest.raises(ScenarioError, match="ctxs must be a list of 1 objects") as info:
        read_hyperliquid_folder(folder)
    assert info.value.path == broken
    broken.unlink()
    write(folder, "fundingHistory_ETH.json", [{"coin": "BTC", "time": NOW}])
    with pytest.raises(ScenarioError, match=r"\[0\].coin must be 'ETH'"):
        read_hyperliquid_folder(folder)
    (folder / "fundingHistory_ETH.json").unlink()
    write(folder, "l2Book_ETH.json", {})
    with pytest.raises(ScenarioError, match="unexpected file name"):
        read_hyperliquid_folder(folder)
