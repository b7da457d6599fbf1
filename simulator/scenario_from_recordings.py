"""Assemble a scenario folder from the recorded venue payloads in `../shared/venue-data`.

Used by the tests (into a temporary folder, never committed: the recordings stay in ../shared). Mapping:

| scenario file | recorded payload (venue-data/...) |
|---|---|
| lighter/orderBookDetails.json | lighter/rest_orderBookDetails_market0.json |
| lighter/funding-rates.json | lighter/rest_funding-rates.json |
| lighter/fundings_0.json | lighter/rest_fundings_market_1h_fragment.json (its 3rd row has direction "???" — a bad row, kept) |
| lighter/orderBookOrders_0.json | lighter/rest_orderBookOrders_market0_limit1.json |
| paradex/system_config.json | paradex/rest_system_config_testnet.json |
| paradex/markets.json | paradex/rest_markets_btc.json, each row merged with its `fee_config` from rest_markets_fee_config.json |
| paradex/markets_summary.json | paradex/rest_markets_summary_btc_1.json |
| paradex/funding_data_BTC-USD-PERP.json | paradex/rest_funding_data_btc_ccxt.json |
| paradex/orderbook_BTC-USD-PERP.json | paradex/rest_orderbook_btc.json |

The fundings fragment comes from another deployment (api.rh.lighter.xyz) and is filed under market 0 here:
its rows are what matters (types, units, a bad row), not which market they belong to.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_LIGHTER = {
    "orderBookDetails.json": "rest_orderBookDetails_market0.json",
    "funding-rates.json": "rest_funding-rates.json",
    "fundings_0.json": "rest_fundings_market_1h_fragment.json",
    "orderBookOrders_0.json": "rest_orderBookOrders_market0_limit1.json",
}
_PARADEX = {
    "system_config.json": "rest_system_config_testnet.json",
    "markets_summary.json": "rest_markets_summary_btc_1.json",
    "funding_data_BTC-USD-PERP.json": "rest_funding_data_btc_ccxt.json",
    "orderbook_BTC-USD-PERP.json": "rest_orderbook_btc.json",
}


def _load(path: Path) -> Any:
    if not path.exists():
        raise FileNotFoundError(f"recorded payload {path} is missing (is ../shared/venue-data present?)")
    return json.loads(path.read_text(encoding="utf-8"))


def _write(path: Path, body: Any) -> None:
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
        FileNotFoundError: a recorded payload listed in this module's table is absent.
    """
    venue_data = Path(shared_dir) / "venue-data"
    out = Path(out_dir)
    for name, source in _LIGHTER.items():
        _write(out / "lighter" / name, _load(venue_data / "lighter" / source))
    for name, source in _PARADEX.items():
        _write(out / "paradex" / name, _load(venue_data / "paradex" / source))
    markets = _load(venue_data / "paradex" / "rest_markets_btc.json")
    fees = {
        row["symbol"]: row["fee_config"]
        for row in _load(venue_data / "paradex" / "rest_markets_fee_config.json")["results"]
    }
    markets["results"] = [
        {**row, "fee_config": fees[row["symbol"]]} if row["symbol"] in fees else row
        for row in markets["results"]
    ]
    _write(out / "paradex" / "markets.json", markets)
    _write(
        out / "scenario.json",
        {
            "description": "assembled from recorded payloads in ../shared/venue-data by "
            "simulator.scenario_from_recordings (history served as recorded)",
            "synthetic": False,
        },
    )
    return out
