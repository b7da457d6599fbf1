"""Scenario folders: the venue response bodies the simulator serves, loaded and checked at start-up.

A scenario is a folder of JSON files, each holding one venue response body VERBATIM (so a scenario can be
assembled from recorded payloads, see `simulator.scenario_from_recordings`):

    DIR/scenario.json                          optional settings (`ScenarioSettings`)
    DIR/lighter/orderBookDetails.json          GET /api/v1/orderBookDetails body
    DIR/lighter/funding-rates.json             GET /api/v1/funding-rates body
    DIR/lighter/fundings_<market_id>.json      GET /api/v1/fundings body (all rows; the server filters)
    DIR/lighter/orderBookOrders_<market_id>.json  GET /api/v1/orderBookOrders body (individual orders)
    DIR/lighter/apikeys.json                   GET /api/v1/apikeys body: registered API keys (simulator.auth)
    DIR/paradex/system_config.json             GET /v1/system/config body
    DIR/paradex/markets.json                   GET /v1/markets body
    DIR/paradex/markets_summary.json           GET /v1/markets/summary?market=ALL body
    DIR/paradex/funding_data_<MARKET>.json     GET /v1/funding/data body (all rows; the server pages)
    DIR/paradex/orderbook_<MARKET>.json        GET /v1/orderbook/<MARKET> body
    DIR/paradex/subkeys.json                   GET /v1/account/keys/subkeys body: registered subkeys (simulator.auth)

Every file is optional; what is absent is answered the way the venue answers for an unknown resource
(see `simulator.lighter_api` / `simulator.paradex_api`). Files are read once at start-up; a file that is not
valid JSON or lacks the envelope the server needs to filter it (e.g. a `fundings` row without an integer
`timestamp`) raises `ScenarioError` naming the file. Row *values* are not validated: a recorded bad row
(Lighter `direction: "???"`) is served as recorded, so adapters can be tested against it.

Time: `SimClock` is the simulator's clock (epoch ms). Current-state bodies are restamped to it when served
(`ScenarioSettings.restamp`); historical bodies are served as recorded, unless
`ScenarioSettings.shift_history_to_now` moves the whole history by a whole number of hours at load time so
that its newest row falls within the hour before start-up (used by the shipped demo so its history never
goes stale; hourly rows stay on the hour).
"""

from __future__ import annotations

import copy
import json
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

log = logging.getLogger("perparb.simulator")

HOUR_MS = 3_600_000
HOUR_S = 3_600

_LIGHTER_FUNDINGS = re.compile(r"^fundings_(\d+)\.json$")
_LIGHTER_BOOK = re.compile(r"^orderBookOrders_(\d+)\.json$")
_PARADEX_FUNDING = re.compile(r"^funding_data_(.+)\.json$")
_PARADEX_BOOK = re.compile(r"^orderbook_(.+)\.json$")


