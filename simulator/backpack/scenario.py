"""The Backpack folder of a scenario (`DIR/backpack/`), read and checked at start-up (`read_backpack_folder`), held as
`BackpackData`, and the `scenario.json` `trading.backpack` settings (`BackpackTradingSettings`).

Each file holds one Backpack response body VERBATIM (a scenario can be assembled from ../shared/venue-data/backpack/):

    DIR/backpack/markets.json                  GET /api/v1/markets (spot rows are served, never traded)
    DIR/backpack/markPrices.json               GET /api/v1/markPrices (fundingRate per the market's fundingInterval)
    DIR/backpack/openInterest.json             GET /api/v1/openInterest
    DIR/backpack/tickers.json                  GET /api/v1/tickers
    DIR/backpack/fundingRates_<SYMBOL>.json    GET /api/v1/fundingRates rows of one market (every row; served
                                               newest first, paged by limit / offset)

Every file is optional. A file that is not JSON, has an unexpected name, or lacks what the server reads (a list; a
`markets` row without a string `symbol`; a `fundingRates` row without a readable `intervalEndTimestamp` or with
another market's `symbol`) raises `ScenarioError` naming the file. History rows move with `shift_history_to_now`
(their ISO times are rewritten, still without a zone).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from pydantic import Field

from simulator.scenario import (
    MarketMakerSettings,
    Scenario,
    ScenarioError,
    list_body,
    read_json,
    read_venue_folder,
    require_str,
    venue_data,
)

VENUE = "backpack"
_HISTORY = re.compile(r"^fundingRates_(?P<symbol>[A-Za-z0-9._]+)\.json$")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def iso_ms(text: str) -> int:
    """A zone-less ISO time (UTC) -> epoch ms. Raises ValueError."""
    ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    ts = ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts
    return int((ts - _EPOCH) / timedelta(milliseconds=1))


def ms_iso(ms: int) -> str:
    """Epoch ms -> Backpack's zone-less ISO text ("2025-09-11T12:00:00")."""
    return (_EPOCH + timedelta(milliseconds=ms)).strftime("%Y-%m-%dT%H:%M:%S")


@dataclass
class BackpackData:
    """Backpack bodies of a scenario (None = file absent); `funding_rates`: symbol -> rows, newest first."""

    markets: list[Any] | None = None
    mark_prices: list[Any] | None = None
    open_interest: list[Any] | None = None
    tickers: list[Any] | None = None
    funding_rates: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def perps(self) -> list[dict[str, Any]]:
        """The `markets` rows of perps (marketType PERP, or a `_PERP` symbol without marketType)."""
        return [
            row
            for row in self.markets or []
            if row.get("marketType") == "PERP"
            or (row.get("marketType") is None and str(row["symbol"]).endswith("_PERP"))
        ]

    def mark_row(self, symbol: str) -> dict[str, Any]:
        for row in self.mark_prices or []:
            if isinstance(row, dict) and row.get("symbol") == symbol:
                return row
        return {}

    # ---- VenueScenarioData (simulator.protocol)
    def history_times_ms(self) -> list[int]:
        return [iso_ms(str(r["intervalEndTimestamp"])) for rows in self.funding_rates.values() for r in rows]

    def shift_history(self, shift_ms: int) -> None:
        for symbol, rows in self.funding_rates.items():
            self.funding_rates[symbol] = [
                {**r, "intervalEndTimestamp": ms_iso(iso_ms(str(r["intervalEndTimestamp"])) + shift_ms)}
                for r in rows
            ]

    def funding_keys(self) -> tuple[set[str], str]:
        return {str(r["symbol"]) for r in self.perps()}, "backpack/markets.json"

    def market_count(self) -> int:
        return len(self.perps())


def backpack_data(scenario: Scenario) -> BackpackData:
    """The scenario's Backpack folder (empty when the scenario has none)."""
    return venue_data(scenario, VENUE, BackpackData)


class BackpackTradingSettings(MarketMakerSettings):
    """`trading.backpack`: overrides of `simulator.backpack.trading.BackpackTradingConfig` (omitted = default): the
    shared market-maker keys (`simulator.scenario.MarketMakerSettings`) and depth_interval_seconds."""

    depth_interval_seconds: float | None = Field(default=None, gt=0, le=60)


def _list(path: Path) -> list[Any]:
    return list_body(path, read_json(path))


def _markets(data: BackpackData, path: Path, _m: re.Match[str]) -> None:
    data.markets = _list(path)
    for i, row in enumerate(data.markets):
        require_str(path, f"[{i}].symbol", row.get("symbol"))


def _listed(attribute: str) -> Callable[[BackpackData, Path, re.Match[str]], None]:
    def read(data: BackpackData, path: Path, _m: re.Match[str]) -> None:
        setattr(data, attribute, _list(path))

    return read


def _funding_rates(data: BackpackData, path: Path, m: re.Match[str]) -> None:
    symbol = m.group("symbol")
    rows = _list(path)
    for i, row in enumerate(rows):
        if row.get("symbol") != symbol:
            raise ScenarioError(path, f"[{i}].symbol must be {symbol!r}, got {row.get('symbol')!r}")
        try:
            iso_ms(str(row.get("intervalEndTimestamp")))
        except ValueError:
            raise ScenarioError(path, f"[{i}].intervalEndTimestamp is not an ISO time") from None
    data.funding_rates[symbol] = sorted(
        rows, key=lambda r: iso_ms(str(r["intervalEndTimestamp"])), reverse=True
    )


def read_backpack_folder(folder: Path) -> BackpackData:
    """Read and check `DIR/backpack/` (module docstring); an absent folder reads as empty.

    Raises:
        ScenarioError: naming the file at fault.
    """
    return read_venue_folder(
        folder,
        VENUE,
        BackpackData(),
        [
            ("markets.json", _markets),
            ("markPrices.json", _listed("mark_prices")),
            ("openInterest.json", _listed("open_interest")),
            ("tickers.json", _listed("tickers")),
            (_HISTORY, _funding_rates),
        ],
    )
