"""Strategy config (strategies/config.py): the example files load, and each kind of mistake is refused with a
message naming the field and the value."""

from __future__ import annotations

import copy
import re
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
import yaml

from strategies.config import ConfigError, FundingArbitrageConfig, load_config, parse_config

PROJECT = Path(__file__).resolve().parents[2]
EXAMPLE = PROJECT / "configs" / "funding_arbitrage.example.yaml"
BACKTEST_EXAMPLE = PROJECT / "configs" / "backtest.example.yaml"


def example() -> dict[str, Any]:
    return yaml.safe_load(EXAMPLE.read_text())


def error_of(data: Any) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    return str(info.value)


def test_example_config_loads_with_its_values() -> None:
    cfg = load_config(EXAMPLE)
    assert isinstance(cfg, FundingArbitrageConfig)
    assert cfg.venues == ["lighter", "paradex"]
    assert cfg.symbol_set == frozenset({"BTC", "ETH", "SOL"})
    # chosen by walk-forward research (docs/strategies.md): perparb sweep ... --grid configs/research.grid.yaml
    assert (cfg.signal.estimator, cfg.signal.half_life_hours, cfg.signal.lookback_hours) == (
        "ewma",
        D(168),
        672,
    )
    assert (cfg.signal.required_hours, cfg.signal.stability_days) == (48, 7)
    assert cfg.entry.min_signal_apr == D("0.08") and cfg.entry.min_net_apr is None
    assert cfg.entry.min_stability == D(2) and cfg.entry.horizon_hours == D(720)
    assert cfg.exit.exit_signal_apr == D("0.03") and cfg.exit.exit_on_flip is False
    assert (cfg.exit.min_hold_hours, cfg.exit.max_hold_hours, cfg.exit.max_stale_hours) == (
        D(168),
        D(4320),
        D(24),
    )
    assert cfg.exit.switch_cost_multiple == D(5)
    assert cfg.sizing.target_notional_usd == D(5000) and cfg.sizing.leverage == D(3)
    assert (cfg.sizing.max_positions, cfg.sizing.max_exposure_per_venue_usd) == (3, D(15000))
    assert cfg.costs.fee_overrides == {"lighter": {"taker": D(0), "maker": D(0)}}
    assert cfg.costs.slippage_bps == D(2)
    assert (cfg.execution.mode, cfg.execution.hedge_max_slippage_bps, cfg.execution.hedge_attempts) == (
        "ioc",
        D(50),
        3,
    )
    assert (cfg.on_stop, cfg.unknown_positions, cfg.loop_interval_seconds) == ("keep", "report", D(10))


def test_backtest_example_differs_only_in_venues_name_and_fees() -> None:
    live = example()
    backtest = yaml.safe_load(BACKTEST_EXAMPLE.read_text())
    assert backtest["venues"] == ["binance", "bybit", "hyperliquid"]
    assert "symbols" not in backtest
    for section in ("signal", "entry", "exit", "sizing", "execution"):
        assert backtest[section] == live[section], section
    assert backtest["costs"]["slippage_bps"] == live["costs"]["slippage_bps"]
    cfg = load_config(BACKTEST_EXAMPLE)
    assert cfg.costs.fee_overrides["bybit"]["taker"] == D("0.00055")


def test_defaults_without_a_signal_section() -> None:
    """A config without `signal` uses the instantaneous estimator (one hour's spread, aligned on both legs)."""
    data = example()
    del data["signal"]
    data["entry"] = {"min_net_apr": 0.15}
    cfg = parse_config(data)
    assert (cfg.signal.estimator, cfg.signal.lookback_hours, cfg.signal.required_hours) == (
        "instantaneous",
        1,
        1,
    )


def test_signal_section_rules() -> None:
    data = example()
    data["signal"] = {"estimator": "ewma"}
    assert (
        error_of(data) == "config: signal: Value error, signal.half_life_hours: required with estimator ewma"
    )
    data["signal"] = {"estimator": "mean", "half_life_hours": 24, "window_hours": 24}
    assert error_of(data) == (
        "config: signal: Value error, signal.half_life_hours: only used by estimator ewma, not mean"
    )
    data["signal"] = {"estimator": "mean"}
    assert error_of(data) == "config: signal: Value error, signal.window_hours: required with estimator mean"
    data["signal"] = {"estimator": "median", "window_hours": 24}
    assert error_of(data).startswith(
        "config: signal.estimator: Input should be 'instantaneous', 'mean' or 'ewma'"
    )
    data["signal"] = {"estimator": "mean", "window_hours": 24, "min_hours": 25}
    assert error_of(data) == "config: signal: Value error, signal.min_hours (25) exceeds the window (24 h)"
    data["signal"] = {"estimator": "ewma", "half_life_hours": 0}
    assert error_of(data) == "config: signal.half_life_hours: Input should be greater than 0 (got 0)"
    data["signal"] = {"estimator": "mean", "window_hours": 48}
    cfg = parse_config(data)
    assert (cfg.signal.lookback_hours, cfg.signal.required_hours) == (48, 24)


