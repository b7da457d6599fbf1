"""Backtest figures, as a Rich table and as JSON.

Definitions (USD amounts are Decimal in the report object, floats in JSON; APRs and fractions are fractions in
JSON, percent only in the table):

* net PnL = funding received - funding paid - fees - slippage + basis PnL (when modelled).
* net APR on the whole budget = net PnL / total budget x 8760 / run hours (run hours = end - start).
* net APR on occupied capital (time-weighted) = net PnL / capital-hours x 8760, where capital-hours =
  sum over positions of the margin of both legs (2 x notional / leverage) x hours held.
* time in market = decision hours after which a position was open / decision hours.
* maximum drawdown of the marked-to-market equity (budget + realised + accrued cash, sampled at every
  decision time, starting from the budget): the largest fall from a running peak, in USD and as a fraction
  of that peak.
* best / worst position: highest / lowest net PnL.

Diagnostics:

* per pair (symbol, long venue, short venue): trips, hours held, net funding, costs, net PnL, the mean realised
  spread while held (net funding / notional / hours x 8760, APR) and the mean entry signal (APR);
* entry signal vs realised spread per position (`PositionRecord.entry_signal_apr`, `.realised_spread_apr`) and
  their Pearson correlation over the positions held at least one hour;
* turnover: traded notional (two fills of `notional` per entry and per exit) per year, as a multiple of the
  whole budget; round trips per 30 days;
* Sharpe and Sortino ratios of the daily PnL (equity change over each 24 decision hours from the start, as a
  fraction of the budget), annualised x sqrt(365); Sortino's downside deviation is sqrt(mean(min(0, r)^2)).
  Labelled `funding_only` when basis PnL is not modelled (no price mark-to-market: the legs' price moves,
  which a delta-neutral book mostly offsets but not exactly, are absent), else `with_basis`;
* slippage sensitivity: net PnL and net APR on budget of the SAME trades with slippage re-priced at 2, 5 and
  10 bps per fill (fees and funding unchanged; a run at another `costs.slippage_bps` may also trade
  differently, since the ranking includes the cost);
* lumps: exits that gave up a positive accrual of an interval (4 h / 8 h) leg's next settlement, and the USD
  given up; entries' unearned share of their next settlements (backtest.engine "Lumps");
* legs at entry: the largest hours since a leg's last fresh non-zero rate among all entries.
"""

from __future__ import annotations

import io
import itertools
import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from backtest.engine import BacktestResult, PositionRecord

HOURS_PER_YEAR = Decimal(8760)
SENSITIVITY_BPS = (Decimal(2), Decimal(5), Decimal(10))
"""Slippage per fill (bps) at which the same trades are re-priced."""
_ZERO = Decimal(0)
_BPS = Decimal(10_000)


@dataclass(frozen=True, slots=True)
class PairFigures:
    """One traded direction over the run: USD amounts Decimal, APRs fractions (None without hours held)."""

    symbol: str
    long_venue: str
    short_venue: str
    trips: int
    hours_held: Decimal
    net_funding_usd: Decimal
    costs_usd: Decimal
    net_pnl_usd: Decimal
    realised_spread_apr: float | None
    mean_entry_signal_apr: float | None

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "long_venue": self.long_venue,
            "short_venue": self.short_venue,
            "trips": self.trips,
            "hours_held": float(self.hours_held),
            "net_funding_usd": float(self.net_funding_usd),
            "costs_usd": float(self.costs_usd),
            "net_pnl_usd": float(self.net_pnl_usd),
            "realised_spread_apr": self.realised_spread_apr,
            "mean_entry_signal_apr": self.mean_entry_signal_apr,
        }


