"""The Lighter folder of a scenario (`DIR/lighter/`): its files read and checked at start-up (`read_lighter_folder`),
held as `LighterData`, and the `scenario.json` `trading.lighter` settings (`LighterTradingSettings`).

Each file holds one Lighter response body VERBATIM (so a scenario can be assembled from recorded payloads):

    DIR/lighter/orderBookDetails.json          GET /api/v1/orderBookDetails body
    DIR/lighter/funding-rates.json             GET /api/v1/funding-rates body
    DIR/lighter/fundings_<market_id>.json      GET /api/v1/fundings body (all rows; the server filters)
    DIR/lighter/orderBookOrders_<market_id>.json  GET /api/v1/orderBookOrders body (individual orders)
    DIR/lighter/apikeys.json                   GET /api/v1/apikeys body: registered API keys (simulator.lighter.auth)

Every file is optional. A file that is not valid JSON, has an unexpected name, or lacks the list the server filters
(e.g. a `fundings` row without an integer `timestamp`) raises `ScenarioError` naming the file. Row *values* are not
validated: a recorded bad row (`direction: "???"`) is served as recorded. History rows (`fundings[].timestamp`, in
seconds) move with `scenario.json` `shift_history_to_now`.
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
    DepthSettings,
    Scenario,
    ScenarioError,
    decimal_setting,
    json_object,
    list_of_objects,
    read_json,
    read_venue_folder,
    require_int,
    require_str,
    venue_data,
)

VENUE = "lighter"
NETWORK_ID_SETTING = "lighter_network_id"  # scenario.json: `network_id` of GET / (1 = mainnet, recorded)

_FUNDINGS = re.compile(r"^fundings_(\d+)\.json$")
_BOOK = re.compile(r"^orderBookOrders_(\d+)\.json$")
_HEX_KEY = re.compile(r"^(0x)?[0-9a-fA-F]{80}$")


@dataclass
class LighterData:
    """Lighter bodies of a scenario (None / missing key = file absent)."""

    order_book_details: dict[str, Any] | None = None
    funding_rates: dict[str, Any] | None = None
    fundings: dict[int, dict[str, Any]] = field(default_factory=dict)
    order_book_orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    api_keys: dict[str, Any] | None = None

    def perp_details(self) -> list[dict[str, Any]]:
        """The `order_book_details` rows (perps), [] when the file is absent."""
        if self.order_book_details is None:
            return []
        return list(self.order_book_details.get("order_book_details", []))

    def detail(self, market_id: int) -> dict[str, Any] | None:
        """The `order_book_details` row of `market_id`, or None."""
        for row in self.perp_details():
            if row.get("market_id") == market_id:
                return row
        return None

    def known_market_ids(self) -> set[int]:
        """Market ids listed in orderBookDetails (perps and spot)."""
        ids: set[int] = set()
        if self.order_book_details is not None:
            for key in ("order_book_details", "spot_order_book_details"):
                for row in self.order_book_details.get(key, []) or []:
                    ids.add(row["market_id"])
        return ids

    # ---- VenueScenarioData (simulator.protocol)

    def history_times_ms(self) -> list[int]:
        """Epoch ms of every `fundings` row (they are in seconds)."""
        return [row["timestamp"] * 1000 for body in self.fundings.values() for row in body["fundings"]]

    def shift_history(self, shift_ms: int) -> None:
        """Move every `fundings` row by `shift_ms` (a whole number of hours; rows are in seconds)."""
        for market_id, body in self.fundings.items():
            shifted = copy.deepcopy(body)
            for row in shifted["fundings"]:
                row["timestamp"] += shift_ms // 1000
            self.fundings[market_id] = shifted

    def funding_keys(self) -> tuple[set[str], str]:
        """Keys `scenario.json` `funding.lighter` may name: every perp's symbol and market id (as text)."""
        keys: set[str] = set()
        for row in self.perp_details():
            keys.update((str(row["symbol"]), str(row["market_id"])))
        return keys, "lighter/orderBookDetails.json order_book_details"

    def market_count(self) -> int:
        """Perp markets in orderBookDetails."""
        return len(self.perp_details())


def lighter_data(scenario: Scenario) -> LighterData:
    """The scenario's Lighter folder (an empty `LighterData` when the scenario has none)."""
    return venue_data(scenario, VENUE, LighterData)


