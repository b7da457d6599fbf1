"""The Paradex folder of a scenario assembled from the recorded payloads in `../shared/venue-data/paradex/` (tests;
`simulator.scenario_from_recordings` calls it for every venue). Mapping:

| scenario file | recorded payload (venue-data/paradex/...) |
|---|---|
| paradex/system_config.json | rest_system_config_testnet.json |
| paradex/markets.json | rest_markets_btc.json, each row merged with its `fee_config` from rest_markets_fee_config.json |
| paradex/markets_summary.json | rest_markets_summary_btc_1.json |
| paradex/funding_data_BTC-USD-PERP.json | rest_funding_data_btc_ccxt.json |
| paradex/orderbook_BTC-USD-PERP.json | rest_orderbook_btc.json |
"""

from __future__ import annotations

from pathlib import Path

from simulator.paradex.scenario import VENUE
from simulator.scenario_from_recordings import load_recording, write_body

FILES = {
    "system_config.json": "rest_system_config_testnet.json",
    "markets_summary.json": "rest_markets_summary_btc_1.json",
    "funding_data_BTC-USD-PERP.json": "rest_funding_data_btc_ccxt.json",
    "orderbook_BTC-USD-PERP.json": "rest_orderbook_btc.json",
}


def write_paradex_recordings(venue_data: Path, out: Path) -> None:
    """Write `out/paradex/` from `venue_data/paradex/` (table in the module docstring).

    Raises:
        FileNotFoundError: a recorded payload of the table is absent.
    """
    recorded = venue_data / VENUE
    for name, source in FILES.items():
        write_body(out / VENUE / name, load_recording(recorded / source))
    markets = load_recording(recorded / "rest_markets_btc.json")
    fees = {
        row["symbol"]: row["fee_config"]
        for row in load_recording(recorded / "rest_markets_fee_config.json")["results"]
    }
    markets["results"] = [
        {**row, "fee_config": fees[row["symbol"]]} if row["symbol"] in fees else row
        for row in markets["results"]
    ]
    write_body(out / VENUE / "markets.json", markets)
