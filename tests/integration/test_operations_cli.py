"""Unattended operation from the outside, as an operator sees it (issue #14), with real subprocesses:

* a paper run of the example config with `--metrics-port` and JSON logs: `/metrics` shows the run's series with
  non-zero values after its entries; `perparb pause`, `resume` and `flatten` from other processes act on it
  through the database (the run stops flat); its JSON log lines carry run and account and never a key;
* `perparb collect --metrics-port` exports the collector's series; `perparb serve`'s `/metrics` refreshes the
  market series (data age, best opportunity) from the database.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from eth_account import Account
from httpx import ASGITransport, AsyncClient
from lighter.signer_client import create_api_key
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from database.accounts import add_account
from database.vault import Vault
from exchange_clients.lighter.credentials import LighterCredentials
from exchange_clients.paradex.credentials import ParadexCredentials
from funding_rate_service.collector import run_cycle
from perparb.web import create_web_app
from perparb_core.settings import DatabaseConfig, ServiceConfig
from simulator.server import DEMO_SCENARIO, start_simulator
from tests.configs import sim_config
from tests.integration.test_run_cli import KEY, PROJECT, cli_env, perparb, write_config

pytestmark = pytest.mark.integration

EXAMPLE = PROJECT / "configs" / "funding_arbitrage.example.yaml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def samples(exposition: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value} of a Prometheus exposition."""
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(exposition):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return found[(name, tuple(sorted(labels.items())))]


async def scrape(url: str) -> str:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        assert resp.status == 200, resp.status
        return await resp.text()


@pytest_asyncio.fixture(scope="module")
async def ops_account(engine: AsyncEngine) -> dict[str, str]:
    """Account 'ops' (Lighter + Paradex keys, in a vault under the CLI tests' KEY); returns its secrets."""
    vault = Vault.from_key(KEY)
    private_key, _public, error = create_api_key()
    assert error is None
    await add_account(
        engine,
        vault,
        name="ops",
        creds=LighterCredentials(
            account_index=51_001, api_key_index=3, api_private_key=SecretStr(private_key)
        ),
    )
    eth = Account.create()
    l1_key = eth.key.hex()
    await add_account(
        engine,
        vault,
        name="ops",
        creds=ParadexCredentials(l1_address=eth.address, l1_private_key=SecretStr(l1_key)),
    )
    return {"lighter": private_key, "paradex": l1_key}


async def test_a_paper_run_exports_metrics_and_obeys_pause_resume_flatten_from_other_processes(
    engine: AsyncEngine, db_url: str, ops_account: dict[str, str], tmp_path: Path
) -> None:
    config = write_config(
        tmp_path / "ops.yaml", {"name": "ops-arb", "loop_interval_seconds": 1}, base=EXAMPLE
    )
    port = free_port()
    env = cli_env(db_url, PERPARB_LOG_FORMAT="json", PERPARB_LOG_LEVEL="DEBUG")
    stderr_path = tmp_path / "run.stderr"
    with stderr_path.open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "perparb",
            "run",
            str(config),
            "--account",
            "ops",
            "--paper",
            "--metrics-port",
            str(port),
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
        )
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 120
        while True:  # both designed entries (ETH, SOL) open on the first cycle
            async with engine.connect() as conn:
                opened = (
                    await conn.execute(
                        text("SELECT count(*) FROM positions WHERE account_name = 'ops' AND status = 'open'")
                    )
                ).scalar_one()
            if opened == 2:
                break
            assert proc.returncode is None, stderr_path.read_text()[-3000:]
            assert loop.time() < deadline, "the paper run opened no positions in time"
            await asyncio.sleep(0.3)

        async def exported() -> dict[Any, float]:
            while True:
                found = samples(await scrape(f"http://127.0.0.1:{port}/metrics"))
                legs = [k for k in found if k[0] == "perparb_leg_liquidation_distance_ratio"]
                key = ("perparb_run_open_positions", (("account", "ops"), ("config", "ops-arb")))
                if found.get(key) == 2 and legs:
                    return found  # both open, and a cycle's monitor has read the legs at the venues
                await asyncio.sleep(0.3)

        found = await asyncio.wait_for(exported(), 30)
        run_labels = {"account": "ops", "config": "ops-arb"}
        for venue in ("lighter", "paradex"):
            assert value(found, "perparb_run_notional_usd", venue=venue, **run_labels) > 0
            assert value(found, "perparb_order_round_trip_seconds_count", venue=venue) >= 2
        assert value(found, "perparb_entry_leg_gap_seconds_count") >= 2
        assert value(found, "perparb_run_equity_usd", **run_labels) != 0  # entry fees at least
        assert value(found, "perparb_run_entries_paused", **run_labels) == 0
        legs = [k for k in found if k[0] == "perparb_leg_liquidation_distance_ratio"]
        assert all(found[k] > 0 for k in legs)  # a leg whose venue reports a liquidation price

        code, out, err = await perparb(
            cli_env(db_url), "pause", "--account", "ops", "--reason", "drill", "--json", cwd=tmp_path
        )
        assert code == 0, err
        paused = json.loads(out)
        assert (paused["status"], paused["result"]) == ("done", "entries paused")
        run_id = paused["run_id"]
        found = samples(await scrape(f"http://127.0.0.1:{port}/metrics"))
        assert value(found, "perparb_run_entries_paused", **run_labels) == 1
        code, out, err = await perparb(cli_env(db_url), "resume", "--account", "ops", "--json", cwd=tmp_path)
        assert code == 0, err
        assert (json.loads(out)["result"], json.loads(out)["run_id"]) == ("entries resumed", run_id)

        code, out, err = await perparb(
            cli_env(db_url),
            "flatten",
            "--account",
            "ops",
            "--reason",
            "drill over",
            cwd=tmp_path,
            timeout=150,
        )
        assert code == 0, err
        assert f"(run {run_id}); run stopped: flatten from cli " in out and "drill over" in out
        run_out, _ = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, stderr_path.read_text()[-3000:]
    # (no --json: that keeps the run's stderr to warnings; here every INFO line is wanted in the log)
    assert f"run {run_id} (paper funding_arbitrage 'ops-arb' on ops): stopped after" in run_out.decode()
    assert "(flatten from cli " in run_out.decode()
    async with engine.connect() as conn:
        left = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM positions WHERE account_name = 'ops' AND run_id = :r "
                    "AND (status <> 'closed' OR quantity <> 0)"
                ),
                {"r": run_id},
            )
        ).scalar_one()
        kinds = (
            await conn.execute(
                text(
                    "SELECT kind, message FROM strategy_events WHERE run_id = :r AND kind IN ('command', 'flattened')"
                ),
                {"r": run_id},
            )
        ).all()
    assert left == 0
    assert [k for k, _ in kinds] == ["command", "command", "command", "flattened"]
    assert "0 position(s) left open" in kinds[-1][1]

    # the run's log: one JSON object per line, the run's lines tagged, no key anywhere
    raw = stderr_path.read_text()
    lines = [json.loads(line) for line in raw.splitlines() if line.strip()]
    assert lines and all({"time", "level", "logger", "event"} <= set(line) for line in lines)
    tagged = [line for line in lines if line.get("run") == run_id]
    assert tagged and all(line["account"] == "ops" for line in tagged)
    assert any(line.get("venue") for line in lines)
    for secret in ops_account.values():
        assert secret not in raw and secret.removeprefix("0x") not in raw

    # nothing is running any more: a second flatten is refused in one line, as is an unknown account
    code, _out, err = await perparb(cli_env(db_url), "flatten", "--account", "ops", cwd=tmp_path)
    assert code == 2 and "no running run of 'ops': nothing to flatten" in err
    code, _out, err = await perparb(cli_env(db_url), "pause", "--account", "nobody", cwd=tmp_path)
    assert code == 2 and "unknown account 'nobody'" in err
    # a pause while nothing runs is kept for the next run
    code, out, err = await perparb(cli_env(db_url), "pause", "--account", "ops", "--json", cwd=tmp_path)
    assert code == 0 and "its next run starts paused" in json.loads(out)["result"]
    code, out, err = await perparb(cli_env(db_url), "resume", "--account", "ops", "--json", cwd=tmp_path)
    assert code == 0, err


