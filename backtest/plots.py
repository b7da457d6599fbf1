"""PNG charts of a backtest (matplotlib, Agg backend: no display needed).

* `equity_curve.png`: marked-to-market equity (budget + realised + accrued cash, USD) at every decision time.
* `spread_<SYMBOL>_<long>_<short>.png`: for the most traded pair, the known spread (short rate - long rate,
  as an APR, from the same latest-settlement rule as the engine) against the entry and exit thresholds
  expressed on the same scale, with the entries and exits marked:
      entry: net APR >= min_net_apr       <=>  spread APR >= min_net_apr + C x 8760 / H
      exit:  APR net of exit cost < exit  <=>  spread APR <  exit_net_apr + (C / 2) x 8760 / H
  with C the pair's round-trip cost and H `entry.horizon_hours` (decision.exit_decision; DESIGN.md maths).
"""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from backtest.engine import BacktestResult, known_rates
from backtest.report import BacktestReport

HOURS_PER_YEAR = Decimal(8760)


def write_plots(result: BacktestResult, report: BacktestReport, out_dir: Path) -> list[Path]:
    """Write the charts into `out_dir` (created if needed) and return their paths: the equity curve, then the
    spread chart of the most traded pair (when any position was opened).

    Raises:
        OSError: the directory cannot be created or written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [_equity(result, report, out_dir / "equity_curve.png")]
    pair = report.most_traded_pair
    if pair is not None:
        symbol, long_venue, short_venue = pair
        paths.append(_spread(result, pair, out_dir / f"spread_{symbol}_{long_venue}_{short_venue}.png"))
    return paths


def _equity(result: BacktestResult, report: BacktestReport, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(11, 4.5))
    xs = [t for t, _ in result.equity]
    ys = [float(v) for _, v in result.equity]
    ax.plot(xs, ys, linewidth=1.2, color="tab:blue", label="equity (budget + realised + accrued)")
    ax.axhline(float(report.total_budget_usd), color="grey", linewidth=0.8, linestyle="--", label="budget")
    if report.max_drawdown_peak_at is not None and report.max_drawdown_trough_at is not None:
        ax.axvspan(
            report.max_drawdown_peak_at,
            report.max_drawdown_trough_at,
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


def _spread(result: BacktestResult, pair: tuple[str, str, str], path: Path) -> Path:
    symbol, long_venue, short_venue = pair
    times = [t for t, _ in result.equity]
    long_m = result.markets[(long_venue, symbol)]
    short_m = result.markets[(short_venue, symbol)]
    age = result.max_data_age_seconds
    longs = known_rates(long_m, times, age)
    shorts = known_rates(short_m, times, age)
    spread_apr = [
        math.nan if a is None or b is None else float((b - a) * HOURS_PER_YEAR)
        for a, b in zip(longs, shorts, strict=True)
    ]
    positions = [
        p
        for p in result.positions
        if (p.symbol, p.long_venue, p.short_venue) == (symbol, long_venue, short_venue)
    ]
    config = result.config
    horizon = config.entry.horizon_hours
    cost = positions[0].round_trip_cost if positions else Decimal(0)
    entry_line = float(config.entry.min_net_apr + cost * HOURS_PER_YEAR / horizon)
    exit_line = float(config.exit.exit_net_apr + cost / 2 * HOURS_PER_YEAR / horizon)

    fig, ax = plt.subplots(figsize=(11, 4.5))
    ax.plot(
        times,
        [x * 100 for x in spread_apr],
        linewidth=0.7,
        color="tab:blue",
        label="spread APR (known rates)",
    )
    ax.axhline(entry_line * 100, color="tab:green", linestyle="--", linewidth=1, label="entry threshold")
    ax.axhline(exit_line * 100, color="tab:orange", linestyle="--", linewidth=1, label="exit threshold")
    ax.axhline(0, color="grey", linewidth=0.6)
    index = {t: i for i, t in enumerate(times)}
    for label, when_of, marker, colour in (
        ("entries", lambda p: p.opened_at, "^", "tab:green"),
        ("exits", lambda p: p.closed_at, "v", "tab:red"),
    ):
        xs, ys = [], []
        for p in positions:
            when = when_of(p)
            i = index.get(when) if when is not None else None
            if i is not None and not math.isnan(spread_apr[i]):
                xs.append(when)
                ys.append(spread_apr[i] * 100)
        ax.scatter(xs, ys, marker=marker, color=colour, s=24, zorder=3, label=label)
    ax.set_title(
        f"{symbol}: long {long_venue} / short {short_venue}, spread vs thresholds ({len(positions)} trades)"
    )
    ax.set_ylabel("APR, %")
    ax.grid(alpha=0.3)
    finite = [x for x in spread_apr if not math.isnan(x)]
    if finite:
        lo, hi = min(finite), max(finite)
        pad = (hi - lo) * 0.05 or 0.01
        ax.set_ylim(
            max(lo, -4 * abs(entry_line) - 0.5) * 100 - pad * 100,
            min(hi, 6 * abs(entry_line) + 0.5) * 100 + pad * 100,
        )
    if times:
        ax.set_xlim(times[0], times[-1] + timedelta(hours=1))
    ax.legend(loc="best", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
