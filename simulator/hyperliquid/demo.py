"""Hyperliquid's part of the SYNTHETIC demo scenario (`simulator/scenarios/make_demo.py`): `metaAndAssetCtxs` of
the first perp dex and of each HIP-3 dex listed (`perpDexs`), `predictedFundings` (Hyperliquid's own rate plus the
Binance / Bybit reference rates it republishes) and 72 hourly `fundingHistory` rows per coin, in Hyperliquid's own
formats (same keys and JSON types as the recordings in ../shared/venue-data/hyperliquid). Raw units written:
ctx `funding` and `fundingHistory.fundingRate` = fraction per hour; `premium` on the 8-hour scale (docs
trading/funding.md); `predictedFundings` `fundingRate` per each venue's `fundingIntervalHours` (Binance / Bybit 8,
HlPerp 1). Prices have at most 5 significant figures and 6 - szDecimals decimals (the venue's price rule).

Listings in `demo_assets.json`: "hyperliquid" for the first perp dex, "hyperliquid:<dex>" for a HIP-3 dex (its
coin is "<dex>:<SYMBOL>"). The listing's `market_id` is unused: a coin's asset id is its position in its dex's
universe (file order).

Random draws: this writer uses its OWN generator, seeded from the demo seed and the venue's name, and never draws
from the shared one it is handed: Hyperliquid sorts before Lighter and Paradex, so drawing from the shared generator
would change every earlier venue's files; they stay byte-identical to what they were before Hyperliquid existed.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from simulator.hyperliquid.markets import MAX_DECIMALS, price_step
from simulator.hyperliquid.scenario import VENUE, history_file_name
from simulator.scenarios.demo_tools import END_S, HOURS, SEED, D, DemoAsset, Listing, plain, q, rate_path

MAX_LEVERAGE = {"BTC": 40, "ETH": 25, "SOL": 20, "HYPE": 10}
REFERENCE_VENUES = {"binance": "BinPerp", "bybit": "BybitPerp"}
REFERENCE_INTERVAL_HOURS = 8


def _listings(assets: Sequence[DemoAsset], key: str) -> list[tuple[DemoAsset, Listing]]:
    return [(a, a.listings[key]) for a in assets if key in a.listings]


def _dexes(assets: Sequence[DemoAsset]) -> list[str]:
    """The HIP-3 dexes listed ("hyperliquid:xyz" -> "xyz"), sorted."""
    return sorted({k.split(":", 1)[1] for a in assets for k in a.listings if k.startswith(VENUE + ":")})


def coin_of(a: DemoAsset, dex: str) -> str:
    return f"{dex}:{a.symbol}" if dex else a.symbol


def sz_decimals(a: DemoAsset) -> int:
    return min(a.size_decimals, MAX_DECIMALS)


def mark_of(a: DemoAsset) -> Decimal:
    """The asset's price on the venue's grid (5 significant figures, 6 - szDecimals decimals)."""
    step = price_step(a.price, sz_decimals(a))
    return (a.price / step).to_integral_value(rounding=ROUND_HALF_EVEN) * step


def px(value: Decimal, a: DemoAsset) -> str:
    """A price on the asset's grid, as the venue writes it ("3600.2", "97012.0")."""
    step = price_step(value, sz_decimals(a))
    text = plain((value / step).to_integral_value(rounding=ROUND_HALF_EVEN) * step)
    return text if "." in text else text + ".0"


def universe_row(a: DemoAsset, dex: str) -> dict[str, Any]:
    return {
        "szDecimals": sz_decimals(a),
        "name": coin_of(a, dex),
        "maxLeverage": MAX_LEVERAGE.get(a.symbol, 20 if dex else 10),
        "marginTableId": MAX_LEVERAGE.get(a.symbol, 20 if dex else 10),
    }


def ctx(a: DemoAsset, listing: Listing, rng: random.Random) -> dict[str, Any]:
    mark = mark_of(a)
    step = price_step(mark, sz_decimals(a))
    rate = listing.rate_hourly
    return {
        "funding": plain(rate),
        "openInterest": plain(q(a.open_interest_base / 2, sz_decimals(a))),
        "prevDayPx": px(mark * D(1 + rng.uniform(-0.04, 0.04)), a),
        "dayNtlVlm": plain(q(a.volume_24h_usd / 3, 6)),
        "premium": plain(q(rate * 8 - D("0.0001"), 8)),
        "oraclePx": px(mark * D("1.0001"), a),
        "markPx": px(mark, a),
        "midPx": px(mark + step / 2 if step < mark / 1000 else mark, a),
        "impactPxs": [px(mark - step * 2, a), px(mark + step * 2, a)],
        "dayBaseVlm": plain(q(a.volume_24h_usd / 3 / a.price, sz_decimals(a))),
    }


