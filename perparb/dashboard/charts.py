"""The dashboard's charts: SVG documents drawn on the server with matplotlib.

Why matplotlib, server-side SVG, rather than a JavaScript chart library:
* it is already a dependency (the backtest's PNG charts), well kept, and draws dates, legends and axes
  correctly; a vendored JS library would be a second charting stack to review, pin and update, and the bundle would
  have to ship in the package anyway (nothing may come from a CDN);
* the pages stay script-free except for two small files (table sorting, control actions), so a strict
  Content-Security-Policy holds (`script-src 'self'`), and a chart is an ordinary `<img src=...svg>`: it prints,
  saves and opens in a tab like any image;
* SVG keeps text as text (`svg.fonttype: none`): small documents whose labels a test can read.
The cost: ~50-150 ms of CPU per chart. Rendering runs in a worker thread (`asyncio.to_thread`) under one lock
(matplotlib's global state is not thread-safe), with the object API (`Figure`), never pyplot.

Units: rates are drawn as APR in percent (`rate_hourly` x 8760 x 100: a human chart); money in USD; times in UTC.

Functions return the SVG document as bytes; each raises `ValueError` when given no points (callers check first).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
from matplotlib.figure import Figure

HOURS_PER_YEAR = 8760
_LOCK = threading.Lock()
_RC = {
    "svg.fonttype": "none",  # text stays text: small files, readable labels
    "svg.hashsalt": "perparb",  # stable element ids: the same data gives the same document
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
WIDTH_IN, HEIGHT_IN = 10.0, 3.4


def _apr_pct(rate_hourly: Decimal | float) -> float:
    return float(rate_hourly) * HOURS_PER_YEAR * 100


def _figure() -> tuple[Figure, Axes]:
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), layout="constrained")
    FigureCanvasSVG(fig)
    ax = fig.add_subplot()
    return fig, ax


def _dates(times: Sequence[object]) -> Any:
    """Aware datetimes as matplotlib date numbers (days since 1970-01-01 UTC)."""
    return date2num(list(times))


def _time_axis(ax: Axes) -> None:
    locator = AutoDateLocator(minticks=4, maxticks=10, tz=timezone.utc)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator, tz=timezone.utc))
    ax.set_xlabel("UTC")
    ax.grid(alpha=0.3)


def _svg(fig: Figure, title: str) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata={"Title": title, "Date": None})
    return buf.getvalue()


def rates_chart(symbol: str, series: Mapping[str, Sequence[tuple[datetime, Decimal]]]) -> bytes:
    """One line per venue: the hourly funding rate of `symbol` as APR % (+ = longs pay shorts).

    `series`: {venue: [(hour, rate_hourly fraction per hour), ...]} oldest first.

    Raises:
        ValueError: no venue has a point.
    """
    if not any(series.values()):
        raise ValueError(f"no funding-rate points for {symbol}")
    title = f"{symbol}: funding rate per venue (APR %, hourly; + = longs pay shorts)"
    with _LOCK, matplotlib.rc_context(_RC):
        fig, ax = _figure()
        for i, (venue, points) in enumerate(sorted(series.items())):
            if not points:
                continue
            ax.plot(
                _dates([t for t, _ in points]),
                [_apr_pct(r) for _, r in points],
                linewidth=1.1,
                color=COLOURS[i % len(COLOURS)],
                label=venue,
            )
        ax.axhline(0, color="grey", linewidth=0.6)
        ax.set_ylabel("APR %")
        ax.set_title(title)
        ax.legend(loc="upper left", fontsize=8, ncols=min(4, len(series)))
        _time_axis(ax)
        return _svg(fig, title)


def spread_chart(
    symbol: str, long_venue: str, short_venue: str, points: Sequence[tuple[datetime, Decimal]]
) -> bytes:
    """The spread a position long `long_venue` / short `short_venue` earns, hour by hour, as APR %:
    `spread_hourly = rate_hourly(short) - rate_hourly(long)` (DESIGN.md, opportunity maths), over hours where
    both venues have a rate; the mean over the window dashed.

    Raises:
        ValueError: no point.
    """
    if not points:
        raise ValueError(f"no aligned hours for {symbol} {long_venue}/{short_venue}")
    title = f"{symbol}: spread long {long_venue} / short {short_venue} (APR %, hourly)"
    xs = _dates([t for t, _ in points])
    ys = [_apr_pct(s) for _, s in points]
    mean = sum(ys) / len(ys)
    with _LOCK, matplotlib.rc_context(_RC):
        fig, ax = _figure()
        ax.plot(xs, ys, linewidth=1.1, color=COLOURS[0], label="spread")
        ax.fill_between(xs, ys, 0, where=[y >= 0 for y in ys], color="#2ca02c", alpha=0.15, interpolate=True)
        ax.fill_between(xs, ys, 0, where=[y < 0 for y in ys], color="#d62728", alpha=0.15, interpolate=True)
        ax.axhline(0, color="grey", linewidth=0.6)
        ax.axhline(mean, color=COLOURS[1], linewidth=0.9, linestyle="--", label=f"mean {mean:.2f} %")
        ax.set_ylabel("APR %")
        ax.set_title(title)
        ax.legend(loc="upper left", fontsize=8)
        _time_axis(ax)
        return _svg(fig, title)


EQUITY_SERIES = (
    ("equity_usd", "equity (funding + realised + unrealised)", 1.6),
    ("funding_usd", "funding", 1.0),
    ("realised_usd", "realised", 1.0),
    ("unrealised_usd", "unrealised", 1.0),
)


def equity_chart(run_id: int, rows: Sequence[Mapping[str, object]]) -> bytes:
    """A run's equity curve and its parts, USD, from `run_equity` rows (`at` and the `EQUITY_SERIES` columns,
    Decimal), oldest first.

    Raises:
        ValueError: no row.
    """
    if not rows:
        raise ValueError(f"run {run_id} has no equity rows")
    title = f"run {run_id}: equity and its parts (USD)"
    xs = _dates([r["at"] for r in rows])
    with _LOCK, matplotlib.rc_context(_RC):
        fig, ax = _figure()
        for i, (column, label, width) in enumerate(EQUITY_SERIES):
            ax.plot(
                xs,
                [float(r[column]) for r in rows],  # type: ignore[arg-type]
                linewidth=width,
                color=COLOURS[i],
                label=label,
            )
        ax.axhline(0, color="grey", linewidth=0.6)
        ax.set_ylabel("USD")
        ax.set_title(title)
        ax.legend(loc="upper left", fontsize=8, ncols=4)
        _time_axis(ax)
        return _svg(fig, title)


__all__ = ["EQUITY_SERIES", "equity_chart", "rates_chart", "spread_chart"]
