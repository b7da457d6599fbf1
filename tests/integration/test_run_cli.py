"""`perparb config validate` and `perparb run` as real subprocesses against a test database: the config errors of
issue #6 (unknown key, negative size, leverage above a venue's maximum, unknown account) each with its precise
message, the refusals of `run` (unknown account, missing credentials, lease held) as one clean line with exit
code 2, and a short paper run."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml
from eth_account import Account
from lighter.signer_client import create_api_key
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from database.accounts import add_account
from database.vault import Vault, encode_key, new_key
from exchange_clients.lighter.credentials import LighterCredentials
from exchange_clients.paradex.credentials import ParadexCredentials
from strategies.state import Lease

pytestmark = pytest.mark.integration
PROJECT = Path(__file__).resolve().parents[2]
EXAMPLE = PROJECT / "configs" / "funding_arbitrage.example.yaml"
KEY = new_key()


def cli_env(db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERPARB_") and k != "DATABASE_URL"}
    env.update(
        {
            "DATABASE_URL": db_url,
            "PERPARB_MASTER_KEY": encode_key(KEY),
            "PERPARB_HTTP_RETRIES": "1",
            "PERPARB_HTTP_BACKOFF_SECONDS": "0.01",
            "PERPARB_HTTP_TIMEOUT_SECONDS": "5",
            "PYTHONPATH": str(PROJECT),
        }
    )
    env.update(extra)
    return env


async def perparb(env: dict[str, str], *args: str, cwd: Path, timeout: float = 120) -> tuple[int, str, str]:
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
    out, err = await asyncio.wait_for(proc.communicate(), timeout=timeout)
    return proc.returncode or 0, out.decode(), err.decode()


def write_config(path: Path, changes: dict[str, Any] | None = None, *, base: Path = EXAMPLE) -> Path:
    data = yaml.safe_load(base.read_text())
    for dotted, value in (changes or {}).items():
        node = data
        *parents, leaf = dotted.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = value
    path.write_text(yaml.safe_dump(data))
    return path


GRID = {
    "strategy": "grid",
    "name": "eth-grid",
    "venue": "lighter",
    "symbol": "ETH",
    "lower_price": 3500,
    "upper_price": 3700,
    "levels": 5,
    "quantity_per_level": "0.01",
    "max_position": "0.1",
    "leverage": 2,
    "loop_interval_seconds": "0.5",
}


@pytest_asyncio.fixture(scope="module")
async def seeded(engine: AsyncEngine) -> AsyncEngine:
    """Markets (lighter ETH 50x, BTC 50x; paradex ETH 20x, BTC 50x) and accounts: 'both' (lighter + paradex),
    'lonly' (lighter only), in a vault under KEY."""
    async with engine.begin() as conn:
        await conn.execute(
            text("TRUNCATE venues, markets, accounts, account_credentials RESTART IDENTITY CASCADE")
        )
        for venue in ("lighter", "paradex"):
            await conn.execute(text("INSERT INTO venues (name) VALUES (:n)"), {"n": venue})
        for venue, symbol, cap in (
            ("lighter", "ETH", 50),
            ("lighter", "BTC", 50),
            ("paradex", "ETH", 20),
            ("paradex", "BTC", 50),
        ):
            await conn.execute(
                text(
                    "INSERT INTO markets (venue_id, venue_symbol, symbol, venue_market_id, quote, max_leverage, "
                    "funding_period_hours, status) SELECT id, :vs, :s, :vs, 'USD', :cap, 1, 'active' "
                    "FROM venues WHERE name = :v"
                ),
                {"v": venue, "vs": f"{symbol}-{venue}", "s": symbol, "cap": cap},
            )
    vault = Vault.from_key(KEY)
    for name, index in (("both", 41_001), ("lonly", 41_002)):
        private_key, _public, error = create_api_key()
        assert error is None
        creds = LighterCredentials(
            account_index=index, api_key_index=3, api_private_key=SecretStr(private_key)
        )
        await add_account(engine, vault, name=name, creds=creds)
    eth = Account.create()
    pcreds = ParadexCredentials(l1_address=eth.address, l1_private_key=SecretStr(eth.key.hex()))
    await add_account(engine, vault, name="both", creds=pcreds)
    return engine


# ------------------------------------------------------------------------------------------- config validate


async def test_validate_happy_path(seeded: AsyncEngine, db_url: str, tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "fa.yaml", {"symbols": ["ETH", "BTC"], "sizing.leverage": 3})
    code, out, err = await perparb(
        cli_env(db_url), "config", "validate", str(cfg), "--account", "both", "--json", cwd=tmp_path
    )
    assert code == 0, err
    data = json.loads(out)
    assert (data["valid"], data["database_checked"], data["errors"], data["notes"]) == (True, True, [], [])
    summary = data["summary"]
    assert (summary["strategy"], summary["name"], summary["venues"], summary["symbols"]) == (
        "funding_arbitrage",
        "lighter-paradex-majors",
        ["lighter", "paradex"],
        ["ETH", "BTC"],
    )
    assert (
        summary["leverage"],
        summary["target_notional_usd"],
        summary["signal"],
        summary["min_signal_apr"],
        summary["max_positions"],
    ) == (
        "3",
        "5000",
        "ewma",
        "0.08",
        3,
    )
    # the human form says so too
    code, out, err = await perparb(cli_env(db_url), "config", "validate", str(cfg), cwd=tmp_path)
    assert code == 0, err
    assert "config is valid" in out and "lighter-paradex-majors" in out


async def test_validate_unknown_key_and_negative_size(
    seeded: AsyncEngine, db_url: str, tmp_path: Path
) -> None:
    cfg = write_config(tmp_path / "bad.yaml", {"sizing.target_notional_usd": -5, "sizing.colour": "red"})
    code, out, err = await perparb(cli_env(db_url), "config", "validate", str(cfg), "--json", cwd=tmp_path)
    assert code == 2
    assert json.loads(out)["errors"] == [
        f"{cfg}: sizing.target_notional_usd: Input should be greater than 0 (got -5)",
        f"{cfg}: sizing.colour: Extra inputs are not permitted (got 'red')",
    ]
    code, out, err = await perparb(cli_env(db_url), "config", "validate", str(cfg), cwd=tmp_path)
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"error: {cfg}: sizing.target_notional_usd: Input should be greater than 0 (got -5)",
        f"error: {cfg}: sizing.colour: Extra inputs are not permitted (got 'red')",
    ]


async def test_validate_leverage_above_a_venue_maximum(
    seeded: AsyncEngine, db_url: str, tmp_path: Path
) -> None:
    cfg = write_config(tmp_path / "lev.yaml", {"symbols": ["ETH", "BTC"], "sizing.leverage": 30})
    code, out, err = await perparb(cli_env(db_url), "config", "validate", str(cfg), "--json", cwd=tmp_path)
    assert code == 2, err
    assert json.loads(out)["errors"] == ["sizing.leverage: 30 is above paradex's maximum 20 for ETH"]
    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump({**GRID, "leverage": 60}))
    code, out, err = await perparb(cli_env(db_url), "config", "validate", str(grid), cwd=tmp_path)
    assert code == 2
    assert "error: leverage: 60 is above lighter's maximum 50 for ETH" in err.splitlines()


async def test_validate_unknown_account_and_missing_credentials(
    seeded: AsyncEngine, db_url: str, tmp_path: Path
) -> None:
    cfg = write_config(tmp_path / "fa.yaml", {"symbols": ["ETH"]})
    code, out, err = await perparb(
        cli_env(db_url), "config", "validate", str(cfg), "--account", "nobody", "--json", cwd=tmp_path
    )
    assert code == 2 and err == ""
    assert json.loads(out)["errors"] == [
        "unknown account 'nobody': `perparb accounts list-accounts` shows the accounts"
    ]
    code, out, err = await perparb(
        cli_env(db_url), "config", "validate", str(cfg), "--account", "lonly", "--json", cwd=tmp_path
    )
    assert code == 2 and err == ""
    assert json.loads(out)["errors"] == [
        "account 'lonly' has no credentials for paradex (it has ['lighter'])"
    ]


async def test_validate_unlisted_symbol_and_unchecked_venue(
    seeded: AsyncEngine, db_url: str, tmp_path: Path
) -> None:
    cfg = write_config(tmp_path / "sym.yaml", {"symbols": ["ETH", "XYZ"]})
    code, out, err = await perparb(cli_env(db_url), "config", "validate", str(cfg), "--json", cwd=tmp_path)
    assert code == 2
    assert json.loads(out)["errors"] == ["symbols: XYZ is not listed on lighter or paradex"]
    backtest = PROJECT / "configs" / "backtest.example.yaml"
    code, out, err = await perparb(
        cli_env(db_url), "config", "validate", str(backtest), "--json", cwd=tmp_path
    )
    assert code == 0, err
    assert json.loads(out)["notes"] == [
        *(
            f"{v} is a backtest-only venue (replayed from funding-history files, never collected"
            f" or traded): leverage and symbols not checked on it"
            for v in ("binance", "bybit")
        ),
        "no hyperliquid markets in the database (run `perparb collect --once`):"
        " leverage and symbols not checked on hyperliquid",
    ]


async def test_validate_without_a_database_checks_the_file_only(tmp_path: Path) -> None:
    env = cli_env("postgresql+asyncpg://perparb:x@127.0.0.1:9/none")  # nothing listens on the discard port
    code, out, err = await perparb(
        env, "config", "validate", str(EXAMPLE), "--account", "both", "--json", cwd=tmp_path
    )
    assert code == 0, err
    data = json.loads(out)
    assert (data["valid"], data["database_checked"], data["errors"]) == (True, False, [])
    [note] = data["notes"]
    assert note.startswith("database not reachable (") and note.endswith(
        "): account, leverage and symbol checks skipped"
    )


# ----------------------------------------------------------------------------------------------------- run


def assert_one_clean_line(err: str, expected: str) -> None:
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == f"error: {expected}", err


async def test_run_refuses_an_unknown_account(seeded: AsyncEngine, db_url: str, tmp_path: Path) -> None:
    code, out, err = await perparb(cli_env(db_url), "run", str(EXAMPLE), "--account", "nobody", cwd=tmp_path)
    assert code == 2 and out == ""
    assert_one_clean_line(
        err, "unknown account 'nobody': `perparb accounts list-accounts` shows the accounts"
    )


async def test_run_refuses_missing_credentials_and_a_held_lease(
    seeded: AsyncEngine, db_url: str, tmp_path: Path
) -> None:
    code, out, err = await perparb(
        cli_env(db_url), "run", str(EXAMPLE), "--account", "lonly", "--paper", cwd=tmp_path
    )
    assert code == 2 and out == ""
    assert_one_clean_line(
        err,
        "account 'lonly' has no credentials for ['paradex'] (it has ['lighter']); add them with `perparb accounts "
        "update-credentials` or change the config's venues",
    )
    lease = await Lease.acquire(seeded, "both", ["lighter", "paradex"], "paper")
    try:
        await lease.label(987)
        code, out, err = await perparb(
            cli_env(db_url), "run", str(EXAMPLE), "--account", "both", "--paper", cwd=tmp_path
        )
    finally:
        await lease.release()
    assert code == 2 and out == ""
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: account 'both' (paper) on lighter is already traded by run 987 on "), last
    assert last.endswith("stop that run first (perparb status shows it)")
    async with seeded.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM strategy_runs"))).scalar_one() == 0


async def test_run_options_need_paper(seeded: AsyncEngine, db_url: str, tmp_path: Path) -> None:
    code, out, err = await perparb(
        cli_env(db_url), "run", str(EXAMPLE), "--account", "both", "--speed", "60", cwd=tmp_path
    )
    assert code == 2 and out == ""
    assert_one_clean_line(err, "--scenario, --speed and --collateral-usd only apply with --paper")


async def test_run_paper_grid_for_a_few_cycles(seeded: AsyncEngine, db_url: str, tmp_path: Path) -> None:
    pytest.importorskip("strategies.grid.strategy", reason="the grid strategy is written by another helper")
    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump(GRID))
    code, out, err = await perparb(
        cli_env(db_url),
        "run",
        str(grid),
        "--account",
        "both",
        "--paper",
        "--max-cycles",
        "3",
        "--collateral-usd",
        "5000",
        "--json",
        cwd=tmp_path,
        timeout=180,
    )
    assert code == 0, err
    summary = json.loads(out)
    assert {
        k: summary[k] for k in ("status", "cycles", "reason", "account", "mode", "strategy", "config_name")
    } == {
        "status": "stopped",
        "cycles": 3,
        "reason": "max_cycles 3",
        "account": "both",
        "mode": "paper",
        "strategy": "grid",
        "config_name": "eth-grid",
    }
    async with seeded.connect() as conn:
        run = (
            await conn.execute(
                text("SELECT status, mode, stop_reason FROM strategy_runs WHERE id = :i"),
                {"i": summary["run_id"]},
            )
        ).one()
        kinds = (
            (
                await conn.execute(
                    text("SELECT kind FROM strategy_events WHERE run_id = :i ORDER BY id"),
                    {"i": summary["run_id"]},
                )
            )
            .scalars()
            .all()
        )
        venues = set(
            (
                await conn.execute(
                    text("SELECT DISTINCT venue FROM orders WHERE run_id = :i"), {"i": summary["run_id"]}
                )
            ).scalars()
        )
    assert tuple(run) == ("stopped", "paper", "max_cycles 3")
    assert kinds[0] == "start" and "stop" in kinds
    assert venues == {"lighter"}  # the ladder was placed, on the paper venue only


async def test_run_paper_stops_cleanly_on_sigterm(seeded: AsyncEngine, db_url: str, tmp_path: Path) -> None:
    pytest.importorskip("strategies.grid.strategy", reason="the grid strategy is written by another helper")
    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump({**GRID, "name": "eth-grid-sigterm"}))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "perparb",
        "run",
        str(grid),
        "--account",
        "both",
        "--paper",
        "--json",
        env=cli_env(db_url),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 90
        while True:  # wait until the run has completed a cycle (an event after `start`)
            async with seeded.connect() as conn:
                row = (
                    await conn.execute(
                        text(
                            "SELECT r.id, r.status, (SELECT count(*) FROM strategy_events e WHERE e.run_id = r.id) "
                            "FROM strategy_runs r WHERE r.config_name = 'eth-grid-sigterm'"
                        )
                    )
                ).first()
            if row is not None and row[1] == "running" and row[2] >= 2:
                break
            assert proc.returncode is None, (await proc.communicate())[1].decode()
            assert loop.time() < deadline, "the paper run did not start in time"
            await asyncio.sleep(0.2)
        proc.terminate()  # SIGTERM
        out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    summary = json.loads(out)
    assert (summary["run_id"], summary["status"], summary["reason"]) == (row[0], "stopped", "signal")
    async with seeded.connect() as conn:
        status, reason = (
            await conn.execute(
                text("SELECT status, stop_reason FROM strategy_runs WHERE id = :i"), {"i": row[0]}
            )
        ).one()
    assert (status, reason) == ("stopped", "signal")


async def test_a_run_that_enters_nothing_says_why(seeded: AsyncEngine, db_url: str, tmp_path: Path) -> None:
    """Thresholds no demo spread can reach: every top candidate of a cycle is an `entry_skipped` event with its
    reason and figures, and `perparb status` lists the last cycle's candidates with why each was not entered."""
    config = write_config(
        tmp_path / "strict.yaml",
        {
            "name": "strict-explains",
            "entry.min_signal_apr": 9.0,
            "exit.exit_signal_apr": 0.03,
            "signal.min_hours": 1,
        },
    )
    code, out, err = await perparb(
        cli_env(db_url),
        "run",
        str(config),
        "--account",
        "both",
        "--paper",
        "--max-cycles",
        "2",
        "--json",
        cwd=tmp_path,
        timeout=240,
    )
    assert code == 0, err
    run_id = json.loads(out)["run_id"]
    async with seeded.connect() as conn:
        skipped = (
            await conn.execute(
                text(
                    "SELECT message, detail FROM strategy_events WHERE run_id = :r AND kind = 'entry_skipped'"
                ),
                {"r": run_id},
            )
        ).all()
        entered = (
            await conn.execute(
                text("SELECT count(*) FROM strategy_events WHERE run_id = :r AND kind = 'entry'"),
                {"r": run_id},
            )
        ).scalar_one()
    assert entered == 0 and skipped, "the run entered nothing and said nothing"
    with_figures = [d for _m, d in skipped if d and d.get("reason")]
    assert with_figures and all(
        "signal APR" in d["reason"] or "stale" in d["reason"] or "no estimate" in d["reason"]
        for d in with_figures
    ), with_figures
    code, out, err = await perparb(cli_env(db_url), "status", "--json", "--account", "both", cwd=tmp_path)
    assert code == 0, err
    blocks = [b for b in json.loads(out)["candidates"] if b["config_name"] == "strict-explains"]
    assert blocks and blocks[0]["run_id"] == run_id and blocks[0]["candidates"]
    assert all(c["reason"] for c in blocks[0]["candidates"])  # none entered: each says why
