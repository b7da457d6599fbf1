"""The venue-protocol registry and the handle keyed by venue (`simulator.protocol`, `simulator.server`).

A toy venue package, written into a temporary folder added to `simulator.__path__`, shows what a new venue needs:
one `simulator/<venue>/` package defining `PROTOCOL` — the server, the scenario loader and `scenario.json` pick it
up with no list to edit.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

import simulator
from simulator.faults import FaultSpec
from simulator.protocol import SimVenueProtocol, installed_protocols
from simulator.scenario import ScenarioError, SimClock
from simulator.scenario_loader import load_scenario, settings_model
from simulator.server import DEMO_SCENARIO, parse_ports, select_protocols, start_simulator

NOW_MS = 1_800_000_000_000

TOY_VENUE = '''
"""A toy venue: one REST route, a scenario folder of one file, one trading setting."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from simulator.engine import Engine, NotionalBasis, ReduceOnlyPolicy, VenueRules
from simulator.faults import add_admin_routes, fault_middleware
from simulator.protocol import ENGINE_KEY, SimVenueProtocol, VenueContext
from simulator.scenario import ScenarioError, SettingsModel, json_object, read_json


@dataclass
class ToyData:
    prices: dict[str, Any] = field(default_factory=dict)

    def history_times_ms(self) -> list[int]:
        return []

    def shift_history(self, shift_ms: int) -> None:
        return None

    def funding_keys(self) -> tuple[set[str], str]:
        return set(self.prices), "toyvenue/prices.json"

    def market_count(self) -> int:
        return len(self.prices)


def read_folder(folder: Path) -> ToyData:
    data = ToyData()
    for path in sorted(folder.glob("*.json")):
        if path.name != "prices.json":
            raise ScenarioError(path, "unexpected file name in toyvenue/")
        data.prices = json_object(path, read_json(path))
    return data


class ToySettings(SettingsModel):
    depth: int = 1


def build_app(context: VenueContext) -> web.Application:
    app = web.Application(middlewares=[fault_middleware(context.faults)])
    app[ENGINE_KEY] = Engine(
        VenueRules("toyvenue", ReduceOnlyPolicy.CLAMP, NotionalBasis.ORDER_PRICE, False), clock=context.clock
    )
    data = context.scenario.venues["toyvenue"]
    depth = context.scenario.settings.venue_trading("toyvenue").depth
    flag = context.scenario.settings.venue_setting("toy_flag", False)

    async def prices(request: web.Request) -> web.Response:
        return web.json_response({"prices": data.prices, "depth": depth, "flag": flag})

    add_admin_routes(app, context.faults, lambda: {})
    app.router.add_get("/toy/prices", prices)
    return app


