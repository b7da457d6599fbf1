"""Backpack's part of the SYNTHETIC demo scenario (`simulator/scenarios/make_demo.py`): `markets`, `markPrices`,
`openInterest`, `tickers` and per market 72 h of hourly `fundingRates` rows, in Backpack's own formats (same keys
and JSON types as the recordings in ../shared/venue-data/backpack). Raw units written: `fundingInterval` 3600000 ms
(hourly, as every perp since 2025-08-20), `fundingRate` = fraction per that interval (= the listing's hourly rate),
`fundingRateUpperBound` / `LowerBound` in basis points ("100" / "-100"), open interest in base units.

Random draws come from a generator of this venue's own (seeded from the demo seed and "backpack"), NOT from the
shared generator `make_demo` passes: "backpack" sorts before the other venues, and drawing from the shared one would
change every other venue's files.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from simulator.backpack.scenario import VENUE
from simulator.scenarios.demo_tools import END_S, HOURS, SEED, D, DemoAsset, plain, q, rate_path, s


def market_symbol(a: DemoAsset) -> str:
    return f"{a.symbol}_USDC_PERP"


def _iso(seconds: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=seconds)).strftime(
        "%Y-%m-%dT%H:%M:%S"
    )


def market(a: DemoAsset) -> dict[str, Any]:
    major = a.symbol in ("BTC", "ETH", "SOL")
    tick = D(1).scaleb(-min(a.price_decimals, 5))
    step = D(1).scaleb(-a.size_decimals)
    return {
        "baseSymbol": a.symbol,
        "createdAt": "2025-01-21T06:34:54.691858",
        "filters": {
            "price": {
                "borrowEntryFeeMaxMultiplier": None,
                "borrowEntryFeeMinMultiplier": None,
                "maxImpactMultiplier": "1.03",
                "maxMultiplier": "1.25",
                "maxPrice": plain(q(a.price * 10, a.price_decimals)),
                "meanMarkPriceBand": {"maxMultiplier": "1.1", "minMultiplier": "0.9"},
                "meanPremiumBand": {"tolerancePct": "0.05"},
                "minImpactMultiplier": "0.97",
                "minMultiplier": "0.75",
                "minPrice": plain(tick),
                "tickSize": plain(tick),
            },
            "quantity": {"maxQuantity": None, "minQuantity": plain(step), "stepSize": plain(step)},
        },
        "fundingInterval": 3600000,
        "fundingRateLowerBound": "-100",
        "fundingRateUpperBound": "100",
        "imfFunction": {"base": "0.02" if major else "0.05", "factor": "0.0001275", "type": "sqrt"},
        "marketType": "PERP",
        "mmfFunction": {"base": "0.0125" if major else "0.03", "factor": "0.0000765", "type": "sqrt"},
        "openInterestLimit": plain(q(D(50_000_000) / a.price, a.size_decimals)),
        "orderBookState": "Open",
        "positionLimitWeight": "1",
        "quoteSymbol": "USDC",
        "symbol": market_symbol(a),
        "visible": True,
    }


def write_demo(folder: Path, assets: Sequence[DemoAsset], rng: random.Random) -> dict[Path, Any]:
    """The venue's demo files (module docstring); `rng` is NOT used (see the module docstring)."""
    own = random.Random(int(hashlib.sha256(f"{SEED}-{VENUE}".encode()).hexdigest()[:16], 16))
    listed = [a for a in assets if VENUE in a.listings]
    files: dict[Path, Any] = {}
    markets: list[dict[str, Any]] = []
    marks: list[dict[str, Any]] = []
    interest: list[dict[str, Any]] = []
    tickers: list[dict[str, Any]] = []
    for a in listed:
        rate = a.listings[VENUE].rate_hourly
        name = market_symbol(a)
        markets.append(market(a))
        mark = q(a.price * D("0.99995"), a.price_decimals + 2)
        marks.append(
            {
                "fundingRate": s(rate, 10),
                "indexPrice": plain(q(a.price * D("0.9999"), a.price_decimals + 2)),
                "markPrice": plain(mark),
                "nextFundingTimestamp": (END_S + 3600) * 1000,
                "symbol": name,
            }
        )
        interest.append(
            {
                "openInterest": plain(q(a.open_interest_base / 9, a.size_decimals)),
                "symbol": name,
                "timestamp": END_S * 1000 + own.randint(0, 999),
            }
        )
        volume = q(a.volume_24h_usd / 25, 6)
        tickers.append(
            {
                "firstPrice": plain(q(a.price * D("0.99"), a.price_decimals)),
                "high": plain(q(a.price * D("1.02"), a.price_decimals)),
                "lastPrice": plain(q(a.price, a.price_decimals)),
                "low": plain(q(a.price * D("0.97"), a.price_decimals)),
                "priceChange": plain(q(a.price * D("0.01"), a.price_decimals)),
                "priceChangePercent": "0.010101",
                "quoteVolume": plain(volume),
                "symbol": name,
                "trades": str(own.randint(5_000, 60_000)),
                "volume": plain(q(volume / a.price, a.size_decimals)),
            }
        )
        path = rate_path(own, rate, HOURS, noise=D("0.000003"))
        rows = [
            {
                "fundingRate": s(r, 9),
                "intervalEndTimestamp": _iso(END_S - 3600 * (HOURS - 1 - i)),
                "symbol": name,
            }
            for i, r in enumerate(path)
        ]
        files[folder / f"fundingRates_{name}.json"] = list(reversed(rows))
    spot = dict(market(listed[0]), symbol=f"{listed[0].symbol}_USDC", marketType="SPOT")
    spot.update(fundingInterval=None, fundingRateLowerBound=None, fundingRateUpperBound=None)
    spot.update(imfFunction=None, mmfFunction=None, openInterestLimit="0")
    files[folder / "markets.json"] = [spot, *markets]
    files[folder / "markPrices.json"] = marks
    files[folder / "openInterest.json"] = interest
    files[folder / "tickers.json"] = tickers
    return files