@dataclass(frozen=True, slots=True)
class Diagnostics:
    """The diagnostics of the module docstring. Ratios are floats; USD Decimal."""

    pairs: list[PairFigures]
    signal_vs_realised: list[tuple[float, float]]
    signal_realised_correlation: float | None
    traded_notional_usd: Decimal
    turnover_per_year: float | None
    round_trips_per_30_days: float | None
    daily_pnl: list[float]
    sharpe: float | None
    sortino: float | None
    pnl_basis: str
    slippage_sensitivity: list[tuple[Decimal, Decimal, Decimal | None]]
    exits_forgoing_lumps: int
    exit_forgone_usd: Decimal
    entry_unearned_usd: Decimal
    max_entry_stale_hours: float | None

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "pairs": [p.to_json_dict() for p in self.pairs],
            "signal_vs_realised": {
                "correlation": self.signal_realised_correlation,
                "positions": len(self.signal_vs_realised),
                "points": [list(x) for x in self.signal_vs_realised],
            },
            "turnover": {
                "traded_notional_usd": float(self.traded_notional_usd),
                "per_year_of_budget": self.turnover_per_year,
                "round_trips_per_30_days": self.round_trips_per_30_days,
            },
            "daily_pnl": {
                "basis": self.pnl_basis,
                "days": len(self.daily_pnl),
                "sharpe": self.sharpe,
                "sortino": self.sortino,
            },
            "slippage_sensitivity": [
                {
                    "slippage_bps": float(bps),
                    "net_pnl_usd": float(net),
                    "net_apr_on_budget": None if apr is None else float(apr),
                }
                for bps, net, apr in self.slippage_sensitivity
            ],
            "lumps": {
                "exits_forgoing_a_receipt": self.exits_forgoing_lumps,
                "exit_forgone_usd": float(self.exit_forgone_usd),
                "entry_unearned_usd": float(self.entry_unearned_usd),
            },
            "max_entry_stale_hours": self.max_entry_stale_hours,
        }


