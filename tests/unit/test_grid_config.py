"""Grid config (`configs/grid.example.yaml`, `strategies.config.GridConfig`): the example loads with its values,
each kind of mistake is refused with an exact message; and the pure ladder helpers of `strategies.grid`."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
import yaml

from exchange_clients.base.trading import RoundingError, Side
from strategies.config import ConfigError, GridConfig, load_config, parse_config
from strategies.grid import Slot, build_slots, grid_step

PROJECT = Path(__file__).resolve().parents[2]
EXAMPLE = PROJECT / "configs" / "grid.example.yaml"


def example() -> dict[str, Any]:
    return yaml.safe_load(EXAMPLE.read_text())


def error_of(data: Any) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    return str(info.value)


def grid(**changes: Any) -> GridConfig:
    data = example()
    data.update(changes)
    data = {k: v for k, v in data.items() if v is not None}
    cfg = parse_config(data)
    assert isinstance(cfg, GridConfig)
    return cfg


def test_example_loads_with_its_values() -> None:
    cfg = load_config(EXAMPLE)
    assert isinstance(cfg, GridConfig)
    assert (cfg.name, cfg.venue, cfg.symbol, cfg.venues) == (
        "eth-grid-lighter",
        "lighter",
        "ETH",
        ["lighter"],
    )
    assert (cfg.lower_price, cfg.upper_price, cfg.levels, cfg.step_price) == (D(3400), D(3800), 9, None)
    assert (cfg.quantity_per_level, cfg.take_profit_price, cfg.max_position) == (D("0.05"), D(50), D("0.2"))
    assert (cfg.stop_price_low, cfg.stop_price_high) == (D(3300), D(3900))
    assert (cfg.pause_price_low, cfg.pause_price_high) == (D(3350), D(3850))
    assert (cfg.leverage, cfg.max_slippage_bps, cfg.on_stop, cfg.loop_interval_seconds) == (
        D(2),
        D(20),
        "keep",
        D(2),
    )
    assert cfg.level_prices() == [D(3400) + 50 * i for i in range(9)]
    assert grid_step(cfg) == D(50)


def test_every_example_field_is_documented_by_a_comment() -> None:
    for line in EXAMPLE.read_text().splitlines():
        if line and not line.startswith("#") and ":" in line:
            assert "#" in line, f"undocumented field line: {line!r}"
    text = EXAMPLE.read_text()
    missing = [f for f in GridConfig.model_fields if f"{f}:" not in text]
    assert missing == []


def test_unknown_key_is_refused_from_a_file(tmp_path: Path) -> None:
    data = example()
    data["grid_levels"] = 5
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: grid_levels: Extra inputs are not permitted (got 5)"


def test_negative_size_and_zero_position() -> None:
    data = example()
    data["quantity_per_level"] = -0.5
    assert error_of(data) == "config: quantity_per_level: Input should be greater than 0 (got -0.5)"
    data = example()
    data["max_position"] = 0
    assert error_of(data) == "config: max_position: Input should be greater than 0 (got 0)"


def test_upper_not_above_lower() -> None:
    data = example()
    data["upper_price"] = 3400
    assert (
        error_of(data)
        == "config: (top level): Value error, upper_price (3400) must be above lower_price (3400)"
    )
    data["upper_price"] = 3000
    assert (
        error_of(data)
        == "config: (top level): Value error, upper_price (3000) must be above lower_price (3400)"
    )


def test_levels_and_step_price_exactly_one() -> None:
    data = example()
    data["step_price"] = 50
    assert error_of(data) == "config: (top level): Value error, give exactly one of levels and step_price"
    del data["levels"], data["step_price"]
    assert error_of(data) == "config: (top level): Value error, give exactly one of levels and step_price"


def test_stop_prices_outside_the_range_and_on_stop_values() -> None:
    data = example()
    data["stop_price_low"] = 3450
    assert error_of(data) == (
        "config: (top level): Value error, stop_price_low (3450) must be below lower_price (3400)"
    )
    data = example()
    data["on_stop"] = "flatten"
    assert error_of(data) == "config: on_stop: Input should be 'keep', 'cancel' or 'close' (got 'flatten')"
    assert grid(on_stop="cancel").on_stop == "cancel"


def test_step_price_levels_and_grid_step() -> None:
    cfg = grid(levels=None, step_price=D("150"), lower_price=3400, upper_price=3800)
    assert cfg.level_prices() == [D(3400), D(3550), D(3700)]
    assert grid_step(cfg) == D(150)


def test_build_slots_leaves_the_nearest_level_empty_and_rounds_by_side() -> None:
    cfg = grid(lower_price="3580.005", upper_price="3620.005", levels=5, take_profit_price=None)
    slots = build_slots(cfg, D("3600.25"), D("0.01"))
    # raw levels 3580.005 3590.005 [3600.005 empty] 3610.005 3620.005: BUY rounds down, SELL up
    assert [(s.level, s.side, s.price) for s in slots] == [
        (0, Side.BUY, D("3580.00")),
        (1, Side.BUY, D("3590.00")),
        (3, Side.SELL, D("3610.01")),
        (4, Side.SELL, D("3620.01")),
    ]
    # anchor below the range: every level is a SELL, none empty
    assert [s.side for s in build_slots(cfg, D(3000), D("0.01"))] == [Side.SELL] * 5


def test_slot_targets_and_counter_prices() -> None:
    buy = Slot(1, D("3590.00"), Side.BUY)
    assert buy.target(D("0.1"), D(10), D("0.01")) == (Side.BUY, D("3590.00"), D("0.1"))
    buy.phase, buy.counter_qty = "counter", D("0.07")
    assert buy.target(D("0.1"), D("10.005"), D("0.01")) == (Side.SELL, D("3600.01"), D("0.07"))
    sell = Slot(3, D("3610.00"), Side.SELL, "counter", D("0.1"), D("3610.00"))
    assert sell.target(D("0.1"), D("10.005"), D("0.01")) == (Side.BUY, D("3599.99"), D("0.1"))
    assert Slot.from_json(sell.to_json()) == sell
    with pytest.raises(RoundingError):
        Slot(0, D(5), Side.SELL).counter_price(D(10), D("0.01"))