class ScenarioError(ValueError):
    """A scenario folder or one of its files cannot be used. The message names the file and the problem."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"scenario file {path}: {problem}")


class ScenarioSettings(BaseModel):
    """`DIR/scenario.json` (every key optional; unknown keys are an error).

    Attributes:
        description: free text shown by `/_sim/health`.
        synthetic: True when the data is made up (the demo), False for recordings.
        restamp: restamp current-state bodies (Paradex `markets/summary.created_at`, `orderbook.last_updated_at`,
            Lighter `GET /` timestamp, WS pushes) to the simulator clock when served. Default True.
        shift_history_to_now: shift every historical timestamp (Lighter `fundings[].timestamp` in s, Paradex
            `funding_data.results[].created_at` in ms) by whole hours so the newest row lies in the hour
            before start-up. Default False (history served as recorded).
        push_interval_seconds: period of WebSocket pushes (Lighter `update/*`, Paradex `subscription`).
        lighter_network_id: `network_id` of Lighter `GET /` (1 = mainnet in the recording).
    """

    model_config = ConfigDict(extra="forbid")

    description: str = ""
    synthetic: bool = False
    restamp: bool = True
    shift_history_to_now: bool = False
    push_interval_seconds: float = Field(default=1.0, gt=0, le=3600)
    lighter_network_id: int = 1


class SimClock:
    """The simulator's clock. Real time by default; `frozen_ms` pins it (tests, replays).

    The trading engine (a later issue) will share this clock so fills, funding and restamps agree.
    """

    def __init__(self, frozen_ms: int | None = None) -> None:
        self._frozen_ms = frozen_ms

    def now_ms(self) -> int:
        """Epoch milliseconds."""
        if self._frozen_ms is not None:
            return self._frozen_ms
        return time.time_ns() // 1_000_000

    def now_us(self) -> int:
        """Epoch microseconds (Lighter `last_updated_at`)."""
        if self._frozen_ms is not None:
            return self._frozen_ms * 1000
        return time.time_ns() // 1000

    def now_s(self) -> int:
        """Epoch seconds (Lighter `GET /` timestamp)."""
        return self.now_ms() // 1000

    def freeze(self, at_ms: int | None) -> None:
        """Pin the clock at `at_ms` (None = real time again)."""
        self._frozen_ms = at_ms


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
                return row
        return None


@dataclass
class Scenario:
    """A loaded scenario. `history_shift_ms` is the shift applied by `shift_history_to_now` (0 otherwise)."""

    path: Path
    settings: ScenarioSettings
    lighter: LighterData
    paradex: ParadexData
    history_shift_ms: int = 0


# --------------------------------------------------------------------------------------------- loading


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(path, f"cannot be read ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise ScenarioError(path, f"is not UTF-8 text ({exc.reason})") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScenarioError(
            path, f"is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc


def _object(path: Path, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ScenarioError(path, f"must hold a JSON object (the response body), got {type(body).__name__}")
    return body


def _list_of_objects(path: Path, body: dict[str, Any], key: str, *, required: bool = True) -> list[Any]:
    if key not in body:
        if required:
            raise ScenarioError(path, f"lacks the {key!r} list of the venue's response body")
        return []
    rows = body[key]
    if rows is None and not required:
        return []
    if not isinstance(rows, list):
        raise ScenarioError(path, f"{key!r} must be a list, got {type(rows).__name__}")
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ScenarioError(path, f"{key}[{i}] must be an object, got {type(row).__name__}")
    return rows


def _require_int(path: Path, where: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ScenarioError(path, f"{where} must be an integer, got {value!r}")


def _require_str(path: Path, where: str, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise ScenarioError(path, f"{where} must be a non-empty string, got {value!r}")


_HEX_KEY = re.compile(r"^(0x)?[0-9a-fA-F]{80}$")
_FELT = re.compile(r"^0x[0-9a-fA-F]{1,64}$")


def _check_api_keys(path: Path, body: dict[str, Any]) -> dict[str, Any]:
    """`lighter/apikeys.json`: `api_keys[]` rows with int `account_index`, int `api_key_index` (0..254) and a
    40-byte hex `public_key` (the venue sends it without 0x; with 0x is accepted)."""
    for i, row in enumerate(_list_of_objects(path, body, "api_keys")):
        _require_int(path, f"api_keys[{i}].account_index", row.get("account_index"))
        _require_int(path, f"api_keys[{i}].api_key_index", row.get("api_key_index"))
        if not 0 <= row["api_key_index"] <= 254:
            raise ScenarioError(
                path, f"api_keys[{i}].api_key_index must be 0..254, got {row['api_key_index']}"
            )
        key = row.get("public_key")
        if not isinstance(key, str) or not _HEX_KEY.match(key):
            raise ScenarioError(path, f"api_keys[{i}].public_key must be 80 hex digits, got {key!r}")
        if "nonce" in row:
            _require_int(path, f"api_keys[{i}].nonce", row["nonce"])
    return body


def _check_subkeys(path: Path, body: dict[str, Any]) -> dict[str, Any]:
    """`paradex/subkeys.json`: `results[]` rows with `account_id` (main account) and `public_key` as `0x` felts,
    optional `state` (str) and `revoked_at` (int)."""
    for i, row in enumerate(_list_of_objects(path, body, "results")):
        for key in ("account_id", "public_key"):
            value = row.get(key)
            if not isinstance(value, str) or not _FELT.match(value):
                raise ScenarioError(
                    path, f"results[{i}].{key} must be 0x followed by 1-64 hex digits, got {value!r}"
                )
        if "state" in row:
            _require_str(path, f"results[{i}].state", row["state"])
        if "revoked_at" in row:
            _require_int(path, f"results[{i}].revoked_at", row["revoked_at"])
    return body


def _load_lighter(folder: Path) -> LighterData:
    data = LighterData()
    if not folder.is_dir():
        return data
    for path in sorted(folder.glob("*.json")):
        name = path.name
        if name == "orderBookDetails.json":
            body = _object(path, _read_json(path))
            for key in ("order_book_details", "spot_order_book_details"):
                rows = _list_of_objects(path, body, key, required=key == "order_book_details")
                for i, row in enumerate(rows):
                    _require_int(path, f"{key}[{i}].market_id", row.get("market_id"))
                    _require_str(path, f"{key}[{i}].symbol", row.get("symbol"))
            data.order_book_details = body
        elif name == "funding-rates.json":
            body = _object(path, _read_json(path))
            _list_of_objects(path, body, "funding_rates")
            data.funding_rates = body
        elif m := _LIGHTER_FUNDINGS.match(name):
            body = _object(path, _read_json(path))
            for i, row in enumerate(_list_of_objects(path, body, "fundings")):
                _require_int(path, f"fundings[{i}].timestamp", row.get("timestamp"))
            data.fundings[int(m.group(1))] = body
        elif m := _LIGHTER_BOOK.match(name):
            body = _object(path, _read_json(path))
            _list_of_objects(path, body, "asks")
            _list_of_objects(path, body, "bids")
            data.order_book_orders[int(m.group(1))] = body
        elif name == "apikeys.json":
            data.api_keys = _check_api_keys(path, _object(path, _read_json(path)))
        else:
            raise ScenarioError(
                path, "unexpected file name in lighter/ (see simulator/README.md for the layout)"
            )
    return data


def _load_paradex(folder: Path) -> ParadexData:
    data = ParadexData()
    if not folder.is_dir():
        return data
    for path in sorted(folder.glob("*.json")):
        name = path.name
        if name == "system_config.json":
            data.system_config = _object(path, _read_json(path))
        elif name in ("markets.json", "markets_summary.json"):
            body = _object(path, _read_json(path))
            for i, row in enumerate(_list_of_objects(path, body, "results")):
                _require_str(path, f"results[{i}].symbol", row.get("symbol"))
            if name == "markets.json":
                data.markets = body
            else:
                data.markets_summary = body
        elif m := _PARADEX_FUNDING.match(name):
            body = _object(path, _read_json(path))
            for i, row in enumerate(_list_of_objects(path, body, "results")):
                _require_int(path, f"results[{i}].created_at", row.get("created_at"))
            data.funding_data[m.group(1)] = body
        elif m := _PARADEX_BOOK.match(name):
            body = _object(path, _read_json(path))
            for key in ("asks", "bids"):
                if not isinstance(body.get(key), list):
                    raise ScenarioError(path, f"lacks the {key!r} list of [price, size] pairs")
            data.orderbooks[m.group(1)] = body
        elif name == "subkeys.json":
            data.subkeys = _check_subkeys(path, _object(path, _read_json(path)))
        else:
            raise ScenarioError(
                path, "unexpected file name in paradex/ (see simulator/README.md for the layout)"
            )
    return data


def _newest_history_ms(lighter: LighterData, paradex: ParadexData) -> int | None:
    stamps: list[int] = []
    for body in lighter.fundings.values():
        stamps.extend(row["timestamp"] * 1000 for row in body["fundings"])
    for body in paradex.funding_data.values():
        stamps.extend(row["created_at"] for row in body["results"])
    return max(stamps) if stamps else None


def _shift_history(lighter: LighterData, paradex: ParadexData, now_ms: int) -> int:
    """Shift history by the largest whole number of hours that keeps its newest row at or before `now_ms`,
    so the newest row lies in (now - 1 h, now]. Returns the shift (ms, may be negative)."""
    newest = _newest_history_ms(lighter, paradex)
    if newest is None:
        return 0
    shift_ms = (now_ms - newest) // HOUR_MS * HOUR_MS
    for mid, body in lighter.fundings.items():
        shifted = copy.deepcopy(body)
        for row in shifted["fundings"]:
            row["timestamp"] += shift_ms // 1000
        lighter.fundings[mid] = shifted
    for market, body in paradex.funding_data.items():
        shifted = copy.deepcopy(body)
        for row in shifted["results"]:
            row["created_at"] += shift_ms
        paradex.funding_data[market] = shifted
    return shift_ms


def load_scenario(scenario_dir: Path, *, clock: SimClock | None = None) -> Scenario:
    """Read and check a scenario folder.

    Args:
        scenario_dir: the folder (layout in this module's docstring).
        clock: used for `shift_history_to_now` (default: real time).

    Returns:
        The `Scenario`, bodies kept verbatim (except the optional history shift).

    Raises:
        ScenarioError: the folder does not exist, or a file is not valid JSON, has an unexpected name, lacks
            the list the server filters, or `scenario.json` holds an unknown key / bad value. The message
            names the file.
    """
    root = Path(scenario_dir)
    if not root.is_dir():
        raise ScenarioError(root, "scenario folder does not exist")
    settings_path = root / "scenario.json"
    settings = ScenarioSettings()
    if settings_path.exists():
        raw = _object(settings_path, _read_json(settings_path))
        try:
            settings = ScenarioSettings.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or '<root>'}: {e['msg']}" for e in exc.errors()
            )
            raise ScenarioError(settings_path, f"invalid settings: {problems}") from None
    lighter = _load_lighter(root / "lighter")
    paradex = _load_paradex(root / "paradex")
    shift_ms = 0
    if settings.shift_history_to_now:
        shift_ms = _shift_history(lighter, paradex, (clock or SimClock()).now_ms())
    scenario = Scenario(root, settings, lighter, paradex, shift_ms)
    log.info(
        "scenario %s: lighter %d markets, paradex %d markets, history shift %d h",
        root,
        len(lighter.perp_details()),
        len(paradex.known_markets()),
        shift_ms // HOUR_MS,
    )
    return scenario
