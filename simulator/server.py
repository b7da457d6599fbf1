"""Start the simulated venues (in process or in the foreground): one server per installed venue protocol.

    async with await start_simulator(Path("simulator/scenarios/demo")) as sim:
        sim.url("lighter")       # REST base the venue's SDK takes, e.g. "http://127.0.0.1:P" or ".../v1"
        sim.ws_url("paradex")    # its WebSocket URL
        sim.faults("lighter")    # its fault injector (same as POST /_sim/faults)

The venues are the `SimVenueProtocol`s found by `simulator.protocol.installed_protocols()` (one per
`simulator/<venue>/` package): nothing here names one. `serve_forever` is the foreground form behind
`perparb sim --scenario DIR`: it prints exactly one line `ready <venue>=<url> ...` (venues in sorted order, e.g.
`ready lighter=http://127.0.0.1:P paradex=http://127.0.0.1:Q/v1`) once every server listens and runs until
SIGINT/SIGTERM. `python -m simulator --scenario DIR` does the same.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from aiohttp import web

from simulator.engine import Engine
from simulator.engine.clock import ScaledClock
from simulator.faults import FaultInjector
from simulator.protocol import ENGINE_KEY, SimVenueProtocol, VenueContext, installed_protocols
from simulator.scenario import Scenario, SimClock
from simulator.scenario_loader import load_scenario

DEMO_SCENARIO = Path(__file__).resolve().parent / "scenarios" / "demo"


@dataclass(frozen=True)
class VenueEndpoint:
    """One running simulated venue.

    Attributes:
        name: the venue ("lighter").
        url: the REST base its SDK takes ("http://127.0.0.1:P", or "http://127.0.0.1:Q/v1": the protocol's
            `rest_path` appended).
        ws_url: its WebSocket URL ("ws://127.0.0.1:P/stream").
        root_url: "http://127.0.0.1:P", where the admin API lives (`root_url + "/_sim/..."`).
        faults: its HTTP fault injector (same as `POST /_sim/faults`).
        app: its aiohttp application (`app[ENGINE_KEY]` is its engine, also `engine`).
    """

    name: str
    url: str
    ws_url: str
    root_url: str
    faults: FaultInjector
    app: web.Application = field(repr=False)

    @property
    def engine(self) -> Engine:
        """The venue's trading engine."""
        return self.app[ENGINE_KEY]


@dataclass
class SimulatorHandle:
    """Running simulator, keyed by venue. URLs are ready for the SDKs; `stop()` (or leaving `async with`) shuts every
    server down.

    Attributes:
        venues: venue name -> `VenueEndpoint` (`url`, `ws_url`, `root_url`, `faults`, `app`, `engine`), sorted.
        scenario: the loaded scenario; clock: the simulator clock (shared by every venue).
    """

    venues: dict[str, VenueEndpoint]
    scenario: Scenario
    clock: SimClock
    _runners: list[web.AppRunner] = field(default_factory=list, repr=False)

    def venue(self, name: str) -> VenueEndpoint:
        """The endpoint of `name`.

        Raises:
            KeyError: the venue is not running here (the message names the running ones).
        """
        try:
            return self.venues[name]
        except KeyError:
            raise KeyError(f"venue {name!r} is not simulated here; running: {sorted(self.venues)}") from None

    def url(self, name: str) -> str:
        """REST base of venue `name` for its SDK. Raises KeyError for a venue not running."""
        return self.venue(name).url

    def ws_url(self, name: str) -> str:
        """WebSocket URL of venue `name`. Raises KeyError for a venue not running."""
        return self.venue(name).ws_url

    def faults(self, name: str) -> FaultInjector:
        """HTTP fault injector of venue `name`. Raises KeyError for a venue not running."""
        return self.venue(name).faults

    def ready_line(self) -> str:
        """`ready <venue>=<url> ...`, venues in sorted order (what `serve_forever` prints)."""
        return "ready " + " ".join(f"{name}={self.venues[name].url}" for name in sorted(self.venues))

    async def stop(self) -> None:
        """Close WebSockets and listeners (in reverse start order). Idempotent."""
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


def select_protocols(venues: Sequence[str] | None = None) -> dict[str, SimVenueProtocol]:
    """The installed protocols to start: all of them (None), or the named ones, sorted by name.

    Raises:
        ValueError: a name no installed protocol has (naming the installed ones), or an empty selection.
    """
    installed = installed_protocols()
    names = sorted(set(venues)) if venues is not None else sorted(installed)
    unknown = [name for name in names if name not in installed]
    if unknown:
        raise ValueError(f"no simulator for venue(s) {unknown}; installed: {sorted(installed)}")
    if not names:
        raise ValueError("no venue to simulate")
    return {name: installed[name] for name in names}


