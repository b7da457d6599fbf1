"""Backtester: hand-computed small cases with exact expected PnL, budget limits, exits, no look-ahead, loader
rules. Tiny history files are written to tmp_path (parquet and CSV in the ../shared/funding-history format).

Conventions of every case (see backtest.engine): decisions every hour on the hour, just after that hour's
settlements; a position of notional N pays N x rate_raw at each settlement of its venue whose effective hour E is
in (opened, closed] (long pays, short receives); four fills per round trip, each N x (fee + slippage). The
default signal is `instantaneous`: the spread in the last hour known on both legs (an 8-hourly settlement at E
pays for the hours E-8..E-1).
"""

from __future__ import annotations

import copy
import csv
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backtest.engine import (
    NO_PRICE_NOTE,
    BacktestError,
    BacktestOptions,
    BacktestResult,
    TradeDecision,
    known_rates,
    run_backtest,
)
from backtest.loader import (
    HistoryError,
    base_asset,
    load_history,
    load_rows,
    mean_apr_by_symbol,
)
from backtest.report import build_report, max_drawdown
from strategies.config import ConfigError, FundingArbitrageConfig, parse_config

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


def h(n: float) -> datetime:
    return T0 + timedelta(hours=n)


def rows(
    venue: str,
    symbol: str,
    hours: Iterable[float],
    rate: str | Sequence[str],
    interval: str | Sequence[str],
    *,
    quote: str = "USDT",
    marks: Sequence[str | None] | None = None,
) -> list[dict[str, Any]]:
    """One settlement row per hour offset; `rate` / `interval` constant or one per row."""
    out = []
    for i, hr in enumerate(hours):
        out.append(
            {
                "venue": venue,
                "venue_symbol": f"{symbol}{quote}",
                "canonical_symbol": f"{symbol}-{quote}-PERP",
                "settlement_ts": h(hr),
                "rate_raw": rate if isinstance(rate, str) else rate[i],
                "interval_hours": interval if isinstance(interval, str) else interval[i],
                "mark_price": None if marks is None else marks[i],
            }
        )
    return out


COLUMNS = [
    "venue",
    "venue_symbol",
    "canonical_symbol",
    "settlement_ts",
    "rate_raw",
    "interval_hours",
    "mark_price",
]


def write_parquet(path: Path, data: list[dict[str, Any]]) -> Path:
    """Same column types as ../shared/funding-history (timestamp[us, UTC], doubles)."""
    table = pa.table(
        {
            "venue": [r["venue"] for r in data],
            "venue_symbol": [r["venue_symbol"] for r in data],
            "canonical_symbol": [r["canonical_symbol"] for r in data],
            "settlement_ts": pa.array([r["settlement_ts"] for r in data], type=pa.timestamp("us", tz="UTC")),
            "rate_raw": pa.array(
                [None if r["rate_raw"] is None else float(r["rate_raw"]) for r in data], pa.float64()
            ),
            "interval_hours": pa.array(
                [None if r["interval_hours"] is None else float(r["interval_hours"]) for r in data],
                pa.float64(),
            ),
            "mark_price": pa.array(
                [None if r.get("mark_price") is None else float(r["mark_price"]) for r in data], pa.float64()
            ),
        }
    )
    pq.write_table(table, path)
    return path


def write_csv(path: Path, data: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        for r in data:
            out = {k: ("" if r.get(k) is None else r[k]) for k in COLUMNS}
            out["settlement_ts"] = r["settlement_ts"].isoformat().replace("+00:00", "Z")
            writer.writerow(out)
    return path


BASE: dict[str, Any] = {
    "strategy": "funding_arbitrage",
    "name": "case",
    "venues": ["binance", "bybit"],
    "entry": {
        "min_net_apr": "0.15",
        "horizon_hours": "168",
        "min_spread_persistence_hours": "0",
        "max_data_age_seconds": "900",
    },
    # zero-rate legs are deliberate in these cases: staleness (max_stale_hours) is tested on its own below
    "exit": {"exit_signal_apr": "0.03", "min_hold_hours": "0", "max_stale_hours": "1000"},
    "sizing": {"target_notional_usd": "5000", "leverage": "1", "max_positions": 1, "margin_buffer": "0"},
    "costs": {
        "fee_overrides": {
            v: {"taker": "0.0005"} for v in ("binance", "bybit", "hyperliquid", "lighter", "paradex")
        },
        "slippage_bps": "2",
    },
}


def config(**sections: Any) -> FundingArbitrageConfig:
    data = copy.deepcopy(BASE)
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key].update(value)
        else:
            data[key] = value
    return parse_config(data)


def decisions(result: BacktestResult) -> list[tuple[datetime, str, str, str, str, str]]:
    return [d.key() for d in result.decisions]


# ------------------------------------------------------------------------------------------ exact cases


