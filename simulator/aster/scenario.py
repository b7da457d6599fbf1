"""The Aster folder of a scenario (`DIR/aster/`): its files read and checked at start-up (`read_aster_folder`), held
as `AsterData`, and the `scenario.json` `trading.aster` settings (`AsterTradingSettings`).

Each file holds one Aster response body VERBATIM (so a scenario can be assembled from recorded payloads):

    DIR/aster/exchangeInfo.json            GET /fapi/v1/exchangeInfo body (object with `symbols`)
    DIR/aster/fundingInfo.json             GET /fapi/v1/fundingInfo body (list: fundingIntervalHours per symbol)
    DIR/aster/premiumIndex.json            GET /fapi/v1/premiumIndex body (list: mark, index, lastFundingRate)
    DIR/aster/ticker_24hr.json             GET /fapi/v1/ticker/24hr body (list)
    DIR/aster/fundingRate_<SYMBOL>.json    GET /fapi/v1/fundingRate body of one symbol (all rows; filtered when served)

Every file is optional. A file that is not valid JSON, has an unexpected name, or lacks what the server reads
(`symbols[].symbol`, `fundingRate[].fundingTime` integers, ...) raises `ScenarioError` naming the file. Row values
are not validated. History rows (`fundingTime`, ms) move with `scenario.json` `shift_history_to_now`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.scenario import (
    MarketMakerSettings,
    Scenario,
    json_object,
    list_body,
    list_of_objects,
    read_json,
    read_venue_folder,
    require_int,
    require_str,
    venue_data,
)

VENUE = "aster"

_HISTORY = re.compile(r"^fundingRate_([A-Z0-9]+)\.json$")


@dataclass
class AsterData:
    """Aster bodies of a scenario (None / missing key = file absent)."""

    exchange_info: dict[str, Any] | None = None
    funding_info: list[dict[str, Any]] | None = None
    premium_index: list[dict[str, Any]] | None = None
    ticker_24hr: list[dict[str, Any]] | None = None
    funding_rate: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def symbols(self) -> list[str]:
        """The symbols of exchangeInfo, in its order."""
        return [str(row["symbol"]) for row in (self.exchange_info or {}).get("symbols", [])]

    def symbol_row(self, symbol: str) -> dict[str, Any] | None:
        for row in (self.exchange_info or {}).get("symbols", []):
            if row.get("symbol") == symbol:
                found: dict[str, Any] = row
                return found
        return None

    def intervals(self) -> dict[str, int]:
        """fundingIntervalHours by symbol (rows without an integer are left out: 8 applies)."""
        return {
            str(r["symbol"]): r["fundingIntervalHours"]
            for r in self.funding_info or []
            if isinstance(r.get("fundingIntervalHours"), int)
            and not isinstance(r.get("fundingIntervalHours"), bool)
        }

    def premium(self, symbol: str) -> dict[str, Any] | None:
        return next((r for r in self.premium_index or [] if r.get("symbol") == symbol), None)

    # ---- VenueScenarioData (simulator.protocol)

    def history_times_ms(self) -> list[int]:
        return [row["fundingTime"] for rows in self.funding_rate.values() for row in rows]

    def shift_history(self, shift_ms: int) -> None:
        for symbol, rows in self.funding_rate.items():
            shifted = copy.deepcopy(rows)
            for row in shifted:
                row["fundingTime"] += shift_ms
            self.funding_rate[symbol] = shifted

    def funding_keys(self) -> tuple[set[str], str]:
        """Keys `scenario.json` `funding.aster` may name: the symbols of exchangeInfo ("BTCUSDT")."""
        return set(self.symbols()), "aster/exchangeInfo.json"

    def market_count(self) -> int:
        return len(self.symbols())


def aster_data(scenario: Scenario) -> AsterData:
    """The scenario's Aster folder (an empty `AsterData` when the scenario has none)."""
    return venue_data(scenario, VENUE, AsterData)


class AsterTradingSettings(MarketMakerSettings):
    """`trading.aster`: overrides of `simulator.aster.trading.AsterTradingConfig` (omitted = its default): the
    shared market-maker keys (`simulator.scenario.MarketMakerSettings`; market i of exchangeInfo uses seed + i)."""


def _list(path: Path, body: Any) -> list[dict[str, Any]]:
    rows = list_body(path, body)
    for i, row in enumerate(rows):
        require_str(path, f"[{i}].symbol", row.get("symbol"))
    return rows


def _exchange_info(data: AsterData, path: Path, _m: re.Match[str]) -> None:
    body = json_object(path, read_json(path))
    for i, row in enumerate(list_of_objects(path, body, "symbols")):
        require_str(path, f"symbols[{i}].symbol", row.get("symbol"))
    data.exchange_info = body


def _funding_rate(data: AsterData, path: Path, m: re.Match[str]) -> None:
    rows = _list(path, read_json(path))
    for i, row in enumerate(rows):
        require_int(path, f"[{i}].fundingTime", row.get("fundingTime"))
    data.funding_rate[m.group(1)] = rows


def _listed(attribute: str) -> Callable[[AsterData, Path, re.Match[str]], None]:
    def read(data: AsterData, path: Path, _m: re.Match[str]) -> None:
        setattr(data, attribute, _list(path, read_json(path)))

    return read


def read_aster_folder(folder: Path) -> AsterData:
    """Read and check `DIR/aster/` (module docstring); an absent folder reads as empty.

    Raises:
        ScenarioError: a file is not JSON, has an unexpected name or lacks what the server reads.
    """
    return read_venue_folder(
        folder,
        VENUE,
        AsterData(),
        [
            ("exchangeInfo.json", _exchange_info),
            ("fundingInfo.json", _listed("funding_info")),
            ("premiumIndex.json", _listed("premium_index")),
            ("ticker_24hr.json", _listed("ticker_24hr")),
            (_HISTORY, _funding_rate),
        ],
    )