async def start_simulator(
    scenario_dir: Path,
    *,
    host: str = "127.0.0.1",
    ports: Mapping[str, int] | None = None,
    venues: Sequence[str] | None = None,
    push_interval_seconds: float | None = None,
    clock: SimClock | None = None,
    speed: float = 1.0,
) -> SimulatorHandle:
    """Load `scenario_dir` and start one server per venue on the running event loop.

    Args:
        scenario_dir: scenario folder (layout in `simulator/README.md`).
        host: interface to bind (default loopback only).
        ports: venue -> TCP port; a venue not given (or 0) gets a free port (read the URLs from the handle).
        venues: the venues to start (default: every installed protocol); the scenario is read for all of them.
        push_interval_seconds: WebSocket push period; None = the scenario's setting (default 1 s).
        clock: the simulator clock (default: a `ScaledClock` running at `speed`).
        speed: simulated seconds per real second when no clock is given (3600 = one funding hour per second).

    Returns:
        A `SimulatorHandle` keyed by venue (also an async context manager).

    Raises:
        ValueError: an unknown venue in `venues` or `ports`, or a port for a venue not started.
        ScenarioError: the folder or one of its files is unusable (the message names the file).
        OSError: a port cannot be bound (servers already started are stopped).
    """
    protocols = select_protocols(venues)
    wanted = dict(ports or {})
    if wanted:
        select_protocols(
            list(wanted)
        )  # a port for a venue no protocol serves: ValueError naming the installed ones
    stray = sorted(set(wanted) - set(protocols))
    if stray:
        raise ValueError(f"ports given for venue(s) {stray} not started; starting: {sorted(protocols)}")
    clock = clock or ScaledClock(speed=speed)
    scenario = load_scenario(Path(scenario_dir), clock=clock)
    interval = (
        push_interval_seconds
        if push_interval_seconds is not None
        else scenario.settings.push_interval_seconds
    )
    url_host = _url_host(host)
    endpoints: dict[str, VenueEndpoint] = {}
    runners: list[web.AppRunner] = []
    try:
        for name, protocol in protocols.items():
            faults = FaultInjector(name, protocol.error_body)
            app = protocol.build_app(VenueContext(scenario, clock, faults, interval))
            runner, port = await _serve(app, host, wanted.get(name, 0))
            runners.insert(0, runner)  # stopped in reverse start order
            root = f"http://{url_host}:{port}"
            endpoints[name] = VenueEndpoint(
                name=name,
                url=root + protocol.rest_path,
                ws_url=f"ws://{url_host}:{port}{protocol.ws_path}",
                root_url=root,
                faults=faults,
                app=app,
            )
    except BaseException:
        for runner in runners:
            await runner.cleanup()
        raise
    return SimulatorHandle(venues=endpoints, scenario=scenario, clock=clock, _runners=runners)


async def _serve_until_signal(
    scenario_dir: Path,
    host: str,
    ports: Mapping[str, int] | None,
    venues: Sequence[str] | None,
    speed: float = 1.0,
) -> None:
    handle = await start_simulator(scenario_dir, host=host, ports=ports, venues=venues, speed=speed)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        print(handle.ready_line(), flush=True)
        await stop.wait()
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        await handle.stop()


def serve_forever(
    scenario_dir: Path,
    *,
    host: str = "127.0.0.1",
    ports: Mapping[str, int] | None = None,
    venues: Sequence[str] | None = None,
    speed: float = 1.0,
) -> None:
    """Run the simulator in the foreground until SIGINT/SIGTERM, then shut down cleanly and return.

    Prints exactly one line to stdout, flushed, once every server listens: `SimulatorHandle.ready_line()`, e.g.
    `ready lighter=http://127.0.0.1:P paradex=http://127.0.0.1:Q/v1`.

    Args:
        ports / venues: as `start_simulator`; speed: simulated seconds per real second (3600 = one funding hour
        per second).

    Raises:
        ScenarioError: unusable scenario (before anything listens). OSError: a port cannot be bound.
        ValueError: speed not positive, an unknown venue.
    """
    if speed <= 0:
        raise ValueError(f"speed must be positive, got {speed}")
    select_protocols(venues)  # unknown venues fail before the event loop starts
    asyncio.run(_serve_until_signal(Path(scenario_dir), host, ports, venues, speed))


def parse_ports(values: Sequence[str]) -> dict[str, int]:
    """`["VENUE=PORT", ...]` (the repeatable `--port` option) as {venue: port}.

    Raises:
        ValueError: an entry without `=`, a port that is not an integer in 0..65535, or a venue given twice.
    """
    ports: dict[str, int] = {}
    for value in values:
        venue, sep, port = value.partition("=")
        venue = venue.strip()
        if not sep or not venue:
            raise ValueError(f"--port {value!r}: expected VENUE=PORT")
        try:
            number = int(port)
        except ValueError:
            raise ValueError(f"--port {value!r}: the port is not an integer") from None
        if not 0 <= number <= 65535:
            raise ValueError(f"--port {value!r}: the port must be 0..65535")
        if venue in ports:
            raise ValueError(f"--port: venue {venue!r} given twice")
        ports[venue] = number
    return ports


def main(argv: list[str] | None = None) -> int:
    """`python -m simulator --scenario DIR [--host H] [--port VENUE=PORT ...] [--venue VENUE ...] [--speed X]`.

    Returns 0 after a clean shutdown; 2 (argparse) for a bad option, an unknown venue or a bad port.
    """
    names = ", ".join(installed_protocols())
    parser = argparse.ArgumentParser(prog="python -m simulator", description=f"Local simulator of {names}")
    parser.add_argument(
        "--scenario", type=Path, default=DEMO_SCENARIO, help="scenario folder (default: demo)"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port",
        action="append",
        default=[],
        metavar="VENUE=PORT",
        help="port of a venue's server (repeatable; default: a free port each)",
    )
    parser.add_argument(
        "--venue", action="append", default=None, metavar="VENUE", help=f"simulate only these ({names})"
    )
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    args = parser.parse_args(argv)
    try:
        ports = parse_ports(args.port)
        select_protocols(args.venue)
    except ValueError as exc:
        parser.error(str(exc))
    serve_forever(args.scenario, host=args.host, ports=ports, venues=args.venue, speed=args.speed)
    return 0
