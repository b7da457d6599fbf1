"""Loading a scenario folder for the installed venue protocols: the `scenario.json` model of those protocols
(`settings_model`) and `load_scenario` (layout, settings and checks: `simulator.scenario`).

Kept apart from `simulator.scenario` (the venue-neutral types and readers every venue's `scenario.py` uses) so that
imports point one way: `simulator.scenario` <- `simulator.<venue>.scenario` <- `simulator.<venue>` (its `PROTOCOL`)
<- `simulator.protocol` (`installed_protocols`) <- this module.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, create_model

from simulator.protocol import SimVenueProtocol, installed_protocols
from simulator.scenario import (
    HOUR_MS,
    MarketFundingSettings,
    Scenario,
    ScenarioError,
    ScenarioSettings,
    SettingsModel,
    SimClock,
    VenueFaultSettings,
    build_funding,
    json_object,
    read_json,
    shift_history,
)

log = logging.getLogger("perparb.simulator")


def settings_model(protocols: Mapping[str, SimVenueProtocol] | None = None) -> type[ScenarioSettings]:
    """The `scenario.json` model of the installed venue protocols (default: `simulator.protocol.installed_protocols`):
    `ScenarioSettings` plus `trading.<venue>` (the venue's `trading_settings`), `funding.<venue>`,
    `faults.<venue>` and the venues' `settings_fields`, every level refusing unknown keys. Built once per set of
    protocols."""
    if protocols is None:
        protocols = installed_protocols()
    return _settings_model(tuple(protocols[name] for name in sorted(protocols)))


@functools.cache
def _settings_model(protocols: tuple[SimVenueProtocol, ...]) -> type[ScenarioSettings]:
    def model(name: str, fields: dict[str, Any]) -> type[SettingsModel]:
        return create_model(name, __base__=SettingsModel, **fields)

    trading = model(
        "TradingSettings",
        {p.name: (p.trading_settings, Field(default_factory=p.trading_settings)) for p in protocols},
    )
    funding = model(
        "FundingSettings",
        {p.name: (dict[str, MarketFundingSettings], Field(default_factory=dict)) for p in protocols},
    )
    faults = model(
        "FaultSettings",
        {p.name: (VenueFaultSettings, Field(default_factory=VenueFaultSettings)) for p in protocols},
    )
    extra: dict[str, Any] = {}
    for p in protocols:
        extra.update(p.settings_fields)
    return create_model(
        "InstalledScenarioSettings",
        __base__=ScenarioSettings,
        trading=(trading, Field(default_factory=trading)),
        funding=(funding, Field(default_factory=funding)),
        faults=(faults, Field(default_factory=faults)),
        **extra,
    )


def _check_venue_folders(root: Path, known: Mapping[str, SimVenueProtocol]) -> None:
    """Refuse a sub-folder holding JSON files that no installed venue protocol reads."""
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if folder.name in known or not any(folder.glob("*.json")):
            continue
        raise ScenarioError(
            folder,
            f"folder of an unknown venue {folder.name!r}: the simulator has protocols for "
            f"{', '.join(sorted(known)) or 'no venue'} (a venue is a simulator/<venue>/ package defining PROTOCOL)",
        )


def load_scenario(
    scenario_dir: Path,
    *,
    clock: SimClock | None = None,
    protocols: Mapping[str, SimVenueProtocol] | None = None,
) -> Scenario:
    """Read and check a scenario folder.

    Args:
        scenario_dir: the folder (layout in `simulator.scenario`'s docstring).
        clock: used for `shift_history_to_now` and as the default `replay.start_at_ms` (default: real time).
        protocols: the venue protocols whose folders are read (default: every installed one,
            `simulator.protocol.installed_protocols`).

    Returns:
        The `Scenario`, bodies kept verbatim (except the optional history shift).

    Raises:
        ScenarioError: the folder does not exist or is not a scenario (neither `scenario.json` nor a venue
            folder), or holds a folder of JSON files of an unknown venue, or a file is
            not valid JSON, has an unexpected name, lacks the list the server filters, or `scenario.json` holds an
            unknown key / bad value / a `funding` key naming no market / an unusable replay file. The message
            names the file and the field.
    """
    if protocols is None:
        protocols = installed_protocols()
    root = Path(scenario_dir)
    if not root.is_dir():
        raise ScenarioError(root, "scenario folder does not exist")
    model = settings_model(protocols)
    settings_path = root / "scenario.json"
    settings = model()
    if settings_path.exists():
        raw = json_object(settings_path, read_json(settings_path))
        try:
            settings = model.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or '<root>'}: {e['msg']}" for e in exc.errors()
            )
            raise ScenarioError(settings_path, f"invalid settings: {problems}") from None
    _check_venue_folders(root, protocols)
    if not settings_path.exists() and not any((root / name).is_dir() for name in protocols):
        raise ScenarioError(
            root,
            f"not a scenario folder: no scenario.json and no venue folder ({', '.join(sorted(protocols))}); "
            "see simulator/README.md, or use simulator/scenarios/demo",
        )
    venues = {name: protocols[name].read_folder(root / name) for name in sorted(protocols)}
    if not any(data.market_count() for data in venues.values()):
        log.warning(
            "scenario %s has no market on any venue: the simulator will serve empty market lists", root
        )
    clock = clock or SimClock()
    shift_ms = 0
    if settings.shift_history_to_now:
        shift_ms = shift_history(venues, clock.now_ms())
    providers = build_funding(settings_path, root, settings, venues, clock.now_ms())
    scenario = Scenario(root, settings, venues, shift_ms, providers)
    log.info(
        "scenario %s: %s, history shift %d h",
        root,
        ", ".join(f"{name} {data.market_count()} markets" for name, data in venues.items()),
        shift_ms // HOUR_MS,
    )
    return scenario
