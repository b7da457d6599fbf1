"""A new user's trial (issue #15): each defect and friction item found by trying perparb as a new user, reproduced
through the CLI in a subprocess (or the API in process), and fixed.

Every CLI failure here must be ONE line on stderr naming what is wrong, with exit code 2, and never a traceback
or a password.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from funding_rate_service.api.app import create_app
from perparb_core.settings import DatabaseConfig, ServiceConfig

pytestmark = pytest.mark.integration
PROJECT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERPARB_") and k != "DATABASE_URL"}
    env["PYTHONPATH"] = str(PROJECT)
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


def one_line_error(err: str) -> str:
    """The error line of a failed command; asserts there is exactly one non-empty line and no traceback."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err and len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    return lines[0]


# ------------------------------------------------------------------------------ 1. unreachable database


@pytest.mark.parametrize(
    "args",
    [
        ("rates",),
        ("db", "upgrade"),
        ("collect", "--once"),
        ("opportunities",),
        ("status",),
        ("accounts", "list-accounts"),
    ],
    ids=lambda a: " ".join(a),
)
async def test_unreachable_database_is_one_line_naming_the_target(
    args: tuple[str, ...], tmp_path: Path
) -> None:
    port = free_port()  # nothing listens there
    env = clean_env(
        DATABASE_URL=f"postgresql+asyncpg://u:s3cretpw@127.0.0.1:{port}/perparb",
        PERPARB_DATABASE_WAIT_SECONDS="0",
        PERPARB_DATA_DIR=str(tmp_path / "d"),
    )
    code, _out, err = await perparb(env, *args, cwd=tmp_path)
    line = one_line_error(err)
    assert code == 2
    assert f"u@127.0.0.1:{port}/perparb" in line and "ConnectionRefusedError" in line, line
    assert "s3cretpw" not in err


async def test_collect_waits_for_the_database_then_gives_up(tmp_path: Path) -> None:
    port = free_port()
    env = clean_env(
        DATABASE_URL=f"postgresql+asyncpg://u:pw@127.0.0.1:{port}/perparb",
        PERPARB_DATABASE_WAIT_SECONDS="2",
        PERPARB_DATA_DIR=str(tmp_path / "d"),
    )
    started = asyncio.get_running_loop().time()
    code, _out, err = await perparb(env, "collect", "--once", cwd=tmp_path)
    elapsed = asyncio.get_running_loop().time() - started
    assert code == 2 and elapsed >= 2.0, (code, elapsed)
    assert "retrying in" in err  # each failed attempt is logged (WARNING), then one error line
    assert err.strip().splitlines()[-1].startswith("error: cannot use the database")


async def test_too_long_data_dir_is_one_line(tmp_path: Path) -> None:
    deep = tmp_path / ("x" * 60) / ("y" * 60)
    env = clean_env(PERPARB_DATA_DIR=str(deep))
    code, _out, err = await perparb(env, "rates", cwd=tmp_path)
    line = one_line_error(err)
    assert code == 2 and "PERPARB_DATA_DIR" in line and "longer than" in line


# --------------------------------------------------------------------------------------- 4. API health


async def test_health_is_a_json_503_while_the_database_is_down() -> None:
    port = free_port()
    url = f"postgresql+asyncpg://u:pw@127.0.0.1:{port}/perparb"
    engine = create_async_engine(url)
    app = create_app(
        ServiceConfig(database=DatabaseConfig(url=url), venues=("lighter", "paradex")), engine=engine
    )
    try:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            health = await client.get("/api/v1/health")
            rates = await client.get("/api/v1/funding-rates")
    finally:
        await engine.dispose()
    assert health.status_code == 503 and health.headers["content-type"] == "application/json"
    body = health.json()
    assert body["status"] == "unavailable"
    assert body["components"]["database"]["ok"] is False
    assert f"127.0.0.1:{port}/perparb" in body["components"]["database"]["error"]
    assert set(body["components"]["venues"]) == {"lighter", "paradex"}
    assert "pw@" not in health.text
    # every API error is JSON, a database outage a 503
    assert rates.status_code == 503 and rates.json()["error"] == "database_unavailable"


# ------------------------------------------------------------------------------ inputs accepted silently


async def test_empty_venue_list_is_refused(tmp_path: Path) -> None:
    env = clean_env(PERPARB_VENUES="", PERPARB_DATA_DIR=str(tmp_path / "d"))
    code, _out, err = await perparb(env, "rates", cwd=tmp_path)
    line = one_line_error(err)
    assert code == 2 and "PERPARB_VENUES is empty" in line


