"""Benchmark of `find_opportunities`: 300 assets x 6 venues (9000 ordered pairs), seeded synthetic data.

Run: `.venv/bin/python bench/bench_opportunities.py [--runs 20] [--seed 7]`.

Prints p50 / max wall time in ms for five scenarios, no history unless said:
  1. all 9000 directions ranked and returned as `Opportunity` objects (the strictest reading of the target);
  2. all costed and filtered, only the best returned (the ranking without materialising results);
  3. all ranked, those with net_apr >= 0 returned (the usual CLI query);
  4. plus persistence from 7 days of hourly history per market, top 50 returned;
  5. plus persistence for every returned direction (scales with rows returned x history hours).
The synthetic rates are Gaussian around a per-asset bias (fractions per hour, 8 decimals), fees mix published
and missing values, and about 2 % of snapshots are stale.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from funding_rate_service.opportunity_finder import (
    HourlyHistory,
    MarketSnapshot,
    OpportunityQuery,
    OpportunityResult,
    find_opportunities,
)

ASSETS = 300
VENUES = ("lighter", "paradex", "hyperliquid", "binance", "bybit", "extended")
HISTORY_HOURS = 168
TARGET_MS = 50.0
NOW = datetime(2025, 6, 1, 12, 30, tzinfo=timezone.utc)


def _dec(x: float, places: int) -> Decimal:
    return Decimal(f"{x:.{places}f}")


def build(seed: int) -> tuple[list[MarketSnapshot], HourlyHistory]:
    """Seeded snapshots (ASSETS x VENUES) and HISTORY_HOURS hourly buckets per market."""
    rng = random.Random(seed)
    snapshots: list[MarketSnapshot] = []
    history: dict[tuple[str, str], list[tuple[datetime, Decimal]]] = {}
    current_hour = NOW.replace(minute=0, second=0, microsecond=0)
    for i in range(ASSETS):
        symbol = f"A{i:03d}"
        bias = rng.gauss(0, 2e-5)
        for venue in VENUES:
            venue_bias = bias + rng.gauss(0, 1e-5)
            age = rng.uniform(0, 1200) if rng.random() < 0.02 else rng.uniform(0, 300)
            published = rng.random() < 0.7
            snapshots.append(
                MarketSnapshot(
                    venue=venue,
                    symbol=symbol,
                    venue_symbol=f"{symbol}-USD-PERP" if venue == "paradex" else symbol,
                    rate_hourly=_dec(venue_bias + rng.gauss(0, 5e-6), 8),
                    ts=NOW - timedelta(seconds=age),
                    mark_price=_dec(rng.uniform(0.01, 50_000), 4),
                    open_interest_usd=_dec(rng.uniform(1e4, 1e8), 2),
                    volume_24h_usd=_dec(rng.uniform(1e4, 1e9), 2),
                    taker_fee=Decimal(rng.choice(("0.0002", "0.0003", "0.0005"))) if published else None,
                    maker_fee=Decimal(rng.choice(("0", "0.0001", "-0.00005"))) if published else None,
                )
            )
            history[(venue, symbol)] = [
                (current_hour - timedelta(hours=h), _dec(venue_bias + rng.gauss(0, 5e-6), 8))
                for h in range(HISTORY_HOURS)
            ]
    return snapshots, history


def timed(fn: Callable[[], OpportunityResult], runs: int) -> tuple[list[float], OpportunityResult]:
    result = fn()  # warm-up
    fn()
    times: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return times, result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    snapshots, history = build(args.seed)
    costs: dict[str, Any] = {"now": NOW, "slippage_bps": Decimal(1), "cross_spread_bps": Decimal(2)}
    everything = OpportunityQuery(**costs)
    positive = OpportunityQuery(**costs, min_net_apr=Decimal(0))
    top1 = OpportunityQuery(**costs, limit=1)
    top50 = OpportunityQuery(**costs, limit=50)
    scenarios: list[tuple[str, Callable[[], OpportunityResult]]] = [
        ("rank all pairs, return all", lambda: find_opportunities(snapshots, everything)),
        ("rank all pairs, return top 1", lambda: find_opportunities(snapshots, top1)),
        ("rank all pairs, net_apr >= 0", lambda: find_opportunities(snapshots, positive)),
        ("+ persistence, top 50", lambda: find_opportunities(snapshots, top50, history)),
        ("+ persistence, return all", lambda: find_opportunities(snapshots, everything, history)),
    ]
    print(
        f"{ASSETS} assets x {len(VENUES)} venues = {ASSETS * len(VENUES) * (len(VENUES) - 1)} ordered pairs "
        f"(before staleness); {HISTORY_HOURS} h history per market; {args.runs} runs after warm-up"
    )
    p50s: list[float] = []
    for name, fn in scenarios:
        times, result = timed(fn, args.runs)
        p50, worst = statistics.median(times), max(times)
        p50s.append(p50)
        print(
            f"  {name:<30} p50 {p50:7.1f} ms  max {worst:7.1f} ms  "
            f"returned {len(result.opportunities):5d}  assets {result.considered_assets}  "
            f"stale {len(result.stale)}"
        )
    for label, p50 in (
        ("costing all 9000 pairs and selecting the best (line 2)", p50s[1]),
        ("ranking and returning all 9000 as Opportunity objects (line 1)", p50s[0]),
    ):
        verdict = "MET" if p50 < TARGET_MS else "NOT MET"
        print(f"target < {TARGET_MS:.0f} ms p50, {label}: {verdict} ({p50:.1f} ms)")


if __name__ == "__main__":
    main()
