"""The Lighter folder of a scenario assembled from the recorded payloads in `../shared/venue-data/lighter/` (tests;
`simulator.scenario_from_recordings` calls it for every venue). Mapping:

| scenario file | recorded payload (venue-data/lighter/...) |
|---|---|
| lighter/orderBookDetails.json | rest_orderBookDetails_market0.json |
| lighter/funding-rates.json | rest_funding-rates.json |
| lighter/fundings_0.json | rest_fundings_market_1h_fragment.json (its 3rd row has direction "???" — a bad row, kept) |
| lighter/orderBookOrders_0.json | rest_orderBookOrders_market0_limit1.json |

The fundings fragment comes from another deployment (api.rh.lighter.xyz) and is filed under market 0 here:
its rows are what matters (types, units, a bad row), not which market they belong to.
"""

from __future__ import annotations

from pathlib import Path

from simulator.lighter.scenario import VENUE
from simulator.scenario_from_recordings import load_recording, write_body

FILES = {
    "orderBookDetails.json": "rest_orderBookDetails_market0.json",
    "funding-rates.json": "rest_funding-rates.json",
    "fundings_0.json": "rest_fundings_market_1h_fragment.json",
    "orderBookOrders_0.json": "rest_orderBookOrders_market0_limit1.json",
}


def write_lighter_recordings(venue_data: Path, out: Path) -> None:
    """Write `out/lighter/` from `venue_data/lighter/` (table in the module docstring).

    Raises:
        FileNotFoundError: a recorded payload of the table is absent.
    """
    for name, source in FILES.items():
        write_body(out / VENUE / name, load_recording(venue_data / VENUE / source))