def test_constant_rates_two_venues_exact_net_pnl(tmp_path: Path) -> None:
    """binance 0.0001 / 8 h, bybit 0.0009 / 8 h, settlements h0..h48: long binance, short bybit from h0.

    6 settlements paid (h8..h48): short receives 6 x 5000 x 0.0009 = 27, long pays 6 x 5000 x 0.0001 = 3.
    Fees 4 x 5000 x 0.0005 = 10, slippage 4 x 5000 x 0.0002 = 4. Net = 27 - 3 - 10 - 4 = 10."""
    every_8h = range(0, 49, 8)
    write_parquet(tmp_path / "binance.parquet", rows("binance", "BTC", every_8h, "0.0001", "8"))
    write_parquet(tmp_path / "bybit.parquet", rows("bybit", "BTC", every_8h, "0.0009", "8"))
    result = run_backtest(config(), load_history(tmp_path))

    assert decisions(result) == [
        (h(0), "enter", "BTC", "binance", "bybit", "entry"),
        (h(48), "exit", "BTC", "binance", "bybit", "end_of_data"),
    ]
    (pos,) = result.positions
    assert pos.funding_received_usd == D(27)
    assert pos.funding_paid_usd == D(3)
    assert pos.fees_usd == D(10)
    assert pos.slippage_usd == D(4)
    assert pos.net_pnl_usd == D(10)
    assert [(p.ts, p.venue, p.side, p.amount_usd) for p in pos.payments[:2]] == [
        (h(8), "binance", "long", D("-0.5")),
        (h(8), "bybit", "short", D("4.5")),
    ]
    assert len(pos.payments) == 12
    assert pos.entry_spread_hourly == D("0.0001")
    assert pos.round_trip_cost == D("0.0028")  # 2 x (0.0005 + 0.0005) + 4 x 2 bps

    report = build_report(result)
    assert report.net_pnl_usd == D(10)
    assert report.total_budget_usd == D(100000)  # 10 x target notional on each of 2 venues
    assert report.run_hours == 48 and report.decision_hours == 49
    assert report.net_apr_on_budget == D(10) / D(100000) * 8760 / 48
    assert report.capital_usd_hours == D(2 * 5000 * 48)
    assert report.net_apr_on_occupied_capital == D(10) / D(480000) * 8760
    assert report.entries == 1 and report.exits_by_reason == {"end_of_data": 1}
    assert report.avg_holding_hours == D(48) and report.max_holding_hours == D(48)
    assert report.time_in_market == D(48) / D(49)
    # equity: 100000 - 7 at h0 (entry fills), +4 per settlement, -7 at h48 (exit fills) -> peak 100013 at h40
    assert result.equity[0] == (h(0), D(99993))
    assert result.equity[-1] == (h(48), D(100010))
    assert report.max_drawdown_usd == D(7)
    assert report.max_drawdown_fraction == D(7) / D(100000)
    assert report.basis_pnl_usd is None and NO_PRICE_NOTE in report.notes
    data = report.to_json_dict()
    assert data["net_pnl_usd"] == 10.0 and data["basis_modelled"] is False


def test_interval_change_mid_series_paid_in_own_amounts(tmp_path: Path) -> None:
    """bybit (CSV) settles 8-hourly (0.0008 per 8 h) until h24, then 4-hourly (0.0004 per 4 h) to h48;
    binance (parquet) -0.0001 per 8 h: the long leg receives.

    short bybit: 3 x 5000 x 0.0008 + 6 x 5000 x 0.0004 = 12 + 12 = 24; long binance: 6 x 0.5 = 3 received.
    Net = 27 - 10 - 4 = 13."""
    bybit_hours = [0, 8, 16, 24, 28, 32, 36, 40, 44, 48]
    bybit = rows("bybit", "BTC", bybit_hours, ["0.0008"] * 4 + ["0.0004"] * 6, ["8"] * 4 + ["4"] * 6)
    write_csv(tmp_path / "bybit.csv", bybit)
    write_parquet(tmp_path / "binance.parquet", rows("binance", "BTC", range(0, 49, 8), "-0.0001", "8"))
    history = load_history(tmp_path)
    assert [m.interval_hours for m in history.markets.values() if m.venue == "bybit"] == [
        [D(8)] * 4 + [D(4)] * 6
    ]
    result = run_backtest(config(), history)

    (pos,) = result.positions
    short = [(p.ts, p.rate_raw, p.interval_hours, p.amount_usd) for p in pos.payments if p.venue == "bybit"]
    assert short == [(h(x), D("0.0008"), D(8), D(4)) for x in (8, 16, 24)] + [
        (h(x), D("0.0004"), D(4), D(2)) for x in (28, 32, 36, 40, 44, 48)
    ]
    assert pos.funding_received_usd == D(27)
    assert pos.funding_paid_usd == D(0)
    assert pos.net_pnl_usd == D(13)
    # the 4 h rows stay fresh between settlements: no stale gap, so no decision other than entry and end
    assert [d.reason for d in result.decisions] == ["entry", "end_of_data"]