class LighterTradingSettings(DepthSettings):
    """`trading.lighter`: overrides of `simulator.lighter.config.LighterTradingConfig` (omitted = its default): the
    shared depth keys (`simulator.scenario.DepthSettings`: levels, spread and step of markets WITHOUT a recorded
    book; the market id is added to the seed) and Lighter's own.

    Attributes:
        level_notional: USD per synthetic level (> 0); walk_vol_bps: the random walk of synthetic mids (and of
            recorded books when `random_walk` is true), >= 0.
        volume_quota_remaining: `RespSendTx.volume_quota_remaining`.
        random_walk: markets WITH a recorded book (`orderBookOrders_<id>.json`) move the whole recorded shape
            along that random walk from start-up instead of holding the recorded mark. Default False.
    """

    level_notional: Decimal | None = None
    walk_vol_bps: Decimal | None = None
    volume_quota_remaining: int | None = Field(default=None, ge=0)
    random_walk: bool = False

    @field_validator("level_notional", "walk_vol_bps", mode="before")
    @classmethod
    def _decimal(cls, value: Any) -> Decimal | None:
        return decimal_setting(value, "value")

    @field_validator("level_notional")
    @classmethod
    def _positive(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value <= 0:
            raise ValueError("must be > 0")
        return value

    @field_validator("walk_vol_bps")
    @classmethod
    def _not_negative(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value < 0:
            raise ValueError("must be >= 0")
        return value

    def config_overrides(self) -> dict[str, Any]:
        """The `LighterTradingConfig` fields given here (for `dataclasses.replace`)."""
        return self.model_dump(exclude_none=True, exclude={"random_walk"})


def _check_api_keys(path: Path, body: dict[str, Any]) -> dict[str, Any]:
    """`lighter/apikeys.json`: `api_keys[]` rows with int `account_index`, int `api_key_index` (0..254) and a
    40-byte hex `public_key` (the venue sends it without 0x; with 0x is accepted)."""
    for i, row in enumerate(list_of_objects(path, body, "api_keys")):
        require_int(path, f"api_keys[{i}].account_index", row.get("account_index"))
        require_int(path, f"api_keys[{i}].api_key_index", row.get("api_key_index"))
        if not 0 <= row["api_key_index"] <= 254:
            raise ScenarioError(
                path, f"api_keys[{i}].api_key_index must be 0..254, got {row['api_key_index']}"
            )
        key = row.get("public_key")
        if not isinstance(key, str) or not _HEX_KEY.match(key):
            raise ScenarioError(path, f"api_keys[{i}].public_key must be 80 hex digits, got {key!r}")
        if "nonce" in row:
            require_int(path, f"api_keys[{i}].nonce", row["nonce"])
    return body


def _order_book_details(data: LighterData, path: Path, _m: re.Match[str]) -> None:
    body = json_object(path, read_json(path))
    for key in ("order_book_details", "spot_order_book_details"):
        rows = list_of_objects(path, body, key, required=key == "order_book_details")
        for i, row in enumerate(rows):
            require_int(path, f"{key}[{i}].market_id", row.get("market_id"))
            require_str(path, f"{key}[{i}].symbol", row.get("symbol"))
    data.order_book_details = body


def _funding_rates(data: LighterData, path: Path, _m: re.Match[str]) -> None:
    body = json_object(path, read_json(path))
    list_of_objects(path, body, "funding_rates")
    data.funding_rates = body


def _fundings(data: LighterData, path: Path, m: re.Match[str]) -> None:
    body = json_object(path, read_json(path))
    for i, row in enumerate(list_of_objects(path, body, "fundings")):
        require_int(path, f"fundings[{i}].timestamp", row.get("timestamp"))
    data.fundings[int(m.group(1))] = body


def _order_book_orders(data: LighterData, path: Path, m: re.Match[str]) -> None:
    body = json_object(path, read_json(path))
    list_of_objects(path, body, "asks")
    list_of_objects(path, body, "bids")
    data.order_book_orders[int(m.group(1))] = body


def _api_keys(data: LighterData, path: Path, _m: re.Match[str]) -> None:
    data.api_keys = _check_api_keys(path, json_object(path, read_json(path)))


def read_lighter_folder(folder: Path) -> LighterData:
    """Read and check `DIR/lighter/` (module docstring); an absent folder reads as empty.

    Raises:
        ScenarioError: a file is not JSON, has an unexpected name or lacks the list the server filters.
    """
    return read_venue_folder(
        folder,
        VENUE,
        LighterData(),
        [
            ("orderBookDetails.json", _order_book_details),
            ("funding-rates.json", _funding_rates),
            (_FUNDINGS, _fundings),
            (_BOOK, _order_book_orders),
            ("apikeys.json", _api_keys),
        ],
    )
