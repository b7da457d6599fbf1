"""The CLI (run as a real subprocess) and the REST API over the same database: JSON contracts, the same
numbers from both, health, history, and clear errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from funding_rate_service.api.app import create_app
from perparb.settings import Settings
from simulator.protocol import installed_protocols
from simulator.server import DEMO_SCENARIO, SimulatorHandle, start_simulator
from tests.configs import free_sim_ports

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[2]
RATE_KEYS = {
    "venue",
    "symbol",
    "venue_symbol",
    "rate_hourly",
    "rate_8h",
    "apr",
    "raw_rate",
    "raw_period_hours",
    "mark_price",
    "open_interest_usd",
    "volume_24h_usd",
    "ts",
}
OPP_KEYS = {
    "symbol",
    "long_venue",
    "short_venue",
    "spread_hourly",
    "gross_apr",
    "round_trip_cost",
    "net_apr",
    "break_even_hours",
    "min_volume_24h_usd",
    "min_open_interest_usd",
}

FREE_PORTS = free_sim_ports()  # not the fixed default ports: tests may overlap


SIMULATED = "hyperliquid,lighter,paradex"


@pytest_asyncio.fixture(scope="module")
async def sim() -> AsyncIterator[SimulatorHandle]:
    async with await start_simulator(DEMO_SCENARIO) as handle:
        yield handle


def cli_env(db_url: str, sim: SimulatorHandle) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERPARB_") and k != "DATABASE_URL"}
    env.update(
        {
            "DATABASE_URL": db_url,
            "PERPARB_LIGHTER_URL": sim.url("lighter"),
            "PERPARB_PARADEX_URL": sim.url("paradex"),
            "PERPARB_HYPERLIQUID_URL": sim.url("hyperliquid"),
            "PERPARB_VENUES": SIMULATED,  # the simulated venues only: no real venue is reachable
            "PERPARB_HTTP_RETRIES": "1",
            "PERPARB_HTTP_BACKOFF_SECONDS": "0.01",
            "PYTHONPATH": str(PROJECT),
        }
    )
    return env


async def perparb(env: dict[str, str], *args: str, cwd: Path) -> tuple[int, str, str]:
    """Run `python -m perparb ARGS` in a subprocess (off the event loop: the simulator serves from it)."""
    import asyncio

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "perparb",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    return proc.returncode or 0, out.decode(), err.decode()


def _without_age(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in ("age_seconds", "stale")} for r in rows]


async def test_cli_and_api_agree(
    clean_engine: AsyncEngine, db_url: str, sim: SimulatorHandle, tmp_path: Path
) -> None:
    env = cli_env(db_url, sim)
    code, out, err = await perparb(env, "collect", "--once", "--json", cwd=tmp_path)
    assert code == 0, err
    summary = json.loads(out)  # stdout is pure JSON: logs go to stderr
    assert set(summary["venues"]) == {"hyperliquid", "lighter", "paradex"}
    for v in summary["venues"].values():
        assert v["status"] == "ok" and v["stored"] > 0 and v["rejected"] == 0
    assert summary["failed_venues"] == []

    code, out, err = await perparb(env, "rates", "--json", cwd=tmp_path)
    assert code == 0, err
    cli_rates = json.loads(out)
    assert cli_rates and all(RATE_KEYS <= set(r) for r in cli_rates)
    eth = {r["venue"]: r for r in cli_rates if r["symbol"] == "ETH"}
    assert set(eth) == {"hyperliquid", "lighter", "paradex"}
    # the demo's designed Hyperliquid ETH rate, fraction per hour (simulator/scenarios/demo_assets.json)
    assert eth["hyperliquid"]["rate_hourly"] == pytest.approx(-0.00002, rel=1e-12)
    for r in cli_rates:  # fractions, consistent with each other
        assert r["rate_8h"] == pytest.approx(8 * r["rate_hourly"], rel=1e-12)
        assert r["apr"] == pytest.approx(8760 * r["rate_hourly"], rel=1e-12)
        assert r["rate_hourly"] == pytest.approx(r["raw_rate"] / r["raw_period_hours"], rel=1e-12)
        assert abs(r["apr"]) < 50  # a fraction, not percent

    code, out, err = await perparb(env, "opportunities", "--json", "--limit", "5", cwd=tmp_path)
    assert code == 0, err
    cli_opps = json.loads(out)
    assert 0 < len(cli_opps) <= 5 and all(OPP_KEYS <= set(o) for o in cli_opps)

    settings = Settings(_env_file=None, database_url=db_url, venues=SIMULATED)
    app = create_app(settings.service_config(), engine=clean_engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://localhost"
    ) as client:
        api_rates = (await client.get("/api/v1/funding-rates")).json()
        assert _without_age(api_rates) == _without_age(cli_rates)
        api_opps = (await client.get("/api/v1/opportunities", params={"limit": 5})).json()
        strip = lambda rows: [{k: v for k, v in o.items() if k != "data_age_seconds"} for o in rows]  # noqa: E731
        assert strip(api_opps["opportunities"]) == strip(cli_opps)

        filtered = (
            await client.get("/api/v1/opportunities", params={"min_apr": 0.2, "symbols": "ETH"})
        ).json()
        assert all(o["symbol"] == "ETH" and o["net_apr"] >= 0.2 for o in filtered["opportunities"])

        health = (await client.get("/api/v1/health")).json()
        assert health["status"] == "ok"
        for v in ("hyperliquid", "lighter", "paradex"):
            assert health["venues"][v]["last_status"] == "ok"
            assert health["venues"][v]["data_age_seconds"] < 60 and not health["venues"][v]["stale"]

        hist = await client.get("/api/v1/funding-rates/lighter/ETH/history")
        assert hist.status_code == 200
        samples = hist.json()["samples"]
        assert samples and samples[-1]["rate_hourly"] == eth["lighter"]["rate_hourly"]

        assert (await client.get("/api/v1/funding-rates/lighter/NOPE/history")).status_code == 404
        bad = await client.get("/api/v1/opportunities", params={"venues": "binance"})
        assert bad.status_code == 422 and "binance" in bad.text
        bad = await client.get("/api/v1/opportunities", params={"horizon_hours": 0})
        assert bad.status_code == 422
        docs = await client.get("/openapi.json")
        assert "/api/v1/opportunities" in docs.json()["paths"]


async def test_collect_reports_a_failed_venue(
    clean_engine: AsyncEngine, db_url: str, sim: SimulatorHandle, tmp_path: Path
) -> None:
    env = cli_env(db_url, sim)
    env["PERPARB_PARADEX_URL"] = "http://127.0.0.1:9/v1"  # nothing listens on the discard port
    env["PERPARB_HTTP_TIMEOUT_SECONDS"] = "1"
    code, out, err = await perparb(env, "collect", "--once", "--json", cwd=tmp_path)
    assert code == 1, err
    summary = json.loads(out)
    assert summary["failed_venues"] == ["paradex"]
    assert summary["venues"]["lighter"]["stored"] > 0
    assert summary["venues"]["paradex"]["error"].startswith("paradex")


async def test_collect_reports_hyperliquid_and_a_hip3_dex_against_the_simulator(
    clean_engine: AsyncEngine, db_url: str, sim: SimulatorHandle, tmp_path: Path
) -> None:
    env = cli_env(db_url, sim)
    env["PERPARB_HYPERLIQUID_DEXES"] = "xyz"  # the demo's HIP-3 dex, served by the same simulated server
    env["PERPARB_VENUES"] = "hyperliquid,hyperliquid:xyz"
    code, out, err = await perparb(env, "collect", "--once", "--json", cwd=tmp_path)
    assert code == 0, err
    summary = json.loads(out)
    assert summary["failed_venues"] == []
    assert {v: (r["status"], r["stored"]) for v, r in summary["venues"].items()} == {
        "hyperliquid": ("ok", 6),
        "hyperliquid:xyz": ("ok", 1),
    }
    code, out, err = await perparb(env, "rates", "--json", "--venues", "hyperliquid:xyz", cwd=tmp_path)
    assert code == 0, err
    (xyz,) = json.loads(out)
    assert (xyz["symbol"], xyz["rate_hourly"]) == ("XYZ100", pytest.approx(0.00000625, rel=1e-12))


async def test_cli_errors_are_clear(db_url: str, sim: SimulatorHandle, tmp_path: Path) -> None:
    env = cli_env(db_url, sim)
    code, out, err = await perparb(env, "opportunities", "--venues", "binance", cwd=tmp_path)
    assert code == 2 and "unknown venue 'binance'" in err and out == ""
    code, out, err = await perparb(env, "backfill", "--venue", "lighter", "--days", "0", cwd=tmp_path)
    assert code == 2 and "--days" in err


def ready_urls(line: str) -> dict[str, str]:
    """venue -> URL of a `ready <venue>=<url> ...` line."""
    head, *pairs = line.split()
    assert head == "ready", line
    return dict(pair.split("=", 1) for pair in pairs)


def test_perparb_sim_prints_ready_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERPARB_")}
    env["PYTHONPATH"] = str(PROJECT)
    proc = subprocess.Popen(
        [sys.executable, "-m", "perparb", "sim", "--scenario", str(DEMO_SCENARIO), *FREE_PORTS],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        urls = ready_urls(line)
        assert list(urls) == list(installed_protocols()) and urls["paradex"].endswith("/v1"), (
            line
        )  # every venue, sorted
        body = httpx.get(f"{urls['lighter']}/api/v1/funding-rates", timeout=5).json()
        assert body["code"] == 200
        meta = httpx.post(f"{urls['hyperliquid']}/info", json={"type": "meta"}, timeout=5).json()
        assert meta["universe"][0]["name"] == "ETH"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_perparb_sim_port_and_venue_options(tmp_path: Path, unused_tcp_port: int) -> None:
    """`--venue` chooses the venues, `--port VENUE=PORT` their ports; an unknown venue is refused (exit 2)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERPARB_")}
    env["PYTHONPATH"] = str(PROJECT)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "perparb",
            "sim",
            "--scenario",
            str(DEMO_SCENARIO),
            "--venue",
            "paradex",
            "--port",
            f"paradex={unused_tcp_port}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == f"ready paradex=http://127.0.0.1:{unused_tcp_port}/v1\n"
        body = httpx.get(f"http://127.0.0.1:{unused_tcp_port}/v1/system/time", timeout=5).json()
        assert int(body["server_time"]) > 0
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    refused = subprocess.run(
        [sys.executable, "-m", "perparb", "sim", "--scenario", str(DEMO_SCENARIO), "--port", "kraken=1"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert refused.returncode == 2 and refused.stdout == ""
    assert f"no simulator for venue(s) ['kraken']; installed: {list(installed_protocols())}" in refused.stderr


def test_perparb_sim_refuses_a_bad_scenario(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    (bad / "lighter").mkdir(parents=True)
    (bad / "lighter" / "funding-rates.json").write_text("{not json")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERPARB_")}
    env["PYTHONPATH"] = str(PROJECT)
    proc = subprocess.run(
        [sys.executable, "-m", "perparb", "sim", "--scenario", str(bad)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "bad scenario" in proc.stderr and "funding-rates.json" in proc.stderr
    assert proc.stdout == ""


def test_perparb_sim_speed_factor(tmp_path: Path) -> None:
    """`--speed 3600`: one funding hour per real second on the simulator clock."""
    import time

    env = {k: v for k, v in os.environ.items() if not k.startswith("PERPARB_")}
    env["PYTHONPATH"] = str(PROJECT)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "perparb",
            "sim",
            "--scenario",
            str(DEMO_SCENARIO),
            "--speed",
            "3600",
            "--venue",  # Lighter alone: five venues at 3600x keep a core half busy, which a loaded CI machine
            "lighter",  # turns into slow answers; the clock under test is the same for every venue
            "--port",
            "lighter=0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        lighter = ready_urls(proc.stdout.readline())["lighter"]
        t1 = httpx.get(f"{lighter}/", timeout=5).json()["timestamp"]
        time.sleep(0.5)
        t2 = httpx.get(f"{lighter}/", timeout=5).json()["timestamp"]
        assert 1500 <= t2 - t1 <= 3600, (t1, t2)  # ~0.5 real seconds = ~1800 simulated seconds
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
