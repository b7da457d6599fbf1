"""Access to ../shared (recorded venue payloads, funding history) with a clean skip when it is absent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
VENUE_DATA = SHARED / "venue-data"


def shared_path(*parts: str) -> Path:
    """Path under ../shared; skips the calling test with a reason when it does not exist."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"../shared is absent (looked for {path}); recorded payloads are needed for this test")
    return path


def load_payload(venue: str, name: str) -> Any:
    """JSON body of ../shared/venue-data/<venue>/<name>.json, or skip when absent."""
    return json.loads(shared_path("venue-data", venue, f"{name}.json").read_text())
