"""Lighter's part of the SYNTHETIC demo scenario (`simulator/scenarios/make_demo.py`): `orderBookDetails`,
`funding-rates` (with other venues' reference rows), 72 hourly `fundings` rows per market and one
`orderBookOrders` book per market, in Lighter's own formats (same keys and JSON types as the recordings in
../shared/venue-data/lighter). Raw units written: `funding-rates.rate` = fraction per 8 h (hourly x 8);
`fundings.rate` = unsigned percent per hour with 4 decimals + `direction`.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from decimal import ROUND_DOWN, ROUND_UP
from pathlib import Path
from typing import Any

from simulator.lighter.scenario import VENUE
from simulator.scenarios.demo_tools import END_S, HOURS, D, DemoAsset, Listing, plain, q, rate_path, s


def _listing(a: DemoAsset) -> Listing:
    return a.listings[VENUE]


def details(a: DemoAsset, rng: random.Random) -> dict[str, Any]:
    market_id = _listing(a).market_id
    assert market_id is not None
    change = round(rng.uniform(-4, 4), 6)
    low = float(q(a.price * D("0.965"), a.price_decimals))
    high = float(q(a.price * D("1.021"), a.price_decimals))
    volume_base = float(q(a.volume_24h_usd / a.price, a.size_decimals))
    min_base = max(D(10) / a.price, D(1).scaleb(-a.size_decimals))  # at least 10 USDC, at least one lot
    return {
        "symbol": a.symbol,
        "market_id": market_id,
        "market_type": "perp",
        "base_asset_id": market_id + 100,
        "quote_asset_id": 3,
        "status": "active",
        "taker_fee": "0.0000",
        "maker_fee": "0.0000",
        "liquidation_fee": "1.0000",
        "min_base_amount": s(min_base, a.size_decimals, ROUND_UP),
        "min_quote_amount": "10.000000",
        "order_quote_limit": "",
        "supported_size_decimals": a.size_decimals,
        "supported_price_decimals": a.price_decimals,
        "supported_quote_decimals": 6,
        "size_decimals": a.size_decimals,
        "price_decimals": a.price_decimals,
        "quote_multiplier": 1,
        "default_initial_margin_fraction": 500 if a.symbol in ("BTC", "ETH") else 1000,
        "min_initial_margin_fraction": 200 if a.symbol in ("BTC", "ETH") else 500,
        "maintenance_margin_fraction": 120 if a.symbol in ("BTC", "ETH") else 300,
        "closeout_margin_fraction": 80 if a.symbol in ("BTC", "ETH") else 200,
        "last_trade_price": float(a.price),
        "daily_trades_count": rng.randint(20_000, 1_500_000),
        "daily_base_token_volume": float(volume_base),
        "daily_quote_token_volume": float(q(a.volume_24h_usd * D("1.0000007"), 6)),
        "daily_price_low": low,
        "daily_price_high": high,
        "daily_price_change": change,
        "open_interest": float(a.open_interest_base),
        "daily_chart": {},
        "market_config": {
            "market_margin_mode": 0,
            "insurance_fund_account_index": 281474976710655,
            "liquidation_mode": 0,
            "force_reduce_only": False,
            "funding_fee_discounts_enabled": False,
            "trading_hours": "",
            "hidden": False,
            "rfq_enabled": False,
        },
        "strategy_index": 0,
        "is_maker_fee_enabled": False,
        "is_taker_fee_enabled": False,
        "funding_clamp_small": "0.0500",
        "funding_clamp_big": "4.0000",
        "base_interest_rate": "0.0100",
        "created_at": "2025-01-15T00:00:00Z",
        "mark_price": s(a.price, a.price_decimals),
        "index_price": s(a.price * D("1.0002"), a.price_decimals),
        "multiplier": "1",
        "market_flags": 0,
        "funding_premium_multiplier": 1,
        "start_timestamp": 0,
        "end_timestamp": 0,
        "settlement_type": 0,
        "settlement_price": 0,
        "settlement_cap": 0,
        "outcome": 0,
        "default_price": 0,
        "operator_account_index": 0,
        "is_frozen": False,
    }


def fundings(a: DemoAsset, rng: random.Random) -> dict[str, Any]:
    rows = []
    path = rate_path(rng, _listing(a).rate_hourly, HOURS, noise=D("0.000004"))
    for i, rate in enumerate(path):
        rate = q(rate, 6)  # Lighter quotes 4 decimals of percent = 6 decimals of fraction
        ts = END_S - (HOURS - 1 - i) * 3600
        rows.append(
            {
                "timestamp": ts,
                "value": plain(q(abs(rate) * a.price, 6)),
                "rate": s(abs(rate) * 100, 4),
                "direction": "long" if rate >= 0 else "short",
            }
        )
    return {"code": 200, "resolution": "1h", "fundings": rows}


def book(a: DemoAsset, rng: random.Random) -> dict[str, Any]:
    market_id = _listing(a).market_id
    assert market_id is not None
    step = max(D(1).scaleb(-a.price_decimals), q(a.price * D("0.0002"), a.price_decimals))
    lot = D(1).scaleb(-a.size_decimals)
    base_notional = D(2000)
    sides: dict[str, list[dict[str, Any]]] = {"asks": [], "bids": []}
    order_seq = {
        "asks": 281_475_000_000_000 + market_id * 10_000,
        "bids": 562_949_000_000_000 + market_id * 10_000,
    }
    for side, sign in (("asks", 1), ("bids", -1)):
        for level in range(10):
            price = q(a.price + sign * step * (level + 1), a.price_decimals)
            for _ in range(2 if level in (0, 3, 6) else 1):
                order_seq[side] += rng.randint(1, 900)
                size = max(lot, q(base_notional * D(rng.uniform(0.2, 3.0)) / a.price, a.size_decimals))
                filled = q(size * D(rng.choice([0, 0, 0.25, 0.5])), a.size_decimals, ROUND_DOWN)
                sides[side].append(
                    {
                        "order_index": order_seq[side],
                        "order_id": str(order_seq[side]),
                        "owner_account_index": rng.randint(1_000, 400_000),
                        "initial_base_amount": s(size, a.size_decimals),
                        "remaining_base_amount": s(
                            size - filled if size - filled > 0 else size, a.size_decimals
                        ),
                        "price": s(price, a.price_decimals),
                        "order_expiry": (END_S + 28 * 86400) * 1000 + rng.randint(0, 999),
                        "transaction_time": END_S * 1_000_000 - rng.randint(1_000_000, 900_000_000),
                    }
                )
    return {
        "code": 200,
        "total_asks": len(sides["asks"]),
        "asks": sides["asks"],
        "total_bids": len(sides["bids"]),
        "bids": sides["bids"],
    }


def funding_rates(assets: Sequence[DemoAsset]) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    listed = [a for a in assets if VENUE in a.listings]
    for a in listed:
        rows.append(
            {
                "market_id": _listing(a).market_id,
                "exchange": VENUE,
                "symbol": a.symbol,
                "rate": float(_listing(a).rate_hourly * 8),
            }
        )
    for a in listed:
        for exchange, hourly in sorted(a.reference_rates_hourly.items()):
            rows.append(
                {
                    "market_id": _listing(a).market_id,
                    "exchange": exchange,
                    "symbol": a.symbol,
                    "rate": float(hourly * 8),
                }
            )
    return {"code": 200, "funding_rates": rows}


def write_demo(folder: Path, assets: Sequence[DemoAsset], rng: random.Random) -> dict[Path, Any]:
    """The files of Lighter's demo folder (path -> body), drawing from `rng` in a fixed order."""
    listed = [a for a in assets if VENUE in a.listings]
    files: dict[Path, Any] = {}
    ordered = sorted(listed, key=lambda a: _listing(a).market_id or 0)
    files[folder / "orderBookDetails.json"] = {
        "code": 200,
        "order_book_details": [details(a, rng) for a in ordered],
        "spot_order_book_details": [],
    }
    files[folder / "funding-rates.json"] = funding_rates(assets)
    for a in listed:
        files[folder / f"fundings_{_listing(a).market_id}.json"] = fundings(a, rng)
        files[folder / f"orderBookOrders_{_listing(a).market_id}.json"] = book(a, rng)
    return files
