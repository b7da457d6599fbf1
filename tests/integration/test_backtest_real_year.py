"""The backtester on the real year of settled funding history in ../shared/funding-history (Binance, Bybit,
Hyperliquid; see its SOURCES.md): the run completes, the loader's mean APRs match an independent pyarrow
recomputation, every funding payment matches the raw file, and the CLI prints the JSON report and writes the
charts. Skips with a reason when ../shared is absent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml

from backtest.engine import BacktestResult, run_backtest
from backtest.loader import FundingHistory, load_history, mean_apr_by_symbol
from backtest.report import build_report
from strategies.config import load_config
from tests.shared_data import shared_path

PROJECT = Path(__file__).resolve().parents[2]
VENUES = ["binance", "bybit", "hyperliquid"]


@pytest.fixture(scope="module")
def history_dir() -> Path:
    return shared_path("funding-history")


@pytest.fixture(scope="module")
def history(history_dir: Path) -> FundingHistory:
    return load_history(history_dir)


@pytest.fixture(scope="module")
def adapted_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """configs/funding_arbitrage.example.yaml with venues [binance, bybit, hyperliquid] and no symbol list."""
    data = yaml.safe_load((PROJECT / "configs" / "funding_arbitrage.example.yaml").read_text())
    data["venues"] = VENUES
    del data["symbols"]
    path = tmp_path_factory.mktemp("cfg") / "backtest.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def year(history: FundingHistory, adapted_config: Path) -> BacktestResult:
    return run_backtest(load_config(adapted_config), history)


def test_history_loads_every_row_but_the_bad_one(history: FundingHistory) -> None:
    summary = history.summary()
    assert summary["rows_read"] == 46_726 + 53_611 + 157_909
    assert summary["rows_accepted"] == summary["rows_read"] - 1
    assert summary["rejection_reasons"] == {"interval_hours: missing": 1}  # Bybit INJUSDT 2026-02-27 00:00
    assert summary["markets_per_venue"] == {"binance": 36, "bybit": 51, "hyperliquid": 18}
    inj = history.markets[("bybit", "INJUSDT")]
    assert sorted(set(inj.interval_hours)) == [Decimal(1), Decimal(8)]  # 8 h -> 1 h -> 8 h in Feb 2026


def test_real_year_completes(year: BacktestResult, history: FundingHistory) -> None:
    assert year.start == datetime(2025, 8, 21, 6, tzinfo=timezone.utc)
    assert year.end == datetime(2026, 8, 22, 5, tzinfo=timezone.utc)
    assert year.decision_hours == 8784 == len(year.equity)
    assets = {sym for _, sym in year.markets}
    assert len(assets) == 21 and {"BTC", "ETH", "SOL", "INJ", "TON"} <= assets
    assert year.positions, "the year should trade"
    assert all(p.closed_at is not None for p in year.positions)
    report = build_report(year)
    assert report.entries == report.exits == len(year.positions)
    assert sum(report.exits_by_reason.values()) == report.entries
    # the report's net PnL is the sum of the positions' and the equity curve's last step
    assert report.net_pnl_usd == sum((p.net_pnl_usd for p in year.positions), Decimal(0))
    assert year.equity[-1][1] == report.total_budget_usd + report.net_pnl_usd
    assert report.total_budget_usd == Decimal(45000)  # 3 venues x max_exposure_per_venue_usd
    assert report.basis_pnl_usd is None
    assert "basis PnL not modelled: no price series" in report.notes
    assert any("min_volume_24h_usd" in n for n in report.notes)
    assert report.max_drawdown_usd >= 0 and 0 <= report.time_in_market <= 1


def test_mean_apr_matches_independent_pyarrow_recomputation(
    history: FundingHistory, history_dir: Path
) -> None:
    """sum(rate_raw) x 8760 / sum(interval_hours) per (venue, canonical_symbol), straight from the files with
    pyarrow (rows with a null rate or interval left out, as the loader rejects them)."""
    ours = mean_apr_by_symbol(history)
    independent: dict[tuple[str, str], float] = {}
    for venue in VENUES:
        table = pq.read_table(
            history_dir / f"{venue}.parquet", columns=["canonical_symbol", "rate_raw", "interval_hours"]
        )
        table = table.filter(pc.and_(pc.is_valid(table["rate_raw"]), pc.is_valid(table["interval_hours"])))
        grouped = table.group_by("canonical_symbol").aggregate(
            [("rate_raw", "sum"), ("interval_hours", "sum")]
        )
        for sym, rate_sum, hours in zip(
            grouped["canonical_symbol"].to_pylist(),
            grouped["rate_raw_sum"].to_pylist(),
            grouped["interval_hours_sum"].to_pylist(),
            strict=True,
        ):
            independent[(venue, sym)] = rate_sum * 8760 / hours
    assert set(ours) == set(independent)
    assert len(ours) == 36 + 51 + 18
    worst = max(abs(float(ours[k]) - independent[k]) for k in ours)
    assert worst < 1e-9, worst


def test_every_payment_matches_the_raw_file(year: BacktestResult, history_dir: Path) -> None:
    """Independently: each leg's cash = -/+ 5000 x rate_raw of every settlement of its market whose hour (the
    stamp less 60 s, rounded up to the hour: 08:00:00.024 and 08:00:00.000 are both 08:00) is in (opened, closed]
    (the one row without an interval, Bybit INJUSDT 2026-02-27 00:00, is rejected by the loader: not paid)."""
    raw: dict[tuple[str, str], list[tuple[datetime, float]]] = defaultdict(list)
    for venue in VENUES:
        table = pq.read_table(
            history_dir / f"{venue}.parquet",
            columns=["venue_symbol", "settlement_ts", "rate_raw", "interval_hours"],
        )
        for vs, ts, rate, hours in zip(*(table[c].to_pylist() for c in table.column_names), strict=True):
            if hours is not None:
                raw[(venue, vs)].append((ts, rate))
    checked = 0
    for p in year.positions:
        for venue, vs, sign in (
            (p.long_venue, p.long_venue_symbol, -1),
            (p.short_venue, p.short_venue_symbol, 1),
        ):
            assert p.closed_at is not None
            expected = [
                (ts, sign * 5000 * rate)
                for ts, rate in raw[(venue, vs)]
                if p.opened_at < _settlement_hour(ts) <= p.closed_at
            ]
            got = [(x.ts, float(x.amount_usd)) for x in p.payments if x.venue == venue]
            assert [t for t, _ in got] == sorted(t for t, _ in expected)
            assert all(abs(a - b) < 1e-9 for (_, a), (_, b) in zip(got, sorted(expected), strict=True))
            checked += len(got)
    assert checked > 1000


def test_no_entry_is_chosen_on_a_stale_leg(year: BacktestResult, history_dir: Path) -> None:
    """Every entry of the year is decided on hours both legs know: the signal's last hour is the older leg's last
    settled hour (recomputed from the raw files: a settlement pays for the hours before its stamp's hour), so a
    1-hourly leg is never compared with an 8-hourly leg's stale last payment; and no leg had gone without a fresh
    non-zero rate for longer than `exit.max_stale_hours` (24 h)."""
    settled: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for venue in VENUES:
        table = pq.read_table(
            history_dir / f"{venue}.parquet", columns=["venue_symbol", "settlement_ts", "interval_hours"]
        )
        for vs, ts, hours in zip(*(table[c].to_pylist() for c in table.column_names), strict=True):
            if hours is not None:
                settled[(venue, vs)].append(_settlement_hour(ts))
    assert year.positions
    with_interval_leg = 0
    for p in year.positions:
        sig = p.entry_signal
        assert sig is not None and sig.spread_hourly is not None
        known = [
            max(e for e in settled[(venue, vs)] if e <= p.opened_at) - timedelta(hours=1)
            for venue, vs in ((p.long_venue, p.long_venue_symbol), (p.short_venue, p.short_venue_symbol))
        ]
        assert sig.end_hour == min(known), p.to_json_dict()
        assert sig.stale_hours <= 24, p.to_json_dict()
        with_interval_leg += "hyperliquid" not in (p.long_venue, p.short_venue) or known[0] != known[1]
    assert with_interval_leg > 0  # entries with an 8-hourly leg exist and were checked


def _settlement_hour(ts: datetime) -> datetime:
    shifted = ts - timedelta(seconds=60)
    floor = shifted.replace(minute=0, second=0, microsecond=0)
    return floor if floor == shifted else floor + timedelta(hours=1)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "COLUMNS": "160"}
    return subprocess.run(
        [sys.executable, "-m", "perparb", "backtest", *args],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_cli_json_and_plots(history_dir: Path, tmp_path: Path) -> None:
    plots = tmp_path / "plots"
    proc = _cli(
        str(PROJECT / "configs" / "backtest.example.yaml"),
        "--history",
        str(history_dir),
        "--from",
        "2026-01-01",
        "--to",
        "2026-03-01",
        "--json",
        "--plot",
        str(plots),
    )
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)  # stdout holds the JSON and nothing else
    assert data["config"] == "cex-hl-backtest"
    assert (data["start"], data["end"]) == ("2026-01-01T00:00:00+00:00", "2026-03-01T00:00:00+00:00")
    assert data["decision_hours"] == 59 * 24 + 1
    assert data["venues"] == VENUES
    assert data["entries"] == len(data["positions"]) > 0
    assert data["basis_modelled"] is False
    for key in (
        "net_apr_on_budget",
        "net_apr_on_occupied_capital",
        "max_drawdown_usd",
        "funding_received_usd",
    ):
        assert isinstance(data[key], float), key
    assert len(data["plots"]) == 3  # equity curve, signal vs realised, spread of the most traded pair
    for path in data["plots"]:
        assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in plots.iterdir()) == sorted(Path(p).name for p in data["plots"])
    assert {"equity_curve.png", "signal_vs_realised.png"} <= {Path(p).name for p in data["plots"]}
    diag = data["diagnostics"]
    assert diag["daily_pnl"]["basis"] == "funding_only"
    assert [x["slippage_bps"] for x in diag["slippage_sensitivity"]] == [2.0, 5.0, 10.0]
    assert diag["signal_vs_realised"]["positions"] == len(diag["signal_vs_realised"]["points"]) > 0


def test_cli_table_and_errors(history_dir: Path, tmp_path: Path) -> None:
    proc = _cli(
        str(PROJECT / "configs" / "backtest.example.yaml"),
        "--history",
        str(history_dir),
        "--from",
        "2026-05-01",
        "--to",
        "2026-05-08",
        "--venues",
        "bybit,hyperliquid",
        "--budget-usd-per-venue",
        "20000",
    )
    assert proc.returncode == 0, proc.stderr
    assert "backtest cex-hl-backtest: 2026-05-01 00:00 -> 2026-05-08 00:00 UTC" in proc.stdout
    assert "net APR on whole budget" in proc.stdout and "bybit $20,000.00" in proc.stdout

    bad = _cli(str(PROJECT / "configs" / "backtest.example.yaml"), "--history", str(tmp_path / "none"))
    assert bad.returncode == 2
    assert "no such file or directory" in bad.stderr
    bad_date = _cli(
        str(PROJECT / "configs" / "backtest.example.yaml"), "--history", str(history_dir), "--from", "May 1"
    )
    assert bad_date.returncode == 2 and "--from: 'May 1' is not a date" in bad_date.stderr
    bad_venue = _cli(
        str(PROJECT / "configs" / "backtest.example.yaml"),
        "--history",
        str(history_dir),
        "--venues",
        "bybit,kraken",
    )
    assert bad_venue.returncode == 2 and "unknown venue(s) ['kraken']" in bad_venue.stderr
