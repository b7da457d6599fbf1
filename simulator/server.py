"""Start the simulated Lighter and Paradex servers (in-process or in the foreground).

    async with await start_simulator(Path("simulator/scenarios/demo")) as sim:
        api = lighter.ApiClient(lighter.Configuration(host=sim.lighter_url))
        client = ParadexApiClient(env="prod", api_base_url=sim.paradex_url)

`serve_forever` is the foreground form behind `perparb sim --scenario DIR`: it prints exactly one line
`ready lighter=http://127.0.0.1:P paradex=http://127.0.0.1:Q/v1` once both servers listen and runs until
SIGINT/SIGTERM. `python -m simulator --scenario DIR` does the same.

Market data only for now; the trading engine (orders, matching, margin, funding settlement) of a later issue
will be mounted on the same applications and share the `SimClock`.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from aiohttp import web

from simulator.engine.clock import ScaledClock
from simulator.faults import FaultInjector
from simulator.lighter.api import build_lighter_app, lighter_error_body
from simulator.paradex.api import build_paradex_app, paradex_error_body
from simulator.scenario import Scenario, SimClock, load_scenario

DEMO_SCENARIO = Path(__file__).resolve().parent / "scenarios" / "demo"


@dataclass
class SimulatorHandle:
    """Running simulator. URLs are ready for the SDKs; `stop()` (or leaving `async with`) shuts both down.

    Attributes:
        lighter_url: Lighter REST root, "http://127.0.0.1:P" (`lighter.Configuration(host=...)`).
        paradex_url: Paradex REST base, "http://127.0.0.1:Q/v1" (`ParadexApiClient(api_base_url=...)`).
        lighter_ws_url: "ws://127.0.0.1:P/stream"; paradex_ws_url: "ws://127.0.0.1:Q/v1".
        scenario: the loaded scenario; clock: the simulator clock;
        lighter_faults / paradex_faults: the fault injectors (same as `POST /_sim/faults`).
    """

    lighter_url: str
    paradex_url: str
    lighter_ws_url: str
    paradex_ws_url: str
    scenario: Scenario
    clock: SimClock
    lighter_faults: FaultInjector
    paradex_faults: FaultInjector
    _runners: list[web.AppRunner] = field(default_factory=list, repr=False)

    async def stop(self) -> None:
        """Close WebSockets and listeners. Idempotent."""
        runners, self._runners = self._runners, []
        for runner in runners:
            await runner.cleanup()

    async def __aenter__(self) -> SimulatorHandle:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


async def _serve(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    addresses = runner.addresses
    if not addresses:
        await runner.cleanup()
        raise OSError(f"simulator could not listen on {host}:{port}")
    return runner, int(addresses[0][1])


async def start_simulator(
    scenario_dir: Path,
    *,
    host: str = "127.0.0.1",
    lighter_port: int = 0,
    paradex_port: int = 0,
    push_interval_seconds: float | None = None,
    clock: SimClock | None = None,
    speed: float = 1.0,
) -> SimulatorHandle:
    """Load `scenario_dir` and start the Lighter and Paradex servers on the running event loop.

    Args:
        scenario_dir: scenario folder (layout in `simulator/README.md`).
        host: interface to bind (default loopback only).
        lighter_port, paradex_port: TCP ports; 0 = a free port (read the URLs from the handle).
        push_interval_seconds: WebSocket push period; None = the scenario's setting (default 1 s).
        clock: the simulator clock (default: a `ScaledClock` running at `speed`).
        speed: simulated seconds per real second when no clock is given (3600 = one funding hour per second).

    Returns:
        A `SimulatorHandle` (also an async context manager).

    Raises:
        ScenarioError: the folder or one of its files is unusable (the message names the file).
        OSError: a port cannot be bound.
    """
    clock = clock or ScaledClock(speed=speed)
    scenario = load_scenario(Path(scenario_dir), clock=clock)
    interval = (
        push_interval_seconds
        if push_interval_seconds is not None
        else scenario.settings.push_interval_seconds
    )
    lighter_faults = FaultInjector("lighter", lighter_error_body)
    paradex_faults = FaultInjector("paradex", paradex_error_body)
    lighter_app = build_lighter_app(scenario, clock, lighter_faults, push_interval_seconds=interval)
    paradex_app = build_paradex_app(scenario, clock, paradex_faults, push_interval_seconds=interval)
    lighter_runner, lport = await _serve(lighter_app, host, lighter_port)
    try:
        paradex_runner, pport = await _serve(paradex_app, host, paradex_port)
    except BaseException:
        await lighter_runner.cleanup()
        raise
    url_host = _url_host(host)
    return SimulatorHandle(
        lighter_url=f"http://{url_host}:{lport}",
        paradex_url=f"http://{url_host}:{pport}/v1",
        lighter_ws_url=f"ws://{url_host}:{lport}/stream",
        paradex_ws_url=f"ws://{url_host}:{pport}/v1",
        scenario=scenario,
        clock=clock,
        lighter_faults=lighter_faults,
        paradex_faults=paradex_faults,
        _runners=[paradex_runner, lighter_runner],
    )


async def _serve_until_signal(
    scenario_dir: Path, host: str, lighter_port: int, paradex_port: int, speed: float = 1.0
) -> None:
    handle = await start_simulator(
        scenario_dir, host=host, lighter_port=lighter_port, paradex_port=paradex_port, speed=speed
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        print(f"ready lighter={handle.lighter_url} paradex={handle.paradex_url}", flush=True)
        await stop.wait()
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        await handle.stop()


def serve_forever(
    scenario_dir: Path,
    *,
    host: str = "127.0.0.1",
    lighter_port: int = 0,
    paradex_port: int = 0,
    speed: float = 1.0,
) -> None:
    """Run the simulator in the foreground until SIGINT/SIGTERM, then shut down cleanly and return.

    Prints exactly one line to stdout, flushed, once both servers listen:
    `ready lighter=http://127.0.0.1:P paradex=http://127.0.0.1:Q/v1`.

    Raises:
        ScenarioError: unusable scenario (before anything listens). OSError: a port cannot be bound.
        ValueError: speed not positive.

    `speed`: simulated seconds per real second (3600 = one funding hour per second).

    """
    if speed <= 0:
        raise ValueError(f"speed must be positive, got {speed}")
    asyncio.run(_serve_until_signal(Path(scenario_dir), host, lighter_port, paradex_port, speed))


def main(argv: list[str] | None = None) -> int:
    """`python -m simulator --scenario DIR [--host H] [--lighter-port P] [--paradex-port Q]`. Returns 0."""
    parser = argparse.ArgumentParser(
        prog="python -m simulator", description="Local Lighter + Paradex simulator"
    )
    parser.add_argument(
        "--scenario", type=Path, default=DEMO_SCENARIO, help="scenario folder (default: demo)"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--lighter-port", type=int, default=0)
    parser.add_argument("--paradex-port", type=int, default=0)
    args = parser.parse_args(argv)
    serve_forever(
        args.scenario, host=args.host, lighter_port=args.lighter_port, paradex_port=args.paradex_port
    )
    return 0
