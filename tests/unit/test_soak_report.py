"""The soak's report (issue #18 item 4): the JSON carries the issue's keys, counts every violation (keeping the first
lines), percentiles in milliseconds, a text verdict, and a PNG timeline."""

from __future__ import annotations

from pathlib import Path

from perparb.soak.report import SoakReport, TimelineMark, percentiles, plot_timeline


def report() -> SoakReport:
    r = SoakReport(seed=3, accounts=4, simulated_hours=1.0, venues=["a", "b"], speed=60.0)
    r.faults = {"sigkill": 2, "reject": 1}
    r.restarts_by_cause = {"sigkill": 2, "exit 2": 3}
    r.db_latency_ms = [float(i) for i in range(1, 101)]
    r.timeline = [TimelineMark(1.0, "fault", "sigkill"), TimelineMark(2.0, "check", "continuous", bad=True)]
    return r


def test_json_has_the_issue_s_keys_and_counts() -> None:
    r = report()
    r.add_violations("no_naked_leg", [f"line {i}" for i in range(25)])
    r.add_violations("db_check", [])
    j = r.to_json()
    assert {"seed", "accounts", "simulated_hours", "faults", "invariants"} <= set(j)
    assert (j["seed"], j["accounts"], j["simulated_hours"]) == (3, 4, 1.0)
    assert j["faults"] == {"reject": 1, "sigkill": 2}
    assert j["invariants"] == {"no_naked_leg": 25, "db_check": 0}
    assert len(j["violations"]["no_naked_leg"]) == 20  # the first lines only
    assert j["recoveries"] == {"runner_restarts": 5, "by_cause": {"exit 2": 3, "sigkill": 2}}
    assert j["latency_ms"]["database"] == {"p50": 50.5, "p99": 99.01, "n": 100}
    assert j["latency_ms"]["venue"] == {"p50": None, "p99": None, "n": 0}
    assert j["ok"] is False and "BROKEN INVARIANTS" in r.to_text()


def test_clean_report_says_so_and_draws_its_timeline(tmp_path: Path) -> None:
    r = report()
    r.add_violations("no_naked_leg", [])
    assert r.ok and r.to_text().splitlines()[-1] == "ALL INVARIANTS HOLD"
    png = plot_timeline(r, tmp_path / "t.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000


def test_percentiles_of_nothing() -> None:
    assert percentiles([]) == {"p50": None, "p99": None, "n": 0}
    assert percentiles([5.0]) == {"p50": 5.0, "p99": 5.0, "n": 1}