# ------------------------------------------------------------------- 2. unusable config and credential files


def bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """name -> (path, expected fragment of the one-line error)."""
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("strategy: funding_arbitrage\nname: caf\xe9\n".encode("latin-1"))
    directory = tmp_path / "x.yaml"
    directory.mkdir()
    duplicate = tmp_path / "dup.yaml"
    duplicate.write_text("strategy: funding_arbitrage\nname: a\nname: b\n")
    return {
        "non-utf8": (latin1, "is not UTF-8 text (byte 0xe9"),
        "directory": (directory, "is a directory, not a strategy config"),
        "duplicate-key": (duplicate, "duplicate key 'name' (first at line 2) at line 3"),
        "missing": (tmp_path / "nope.yaml", "no such file"),
    }


@pytest.mark.parametrize("case", ["non-utf8", "directory", "duplicate-key", "missing"])
@pytest.mark.parametrize(
    "command",
    [("config", "validate"), ("run",), ("backtest",)],
    ids=lambda c: " ".join(c),
)
async def test_config_files_that_cannot_be_read_are_one_line(
    case: str, command: tuple[str, ...], tmp_path: Path
) -> None:
    path, expected = bad_inputs(tmp_path)[case]
    extra = {"run": ["--account", "alice"], "backtest": ["--history", str(tmp_path)]}.get(command[0], [])
    env = clean_env(PERPARB_DATA_DIR=str(tmp_path / "d"))
    code, _out, err = await perparb(env, *command, str(path), *extra, cwd=tmp_path)
    line = one_line_error(err)
    assert code == 2 and str(path) in line and expected in line, line


@pytest.mark.parametrize("target", ["directory", "non-utf8", "missing"])
async def test_credentials_file_that_cannot_be_read_is_one_line(target: str, tmp_path: Path) -> None:
    paths = {
        "directory": (tmp_path, "is a directory"),
        "non-utf8": (tmp_path / "c.json", "is not UTF-8 text"),
        "missing": (tmp_path / "none.json", "no such file"),
    }
    (tmp_path / "c.json").write_bytes(b'{"account_index": 1, "api_key_index": 3, "api_private_key": "\xff"}')
    path, expected = paths[target]
    env = clean_env(PERPARB_DATA_DIR=str(tmp_path / "d"), PERPARB_MASTER_KEY="A" * 43 + "=")
    code, _out, err = await perparb(
        env,
        "accounts",
        "add-account",
        "--name",
        "a",
        "--venue",
        "lighter",
        "--from-file",
        str(path),
        cwd=tmp_path,
    )
    line = one_line_error(err)
    assert code == 2 and "--from-file" in line and expected in line, line