def test_cash_is_rate_raw_not_hourly_times_gap() -> None:
    """A row saying 8 h that arrives 4 h after the previous one still pays N x rate_raw (Binance ORDI on
    2026-06-24 did exactly this), not rate_hourly x 4 h."""
    data = rows("binance", "BTC", [0, 4, 12, 16], "0", "4") + rows(
        "bybit",
        "BTC",
        [0, 4, 8, 12, 16],
        ["0.0004", "0.0004", "0.0008", "0.0004", "0.0004"],
        ["4", "4", "8", "4", "4"],
    )
    result = run_backtest(config(), load_rows(data))
    (pos,) = result.positions
    assert [(p.ts, p.amount_usd) for p in pos.payments if p.venue == "bybit"] == [
        (h(4), D(2)),
        (h(8), D(4)),  # 5000 x 0.0008, although only 4 h passed since h4
        (h(12), D(2)),
        (h(16), D(2)),
    ]


def test_budget_blocks_every_entry() -> None:
    """Margin 5000 per leg (leverage 1) > budget 4000: nothing opens; each decision time (but the last) records
    the refusal."""
    data = rows("binance", "BTC", range(0, 49, 8), "0.0001", "8") + rows(
        "bybit", "BTC", range(0, 49, 8), "0.0009", "8"
    )
    result = run_backtest(config(), load_rows(data), BacktestOptions(budget_usd_per_venue=D(4000)))
    assert result.positions == []
    assert len(result.blocked_entries) == 48
    first = result.blocked_entries[0]
    assert (first.ts, first.action, first.symbol, first.long_venue, first.short_venue, first.reason) == (
        h(0),
        "blocked",
        "BTC",
        "binance",
        "bybit",
        "budget",
    )
    assert first.detail.startswith("binance: margin used 0 + 5000 > usable budget 4000")
    report = build_report(result)
    assert report.net_pnl_usd == 0 and report.entries_blocked_by_budget == 48
    assert report.net_apr_on_occupied_capital is None


def test_margin_buffer_and_leverage_set_the_margin() -> None:
    """Leverage 2 -> margin 2500 per leg; budget 3000 with a 20 % buffer leaves 2400 usable: blocked. With a 10 %
    buffer 2700 is usable: it opens."""
    data = rows("binance", "BTC", range(0, 17, 8), "0", "8") + rows(
        "bybit", "BTC", range(0, 17, 8), "0.0009", "8"
    )
    opts = BacktestOptions(budget_usd_per_venue=D(3000))
    blocked = run_backtest(config(sizing={"leverage": "2", "margin_buffer": "0.2"}), load_rows(data), opts)
    assert blocked.positions == [] and blocked.blocked_entries
    opened = run_backtest(config(sizing={"leverage": "2", "margin_buffer": "0.1"}), load_rows(data), opts)
    assert [p.margin_per_leg_usd for p in opened.positions] == [D(2500)]


def test_blocked_entry_falls_back_to_the_next_choice() -> None:
    """BTC opens at h0 on binance/bybit and uses their whole budget (5000 each). At h8 ETH appears on four
    venues: its three best directions need binance or bybit and are refused; choose_entries is asked again and
    the fourth (long lighter / short paradex) opens. (Without the high switch multiple BTC would be switched
    to ETH binance->bybit: see the engine run in test_better_opportunity_switch.)"""
    btc = rows("binance", "BTC", range(0, 25, 8), "0", "8") + rows(
        "bybit", "BTC", range(0, 25, 8), "0.0009", "8"
    )
    eth = (
        rows("binance", "ETH", range(8, 25, 8), "-0.0004", "8")
        + rows("bybit", "ETH", range(8, 25, 8), "0.0012", "8")
        + rows("lighter", "ETH", range(8, 25, 8), "0", "8")
        + rows("paradex", "ETH", range(8, 25, 8), "0.0006", "8")
    )
    cfg = config(
        venues=["binance", "bybit", "lighter", "paradex"],
        sizing={"max_positions": 2},
        exit={"switch_cost_multiple": "1000"},  # keep BTC: no better_opportunity switch
    )
    result = run_backtest(cfg, load_rows(btc + eth), BacktestOptions(budget_usd_per_venue=D(5000)))
    assert [(b.ts, b.symbol, b.long_venue, b.short_venue) for b in result.blocked_entries] == [
        (h(8), "ETH", "binance", "bybit"),
        (h(8), "ETH", "lighter", "bybit"),
        (h(8), "ETH", "binance", "paradex"),
    ]
    assert decisions(result) == [
        (h(0), "enter", "BTC", "binance", "bybit", "entry"),
        (h(8), "enter", "ETH", "lighter", "paradex", "entry"),
        (h(24), "exit", "BTC", "binance", "bybit", "end_of_data"),
        (h(24), "exit", "ETH", "lighter", "paradex", "end_of_data"),
    ]


