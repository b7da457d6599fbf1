"""The soak's child processes and its database: one `perparb sim`, N `perparb run` runners, the shared PostgreSQL.

Every child runs `sys.executable -m perparb ...` in the project folder with `PYTHONPATH` set, its own environment
(`child_env`: DATABASE_URL, PERPARB_MASTER_KEY, PERPARB_<VENUE>_URL of the simulator, short HTTP timeouts) and its
output in a log file of the soak's work folder. Nothing here sends a signal to a process it did not start.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from database.session import embedded_server_url, stop_embedded
from perparb.settings import venue_env_prefix
from perparb_core.errors import PerparbError

PROJECT = Path(__file__).resolve().parents[2]


class SoakProcessError(PerparbError):
    """A child process could not start (the simulator printed no ready line, ...); the message says which."""


def child_env(
    database_url: str,
    master_key: str,
    venue_urls: dict[str, str],
    data_dir: Path,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a runner: the caller's, minus its perparb settings, plus the soak's (see module doc)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERPARB_") and k != "DATABASE_URL"}
    env.update(
        {
            "DATABASE_URL": database_url,
            "PERPARB_MASTER_KEY": master_key,
            "PERPARB_DATA_DIR": str(data_dir),
            "PERPARB_HTTP_RETRIES": "2",
            "PERPARB_HTTP_BACKOFF_SECONDS": "0.2",
            "PERPARB_HTTP_TIMEOUT_SECONDS": "5",
            "PERPARB_DATABASE_WAIT_SECONDS": "60",
            "PYTHONPATH": os.pathsep.join(p for p in (str(PROJECT), os.environ.get("PYTHONPATH", "")) if p),
        }
    )
    for venue, url in venue_urls.items():
        env[venue_env_prefix(venue) + "URL"] = url
    env.update(extra or {})
    return env


def _perparb(
    args: list[str], env: dict[str, str], log: IO[bytes], stdout: int | IO[bytes] | None = None
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "perparb", *args],
        cwd=PROJECT,
        env=env,
        stdout=stdout if stdout is not None else log,
        stderr=log,
        start_new_session=True,  # a Ctrl-C of the soak reaches the soak, which stops its children itself
    )


@dataclass
class SimProcess:
    """`perparb sim --speed S --venue V ...` on free ports; `urls`: venue -> REST base from its ready line."""

    proc: subprocess.Popen[bytes]
    urls: dict[str, str]
    log_file: IO[bytes]

    @classmethod
    def start(
        cls, scenario: Path, venues: list[str], speed: float, workdir: Path, env: dict[str, str]
    ) -> SimProcess:
        """Start it and wait (up to 60 s) for the `ready venue=url ...` line.

        Raises:
            SoakProcessError: it exited or printed no ready line in time (the log file is named).
        """
        log_path = workdir / "sim.log"
        log = log_path.open("ab")
        args = ["sim", "--scenario", str(scenario), "--speed", str(speed)]
        for venue in venues:
            args += ["--venue", venue, "--port", f"{venue}=0"]
        proc = _perparb(args, env, log, stdout=subprocess.PIPE)
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        line = b""
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            if line.startswith(b"ready "):
                urls = dict(part.split("=", 1) for part in line.decode().split()[1:])
                return cls(proc, urls, log)
        proc.kill()
        raise SoakProcessError(f"the simulator printed no ready line (last {line[:200]!r}); see {log_path}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log_file.close()


@dataclass
class Runner:
    """One `perparb run CONFIG --account NAME` child, restarted by the harness whenever it ends before the soak
    does. `starts`: how many times it was started; `exits`: (wall time, exit code) of each end."""

    index: int
    account: str
    strategy: str
    venues: list[str]
    config_path: Path
    env: dict[str, str]
    workdir: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    exits: list[tuple[float, int]] = field(default_factory=list)
    restart_at: float | None = None
    started_at: float = 0.0  # time.monotonic() of the latest start
    held: bool = False  # True while a fault keeps it stopped (no automatic restart)
    _log: IO[bytes] | None = None

    def start(self) -> None:
        if self._log is None:
            self._log = (self.workdir / f"runner-{self.index:02d}.log").open("ab")
        self.proc = _perparb(["run", str(self.config_path), "--account", self.account], self.env, self._log)
        self.starts += 1
        self.started_at = time.monotonic()
        self.restart_at = None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def signal(self, sig: signal.Signals) -> bool:
        """Send `sig` to this runner (only ever to the process this object started). False when it is not alive."""
        if not self.alive:
            return False
        assert self.proc is not None
        self.proc.send_signal(sig)
        return True

    def reap(self, now: float) -> int | None:
        """The exit code when the process ended since the last call (recorded in `exits`), else None."""
        if self.proc is None or self.proc.poll() is None:
            return None
        code = self.proc.returncode
        self.exits.append((now, code))
        self.proc = None
        return code

    def stop(self, timeout: float = 60.0) -> int | None:
        """SIGTERM and wait (SIGKILL after `timeout` s). The exit code, or None when it was not running."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        code = self.proc.returncode
        self.proc = None
        return code

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


@dataclass
class Database:
    """The soak's PostgreSQL: `url` (asyncpg); `pgdata` is set for the embedded server the soak started (None for
    an external DATABASE_URL, which the soak never restarts)."""

    url: str
    pgdata: Path | None

    @classmethod
    def open(cls, external_url: str | None, workdir: Path) -> Database:
        if external_url:
            return cls(external_url, None)
        pgdata = workdir / "pg"
        return cls(embedded_server_url(pgdata), pgdata)

    def stop(self) -> None:
        if self.pgdata is not None:
            stop_embedded(self.pgdata)

    def start(self) -> None:
        """Start the stopped embedded server again, from a child process (as another perparb process would:
        pgserver remembers the server it started in this process and would not start it twice).

        Raises:
            SoakProcessError: the server did not start (its output in the message)."""
        if self.pgdata is None:
            return
        code = "import sys; from pathlib import Path; from database.session import embedded_server_url as u; u(Path(sys.argv[1]))"
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT), os.environ.get("PYTHONPATH", "")) if p)
        done = subprocess.run(
            [sys.executable, "-c", code, str(self.pgdata)],
            cwd=PROJECT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise SoakProcessError(
                f"the embedded PostgreSQL did not start again: {done.stderr.strip()[-300:]}"
            )
