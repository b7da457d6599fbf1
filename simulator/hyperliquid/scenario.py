"""The Hyperliquid folder of a scenario (`DIR/hyperliquid/`): its files read and checked at start-up
(`read_hyperliquid_folder`), held as `HyperliquidData`, and the `scenario.json` `trading.hyperliquid` settings
(`HyperliquidTradingSettings`).

Each file holds one Hyperliquid response body VERBATIM (so a scenario can be assembled from recorded payloads,
`../shared/venue-data/hyperliquid/`):

    DIR/hyperliquid/metaAndAssetCtxs.json           POST /info {"type":"metaAndAssetCtxs"} body: [meta, ctxs]
    DIR/hyperliquid/metaAndAssetCtxs_<dex>.json     the same with "dex": "<dex>" (a HIP-3 perp dex)
    DIR/hyperliquid/perpDexs.json                   POST /info {"type":"perpDexs"} body: [null, {name, ...}, ...]
    DIR/hyperliquid/predictedFundings.json          POST /info {"type":"predictedFundings"} body
    DIR/hyperliquid/fundingHistory_<coin>.json      POST /info {"type":"fundingHistory"} rows of one coin (every
                                                    row; filtered by time and paged by 500 when served); a HIP-3
                                                    coin's ":" is written "_" (fundingHistory_xyz_XYZ100.json)

Every file is optional. A file that is not valid JSON, has an unexpected name, or lacks what the server reads
(`meta.universe[]` rows with a string `name`, as many ctxs as universe rows; a `fundingHistory` row without an
integer `time` or a string `coin`) raises `ScenarioError` naming the file. Row *values* are not validated (a
recorded bad row is served as recorded). A HIP-3 dex's file needs its dex listed in `perpDexs.json` (its index
there gives its asset ids, docs for-developers/api/asset-ids.md). History rows (`fundingHistory[].time`, ms) move
with `scenario.json` `shift_history_to_now`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.scenario import (
    MarketMakerSettings,
    Scenario,
    ScenarioError,
    json_object,
    read_json,
    read_venue_folder,
    require_int,
    require_str,
    venue_data,
)

VENUE = "hyperliquid"

_META = re.compile(r"^metaAndAssetCtxs(?:_(?P<dex>[a-z0-9]{1,16}))?\.json$")
_HISTORY = re.compile(r"^fundingHistory_(?P<coin>.+)\.json$")


@dataclass
class HyperliquidData:
    """Hyperliquid bodies of a scenario (None / missing key = file absent).

    Attributes:
        meta_and_ctxs: dex ("" = the first perp dex) -> `[meta, ctxs]` body.
        perp_dexs: the `perpDexs` body; predicted_fundings: the `predictedFundings` body.
        funding_history: coin -> its `fundingHistory` rows (oldest first as read).
    """

    meta_and_ctxs: dict[str, list[Any]] = field(default_factory=dict)
    perp_dexs: list[Any] | None = None
    predicted_fundings: list[Any] | None = None
    funding_history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def universe(self, dex: str) -> list[dict[str, Any]]:
        """The `meta.universe` rows of `dex` ([] when the dex has no file)."""
        body = self.meta_and_ctxs.get(dex)
        if body is None:
            return []
        rows: list[dict[str, Any]] = body[0]["universe"]
        return rows

    def ctxs(self, dex: str) -> list[dict[str, Any]]:
        """The asset contexts of `dex`, in universe order ([] when absent)."""
        body = self.meta_and_ctxs.get(dex)
        if body is None:
            return []
        rows: list[dict[str, Any]] = body[1]
        return rows

    def dexes(self) -> list[str]:
        """The perp dexes with a `metaAndAssetCtxs` file, "" first."""
        return sorted(self.meta_and_ctxs)

    def dex_index(self, dex: str) -> int:
        """The index of `dex` in `perpDexs` (0 for ""; asset ids are 100000 + 10000 x index + position).

        Raises:
            KeyError: the dex is not listed."""
        if not dex:
            return 0
        for i, entry in enumerate(self.perp_dexs or []):
            if isinstance(entry, dict) and entry.get("name") == dex:
                return i
        raise KeyError(dex)

    def coins(self) -> list[str]:
        """Every coin of every dex, in dex then universe order."""
        return [str(row["name"]) for dex in self.dexes() for row in self.universe(dex)]

    # ---- VenueScenarioData (simulator.protocol)

    def history_times_ms(self) -> list[int]:
        """Epoch ms of every `fundingHistory` row."""
        return [row["time"] for rows in self.funding_history.values() for row in rows]

    def shift_history(self, shift_ms: int) -> None:
        """Move every `fundingHistory` row by `shift_ms` (a whole number of hours)."""
        for coin, rows in self.funding_history.items():
            self.funding_history[coin] = [{**row, "time": row["time"] + shift_ms} for row in rows]

    def funding_keys(self) -> tuple[set[str], str]:
        """Keys `scenario.json` `funding.hyperliquid` may name: the coins of the `metaAndAssetCtxs` files."""
        return set(self.coins()), "hyperliquid/metaAndAssetCtxs*.json"

    def market_count(self) -> int:
        """Every perp of every dex."""
        return len(self.coins())


def hyperliquid_data(scenario: Scenario) -> HyperliquidData:
    """The scenario's Hyperliquid folder (an empty `HyperliquidData` when the scenario has none)."""
    return venue_data(scenario, VENUE, HyperliquidData)