def test_exit_by_max_hold_then_reentry() -> None:
    """Hourly venues, constant spread 0.0001 per hour, max_hold 10 h: exits at h10 and h20 (and re-enters at
    once: the trade still qualifies), closed at h24. 24 settlements x 5000 x 0.0001 = 12; 3 round trips x 14 =
    42; net -30."""
    data = rows("hyperliquid", "SOL", range(25), "0.00001", "1", quote="USDC") + rows(
        "bybit", "SOL", range(25), "0.00011", "1"
    )
    cfg = config(venues=["hyperliquid", "bybit"], exit={"max_hold_hours": "10"})
    result = run_backtest(cfg, load_rows(data))
    pair = ("SOL", "hyperliquid", "bybit")
    assert decisions(result) == [
        (h(0), "enter", *pair, "entry"),
        (h(10), "exit", *pair, "max_hold"),
        (h(10), "enter", *pair, "entry"),
        (h(20), "exit", *pair, "max_hold"),
        (h(20), "enter", *pair, "entry"),
        (h(24), "exit", *pair, "end_of_data"),
    ]
    assert [len(p.payments) // 2 for p in result.positions] == [10, 10, 4]
    report = build_report(result)
    assert report.funding_received_usd == D("13.2")
    assert report.funding_paid_usd == D("1.2")
    assert report.net_pnl_usd == D(-30)
    assert report.exits_by_reason == {"end_of_data": 1, "max_hold": 2}
    assert report.max_holding_hours == D(10)


FLIP = rows("binance", "BTC", range(0, 49, 8), "0", "8") + rows(
    "bybit",
    "BTC",
    range(0, 49, 8),
    ["0.0008", "0.0008", "-0.0008", "-0.0008", "-0.0008", "-0.0008", "-0.0008"],
    "8",
)


def test_exit_by_spread_flip_and_reverse_entry() -> None:
    """bybit's rate turns negative at the h16 settlement: with the optional one-hour flip rule on, the position
    closes at h16 as `spread_flipped` (held 16 h >= min_hold 8 h) and the reverse direction opens at once.

    First: +4 (h8) - 4 (h16) - 14 costs = -14. Second (long bybit from h16): receives 4 x 4 (h24..h48) - 14 = 2."""
    result = run_backtest(config(exit={"min_hold_hours": "8", "exit_on_flip": True}), load_rows(FLIP))
    assert decisions(result) == [
        (h(0), "enter", "BTC", "binance", "bybit", "entry"),
        (h(16), "exit", "BTC", "binance", "bybit", "spread_flipped"),
        (h(16), "enter", "BTC", "bybit", "binance", "entry"),
        (h(48), "exit", "BTC", "bybit", "binance", "end_of_data"),
    ]
    assert [p.net_pnl_usd for p in result.positions] == [D(-14), D(2)]
    assert build_report(result).net_pnl_usd == D(-12)


def test_flip_rule_off_closes_on_the_signal_instead() -> None:
    """Flip rule off (the default): the same sign change closes the position through the signal, whose gross APR
    -0.876 (= -0.0001 x 8760) is below exit_signal_apr 0.03."""
    result = run_backtest(config(exit={"min_hold_hours": "8"}), load_rows(FLIP))
    assert decisions(result)[:3] == [
        (h(0), "enter", "BTC", "binance", "bybit", "entry"),
        (h(16), "exit", "BTC", "binance", "bybit", "below_exit_threshold"),
        (h(16), "enter", "BTC", "bybit", "binance", "entry"),
    ]
    assert result.decisions[1].detail == "signal APR -0.8760 < 0.03"


def test_min_hold_delays_the_flip_exit() -> None:
    """Same data, min_hold 20 h: the flipped spread at h16 cannot close it; it closes at h20 (first hour past
    min_hold)."""
    result = run_backtest(config(exit={"min_hold_hours": "20", "exit_on_flip": True}), load_rows(FLIP))
    assert decisions(result)[:3] == [
        (h(0), "enter", "BTC", "binance", "bybit", "entry"),
        (h(20), "exit", "BTC", "binance", "bybit", "spread_flipped"),
        (h(20), "enter", "BTC", "bybit", "binance", "entry"),
    ]


def test_persistence_needs_hours_of_history_before_entry() -> None:
    """min_spread_persistence_hours 3: the first entry waits for 3 hourly buckets (h0, h1, h2) -> h3; after the
    flip at h16 the reverse direction waits for h16, h17, h18 -> h19. Same cash as without persistence
    (settlements are 8-hourly): -14 + 2."""
    cfg = config(
        entry={"min_spread_persistence_hours": "3"}, exit={"min_hold_hours": "8", "exit_on_flip": True}
    )
    result = run_backtest(cfg, load_rows(FLIP))
    assert decisions(result) == [
        (h(3), "enter", "BTC", "binance", "bybit", "entry"),
        (h(16), "exit", "BTC", "binance", "bybit", "spread_flipped"),
        (h(19), "enter", "BTC", "bybit", "binance", "entry"),
        (h(48), "exit", "BTC", "bybit", "binance", "end_of_data"),
    ]
    assert [p.net_pnl_usd for p in result.positions] == [D(-14), D(2)]


def test_hysteresis_holds_between_the_thresholds_then_closes() -> None:
    """Entry needs net APR 0.15 on the signal, exit comes below a GROSS signal APR of 0.03: the band between them
    holds the position.

    h16: bybit 0.00035 per 8 h -> spread (0.00035 - 0.0001) / 8 = 0.00003125/h: gross APR 0.27375 >= 0.03 -> held
    (its net APR (0.00003125 x 168 - 0.0028) / 168 x 8760 = 0.1278 < 0.15 would not open it). h24: 0.00012 ->
    0.0000025/h: gross APR 0.0219 < 0.03 -> closed. No exit cost enters either figure."""
    data = rows("binance", "BTC", range(0, 49, 8), "0.0001", "8") + rows(
        "bybit",
        "BTC",
        range(0, 49, 8),
        ["0.0009", "0.0009", "0.00035", "0.00012", "0.00012", "0.00012", "0.00012"],
        "8",
    )
    result = run_backtest(config(), load_rows(data))
    assert decisions(result) == [
        (h(0), "enter", "BTC", "binance", "bybit", "entry"),
        (h(24), "exit", "BTC", "binance", "bybit", "below_exit_threshold"),
    ]
    assert result.decisions[1].detail == "signal APR 0.0219 < 0.03"


def test_stale_leg_closes_and_is_never_entered() -> None:
    """bybit stops settling after h16 (the settlement at h16 pays for hours 8..15): its last fresh rate ends at
    h16, so with max_stale_hours 12 it is stale from h29 (13 h > 12): the position closes `stale_leg` and nothing
    is entered again. The snapshot rule (interval + max_data_age) drops it from the pricing after h24:15."""
    data = rows("binance", "BTC", range(0, 49, 8), "0.0001", "8") + rows(
        "bybit", "BTC", [0, 8, 16], "0.0009", "8"
    )
    result = run_backtest(config(exit={"max_stale_hours": "12"}), load_rows(data))
    assert decisions(result) == [
        (h(0), "enter", "BTC", "binance", "bybit", "entry"),
        (h(29), "exit", "BTC", "binance", "bybit", "stale_leg"),
    ]
    assert result.decisions[1].detail == "bybit: no fresh non-zero rate for 13.0 h (max 12)"
    assert known_rates(result.markets[("bybit", "BTC")], [h(15), h(24), h(24.25), h(24.26)], D(900)) == [
        D("0.0001125"),
        D("0.0001125"),
        D("0.0001125"),
        None,
    ]


def test_delisted_leg_publishing_zeros_is_stale() -> None:
    """After its last real settlement (h16) bybit keeps publishing 0 (what a venue does after it stops listing a
    market, e.g. TON on Hyperliquid from 2026-06-15): a zero rate is not a fresh rate, so the leg is stale from h29
    as if it had stopped settling, although the spread (0 - (-0.0001)) / 8 per hour, gross APR 0.1095, is still
    above the exit threshold. A leg whose rates were always zero is stale max_stale_hours after its first hour."""
    data = rows("binance", "BTC", range(0, 49, 8), "-0.0001", "8") + rows(
        "bybit", "BTC", range(0, 49, 8), ["0.0009", "0.0009", "0.0009", "0", "0", "0", "0"], "8"
    )
    result = run_backtest(config(exit={"max_stale_hours": "12"}), load_rows(data))
    assert decisions(result) == [
        (h(0), "enter", "BTC", "binance", "bybit", "entry"),
        (h(29), "exit", "BTC", "binance", "bybit", "stale_leg"),
    ]
    assert [d.action for d in result.decisions].count("enter") == 1
    zeros = rows("binance", "ETH", range(0, 49, 8), "0", "8") + rows(
        "bybit", "ETH", range(0, 49, 8), "0.0009", "8"
    )
    first = run_backtest(config(exit={"max_stale_hours": "12"}), load_rows(zeros))
    # binance's first settlement (h0) pays for hours -8..-1: zero rates, stale from h5 (13 h after -8)
    assert decisions(first) == [
        (h(0), "enter", "ETH", "binance", "bybit", "entry"),
        (h(5), "exit", "ETH", "binance", "bybit", "stale_leg"),
    ]


def test_lumps_given_up_at_exit_are_reported() -> None:
    """8-hourly settlements pay whoever holds at settlement. Opened at h4 (after the h0 settlement) and closed by
    max_hold at h12, the position receives the h8 lump in full (5000 x 0.0008 = 4 on the short leg, half of it
    accrued before it opened: 2 unearned) and gives up the half of the h16 lump accrued while it held (h8-h12:
    2). Both are recorded and the report counts the exit."""
    data = rows("binance", "BTC", range(0, 49, 8), "0.0001", "8") + rows(
        "bybit", "BTC", range(0, 49, 8), "0.0009", "8"
    )
    result = run_backtest(config(exit={"max_hold_hours": "8"}), load_rows(data), BacktestOptions(start=h(4)))
    first = result.positions[0]
    assert (first.opened_at, first.closed_at, first.exit_reason) == (h(4), h(12), "max_hold")
    # short bybit +5000 x 0.0009, long binance -5000 x 0.0001, per lump: +4; half of it
    assert first.entry_unearned_usd == D(2)
    assert first.exit_forgone_usd == D(2)
    assert first.net_funding_usd == D(4)  # the h8 lump, paid in full
    diag = build_report(result).diagnostics
    assert diag is not None and diag.exits_forgoing_lumps >= 1 and diag.exit_forgone_usd >= D(2)


def test_better_opportunity_switch() -> None:
    """BTC (spread 0.0001/h) is held; at h8 ETH offers 0.001/h on other venues: gain over the remaining
    horizon (0.0009 x 160) exceeds 2 x switching cost -> exit better_opportunity, ETH opens."""
    btc = rows("binance", "BTC", range(0, 25, 8), "0", "8") + rows(
        "bybit", "BTC", range(0, 25, 8), "0.0008", "8"
    )
    eth = rows("lighter", "ETH", range(8, 25, 8), "0", "8") + rows(
        "paradex", "ETH", range(8, 25, 8), "0.008", "8"
    )
    cfg = config(venues=["binance", "bybit", "lighter", "paradex"])
    result = run_backtest(cfg, load_rows(btc + eth))
    assert decisions(result) == [
        (h(0), "enter", "BTC", "binance", "bybit", "entry"),
        (h(8), "exit", "BTC", "binance", "bybit", "better_opportunity"),
        (h(8), "enter", "ETH", "lighter", "paradex", "entry"),
        (h(24), "exit", "ETH", "lighter", "paradex", "end_of_data"),
    ]


def test_basis_pnl_with_price_series() -> None:
    """Marks on both legs: entry 100 / 101, exit 110 / 110.5. q_long = 5000/100 = 50, q_short = 5000/101.
    basis = 50 x 10 + 5000/101 x (101 - 110.5)."""
    data = rows("binance", "BTC", [0, 8], "0", "8", marks=["100", "110"]) + rows(
        "bybit", "BTC", [0, 8], "0.0008", "8", marks=["101", "110.5"]
    )
    result = run_backtest(config(), load_rows(data))
    (pos,) = result.positions
    expected = D(5000) / D(100) * D(10) + D(5000) / D(101) * (D(101) - D("110.5"))
    assert pos.basis_pnl_usd == expected
    report = build_report(result)
    assert report.basis_pnl_usd == expected
    assert report.net_pnl_usd == D(4) - D(14) + expected
    assert NO_PRICE_NOTE not in report.notes


def test_date_range_and_no_entry_at_the_last_time() -> None:
    data = rows("binance", "BTC", range(0, 49, 8), "0", "8") + rows(
        "bybit", "BTC", range(0, 49, 8), "0.0009", "8"
    )
    result = run_backtest(config(), load_rows(data), BacktestOptions(start=h(9.5), end=h(30.5)))
    assert (result.start, result.end, result.decision_hours) == (h(10), h(30), 21)
    assert decisions(result) == [
        (h(10), "enter", "BTC", "binance", "bybit", "entry"),
        (h(30), "exit", "BTC", "binance", "bybit", "end_of_data"),
    ]
    with pytest.raises(BacktestError, match="empty time range"):
        run_backtest(config(), load_rows(data), BacktestOptions(start=h(40), end=h(20)))


def test_venue_override_and_errors() -> None:
    data = rows("binance", "BTC", range(0, 17, 8), "0", "8") + rows(
        "hyperliquid", "BTC", range(17), "0.0001", "1"
    )
    result = run_backtest(config(), load_rows(data), BacktestOptions(venues=["binance", "hyperliquid"]))
    assert result.config.venues == ["binance", "hyperliquid"]
    assert result.positions[0].short_venue == "hyperliquid"
    with pytest.raises(ConfigError, match=r"venues: unknown venue\(s\) \['kraken'\]"):
        run_backtest(config(), load_rows(data), BacktestOptions(venues=["binance", "kraken"]))
    with pytest.raises(BacktestError, match="leave fewer than two"):
        run_backtest(config(), load_rows(data))  # config venues binance, bybit: no bybit data


# ----------------------------------------------------------------------------------------- no look-ahead


def _perturbed(data: list[dict[str, Any]], cut: datetime, factor: str, shift: str) -> list[dict[str, Any]]:
    out = []
    for r in data:
        r = dict(r)
        if r["settlement_ts"] > cut:
            r["rate_raw"] = str(D(r["rate_raw"]) * D(factor) + D(shift))
            if r.get("mark_price") is not None:
                r["mark_price"] = str(D(r["mark_price"]) * 2)
        out.append(r)
    return out


def _before(
    result: BacktestResult, cut: datetime
) -> tuple[list[TradeDecision], list[TradeDecision], list[Any]]:
    """Decisions, refusals and equity points up to AND at `cut` (a decision at t may use data settled at t,
    never after; comparing the decision at t too is what catches a one-hour look-ahead on an hourly grid)."""
    return (
        [d for d in result.decisions if d.ts <= cut],
        [d for d in result.blocked_entries if d.ts <= cut],
        [e for e in result.equity if e[0] <= cut],
    )


def test_no_look_ahead_example_has_teeth() -> None:
    """Perturbing FLIP after h10 (bybit stays positive) removes the h16 flip: decisions after h10 change, those
    before do not."""
    cfg = config(exit={"min_hold_hours": "8"})
    base = run_backtest(cfg, load_rows(FLIP))
    changed = run_backtest(cfg, load_rows(_perturbed(FLIP, h(10), "-1", "0")))
    assert _before(base, h(10)) == _before(changed, h(10))
    assert decisions(base) != decisions(changed)


rate_st = st.integers(min_value=-400, max_value=400).map(lambda n: str(D(n) / D(1_000_000)))
SIGNALS: dict[str, dict[str, Any]] = {
    "instantaneous": {"estimator": "instantaneous"},
    "mean": {"estimator": "mean", "window_hours": 6, "min_hours": 2, "stability_days": 3},
    "ewma": {"estimator": "ewma", "half_life_hours": "4", "window_hours": 12, "min_hours": 1},
}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    hourly_rates=st.lists(rate_st, min_size=3 * 49, max_size=3 * 49),
    slow_rates=st.lists(rate_st, min_size=2 * 7 * 2, max_size=2 * 7 * 2),
    cut_hour=st.integers(min_value=1, max_value=47),
    factor=st.sampled_from(["-1", "3", "0"]),
    shift=st.sampled_from(["0", "0.0005", "-0.0003"]),
    persistence=st.sampled_from(["0", "2"]),
    estimator=st.sampled_from(sorted(SIGNALS)),
)
def test_no_look_ahead_property(
    hourly_rates: list[str],
    slow_rates: list[str],
    cut_hour: int,
    factor: str,
    shift: str,
    persistence: str,
    estimator: str,
) -> None:
    """Random rates on one hourly venue and two 8-hourly / 4-hourly venues for three assets, for every estimator:
    changing every rate (and mark) settled after t changes no entry, exit, refusal or equity point before (or
    at) t."""
    data: list[dict[str, Any]] = []
    for i, sym in enumerate(("BTC", "ETH", "SOL")):
        data += rows("hyperliquid", sym, range(49), hourly_rates[i * 49 : (i + 1) * 49], "1", quote="USDC")
    for j, sym in enumerate(("BTC", "ETH")):
        data += rows("binance", sym, range(0, 49, 8), slow_rates[j * 14 : j * 14 + 7], "8")
        data += rows("bybit", sym, range(0, 25, 4), slow_rates[j * 14 + 7 : j * 14 + 14], "4")
    data += rows("bybit", "SOL", range(0, 49, 8), slow_rates[:7], "8", marks=[str(100 + k) for k in range(7)])
    data += rows(
        "binance", "SOL", range(0, 49, 8), slow_rates[7:14], "8", marks=[str(101 + k) for k in range(7)]
    )
    cfg = config(
        venues=["hyperliquid", "binance", "bybit"],
        signal=SIGNALS[estimator],
        entry={"min_net_apr": "0.05", "horizon_hours": "24", "min_spread_persistence_hours": persistence},
        exit={"exit_signal_apr": "0", "max_hold_hours": "12", "min_hold_hours": "2"},
        sizing={"max_positions": 2},
    )
    opts = BacktestOptions(budget_usd_per_venue=D(9000))
    cut = h(cut_hour)
    base = run_backtest(cfg, load_rows(data), opts)
    other = run_backtest(cfg, load_rows(_perturbed(data, cut, factor, shift)), opts)
    assert _before(base, cut) == _before(other, cut)


