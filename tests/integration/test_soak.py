"""Issue #18: the short soak (4 accounts, 1 simulated hour, a fixed seed, every fault kind) through the real
`perparb soak` command, which must end with every invariant at 0; and the invariant checks themselves, shown to
find what they guard (an order sent behind the database's back, a run ended without a reason, a vault that cannot
decrypt), so a 0 in the soak's report means something."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from decimal import ROUND_UP, Decimal
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from database.accounts import add_account
from database.vault import Vault, new_key
from exchange_clients.base.trading import Side
from exchange_clients.registry import create_client, default_config
from perparb.soak import invariants as inv
from perparb.soak.harness import soak_venues
from perparb.soak.plan import FAULT_KINDS, VENUE_FAULTS
from perparb.soak.venues import SimAdminClient, SimVenue
from perparb_core.settings import HttpConfig
from simulator.server import DEMO_SCENARIO, SimulatorHandle, start_simulator
from tests.conftest import PROJECT

pytestmark = pytest.mark.integration

SHORT_SOAK_SEED = 7


def soak_env(database_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERPARB_") and k != "DATABASE_URL"}
    env["PYTHONPATH"] = str(PROJECT)
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return env


async def run_cli_soak(
    *args: str, timeout: float = 900, database_url: str | None = None
) -> tuple[int, dict[str, object], str]:
    """`perparb soak ARGS --json` in a fresh work folder; (exit code, the JSON report, stderr). With
    `database_url` the soak runs against that server (DATABASE_URL) instead of its own embedded one; the test
    also checks that no embedded server was made in the work folder then."""
    workdir = Path(tempfile.mkdtemp(prefix="ppsoak", dir="/tmp"))
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "perparb",
            "soak",
            *args,
            "--json",
            "--workdir",
            str(workdir),
            cwd=PROJECT,
            env=soak_env(database_url),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
        report = json.loads(out.decode()) if out.strip() else {}
        assert (workdir / "timeline.png").stat().st_size > 10_000
        assert (workdir / "pg").exists() is (database_url is None)
        return proc.returncode or 0, report, err.decode()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


async def test_short_soak_holds_every_invariant() -> None:
    code, report, err = await run_cli_soak(
        "--accounts", "4", "--simulated-hours", "1", "--seed", str(SHORT_SOAK_SEED)
    )
    assert report, err[-2000:]
    assert report["invariants"] == {name: 0 for name in inv.INVARIANTS}, report["violations"]
    assert code == 0 and report["ok"] is True
    assert (report["seed"], report["accounts"], report["simulated_hours"]) == (SHORT_SOAK_SEED, 4, 1.0)
    faults = report["faults"]
    assert isinstance(faults, dict)
    missed = report["faults_missed"]
    assert isinstance(missed, dict)
    # every kind was scheduled; every venue fault, a SIGKILL and a database restart were injected (the other runner
    # faults wait up to 15 s for a target that may be restarting, and may miss it)
    assert set(faults) | set(missed) == set(FAULT_KINDS)
    assert set(VENUE_FAULTS) | {"sigkill", "db_restart"} <= set(faults), missed
    assert sum(faults.values()) >= 12, faults
    assert report["entries"] >= 1 and report["exits"] >= 1  # type: ignore[operator]
    assert report["recoveries"]["runner_restarts"] >= 3  # type: ignore[index]


async def test_soak_on_an_external_database(create_database) -> None:  # type: ignore[no-untyped-def]
    """DATABASE_URL mode: the runners share the given server (migrated by the soak), which the soak never restarts:
    its database-restart fault terminates every other session of that database instead, and the runs recover."""
    url = await create_database()
    code, report, err = await run_cli_soak(
        "--accounts",
        "2",
        "--simulated-hours",
        "1",
        "--seed",
        "11",
        "--venues",
        "lighter,paradex",
        database_url=url,
    )
    assert report, err[-2000:]
    assert report["invariants"] == {name: 0 for name in inv.INVARIANTS}, report["violations"]
    assert code == 0 and report["ok"] is True
    faults = report["faults"]
    assert isinstance(faults, dict) and faults.get("db_restart") == 1, (faults, report["faults_missed"])
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:  # the soak's accounts, runs and fills are in THIS database
            names = (await conn.execute(text("SELECT name FROM accounts ORDER BY name"))).scalars().all()
            runs = (
                await conn.execute(
                    text("SELECT count(*) FROM strategy_runs WHERE account_name = ANY(:a)"), {"a": names}
                )
            ).scalar_one()
            terminated = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM strategy_runs WHERE account_name = ANY(:a) AND stopped_at IS NOT NULL AND stop_reason IS NOT NULL"
                    ),
                    {"a": names},
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    assert len(names) == 2 and all(n.startswith("soak11-") for n in names), names
    assert (
        runs >= 4 and terminated == runs
    )  # the restart fault ended runs, the restarts made new ones; all ended


def _processes_naming(text_: str) -> list[str]:
    """Command lines of the live processes whose command line contains `text_` (from /proc)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # the process ended while listed
            continue
        if text_ in args:
            found.append(args)
    return found


def _kill_processes_naming(text_: str) -> None:
    """SIGKILL every live process whose command line contains `text_`."""
    for pid_dir in Path("/proc").glob("[0-9]*"):
        try:
            if text_ in (pid_dir / "cmdline").read_bytes().decode(errors="replace"):
                os.kill(int(pid_dir.name), signal.SIGKILL)
        except (OSError, ValueError):
            continue


