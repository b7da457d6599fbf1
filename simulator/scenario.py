"""Scenario folders: the venue response bodies the simulator serves, loaded and checked at start-up (venue-neutral).

A scenario is a folder holding an optional `scenario.json` (settings, `ScenarioSettings`) and one folder per venue
(`DIR/<venue>/`) of JSON files, each holding one venue response body VERBATIM (so a scenario can be assembled from
recorded payloads, see `simulator.scenario_from_recordings`). Each installed venue protocol
(`simulator.protocol.SimVenueProtocol`) reads its own folder (`read_folder`: the layout and checks are in
`simulator/<venue>/scenario.py`); an absent folder reads as empty. A folder of JSON files named after no installed
venue stops start-up with `ScenarioError` naming it (folders without JSON, e.g. replay parquet files, are left
alone). Files are read once at start-up; a file that is not valid JSON or lacks the envelope the server needs to
filter it raises `ScenarioError` naming the file. Row *values* are not validated: a recorded bad row is served as
recorded, so adapters can be tested against it.

`scenario.json` also sets the trading engines (`simulator/README.md`, "Scenario settings (scenario.json)"):
`trading.<venue>` (liquidity: the venue protocol's `trading_settings` model), `funding.<venue>.<market>`
(`constant_hourly`, `series` or a labelled `replay` of a `../shared/funding-history` parquet; the providers are built
at load time into `Scenario.funding_providers`) and `faults.<venue>` (HTTP and engine faults active from start-up),
plus the top-level keys a venue protocol adds (`SimVenueProtocol.settings_fields`). The model is built from the
installed protocols (`simulator.scenario_loader.settings_model`); unknown keys, venues included, are refused at every level; errors name the
file and the field.

Time: `SimClock` is the simulator's clock (epoch ms). Current-state bodies are restamped to it when served
(`ScenarioSettings.restamp`); historical bodies are served as recorded, unless
`ScenarioSettings.shift_history_to_now` moves the whole history by a whole number of hours at load time so
that its newest row falls within the hour before start-up (used by the shipped demo so its history never
goes stale; hourly rows stay on the hour).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from perparb_core import units
from perparb_core.errors import DataError
from simulator.admin import EngineFaultSpec
from simulator.engine.clock import SimClock
from simulator.engine.funding import ConstantRate, FundingHistoryReplay, RateProvider, SeriesRate
from simulator.faults import FaultSpec

__all__ = [
    "HOUR_MS",
    "HOUR_S",
    "MarketFundingSettings",
    "ReplaySettings",
    "Scenario",
    "ScenarioError",
    "ScenarioSettings",
    "SettingsModel",
    "SimClock",
    "VenueFaultSettings",
    "VenueScenarioData",
    "build_funding_provider",
    "decimal_setting",
    "json_object",
    "list_of_objects",
    "read_json",
    "require_int",
    "require_str",
]

log = logging.getLogger("perparb.simulator")

HOUR_MS = 3_600_000
HOUR_S = 3_600


class ScenarioError(DataError):
    """A scenario folder or one of its files cannot be used. The message names the file and the problem."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"scenario file {path}: {problem}")


def decimal_setting(value: Any, name: str) -> Decimal | None:
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


class SettingsModel(BaseModel):
    """Base of every `scenario.json` settings model (the venues' `trading_settings` too): unknown keys refused."""

    model_config = ConfigDict(extra="forbid")


class ReplaySettings(SettingsModel):
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


class MarketFundingSettings(SettingsModel):
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
        return decimal_setting(value, "constant_hourly")

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
            decimal = decimal_setting(rate, "rate_hourly")
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


class VenueFaultSettings(SettingsModel):
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


class ScenarioSettings(SettingsModel):
    """`DIR/scenario.json` (every key optional; unknown keys are an error at every level).

    This class holds the venue-neutral keys; `settings_model()` builds the model actually used, with one entry per
    installed venue under `trading`, `funding` and `faults` and the venues' own top-level keys. Read the venue parts
    through `venue_trading`, `venue_funding`, `venue_faults` and `venue_setting`.

    Attributes:
        description: free text shown by `/_sim/health`.
        synthetic: True when the data is made up (the demo), False for recordings.
        restamp: restamp current-state bodies (summaries, order books, status timestamps, WebSocket pushes) to the
            simulator clock when served. Default True.
        shift_history_to_now: shift every historical timestamp (each venue says which rows are history) by whole
            hours so the newest row lies in the hour before start-up. Default False (history served as recorded).
        push_interval_seconds: period of the polled WebSocket pushes.
        trading: per venue, its liquidity settings (the protocol's `trading_settings`); an explicit trading config
            passed to a venue's app builder wins over it.
        funding: per venue, market key -> `MarketFundingSettings` ("*" = every other market of the venue); default
            = the scenario's recorded current rate.
        faults: per venue, faults active from start-up (`VenueFaultSettings`).
    """

    description: str = ""
    synthetic: bool = False
    restamp: bool = True
    shift_history_to_now: bool = False
    push_interval_seconds: float = Field(default=1.0, gt=0, le=3600)
    trading: SettingsModel = Field(default_factory=SettingsModel)
    funding: SettingsModel = Field(default_factory=SettingsModel)
    faults: SettingsModel = Field(default_factory=SettingsModel)

    def venue_trading(self, venue: str) -> Any:
        """`trading.<venue>` (an instance of the venue's `trading_settings` model), None when not in the model."""
        return getattr(self.trading, venue, None)

    def venue_funding(self, venue: str) -> dict[str, MarketFundingSettings]:
        """`funding.<venue>`: market key -> settings ({} when none)."""
        entries: dict[str, MarketFundingSettings] = getattr(self.funding, venue, None) or {}
        return entries

    def venue_faults(self, venue: str) -> VenueFaultSettings:
        """`faults.<venue>` (no fault when none)."""
        faults = getattr(self.faults, venue, None)
        return faults if isinstance(faults, VenueFaultSettings) else VenueFaultSettings()

    def venue_setting(self, name: str, default: Any) -> Any:
        """A top-level key a venue protocol added (`SimVenueProtocol.settings_fields`), `default` when absent."""
        return getattr(self, name, default)


