"""Aster's part of the SYNTHETIC demo scenario (`simulator/scenarios/make_demo.py`): `exchangeInfo`, `fundingInfo`,
`premiumIndex`, `ticker/24hr` and per symbol 72 h of settled `fundingRate` rows, in Aster's own formats (same keys
and JSON types as the recordings in ../shared/venue-data/aster). Raw units written: `lastFundingRate` and
`fundingRate` = fraction per the symbol's `fundingIntervalHours` (the listing's `period_hours`: 8, 4 or 1).

Aster was added after Lighter and Paradex, and "aster" sorts before both: it draws from ITS OWN generator (seeded
from the demo seed and its name) and leaves the shared one untouched, so the other venues' files stay
byte-identical.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from simulator.aster.scenario import VENUE
from simulator.scenarios.demo_tools import END_S, HOURS, SEED, D, DemoAsset, Listing, plain, q, rate_path, s


def _listing(a: DemoAsset) -> Listing:
    return a.listings[VENUE]


def symbol_of(a: DemoAsset) -> str:
    return f"{a.symbol}USDT"


def tick_of(a: DemoAsset) -> Decimal:
    return D(1).scaleb(-min(a.price_decimals, 6))


def interval_rate(a: DemoAsset) -> Decimal:
    """The listing's hourly rate x its interval: Aster's rate per interval."""
    return _listing(a).rate_hourly * _listing(a).period_hours


def symbol_row(a: DemoAsset) -> dict[str, Any]:
    step = plain(D(1).scaleb(-a.size_decimals))
    major = a.symbol in ("BTC", "ETH", "SOL")
    return {
        "symbol": symbol_of(a),
        "pair": symbol_of(a),
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000,
        "onboardDate": 1_735_689_600_000,
        "status": "TRADING",
        "maintMarginPercent": "1.0000" if major else "2.5000",
        "requiredMarginPercent": "2.0000" if major else "5.0000",
        "baseAsset": a.symbol,
        "quoteAsset": "USDT",
        "marginAsset": "USDT",
        "pricePrecision": min(a.price_decimals, 6),
        "quantityPrecision": a.size_decimals,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "settlePlan": 0,
        "triggerProtect": "0.0500",
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "maxPrice": plain(q(a.price * 100, min(a.price_decimals, 6))),
                "minPrice": plain(tick_of(a)),
                "tickSize": plain(tick_of(a)),
            },
            {
                "filterType": "LOT_SIZE",
                "maxQty": plain(q(D(5_000_000) / a.price, a.size_decimals)),
                "minQty": step,
                "stepSize": step,
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "maxQty": plain(q(D(1_000_000) / a.price, a.size_decimals)),
                "minQty": step,
                "stepSize": step,
            },
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 100},
            {"filterType": "MIN_NOTIONAL", "notional": "5"},
            {
                "filterType": "PERCENT_PRICE",
                "multiplierUp": "1.0500",
                "multiplierDown": "0.9500",
                "multiplierDecimal": 4,
            },
        ],
        "OrderType": [
            "LIMIT",
            "MARKET",
            "STOP",
            "STOP_MARKET",
            "TAKE_PROFIT",
            "TAKE_PROFIT_MARKET",
            "TRAILING_STOP_MARKET",
        ],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX", "HIDDEN"],
        "liquidationFee": "0.010000",
        "marketTakeBound": "0.05",
    }


def premium(a: DemoAsset, rng: random.Random) -> dict[str, Any]:
    mark = q(a.price * D("1.0001"), 8)
    interval_ms = _listing(a).period_hours * 3_600_000
    return {
        "symbol": symbol_of(a),
        "markPrice": plain(mark),
        "indexPrice": plain(q(a.price * D(str(round(rng.uniform(0.9996, 1.0004), 6))), 8)),
        "estimatedSettlePrice": plain(q(a.price, 8)),
        "lastFundingRate": s(interval_rate(a), 8),
        "interestRate": "0.00010000",
        "nextFundingTime": END_S * 1000 + interval_ms,
        "time": END_S * 1000,
    }


def ticker(a: DemoAsset, rng: random.Random) -> dict[str, Any]:
    volume_quote = q(a.volume_24h_usd / 5, 2)
    return {
        "symbol": symbol_of(a),
        "priceChange": plain(
            q(a.price * D(str(round(rng.uniform(-0.03, 0.03), 4))), min(a.price_decimals, 6))
        ),
        "priceChangePercent": f"{rng.uniform(-3, 3):.3f}",
        "weightedAvgPrice": plain(q(a.price, min(a.price_decimals, 6))),
        "lastPrice": plain(q(a.price, min(a.price_decimals, 6))),
        "lastQty": plain(D(1).scaleb(-a.size_decimals)),
        "openPrice": plain(q(a.price, min(a.price_decimals, 6))),
        "highPrice": plain(q(a.price * D("1.02"), min(a.price_decimals, 6))),
        "lowPrice": plain(q(a.price * D("0.98"), min(a.price_decimals, 6))),
        "volume": plain(q(volume_quote / a.price, a.size_decimals)),
        "quoteVolume": plain(volume_quote),
        "openTime": (END_S - 86_400) * 1000,
        "closeTime": END_S * 1000,
        "firstId": 1,
        "lastId": rng.randint(100_000, 900_000),
        "count": rng.randint(10_000, 200_000),
    }


def history(a: DemoAsset, rng: random.Random) -> list[dict[str, Any]]:
    hours = _listing(a).period_hours
    steps = HOURS // hours
    path = rate_path(rng, interval_rate(a), steps, noise=D("0.000004") * hours)
    return [
        {
            "symbol": symbol_of(a),
            "fundingTime": (END_S - (steps - 1 - i) * hours * 3600) * 1000,
            "fundingRate": s(rate, 8),
        }
        for i, rate in enumerate(path)
    ]


def write_demo(folder: Path, assets: Sequence[DemoAsset], rng: random.Random) -> dict[Path, Any]:
    """The files of Aster's demo folder (path -> body). `rng` (the shared generator) is NOT drawn from: Aster uses
    its own, so the venues written before it keep their bytes (module docstring)."""
    own = random.Random(f"{SEED}-{VENUE}")
    listed = [a for a in assets if VENUE in a.listings]
    files: dict[Path, Any] = {
        folder / "exchangeInfo.json": {
            "timezone": "UTC",
            "serverTime": END_S * 1000,
            "futuresType": "U_MARGINED",
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
                {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
            ],
            "exchangeFilters": [],
            "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
            "symbols": [symbol_row(a) for a in listed],
        },
        folder / "fundingInfo.json": [
            {
                "symbol": symbol_of(a),
                "interestRate": "0.00010000",
                "time": END_S * 1000,
                "fundingIntervalHours": _listing(a).period_hours,
                "fundingFeeCap": 0.03,
                "fundingFeeFloor": -0.03,
            }
            for a in listed
        ],
        folder / "premiumIndex.json": [premium(a, own) for a in listed],
        folder / "ticker_24hr.json": [ticker(a, own) for a in listed],
    }
    for a in listed:
        files[folder / f"fundingRate_{symbol_of(a)}.json"] = history(a, own)
    return files
