"""The image's entry commands, run for real (Docker is not available here): the Dockerfile's ENTRYPOINT alone
(`perparb --help`), compose's one-shot migration, and ENTRYPOINT + CMD (`perparb serve --host 0.0.0.0`) with the
settings compose gives the `api` service (token from a secret file, JSON logs), checked by the Dockerfile's own
HEALTHCHECK command: healthy while it serves, unhealthy once it stopped."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.deploy_checks import ROOT, dockerfile_instructions, exec_form, load_compose

pytestmark = pytest.mark.integration

TOKEN = "image-test-token-" + "z" * 20


def image_commands() -> tuple[list[str], list[str], list[str]]:
    """(ENTRYPOINT, CMD, HEALTHCHECK command) of the Dockerfile's final stage."""
    steps = dockerfile_instructions()
    final = steps[max(i for i, (w, _) in enumerate(steps) if w == "FROM") :]
    entry = exec_form(next(a for w, a in final if w == "ENTRYPOINT"))
    cmd = exec_form(next(a for w, a in final if w == "CMD"))
    health = exec_form(next(a for w, a in final if w == "HEALTHCHECK").split("CMD", 1)[1])
    return entry, cmd, health


def local(argv: list[str]) -> list[str]:
    """A container command line run here: `perparb` is this interpreter's `-m perparb`, `python` this one."""
    if argv[0] == "perparb":
        return [sys.executable, "-m", "perparb", *argv[1:]]
    if argv[0] == "python":
        return [sys.executable, *argv[1:]]
    raise AssertionError(f"unexpected program {argv[0]!r}")


def container_env(db_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERPARB_") and k != "DATABASE_URL"}
    env.update(
        {
            "DATABASE_URL": db_url,
            "PERPARB_DATA_DIR": str(tmp_path / "data"),
            "PERPARB_LOG_FORMAT": "json",
            "PERPARB_VENUES": "lighter,paradex",
            "PYTHONPATH": str(ROOT),
            **extra,
        }
    )
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_entrypoint_alone_prints_the_commands() -> None:
    entry, _cmd, _health = image_commands()
    out = subprocess.run(local([*entry, "--help"]), capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    for command in ("serve", "collect", "run", "db", "pause", "flatten", "backtest"):
        assert command in out.stdout


async def test_compose_migration_then_the_image_command_serves_and_is_healthy(
    create_database: object, tmp_path: Path
) -> None:
    db_url = await create_database()  # type: ignore[operator]
    entry, cmd, health = image_commands()
    compose = load_compose({"POSTGRES_PASSWORD": "x"})
    migrate = [*entry, *compose["services"]["migrate"]["command"]]
    env = container_env(db_url, tmp_path)
    done = await asyncio.to_thread(
        subprocess.run, local(migrate), capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "database at revision" in done.stdout

    port = free_port()
    secret = tmp_path / "perparb_api_token"
    secret.write_text(TOKEN + "\n")
    api_env = compose["services"]["api"]["environment"]
    env = container_env(
        db_url,
        tmp_path,
        PERPARB_API_PORT=str(port),  # the image's CMD takes the default port; the HEALTHCHECK reads it too
        PERPARB_API_TOKEN_FILE=str(secret),
        PERPARB_API_ALLOWED_HOSTS=api_env["PERPARB_API_ALLOWED_HOSTS"],
    )
    check_env = {**env}

    async def healthcheck() -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(
            subprocess.run,
            local(health),
            capture_output=True,
            text=True,
            timeout=30,
            env=check_env,
            cwd=tmp_path,
        )

    first = await healthcheck()
    assert first.returncode == 1 and "unhealthy" in first.stderr  # nothing listens yet

    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        server = await asyncio.create_subprocess_exec(
            *local([*entry, *cmd]), env=env, cwd=tmp_path, stdout=sink, stderr=sink
        )
    try:
        for _ in range(120):
            result = await healthcheck()
            if result.returncode == 0 or server.returncode is not None:
                break
            await asyncio.sleep(0.5)
        assert server.returncode is None, log.read_text()
        assert result.returncode == 0, result.stderr
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            page = await client.get("/")
            assert page.status_code == 200 and "control enabled" in page.text
            assert (await client.get("/metrics")).status_code == 200
            wrong = await client.post(
                "/api/v1/accounts/main/commands",
                json={"command": "pause"},
                headers={"Authorization": "Bearer " + "w" * 40},
            )
            assert wrong.status_code == 401
            right = await client.post(
                "/api/v1/accounts/main/commands",
                json={"command": "pause"},
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
            assert (
                right.status_code == 404 and "'main'" in right.json()["detail"]
            )  # past the token: no such account
    finally:
        if server.returncode is None:
            server.send_signal(signal.SIGTERM)
        await asyncio.wait_for(server.wait(), timeout=30)
    err = log.read_text()
    assert TOKEN not in err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert lines, "PERPARB_LOG_FORMAT=json gave no JSON log line"
    after = await healthcheck()
    assert after.returncode == 1 and f"127.0.0.1:{port}" in after.stderr


def test_runner_healthcheck_fails_when_nothing_serves_metrics() -> None:
    compose = load_compose({"POSTGRES_PASSWORD": "x"})
    test = compose["services"]["collector"]["healthcheck"]["test"]
    port = free_port()
    argv = [part.replace(":9101/", f":{port}/") for part in test[1:]]
    out = subprocess.run(local(argv), capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert out.returncode == 1 and f"127.0.0.1:{port}/metrics" in out.stderr
    refused = subprocess.run(
        local(["python", "-m", "perparb.healthcheck", "http://example.com/"]), capture_output=True, text=True
    )
    assert refused.returncode == 1 and "loopback" in refused.stderr
