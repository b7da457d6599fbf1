"""Scenario folders: the venue response bodies the simulator serves, loaded and checked at start-up.

A scenario is a folder of JSON files, each holding one venue response body VERBATIM (so a scenario can be
assembled from recorded payloads, see `simulator.scenario_from_recordings`):

    DIR/scenario.json                          optional settings (`ScenarioSettings`)
    DIR/lighter/orderBookDetails.json          GET /api/v1/orderBookDetails body
    DIR/lighter/funding-rates.json             GET /api/v1/funding-rates body
    DIR/lighter/fundings_<market_id>.json      GET /api/v1/fundings body (all rows; the server filters)
    DIR/lighter/orderBookOrders_<market_id>.json  GET /api/v1/orderBookOrders body (individual orders)
    DIR/lighter/apikeys.json                   GET /api/v1/apikeys body: registered API keys (simulator.lighter.auth)
    DIR/paradex/system_config.json             GET /v1/system/config body
    DIR/paradex/markets.json                   GET /v1/markets body
    DIR/paradex/markets_summary.json           GET /v1/markets/summary?market=ALL body
    DIR/paradex/funding_data_<MARKET>.json     GET /v1/funding/data body (all rows; the server pages)
    DIR/paradex/orderbook_<MARKET>.json        GET /v1/orderbook/<MARKET> body
    DIR/paradex/subkeys.json                   GET /v1/account/keys/subkeys body: registered subkeys (simulator.paradex.auth)

Every file is optional; what is absent is answered the way the venue answers for an unknown resource
(see `simulator.lighter.api` / `simulator.paradex.api`). Files are read once at start-up; a file that is not
valid JSON or lacks the envelope the server needs to filter it (e.g. a `fundings` row without an integer
`timestamp`) raises `ScenarioError` naming the file. Row *values* are not validated: a recorded bad row
(Lighter `direction: "???"`) is served as recorded, so adapters can be tested against it.

`scenario.json` also sets the trading engines (`simulator/README.md`, "Scenario settings (scenario.json)"):
`trading` (liquidity per venue, `LighterTradingSettings` / `ParadexTradingSettings`), `funding` (per venue and
market: `constant_hourly`, `series` or a labelled `replay` of a `../shared/funding-history` parquet; the
providers are built at load time into `Scenario.funding_providers`) and `faults` (HTTP and engine faults active
from start-up). Unknown keys are refused at every level; errors name the file and the field.

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
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from exchange_clients.base import units
from simulator.admin import EngineFaultSpec
from simulator.engine.clock import SimClock
from simulator.engine.funding import ConstantRate, FundingHistoryReplay, RateProvider, SeriesRate
from simulator.faults import FaultSpec

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


def _decimal_setting(value: Any, name: str) -> Decimal | None:
    """A `scenario.json` number (JSON number or decimal text) as a Decimal; floats are read as 15-significant-digit
    decimals (`units.to_decimal`, DESIGN.md "Units"), so 0.00001 is exactly Decimal("0.00001")."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    try:
        return units.to_decimal(value, name)
    except units.UnitError as exc:
        raise ValueError(f"must be a decimal number (JSON number or text), got {value!r}") from exc


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LighterTradingSettings(_Settings):
    """`trading.lighter`: overrides of `simulator.lighter.trading.LighterTradingConfig` (omitted = its default).

    Attributes:
        sync_interval_seconds: real seconds between background syncs.
        replenish_ms: simulated ms before a hit market maker puts its orders back.
        levels / spread_bps / level_step_bps / level_notional: synthetic depth of markets WITHOUT a recorded book
            (levels a side, best bid-ask distance and level spacing in bps of the mid, USD per level).
        walk_vol_bps / walk_step_ms / seed: the random walk of synthetic mids (and of recorded books when
            `random_walk` is true); market id is added to the seed.
        volume_quota_remaining: `RespSendTx.volume_quota_remaining`.
        random_walk: markets WITH a recorded book (`orderBookOrders_<id>.json`) move the whole recorded shape
            along that random walk from start-up instead of holding the recorded mark. Default False.
    """

    sync_interval_seconds: float | None = Field(default=None, gt=0, le=60)
    replenish_ms: int | None = Field(default=None, ge=0)
    levels: int | None = Field(default=None, ge=1, le=200)
    spread_bps: Decimal | None = None
    level_step_bps: Decimal | None = None
    level_notional: Decimal | None = None
    walk_vol_bps: Decimal | None = None
    walk_step_ms: int | None = Field(default=None, ge=1)
    seed: int | None = None
    volume_quota_remaining: int | None = Field(default=None, ge=0)
    random_walk: bool = False

    @field_validator("spread_bps", "level_step_bps", "level_notional", "walk_vol_bps", mode="before")
    @classmethod
    def _decimal(cls, value: Any) -> Decimal | None:
        return _decimal_setting(value, "value")

    @field_validator("spread_bps", "level_step_bps", "level_notional")
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