class VenueScenarioData(Protocol):
    """What a venue protocol reads from its scenario folder (`SimVenueProtocol.read_folder`), as far as the
    venue-neutral loader needs it. The venue's own code reads the rest of it (its bodies) directly."""

    def history_times_ms(self) -> list[int]:
        """Epoch ms of every historical row (the rows `shift_history_to_now` moves)."""
        ...

    def shift_history(self, shift_ms: int) -> None:
        """Move every historical row by `shift_ms` (a whole number of hours, may be negative)."""
        ...

    def funding_keys(self) -> tuple[set[str], str]:
        """(the market keys `scenario.json` `funding.<venue>` may name, where they come from for error messages)."""
        ...

    def market_count(self) -> int:
        """How many markets the folder holds (start-up log)."""
        ...


@dataclass
class Scenario:
    """A loaded scenario. `history_shift_ms` is the shift applied by `shift_history_to_now` (0 otherwise).

    Attributes:
        path: the folder; settings: `scenario.json` (an instance of `settings_model()`).
        venues: venue name -> what its protocol read from `DIR/<venue>/` (`VenueScenarioData`; every installed
            venue has an entry, empty when its folder is absent).
        funding_providers: `[venue][key]` -> the rate provider built from `settings.funding` for each key given
            there ("*", a symbol, a market id as text); empty when `scenario.json` sets no funding.
    """

    path: Path
    settings: ScenarioSettings
    venues: dict[str, VenueScenarioData] = field(default_factory=dict)
    history_shift_ms: int = 0
    funding_providers: dict[str, dict[str, RateProvider]] = field(default_factory=dict)

    def funding_provider(self, venue: str, *keys: str) -> RateProvider | None:
        """The `scenario.json` rate provider of a market of `venue`: the first of `keys` (e.g. symbol, then market
        id) given in `funding.<venue>`, else its "*" entry, else None (= the scenario's recorded current rate)."""
        table = self.funding_providers.get(venue, {})
        for key in (*keys, "*"):
            if key in table:
                return table[key]
        return None


# --------------------------------------------------------------------------------------------- loading


def read_json(path: Path) -> Any:
    """The JSON content of a scenario file. Raises `ScenarioError` (unreadable, not UTF-8, not JSON)."""
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


def json_object(path: Path, body: Any) -> dict[str, Any]:
    """`body` when it is a JSON object. Raises `ScenarioError` otherwise."""
    if not isinstance(body, dict):
        raise ScenarioError(path, f"must hold a JSON object (the response body), got {type(body).__name__}")
    return body


def list_of_objects(path: Path, body: dict[str, Any], key: str, *, required: bool = True) -> list[Any]:
    """`body[key]` when it is a list of objects ([] when absent and not `required`). Raises `ScenarioError`."""
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


