"""Benchmark: `perparb sweep` on the real year of ../shared/funding-history (Binance, Bybit, Hyperliquid).

A grid of 24 combinations of configs/backtest.example.yaml (entry threshold, stability, minimum hold, switch
multiple; one signal setting) evaluated on the half-year training window 2025-08-21 .. 2026-02-21, then the
best 10 on the test window, through `backtest.sweep.run_sweep` (the command's code). Target (issue #11): at
least 2 configurations per second per core on the half-year window, history loaded once.

Prints: the history load (once), the preparation (legs and signal series, in the parent, inherited by the
workers through fork), configurations per second with 1 worker (= per core) and with one worker per available
core, and what sharing by fork saves: pickling the history and the prepared series for every worker instead
(their size and the time to pickle and unpickle them once). Exit status 1 when the per-core rate is below the
target.

Run: .venv/bin/python bench/bench_sweep.py [--history ../shared/funding-history] [--jobs N]
"""

from __future__ import annotations

import argparse
import logging
import os
import pickle
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from backtest.engine import PreparedHistory  # noqa: E402
from backtest.loader import load_history  # noqa: E402
from backtest.sweep import Window, build_configs, cpu_count, prepare_signals, run_sweep  # noqa: E402
from strategies.config import load_config  # noqa: E402

TARGET_PER_CORE = 2.0
GRID: dict[str, list[Any]] = {
    "entry.min_signal_apr": [0.1, 0.12, 0.15],
    "entry.min_stability": [2, 3],
    "exit.min_hold_hours": [168, 336],
    "exit.switch_cost_multiple": [2, 1000],
}
TRAIN = Window(
    "train", datetime(2025, 8, 21, tzinfo=timezone.utc), datetime(2026, 2, 21, tzinfo=timezone.utc)
)
TEST = Window("test", datetime(2026, 2, 21, tzinfo=timezone.utc), datetime(2026, 8, 22, tzinfo=timezone.utc))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--history", type=Path, default=PROJECT.parent / "shared" / "funding-history")
    parser.add_argument("--config", type=Path, default=PROJECT / "configs" / "backtest.example.yaml")
    parser.add_argument("--jobs", type=int, default=0, help="workers of the parallel run (0 = one per core)")
    args = parser.parse_args()
    if not args.history.exists():
        print(f"skipped: {args.history} is absent (../shared/funding-history is needed)")
        return 0
    logging.disable(logging.WARNING)
    config = load_config(args.config)
    t0 = time.perf_counter()
    history = load_history(args.history, venues=config.venues)
    t1 = time.perf_counter()
    print(f"history: {history.rows:,} settlements loaded once in {t1 - t0:.2f} s")
    n = 1
    for values in GRID.values():
        n *= len(values)

    def sweep(jobs: int, prepared: PreparedHistory) -> tuple[float, float, float]:
        """(wall seconds, this process's CPU seconds, of the training evaluations) of one sweep on an already
        prepared history (with one worker every evaluation runs in this process, so CPU seconds measure one
        core whatever else the machine is doing)."""
        marks: dict[str, float] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if phase == "train" and done == total:
                marks["wall"] = time.perf_counter()
                marks["cpu"] = time.process_time()

        start, cpu = time.perf_counter(), time.process_time()
        run_sweep(config, GRID, history, TRAIN, TEST, jobs=jobs, top=10, prepared=prepared, progress=progress)
        return marks["wall"] - start, marks["cpu"] - cpu, 0.0

    prepared = PreparedHistory(history)
    p0 = time.perf_counter()
    _, configs = build_configs(config, GRID)
    prepare_signals(prepared, history, configs, TRAIN, None)
    p1 = time.perf_counter()
    print(
        f"prepare: legs and signal series of {len(configs[0].venues)} venues in {p1 - p0:.2f} s (once, in the parent)"
    )

    wall, cpu, _ = sweep(1, prepared)
    per_core = n / cpu
    print(
        f"1 worker : {n} configurations on the half-year training window in {wall:.2f} s wall, {cpu:.2f} s CPU = "
        f"{per_core:.2f} per CPU-second (per core), {n / wall:.2f} per wall second (load average "
        f"{os.getloadavg()[0]:.1f} on {cpu_count()} cores)"
    )
    jobs = args.jobs or cpu_count()
    if jobs > 1:
        wall, _, _ = sweep(jobs, prepared)
        rate = n / wall
        print(
            f"{jobs} workers: {n} configurations in {wall:.2f} s = {rate:.2f} per wall second ({rate / jobs:.2f} per core)"
        )
    s0 = time.perf_counter()
    blob = pickle.dumps((history, prepared), protocol=pickle.HIGHEST_PROTOCOL)
    s1 = time.perf_counter()
    pickle.loads(blob)
    s2 = time.perf_counter()
    print(
        f"fork sharing: workers inherit history + prepared series; pickling them instead would send "
        f"{len(blob) / 1e6:.1f} MB per worker ({s1 - s0:.2f} s to pickle, {s2 - s1:.2f} s to unpickle)"
    )
    verdict = "OK" if per_core >= TARGET_PER_CORE else "SLOW"
    print(f"target >= {TARGET_PER_CORE:.0f} configurations per second per core: {verdict}")
    return 0 if per_core >= TARGET_PER_CORE else 1


if __name__ == "__main__":
    raise SystemExit(main())