PROTOCOL = SimVenueProtocol(
    name="toyvenue",
    build_app=build_app,
    error_body=lambda status: {"toy_error": status},
    rest_path="/toy",
    ws_path="/toy/ws",
    read_folder=read_folder,
    trading_settings=ToySettings,
    settings_fields={"toy_flag": (bool, False)},
)
'''


@pytest.fixture
def toy_venue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`simulator/toyvenue/` installed for one test (a folder added to the package's search path)."""
    extra = tmp_path / "extra"
    (extra / "toyvenue").mkdir(parents=True)
    (extra / "toyvenue" / "__init__.py").write_text(textwrap.dedent(TOY_VENUE))
    monkeypatch.setattr(simulator, "__path__", [*simulator.__path__, str(extra)])
    installed_protocols.cache_clear()
    yield
    installed_protocols.cache_clear()


def write(folder: Path, rel: str, body: object) -> None:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body))


def test_installed_protocols_are_the_venue_packages() -> None:
    protocols = installed_protocols()
    assert list(protocols) == sorted(protocols) and {"hyperliquid", "lighter", "paradex"} <= set(protocols)
    for name, protocol in protocols.items():
        assert isinstance(protocol, SimVenueProtocol) and protocol.name == name
    assert (protocols["lighter"].rest_path, protocols["lighter"].ws_path) == ("", "/stream")
    assert (protocols["paradex"].rest_path, protocols["paradex"].ws_path) == ("/v1", "/v1")
    assert (protocols["hyperliquid"].rest_path, protocols["hyperliquid"].ws_path) == ("", "/ws")


def test_select_protocols_and_parse_ports() -> None:
    assert list(select_protocols(None)) == list(installed_protocols())
    assert list(select_protocols(["paradex", "lighter", "paradex"])) == ["lighter", "paradex"]
    installed = re.escape(str(sorted(installed_protocols())))
    with pytest.raises(
        ValueError, match=r"no simulator for venue\(s\) \['kraken'\]; installed: " + installed
    ):
        select_protocols(["kraken"])
    with pytest.raises(ValueError, match="no venue to simulate"):
        select_protocols([])
    assert parse_ports(["lighter=8080", " paradex =0"]) == {"lighter": 8080, "paradex": 0}
    for bad, problem in (
        (["lighter"], "expected VENUE=PORT"),
        (["lighter=x"], "not an integer"),
        (["lighter=70000"], "0..65535"),
        (["lighter=1", "lighter=2"], "given twice"),
    ):
        with pytest.raises(ValueError, match=problem):
            parse_ports(bad)


async def test_handle_is_keyed_by_venue() -> None:
    async with await start_simulator(DEMO_SCENARIO) as sim:
        assert list(sim.venues) == list(installed_protocols())
        lighter, paradex, hl = sim.venues["lighter"], sim.venues["paradex"], sim.venues["hyperliquid"]
        assert sim.url("lighter") == lighter.url == lighter.root_url
        assert sim.url("paradex") == paradex.root_url + "/v1"
        assert sim.ws_url("lighter") == lighter.root_url.replace("http://", "ws://") + "/stream"
        assert sim.ws_url("paradex") == paradex.root_url.replace("http://", "ws://") + "/v1"
        assert sim.faults("paradex") is paradex.faults and paradex.faults.venue == "paradex"
        assert lighter.engine is not paradex.engine and lighter.engine.rules.venue == "lighter"
        assert sim.ready_line() == "ready " + " ".join(f"{n}={e.url}" for n, e in sorted(sim.venues.items()))
        assert f"lighter={lighter.url} paradex={paradex.url}" in sim.ready_line()
        backpack = sim.venues["backpack"]
        assert sim.url("backpack") == backpack.root_url and backpack.engine.rules.venue == "backpack"
        assert sim.ws_url("backpack") == backpack.root_url.replace("http://", "ws://") + "/ws"
        assert (
            sim.url("hyperliquid") == hl.root_url
            and sim.ws_url("hyperliquid") == hl.root_url.replace("http://", "ws://") + "/ws"
        )
        assert hl.engine.rules.venue == "hyperliquid" and hl.engine is not lighter.engine
        running = re.escape(str(list(installed_protocols())))
        with pytest.raises(KeyError, match=rf"venue 'kraken' is not simulated here; running: {running}"):
            sim.url("kraken")


async def test_start_only_some_venues_on_given_ports(unused_tcp_port: int) -> None:
    async with await start_simulator(
        DEMO_SCENARIO, venues=["paradex"], ports={"paradex": unused_tcp_port}
    ) as sim:
        assert list(sim.venues) == ["paradex"]
        assert sim.url("paradex") == f"http://127.0.0.1:{unused_tcp_port}/v1"
        assert sim.ready_line() == f"ready paradex=http://127.0.0.1:{unused_tcp_port}/v1"
        assert "lighter" in sim.scenario.venues  # the scenario is read for every installed venue
    with pytest.raises(ValueError, match=r"ports given for venue\(s\) \['lighter'\] not started"):
        await start_simulator(DEMO_SCENARIO, venues=["paradex"], ports={"lighter": 1})
    with pytest.raises(ValueError, match=r"no simulator for venue\(s\) \['kraken'\]"):
        await start_simulator(DEMO_SCENARIO, ports={"kraken": 1})


def test_a_folder_of_an_unknown_venue_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "kraken/markets.json", {"results": []})
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path, clock=SimClock(NOW_MS))
    assert info.value.path == tmp_path / "kraken"
    assert "folder of an unknown venue 'kraken'" in str(info.value)
    assert "protocols for " + ", ".join(installed_protocols()) in str(info.value)
    # a folder without JSON files (e.g. the parquet of a funding replay) is not a venue folder
    (tmp_path / "kraken" / "markets.json").unlink()
    (tmp_path / "history").mkdir()
    (tmp_path / "history" / "rates.parquet").write_bytes(b"PAR1")
    with pytest.raises(ScenarioError, match=r"not a scenario folder: no scenario\.json and no venue folder"):
        load_scenario(tmp_path, clock=SimClock(NOW_MS))  # nothing of a scenario: refused, not served empty
    write(tmp_path, "scenario.json", {})
    assert set(load_scenario(tmp_path, clock=SimClock(NOW_MS)).venues) == set(installed_protocols())


async def test_a_new_venue_is_one_package(toy_venue: None, tmp_path: Path) -> None:
    assert "toyvenue" in installed_protocols()
    model = settings_model()
    assert model().venue_trading("toyvenue").depth == 1
    write(tmp_path, "toyvenue/prices.json", {"TOY": "1.5"})
    write(
        tmp_path,
        "scenario.json",
        {
            "trading": {"toyvenue": {"depth": 3}},
            "toy_flag": True,
            "faults": {"toyvenue": {"engine": {"reject_next": 1}}},
        },
    )
    async with await start_simulator(tmp_path, venues=["toyvenue"]) as sim:
        assert sim.url("toyvenue").endswith("/toy") and sim.ws_url("toyvenue").endswith("/toy/ws")
        assert sim.ready_line() == f"ready toyvenue={sim.url('toyvenue')}"
        async with aiohttp.ClientSession() as http:
            async with http.get(sim.url("toyvenue") + "/prices") as resp:
                assert await resp.json() == {"prices": {"TOY": "1.5"}, "depth": 3, "flag": True}
            sim.faults("toyvenue").configure(FaultSpec(http_status=503, count=1))
            async with http.get(sim.url("toyvenue") + "/prices") as resp:
                assert (resp.status, await resp.json()) == (503, {"toy_error": 503})
    # its settings are checked like every venue's: unknown keys refused, funding keys named by its folder
    write(tmp_path, "scenario.json", {"trading": {"toyvenue": {"colour": 1}}})
    with pytest.raises(ScenarioError, match=r"trading\.toyvenue\.colour: Extra inputs are not permitted"):
        load_scenario(tmp_path, clock=SimClock(NOW_MS))
    write(tmp_path, "scenario.json", {"funding": {"toyvenue": {"NOPE": {"constant_hourly": 0.0001}}}})
    with pytest.raises(
        ScenarioError, match=r"funding\.toyvenue\.NOPE: no market 'NOPE' in toyvenue/prices\.json"
    ):
        load_scenario(tmp_path, clock=SimClock(NOW_MS))


def test_fixed_default_ports_are_the_ones_env_example_names() -> None:
    """`perparb sim` listens on each venue's fixed default port, so the URLs in `.env.example` reach it."""
    from pathlib import Path

    from simulator.protocol import installed_protocols

    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    ports = {name: p.default_port for name, p in installed_protocols().items()}
    assert all(port > 0 for port in ports.values()) and len(set(ports.values())) == len(ports)
    for port in ports.values():
        assert f"http://127.0.0.1:{port}" in example
