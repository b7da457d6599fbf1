"""The Hyperliquid folder of a scenario assembled from the recorded payloads in `../shared/venue-data/hyperliquid/`
(tests; `simulator.scenario_from_recordings` calls it for every venue). Mapping:

| scenario file | recorded payload (venue-data/hyperliquid/...) |
|---|---|
| hyperliquid/metaAndAssetCtxs.json | rest_info_metaAndAssetCtxs_docexample.json (BTC, ETH, HPOS) |
| hyperliquid/predictedFundings.json | rest_info_predictedFundings_BTC_ETH_2025-08_docexample.json |
| hyperliquid/fundingHistory_BTC.json | rest_info_fundingHistory_BTC_2023-05_8h.json (the 8-hour era) |
"""

from __future__ import annotations

from pathlib import Path

from simulator.hyperliquid.scenario import VENUE
from simulator.scenario_from_recordings import load_recording, write_body

FILES = {
    "metaAndAssetCtxs.json": "rest_info_metaAndAssetCtxs_docexample.json",
    "predictedFundings.json": "rest_info_predictedFundings_BTC_ETH_2025-08_docexample.json",
    "fundingHistory_BTC.json": "rest_info_fundingHistory_BTC_2023-05_8h.json",
}


def write_hyperliquid_recordings(venue_data: Path, out: Path) -> None:
    """Write `out/hyperliquid/` from `venue_data/hyperliquid/` (table in the module docstring).

    Raises:
        FileNotFoundError: a recorded payload of the table is absent.
    """
    recorded = venue_data / VENUE
    for name, source in FILES.items():
        write_body(out / VENUE / name, load_recording(recorded / source))