class HyperliquidTradingSettings(MarketMakerSettings):
    """`trading.hyperliquid`: overrides of `simulator.hyperliquid.config.HyperliquidTradingConfig` (omitted = its
    default): the shared market-maker keys (`simulator.scenario.MarketMakerSettings`; coin i of the dexes'
    universes uses seed + i)."""


def history_file_name(coin: str) -> str:
    """`fundingHistory_<coin>.json`, a HIP-3 coin's ":" written "_" ("xyz:XYZ100" -> fundingHistory_xyz_XYZ100.json:
    a colon cannot be part of a file name on every system)."""
    return f"fundingHistory_{coin.replace(':', '_', 1)}.json"


def history_coin(stem: str) -> str:
    """The coin of a `fundingHistory_<stem>.json` file (the inverse of `history_file_name`)."""
    dex, sep, rest = stem.partition("_")
    return f"{dex}:{rest}" if sep and dex.islower() else stem


def _check_meta(path: Path, body: Any, dex: str) -> list[Any]:
    if not isinstance(body, list) or len(body) != 2:
        raise ScenarioError(path, "must hold the [meta, ctxs] list of a metaAndAssetCtxs answer")
    meta = json_object(path, body[0])
    universe = meta.get("universe")
    if not isinstance(universe, list):
        raise ScenarioError(path, "meta lacks the 'universe' list")
    for i, row in enumerate(universe):
        if not isinstance(row, dict):
            raise ScenarioError(path, f"universe[{i}] must be an object, got {type(row).__name__}")
        require_str(path, f"universe[{i}].name", row.get("name"))
        name = str(row["name"])
        if dex and not name.startswith(f"{dex}:"):
            raise ScenarioError(path, f"universe[{i}].name {name!r} lacks the dex prefix '{dex}:'")
        if not dex and ":" in name:
            raise ScenarioError(path, f"universe[{i}].name {name!r} is a HIP-3 coin in the first dex's file")
    ctxs = body[1]
    if not isinstance(ctxs, list) or len(ctxs) != len(universe):
        raise ScenarioError(path, f"ctxs must be a list of {len(universe)} objects (one per universe row)")
    for i, ctx in enumerate(ctxs):
        if not isinstance(ctx, dict):
            raise ScenarioError(path, f"ctxs[{i}] must be an object, got {type(ctx).__name__}")
    return body


def _check_history(path: Path, body: Any, coin: str) -> list[dict[str, Any]]:
    if not isinstance(body, list):
        raise ScenarioError(path, "must hold the list of fundingHistory rows")
    for i, row in enumerate(body):
        if not isinstance(row, dict):
            raise ScenarioError(path, f"row {i} must be an object, got {type(row).__name__}")
        require_int(path, f"[{i}].time", row.get("time"))
        if row.get("coin") != coin:
            raise ScenarioError(
                path, f"[{i}].coin must be {coin!r} (the file's coin), got {row.get('coin')!r}"
            )
    return sorted(body, key=lambda r: int(r["time"]))


def _meta(data: HyperliquidData, path: Path, m: re.Match[str]) -> None:
    dex = m.group("dex") or ""
    data.meta_and_ctxs[dex] = _check_meta(path, read_json(path), dex)


def _perp_dexs(data: HyperliquidData, path: Path, _m: re.Match[str]) -> None:
    body = read_json(path)
    if not isinstance(body, list) or not body or body[0] is not None:
        raise ScenarioError(path, "must hold the perpDexs list: null (the first dex) then {name, ...}")
    for i, entry in enumerate(body[1:], start=1):
        require_str(path, f"[{i}].name", entry.get("name") if isinstance(entry, dict) else None)
    data.perp_dexs = body


def _predicted_fundings(data: HyperliquidData, path: Path, _m: re.Match[str]) -> None:
    body = read_json(path)
    if not isinstance(body, list):
        raise ScenarioError(path, "must hold the predictedFundings list [[coin, [[venue, {...}]]]]")
    data.predicted_fundings = body


def _history(data: HyperliquidData, path: Path, m: re.Match[str]) -> None:
    coin = history_coin(m.group("coin"))
    data.funding_history[coin] = _check_history(path, read_json(path), coin)


def read_hyperliquid_folder(folder: Path) -> HyperliquidData:
    """Read and check `DIR/hyperliquid/` (module docstring); an absent folder reads as empty.

    Raises:
        ScenarioError: a file is not JSON, has an unexpected name, lacks what the server reads, or a HIP-3 dex's
            file names a dex `perpDexs.json` does not list.
    """
    data = read_venue_folder(
        folder,
        VENUE,
        HyperliquidData(),
        [
            (_META, _meta),
            ("perpDexs.json", _perp_dexs),
            ("predictedFundings.json", _predicted_fundings),
            (_HISTORY, _history),
        ],
    )
    for dex in data.dexes():
        try:
            data.dex_index(dex)
        except KeyError:
            raise ScenarioError(
                folder / f"metaAndAssetCtxs_{dex}.json", f"dex {dex!r} is not listed in perpDexs.json"
            ) from None
    return data
