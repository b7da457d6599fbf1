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
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from simulator.scenario import (
    Scenario,
    ScenarioError,
    SettingsModel,
    decimal_setting,
    json_object,
    list_of_objects,
    read_json,
    require_int,
    require_str,
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
    data = scenario.venues.get(VENUE)
    return data if isinstance(data, AsterData) else AsterData()


class AsterTradingSettings(SettingsModel):
    """`trading.aster`: overrides of `simulator.aster.trading.AsterTradingConfig` (omitted = its default).

    Attributes:
        levels / spread_bps / level_step_bps / replenish_ms: the market maker's depth.
        notional_per_level: USD per level; vol_bps / walk_step_ms / seed: each mid's random walk (market i of
        exchangeInfo uses seed + i); sync_interval_seconds: real seconds between background engine syncs.
    """

    levels: int | None = Field(default=None, ge=1, le=200)
    spread_bps: Decimal | None = None
    level_step_bps: Decimal | None = None
    replenish_ms: int | None = Field(default=None, ge=0)
    notional_per_level: Decimal | None = None
    vol_bps: Decimal | None = None
    walk_step_ms: int | None = Field(default=None, ge=1)
    seed: int | None = None
    sync_interval_seconds: float | None = Field(default=None, gt=0, le=60)

    @field_validator("spread_bps", "level_step_bps", "notional_per_level", "vol_bps", mode="before")
    @classmethod
    def _decimal(cls, value: Any) -> Decimal | None:
        return decimal_setting(value, "value")

    @field_validator("spread_bps", "level_step_bps", "notional_per_level")
    @classmethod
    def _positive(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value <= 0:
            raise ValueError("must be > 0")
        return value

    @field_validator("vol_bps")
    @classmethod
    def _not_negative(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value < 0:
            raise ValueError("must be >= 0")
        return value

    def config_overrides(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


def _list(path: Path, body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, list):
        raise ScenarioError(path, f"must hold a JSON list (the response body), got {type(body).__name__}")
    for i, row in enumerate(body):
        if not isinstance(row, dict):
            raise ScenarioError(path, f"[{i}] must be an object, got {type(row).__name__}")
        require_str(path, f"[{i}].symbol", row.get("symbol"))
    return body


def read_aster_folder(folder: Path) -> AsterData:
    """Read and check `DIR/aster/` (module docstring); an absent folder reads as empty.

    Raises:
        ScenarioError: a file is not JSON, has an unexpected name or lacks what the server reads.
    """
    data = AsterData()
    if not folder.is_dir():
        return data
    for path in sorted(folder.glob("*.json")):
        name = path.name
        if name == "exchangeInfo.json":
            body = json_object(path, read_json(path))
            for i, row in enumerate(list_of_objects(path, body, "symbols")):
                require_str(path, f"symbols[{i}].symbol", row.get("symbol"))
            data.exchange_info = body
        elif name == "fundingInfo.json":
            data.funding_info = _list(path, read_json(path))
        elif name == "premiumIndex.json":
            data.premium_index = _list(path, read_json(path))
        elif name == "ticker_24hr.json":
            data.ticker_24hr = _list(path, read_json(path))
        elif m := _HISTORY.match(name):
            rows = _list(path, read_json(path))
            for i, row in enumerate(rows):
                require_int(path, f"[{i}].fundingTime", row.get("fundingTime"))
            data.funding_rate[m.group(1)] = rows
        else:
            raise ScenarioError(
                path, "unexpected file name in aster/ (see simulator/README.md for the layout)"
            )
    return data