def require_int(path: Path, where: str, value: Any) -> None:
    """Raise `ScenarioError` naming `where` unless `value` is an integer (not a bool)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ScenarioError(path, f"{where} must be an integer, got {value!r}")


def require_str(path: Path, where: str, value: Any) -> None:
    """Raise `ScenarioError` naming `where` unless `value` is a non-empty string."""
    if not isinstance(value, str) or not value:
        raise ScenarioError(path, f"{where} must be a non-empty string, got {value!r}")


def list_body(path: Path, body: Any) -> list[dict[str, Any]]:
    """`body` when it is a JSON list of objects (a venue answering a bare list). Raises `ScenarioError` otherwise."""
    if not isinstance(body, list):
        raise ScenarioError(path, f"must hold a JSON list (the response body), got {type(body).__name__}")
    for i, row in enumerate(body):
        if not isinstance(row, dict):
            raise ScenarioError(path, f"[{i}] must be an object, got {type(row).__name__}")
    return body


FolderData = TypeVar("FolderData")
FileReader = Callable[[FolderData, Path, "re.Match[str]"], None]  # (data, path, match of the file name)


def read_venue_folder(
    folder: Path,
    venue: str,
    data: FolderData,
    readers: Sequence[tuple[str | re.Pattern[str], FileReader[FolderData]]],
) -> FolderData:
    """Read `DIR/<venue>/` into `data`: every `*.json` file, in name order, goes to the first reader whose name
    (a plain file name, or a pattern matched against the whole name) fits it; an absent folder leaves `data` empty.

    Raises:
        ScenarioError: a file no reader takes ("unexpected file name in <venue>/"), or what a reader raises.
    """
    if not folder.is_dir():
        return data
    compiled = [(re.compile(re.escape(n) if isinstance(n, str) else n.pattern), r) for n, r in readers]
    for path in sorted(folder.glob("*.json")):
        for pattern, read in compiled:
            if match := pattern.fullmatch(path.name):
                read(data, path, match)
                break
        else:
            raise ScenarioError(
                path, f"unexpected file name in {venue}/ (see simulator/README.md for the layout)"
            )
    return data


def venue_data(scenario: Scenario, venue: str, kind: type[FolderData]) -> FolderData:
    """What `venue`'s protocol read from the scenario (a `kind`), or an empty `kind()` when it has none."""
    data = scenario.venues.get(venue)
    return data if isinstance(data, kind) else kind()


class DepthSettings(SettingsModel):
    """`trading.<venue>` keys every simulated market maker shares (omitted = the venue config's default): levels a
    side, spread_bps and level_step_bps (bps of the mid, > 0), replenish_ms (simulated ms before a hit maker requotes),
    walk_step_ms and seed of the mids' random walk, sync_interval_seconds (real seconds between engine syncs)."""

    levels: int | None = Field(default=None, ge=1, le=200)
    spread_bps: Decimal | None = None
    level_step_bps: Decimal | None = None
    replenish_ms: int | None = Field(default=None, ge=0)
    walk_step_ms: int | None = Field(default=None, ge=1)
    seed: int | None = None
    sync_interval_seconds: float | None = Field(default=None, gt=0, le=60)

    @field_validator("spread_bps", "level_step_bps", mode="before")
    @classmethod
    def _depth_decimal(cls, value: Any) -> Decimal | None:
        return decimal_setting(value, "value")

    @field_validator("spread_bps", "level_step_bps")
    @classmethod
    def _depth_positive(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value <= 0:
            raise ValueError("must be > 0")
        return value

    def config_overrides(self) -> dict[str, Any]:
        """The venue trading config's fields given here (for `dataclasses.replace`)."""
        return self.model_dump(exclude_none=True)


class MarketMakerSettings(DepthSettings):
    """`DepthSettings` plus the sizing and volatility of the engine-neutral market maker (Aster, Backpack,
    Hyperliquid, Paradex): notional_per_level USD per level (> 0; size = notional / initial mark, floored to the
    size step), vol_bps the random walk's volatility (>= 0)."""

    notional_per_level: Decimal | None = None
    vol_bps: Decimal | None = None

    @field_validator("notional_per_level", "vol_bps", mode="before")
    @classmethod
    def _maker_decimal(cls, value: Any) -> Decimal | None:
        return decimal_setting(value, "value")

    @field_validator("notional_per_level")
    @classmethod
    def _maker_positive(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value <= 0:
            raise ValueError("must be > 0")
        return value

    @field_validator("vol_bps")
    @classmethod
    def _maker_not_negative(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value < 0:
            raise ValueError("must be >= 0")
        return value


def _funding_label_venue(label: str) -> str:
    """The history's venue, first word of `FundingHistoryReplay.from_parquet`'s label ("binance BTCUSDT ...")."""
    return label.split(" ", 1)[0]


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


def build_funding(
    settings_path: Path,
    root: Path,
    settings: ScenarioSettings,
    venues: Mapping[str, VenueScenarioData],
    now_ms: int,
) -> dict[str, dict[str, RateProvider]]:
    """Check the market keys of `settings.funding` against the loaded folders and build every provider.

    Raises:
        ScenarioError: naming `scenario.json` and the field (`funding.<venue>.<key>[.replay.file]`).
    """
    out: dict[str, dict[str, RateProvider]] = {}
    for venue in sorted(venues):
        entries = settings.venue_funding(venue)
        if not entries:
            continue
        known, source = venues[venue].funding_keys()
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


def shift_history(venues: Mapping[str, VenueScenarioData], now_ms: int) -> int:
    """Shift every venue's history by the largest whole number of hours that keeps its newest row at or before
    `now_ms`, so the newest row lies in (now - 1 h, now]. Returns the shift (ms, may be negative)."""
    stamps = [ts for data in venues.values() for ts in data.history_times_ms()]
    if not stamps:
        return 0
    shift_ms = (now_ms - max(stamps)) // HOUR_MS * HOUR_MS
    for data in venues.values():
        data.shift_history(shift_ms)
    return shift_ms