async def test_collect_exports_its_metrics(db_url: str, tmp_path: Path) -> None:
    port = free_port()
    async with await start_simulator(DEMO_SCENARIO, venues=["lighter", "paradex"]) as sim:
        env = cli_env(
            db_url,
            PERPARB_VENUES="lighter,paradex",
            PERPARB_LIGHTER_URL=sim.url("lighter"),
            PERPARB_PARADEX_URL=sim.url("paradex"),
            PERPARB_COLLECT_INTERVAL_SECONDS="1",
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "perparb",
            "collect",
            "--metrics-port",
            str(port),
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:

            async def cycled() -> dict[Any, float]:
                while True:
                    try:
                        found = samples(await scrape(f"http://127.0.0.1:{port}/metrics"))
                    except aiohttp.ClientConnectionError:
                        found = {}
                    if (found.get(("perparb_collector_cycle_duration_seconds_count", ())) or 0) >= 2:
                        return found
                    assert proc.returncode is None
                    await asyncio.sleep(0.3)

            found = await asyncio.wait_for(cycled(), 90)
        finally:
            proc.terminate()
            _out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()[-2000:]
    for venue in ("lighter", "paradex"):
        assert value(found, "perparb_collector_cycle_rows", venue=venue) > 0
        assert value(found, "perparb_collector_rows_total", venue=venue) > 0
        assert 0 <= value(found, "perparb_data_age_seconds", venue=venue) < 600
    assert value(found, "perparb_opportunities") > 0


async def test_serve_metrics_refresh_from_the_database(engine: AsyncEngine) -> None:
    from exchange_clients.registry import create_funding_adapter

    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE funding_rate_samples, market_states, collection_runs CASCADE"))
    async with await start_simulator(DEMO_SCENARIO, venues=["lighter", "paradex"]) as sim:
        adapters = [create_funding_adapter(sim_config(sim, v)) for v in ("lighter", "paradex")]
        try:
            await run_cycle(engine, adapters, venue_timeout_seconds=10)
        finally:
            for adapter in adapters:
                await adapter.close()
    app = create_web_app(
        ServiceConfig(database=DatabaseConfig(), venues=("lighter", "paradex", "nowhere")), engine=engine
    )
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://127.0.0.1") as client:
        resp = await client.get("/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    found = samples(resp.text)
    assert 0 <= value(found, "perparb_data_age_seconds", venue="lighter") < 600
    assert value(found, "perparb_data_age_seconds", venue="nowhere") == float("inf")  # never collected
    best = value(found, "perparb_best_opportunity_net_apr_ratio")
    assert best == best and value(found, "perparb_opportunities") > 0  # not NaN: the demo ranks pairs