def meta_and_ctxs(listed: list[tuple[DemoAsset, Listing]], dex: str, rng: random.Random) -> list[Any]:
    rows = [universe_row(a, dex) for a, _ in listed]
    tables = sorted({row["maxLeverage"] for row in rows})
    meta: dict[str, Any] = {
        "universe": rows,
        "marginTables": [
            [lev, {"description": "", "marginTiers": [{"lowerBound": "0.0", "maxLeverage": lev}]}]
            for lev in tables
        ],
        "collateralToken": 0,
    }
    return [meta, [ctx(a, listing, rng) for a, listing in listed]]


def funding_history(a: DemoAsset, listing: Listing, dex: str, rng: random.Random) -> list[dict[str, Any]]:
    """72 hourly settled rows ending at the current rate, `time` 1-118 ms after the hour (as the venue's rows
    land), oldest first."""
    rows = []
    path = rate_path(rng, listing.rate_hourly, HOURS, noise=D("0.000004"))
    for i, rate in enumerate(path):
        rate = q(rate, 10)
        rows.append(
            {
                "coin": coin_of(a, dex),
                "fundingRate": plain(rate) if rate else "0.0",
                "premium": plain(q(rate * 8 - D("0.0001"), 8)),
                "time": (END_S - (HOURS - 1 - i) * 3600) * 1000 + rng.randint(1, 118),
            }
        )
    return rows


def predicted_fundings(listed: list[tuple[DemoAsset, Listing]]) -> list[Any]:
    """`[[coin, [[venue, {fundingRate, nextFundingTime, fundingIntervalHours}], ...]], ...]` (first perp dex)."""
    nxt_hl = (END_S + 3600) * 1000
    nxt_8h = (END_S + 8 * 3600 - END_S % (8 * 3600)) * 1000
    out: list[Any] = []
    for a, listing in listed:
        venues: list[Any] = []
        for ref, name in sorted(REFERENCE_VENUES.items()):
            hourly = a.reference_rates_hourly.get(ref)
            if hourly is not None:
                venues.append(
                    [
                        name,
                        {
                            "fundingRate": plain(hourly * REFERENCE_INTERVAL_HOURS),
                            "nextFundingTime": nxt_8h,
                            "fundingIntervalHours": REFERENCE_INTERVAL_HOURS,
                        },
                    ]
                )
        venues.insert(
            1 if venues else 0,
            [
                "HlPerp",
                {
                    "fundingRate": plain(listing.rate_hourly),
                    "nextFundingTime": nxt_hl,
                    "fundingIntervalHours": 1,
                },
            ],
        )
        out.append([a.symbol, venues])
    return out


def perp_dexs(dexes: list[str]) -> list[Any]:
    out: list[Any] = [None]
    for dex in dexes:
        out.append(
            {
                "name": dex,
                "fullName": f"{dex.upper()} (SYNTHETIC demo HIP-3 dex)",
                "deployer": "0x" + f"{sum(map(ord, dex)):040x}",
                "oracleUpdater": None,
                "feeRecipient": None,
                "assetToStreamingOiCap": [],
            }
        )
    return out


def write_demo(folder: Path, assets: Sequence[DemoAsset], rng: random.Random) -> dict[Path, Any]:
    """The files of Hyperliquid's demo folder (path -> body). Draws from its own generator (module docstring),
    never from `rng`."""
    own = random.Random(f"{SEED}:{VENUE}")
    files: dict[Path, Any] = {}
    main = _listings(assets, VENUE)
    dexes = _dexes(assets)
    files[folder / "metaAndAssetCtxs.json"] = meta_and_ctxs(main, "", own)
    for dex in dexes:
        files[folder / f"metaAndAssetCtxs_{dex}.json"] = meta_and_ctxs(
            _listings(assets, f"{VENUE}:{dex}"), dex, own
        )
    files[folder / "perpDexs.json"] = perp_dexs(dexes)
    files[folder / "predictedFundings.json"] = predicted_fundings(main)
    for dex in ["", *dexes]:
        for a, listing in _listings(assets, f"{VENUE}:{dex}" if dex else VENUE):
            files[folder / history_file_name(coin_of(a, dex))] = funding_history(a, listing, dex, own)
    return files
