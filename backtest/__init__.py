"""Backtester: replays settled funding history through the funding-arbitrage decision code.

* `backtest.loader`: funding history from parquet / CSV files in the format of ../shared/funding-history, or
  from the project's database (settled samples), normalised with `units.hourly_from_period`.
* `backtest.engine`: the hourly event loop (no look-ahead), funding paid at each venue's own settlements.
* `backtest.report`: figures (net APR, funding, fees, drawdown, ...), Rich table and JSON.
* `backtest.report`: also the diagnostics (per pair, signal vs realised, turnover, Sharpe / Sortino of daily PnL,
  slippage sensitivity, lumps given up at exits).
* `backtest.plots`: PNG charts (equity curve; signal vs realised spread; spread and signal versus thresholds for
  the most traded pair).
* `backtest.sweep` (+ `backtest.sweep_plots`): walk-forward research over a grid of config values
  (`perparb sweep`), every run through `run_backtest`.
"""

from __future__ import annotations

from backtest.engine import BacktestOptions, BacktestResult, run_backtest
from backtest.loader import FundingHistory, HistoryError, load_history, mean_apr_by_symbol
from backtest.report import BacktestReport, build_report

__all__ = [
    "BacktestOptions",
    "BacktestReport",
    "BacktestResult",
    "FundingHistory",
    "HistoryError",
    "build_report",
    "load_history",
    "mean_apr_by_symbol",
    "run_backtest",
]
