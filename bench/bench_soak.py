"""Benchmark: the full soak (issue #18): the default `perparb soak` (12 accounts, every simulated venue, 6 simulated hours at
60x) on one or more seeds, each through the real command, and the figures docs/operations.md quotes: wall time,
faults injected by kind, runner restarts, entries / exits / hedges / unwinds, the worst time to re-balance, p50 /
p99 of database, venue and order latencies under load, and every invariant's count (target 0). Exit 1 when an
invariant is broken on any seed.

Run: .venv/bin/python bench/bench_soak.py [--seeds 1,2,3] [--accounts 12] [--simulated-hours 6] [--keep DIR]
(about 8 minutes a seed on a 2-core machine; --keep DIR keeps each seed's JSON report and PNG timeline there).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def run_seed(seed: int, accounts: int, hours: float, keep: Path | None) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="ppsoak", dir="/tmp"))
    keep_logs = False
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERPARB_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "perparb",
                "soak",
                "--seed",
                str(seed),
                "--accounts",
                str(accounts),
                "--simulated-hours",
                str(hours),
                "--json",
                "--workdir",
                str(workdir),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=3600,
        )
        if not done.stdout.strip():
            raise SystemExit(f"seed {seed}: no report (exit {done.returncode}): {done.stderr[-2000:]}")
        report: dict[str, Any] = json.loads(done.stdout)
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            (keep / f"soak-seed{seed}.json").write_text(json.dumps(report, indent=2) + "\n")
            shutil.copy(workdir / "timeline.png", keep / f"soak-seed{seed}.png")
        keep_logs = not report.get(
            "ok"
        )  # a broken invariant: keep logs, database and PNG for the post-mortem
        if keep_logs:
            print(f"seed {seed}: logs kept in {workdir}", file=sys.stderr)
        return report
    finally:
        if not keep_logs:
            shutil.rmtree(workdir, ignore_errors=True)


def summary(r: dict[str, Any]) -> str:
    lat = r["latency_ms"]
    broken = {k: v for k, v in r["invariants"].items() if v}
    return "\n".join(
        [
            f"seed {r['seed']}: {r['accounts']} accounts, {r['simulated_hours']:g} simulated h on {', '.join(r['venues'])} "
            f"at {r['speed']:g}x: {r['wall_seconds']:.0f} s wall",
            "  faults: "
            + ", ".join(f"{k} {v}" for k, v in r["faults"].items())
            + f" (total {sum(r['faults'].values())})",
            "  not injected: " + (", ".join(f"{k} {v}" for k, v in r["faults_missed"].items()) or "none"),
            f"  runner restarts {r['recoveries']['runner_restarts']}; entries {r['entries']}, exits {r['exits']}, "
            f"hedges {r['hedges']}, unwinds {r['unwinds']}, re-hedges {r['rehedges']}, grid fills {r['grid_fills']}",
            f"  worst re-balance {r['worst_rebalance_seconds']} s; latency ms p50/p99: database "
            f"{lat['database']['p50']}/{lat['database']['p99']}, venue {lat['venue']['p50']}/{lat['venue']['p99']}, "
            f"IOC order {lat['order']['p50']}/{lat['order']['p99']}",
            "  invariants: " + ("all 0" if not broken else f"BROKEN {broken}"),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="1", help="comma-separated seeds (default 1)")
    parser.add_argument("--accounts", type=int, default=12)
    parser.add_argument("--simulated-hours", type=float, default=6.0)
    parser.add_argument(
        "--keep", type=Path, default=None, help="keep each seed's JSON and PNG in this folder"
    )
    args = parser.parse_args()
    reports = []
    for seed in (int(s) for s in args.seeds.split(",") if s.strip()):
        report = run_seed(seed, args.accounts, args.simulated_hours, args.keep)
        reports.append(report)
        print(summary(report), flush=True)
    if not all(r["ok"] for r in reports):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
