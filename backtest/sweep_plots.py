"""PNG charts of a sweep (`perparb sweep --plot DIR`).

* `DIR/train/`, `DIR/test/`: the backtest charts (`backtest.plots`) of the best combination on each window;
* `DIR/train_vs_test.png`: the objective of the best combinations on the training window against the test
  window (a walk-forward check: points far below the diagonal were fitted to the training window).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from backtest.engine import BacktestOptions, run_backtest
from backtest.loader import FundingHistory
from backtest.plots import write_plots
from backtest.report import build_report
from backtest.sweep import SweepResult, apply, config_document
from strategies.config import FundingArbitrageConfig, parse_config


def write_sweep_plots(
    result: SweepResult,
    base: FundingArbitrageConfig,
    history: FundingHistory,
    out_dir: Path,
    *,
    budget_usd_per_venue: Decimal | None = None,
) -> list[Path]:
    """Write the charts and return their paths.

    Raises:
        OSError: the directory cannot be created or written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    best = parse_config(apply(config_document(base), result.best.params), source="grid")
    paths: list[Path] = []
    for w in (result.train_window, result.test_window):
        run = run_backtest(
            best,
            history,
            BacktestOptions(start=w.start, end=w.end, budget_usd_per_venue=budget_usd_per_venue),
        )
        paths += write_plots(run, build_report(run), out_dir / w.name)
    paths.append(_train_vs_test(result, out_dir / "train_vs_test.png"))
    return paths


def _train_vs_test(result: SweepResult, path: Path) -> Path:
    key = result.objective
    pct = 100.0 if "apr" in key else 1.0
    points = [
        (float(e.train[key]) * pct, float(e.test[key]) * pct)
        for e in result.ranked
        if e.test is not None and e.train.get(key) is not None and e.test.get(key) is not None
    ]
    fig, ax = plt.subplots(figsize=(6.5, 6))
    if points:
        xs, ys = zip(*points, strict=True)
        ax.scatter(xs, ys, s=22, color="tab:blue", label="best combinations")
        ax.scatter([xs[0]], [ys[0]], s=60, color="tab:red", label="chosen (best on training)")
        lo, hi = min(xs + ys), max(xs + ys)
        ax.plot([lo, hi], [lo, hi], color="grey", linestyle="--", linewidth=0.8, label="test = train")
    ax.axhline(0, color="grey", linewidth=0.5)
    unit = " %" if pct == 100.0 else ""
    ax.set_xlabel(f"training {key}{unit}")
    ax.set_ylabel(f"test {key}{unit}")
    ax.set_title(f"walk-forward: {len(points)} of {result.evaluated} combinations")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
