"""PNG charts of a backtest (matplotlib, Agg backend: no display needed).

* `equity_curve.png`: marked-to-market equity (budget + realised + accrued cash, USD) at every decision time.
* `signal_vs_realised.png`: per position, the signal at entry (expected gross APR) against the spread it
  realised while held (net funding / notional / hours x 8760), with their correlation.
* `spread_<SYMBOL>_<long>_<short>.png`: for the most traded pair, the spread of the last hour known on both legs
  and the configured signal (both APRs, read at each decision time as the engine reads them,
  `backtest.engine.pair_signal_history`) against the entry and exit thresholds on the same scale:
      entry: signal APR >= min_signal_apr, or signal net APR >= min_net_apr <=> signal APR >= min_net_apr +
             C x 8760 / H (the higher of the two when both are set)
      exit:  signal APR < exit_signal_apr
  with C the pair's round-trip cost and H `entry.horizon_hours` (decision.py; DESIGN.md maths).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from backtest.engine import BacktestResult, PositionRecord, pair_signal_history
from backtest.report import BacktestReport

HOURS_PER_YEAR = Decimal(8760)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _x(when: datetime) -> float:
    """A time as matplotlib's date number: days since its default epoch 1970-01-01 UTC (the axes are then
    formatted as dates with `xaxis_date`)."""
    return (when - _EPOCH).total_seconds() / 86400


def _opened(p: PositionRecord) -> datetime | None:
    return p.opened_at


def _closed(p: PositionRecord) -> datetime | None:
    return p.closed_at


def write_plots(result: BacktestResult, report: BacktestReport, out_dir: Path) -> list[Path]:
    """Write the charts into `out_dir` (created if needed) and return their paths: the equity curve, then the
    spread chart of the most traded pair (when any position was opened).

    Raises:
        OSError: the directory cannot be created or written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [_equity(result, report, out_dir / "equity_curve.png")]
    if report.diagnostics is not None and report.diagnostics.signal_vs_realised:
        paths.append(_scatter(report, out_dir / "signal_vs_realised.png"))
    pair = report.most_traded_pair
    if pair is not None:
        symbol, long_venue, short_venue = pair
        paths.append(_spread(result, pair, out_dir / f"spread_{symbol}_{long_venue}_{short_venue}.png"))
    return paths


def _equity(result: BacktestResult, report: BacktestReport, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(11, 4.5))
    xs = [_x(t) for t, _ in result.equity]
    ys = [float(v) for _, v in result.equity]
    ax.xaxis_date()
    ax.plot(xs, ys, linewidth=1.2, color="tab:blue", label="equity (budget + realised + accrued)")
    ax.axhline(float(report.total_budget_usd), color="grey", linewidth=0.8, linestyle="--", label="budget")
    if report.max_drawdown_peak_at is not None and report.max_drawdown_trough_at is not None:
        ax.axvspan(
            _x(report.max_drawdown_peak_at),
            _x(report.max_drawdown_trough_at),
            color="tab:red",
            alpha=0.15,
            label=f"max drawdown ${float(report.max_drawdown_usd):,.2f}",
        )
    apr = "-" if report.net_apr_on_budget is None else f"{float(report.net_apr_on_budget) * 100:.2f}%"
    ax.set_title(
        f"{report.config_name}: equity, net PnL ${float(report.net_pnl_usd):,.2f}, net APR on budget {apr}"
    )
    ax.set_ylabel("USD")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _scatter(report: BacktestReport, path: Path) -> Path:
    d = report.diagnostics
    assert d is not None
    xs = [x * 100 for x, _ in d.signal_vs_realised]
    ys = [y * 100 for _, y in d.signal_vs_realised]
    fig, ax = plt.subplots(figsize=(6.5, 6))
    ax.scatter(xs, ys, s=14, alpha=0.6, color="tab:blue")
    lo, hi = min(xs + ys), max(xs + ys)
    ax.plot([lo, hi], [lo, hi], color="grey", linewidth=0.8, linestyle="--", label="realised = signal")
    ax.axhline(0, color="grey", linewidth=0.5)
    corr = "-" if d.signal_realised_correlation is None else f"{d.signal_realised_correlation:.2f}"
    ax.set_title(f"{report.config_name}: entry signal vs realised spread ({len(xs)} positions, r = {corr})")
    ax.set_xlabel("signal at entry, APR %")
    ax.set_ylabel("realised spread while held, APR %")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _spread(result: BacktestResult, pair: tuple[str, str, str], path: Path) -> Path:
    symbol, long_venue, short_venue = pair
    times, instant, signal = pair_signal_history(result, symbol, long_venue, short_venue)
    positions = [
        p
        for p in result.positions
        if (p.symbol, p.long_venue, p.short_venue) == (symbol, long_venue, short_venue)
    ]
    config = result.config
    horizon = config.entry.horizon_hours
    cost = positions[0].round_trip_cost if positions else Decimal(0)
    lines = []
    if config.entry.min_signal_apr is not None:
        lines.append(float(config.entry.min_signal_apr))
    if config.entry.min_net_apr is not None:
        lines.append(float(config.entry.min_net_apr + cost * HOURS_PER_YEAR / horizon))
    entry_line = max(lines)
    exit_line = float(config.exit.exit_signal_apr)

    fig, ax = plt.subplots(figsize=(11, 4.5))
    ax.xaxis_date()
    xt = [_x(t) for t in times]
    ax.plot(
        xt,
        [x * 100 for x in instant],
        linewidth=0.5,
        color="tab:grey",
        alpha=0.6,
        label="spread, last hour known on both legs",
    )
    ax.plot(
        xt,
        [x * 100 for x in signal],
        linewidth=1.2,
        color="tab:blue",
        label=f"signal ({config.signal.estimator})",
    )
    ax.axhline(entry_line * 100, color="tab:green", linestyle="--", linewidth=1, label="entry threshold")
    ax.axhline(exit_line * 100, color="tab:orange", linestyle="--", linewidth=1, label="exit threshold")
    ax.axhline(0, color="grey", linewidth=0.6)
    index = {t: i for i, t in enumerate(times)}
    marks: list[tuple[str, Callable[[PositionRecord], datetime | None], str, str]] = [
        ("entries", _opened, "^", "tab:green"),
        ("exits", _closed, "v", "tab:red"),
    ]
    for label, when_of, marker, colour in marks:
        xs: list[float] = []
        ys: list[float] = []
        for p in positions:
            when = when_of(p)
            i = index.get(when) if when is not None else None
            if when is not None and i is not None and not math.isnan(signal[i]):
                xs.append(_x(when))
                ys.append(signal[i] * 100)
        ax.scatter(xs, ys, marker=marker, color=colour, s=24, zorder=3, label=label)
    ax.set_title(
        f"{symbol}: long {long_venue} / short {short_venue}, spread and signal vs thresholds ({len(positions)} trades)"
    )
    ax.set_ylabel("APR, %")
    ax.grid(alpha=0.3)
    finite = [x for x in instant + signal if not math.isnan(x)]
    if finite:
        lo, hi = min(finite), max(finite)
        pad = (hi - lo) * 0.05 or 0.01
        ax.set_ylim(
            max(lo, -4 * abs(entry_line) - 0.5) * 100 - pad * 100,
            min(hi, 6 * abs(entry_line) + 0.5) * 100 + pad * 100,
        )
    if times:
        ax.set_xlim(_x(times[0]), _x(times[-1] + timedelta(hours=1)))
    ax.legend(loc="best", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