@pytest.mark.parametrize(
    "env_text, expected",
    [
        (
            "PERPARB_LOG_LEVEL=LOUD\n",
            "PERPARB_LOG_LEVEL 'LOUD' is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
        ),
        (
            "PERPARB_HTTP_TIMEOUT_SECOND=3\n",
            ".env: line 1: unknown setting PERPARB_HTTP_TIMEOUT_SECOND; did you mean PERPARB_HTTP_TIMEOUT_SECONDS?",
        ),
        (
            "PERPARB_SLIPPAGE_BPS=1\nPERPARB_SLIPPAGE_BPS=2\n",
            ".env: line 2: PERPARB_SLIPPAGE_BPS is set twice",
        ),
    ],
    ids=["log-level", "unknown-key", "duplicate-key"],
)
async def test_bad_settings_are_refused_in_one_line(env_text: str, expected: str, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(env_text)
    code, _out, err = await perparb(clean_env(), "venues", cwd=tmp_path)
    line = one_line_error(err)
    assert code == 2 and expected in line, line


def test_the_example_env_file_is_accepted() -> None:
    from perparb.settings import check_env_file

    check_env_file(PROJECT / ".env.example")  # `cp .env.example .env` must work


async def test_out_of_range_ranking_options_are_refused_by_the_cli_and_the_api(
    tmp_path: Path, clean_engine: object
) -> None:
    env = clean_env(PERPARB_DATA_DIR=str(tmp_path / "d"))
    code, _out, err = await perparb(env, "opportunities", "--slippage-bps", "1e308", cwd=tmp_path)
    line = one_line_error(err)
    assert code == 2 and "slippage_bps" in line, line

    url = "postgresql+asyncpg://u:pw@127.0.0.1:9/perparb"  # never reached: the query is refused first
    engine = create_async_engine(url)
    app = create_app(ServiceConfig(database=DatabaseConfig(url=url)), engine=engine)
    try:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            tiny = await client.get("/api/v1/opportunities", params={"horizon_hours": "1e-320"})
            huge = await client.get("/api/v1/opportunities", params={"slippage_bps": "1e308"})
    finally:
        await engine.dispose()
    for answer, field in ((tiny, "horizon_hours"), (huge, "slippage_bps")):
        assert answer.status_code == 422 and field in answer.text, answer.text


async def test_first_database_start_is_quiet(tmp_path: Path) -> None:
    env = clean_env(PERPARB_DATA_DIR=str(Path("/tmp") / f"pq{os.getpid()}"))
    try:
        code, out, err = await perparb(env, "db", "upgrade", cwd=tmp_path, timeout=180)
    finally:
        import shutil

        from database.session import stop_embedded

        stop_embedded(Path(env["PERPARB_DATA_DIR"]) / "pgdata")
        shutil.rmtree(env["PERPARB_DATA_DIR"], ignore_errors=True)
    assert code == 0, err
    assert "pgserver" not in err and len(err.strip().splitlines()) <= 3, err
    assert out.strip().startswith("database at revision")


# ---------------------------------------------------------------------------------------------- serve


async def test_serve_beyond_loopback_needs_a_token(tmp_path: Path) -> None:
    env = clean_env(PERPARB_DATA_DIR=str(tmp_path / "d"))
    code, _out, err = await perparb(env, "serve", "--host", "0.0.0.0", cwd=tmp_path)
    line = one_line_error(err)
    assert code == 2 and "refusing to serve on 0.0.0.0" in line and "PERPARB_API_TOKEN" in line


async def test_the_api_answers_only_its_own_host_names(clean_engine: object, db_url: str) -> None:
    from perparb.settings import Settings

    settings = Settings(_env_file=None, database_url=db_url)  # type: ignore[call-arg]
    app = create_app(settings.service_config("127.0.0.1"), engine=clean_engine)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        ours = await client.get("/api/v1/funding-rates")
        rebound = await client.get("/api/v1/funding-rates", headers={"Host": "attacker.example"})
    assert ours.status_code == 200
    assert rebound.status_code == 400


# ------------------------------------------------------------------- 5. the embedded PostgreSQL's lifecycle


async def test_db_status_and_stop_work_after_a_crash(tmp_path: Path) -> None:
    import json
    import signal

    from database.session import process_alive

    data_dir = Path("/tmp") / f"pk{os.getpid()}"
    env = clean_env(PERPARB_DATA_DIR=str(data_dir), PERPARB_DATABASE_WAIT_SECONDS="0")
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "perparb",
        "serve",
        "--port",
        str(port),
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(200):  # the server answers once the embedded PostgreSQL is up and migrated
                try:
                    if (await client.get(f"http://127.0.0.1:{port}/api/v1/health")).status_code in (200, 503):
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.2)
        proc.send_signal(signal.SIGKILL)  # a crash: pgserver's handle of this process is never released
        await proc.wait()

        code, out, err = await perparb(env, "db", "status", "--json", cwd=tmp_path)
        status = json.loads(out)
        assert code == 0, err
        assert status["running"] is True and status["reachable"] is True
        assert proc.pid in status["stale_handles"]
        postmaster = status["pid"]

        code, out, err = await perparb(env, "db", "stop", cwd=tmp_path)
        assert code == 0 and "stopped" in out, err
        assert not process_alive(postmaster)
        code, out, _err = await perparb(env, "db", "status", "--json", cwd=tmp_path)
        after = json.loads(out)
        assert code == 1 and after["running"] is False and after["stale_handles"] == []
    finally:
        if proc.returncode is None:
            proc.kill()
        await perparb(env, "db", "stop", cwd=tmp_path)
        import shutil

        shutil.rmtree(data_dir, ignore_errors=True)


async def test_db_stop_refuses_an_external_database(tmp_path: Path) -> None:
    env = clean_env(DATABASE_URL="postgresql+asyncpg://u:pw@127.0.0.1:9/x")
    code, _out, err = await perparb(env, "db", "stop", cwd=tmp_path)
    assert code == 2 and "not perparb's to stop" in one_line_error(err)