class ParadexTradingSettings(_Settings):
    """`trading.paradex`: overrides of `simulator.paradex.trading.ParadexTradingConfig` (omitted = its default).

    Attributes:
        levels / spread_bps / level_step_bps / replenish_ms: the market maker's depth.
        notional_per_level: USD per level (size = notional / initial mark, floored to the step).
        vol_bps / walk_step_ms / seed: each mid's random walk (market i of markets.json uses seed + i).
        sync_interval_seconds: real seconds between background engine syncs.
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
        return _decimal_setting(value, "value")

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
        """The `ParadexTradingConfig` fields given here (for `dataclasses.replace`)."""
        return self.model_dump(exclude_none=True)


class TradingSettings(_Settings):
    """`trading`: per-venue liquidity settings."""

    lighter: LighterTradingSettings = Field(default_factory=LighterTradingSettings)
    paradex: ParadexTradingSettings = Field(default_factory=ParadexTradingSettings)


class ReplaySettings(_Settings):
    """`{"replay": {...}}`: one symbol of a `../shared/funding-history` parquet replayed under this venue's rules.

    Attributes:
        file: parquet path, relative to the scenario folder or absolute.
        venue_symbol: the history's own symbol ("BTCUSDT" on Binance, "BTC" on Hyperliquid).
        start_at_ms: epoch ms at which the history's first interval starts; omitted = the simulator clock at
            start-up (the history then plays from the beginning as the simulation runs).
    """

    file: str = Field(min_length=1)
    venue_symbol: str = Field(min_length=1)
    start_at_ms: int | None = Field(default=None, ge=0)


class MarketFundingSettings(_Settings):
    """How one market's funding rate is set: exactly one of the three keys.

    Attributes:
        constant_hourly: signed fraction per hour (longs pay when > 0), e.g. 0.00001.
        series: `[[ts_ms, rate_hourly], ...]`, each rate in force from its time to the next (strictly increasing
            times); before the first point there is no funding.
        replay: a funding-history replay (`ReplaySettings`).
    """

    constant_hourly: Decimal | None = None
    series: list[tuple[int, Decimal]] | None = None
    replay: ReplaySettings | None = None

    @field_validator("constant_hourly", mode="before")
    @classmethod
    def _rate(cls, value: Any) -> Decimal | None:
        return _decimal_setting(value, "constant_hourly")

    @field_validator("series", mode="before")
    @classmethod
    def _points(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, list) or not value:
            raise ValueError("must be a non-empty list of [ts_ms, rate_hourly] pairs")
        out: list[tuple[int, Decimal]] = []
        for i, point in enumerate(value):
            if not isinstance(point, (list, tuple)) or len(point) != 2:
                raise ValueError(f"point {i} must be a [ts_ms, rate_hourly] pair, got {point!r}")
            ts, rate = point
            if not isinstance(ts, int) or isinstance(ts, bool) or ts < 0:
                raise ValueError(f"point {i}: ts_ms must be a non-negative integer (epoch ms), got {ts!r}")
            decimal = _decimal_setting(rate, "rate_hourly")
            assert decimal is not None
            out.append((ts, decimal))
        for i, ((a, _), (b, _)) in enumerate(pairwise(out)):
            if b <= a:
                raise ValueError(f"point {i + 1}: timestamps must strictly increase ({b} after {a})")
        return out

    @model_validator(mode="after")
    def _exactly_one(self) -> MarketFundingSettings:
        given = [k for k in ("constant_hourly", "series", "replay") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of 'constant_hourly', 'series', 'replay' (got {', '.join(given) or 'none'})"
            )
        return self


class FundingSettings(_Settings):
    """`funding`: per venue, market key -> `MarketFundingSettings`. Keys: Lighter symbol ("ETH") or market id
    ("0"); Paradex symbol ("BTC-USD-PERP"); "*" = every other market of the venue."""

    lighter: dict[str, MarketFundingSettings] = Field(default_factory=dict)
    paradex: dict[str, MarketFundingSettings] = Field(default_factory=dict)


class VenueFaultSettings(_Settings):
    """`faults.<venue>`: `http` = a `POST /_sim/faults` body (`simulator.faults.FaultSpec`), `engine` = a
    `POST /_sim/engine/faults` body (`simulator.admin.EngineFaultSpec`, the same model the admin API uses); neither
    may be `clear`."""

    http: FaultSpec | None = None
    engine: EngineFaultSpec | None = None

    @field_validator("http", "engine")
    @classmethod
    def _no_clear(cls, value: FaultSpec | EngineFaultSpec | None) -> FaultSpec | EngineFaultSpec | None:
        if value is not None and value.clear:
            raise ValueError("'clear' has no meaning at start-up; give a fault")
        return value


class FaultSettings(_Settings):
    """`faults`: faults active from start-up, per venue."""

    lighter: VenueFaultSettings = Field(default_factory=VenueFaultSettings)
    paradex: VenueFaultSettings = Field(default_factory=VenueFaultSettings)


class ScenarioSettings(BaseModel):
    """`DIR/scenario.json` (every key optional; unknown keys are an error at every level).

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
        trading: liquidity of the trading engines (`TradingSettings`); an explicit `trading_config` passed to
            `build_lighter_app` / `build_paradex_app` wins over it.
        funding: funding-rate sources per venue and market (`FundingSettings`); default = the scenario's
            recorded current rate.
        faults: faults active from start-up (`FaultSettings`).
    """

    model_config = ConfigDict(extra="forbid")

    description: str = ""
    synthetic: bool = False
    restamp: bool = True
    shift_history_to_now: bool = False
    push_interval_seconds: float = Field(default=1.0, gt=0, le=3600)
    lighter_network_id: int = 1
    trading: TradingSettings = Field(default_factory=TradingSettings)
    funding: FundingSettings = Field(default_factory=FundingSettings)
    faults: FaultSettings = Field(default_factory=FaultSettings)


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
    """A loaded scenario. `history_shift_ms` is the shift applied by `shift_history_to_now` (0 otherwise).

    `funding_providers[venue][key]` holds the rate provider built from `settings.funding` for each key given there
    ("*", a symbol, or a Lighter market id as text); empty when `scenario.json` sets no funding.
    """

    path: Path
    settings: ScenarioSettings
    lighter: LighterData
    paradex: ParadexData
    history_shift_ms: int = 0
    funding_providers: dict[str, dict[str, RateProvider]] = field(default_factory=dict)

    def funding_provider(self, venue: str, *keys: str) -> RateProvider | None:
        """The `scenario.json` rate provider of a market of `venue` ("lighter" / "paradex"): the first of `keys`
        (e.g. symbol, then market id) given in `funding.<venue>`, else its "*" entry, else None (= the
        scenario's recorded current rate)."""
        table = self.funding_providers.get(venue, {})
        for key in (*keys, "*"):
            if key in table:
                return table[key]
        return None


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


def _funding_label_venue(label: str) -> str:
    """The history's venue, first word of `FundingHistoryReplay.from_parquet`'s label ("binance BTCUSDT ...")."""
    return label.split(" ", 1)[0]


def _market_keys(venue: str, lighter: LighterData, paradex: ParadexData) -> tuple[set[str], str]:
    if venue == "lighter":
        keys: set[str] = set()
        for row in lighter.perp_details():
            keys.update((str(row["symbol"]), str(row["market_id"])))
        return keys, "lighter/orderBookDetails.json order_book_details"
    symbols = {str(row["symbol"]) for row in (paradex.markets or {}).get("results", [])}
    return symbols, "paradex/markets.json"


def build_funding_provider(
    spec: MarketFundingSettings, *, venue: str, scenario_dir: Path, now_ms: int
) -> RateProvider:
    """The rate provider of one `funding.<venue>.<market>` entry (fraction per hour, see
    `simulator.engine.funding`).

    * `constant_hourly` -> `ConstantRate`, label "scenario.json: constant <r>/h";
    * `series` -> `SeriesRate` (key "*"), label "scenario.json: series of N points";
    * `replay` -> `FundingHistoryReplay.from_parquet(file, venue_symbol, start_at_ms or now_ms)`, label
      "replay of <history venue> <venue_symbol> history under <venue>'s protocol" (the history's venue is the
      parquet's `venue` column; `../shared/funding-history/SOURCES.md` schema).

    Raises:
        ValueError: the replay file does not exist, is not a readable parquet, or has no rows for the symbol;
            units.UnitError (a ValueError): a history row's rate or interval is not a number.
        OSError: the replay file cannot be read.
    """
    if spec.constant_hourly is not None:
        return ConstantRate(spec.constant_hourly, label=f"scenario.json: constant {spec.constant_hourly}/h")
    if spec.series is not None:
        return SeriesRate({"*": spec.series}, label=f"scenario.json: series of {len(spec.series)} points")
    replay = spec.replay
    assert replay is not None  # MarketFundingSettings guarantees exactly one
    path = Path(replay.file)
    if not path.is_absolute():
        path = scenario_dir / path
    if not path.is_file():
        raise ValueError(f"replay file {path} does not exist")
    provider = FundingHistoryReplay.from_parquet(
        path,
        venue_symbol=replay.venue_symbol,
        start_at_ms=replay.start_at_ms if replay.start_at_ms is not None else now_ms,
    )
    history_venue = _funding_label_venue(provider.label)
    provider.label = f"replay of {history_venue} {replay.venue_symbol} history under {venue}'s protocol"
    return provider


def _build_funding(
    settings_path: Path,
    root: Path,
    settings: ScenarioSettings,
    lighter: LighterData,
    paradex: ParadexData,
    now_ms: int,
) -> dict[str, dict[str, RateProvider]]:
    """Check the market keys of `settings.funding` against the loaded files and build every provider.

    Raises:
        ScenarioError: naming `scenario.json` and the field (`funding.<venue>.<key>[.replay.file]`).
    """
    out: dict[str, dict[str, RateProvider]] = {}
    for venue in ("lighter", "paradex"):
        entries: dict[str, MarketFundingSettings] = getattr(settings.funding, venue)
        if not entries:
            continue
        known, source = _market_keys(venue, lighter, paradex)
        table: dict[str, RateProvider] = {}
        for key, spec in entries.items():
            where = f"funding.{venue}.{key}"
            if key != "*" and key not in known:
                raise ScenarioError(
                    settings_path, f"invalid settings: {where}: no market {key!r} in {source}"
                )
            try:
                table[key] = build_funding_provider(spec, venue=venue, scenario_dir=root, now_ms=now_ms)
            except (OSError, ValueError) as exc:
                field_name = f"{where}.replay" if spec.replay is not None else where
                raise ScenarioError(settings_path, f"invalid settings: {field_name}: {exc}") from None
            log.info("scenario funding %s %s: %s", venue, key, table[key].label)
        out[venue] = table
    return out


def load_scenario(scenario_dir: Path, *, clock: SimClock | None = None) -> Scenario:
    """Read and check a scenario folder.

    Args:
        scenario_dir: the folder (layout in this module's docstring).
        clock: used for `shift_history_to_now` and as the default `replay.start_at_ms` (default: real time).

    Returns:
        The `Scenario`, bodies kept verbatim (except the optional history shift).

    Raises:
        ScenarioError: the folder does not exist, or a file is not valid JSON, has an unexpected name, lacks
            the list the server filters, or `scenario.json` holds an unknown key / bad value / a `funding` key
            naming no market / an unusable replay file. The message names the file and the field.
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
    clock = clock or SimClock()
    shift_ms = 0
    if settings.shift_history_to_now:
        shift_ms = _shift_history(lighter, paradex, clock.now_ms())
    providers = _build_funding(settings_path, root, settings, lighter, paradex, clock.now_ms())
    scenario = Scenario(root, settings, lighter, paradex, shift_ms, providers)
    log.info(
        "scenario %s: lighter %d markets, paradex %d markets, history shift %d h",
        root,
        len(lighter.perp_details()),
        len(paradex.known_markets()),
        shift_ms // HOUR_MS,
    )
    return scenario