@dataclass(slots=True)
class BacktestReport:
    """The figures of one run (see the module docstring for each definition)."""

    config_name: str
    start: datetime
    end: datetime
    run_hours: int
    decision_hours: int
    venues: list[str]
    assets: list[str]
    markets: dict[str, str]
    budget_by_venue: dict[str, Decimal]
    total_budget_usd: Decimal
    funding_received_usd: Decimal
    funding_paid_usd: Decimal
    fees_usd: Decimal
    slippage_usd: Decimal
    basis_pnl_usd: Decimal | None
    net_pnl_usd: Decimal
    final_equity_usd: Decimal
    net_apr_on_budget: Decimal | None
    net_apr_on_occupied_capital: Decimal | None
    capital_usd_hours: Decimal
    entries: int
    exits: int
    exits_by_reason: dict[str, int]
    entries_blocked_by_budget: int
    avg_holding_hours: Decimal | None
    max_holding_hours: Decimal | None
    time_in_market: Decimal
    max_drawdown_usd: Decimal
    max_drawdown_fraction: Decimal
    max_drawdown_peak_at: datetime | None
    max_drawdown_trough_at: datetime | None
    best_position: PositionRecord | None
    worst_position: PositionRecord | None
    most_traded_pair: tuple[str, str, str] | None
    median_holding_hours: Decimal | None = None
    diagnostics: Diagnostics | None = None
    equity: list[tuple[datetime, Decimal]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    history: dict[str, Any] = field(default_factory=dict)
    positions: list[PositionRecord] = field(default_factory=list)

    @property
    def net_funding_usd(self) -> Decimal:
        return self.funding_received_usd - self.funding_paid_usd

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-safe dict: USD as floats, APRs and fractions as float fractions, times ISO-8601 UTC."""

        def f(x: Decimal | None) -> float | None:
            return None if x is None else float(x)

        return {
            "config": self.config_name,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "run_hours": self.run_hours,
            "decision_hours": self.decision_hours,
            "venues": self.venues,
            "assets": self.assets,
            "markets": self.markets,
            "budget_by_venue_usd": {k: float(v) for k, v in self.budget_by_venue.items()},
            "total_budget_usd": float(self.total_budget_usd),
            "funding_received_usd": float(self.funding_received_usd),
            "funding_paid_usd": float(self.funding_paid_usd),
            "net_funding_usd": float(self.net_funding_usd),
            "fees_usd": float(self.fees_usd),
            "slippage_usd": float(self.slippage_usd),
            "basis_pnl_usd": f(self.basis_pnl_usd),
            "basis_modelled": self.basis_pnl_usd is not None,
            "net_pnl_usd": float(self.net_pnl_usd),
            "final_equity_usd": float(self.final_equity_usd),
            "net_apr_on_budget": f(self.net_apr_on_budget),
            "net_apr_on_occupied_capital": f(self.net_apr_on_occupied_capital),
            "capital_usd_hours": float(self.capital_usd_hours),
            "entries": self.entries,
            "exits": self.exits,
            "exits_by_reason": self.exits_by_reason,
            "entries_blocked_by_budget": self.entries_blocked_by_budget,
            "avg_holding_hours": f(self.avg_holding_hours),
            "median_holding_hours": f(self.median_holding_hours),
            "max_holding_hours": f(self.max_holding_hours),
            "time_in_market": float(self.time_in_market),
            "max_drawdown_usd": float(self.max_drawdown_usd),
            "max_drawdown_fraction": float(self.max_drawdown_fraction),
            "max_drawdown_peak_at": None
            if self.max_drawdown_peak_at is None
            else self.max_drawdown_peak_at.isoformat(),
            "max_drawdown_trough_at": (
                None if self.max_drawdown_trough_at is None else self.max_drawdown_trough_at.isoformat()
            ),
            "best_position": None if self.best_position is None else self.best_position.to_json_dict(),
            "worst_position": None if self.worst_position is None else self.worst_position.to_json_dict(),
            "most_traded_pair": None if self.most_traded_pair is None else list(self.most_traded_pair),
            "diagnostics": None if self.diagnostics is None else self.diagnostics.to_json_dict(),
            "equity_daily": [[t.isoformat(), float(v)] for t, v in self.equity[::24]],
            "notes": self.notes,
            "history": self.history,
            "positions": [p.to_json_dict() for p in self.positions],
        }


def max_drawdown(
    equity: list[tuple[datetime, Decimal]], initial: Decimal | None = None
) -> tuple[Decimal, Decimal, datetime | None, datetime | None]:
    """(max fall from a running peak in USD, that fall / the peak, peak time, trough time); zeros and None
    for a series that never falls. `initial`: the equity before the first point (the budget), a peak at the
    first point's time."""
    best: tuple[Decimal, Decimal, datetime | None, datetime | None] = (_ZERO, _ZERO, None, None)
    peak: Decimal | None = initial
    peak_at: datetime | None = equity[0][0] if equity and initial is not None else None
    for when, value in equity:
        if peak is None or value > peak:
            peak, peak_at = value, when
            continue
        fall = peak - value
        if fall > best[0]:
            best = (fall, fall / peak if peak > 0 else _ZERO, peak_at, when)
    return best


def most_traded_pair(result: BacktestResult) -> tuple[str, str, str] | None:
    """(symbol, long venue, short venue) entered most often; ties: earliest first entry."""
    counts: Counter[tuple[str, str, str]] = Counter()
    first: dict[tuple[str, str, str], int] = {}
    for i, p in enumerate(result.positions):
        key = (p.symbol, p.long_venue, p.short_venue)
        counts[key] += 1
        first.setdefault(key, i)
    if not counts:
        return None
    return min(counts, key=lambda k: (-counts[k], first[k]))


def _correlation(points: list[tuple[float, float]]) -> float | None:
    """Pearson correlation; None with fewer than 3 points or a constant coordinate."""
    if len(points) < 3:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxy = math.fsum((x - mx) * (y - my) for x, y in points)
    sxx = math.fsum((x - mx) ** 2 for x in xs)
    syy = math.fsum((y - my) ** 2 for y in ys)
    if sxx <= 0 or syy <= 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def _pairs(positions: list[PositionRecord]) -> list[PairFigures]:
    groups: dict[tuple[str, str, str], list[PositionRecord]] = {}
    for p in positions:
        groups.setdefault((p.symbol, p.long_venue, p.short_venue), []).append(p)
    out: list[PairFigures] = []
    for (symbol, long_venue, short_venue), ps in groups.items():
        hours = sum((p.holding_hours for p in ps), _ZERO)
        funding = sum((p.net_funding_usd for p in ps), _ZERO)
        costs = sum((p.fees_usd + p.slippage_usd for p in ps), _ZERO)
        notional_hours = sum((p.notional_usd * p.holding_hours for p in ps), _ZERO)
        signals = [p.entry_signal_apr for p in ps if p.entry_signal_apr is not None]
        out.append(
            PairFigures(
                symbol=symbol,
                long_venue=long_venue,
                short_venue=short_venue,
                trips=len(ps),
                hours_held=hours,
                net_funding_usd=funding,
                costs_usd=costs,
                net_pnl_usd=sum((p.net_pnl_usd for p in ps), _ZERO),
                realised_spread_apr=float(funding / notional_hours * HOURS_PER_YEAR)
                if notional_hours > 0
                else None,
                mean_entry_signal_apr=statistics.fmean(signals) if signals else None,
            )
        )
    return sorted(out, key=lambda p: (-p.net_pnl_usd, p.symbol, p.long_venue, p.short_venue))


def diagnostics(result: BacktestResult, run_hours: int, total_budget: Decimal) -> Diagnostics:
    """The diagnostics of a finished run (module docstring)."""
    positions = result.positions
    points = [
        (p.entry_signal_apr, p.realised_spread_apr)
        for p in positions
        if p.entry_signal_apr is not None and p.realised_spread_apr is not None and p.holding_hours >= 1
    ]
    clean: list[tuple[float, float]] = [(a, b) for a, b in points if a is not None and b is not None]
    traded = sum((2 * p.notional_usd * (2 if p.closed_at is not None else 1) for p in positions), _ZERO)
    turnover = (
        float(traded / total_budget * HOURS_PER_YEAR / run_hours)
        if run_hours > 0 and total_budget > 0
        else None
    )
    trips_30d = (
        len([p for p in positions if p.closed_at is not None]) * 720 / run_hours if run_hours > 0 else None
    )
    equity = [v for _, v in result.equity]
    marks = [total_budget, *equity[23::24]]
    daily = [float((b - a) / total_budget) for a, b in itertools.pairwise(marks)] if total_budget > 0 else []
    sharpe = sortino = None
    if len(daily) >= 2:
        mean = statistics.fmean(daily)
        sd = statistics.stdev(daily)
        sharpe = mean / sd * math.sqrt(365) if sd > 0 else None
        downside = math.sqrt(math.fsum(min(0.0, r) ** 2 for r in daily) / len(daily))
        sortino = mean / downside * math.sqrt(365) if downside > 0 else None
    basis_modelled = any(p.basis_pnl_usd is not None for p in positions)
    net = sum((p.net_pnl_usd for p in positions), _ZERO)
    slip_paid = sum((p.slippage_usd for p in positions), _ZERO)
    fill_notional = sum((p.notional_usd * (4 if p.closed_at is not None else 2) for p in positions), _ZERO)
    sensitivity: list[tuple[Decimal, Decimal, Decimal | None]] = []
    for bps in SENSITIVITY_BPS:
        repriced = net + slip_paid - fill_notional * bps / _BPS
        apr = (
            repriced / total_budget * HOURS_PER_YEAR / run_hours
            if run_hours > 0 and total_budget > 0
            else None
        )
        sensitivity.append((bps, repriced, apr))
    forgoing = [p for p in positions if p.exit_reason != "end_of_data" and p.exit_forgone_usd > 0]
    stale = [p.entry_signal.stale_hours for p in positions if p.entry_signal is not None]
    return Diagnostics(
        pairs=_pairs(positions),
        signal_vs_realised=clean,
        signal_realised_correlation=_correlation(clean),
        traded_notional_usd=traded,
        turnover_per_year=turnover,
        round_trips_per_30_days=trips_30d,
        daily_pnl=daily,
        sharpe=sharpe,
        sortino=sortino,
        pnl_basis="with_basis" if basis_modelled else "funding_only",
        slippage_sensitivity=sensitivity,
        exits_forgoing_lumps=len(forgoing),
        exit_forgone_usd=sum((p.exit_forgone_usd for p in forgoing), _ZERO),
        entry_unearned_usd=sum((p.entry_unearned_usd for p in positions), _ZERO),
        max_entry_stale_hours=max(stale) if stale else None,
    )


def build_report(result: BacktestResult) -> BacktestReport:
    """The figures of a finished run (every position closed)."""
    positions = result.positions
    received = sum((p.funding_received_usd for p in positions), _ZERO)
    paid = sum((p.funding_paid_usd for p in positions), _ZERO)
    fees = sum((p.fees_usd for p in positions), _ZERO)
    slippage = sum((p.slippage_usd for p in positions), _ZERO)
    modelled = [p.basis_pnl_usd for p in positions if p.basis_pnl_usd is not None]
    basis = sum(modelled, _ZERO) if modelled else None
    net = received - paid - fees - slippage + (basis or _ZERO)
    total_budget = result.total_budget_usd
    run_hours = int((result.end - result.start).total_seconds() // 3600)
    apr_budget = (
        net / total_budget * HOURS_PER_YEAR / run_hours if run_hours > 0 and total_budget > 0 else None
    )
    capital_hours = sum((2 * p.margin_per_leg_usd * p.holding_hours for p in positions), _ZERO)
    apr_occupied = net / capital_hours * HOURS_PER_YEAR if capital_hours > 0 else None
    closed = [p for p in positions if p.closed_at is not None]
    holds = [p.holding_hours for p in closed]
    reasons = Counter(p.exit_reason or "open" for p in closed)
    dd_usd, dd_frac, dd_peak, dd_trough = max_drawdown(result.equity, total_budget)
    best = max(positions, key=lambda p: p.net_pnl_usd) if positions else None
    worst = min(positions, key=lambda p: p.net_pnl_usd) if positions else None
    final_equity = result.equity[-1][1] if result.equity else total_budget
    return BacktestReport(
        config_name=result.config.name,
        start=result.start,
        end=result.end,
        run_hours=run_hours,
        decision_hours=result.decision_hours,
        venues=sorted(result.budget_by_venue),
        assets=sorted({sym for _, sym in result.markets}),
        markets={f"{v}:{s}": m.venue_symbol for (v, s), m in sorted(result.markets.items())},
        budget_by_venue=dict(result.budget_by_venue),
        total_budget_usd=total_budget,
        funding_received_usd=received,
        funding_paid_usd=paid,
        fees_usd=fees,
        slippage_usd=slippage,
        basis_pnl_usd=basis,
        net_pnl_usd=net,
        final_equity_usd=final_equity,
        net_apr_on_budget=apr_budget,
        net_apr_on_occupied_capital=apr_occupied,
        capital_usd_hours=capital_hours,
        entries=len(positions),
        exits=len(closed),
        exits_by_reason=dict(sorted(reasons.items())),
        entries_blocked_by_budget=len(result.blocked_entries),
        avg_holding_hours=sum(holds, _ZERO) / len(holds) if holds else None,
        median_holding_hours=statistics.median(holds) if holds else None,
        diagnostics=diagnostics(result, run_hours, total_budget),
        equity=list(result.equity),
        max_holding_hours=max(holds) if holds else None,
        time_in_market=Decimal(result.hours_in_market) / result.decision_hours
        if result.decision_hours
        else _ZERO,
        max_drawdown_usd=dd_usd,
        max_drawdown_fraction=dd_frac,
        max_drawdown_peak_at=dd_peak,
        max_drawdown_trough_at=dd_trough,
        best_position=best,
        worst_position=worst,
        most_traded_pair=most_traded_pair(result),
        notes=list(result.notes),
        history=dict(result.history),
        positions=list(positions),
    )


# ----------------------------------------------------------------------------------------------- rendering


def _usd(x: Decimal | None) -> str:
    if x is None:
        return "-"
    return f"-${-float(x):,.2f}" if x < 0 else f"${float(x):,.2f}"


def _pct(x: Decimal | None, digits: int = 2) -> str:
    return "-" if x is None else f"{float(x) * 100:.{digits}f}%"


def _hours(x: Decimal | None) -> str:
    return "-" if x is None else f"{float(x):,.1f} h ({float(x) / 24:,.1f} d)"


def _position(p: PositionRecord | None) -> str:
    if p is None:
        return "-"
    return (
        f"#{p.id} {p.symbol} long {p.long_venue} / short {p.short_venue}, {p.opened_at:%Y-%m-%d %H:%M} "
        f"+{float(p.holding_hours):.0f} h, {p.exit_reason}: {_usd(p.net_pnl_usd)}"
    )


def report_table(report: BacktestReport) -> Table:
    """The report as one two-column Rich table (percent shown here only)."""
    table = Table(
        title=f"backtest {report.config_name}: {report.start:%Y-%m-%d %H:%M} -> {report.end:%Y-%m-%d %H:%M} UTC",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_header=True,
    )
    table.add_column("figure", justify="left", no_wrap=True)
    table.add_column("value", justify="right")
    budget = ", ".join(f"{v} {_usd(b)}" for v, b in report.budget_by_venue.items())
    rows: list[tuple[str, str]] = [
        ("venues / assets", f"{', '.join(report.venues)} / {len(report.assets)} assets"),
        ("run", f"{report.run_hours:,} h ({report.decision_hours:,} decision times)"),
        (
            "history rows",
            f"{report.history.get('rows_accepted', 0):,} used, {report.history.get('rejections', 0)} rejected",
        ),
        ("budget", f"{_usd(report.total_budget_usd)} ({budget})"),
        ("funding received", _usd(report.funding_received_usd)),
        ("funding paid", _usd(report.funding_paid_usd)),
        ("net funding", _usd(report.net_funding_usd)),
        ("fees", _usd(report.fees_usd)),
        ("slippage", _usd(report.slippage_usd)),
        (
            "basis PnL",
            "not modelled: no price series" if report.basis_pnl_usd is None else _usd(report.basis_pnl_usd),
        ),
        ("net PnL", _usd(report.net_pnl_usd)),
        ("final equity", _usd(report.final_equity_usd)),
        ("net APR on whole budget", _pct(report.net_apr_on_budget)),
        ("net APR on occupied capital", _pct(report.net_apr_on_occupied_capital)),
        ("entries", str(report.entries)),
        (
            "exits",
            f"{report.exits} (" + ", ".join(f"{k} {v}" for k, v in report.exits_by_reason.items()) + ")",
        ),
        ("entries blocked by budget", str(report.entries_blocked_by_budget)),
        ("average holding time", _hours(report.avg_holding_hours)),
        ("median holding time", _hours(report.median_holding_hours)),
        ("maximum holding time", _hours(report.max_holding_hours)),
        ("time in market", _pct(report.time_in_market, 1)),
        (
            "max drawdown",
            f"{_usd(report.max_drawdown_usd)} ({_pct(report.max_drawdown_fraction, 3)} of peak)",
        ),
        ("best position", _position(report.best_position)),
        ("worst position", _position(report.worst_position)),
        (
            "most traded pair",
            "-"
            if report.most_traded_pair is None
            else "{} long {} / short {}".format(*report.most_traded_pair),
        ),
    ]
    d = report.diagnostics
    if d is not None:
        label = "funding only, no price mark-to-market" if d.pnl_basis == "funding_only" else "with basis"
        rows += [
            (
                f"Sharpe / Sortino, daily ({label})",
                f"{_ratio(d.sharpe)} / {_ratio(d.sortino)} over {len(d.daily_pnl)} days",
            ),
            (
                "entry signal vs realised spread",
                f"correlation {_ratio(d.signal_realised_correlation)} over {len(d.signal_vs_realised)} positions",
            ),
            (
                "turnover",
                f"{_usd(d.traded_notional_usd)} traded, {_ratio(d.turnover_per_year)} x budget per year, "
                f"{_ratio(d.round_trips_per_30_days)} round trips per 30 days",
            ),
            (
                "interval settlements at exit",
                f"{d.exits_forgoing_lumps} exits gave up {_usd(d.exit_forgone_usd)} accrued before the next lump",
            ),
            (
                "legs at entry",
                "-"
                if d.max_entry_stale_hours is None
                else f"at most {d.max_entry_stale_hours:.0f} h since a leg's last fresh non-zero rate",
            ),
        ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def _ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def pairs_table(report: BacktestReport, limit: int = 20) -> Table | None:
    """Per-pair figures (best net PnL first), at most `limit` rows."""
    if report.diagnostics is None or not report.diagnostics.pairs:
        return None
    pairs = report.diagnostics.pairs
    table = Table(
        title=f"per pair ({len(pairs)} traded{', best ' + str(limit) if len(pairs) > limit else ''})",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for name in (
        "pair",
        "trips",
        "held",
        "entry signal",
        "realised spread",
        "net funding",
        "costs",
        "net PnL",
    ):
        table.add_column(name, justify="left" if name == "pair" else "right", no_wrap=True)
    for p in pairs[:limit]:
        table.add_row(
            f"{p.symbol} long {p.long_venue} / short {p.short_venue}",
            str(p.trips),
            f"{float(p.hours_held):,.0f} h",
            "-" if p.mean_entry_signal_apr is None else f"{p.mean_entry_signal_apr * 100:.2f}%",
            "-" if p.realised_spread_apr is None else f"{p.realised_spread_apr * 100:.2f}%",
            _usd(p.net_funding_usd),
            _usd(p.costs_usd),
            _usd(p.net_pnl_usd),
        )
    return table


def sensitivity_table(report: BacktestReport) -> Table | None:
    """The same trades with slippage re-priced per fill."""
    if report.diagnostics is None:
        return None
    table = Table(
        title="slippage sensitivity (same trades, slippage re-priced per fill)",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for name in ("slippage per fill", "net PnL", "net APR on budget"):
        table.add_column(name, justify="right")
    for bps, net, apr in report.diagnostics.slippage_sensitivity:
        table.add_row(f"{float(bps):g} bps", _usd(net), _pct(apr))
    return table


def print_report(report: BacktestReport, console: Console) -> None:
    """Print the figures, the per-pair and slippage tables, then the notes (caveats) under them."""
    console.print(report_table(report))
    for extra in (pairs_table(report), sensitivity_table(report)):
        if extra is not None:
            console.print(extra)
    for note in report.notes:
        console.print(f"note: {note}", highlight=False, soft_wrap=True)


def report_text(report: BacktestReport, width: int = 120) -> str:
    """The report as `print_report` prints it, as plain text (no colour codes) `width` columns wide: what
    `perparb backtest --save` stores and the dashboard shows."""
    console = Console(file=io.StringIO(), record=True, width=width, color_system=None, force_terminal=False)
    print_report(report, console)
    return console.export_text()