# -------------------------------------------------------------------- 3. configs that can never enter


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"sizing": {"leverage": 0.0001}}, "sizing.leverage"),
        (
            {"sizing": {"max_exposure_per_venue_usd": 1000}},
            "sizing.max_exposure_per_venue_usd (1000) is below sizing.target_notional_usd (5000)",
        ),
        (
            {"sizing": {"max_total_exposure_usd": 9000}},
            "sizing.max_total_exposure_usd (9000) is below two legs",
        ),
    ],
    ids=["leverage", "venue-exposure", "total-exposure"],
)
async def test_config_validate_refuses_configs_that_can_never_enter(
    change: dict[str, dict[str, object]], expected: str, tmp_path: Path
) -> None:
    import yaml

    data = yaml.safe_load((PROJECT / "configs" / "funding_arbitrage.example.yaml").read_text())
    for section, values in change.items():
        data[section].update(values)
    path = tmp_path / "never.yaml"
    path.write_text(yaml.safe_dump(data))
    code, _out, err = await perparb(
        clean_env(PERPARB_DATA_DIR=str(tmp_path / "d")), "config", "validate", str(path), cwd=tmp_path
    )
    line = one_line_error(err)
    assert code == 2 and expected in line, line


# ------------------------------------------------------------------------------------------ order of checks


@pytest.mark.skipif(
    not (PROJECT.parent / "shared" / "funding-history").is_dir(), reason="../shared/funding-history is absent"
)
async def test_an_unusable_plot_path_fails_before_the_replay(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    env = clean_env(PERPARB_DATA_DIR=str(tmp_path / "d"))
    started = asyncio.get_running_loop().time()
    code, _out, err = await perparb(
        env,
        "backtest",
        str(PROJECT / "configs" / "backtest.example.yaml"),
        "--history",
        str(PROJECT.parent / "shared" / "funding-history"),
        "--plot",
        str(blocker / "charts"),
        cwd=tmp_path,
    )
    line = one_line_error(err)
    assert code == 2 and "--plot" in line and "cannot write there" in line, line
    assert asyncio.get_running_loop().time() - started < 20  # the year's replay takes longer: it did not run


async def test_validate_does_not_send_backtest_only_venues_to_collect(tmp_path: Path, db_url: str) -> None:
    env = clean_env(DATABASE_URL=db_url)
    code, out, err = await perparb(
        env, "config", "validate", str(PROJECT / "configs" / "backtest.example.yaml"), "--json", cwd=tmp_path
    )
    assert code == 0, err
    text = out + err
    assert "backtest-only venue" in text
    for venue in ("binance", "bybit"):
        assert f"no {venue} markets in the database (run `perparb collect --once`)" not in text


# ------------------------------------------------------------------------------ accounts on the simulator


async def test_a_simulator_account_in_one_command(tmp_path: Path, db_url: str) -> None:
    """`add-account --simulator` makes fresh keys, registers and funds them on the running simulator, stores them
    in the vault; the venue then accepts them (verify-account against the simulator)."""
    from simulator.server import DEMO_SCENARIO, start_simulator

    env = clean_env(
        DATABASE_URL=db_url, PERPARB_DATA_DIR=str(tmp_path / "d"), PERPARB_MASTER_KEY_FILE=str(tmp_path / "k")
    )
    code, _out, err = await perparb(env, "accounts", "init-vault", cwd=tmp_path)
    assert code == 0, err
    async with await start_simulator(DEMO_SCENARIO) as sim:
        urls = {v: sim.url(v) for v in ("hyperliquid", "lighter", "paradex")}
        for venue, url in urls.items():
            code, out, err = await perparb(
                env,
                "accounts",
                "add-account",
                "--name",
                "trial",
                "--venue",
                venue,
                "--simulator",
                "--sim-url",
                url,
                "--collateral-usd",
                "2500",
                cwd=tmp_path,
            )
            assert code == 0 and "funded with 2500 USDC" in out, out + err
        verify_env = {
            **env,
            "PERPARB_LIGHTER_URL": urls["lighter"],
            "PERPARB_PARADEX_URL": urls["paradex"],
            "PERPARB_HYPERLIQUID_URL": urls["hyperliquid"],
        }
        code, out, err = await perparb(
            verify_env, "accounts", "verify-account", "--name", "trial", "--json", cwd=tmp_path
        )
    assert code == 0, out + err
    import json

    assert {(r["venue"], r["ok"]) for r in json.loads(out)} == {
        ("hyperliquid", True),  # the agent key was approved for the new account on the simulator
        ("lighter", True),
        ("paradex", True),
    }
    # nothing answers on a free port: one line naming the simulator's address
    port = free_port()
    code, _out, err = await perparb(
        env,
        "accounts",
        "add-account",
        "--name",
        "nosim",
        "--venue",
        "lighter",
        "--simulator",
        "--sim-url",
        f"http://127.0.0.1:{port}",
        cwd=tmp_path,
    )
    line = one_line_error(err)
    assert code == 2 and f"no simulator answers at http://127.0.0.1:{port}" in line, line
