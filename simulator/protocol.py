"""The venue-protocol registry of the simulator: what a venue package provides, and how the server finds it.

A simulated venue is a sub-package `simulator/<venue>/` whose `__init__.py` defines one object named `PROTOCOL`, a
`SimVenueProtocol`. `installed_protocols()` imports every sub-package of `simulator` (pkgutil) and keeps those that
define one: there is no list of venues anywhere else, so a new venue is one new package (see `simulator/README.md`,
"Adding a venue"). The server (`simulator.server`) starts one aiohttp server per protocol; the scenario loader
(`simulator.scenario`) lets each protocol read its own folder and validates `scenario.json` with the protocols'
settings models.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from simulator.engine import Engine
from simulator.engine.clock import SimClock
from simulator.faults import FaultInjector
from simulator.scenario import Scenario, SettingsModel, VenueScenarioData

PROTOCOL_ATTRIBUTE = "PROTOCOL"

# Every venue application stores its trading engine under this key (`VenueEndpoint.engine` reads it).
ENGINE_KEY = web.AppKey("engine", Engine)


@dataclass(frozen=True)
class VenueContext:
    """What the server hands a venue protocol to build its application.

    Attributes:
        scenario: the loaded scenario (every venue's folder; the protocol reads its own).
        clock: the simulator clock, shared by every venue and engine.
        faults: this venue's HTTP fault injector (`simulator.faults`; the app must install `fault_middleware`).
        push_interval_seconds: period of the venue's polled WebSocket pushes (seconds).
    """

    scenario: Scenario
    clock: SimClock
    faults: FaultInjector
    push_interval_seconds: float


class NoTradingSettings(SettingsModel):
    """`trading.<venue>` of a venue without liquidity settings: an empty object."""


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per venue package
class SimVenueProtocol:
    """One simulated venue, as the venue-neutral server and scenario loader see it.

    Attributes:
        name: the venue's name ("lighter"): its scenario folder `DIR/<name>/`, its key in `scenario.json`
            `trading` / `funding` / `faults`, in `start_simulator(ports=..., venues=...)` and in the handle.
        build_app: the venue's aiohttp application (REST, WebSocket, `/_sim/` admin routes, trading engine) for a
            `VenueContext`. The app must store its engine under `ENGINE_KEY`.
        error_body: the venue-shaped error body of an HTTP status (fault injection: `FaultInjector`).
        rest_path: what the SDK expects after `http://host:port` as its REST base ("" or "/v1").
        ws_path: the WebSocket path the SDK connects to ("/stream", "/v1").
        read_folder: reads and checks `DIR/<name>/` (an absent folder reads as empty). Raises `ScenarioError`.
        trading_settings: the pydantic model of `scenario.json` `trading.<name>` (unknown keys refused).
        settings_fields: top-level `scenario.json` keys the venue adds: name -> (type, default), read back with
            `ScenarioSettings.venue_setting`.
        write_recordings: writes `OUT/<name>/` from the recorded payloads of `../shared/venue-data`
            (`simulator.scenario_from_recordings`); None = the venue has no recordings.
        default_port: the port `perparb sim` listens on for this venue unless told otherwise (0 = a free port);
            fixed defaults let `.env.example` name the simulator's URLs. `start_simulator` always defaults to 0.
        write_demo: `(folder, assets, rng) -> {path: body}`: the venue's files of the SYNTHETIC demo scenario
            from the venue-neutral `simulator.scenarios.demo_tools.DemoAsset`s, drawing from `rng`
            (`simulator/scenarios/make_demo.py`); None = the venue is not in the demo.
    """

    name: str
    build_app: Callable[[VenueContext], web.Application]
    error_body: Callable[[int], Any]
    rest_path: str
    ws_path: str
    read_folder: Callable[[Path], VenueScenarioData]
    trading_settings: type[BaseModel] = NoTradingSettings
    settings_fields: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)
    write_recordings: Callable[[Path, Path], None] | None = None
    write_demo: Callable[[Path, Sequence[Any], random.Random], dict[Path, Any]] | None = None
    default_port: int = 0


@functools.cache
def installed_protocols() -> Mapping[str, SimVenueProtocol]:
    """Every `SimVenueProtocol` defined as `PROTOCOL` by a sub-package of `simulator`, by name (sorted).

    Raises:
        TypeError: a sub-package's `PROTOCOL` is not a `SimVenueProtocol`.
        ValueError: two packages declare the same venue name.
    """
    import simulator

    found: dict[str, SimVenueProtocol] = {}
    for module in pkgutil.iter_modules(simulator.__path__):
        if not module.ispkg:
            continue
        package = importlib.import_module(f"{simulator.__name__}.{module.name}")
        protocol = getattr(package, PROTOCOL_ATTRIBUTE, None)
        if protocol is None:
            continue
        if not isinstance(protocol, SimVenueProtocol):
            raise TypeError(f"{package.__name__}.{PROTOCOL_ATTRIBUTE} is not a SimVenueProtocol")
        if protocol.name in found:
            raise ValueError(f"two simulator packages declare the venue {protocol.name!r}")
        found[protocol.name] = protocol
    return MappingProxyType({name: found[name] for name in sorted(found)})
