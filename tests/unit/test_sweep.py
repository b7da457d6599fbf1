"""`perparb sweep` / backtest.sweep on a tiny synthetic history: the grid, validation errors before any work,
the choice on the training window only, the test figures equal to a plain backtest of the chosen config, the
same results with one or two worker processes, and the command line (table, JSON, plots, exit codes)."""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
import yaml

from backtest.engine import BacktestOptions, run_backtest
from backtest.loader import FundingHistory, load_rows
from backtest.report import build_report
from backtest.sweep import (
    SweepError,
    Window,
    apply,
    build_configs,
    check_grid,
    combinations,
    config_document,
    config_paths,
    metrics_of,
    run_sweep,
)
from strategies.config import FundingArbitrageConfig, parse_config

PROJECT = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 3, 1, tzinfo=timezone.utc)
DAYS = 40
TRAIN = Window("train", T0 + timedelta(days=8), T0 + timedelta(days=24))
TEST = Window("test", T0 + timedelta(days=24), T0 + timedelta(days=DAYS - 1))

BASE: dict[str, Any] = {
    "strategy": "funding_arbitrage",
    "name": "sweep-case",
    "venues": ["binance", "hyperliquid"],
    "signal": {"estimator": "ewma", "half_life_hours": "24", "min_hours": 24, "stability_days": 3},
    "entry": {"min_signal_apr": "0.1", "horizon_hours": "720"},
    "exit": {"exit_signal_apr": "0", "min_hold_hours": "48"},
    "sizing": {"target_notional_usd": "5000", "max_positions": 2, "max_exposure_per_venue_usd": "15000"},
    "costs": {"fee_overrides": {"binance": {"taker": "0.0005"}, "hyperliquid": {"taker": "0.00045"}}},
}


