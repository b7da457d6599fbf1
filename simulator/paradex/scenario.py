"""The Paradex folder of a scenario (`DIR/paradex/`): its files read and checked at start-up (`read_paradex_folder`),
held as `ParadexData`, and the `scenario.json` `trading.paradex` settings (`ParadexTradingSettings`).

Each file holds one Paradex response body VERBATIM (so a scenario can be assembled from recorded payloads):

    DIR/paradex/system_config.json             GET /v1/system/config body
    DIR/paradex/markets.json                   GET /v1/markets body
    DIR/paradex/markets_summary.json           GET /v1/markets/summary?market=ALL body
    DIR/paradex/funding_data_<MARKET>.json     GET /v1/funding/data body (all rows; the server pages)
    DIR/paradex/orderbook_<MARKET>.json        GET /v1/orderbook/<MARKET> body
    DIR/paradex/subkeys.json                   GET /v1/account/keys/subkeys body: registered subkeys (simulator.paradex.auth)

Every file is optional. A file that is not valid JSON, has an unexpected name, or lacks the list the server filters
(e.g. a `funding_data` row without an integer `created_at`) raises `ScenarioError` naming the file. Row *values*
are not validated. History rows (`funding_data[].created_at`, in ms) move with `scenario.json` `shift_history_to_now`.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.scenario import (
    MarketMakerSettings,
    Scenario,
    ScenarioError,
    json_object,
    list_of_objects,
    read_json,
    read_venue_folder,
    require_int,
    require_str,
    venue_data,
)

VENUE = "paradex"

_FUNDING = re.compile(r"^funding_data_(.+)\.json$")
_BOOK = re.compile(r"^orderbook_(.+)\.json$")
_FELT = re.compile(r"^0x[0-9a-fA-F]{1,64}$")


@dataclass
class ParadexData:
    """Paradex bodies of a scenario (None / missing key = file absent)."""

    system_config: dict[str, Any] | None = None
    markets: dict[str, Any] | None = None
    markets_summary: dict[str, Any] | None = None
    funding_data: dict[str, dict[str, Any]] = field(default_factory=dict)
    orderbooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    subkeys: dict[str, Any] | None = None

    def known_markets(self) -> set[str]:
        """Every market symbol the scenario mentions (markets, summary, funding data, order books)."""
        names: set[str] = set(self.funding_data) | set(self.orderbooks)
        for body in (self.markets, self.markets_summary):
            if body is not None:
                names.update(row["symbol"] for row in body.get("results", []))
        return names

    def market(self, symbol: str) -> dict[str, Any] | None:
        """The `/markets` row of `symbol`, or None."""
        if self.markets is None:
            return None
        for row in self.markets.get("results", []):
            if row.get("symbol") == symbol:
                found: dict[str, Any] = row
                return found
        return None

    # ---- VenueScenarioData (simulator.protocol)

    def history_times_ms(self) -> list[int]:
        """Epoch ms of every `funding_data` row."""
        return [row["created_at"] for body in self.funding_data.values() for row in body["results"]]

    def shift_history(self, shift_ms: int) -> None:
        """Move every `funding_data` row by `shift_ms` (a whole number of hours)."""
        for market, body in self.funding_data.items():
            shifted = copy.deepcopy(body)
            for row in shifted["results"]:
                row["created_at"] += shift_ms
            self.funding_data[market] = shifted

    def funding_keys(self) -> tuple[set[str], str]:
        """Keys `scenario.json` `funding.paradex` may name: the symbols of markets.json."""
        return {str(row["symbol"]) for row in (self.markets or {}).get("results", [])}, "paradex/markets.json"

    def market_count(self) -> int:
        """Every market the folder mentions."""
        return len(self.known_markets())


def paradex_data(scenario: Scenario) -> ParadexData:
    """The scenario's Paradex folder (an empty `ParadexData` when the scenario has none)."""
    return venue_data(scenario, VENUE, ParadexData)


class ParadexTradingSettings(MarketMakerSettings):
    """`trading.paradex`: overrides of `simulator.paradex.config.ParadexTradingConfig` (omitted = its default): the
    shared market-maker keys (`simulator.scenario.MarketMakerSettings`; market i of markets.json uses seed + i)."""


def _check_subkeys(path: Path, body: dict[str, Any]) -> dict[str, Any]:
    """`paradex/subkeys.json`: `results[]` rows with `account_id` (main account) and `public_key` as `0x` felts,
    optional `state` (str) and `revoked_at` (int)."""
    for i, row in enumerate(list_of_objects(path, body, "results")):
        for key in ("account_id", "public_key"):
            value = row.get(key)
            if not isinstance(value, str) or not _FELT.match(value):
                raise ScenarioError(
                    path, f"results[{i}].{key} must be 0x followed by 1-64 hex digits, got {value!r}"
                )
        if "state" in row:
            require_str(path, f"results[{i}].state", row["state"])
        if "revoked_at" in row:
            require_int(path, f"results[{i}].revoked_at", row["revoked_at"])
    return body


def _system_config(data: ParadexData, path: Path, _m: re.Match[str]) -> None:
    data.system_config = json_object(path, read_json(path))


def _markets(data: ParadexData, path: Path, m: re.Match[str]) -> None:
    body = json_object(path, read_json(path))
    for i, row in enumerate(list_of_objects(path, body, "results")):
        require_str(path, f"results[{i}].symbol", row.get("symbol"))
    if m.group(0) == "markets.json":
        data.markets = body
    else:
        data.markets_summary = body


def _funding_data(data: ParadexData, path: Path, m: re.Match[str]) -> None:
    body = json_object(path, read_json(path))
    for i, row in enumerate(list_of_objects(path, body, "results")):
        require_int(path, f"results[{i}].created_at", row.get("created_at"))
    data.funding_data[m.group(1)] = body


def _orderbook(data: ParadexData, path: Path, m: re.Match[str]) -> None:
    body = json_object(path, read_json(path))
    for key in ("asks", "bids"):
        if not isinstance(body.get(key), list):
            raise ScenarioError(path, f"lacks the {key!r} list of [price, size] pairs")
    data.orderbooks[m.group(1)] = body


def _subkeys(data: ParadexData, path: Path, _m: re.Match[str]) -> None:
    data.subkeys = _check_subkeys(path, json_object(path, read_json(path)))


def read_paradex_folder(folder: Path) -> ParadexData:
    """Read and check `DIR/paradex/` (module docstring); an absent folder reads as empty.

    Raises:
        ScenarioError: a file is not JSON, has an unexpected name or lacks the list the server filters.
    """
    return read_venue_folder(
        folder,
        VENUE,
        ParadexData(),
        [
            ("system_config.json", _system_config),
            ("markets.json", _markets),
            ("markets_summary.json", _markets),
            (_FUNDING, _funding_data),
            (_BOOK, _orderbook),
            ("subkeys.json", _subkeys),
        ],
    )