async def test_sigterm_stops_the_soak_and_everything_it_started() -> None:
    """A soak stopped with SIGTERM (a CI timeout, systemd, `kill`) stops its runners, its simulator and its
    embedded database: nothing it started outlives it."""
    workdir = Path(tempfile.mkdtemp(prefix="ppsoak", dir="/tmp"))
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "perparb",
            "soak",
            "--accounts",
            "2",
            "--simulated-hours",
            "2",
            "--seed",
            "3",
            "--venues",
            "lighter,paradex",
            "--workdir",
            str(workdir),
            cwd=PROJECT,
            env=soak_env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(240):  # both runners started (their logs written) and the database up
            runner_logs = [workdir / f"runner-{i:02d}.log" for i in range(2)]
            if all(f.exists() and f.stat().st_size > 0 for f in runner_logs):
                break
            assert proc.returncode is None
            await asyncio.sleep(0.5)
        else:
            raise AssertionError("the soak's runners never started")
        started = _processes_naming(str(workdir))
        assert any(" run " in c for c in started) and any("postgres" in c for c in started), started
        proc.terminate()
        _out, err = await asyncio.wait_for(proc.communicate(), 90)
        assert proc.returncode == 2, (proc.returncode, err.decode()[-2000:])
        assert "soak interrupted" in err.decode()
        assert _processes_naming(str(workdir)) == []
    finally:  # a failed run must not leave its processes behind either
        _kill_processes_naming(str(workdir))
        shutil.rmtree(workdir, ignore_errors=True)


# ------------------------------------------------------------------------------- the checks find violations


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[SimulatorHandle]:
    async with await start_simulator(
        DEMO_SCENARIO, venues=soak_venues(None), push_interval_seconds=0.2
    ) as handle:
        yield handle


async def test_checks_find_an_order_behind_the_databases_back(
    clean_engine: AsyncEngine, sim: SimulatorHandle
) -> None:
    engine = clean_engine
    vault = Vault.from_key(new_key())
    first, second = soak_venues(None)[:2]
    async with aiohttp.ClientSession() as http:
        admin = SimAdminClient(
            http, {v: SimVenue(v, sim.url(v).rstrip("/"), sim.venues[v].root_url) for v in (first, second)}
        )
        await admin.discover("ETH")
        account = inv.SoakAccount(0, "chk-0", "funding_arbitrage", [first, second])
        for venue in (first, second):
            config = default_config(venue, http=HttpConfig(timeout_seconds=5, retries=1)).pointed_at(
                admin.venues[venue].rest_url, None
            )
            creds, _ids = await admin.provision(venue, config, Decimal(100_000))
            await add_account(engine, vault, name=account.name, creds=creds)
            account.clients[venue] = create_client(creds, config, markets=["ETH"])
        await asyncio.gather(*(c.connect() for c in account.clients.values()))
        try:
            since = datetime.now(timezone.utc) - timedelta(minutes=1)
            views = await inv.account_views(account, "ETH", since)
            assert views is not None
            clean = await inv.account_end_checks(engine, account, views, "ETH")
            assert {k: v for k, v in clean.items() if v} == {}
            net, _step = inv.net_delta(views, "ETH")
            assert net == 0
            assert await inv.account_net_delta(account, "ETH") == (
                net,
                _step,
            )  # the harness's positions-only read
            # one leg bought behind the database's back: a naked leg, an orphan order, an unrecorded fill
            client = account.clients[first]
            attrs = await client.get_contract_attributes("ETH")
            bid, ask = await client.fetch_bbo_prices("ETH")
            step = max(attrs.min_size or Decimal(0), attrs.size_step)
            size = max(step * 10, (Decimal(20) / ask / step).to_integral_value(ROUND_UP) * step)  # >= 20 USD
            await client.place_market_order(
                "ETH", Side.BUY, size, max_slippage_bps=Decimal(100), client_order_id="4242001"
            )
            await client.place_limit_order(
                "ETH",
                Side.BUY,
                size,
                (bid * Decimal("0.8")).quantize(attrs.tick_size),
                client_order_id="4242002",
            )
            views = None
            for _ in range(20):
                views = await inv.account_views(account, "ETH", since)
                if views is not None and views[first].positions.get("ETH") and views[first].open_orders:
                    break
                await asyncio.sleep(0.2)
            assert views is not None
            net, step = inv.net_delta(views, "ETH")
            assert abs(net) > step
            assert await inv.account_net_delta(account, "ETH") == (
                net,
                step,
            )  # the naked leg, from positions alone
            found = await inv.account_end_checks(engine, account, views, "ETH")
            assert len(found["no_orphan_venue_order"]) >= 2  # the open order and the fill's order
            assert found["positions_match"] and found["fills_exactly_once"]
        finally:
            for c in account.clients.values():
                await c.disconnect()
    # a run ended without its reason; a vault that cannot decrypt the account
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO strategy_runs (account_name, strategy, config_name, config, mode, venues, status, host, "
                "pid) VALUES ('chk-0', 'grid', 'x', '{}', 'live', '[]', 'stopped', 'h', 1)"
            )
        )
    assert len(await inv.liveness(engine, ["chk-0"], set(), final=True)) == 1
    assert await inv.vault_decrypts(engine, vault, ["chk-0"]) == []
    assert len(await inv.vault_decrypts(engine, Vault.from_key(new_key()), ["chk-0"])) == 1
