"""Assemble a scenario folder from the recorded venue payloads in `../shared/venue-data`.

Used by the tests (into a temporary folder, never committed: the recordings stay in ../shared). Every installed venue
protocol with recordings (`SimVenueProtocol.write_recordings`, e.g. `simulator/<venue>/recordings.py`, whose
docstring maps each scenario file to its recorded payload) writes its own folder; this module adds `scenario.json`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def load_recording(path: Path) -> Any:
    """The JSON of one recorded payload.

    Raises:
        FileNotFoundError: the payload is missing (naming it and the likely cause).
    """
    if not path.exists():
        raise FileNotFoundError(f"recorded payload {path} is missing (is ../shared/venue-data present?)")
    return json.loads(path.read_text(encoding="utf-8"))


def write_body(path: Path, body: Any) -> None:
    """Write one scenario file (indented JSON), creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")


def build_scenario_from_recordings(shared_dir: Path, out_dir: Path) -> Path:
    """Write a scenario folder built from recorded payloads.

    Args:
        shared_dir: the `../shared` folder (the one holding `venue-data/`).
        out_dir: destination folder (created; existing files of the same names are overwritten).

    Returns:
        `out_dir`, ready for `start_simulator`.

    Raises:
        FileNotFoundError: a recorded payload a venue's table lists is absent.
    """
    from simulator.protocol import installed_protocols

    venue_data = Path(shared_dir) / "venue-data"
    out = Path(out_dir)
    for protocol in installed_protocols().values():
        if protocol.write_recordings is not None:
            protocol.write_recordings(venue_data, out)
    write_body(
        out / "scenario.json",
        {
            "description": "assembled from recorded payloads in ../shared/venue-data by "
            "simulator.scenario_from_recordings (history served as recorded)",
            "synthetic": False,
        },
    )
    return out
