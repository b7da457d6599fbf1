"""The soak's report: counts, latencies, invariants; as text, JSON and a PNG timeline (matplotlib).

JSON shape (`SoakReport.to_json()`):
    {"seed": int, "accounts": int, "simulated_hours": float, "venues": [str], "speed": float,
     "wall_seconds": float, "faults": {kind: injected count}, "faults_missed": {kind: count},
     "recoveries": {"runner_restarts": int, "by_cause": {cause: int}},
     "entries": int, "exits": int, "hedges": int, "unwinds": int, "rehedges": int, "grid_fills": int,
     "worst_rebalance_seconds": float | null, "latency_ms": {"database": {"p50", "p99", "n"},
     "venue": {"p50", "p99", "n"}, "order": {"p50", "p99", "n"}}, "invariants": {name: violations}, "violations": {name: [first lines]},
     "checks": int, "checks_skipped": int, "ok": bool, "workdir": str, "timeline_png": str | null}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


def percentiles(values: list[float]) -> dict[str, float | int | None]:
    """{"p50", "p99" (milliseconds, 2 decimals), "n"} of `values`; None figures when empty."""
    if not values:
        return {"p50": None, "p99": None, "n": 0}
    arr = np.asarray(values, dtype=float)
    return {
        "p50": round(float(np.percentile(arr, 50)), 2),
        "p99": round(float(np.percentile(arr, 99)), 2),
        "n": len(values),
    }


@dataclass
class TimelineMark:
    """One point of the timeline: `t` wall seconds after trading started, `lane` ("fault", "entry", "exit",
    "check", "restart"), `label` (the fault kind, ...) and `bad` (a check that found violations)."""

    t: float
    lane: str
    label: str
    bad: bool = False


@dataclass
class SoakReport:
    seed: int
    accounts: int
    simulated_hours: float
    venues: list[str]
    speed: float
    wall_seconds: float = 0.0
    faults: dict[str, int] = field(default_factory=dict)
    faults_missed: dict[str, int] = field(default_factory=dict)
    restarts_by_cause: dict[str, int] = field(default_factory=dict)
    entries: int = 0
    exits: int = 0
    hedges: int = 0
    unwinds: int = 0
    rehedges: int = 0
    grid_fills: int = 0
    worst_rebalance_seconds: float | None = None
    db_latency_ms: list[float] = field(default_factory=list)
    venue_latency_ms: list[float] = field(default_factory=list)
    order_latency_ms: list[float] = field(default_factory=list)
    invariants: dict[str, int] = field(default_factory=dict)
    violations: dict[str, list[str]] = field(default_factory=dict)
    checks: int = 0
    checks_skipped: int = 0
    timeline: list[TimelineMark] = field(default_factory=list)
    workdir: str = ""
    timeline_png: str | None = None

    def add_violations(self, name: str, lines: list[str]) -> None:
        self.invariants[name] = self.invariants.get(name, 0) + len(lines)
        if lines:
            kept = self.violations.setdefault(name, [])
            kept.extend(lines[: max(0, 20 - len(kept))])

    @property
    def ok(self) -> bool:
        return all(v == 0 for v in self.invariants.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "accounts": self.accounts,
            "simulated_hours": self.simulated_hours,
            "venues": self.venues,
            "speed": self.speed,
            "wall_seconds": round(self.wall_seconds, 1),
            "faults": dict(sorted(self.faults.items())),
            "faults_missed": dict(sorted(self.faults_missed.items())),
            "recoveries": {
                "runner_restarts": sum(self.restarts_by_cause.values()),
                "by_cause": dict(sorted(self.restarts_by_cause.items())),
            },
            "entries": self.entries,
            "exits": self.exits,
            "hedges": self.hedges,
            "unwinds": self.unwinds,
            "rehedges": self.rehedges,
            "grid_fills": self.grid_fills,
            "worst_rebalance_seconds": None
            if self.worst_rebalance_seconds is None
            else round(self.worst_rebalance_seconds, 1),
            "latency_ms": {
                "database": percentiles(self.db_latency_ms),
                "venue": percentiles(self.venue_latency_ms),
                "order": percentiles(self.order_latency_ms),
            },
            "invariants": dict(self.invariants),
            "violations": self.violations,
            "checks": self.checks,
            "checks_skipped": self.checks_skipped,
            "ok": self.ok,
            "workdir": self.workdir,
            "timeline_png": self.timeline_png,
        }

    def to_text(self) -> str:
        """The human report (plain text, one figure a line)."""
        j = self.to_json()
        lines = [
            f"soak seed {self.seed}: {self.accounts} accounts on {', '.join(self.venues)}, {self.simulated_hours:g} "
            f"simulated hours at {self.speed:g}x in {j['wall_seconds']:.0f} s of wall time",
            "faults injected: " + ", ".join(f"{k} {v}" for k, v in j["faults"].items()),
        ]
        if j["faults_missed"]:
            lines.append(
                "faults not injected (no target at the time): "
                + ", ".join(f"{k} {v}" for k, v in j["faults_missed"].items())
            )
        rec = j["recoveries"]
        lines += [
            f"recoveries: {rec['runner_restarts']} runner restarts ("
            + ", ".join(f"{k} {v}" for k, v in rec["by_cause"].items())
            + ")",
            f"entries {self.entries}, exits {self.exits}, hedges {self.hedges}, unwinds {self.unwinds}, "
            f"re-hedges {self.rehedges}, grid fills {self.grid_fills}",
            "worst time to re-balance: "
            + (
                "no imbalance seen"
                if self.worst_rebalance_seconds is None
                else f"{self.worst_rebalance_seconds:.1f} s wall"
            ),
            f"database latency p50 {j['latency_ms']['database']['p50']} ms, p99 {j['latency_ms']['database']['p99']} ms "
            f"({j['latency_ms']['database']['n']} probes); venue latency p50 {j['latency_ms']['venue']['p50']} ms, "
            f"p99 {j['latency_ms']['venue']['p99']} ms ({j['latency_ms']['venue']['n']} calls); IOC order (row written to "
            f"outcome written) p50 {j['latency_ms']['order']['p50']} ms, p99 {j['latency_ms']['order']['p99']} ms "
            f"({j['latency_ms']['order']['n']} orders)",
            f"invariant checks: {self.checks} rounds ({self.checks_skipped} venue reads skipped during faults)",
        ]
        for name, count in self.invariants.items():
            lines.append(f"  {name:32s} {count}")
            for v in self.violations.get(name, [])[:5]:
                lines.append(f"      {v}")
        lines.append("ALL INVARIANTS HOLD" if self.ok else "BROKEN INVARIANTS")
        if self.timeline_png:
            lines.append(f"timeline: {self.timeline_png}")
        return "\n".join(lines)


LANES = ("fault", "restart", "entry", "exit", "check")


def plot_timeline(report: SoakReport, path: Path) -> Path:
    """Write the PNG timeline of `report` (one lane each for faults, restarts, entries, exits and checks; failed
    checks in red) to `path`; returns it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(12, 4.5), dpi=100)
    colors = {
        "fault": "tab:orange",
        "restart": "tab:purple",
        "entry": "tab:green",
        "exit": "tab:blue",
        "check": "tab:gray",
    }
    for row, lane in enumerate(LANES):
        marks = [m for m in report.timeline if m.lane == lane]
        good = [m.t for m in marks if not m.bad]
        bad = [m.t for m in marks if m.bad]
        ax.scatter(good, [row] * len(good), marker="|", s=200, color=colors[lane])
        if bad:
            ax.scatter(bad, [row] * len(bad), marker="x", s=80, color="red", label="check with violations")
        if lane == "fault":
            for m in marks:
                ax.annotate(
                    m.label, (m.t, row), xytext=(0, 8), textcoords="offset points", rotation=60, fontsize=6
                )
    ax.set_yticks(range(len(LANES)))
    ax.set_yticklabels(LANES)
    ax.set_ylim(-0.7, len(LANES) + 0.3)
    ax.set_xlabel(f"wall seconds (x{report.speed:g} = simulated seconds)")
    verdict = (
        "all invariants 0"
        if report.ok
        else "broken: " + ", ".join(k for k, v in report.invariants.items() if v)
    )
    ax.set_title(
        f"perparb soak seed {report.seed}: {report.accounts} accounts, {report.simulated_hours:g} h; {verdict}"
    )
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