def test_removed_exit_net_apr_is_explained() -> None:
    data = example()
    data["exit"]["exit_net_apr"] = 0.03
    assert error_of(data) == (
        "config: exit: Value error, exit_net_apr was removed: exits act on the signal (exit.exit_signal_apr, gross "
        "APR), and the exit cost is paid whenever a position closes, so it cannot decide whether to close"
    )


def test_unknown_key_top_level_and_nested() -> None:
    data = example()
    data["bogus"] = 1
    assert error_of(data) == "config: bogus: Extra inputs are not permitted (got 1)"
    data = example()
    data["entry"]["min_apr"] = 0.2
    assert error_of(data) == "config: entry.min_apr: Extra inputs are not permitted (got 0.2)"


def test_negative_size() -> None:
    data = example()
    data["sizing"]["target_notional_usd"] = -5
    assert error_of(data) == "config: sizing.target_notional_usd: Input should be greater than 0 (got -5)"


def test_every_problem_is_listed() -> None:
    data = example()
    data["sizing"]["target_notional_usd"] = -5
    data["bogus"] = 1
    assert error_of(data) == (
        "config: sizing.target_notional_usd: Input should be greater than 0 (got -5); "
        "bogus: Extra inputs are not permitted (got 1)"
    )


@pytest.mark.parametrize("exit_apr", [0.08, 0.2])
def test_exit_threshold_must_be_below_entry(exit_apr: float) -> None:
    data = example()
    data["exit"]["exit_signal_apr"] = exit_apr
    assert error_of(data) == (
        f"config: (top level): Value error, exit.exit_signal_apr ({exit_apr}) must be below entry.min_signal_apr "
        "(0.08): the gap is the hysteresis that stops churning"
    )
    data["entry"] = {"min_net_apr": 0.05}
    assert error_of(data) == (
        f"config: (top level): Value error, exit.exit_signal_apr ({exit_apr}) must be below entry.min_net_apr "
        "(0.05): the gap is the hysteresis that stops churning"
    )


def test_unknown_venue() -> None:
    data = example()
    data["venues"] = ["lighter", "kraken"]
    assert error_of(data) == (
        "config: (top level): Value error, venues: unknown venue(s) ['kraken']; "
        "known: ['hyperliquid', 'lighter', 'paradex', 'binance', 'bybit']"  # hyperliquid is installed now
    )
    data = example()
    data["costs"]["fee_overrides"] = {"kraken": {"taker": 0.001}}
    assert error_of(data) == "config: costs: Value error, fee_overrides: unknown venue 'kraken'"


def test_other_consistency_rules() -> None:
    data = example()
    data["venues"] = ["lighter", "lighter"]
    assert error_of(data) == "config: (top level): Value error, venues: duplicates in ['lighter', 'lighter']"
    data = example()
    data["exit"]["max_hold_hours"] = 168
    assert error_of(data) == (
        "config: (top level): Value error, exit.max_hold_hours must be greater than exit.min_hold_hours"
    )
    data = example()
    data["venues"] = ["lighter"]
    assert error_of(data) == "config: venues: List should have at least 2 items after validation, not 1"
    data = example()
    del data["entry"]["min_signal_apr"]
    assert error_of(data) == (
        "config: entry: Value error, entry: give min_signal_apr and/or min_net_apr (the entry threshold)"
    )
    data = example()
    data["costs"]["fee_mode"] = "x"
    assert error_of(data) == "config: costs.fee_mode: Input should be 'taker' or 'maker' (got 'x')"


def test_document_level_errors(tmp_path: Path) -> None:
    assert error_of([1]) == "config: expected a mapping at the top level"
    data = example()
    data["strategy"] = "martingale"
    assert (
        error_of(data)
        == "config: strategy: unknown strategy 'martingale'; known: ['funding_arbitrage', 'grid']"
    )
    missing = tmp_path / "none.yaml"
    with pytest.raises(ConfigError, match=f"^{re.escape(str(missing))}: no such file$"):
        load_config(missing)
    broken = tmp_path / "broken.yaml"
    broken.write_text("strategy: funding_arbitrage\nname: [unclosed\n")
    with pytest.raises(ConfigError, match=f"^{re.escape(str(broken))}: invalid YAML at line 3: .+$"):
        load_config(broken)


def test_config_is_frozen() -> None:
    cfg = load_config(EXAMPLE)
    with pytest.raises(Exception, match="frozen"):
        cfg.name = "x"  # type: ignore[misc]
    assert copy.deepcopy(cfg) == cfg