# ------------------------------------------------------------------------------------------------ loader


def test_loader_rejects_bad_rows_and_keeps_the_rest(caplog: pytest.LogCaptureFixture) -> None:
    good = rows("bybit", "INJ", [0, 8, 16], "0.0001", "8")
    bad = [
        {**good[0], "settlement_ts": h(24), "interval_hours": None},  # the real Bybit INJUSDT row
        {**good[0], "settlement_ts": h(32), "rate_raw": ""},
        {**good[0], "settlement_ts": h(40), "interval_hours": "0"},
        {**good[0], "settlement_ts": "2025-01-03T00:00:00"},  # naive
        {**good[0], "settlement_ts": h(48), "rate_raw": "0.5", "interval_hours": "8"},  # 6.25 %/h: a percent?
        {**good[0], "settlement_ts": h(56), "is_predicted": True},
        {**good[0], "settlement_ts": h(8), "rate_raw": "0.0002"},  # duplicate of h8: first kept
        {**good[0], "settlement_ts": h(64), "mark_price": "0"},  # field dropped, row kept
    ]
    with caplog.at_level(logging.WARNING, logger="perparb.normalise"):
        history = load_rows(good + bad, source="t")
    (market,) = history.markets.values()
    assert market.ts_us == [
        int((h(x) - datetime(1970, 1, 1, tzinfo=timezone.utc)).total_seconds()) * 10**6
        for x in (0, 8, 16, 64)
    ]
    assert market.rate_raw[1] == D("0.0001")
    assert market.mark_price == [None] * 4
    reasons = [(r.field, r.reason) for r in history.rejections]
    assert reasons == [
        ("interval_hours", "missing"),
        ("rate_raw", "empty string"),
        ("interval_hours", "zero"),
        ("settlement_ts", "naive timestamp: no UTC offset"),
        (
            "rate_raw",
            "0.0625 per hour exceeds any venue's funding cap (4 %/h); a percent read as a fraction?",
        ),
        ("is_predicted", "a predicted rate is not a settlement"),
        ("mark_price", "zero mark price means missing (field dropped, row kept)"),
        ("settlement_ts", "duplicate settlement for this market (the first row is kept)"),
    ]
    assert history.rows_read == 11 and history.rows == 4
    assert "bybit INJUSDT [history:t] rejected: interval_hours=None: missing" in caplog.text