def history() -> FundingHistory:
    """Three assets, binance 8-hourly, hyperliquid hourly, 40 days: BTC a steady 20 % APR spread, ETH a noisy
    one around 6 %, SOL flipping every 5 days (seeded)."""
    rng = random.Random(11)
    rows: list[dict[str, Any]] = []
    for sym, mean, noise, flip in (
        ("BTC", 0.20, 0.05, False),
        ("ETH", 0.06, 0.40, False),
        ("SOL", 0.25, 0.1, True),
    ):
        for hour in range(DAYS * 24):
            spread = mean * (-1 if flip and (hour // 120) % 2 else 1) + rng.gauss(0, noise)
            rows.append(
                {
                    "venue": "hyperliquid",
                    "venue_symbol": sym,
                    "canonical_symbol": f"{sym}-USDC-PERP",
                    "settlement_ts": T0 + timedelta(hours=hour, milliseconds=24),
                    "rate_raw": str(round(D("0.0000125") + D(spread / 8760), 10)),
                    "interval_hours": "1",
                }
            )
            if hour % 8 == 0:
                rows.append(
                    {
                        "venue": "binance",
                        "venue_symbol": f"{sym}USDT",
                        "canonical_symbol": f"{sym}-USDT-PERP",
                        "settlement_ts": T0 + timedelta(hours=hour),
                        "rate_raw": "0.0001",
                        "interval_hours": "8",
                    }
                )
    return load_rows(rows, source="synthetic")


def base_config() -> FundingArbitrageConfig:
    cfg: FundingArbitrageConfig = parse_config(BASE)
    return cfg


GRID: dict[str, list[Any]] = {"entry.min_signal_apr": [0.05, 0.1, 0.3], "exit.min_hold_hours": [24, 96]}


def test_config_paths_and_grid_checks() -> None:
    paths = config_paths()
    assert {
        "entry.min_signal_apr",
        "signal.half_life_hours",
        "exit.min_hold_hours",
        "sizing.max_positions",
    } <= set(paths)
    assert check_grid({"entry.min_signal_apr": 0.1}) == {"entry.min_signal_apr": [0.1]}
    with pytest.raises(
        SweepError, match=r"^grid: entry.min_sigal_apr: not a config path; entry has .*min_signal_apr"
    ):
        check_grid({"entry.min_sigal_apr": [0.1]})
    with pytest.raises(SweepError, match=r"^grid: exit.min_hold_hours: empty list of values$"):
        check_grid({"exit.min_hold_hours": []})
    with pytest.raises(SweepError, match="expected a non-empty mapping"):
        check_grid([1, 2])
    assert combinations({"a": [1, 2], "b": ["x", "y"]}) == [
        {"a": 1, "b": "x"},
        {"a": 1, "b": "y"},
        {"a": 2, "b": "x"},
        {"a": 2, "b": "y"},
    ]
    doc = apply(config_document(base_config()), {"signal.half_life_hours": 72, "exit.exit_on_flip": True})
    assert doc["signal"]["half_life_hours"] == 72 and doc["exit"]["exit_on_flip"] is True
    assert doc["entry"]["min_signal_apr"] == "0.1"  # untouched, every digit kept


def test_a_value_failing_validation_names_field_and_value() -> None:
    with pytest.raises(SweepError) as info:
        build_configs(base_config(), {"exit.exit_signal_apr": [0.0, 0.2]})
    assert str(info.value) == (
        "grid: (top level): Value error, exit.exit_signal_apr (0.2) must be below entry.min_signal_apr (0.1): the "
        "gap is the hysteresis that stops churning [with exit.exit_signal_apr=0.2]"
    )
    with pytest.raises(
        SweepError, match=r"signal.half_life_hours: Input should be greater than 0 \(got -1\)"
    ):
        build_configs(base_config(), {"signal.half_life_hours": [-1]})


def test_windows_are_checked_before_any_work() -> None:
    hist = history()
    cfg = base_config()
    overlap = Window("test", TRAIN.end - timedelta(hours=1), TEST.end)
    with pytest.raises(SweepError, match=r"^--test-from: .* overlaps the training window"):
        run_sweep(cfg, GRID, hist, TRAIN, overlap)
    late = Window("test", TEST.start, T0 + timedelta(days=DAYS + 5))
    with pytest.raises(SweepError, match=r"^--test-to: .* is outside the history"):
        run_sweep(cfg, GRID, hist, TRAIN, late)
    with pytest.raises(SweepError, match=r"^--train-to: .* is before --train-from"):
        run_sweep(cfg, GRID, hist, Window("train", TRAIN.end, TRAIN.start), TEST)
    with pytest.raises(SweepError, match=r"^--objective: 'profit' is not one of"):
        run_sweep(cfg, GRID, hist, TRAIN, TEST, objective="profit")


def test_chosen_on_training_only_and_test_equals_a_plain_backtest() -> None:
    hist = history()
    result = run_sweep(base_config(), GRID, hist, TRAIN, TEST, top=3)
    assert result.evaluated == 6 and len(result.ranked) == 3
    trains = [e.train["net_apr_on_budget"] for e in result.ranked]
    assert trains == sorted(trains, reverse=True) and result.best is result.ranked[0]
    # the best of ALL six on the training window (the three not shown are all worse)
    everything = run_sweep(base_config(), GRID, hist, TRAIN, TEST, top=6)
    assert max(e.train["net_apr_on_budget"] for e in everything.ranked) == trains[0]
    assert all(e.test is not None for e in result.ranked)
    # the figures are the engine's: a plain backtest of the chosen config on each window gives the same
    chosen = parse_config(apply(config_document(base_config()), result.best.params))
    for w, figures in ((TRAIN, result.best.train), (TEST, result.best.test)):
        plain = metrics_of(
            build_report(run_backtest(chosen, hist, BacktestOptions(start=w.start, end=w.end)))
        )
        assert plain == figures
    assert result.best.train["entries"] > 0


def test_two_workers_give_the_same_results() -> None:
    hist = history()
    one = run_sweep(base_config(), GRID, hist, TRAIN, TEST, top=6, jobs=1)
    two = run_sweep(base_config(), GRID, hist, TRAIN, TEST, top=6, jobs=2)
    assert one.to_json_dict() == two.to_json_dict()


# ------------------------------------------------------------------------------------------- command line


def _write_history(path: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    hist = history()
    cols: dict[str, list[Any]] = {
        k: []
        for k in ("venue", "venue_symbol", "canonical_symbol", "settlement_ts", "rate_raw", "interval_hours")
    }
    for m in hist.markets.values():
        for i, ts in enumerate(m.ts_us):
            cols["venue"].append(m.venue)
            cols["venue_symbol"].append(m.venue_symbol)
            cols["canonical_symbol"].append(m.canonical_symbol)
            cols["settlement_ts"].append(ts)
            cols["rate_raw"].append(float(m.rate_raw[i]))
            cols["interval_hours"].append(float(m.interval_hours[i]))
    table = pa.table(
        {
            **{k: cols[k] for k in ("venue", "venue_symbol", "canonical_symbol")},
            "settlement_ts": pa.array(cols["settlement_ts"], pa.int64()).cast(pa.timestamp("us", tz="UTC")),
            "rate_raw": pa.array(cols["rate_raw"], pa.float64()),
            "interval_hours": pa.array(cols["interval_hours"], pa.float64()),
        }
    )
    pq.write_table(table, path / "synthetic.parquet")
    return path


def _cli(
    tmp: Path, grid: Any, *extra: str, windows: tuple[str, str, str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    cfg = tmp / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(BASE))
    grid_path = tmp / "grid.yaml"
    grid_path.write_text(grid if isinstance(grid, str) else yaml.safe_dump(grid, sort_keys=False))
    hist = tmp / "hist"
    if not hist.exists():
        hist.mkdir()
        _write_history(hist)
    w = windows or (
        TRAIN.start.isoformat(),
        TRAIN.end.isoformat(),
        TEST.start.isoformat(),
        TEST.end.isoformat(),
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "COLUMNS": "200"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "perparb",
            "sweep",
            str(cfg),
            "--grid",
            str(grid_path),
            "--history",
            str(hist),
            "--train-from",
            w[0],
            "--train-to",
            w[1],
            "--test-from",
            w[2],
            "--test-to",
            w[3],
            *extra,
        ],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_cli_json_table_and_plots(tmp_path: Path) -> None:
    proc = _cli(tmp_path, GRID, "--json", "--jobs", "2", "--top", "4", "--plot", str(tmp_path / "plots"))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) >= {"objective", "train_window", "test_window", "evaluated", "results", "best"}
    assert data["objective"] == "net_apr_on_budget" and data["evaluated"] == 6 and len(data["results"]) == 4
    assert data["train_window"] == {"from": TRAIN.start.isoformat(), "to": TRAIN.end.isoformat()}
    assert data["best"] == data["results"][0]
    for key in ("net_apr_on_budget", "net_pnl_usd", "fees_usd", "entries", "median_holding_hours", "sharpe"):
        assert key in data["best"]["train"] and key in data["best"]["test"], key
    assert not math.isnan(data["best"]["test"]["net_apr_on_budget"])
    names = {Path(p).name for p in data["plots"]}
    assert {"train_vs_test.png", "equity_curve.png"} <= names
    table = _cli(tmp_path, GRID, "--jobs", "1", "--top", "3")
    assert table.returncode == 0, table.stderr
    assert "sweep: best 3 of 6 by training net_apr_on_budget" in table.stdout
    assert "Only the training window chose" in table.stdout


@pytest.mark.parametrize(
    ("grid", "windows", "message"),
    [
        ({"entry.nope": [1]}, None, "error: --grid "),
        (
            {"exit.exit_signal_apr": [0.5]},
            None,
            "exit.exit_signal_apr (0.5) must be below entry.min_signal_apr",
        ),
        (
            GRID,
            ("2025-03-09", "2025-03-25", "2025-03-20", "2025-04-09"),
            "--test-from: 2025-03-20T00:00:00+00:00 overlaps",
        ),
        (
            GRID,
            ("2024-01-01", "2025-03-25", "2025-03-25", "2025-04-09"),
            "--train-from: 2024-01-01T00:00:00+00:00 is outside",
        ),
        (GRID, ("2025-03-09", "2025-03-25", "2025-03-25", "May 1"), "--test-to: 'May 1' is not a date"),
        ("entry.min_signal_apr: [0.1", None, "invalid YAML"),
    ],
)
def test_cli_errors_are_one_line_exit_2(tmp_path: Path, grid: Any, windows: Any, message: str) -> None:
    proc = _cli(tmp_path, grid, windows=windows)
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], proc.stderr
    assert "train (" not in proc.stderr  # no evaluation started