def test_loader_files_and_errors(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="no such file"):
        load_history(tmp_path / "nope")
    with pytest.raises(HistoryError, match=r"no \*.parquet or \*.csv files"):
        load_history(tmp_path)
    (tmp_path / "x.txt").write_text("a")
    with pytest.raises(HistoryError, match=r"expected a \.parquet or \.csv file"):
        load_history(tmp_path / "x.txt")
    bad = tmp_path / "bad.csv"
    bad.write_text("venue,venue_symbol,settlement_ts\nbinance,BTCUSDT,2025-01-01T00:00:00Z\n")
    with pytest.raises(
        HistoryError,
        match=r"missing required column\(s\) \['canonical_symbol', 'rate_raw', 'interval_hours'\]",
    ):
        load_history(bad)
    naive = tmp_path / "naive.parquet"
    pq.write_table(
        pa.table(
            {
                "venue": ["binance"],
                "venue_symbol": ["BTCUSDT"],
                "canonical_symbol": ["BTC-USDT-PERP"],
                "settlement_ts": pa.array([datetime(2025, 1, 1)], pa.timestamp("us")),
                "rate_raw": [0.0001],
                "interval_hours": [8.0],
            }
        ),
        naive,
    )
    with pytest.raises(HistoryError, match="settlement_ts has no time zone"):
        load_history(naive)


def test_loader_venue_filter_primary_market_and_mean_apr(tmp_path: Path) -> None:
    data = (
        rows("binance", "BTC", [0, 8, 16], ["0.0001", "0.0002", "0.0003"], "8")
        + rows("binance", "BTC", [0, 4, 8], ["0.0001", "0.0001", "0.0001"], ["8", "4", "4"], quote="USDC")
        + rows("hyperliquid", "BTC", [0, 1], "0.00001", "1", quote="USDC")
    )
    path = write_parquet(tmp_path / "h.parquet", data)
    history = load_history(path)
    primary = history.primary_markets()
    assert {k: m.venue_symbol for k, m in primary.items()} == {
        ("binance", "BTC"): "BTCUSDT",  # USDT preferred over USDC
        ("hyperliquid", "BTC"): "BTCUSDC",
    }
    apr = mean_apr_by_symbol(history)
    # interval-weighted: sum(rate_hourly x 8760 x interval) / sum(interval) = sum(rate_raw) x 8760 / sum(hours)
    assert apr[("binance", "BTC-USDT-PERP")] == D("0.0006") * 8760 / 24
    assert apr[("binance", "BTC-USDC-PERP")] == D("0.0003") * 8760 / 16
    assert apr[("hyperliquid", "BTC-USDC-PERP")] == D("0.00001") * 8760
    only = load_history(path, venues=["hyperliquid"])
    assert only.venues() == ["hyperliquid"] and only.rows_read == 2
    assert base_asset("eth-usdc-perp") == "ETH"


def test_max_drawdown_helper() -> None:
    series = [(h(0), D(100)), (h(1), D(120)), (h(2), D(90)), (h(3), D(130)), (h(4), D(125))]
    assert max_drawdown(series) == (D(30), D(30) / D(120), h(1), h(2))
    assert max_drawdown(series, D(150)) == (D(60), D(60) / D(150), h(0), h(2))
    assert max_drawdown([(h(0), D(1)), (h(1), D(2))]) == (D(0), D(0), None, None)
